#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Subchannels of a device bound to uio_hv_generic (the engine's echo device, through new_id):
# while /dev/uioN is open, each subchannel the host offers (host.sh: sub 1 on the mark, sub 2
# once sub 1 is open) is opened for user space with 2 MiB rings and gets its own `ring` file
# of 4 MiB that maps; interrupt control applies to them; the last close of /dev/uioN closes
# them (their ring files no longer map, ENODEV) and host.sh sees them closed. Fails if a
# subchannel is not opened, its ring file is missing, of another size or does not map, or
# stays open after the close.
. /tests/lib.sh
class=ec40ec40-5e1f-4c0c-9a11-b0b0b0b0ec40
dev=$(grep -l "{$class}" /sys/bus/vmbus/devices/*/class_id | head -1)
[ -n "$dev" ] || fail "no echo device"
d=$(dirname "$dev")
g=$(basename "$d")
must sh -c "echo $class >/sys/bus/vmbus/drivers/uio_hv_generic/new_id"
wait_for 20 "[ -e $d/uio ]" || fail "new_id did not bind the echo device"
uio=$(ls $d/uio)
primary=$(cat $d/id)
exec 3<>/dev/$uio || fail "cannot open /dev/$uio"
mark uio-sub-open
subs() { ls $d/channels | grep -vx "$primary"; }
rings_shown() {
	[ "$(subs | wc -l)" -ge 2 ] || return 1
	for s in $(subs); do [ -e $d/channels/$s/ring ] || return 1; done
}
wait_for 60 rings_shown ||
	fail "subchannels or their ring files missing: $(ls $d/channels/*); $(dmesg | tail -n 5)"
for s in $(subs); do
	ring=$d/channels/$s/ring
	[ "$(stat -c %s $ring)" = 4194304 ] || fail "subchannel $s: ring file of $(stat -c %s $ring) bytes, want 4 MiB"
	out=$(uio_mapcmp $ring $ring 4194304) || fail "subchannel $s: the ring file does not map: $out"
	echo "subchannel $s: $out"
done
# Interrupt control (unmask and signal, then mask) reaches the subchannels too.
printf '\001\000\000\000' >&3 || fail "unmasking through /dev/$uio failed"
printf '\000\000\000\000' >&3 || fail "masking through /dev/$uio failed"
exec 3>&-
for s in $(subs); do
	out=$(uio_mapcmp $d/channels/$s/ring $d/channels/$s/ring 4194304)
	[ $? = 2 ] && echo "$out" | grep -q 'No such device' ||
		fail "subchannel $s: the ring file still maps after the close: $out"
done
mark uio-sub-closed
must sh -c "echo -n $g >/sys/bus/vmbus/drivers/uio_hv_generic/unbind"
must sh -c "echo $class >/sys/bus/vmbus/drivers/uio_hv_generic/remove_id"
check_dmesg_clean
