#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# LUN hot add and removal: host.sh adds LUN 2 (ENUMERATE_BUS) once the discard of 40 reached it;
# the disk appears with its size, the guest marks it, host.sh sees the mark and removes the LUN
# (ENUMERATE_BUS again); the disk disappears.
. /tests/lib.sh
. /tests/suites/storvsc/config.sh
wait_for 120 "lun_dev $HOT_LUN >/dev/null" ||
	fail "LUN $HOT_LUN never appeared: $(ls /sys/block) $(dmesg | tail -n 15)"
d=$(lun_dev "$HOT_LUN")
[ "$(dev_mb "$d")" = "$HOT_MB" ] || fail "hot-added $d is $(dev_mb "$d") MiB, expected $HOT_MB"
[ "$(cat "/sys/block/$d/device/vpd_pg80" 2>/dev/null | tr -cd 'A-Z')" = HOTADD ] ||
	echo "note: vpd_pg80 of $d: $(cat "/sys/block/$d/device/vpd_pg80" 2>&1 | tr -cd 'A-Za-z0-9 ')"
write_marker "$d" "$MARK_HOTADD" || fail "cannot write to $d"
echo "hot-added LUN $HOT_LUN appeared as $d ($HOT_MB MiB)"
wait_for 120 "[ ! -e /sys/block/$d ]" || fail "$d still present after the host removed LUN $HOT_LUN"
echo "$d disappeared after the removal"
check_dmesg_clean
