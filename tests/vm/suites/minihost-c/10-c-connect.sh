#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# QEMU's external-host mode with the minimal host (tools/vmbus-minihost): the C hv_vmbus of the
# test kernel connects at 6.0 (the minihost's highest), then at 4.1 when the guest caps itself,
# and unloads cleanly (UNLOAD answered) each time.
. /tests/lib.sh
use_c_modules
trap use_rust_modules EXIT
must modprobe hv_vmbus
dmesg | grep -q 'hv_vmbus: Vmbus version:6.0$' || fail "C hv_vmbus did not connect at 6.0: $(dmesg | grep hv_vmbus | tail -n 3)"
must rmmod hv_vmbus
must modprobe hv_vmbus max_version=0x40001
dmesg | tail -n 5 | grep -q 'hv_vmbus: Vmbus version:4.1$' || fail "C hv_vmbus did not connect at 4.1"
must rmmod hv_vmbus
check_dmesg_clean
