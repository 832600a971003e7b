#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The host rescinds the SCSI controller while the guest has I/O in flight (host.sh: the engine's
# `scsi fault rescind-after N`; the engine completes the Nth request, then rescinds): the
# controller is removed without hanging (the driver fails what the host will no longer answer,
# and what is sent after the rescind), its disks go away, and the kernel log stays clean of
# warnings and hung tasks.
. /tests/lib.sh
. /tests/suites/storvsc/config.sh
use_stack
lsmod | grep -q '^hv_vmbus ' || must modprobe hv_vmbus
lsmod | grep -q '^hv_storvsc ' || must modprobe hv_storvsc
wait_for 60 'lun_dev 0 >/dev/null && lun_dev 1 >/dev/null' || fail "disks did not appear"
d0=$(lun_dev 0) d1=$(lun_dev 1)
ctrl=$(ls -d /sys/bus/vmbus/drivers/hv_storvsc/*-* | head -n 1)
ctrl=${ctrl##*/}
# Four readers keep requests in flight on both disks.
for i in 1 2 3 4; do
	d=$d0
	[ $((i % 2)) = 0 ] && d=$d1
	(while [ -e "/sys/block/$d" ]; do
		dd if="/dev/$d" of=/dev/null bs=64k count=16 skip=$((i * 16)) iflag=direct 2>/dev/null || break
	done) &
done
write_marker "$d0" "$MARK_RESCIND" 4 || fail "cannot write the marker"
wait_for 120 "[ ! -e /sys/bus/vmbus/devices/$ctrl ]" ||
	fail "the controller $ctrl is still there after the rescind: $(dmesg | tail -n 10)"
wait_for 60 "[ ! -e /sys/block/$d0 ] && [ ! -e /sys/block/$d1 ]" ||
	fail "disks still present after the rescind: $(ls /sys/block)"
wait
echo "controller $ctrl rescinded mid-I/O and removed; $d0 and $d1 gone"
dmesg | grep -iE 'rescind|storvsc' | tail -n 5
check_dmesg_clean
