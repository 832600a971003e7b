#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# hv_utils of the run's stack binds the shutdown channel (IC 3.2). The suite then ends with the
# host's reboot request (host.sh): /init waits for it after this test (run-vm.sh --expect-end
# reboot), and the run passes only if init's shutdown path ran and the kernel printed
# 'reboot: Restarting system'.
. /tests/lib.sh
use_stack
lsmod | grep -q '^hv_utils ' || must modprobe hv_utils
wait_for 60 "dmesg | grep -q 'Shutdown IC version 3.2'" ||
	fail "the shutdown IC did not negotiate 3.2: $(dmesg | grep hv_utils)"
check_dmesg_clean
