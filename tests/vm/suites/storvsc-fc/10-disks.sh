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
# Every load (ours and mdev's) with async_probe: modprobe would otherwise wait in
# do_init_module() for the asynchronous probes, whose FC scans of 8 x 128 targets take minutes
# under TCG, and the hung-task detector would report it.
mkdir -p /etc/modprobe.d && echo 'options hv_storvsc async_probe=1' >/etc/modprobe.d/hvrs-storvsc-fc.conf
lsmod | grep -q '^hv_vmbus ' || must modprobe hv_vmbus
lsmod | grep -q '^hv_storvsc ' || must modprobe hv_storvsc async_probe=1
wait_for 100 all_disks ||
	fail "disks did not appear: $(ls /sys/block) $(dmesg | grep -iE 'storvsc|scsi|sd ' | tail -n 20)"
[ "$(hosts_of_class "$FC_CLASS" | wc -l)" = 2 ] || fail "FC hosts: $(hosts_of_class "$FC_CLASS")"
i=$(hosts_of_class "$IDE_CLASS")
[ "$(echo "$i" | wc -w)" = 1 ] || fail "IDE hosts: $i"
d1=$(fc_disk_mb "$FC_MB") || fail "no FC disk of $FC_MB MiB"
d2=$(fc_disk_mb "$FC2_MB") || fail "no FC disk of $FC2_MB MiB"
di=$(disk_at "$i:0:0:0") || fail "no IDE disk at $i:0:0:0: $(ls /sys/class/scsi_disk)"
[ "$(dev_mb "$di")" = "$IDE_MB" ] || fail "IDE disk $di is $(dev_mb "$di") MiB, expected $IDE_MB"
for x in "$d1:$FC_MAX_KB:$FC_MB" "$d2:$FC_MAX_KB:$FC2_MB" "$di:$IDE_MAX_KB:$IDE_MB"; do
	d=${x%%:*} rest=${x#*:}
	kb=${rest%%:*} mb=${rest#*:}
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
echo "FC $d1 and $d2, IDE host$i $di ($i:0:0:0): patterns verified"
check_dmesg_clean
