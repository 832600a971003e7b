#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Free page reporting of hv_balloon (issue 10), with the stack of the run (hvrs.stack=c|rust):
# the project's QEMU with hv-ext-hypercalls=on offers the extended hypercalls
# (HV_ENABLE_EXTENDED_HYPERCALLS, HvExtCallQueryCapabilities with the cold-discard hint), so
# hv_balloon registers with the kernel's page reporting ("Cold memory discard hint enabled with
# order N", as C) and reports free memory with HvExtCallMemoryHeatHint. QEMU discards the
# hinted RAM and counts the pages (the CPU's hv-ext-hinted-pages property), which host.sh reads
# with qom-get at each mark:
#   "HVRS-MARK holding"   memhold holds 512 MiB (reporting of the boot's free memory is over)
#   "HVRS-MARK freed"     memhold was killed: its memory is free again
#   "HVRS-MARK reported"  20 s later: the host must have seen at least half of it hinted again
# Then ours is unloaded (the C driver cannot be): rmmod unregisters page reporting, so memory
# freed after it is no longer hinted ("HVRS-MARK unloaded" ... "HVRS-MARK unloaded-freed", the
# host's count must not move), it logs the ranges it reported, and kmemleak finds nothing.
# With page_reporting.page_reporting_order=0 on the command line, QEMU runs with
# x-hv-ext-hint-min-order=9 and refuses ranges below 2 MiB (HV_STATUS_INVALID_PARAMETER), as
# Hyper-V versions do: the driver logs the failure as C does, reports whole pageblocks from then
# on ("Defaulting to page_reporting_order N") and goes on hinting.
# With hvrs.fpr=refuse, QEMU refuses every range (x-hv-ext-hint-min-order=11, above the
# pageblock order): after the second failure the status work unregisters page reporting
# ("Multiple failures in cold memory discard hypercall, disabling page reporting", as C), the
# host counts nothing ("HVRS-MARK disabled" ... "HVRS-MARK disabled-freed"), and ours still
# unloads cleanly.
. /tests/lib.sh
use_stack
echo >/proc/sys/kernel/hotplug
lsmod | grep -q '^hv_vmbus ' || must modprobe hv_vmbus
wait_for 10 "grep -qi 525074dc-8985-46e2-8057-a307dc18a502 /sys/bus/vmbus/devices/*/class_id" ||
	fail "the dynamic-memory device is not offered"
must modprobe hv_balloon
wait_for 30 "dmesg | grep -q 'hv_balloon: Using Dynamic Memory protocol version 2.0'" ||
	fail "hv_balloon did not negotiate 2.0: $(dmesg | tail -n 5)"
wait_for 10 "dmesg | grep -q 'hv_balloon: Cold memory discard hint enabled with order [0-9]'" ||
	fail "no page reporting: $(dmesg | grep -i 'hv_balloon\|hyper-v' | tail -n 8)"
mark loaded
pr_order=/sys/module/page_reporting/parameters/page_reporting_order
# Frees memory of every order: allocates $1 MiB with memhold, then kills it.
hold_and_free() {
	memhold "$1" >/tmp/memhold.out 2>&1 &
	pid=$!
	wait_for 120 "grep -q holding /tmp/memhold.out" || fail "memhold: $(cat /tmp/memhold.out)"
	kill $pid
	wait $pid 2>/dev/null
}
if grep -q 'hvrs.fpr=refuse' /proc/cmdline; then
	# The first failure comes with the boot's report; the second with the next free.
	wait_for 30 "dmesg | grep -q 'hv_balloon: Cold memory discard hypercall failed'" ||
		fail "no refused hypercall: $(dmesg | grep hv_balloon | tail -n 5)"
	hold_and_free 256
	wait_for 60 "dmesg | grep -q 'hv_balloon: Multiple failures in cold memory discard hypercall, disabling page reporting'" ||
		fail "page reporting not disabled: $(dmesg | grep hv_balloon | tail -n 8)"
	mark disabled
	hold_and_free 256
	sleep 10
	mark disabled-freed
	# host.sh reads QEMU's count now: the run must not end under it.
	sleep 5
	dmesg | grep hv_balloon
	if [ "$(hvrs_stack)" = c ]; then
		expect_errno "busy" rmmod hv_balloon
	else
		must rmmod hv_balloon
		dmesg | grep 'free ranges were reported' && fail "ranges reported by a refusing host"
	fi
	check_dmesg_clean
	exit 0
fi
small=0
grep -q 'page_reporting.page_reporting_order=0' /proc/cmdline && small=1
if [ $small = 1 ]; then
	wait_for 60 "dmesg | grep -q 'hv_balloon: Defaulting to page_reporting_order'" ||
		fail "no fallback to whole pageblocks: $(dmesg | grep hv_balloon | tail -n 5)"
	dmesg | grep -q 'hv_balloon: Cold memory discard hypercall failed with status [0-9a-f]*5$' ||
		fail "no 'hypercall failed' line: $(dmesg | grep hv_balloon | tail -n 5)"
	dmesg | grep -q 'hv_balloon: Underlying Hyper-V does not support order less than 9. Hypercall failed' ||
		fail "no 'order less than 9' line: $(dmesg | grep hv_balloon | tail -n 5)"
	o=$(cat $pr_order)
	dmesg | grep -q "hv_balloon: Defaulting to page_reporting_order $o\$" ||
		fail "page_reporting_order is $o: $(dmesg | grep hv_balloon | tail -n 5)"
	[ "$o" -ge 9 ] || fail "page_reporting_order $o after the fallback"
fi
# The boot's free memory is reported first (page_reporting_register() asks for a full pass).
sleep 20
memhold 512 >/tmp/memhold.out 2>&1 &
pid=$!
wait_for 120 "grep -q holding /tmp/memhold.out" || fail "memhold: $(cat /tmp/memhold.out)"
sleep 3
mark holding
sleep 3
kill $pid
wait $pid 2>/dev/null
mark freed
# Page reporting waits 2 s after a free, then reports the zone in passes.
sleep 20
mark reported
# host.sh reads QEMU's count now (the C stack's run ends soon after).
sleep 5
dmesg | grep hv_balloon
echo "page_reporting_order $(cat $pr_order)"
# One refused hypercall at most (the first batch with small ranges), and reporting goes on.
n=$(dmesg | grep -c 'hv_balloon: Cold memory discard hypercall failed')
[ "$n" = $small ] || fail "$n cold-discard hypercalls failed, expected $small"
dmesg | grep -q 'hv_balloon: Multiple failures in cold memory discard hypercall' &&
	fail "page reporting was disabled"
if [ "$(hvrs_stack)" = c ]; then
	expect_errno "busy" rmmod hv_balloon
	mark unload-skipped
	check_dmesg_clean
	exit 0
fi
must rmmod hv_balloon
dmesg | grep -E 'hv_balloon: [1-9][0-9]* free ranges were reported to the hypervisor \([1-9][0-9]* pages\)' ||
	fail "no 'free ranges were reported' line: $(dmesg | grep hv_balloon | tail -n 5)"
mark unloaded
sleep 3
memhold 256 >/tmp/memhold.out 2>&1 &
pid=$!
wait_for 120 "grep -q holding /tmp/memhold.out" || fail "memhold: $(cat /tmp/memhold.out)"
kill $pid
wait $pid 2>/dev/null
sleep 10
mark unloaded-freed
if [ -e /sys/kernel/debug/kmemleak ]; then
	sleep 6
	echo scan >/sys/kernel/debug/kmemleak
	echo scan >/sys/kernel/debug/kmemleak
	if grep -q unreferenced /sys/kernel/debug/kmemleak; then
		head -40 /sys/kernel/debug/kmemleak
		fail "kmemleak found leaks"
	fi
fi
check_dmesg_clean
