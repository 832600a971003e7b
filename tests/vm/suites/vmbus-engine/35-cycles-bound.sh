#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# 100 load/unload cycles with drivers bound and traffic running: each cycle loads our hv_vmbus
# and hv_utils (five channels opened, IC negotiations, the engine's heartbeats every second),
# every tenth also binds vmbus_sample to the echo device (512 echoed packets), then unloads the
# drivers and the bus while the host keeps sending. Every UNLOAD is answered, nothing leaks
# (kmemleak), no warning.
. /tests/lib.sh
lsmod | grep -q '^hv_vmbus ' && must rmmod hv_vmbus
echo clear >/sys/kernel/debug/kmemleak
dmesg -c >/dev/null
n=0
while [ $n -lt 100 ]; do
	must modprobe hv_vmbus
	must modprobe hv_utils
	wait_for 20 "[ \$(ls /sys/bus/vmbus/drivers/hv_utils | grep -c -- -) -ge 5 ]" ||
		fail "cycle $n: hv_utils bound $(ls /sys/bus/vmbus/drivers/hv_utils | grep -c -- -) devices"
	wait_for 20 "[ \$(dmesg | grep -c 'hv_utils: Heartbeat IC version') -gt $n ]" ||
		fail "cycle $n: no heartbeat negotiation"
	if [ $((n % 10)) = 0 ]; then
		must modprobe vmbus_sample
		echo ec40ec40-5e1f-4c0c-9a11-b0b0b0b0ec40 >/sys/bus/vmbus/drivers/vmbus_sample/new_id ||
			fail "cycle $n: new_id"
		wait_for 60 "[ \$(dmesg | grep -c 'echo: 512 packets of 100 bytes echoed, 0 bad') -gt $((n / 10)) ]" ||
			fail "cycle $n: echo: $(dmesg | grep vmbus_sample | tail -n 2)"
		must rmmod vmbus_sample
	fi
	must rmmod hv_utils
	must rmmod hv_vmbus
	n=$((n + 1))
done
[ "$(dmesg | grep -c 'hv_vmbus: Vmbus version:')" = 100 ] || fail "not 100 connections"
dmesg | grep -q 'no UNLOAD_RESPONSE' && fail "an UNLOAD was not answered"
check_kmemleak
check_dmesg_clean
