#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Unbind the first FC adapter through sysfs: its disk, fc_host and remote port go (the others
# stay); bind it again: all come back with the data written before. Then markers for
# 90-reload.
. /tests/lib.sh
. /tests/suites/storvsc-fc/config.sh
use_stack
wait_for 300 fc_ready || fail "FC hosts not ready"
f1=$(fc_host_of "$FC_PORT")
i=$(hosts_of_class "$IDE_CLASS")
for x in "$(fc_disk_mb "$FC_MB"):FC1" "$(fc_disk_mb "$FC2_MB"):FC2" "$(disk_at "$i:0:0:0"):IDE"; do
	printf 'HVRS-RELOAD-%s' "${x#*:}" | dd of="/dev/${x%%:*}" bs=512 count=1 seek=8 conv=sync,fsync 2>/dev/null ||
		fail "cannot write the marker on ${x%%:*}"
done
dev=$(readlink -f "/sys/class/scsi_host/host$f1/device/..")
id=${dev##*/}
echo "$id" >/sys/bus/vmbus/drivers/hv_storvsc/unbind || fail "cannot unbind $id"
[ ! -e "/sys/class/fc_host/host$f1" ] || fail "fc_host host$f1 still there after unbind"
[ ! -e "/sys/class/fc_remote_ports/rport-$f1:0-0" ] || fail "rport-$f1:0-0 still there after unbind"
[ "$(ls /sys/class/fc_host | wc -l)" = 1 ] || fail "fc_hosts after unbind: $(ls /sys/class/fc_host)"
[ "$(ls /sys/class/fc_remote_ports | wc -l)" = 1 ] || fail "rports after unbind: $(ls /sys/class/fc_remote_ports)"
fc_disk_mb "$FC_MB" >/dev/null && fail "the FC disk is still there after unbind"
[ -e "$dev/driver" ] && fail "$id is still bound"
# The bind returns after the probe, scan included.
echo "$id" >/sys/bus/vmbus/drivers/hv_storvsc/bind || fail "cannot bind $id"
wait_for 60 'all_disks && fc_ready' || fail "the first FC adapter did not come back: $(ls /sys/block)"
markers_ok || fail "a disk lost its marker after unbind/bind"
echo "unbind/bind of $id: host$f1 -> host$(fc_host_of "$FC_PORT")"
check_dmesg_clean
