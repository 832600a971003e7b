#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# hv_storvsc of the run's stack unloads with its disks idle: the SCSI host and its disks go, the
# device is unbound and its channel closed (state 2); loaded again, the driver initializes the
# session again and the disks come back with what was written before; unloaded and loaded a
# second time, then kmemleak (when the kernel has it) must find nothing.
. /tests/lib.sh
. /tests/suites/storvsc/config.sh
use_stack
d=$(lun_dev 1) || fail "no LUN 1"
write_marker "$d" HVRS-RELOAD-MARK 8 || fail "cannot write the marker"
dev=$(ls -d /sys/bus/vmbus/drivers/hv_storvsc/*-* | head -n 1)
dev=/sys/bus/vmbus/devices/${dev##*/}
for round in 1 2; do
	must rmmod hv_storvsc
	wait_for 30 '! lun_dev 0 >/dev/null && ! lun_dev 1 >/dev/null' ||
		fail "disks still present after rmmod: $(ls /sys/block)"
	[ -e "$dev/driver" ] && fail "the SCSI device is still bound after rmmod"
	[ "$(cat "$dev/state")" = 2 ] || fail "channel state $(cat "$dev/state") after rmmod, not 2 (closed)"
	must modprobe hv_storvsc
	wait_for 60 'lun_dev 0 >/dev/null && lun_dev 1 >/dev/null' ||
		fail "disks did not come back (round $round): $(ls /sys/block) $(dmesg | tail -n 10)"
	d=$(lun_dev 1)
	dd if="/dev/$d" bs=512 skip=8 count=1 2>/dev/null | grep -q HVRS-RELOAD-MARK ||
		fail "LUN 1 ($d) lost its marker after reload $round"
done
echo "unloaded and loaded twice; LUN 0 $(lun_dev 0), LUN 1 $d with its data"
check_kmemleak
check_dmesg_clean
