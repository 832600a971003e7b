#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The bus's debugfs (C: drivers/hv/hv_debugfs.c with CONFIG_HYPERV_TESTING): each device has
# hyperv/<device>/fuzz_test_state and delay/fuzz_test_{buffer_interrupt,message}_delay; the
# state takes only 0 and 1, the delays at most 1000 (EINVAL otherwise, the value kept). With
# fault testing on (1 ms before every event and every packet read) vmbus_sample's echo
# exchange with the engine still completes, and takes longer; removing the bus removes
# hyperv/; kmemleak finds nothing.
. /tests/lib.sh
lsmod | grep -q '^hv_vmbus ' || must modprobe hv_vmbus
d=$(grep -l '{ec40ec40-5e1f-4c0c-9a11-b0b0b0b0ec40}' /sys/bus/vmbus/devices/*/class_id | head -n 1)
d=${d%/class_id}
[ -n "$d" ] || fail "no echo device"
guid=${d##*/}
dbg=/sys/kernel/debug/hyperv/$guid
for f in fuzz_test_state delay/fuzz_test_buffer_interrupt_delay delay/fuzz_test_message_delay; do
	[ "$(cat $dbg/$f)" = 0 ] || fail "$dbg/$f: '$(cat $dbg/$f 2>&1)', want 0"
done
n=$(ls -d /sys/kernel/debug/hyperv/*-* | wc -l)
[ "$n" = "$(ls -d /sys/bus/vmbus/devices/*-* | wc -l)" ] || fail "$n debugfs directories for $(ls /sys/bus/vmbus/devices | wc -l) devices"
# Bounds, as C: the write fails and the value stays.
echo 1000 >$dbg/delay/fuzz_test_message_delay || fail "1000 refused"
echo 1001 >$dbg/delay/fuzz_test_message_delay 2>/dev/null && fail "a delay of 1001 was accepted"
[ "$(cat $dbg/delay/fuzz_test_message_delay)" = 1000 ] || fail "the delay changed to $(cat $dbg/delay/fuzz_test_message_delay)"
echo 2 >$dbg/fuzz_test_state 2>/dev/null && fail "state 2 was accepted"
echo 1000 >$dbg/delay/fuzz_test_buffer_interrupt_delay || fail "1000 refused"
# The echo exchange without, then with every event and packet read delayed by 1 ms: at least
# 512 ms more (one delayed read per echo packet).
must modprobe vmbus_sample
bind_time() { # -> seconds the bind (the exchange) took
	local t0 t1
	t0=$(cut -d' ' -f1 /proc/uptime)
	echo -n "$guid" >/sys/bus/vmbus/drivers/vmbus_sample/bind || return 1
	t1=$(cut -d' ' -f1 /proc/uptime)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
must sh -c 'echo ec40ec40-5e1f-4c0c-9a11-b0b0b0b0ec40 >/sys/bus/vmbus/drivers/vmbus_sample/new_id'
wait_for 60 "[ -e $d/driver ]" || fail "not bound: $(dmesg | tail -n 5)"
must sh -c "echo -n $guid >/sys/bus/vmbus/drivers/vmbus_sample/unbind"
base=$(bind_time) || fail "bind failed: $(dmesg | tail -n 5)"
must sh -c "echo -n $guid >/sys/bus/vmbus/drivers/vmbus_sample/unbind"
echo 1 >$dbg/fuzz_test_state || fail "state 1 refused"
slow=$(bind_time) || fail "bind failed with fault testing on: $(dmesg | tail -n 5)"
line=$(dmesg | grep "vmbus_sample $guid: echo: " | tail -n 1)
echo "$line"
echo "exchange without delays $base s, with $slow s"
echo "$line" | grep -q 'echo: 512 packets of 100 bytes echoed, 0 bad' || fail "echo failed with fault testing on: $line"
awk -v a="$base" -v b="$slow" 'BEGIN { exit !(b - a >= 0.4) }' || fail "the delays did not apply: $base s without, $slow s with"
echo 0 >$dbg/fuzz_test_state
must rmmod vmbus_sample
must rmmod hv_vmbus
[ -e /sys/kernel/debug/hyperv ] && fail "hyperv/ left in debugfs: $(ls /sys/kernel/debug/hyperv)"
check_kmemleak
check_dmesg_clean
