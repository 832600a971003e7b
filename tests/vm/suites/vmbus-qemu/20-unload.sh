#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rmmod sends UNLOAD and gets UNLOAD_RESPONSE (no timeout message), tears the SynIC down, and a
# new modprobe connects again; 10 cycles leave no leak behind (kmemleak).
. /tests/lib.sh
lsmod | grep -q '^hv_vmbus ' || must modprobe hv_vmbus
echo clear >/sys/kernel/debug/kmemleak 2>/dev/null
before=$(dmesg | grep -c 'hv_vmbus: Vmbus version:4.0$')
i=0
while [ $i -lt 10 ]; do
	must rmmod hv_vmbus
	grep -q 'hyperv/vmbus:online' /sys/devices/system/cpu/hotplug/states &&
		fail "hotplug state left behind after rmmod"
	must modprobe hv_vmbus
	i=$((i + 1))
done
must rmmod hv_vmbus
after=$(dmesg | grep -c 'hv_vmbus: Vmbus version:4.0$')
[ $((after - before)) = 10 ] || fail "expected 10 more connects, got $((after - before))"
dmesg | grep -q 'no UNLOAD_RESPONSE' && fail "the host did not answer UNLOAD"
dmesg | grep -q 'Unable to connect' && fail "a reconnect failed"
# kmemleak only reports objects older than 5 s.
check_kmemleak
check_dmesg_clean
