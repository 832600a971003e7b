#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Hyper-V without a VMBus root device in ACPI (no vmbus-bridge): our hv_vmbus fails to load with
# ENODEV and leaves nothing behind, as the C driver does (hv_acpi_init: !vmbus_root_device).
. /tests/lib.sh
dmesg | grep -q 'Hypervisor detected: Microsoft Hyper-V' || fail "the guest does not see Hyper-V"
expect_errno "No such device" modprobe hv_vmbus
lsmod | grep -q '^hv_vmbus ' && fail "hv_vmbus stayed loaded"
grep -q 'hyperv/vmbus:online' /sys/devices/system/cpu/hotplug/states && fail "hotplug state left behind"
check_dmesg_clean
