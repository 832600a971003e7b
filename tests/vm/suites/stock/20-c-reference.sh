#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The reference: the C hv_vmbus of the same kernel fails the same way on the same guest.
. /tests/lib.sh
use_c_modules
trap use_rust_modules EXIT
modinfo -F filename hv_vmbus | grep -q '/kernel/drivers/hv/' || fail "C module tree not in place"
expect_errno "No such device" modprobe hv_vmbus
check_dmesg_clean
