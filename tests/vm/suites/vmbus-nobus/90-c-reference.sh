#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The reference: the C hv_vmbus fails the same way without a VMBus root device.
. /tests/lib.sh
use_c_modules
trap use_rust_modules EXIT
expect_errno "No such device" modprobe hv_vmbus
lsmod | grep -q '^hv_vmbus ' && fail "C hv_vmbus stayed loaded"
check_dmesg_clean
