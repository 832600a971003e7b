#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# CPU hotplug with the bus connected: CPU 1 goes offline (its SynIC is torn down) and comes back
# (set up again); the CPU that receives the channel messages cannot go offline while connected,
# as in C (-EBUSY). The connection still works afterwards: rmmod gets its UNLOAD_RESPONSE.
. /tests/lib.sh
[ -e /sys/devices/system/cpu/cpu1/online ] || fail "needs -smp 2"
lsmod | grep -q '^hv_vmbus ' || must modprobe hv_vmbus
must sh -c 'echo 0 >/sys/devices/system/cpu/cpu1/online'
[ "$(cat /sys/devices/system/cpu/cpu1/online)" = 0 ] || fail "cpu1 still online"
must sh -c 'echo 1 >/sys/devices/system/cpu/cpu1/online'
[ "$(cat /sys/devices/system/cpu/cpu1/online)" = 1 ] || fail "cpu1 not back online"
if [ -e /sys/devices/system/cpu/cpu0/online ]; then
	expect_errno "Device or resource busy" sh -c 'echo 0 >/sys/devices/system/cpu/cpu0/online'
fi
must rmmod hv_vmbus
dmesg | grep -q 'no UNLOAD_RESPONSE' && fail "the host did not answer UNLOAD"
# Unloaded, the hotplug state is gone: CPUs come and go without the bus.
must sh -c 'echo 0 >/sys/devices/system/cpu/cpu1/online'
must sh -c 'echo 1 >/sys/devices/system/cpu/cpu1/online'
must modprobe hv_vmbus
must rmmod hv_vmbus
check_dmesg_clean
