#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The reference: the C hv_vmbus against the same minihost connects at 6.0 and unloads.
. /tests/lib.sh
lsmod | grep -q '^hv_vmbus ' && must rmmod hv_vmbus
use_c_modules
trap use_rust_modules EXIT
mark=$(dmesg | grep -c 'hv_vmbus: Vmbus version:6.0$')
must modprobe hv_vmbus
[ "$(dmesg | grep -c 'hv_vmbus: Vmbus version:6.0$')" = $((mark + 1)) ] ||
	fail "C driver did not print 'Vmbus version:6.0'"
must rmmod hv_vmbus
must modprobe hv_vmbus max_version=0x40001
dmesg | tail -n 5 | grep -q 'hv_vmbus: Vmbus version:4.1$' || fail "C not connected at 4.1"
must rmmod hv_vmbus
check_dmesg_clean
