#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The C hv_balloon against QEMU's hv-balloon: negotiates Dynamic Memory 2.0 with hot-add, sends
# status reports (pressure_report_delay=0: from the start), cannot be unloaded, and follows the
# host's targets set through QMP by host.sh (run by scripts/run-vm.sh --host-script beside the
# VM): balloon 1G -> 512M, then hot-add to 2.5G. Coordination over the console:
#   guest "HVRS-READY balloon"  -> host sets 512M, polls query-balloon until reached
#   guest "HVRS-SEEN balloon"   -> host sets 2.5G, polls query-balloon until reached
#   guest "HVRS-SEEN hotadd"
# (The debugfs pages_added is only counted once the whole hot-add request is done, which can be
# after MemTotal went up; pages_onlined counts as memory comes online, so that is checked.)
# QEMU ignores targets for 50 s after the guest's capabilities report, so the waits are long
# but all bounded (needs hvrs.test_timeout >= 420).
. /tests/lib.sh
use_c_modules
lsmod | grep -q '^hv_vmbus ' || must modprobe hv_vmbus
lsmod | grep -q '^hv_balloon ' && fail "hv_balloon already loaded"
must modprobe hv_balloon pressure_report_delay=0
wait_for 30 "dmesg | grep -q 'hv_balloon: Using Dynamic Memory protocol version 2.0'" ||
	fail "C hv_balloon did not negotiate 2.0: $(dmesg | tail -n 5)"
wait_for 10 "grep -q 'state.*Ready\|state *: *[1-9]' /sys/kernel/debug/hv-balloon" || true
cat /sys/kernel/debug/hv-balloon
grep -q 'host_version *: 2.0' /sys/kernel/debug/hv-balloon || fail "debugfs host_version is not 2.0"
grep -q 'capabilities.*hot_add' /sys/kernel/debug/hv-balloon || fail "hot-add not enabled"
# The C driver has no module_exit: the kernel refuses to unload it (EBUSY), and it keeps working.
expect_errno "busy" rmmod hv_balloon
lsmod | grep -q '^hv_balloon ' || fail "hv_balloon gone after the failed rmmod"

memtotal() { sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo; }
m0=$(memtotal)
echo "MemTotal at boot: $m0 kB"
echo "HVRS-READY balloon"
# 512M target: MemTotal must drop by at least 300 MiB.
wait_for 300 "[ \$(memtotal) -lt $((m0 - 300 * 1024)) ]" ||
	fail "MemTotal did not go down: $(memtotal) kB (boot $m0 kB); $(dmesg | grep hv_balloon | tail -n 5)"
m1=$(memtotal)
echo "MemTotal after balloon: $m1 kB"
echo "HVRS-SEEN balloon"
# 2.5G target: the balloon is given back and 1.5G hot-added: MemTotal goes over boot + 1G.
wait_for 300 "[ \$(memtotal) -gt $((m0 + 1024 * 1024)) ]" ||
	fail "MemTotal did not go up: $(memtotal) kB (boot $m0 kB); $(dmesg | grep hv_balloon | tail -n 5)"
m2=$(memtotal)
echo "MemTotal after hot-add: $m2 kB"
echo "HVRS-SEEN hotadd"
# host.sh is still polling query-balloon (every 0.5 s) for the hot-add to show there: give it
# time before the guest powers off and QEMU goes away.
sleep 10
cat /sys/kernel/debug/hv-balloon
grep -q 'pages_onlined *: [1-9]' /sys/kernel/debug/hv-balloon || fail "no hot-added pages onlined per debugfs"
dmesg | grep -q 'hot_add memory failed' && fail "a hot-add failed"
check_dmesg_clean
