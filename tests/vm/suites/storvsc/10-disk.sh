#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# hv_storvsc of the run's stack (hvrs.stack) against the engine's storvsp: both LUNs appear as
# disks with the configured sizes and Hyper-V's identity, with discard configured as UNMAP; the
# driver (C or ours) runs a multi-channel controller (one subchannel per extra vCPU, at most 8).
. /tests/lib.sh
. /tests/suites/storvsc/config.sh
use_stack
lsmod | grep -q '^hv_vmbus ' || must modprobe hv_vmbus
lsmod | grep -q '^hv_storvsc ' || must modprobe hv_storvsc
wait_for 60 'lun_dev 0 >/dev/null && lun_dev 1 >/dev/null' ||
	fail "disks did not appear: $(ls /sys/block) $(dmesg | grep -iE 'storvsc|scsi|sd ' | tail -n 20)"
d0=$(lun_dev 0) d1=$(lun_dev 1)
[ "$(dev_mb "$d0")" = "$LUN0_MB" ] || fail "LUN 0 ($d0) is $(dev_mb "$d0") MiB, expected $LUN0_MB"
[ "$(dev_mb "$d1")" = "$LUN1_MB" ] || fail "LUN 1 ($d1) is $(dev_mb "$d1") MiB, expected $LUN1_MB"
[ -b "/dev/$d0" ] && [ -b "/dev/$d1" ] || fail "no device nodes for $d0 $d1"
v=$(cat "/sys/block/$d0/device/vendor") m=$(cat "/sys/block/$d0/device/model")
case "$v/$m" in "Msft"*/"Virtual Disk"*) ;; *) fail "identity '$v' '$m'" ;; esac
# Discard is configured from the VPD pages: UNMAP.
pm=$(cat /sys/class/scsi_disk/*:0:0:0/provisioning_mode 2>/dev/null | head -n 1)
[ "$pm" = unmap ] || fail "provisioning_mode '$pm', expected unmap"
[ "$(cat "/sys/block/$d0/queue/discard_max_bytes")" -gt 0 ] || fail "no discard on $d0"
# Multi-channel: storvsc asks for min(CPUs - 1, max_channel_cnt) subchannels (the engine
# offers 8 by default) and opens them; they show under the device's channels/. Both stacks.
hv=$(ls -d /sys/bus/vmbus/drivers/hv_storvsc/*-* | head -n 1)
[ -n "$hv" ] || fail "no device bound to hv_storvsc"
want=$(($(nproc) - 1))
[ "$want" -le 8 ] || want=8
nch() { ls -d "$hv"/channels/* 2>/dev/null | wc -l; }
wait_for 30 '[ "$(nch)" -ge $((want + 1)) ]' || fail "$(nch) channels, expected $((want + 1))"
[ "$(nch)" -eq $((want + 1)) ] || fail "$(nch) channels, expected exactly $((want + 1))"
echo "LUN 0: $d0 $(dev_mb "$d0") MiB, LUN 1: $d1 $(dev_mb "$d1") MiB, $(nproc) CPUs," \
	"max_sectors_kb $(cat "/sys/block/$d0/queue/max_sectors_kb"), $(nch) channels"
dmesg | grep -iE 'storvsc|sd [0-9]' | tail -n 12
check_dmesg_clean
