#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Subchannels offered to a bound driver: vmbus_sample binds the echo device and echoes on its
# primary channel; the engine then offers subchannels 1, 2 and 3 of the device (same instance
# GUID, sub_channel_index 1..3). Each gets its own channels/<relid>/ directory under the
# device with the C attributes (subchannel_id, cpu, ...); the driver's subchannel handler
# opens each one (its own ring, GPADL and OPENCHANNEL) and echoes 256 packets on it.
. /tests/lib.sh
. "$(dirname "$0")/common.sh"
lsmod | grep -q '^hv_vmbus ' || must modprobe hv_vmbus
echo clear >/sys/kernel/debug/kmemleak
d=$(echo_dev)
[ -n "$d" ] || fail "no echo device"
p=$(cat "$d/id")
must modprobe vmbus_sample
must sh -c "echo $ECHO >$DRV/new_id"
wait_for 60 "[ -e $d/driver ]" || fail "not bound: $(dmesg | tail -n 5)"
wait_for 60 "dmesg | grep -q 'echo: 512 packets of 100 bytes echoed, 0 bad'" || fail "no echo on the primary channel"
[ "$(nchannels "$d")" = 1 ] || fail "channels before the offers: $(ls "$d/channels")"
mark bound
wait_for 60 '[ "$(nchannels "$d")" = 4 ]' || fail "channels: $(ls "$d/channels")"
for i in 1 2 3; do
	r=$(sub_relid "$d" $i)
	[ -n "$r" ] || fail "no subchannel $i"
	[ "$r" != "$p" ] || fail "subchannel $i has the primary's relid"
	wait_for 60 "dmesg | grep -qF '$(echoed $i "$r")'" || fail "subchannel $i: $(dmesg | grep subchannel | tail -n 3)"
	[ "$(cat "$d/channels/$r/subchannel_id")" = $i ] || fail "subchannel_id of $r"
	# As C's init_vp_index(): the echo class is no performance device, so CPU 0.
	[ "$(cat "$d/channels/$r/cpu")" = 0 ] || fail "cpu of $r: $(cat "$d/channels/$r/cpu")"
	[ "$(cat "$d/channels/$r/interrupts")" -ge 1 ] || fail "no interrupts on $r"
	[ "$(cat "$d/channels/$r/read_avail")" = 0 ] || fail "inbound ring of $r not drained"
	# The same attributes as the primary channel's directory.
	[ "$(ls "$d/channels/$r")" = "$(ls "$d/channels/$p")" ] ||
		fail "attributes of $r: $(ls "$d/channels/$r" | tr '\n' ' ')"
	echo "subchannel $i: relid $r, cpu $(cat "$d/channels/$r/cpu"), interrupts $(cat "$d/channels/$r/interrupts"), events $(cat "$d/channels/$r/events")"
done
for i in 1 2 3; do echo "r$i=$(sub_relid "$d" $i)"; done >"$RELIDS"
[ "$(cat "$d/channels/$p/subchannel_id")" = 0 ] || fail "subchannel_id of the primary"
# channel_vp_mapping lists the primary channel, then the subchannels in offer order.
want="$p:0"
for i in 1 2 3; do want="$want $(sub_relid "$d" $i):0"; done
got=$(cat "$d/channel_vp_mapping" | tr '\n' ' ')
[ "$got" = "$want " ] || fail "channel_vp_mapping: '$got', not '$want '"
# Subchannels have no device of their own.
[ "$(grep -l "{$ECHO}" /sys/bus/vmbus/devices/*/class_id | wc -l)" = 1 ] || fail "more than one echo device"
mark offered
check_dmesg_clean
