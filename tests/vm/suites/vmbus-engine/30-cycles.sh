#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# 20 modprobe/rmmod cycles with the engine's devices offered each time: every device comes and
# goes with the bus, UNLOAD is answered each time, and nothing leaks (kmemleak).
. /tests/lib.sh
lsmod | grep -q '^hv_vmbus ' && must rmmod hv_vmbus
echo clear >/sys/kernel/debug/kmemleak
n=0
while [ $n -lt 20 ]; do
	must modprobe hv_vmbus
	c=$(ls /sys/bus/vmbus/devices | wc -l)
	[ "$c" -ge 7 ] || fail "cycle $n: $c devices"
	must rmmod hv_vmbus
	[ -e /sys/bus/vmbus ] && fail "cycle $n: /sys/bus/vmbus left behind"
	n=$((n + 1))
done
dmesg | grep -q 'no UNLOAD_RESPONSE' && fail "an UNLOAD was not answered"
check_kmemleak
check_dmesg_clean
