#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# max_version caps the negotiation as in C: 3.0 connects at 3.0 (connection id 1, interrupt
# page), and a cap below 2.4 leaves no version to try, so the module fails to load.
. /tests/lib.sh
lsmod | grep -q '^hv_vmbus ' && must rmmod hv_vmbus
must modprobe hv_vmbus max_version=0x30000
dmesg | tail -n 20 | grep -q 'hv_vmbus: Vmbus version:3.0$' || fail "not connected at 3.0: $(dmesg | tail -n 5)"
must rmmod hv_vmbus
must modprobe hv_vmbus max_version=0x20004
dmesg | tail -n 20 | grep -q 'hv_vmbus: Vmbus version:2.4$' || fail "not connected at 2.4: $(dmesg | tail -n 5)"
must rmmod hv_vmbus
expect_errno "No such device" modprobe hv_vmbus max_version=0x10001
dmesg | tail -n 5 | grep -q 'hv_vmbus: Unable to connect to host' || fail "no 'Unable to connect to host'"
lsmod | grep -q '^hv_vmbus ' && fail "hv_vmbus stayed loaded"
check_dmesg_clean
