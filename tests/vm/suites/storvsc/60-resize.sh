#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Capacity change without reboot: the guest asks for it (marker on LUN 0), host.sh grows LUN 0;
# the next command gets the unit attention CAPACITY DATA HAS CHANGED, hv_storvsc rescans the
# device and the new size shows; the new blocks are usable.
. /tests/lib.sh
. /tests/suites/storvsc/config.sh
d=$(lun_dev 0) || fail "no LUN 0"
write_marker "$d" "$MARK_RESIZE" || fail "cannot write the marker"
poke() {
	blockdev --flushbufs "/dev/$d"
	dd if="/dev/$d" of=/dev/null bs=512 count=1 2>/dev/null
	[ "$(dev_mb "$d")" = "$GROW_MB" ]
}
wait_for 120 poke || fail "$d is $(dev_mb "$d") MiB, expected $GROW_MB after the resize"
last=$((GROW_MB * 2048 - 1))
write_marker "$d" "$MARK_GROWN" "$last" || fail "cannot write the last block"
blockdev --flushbufs "/dev/$d"
dd if="/dev/$d" bs=512 skip="$last" count=1 2>/dev/null | grep -q "$MARK_GROWN" ||
	fail "the last block does not read back"
echo "$d grew to $GROW_MB MiB; $(dmesg | grep -c 'capacity change') capacity-change message(s)"
dmesg | grep -iE 'capacity|storvsc' | tail -n 5
check_dmesg_clean
