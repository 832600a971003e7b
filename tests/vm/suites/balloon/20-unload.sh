#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Unloading hv_balloon after the hot-add of 15-hotadd.sh, while pages are ballooned out. The C
# driver has no module_exit: the kernel refuses (EBUSY) and it keeps working. Ours gives every page back to the kernel on
# unbind: the host balloons 2G -> 1.5G ("HVRS-MARK balloon-again"), rmmod brings MemTotal
# back to what it was (the hot-added memory stays online: "N hot-added pages stay in the
# kernel"), the channel is closed, and the module loads and negotiates again.
# kmemleak must find nothing.
. /tests/lib.sh
use_stack
lsmod | grep -q '^hv_balloon ' || fail "hv_balloon not loaded (10-balloon failed?)"
if [ "$(hvrs_stack)" = c ]; then
	expect_errno "busy" rmmod hv_balloon
	lsmod | grep -q '^hv_balloon ' || fail "hv_balloon gone after the failed rmmod"
	echo "HVRS-MARK unload-skipped"
	check_dmesg_clean
	# host.sh reads QEMU's hinted-page counter now: the run must not end under it.
	sleep 5
	exit 0
fi
memtotal() { sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo; }
m0=$(memtotal)
echo "HVRS-MARK balloon-again"
wait_for 200 "[ \$(memtotal) -lt $((m0 - 300 * 1024)) ]" ||
	fail "MemTotal did not go down: $(memtotal) kB (before $m0 kB); $(dmesg | grep hv_balloon | tail -n 5)"
sleep 3
m1=$(memtotal)
echo "MemTotal $m1 kB ballooned, unloading"
echo "HVRS-MARK unload-done"
must rmmod hv_balloon
m2=$(memtotal)
echo "MemTotal $m2 kB after rmmod (before balloon $m0 kB)"
[ "$m2" -ge $((m0 - 4 * 1024)) ] || fail "rmmod did not give the pages back: $m2 kB, was $m0 kB"
dmesg | grep -q 'hv_balloon: [0-9]* ballooned pages given back to the kernel' ||
	fail "no 'pages given back' line: $(dmesg | grep hv_balloon | tail -n 5)"
dmesg | grep -q 'hv_balloon: 262144 hot-added pages stay in the kernel' ||
	fail "no 'hot-added pages stay' line: $(dmesg | grep hv_balloon | tail -n 5)"
for b in /sys/devices/system/memory/memory[0-9]*; do
	[ "$(cat "$b/state")" = online ] || fail "$b is $(cat "$b/state") after rmmod"
done
echo "HVRS-BALLOON-UNLOAD before=$m0 ballooned=$m1 after=$m2"
d=$(grep -li 525074dc-8985-46e2-8057-a307dc18a502 /sys/bus/vmbus/devices/*/class_id)
d=${d%/class_id}
[ -e "$d/driver" ] && fail "still bound after rmmod"
[ -e /sys/kernel/debug/hv-balloon ] && fail "debugfs file left after rmmod"
[ "$(cat "$d/state")" = 2 ] || fail "channel state $(cat "$d/state") after rmmod, not 2 (closed)"
# Load again: the host answers the new negotiation.
n=$(dmesg | grep -c 'hv_balloon: Using Dynamic Memory protocol version 2.0')
must modprobe hv_balloon
wait_for 30 "[ \$(dmesg | grep -c 'hv_balloon: Using Dynamic Memory protocol version 2.0') -gt $n ]" ||
	fail "no renegotiation after reload: $(dmesg | grep hv_balloon | tail -n 5)"
must rmmod hv_balloon
check_kmemleak
check_dmesg_clean
