#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The shutdown channel with a guest that can hibernate (run-vm.sh --s4 and a kernel with
# hibernation): ACPI reports S4 and hv_utils negotiates the shutdown IC.
. /tests/lib.sh
use_stack
dmesg | grep -q 'ACPI: PM: (supports.* S4' || fail "ACPI has no S4: $(dmesg | grep 'ACPI: PM')"
lsmod | grep -q '^hv_vmbus ' || must modprobe hv_vmbus
lsmod | grep -q '^hv_utils ' || must modprobe hv_utils
wait_for 30 "dmesg | grep -q 'hv_utils: Shutdown IC version 3.2'" ||
	fail "no shutdown negotiation: $(dmesg | grep hv_utils)"
check_dmesg_clean
