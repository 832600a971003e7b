#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# hv_storvsc of the run's stack (hvrs.stack) binds the engine's two synthetic FC adapters and
# its IDE accelerator: each disk appears with its size and Hyper-V's identity, FC hosts have
# C's FC transfer limit (512 KiB under the host's 1 MiB), the IDE disk sits at the target of
# the instance GUID (0:0:0) on a one-channel controller, and a pattern written to each disk
# reads back equal.
. /tests/lib.sh
. /tests/suites/storvsc-fc/config.sh
use_stack
lsmod | grep -q '^hv_vmbus ' || must modprobe hv_vmbus
lsmod | grep -q '^hv_storvsc ' || must modprobe hv_storvsc
wait_for 120 all_disks ||
	fail "disks did not appear: $(ls /sys/block) $(ls /sys/class/fc_host 2>&1) $(dmesg | grep -iE 'storvsc|scsi|sd ' | tail -n 20)"
f1=$(fc_host_of "$FC_PORT") f2=$(fc_host_of "$FC2_PORT") i=$(hosts_of_class "$IDE_CLASS")
[ "$(hosts_of_class "$FC_CLASS" | wc -l)" = 2 ] || fail "FC hosts: $(hosts_of_class "$FC_CLASS")"
[ "$(echo "$i" | wc -w)" = 1 ] || fail "IDE hosts: $i"
d1=$(disk_of_host "$f1") d2=$(disk_of_host "$f2") di=$(disk_at "$i:0:0:0") ||
	fail "no IDE disk at $i:0:0:0: $(ls /sys/class/scsi_disk)"
for x in "$d1:$FC_MB:$FC_MAX_KB" "$d2:$FC2_MB:$FC_MAX_KB" "$di:$IDE_MB:$IDE_MAX_KB"; do
	d=${x%%:*} rest=${x#*:}
	mb=${rest%%:*} kb=${rest#*:}
	[ "$(dev_mb "$d")" = "$mb" ] || fail "$d is $(dev_mb "$d") MiB, expected $mb"
	v=$(cat "/sys/block/$d/device/vendor") m=$(cat "/sys/block/$d/device/model")
	case "$v/$m" in "Msft"*/"Virtual Disk"*) ;; *) fail "$d identity '$v' '$m'" ;; esac
	hw=$(cat "/sys/block/$d/queue/max_hw_sectors_kb")
	[ "$hw" = "$kb" ] || fail "$d max_hw_sectors_kb $hw, expected $kb"
	pattern_check "$d" "$mb"
done
# The IDE controller runs on its primary channel only.
hv=$(readlink -f "/sys/class/scsi_host/host$i/device/..")
n=$(ls -d "$hv"/channels/* | wc -l)
[ "$n" = 1 ] || fail "the IDE controller has $n channels"
echo "FC host$f1 $d1, FC host$f2 $d2, IDE host$i $di ($i:0:0:0): patterns verified"
check_dmesg_clean
