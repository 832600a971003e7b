#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Under QEMU's own VMBus host (vmbus-bridge + hv-balloon, TCG Hyper-V emulation): the guest sees
# Hyper-V and the C hv_vmbus of the 7.2 test kernel connects at 4.0 (QEMU's host refuses 6.0..4.1).
. /tests/lib.sh
dmesg | grep -q 'Hypervisor detected: Microsoft Hyper-V' || fail "the guest does not see Hyper-V"
lsmod | grep -q '^hv_vmbus ' && must rmmod hv_vmbus
use_c_modules
modinfo -F filename hv_vmbus | grep -q '/kernel/drivers/hv/' || fail "C module tree not in place"
mark=$(dmesg | grep -c 'hv_vmbus: Vmbus version:4.0$')
must modprobe hv_vmbus
[ "$(dmesg | grep -c 'hv_vmbus: Vmbus version:4.0$')" = $((mark + 1)) ] ||
	fail "C hv_vmbus did not print 'Vmbus version:4.0': $(dmesg | grep hv_vmbus | tail -n 5)"
# The balloon is QEMU's only offer.
wait_for 10 "[ -n \"\$(ls /sys/bus/vmbus/devices 2>/dev/null)\" ]" || fail "no VMBus device offered"
cat /sys/bus/vmbus/devices/*/class_id
grep -qi '525074dc-8985-46e2-8057-a307dc18a502' /sys/bus/vmbus/devices/*/class_id ||
	fail "the dynamic-memory device is not offered"
check_dmesg_clean
