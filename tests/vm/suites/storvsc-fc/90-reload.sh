#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Unbind and bind again the first FC adapter through sysfs: its disk, fc_host and remote port go
# and come back with the data written before; then rmmod and modprobe
# hv_storvsc twice: every host, fc_host and rport goes and comes back, the disks keep their
# data; then kmemleak (when the kernel has it) must find nothing.
. /tests/lib.sh
. /tests/suites/storvsc-fc/config.sh
use_stack
f1=$(fc_host_of "$FC_PORT") || fail "no first FC host"
i=$(hosts_of_class "$IDE_CLASS")
for x in "$(disk_of_host "$f1"):FC" "$(disk_of_host "$(fc_host_of "$FC2_PORT")"):FC2" "$(disk_at "$i:0:0:0"):IDE"; do
	printf 'HVRS-RELOAD-%s' "${x#*:}" | dd of="/dev/${x%%:*}" bs=512 count=1 seek=8 conv=sync,fsync 2>/dev/null ||
		fail "cannot write the marker on ${x%%:*}"
done
# Reads block 8 of the three disks: all three markers present.
markers_ok() {
	local f1 f2 i
	f1=$(fc_host_of "$FC_PORT") && f2=$(fc_host_of "$FC2_PORT") && i=$(hosts_of_class "$IDE_CLASS") || return 1
	dd if="/dev/$(disk_of_host "$f1")" bs=512 skip=8 count=1 2>/dev/null | grep -q HVRS-RELOAD-FC &&
		dd if="/dev/$(disk_of_host "$f2")" bs=512 skip=8 count=1 2>/dev/null | grep -q HVRS-RELOAD-FC2 &&
		dd if="/dev/$(disk_at "$i:0:0:0")" bs=512 skip=8 count=1 2>/dev/null | grep -q HVRS-RELOAD-IDE
}
dev=$(readlink -f "/sys/class/scsi_host/host$f1/device/..")
id=${dev##*/}
echo "$id" >/sys/bus/vmbus/drivers/hv_storvsc/unbind || fail "cannot unbind $id"
[ ! -e "/sys/class/fc_host/host$f1" ] || fail "fc_host host$f1 still there after unbind"
[ ! -e "/sys/class/fc_remote_ports/rport-$f1:0-0" ] || fail "rport-$f1:0-0 still there after unbind"
[ "$(ls /sys/class/fc_host | wc -l)" = 1 ] || fail "fc_hosts after unbind: $(ls /sys/class/fc_host)"
echo "$id" >/sys/bus/vmbus/drivers/hv_storvsc/bind || fail "cannot bind $id"
wait_for 120 all_disks || fail "the first FC adapter's disk did not come back: $(ls /sys/block)"
markers_ok || fail "a disk lost its marker after unbind/bind"
echo "unbind/bind: host$f1 -> host$(fc_host_of "$FC_PORT")"
for round in 1 2; do
	must rmmod hv_storvsc
	wait_for 30 '[ -z "$(ls /sys/class/fc_host)" ] && [ -z "$(ls /sys/class/fc_remote_ports)" ]' ||
		fail "fc_hosts or rports left after rmmod: $(ls /sys/class/fc_host /sys/class/fc_remote_ports)"
	[ -z "$(hosts_of_class "$FC_CLASS")$(hosts_of_class "$IDE_CLASS")" ] || fail "SCSI hosts left after rmmod"
	must modprobe hv_storvsc
	wait_for 120 all_disks || fail "disks did not come back (round $round): $(ls /sys/block)"
	markers_ok || fail "a disk lost its marker after reload $round"
	[ "$(cat "/sys/class/fc_host/host$(fc_host_of "$FC2_PORT")/node_name")" = "$FC2_NODE" ] ||
		fail "the second adapter's node_name after reload $round"
done
echo "unloaded and loaded twice; fc_hosts $(ls /sys/class/fc_host | tr '\n' ' ')rports $(ls /sys/class/fc_remote_ports | tr '\n' ' ')"
if [ -e /sys/kernel/debug/kmemleak ]; then
	# kmemleak reports objects older than 5 s, after two scans.
	sleep 6
	echo scan >/sys/kernel/debug/kmemleak
	echo scan >/sys/kernel/debug/kmemleak
	if grep -q unreferenced /sys/kernel/debug/kmemleak; then
		head -40 /sys/kernel/debug/kmemleak
		fail "kmemleak found leaks"
	fi
fi
check_dmesg_clean
