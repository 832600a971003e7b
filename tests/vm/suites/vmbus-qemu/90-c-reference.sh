#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The reference: the C hv_vmbus of the same kernel against the same host connects at 4.0 with
# the same line, shows the same devices with byte-identical sysfs files (compared with the dump
# of 50-devices), opens the balloon channel from its hv_balloon (as vmbus_sample does in
# 60-channel), is capped by max_version the same way, and unloads cleanly.
. /tests/lib.sh
lsmod | grep -q '^hv_vmbus ' && must rmmod hv_vmbus
use_c_modules
trap use_rust_modules EXIT
modinfo -F filename hv_vmbus | grep -q '/kernel/drivers/hv/' || fail "C module tree not in place"
mark=$(dmesg | grep -c 'hv_vmbus: Vmbus version:4.0$')
must modprobe hv_vmbus
[ "$(dmesg | grep -c 'hv_vmbus: Vmbus version:4.0$')" = $((mark + 1)) ] ||
	fail "C driver did not print 'Vmbus version:4.0'"
[ "$(cat /sys/module/hv_vmbus/parameters/max_version)" = 393216 ] || fail "C max_version differs"
[ "$(stat -c %a /sys/module/hv_vmbus/parameters/max_version)" = 444 ] || fail "C max_version mode differs"
grep -q 'hyperv/vmbus:online' /sys/devices/system/cpu/hotplug/states || fail "C hotplug state name differs"
# The same device with the same sysfs files (no driver is bound in either run: this initramfs
# has no uevent module loader).
dump_vmbus_sysfs >/tmp/vmbus-sysfs.c
if [ -s /tmp/vmbus-sysfs.rust ] && ! diff -u /tmp/vmbus-sysfs.c /tmp/vmbus-sysfs.rust; then
	fail "sysfs differs between the C (-) and our (+) hv_vmbus"
fi
must rmmod hv_vmbus
must modprobe hv_vmbus max_version=0x30000
dmesg | tail -n 20 | grep -q 'hv_vmbus: Vmbus version:3.0$' || fail "C not connected at 3.0"
must rmmod hv_vmbus
# The C channel path against the same device: hv_balloon opens the channel and negotiates. It
# cannot be unloaded (no module_exit), so this comes last and the C bus stays loaded.
must modprobe hv_vmbus
must modprobe hv_balloon
wait_for 20 "dmesg | grep -q 'hv_balloon: Using Dynamic Memory protocol version 2.0'" ||
	fail "C hv_balloon did not negotiate: $(dmesg | tail -n 5)"
[ "$(cat /sys/bus/vmbus/devices/*/state)" = 3 ] || fail "C state while open is not 3"
check_dmesg_clean
