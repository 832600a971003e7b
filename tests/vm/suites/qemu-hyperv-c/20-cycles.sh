#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rmmod/modprobe of the C hv_utils and hv_vmbus 20 times against QEMU's host: every cycle
# reconnects at 4.0, no UNLOAD timeout, no failed reconnect. (hv_balloon is not part of the cycle:
# the C driver has no module_exit and cannot be unloaded, see 30-balloon; the uevent helper is
# switched off meanwhile so that no autoloaded hv_balloon pins hv_vmbus.)
. /tests/lib.sh
use_c_modules
helper=$(cat /proc/sys/kernel/hotplug)
echo >/proc/sys/kernel/hotplug
trap 'echo "$helper" >/proc/sys/kernel/hotplug' EXIT
lsmod | grep -q '^hv_balloon ' && fail "hv_balloon is loaded (it would pin hv_vmbus)"
lsmod | grep -q '^hv_vmbus ' || must modprobe hv_vmbus
before=$(dmesg | grep -c 'hv_vmbus: Vmbus version:4.0$')
i=0
while [ $i -lt 20 ]; do
	must modprobe hv_utils
	lsmod | grep -q '^hv_utils ' || fail "cycle $i: hv_utils not loaded"
	must rmmod hv_utils
	must rmmod hv_vmbus
	lsmod | grep -q '^hv_vmbus ' && fail "cycle $i: hv_vmbus still loaded"
	must modprobe hv_vmbus
	i=$((i + 1))
done
after=$(dmesg | grep -c 'hv_vmbus: Vmbus version:4.0$')
[ $((after - before)) = 20 ] || fail "expected 20 more connects at 4.0, got $((after - before))"
dmesg | grep -q 'no UNLOAD_RESPONSE' && fail "the host did not answer UNLOAD"
dmesg | grep -q 'Unable to connect' && fail "a reconnect failed"
check_dmesg_clean
