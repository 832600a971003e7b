#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Against QEMU's own VMBus host (vmbus-bridge, protocol 4.0 at most): our hv_vmbus binds the
# ACPI root device, brings up the SynIC, is refused 6.0 .. 4.1 and connects at 4.0, printing the
# C driver's line. The max_version parameter has the C driver's default and permissions.
. /tests/lib.sh
# The suite tests the bus on its own: no driver autoloads for the rest of the boot (hv_balloon
# would bind the balloon device that 60-channel binds vmbus_sample to, and pin hv_vmbus).
echo >/proc/sys/kernel/hotplug
dmesg | grep -q 'Hypervisor detected: Microsoft Hyper-V' || fail "the guest does not see Hyper-V"
modinfo -F filename hv_vmbus | grep -q '/updates/' || fail "hv_vmbus is not our module"
lsmod | grep -q '^hv_vmbus ' && fail "hv_vmbus loaded before the test"
must modprobe hv_vmbus
lsmod | grep -q '^hv_vmbus ' || fail "hv_vmbus not loaded"
[ "$(dmesg | grep -c 'hv_vmbus: Vmbus version:4.0$')" = 1 ] ||
	fail "no 'hv_vmbus: Vmbus version:4.0' line: $(dmesg | grep hv_vmbus)"
p=/sys/module/hv_vmbus/parameters/max_version
[ "$(cat $p)" = 393216 ] || fail "max_version is '$(cat $p)', not 393216 (6.0)"
[ "$(stat -c %a $p)" = 444 ] || fail "max_version has mode $(stat -c %a $p), not 444"
[ -e /sys/bus/platform/drivers/hv_vmbus/VMBUS:00 ] || fail "root device not bound: $(ls /sys/bus/platform/drivers/hv_vmbus)"
# The SynIC is set up on every CPU: the hotplug state is registered.
grep -q 'hyperv/vmbus:online' /sys/devices/system/cpu/hotplug/states ||
	fail "no hyperv/vmbus:online hotplug state"
check_dmesg_clean
