#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# hv_balloon of the run's stack (hvrs.stack=c|rust) in a guest that can hibernate (ACPI S4 on:
# run-vm-engine.sh --s4), against the engine's Dynamic Memory back end: the C driver's
# hibernation policy (hv_balloon.c, `allow_hibernation`). Hot-add is off (the `hot_add`
# parameter reads N), balloon-up requests are ignored ("Ignore balloon-up request!", no answer,
# no page taken) and hot-add requests answered with no pages ("Ignore hot-add request!"),
# while status reports go on. host.sh drives the requests and checks the answers.
. /tests/lib.sh
use_stack
lsmod | grep -q '^hv_vmbus ' || must modprobe hv_vmbus
[ "$(cat /sys/bus/vmbus/hibernation)" = 1 ] || fail "the guest cannot hibernate (/sys/bus/vmbus/hibernation $(cat /sys/bus/vmbus/hibernation)): S4 off?"
wait_for 30 "grep -qi 525074dc-8985-46e2-8057-a307dc18a502 /sys/bus/vmbus/devices/*/class_id" ||
	fail "the dynamic-memory device is not offered"
must modprobe hv_balloon pressure_report_delay=2
wait_for 30 "dmesg | grep -q 'hv_balloon: Using Dynamic Memory protocol version 2.0'" ||
	fail "hv_balloon did not negotiate 2.0: $(dmesg | tail -n 5)"
[ "$(cat /sys/module/hv_balloon/parameters/hot_add)" = N ] ||
	fail "hot_add is $(cat /sys/module/hv_balloon/parameters/hot_add) with hibernation allowed, want N"
f=/sys/kernel/debug/hv-balloon
ballooned() { sed -n 's/^pages_ballooned *: *//p' $f; }
mark dm-ready
wait_for 120 "dmesg | grep -q 'hv_balloon: Ignore balloon-up request!'" ||
	fail "the balloon-up request was not ignored: $(dmesg | grep hv_balloon | tail -n 5)"
wait_for 120 "dmesg | grep -q 'hv_balloon: Ignore hot-add request!'" ||
	fail "the hot-add request was not ignored: $(dmesg | grep hv_balloon | tail -n 5)"
[ "$(ballooned)" = 0 ] || fail "pages_ballooned is $(ballooned), want 0"
dmesg | grep -q 'hv_balloon: Memory hot add failed' && fail "hot-add logged as a failure"
mark dm-checked
check_dmesg_clean
