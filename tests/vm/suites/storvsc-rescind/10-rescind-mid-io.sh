#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The host rescinds the SCSI controller while fio has I/O in flight (host.sh: the engine's
# `scsi fault rescind-after N`; the engine completes the Nth request, then rescinds): the
# controller is removed without hanging (the driver fails what the host will no longer answer,
# and what is sent after the rescind), fio ends with I/O errors instead of blocking, the disks
# go away, the module unloads, kmemleak finds nothing, and the kernel log stays clean of
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
# fio keeps requests in flight on both disks until the rescind: random writes of 4 KiB .. 256 KiB
# on LUN 1, random reads on LUN 0 (host.sh reads the marker there), depth 16 each, time-based
# so that only the rescind ends them.
fio --name=w --filename="/dev/$d1" --rw=randwrite --bsrange=4k-256k --iodepth=16 \
	--name=r --filename="/dev/$d0" --rw=randread --bs=64k --iodepth=16 \
	--direct=1 --ioengine=io_uring --time_based --runtime=300 >/tmp/fio.out 2>&1 &
fio=$!
writes() { awk -v d="$d1" '$3 == d { print $8 }' /proc/diskstats; }
wait_for 30 '[ "$(writes)" -gt 0 ]' || fail "fio did not start: $(cat /tmp/fio.out)"
kill -0 $fio || fail "fio ended before the rescind: $(cat /tmp/fio.out)"
write_marker "$d0" "$MARK_RESCIND" 4 || fail "cannot write the marker"
wait_for 120 "[ ! -e /sys/bus/vmbus/devices/$ctrl ]" ||
	fail "the controller $ctrl is still there after the rescind: $(dmesg | tail -n 10)"
wait_for 60 "[ ! -e /sys/block/$d0 ] && [ ! -e /sys/block/$d1 ]" ||
	fail "disks still present after the rescind: $(ls /sys/block)"
wait_for 30 "! kill -0 $fio 2>/dev/null" || fail "fio still runs after the disks went away: $(cat /tmp/fio.out)"
wait $fio
rc=$?
grep -E 'err=|error' /tmp/fio.out | head -n 5
[ $rc != 0 ] || fail "fio succeeded although its disks were rescinded: $(tail -n 20 /tmp/fio.out)"
echo "controller $ctrl rescinded mid-I/O and removed; $d0 and $d1 gone; fio ended with $rc"
dmesg | grep -iE 'rescind|storvsc' | tail -n 5
must rmmod hv_storvsc
check_kmemleak
check_dmesg_clean
