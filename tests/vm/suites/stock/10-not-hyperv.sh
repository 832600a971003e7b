#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Without the Hyper-V CPU flags the guest does not see Hyper-V, and our hv_vmbus refuses to load
# with ENODEV, as the C driver does (hv_acpi_init: !hv_is_hyperv_initialized()).
. /tests/lib.sh
dmesg | grep -q 'Hypervisor detected: Microsoft Hyper-V' && fail "guest detected Hyper-V without hv-* flags"
modinfo -F filename hv_vmbus | grep -q '/updates/' || fail "hv_vmbus does not resolve to our module in updates/"
expect_errno "No such device" modprobe hv_vmbus
lsmod | grep -q '^hv_vmbus ' && fail "hv_vmbus stayed loaded"
check_dmesg_clean
