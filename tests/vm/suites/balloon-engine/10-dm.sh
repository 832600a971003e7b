#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# hv_balloon of the run's stack (hvrs.stack=c|rust) against the engine's Dynamic Memory back
# end (issue 10), driven by host.sh, which checks every page the guest returns. The guest side:
#   "HVRS-MARK dm-ready"  hv_balloon bound, 2.0 negotiated -> host balloons 256 MiB (65536
#                         pages)
#   "HVRS-MARK ballooned" debugfs shows them -> host unballoons them all
#   "HVRS-MARK holding"   memhold holds 300 MiB -> host asks for 1 GiB: the guest stops at the
#                         floor, memhold is not OOM-killed; host unballoons, sends hot-add
#                         requests (misaligned region, overlapping RAM), then rescinds the device
#                         and offers one accepting 1.0 and 0.3, then one accepting only 0.3.
. /tests/lib.sh
use_stack
echo >/proc/sys/kernel/hotplug
lsmod | grep -q '^hv_vmbus ' || must modprobe hv_vmbus
wait_for 30 "grep -qi 525074dc-8985-46e2-8057-a307dc18a502 /sys/bus/vmbus/devices/*/class_id" ||
	fail "the dynamic-memory device is not offered"
must modprobe hv_balloon pressure_report_delay=2
wait_for 30 "dmesg | grep -q 'hv_balloon: Using Dynamic Memory protocol version 2.0'" ||
	fail "hv_balloon did not negotiate 2.0: $(dmesg | tail -n 5)"
f=/sys/kernel/debug/hv-balloon
ballooned() { sed -n 's/^pages_ballooned *: *//p' $f; }
mark dm-ready
wait_for 300 "[ \"\$(ballooned)\" = 65536 ]" || fail "pages_ballooned is $(ballooned), want 65536"
grep MemTotal /proc/meminfo
mark ballooned
wait_for 300 "[ \"\$(ballooned)\" = 0 ]" || fail "pages_ballooned is $(ballooned) after unballoon, want 0"
memhold 300 >/tmp/memhold.out 2>&1 &
hold=$!
wait_for 120 "grep -q holding /tmp/memhold.out" || fail "memhold: $(cat /tmp/memhold.out)"
mark holding
wait_for 400 "dmesg | grep -q 'Balloon request will be partially fulfilled'" ||
	fail "the guest did not stop at the floor: $(dmesg | grep hv_balloon | tail -n 5)"
wait_for 400 "[ \"\$(ballooned)\" = 0 ]" || fail "pages_ballooned is $(ballooned) after the floor, want 0"
kill -0 $hold || fail "memhold died: $(cat /tmp/memhold.out; dmesg | grep -i 'out of memory')"
dmesg | grep -qi 'out of memory' && fail "the OOM killer ran"
wait_for 500 "dmesg | grep -q 'hv_balloon: Using Dynamic Memory protocol version 0.3'" ||
	fail "no fallback to 0.3: $(dmesg | grep hv_balloon | tail -n 8)"
dmesg | grep -q 'hv_balloon: Using Dynamic Memory protocol version 1.0' || fail "no fallback to 1.0"
kill -0 $hold || fail "memhold died"
kill $hold
dmesg | grep hv_balloon | tail -n 30
check_dmesg_clean
