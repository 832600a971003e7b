#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# hv_balloon of the run's stack (hvrs.stack=c|rust) against the engine's Dynamic Memory back
# end (issue 10), driven by host.sh, which checks every page the guest returns. The guest side:
#   "HVRS-MARK dm-ready"  hv_balloon bound, 2.0 negotiated -> host balloons 256 MiB (65536
#                         pages)
#   "HVRS-MARK ballooned" debugfs shows them -> host unballoons them all
#   "HVRS-MARK holding"   memhold holds 300 MiB -> host asks for 1 GiB: the guest stops at the
#                         floor, memhold is not OOM-killed; host unballoons, sends hot-add
#                         requests (misaligned region, a block backed half then whole, 4 blocks
#                         of which 3 go in, overlapping RAM), balloons and unballoons 512 MiB three times, then rescinds the
#                         device and offers one accepting 1.0 and 0.3, then one accepting only
#                         0.3.
# At the end the 4 hot-added blocks (512 MiB, real memory: the VM has 2G, the guest boots with
# mem=1G) are online, MemTotal has grown by them, and memhold holds and checks more memory than
# the guest booted with.
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
memtotal() { sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo; }
grep -q 'mem=1G' /proc/cmdline || fail "the suite needs mem=1G on a 2G VM (scripts/check.sh)"
m_load=$(memtotal)
nblocks() { ls -d /sys/devices/system/memory/memory[0-9]* | wc -l; }
b_load=$(nblocks)
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
# The hot-add's 4 blocks: online, in MemTotal, and usable.
m=$(memtotal)
echo "MemTotal $m kB, $m_load kB at load; memory blocks $(nblocks), $b_load at load"
[ "$m" -ge $((m_load + 512 * 1024 - 4096)) ] || fail "MemTotal $m kB did not grow by 512 MiB (load $m_load kB)"
bs=$((0x$(cat /sys/devices/system/memory/block_size_bytes)))
[ $(($(nblocks) - b_load)) = $(((512 << 20) / bs)) ] || fail "$(($(nblocks) - b_load)) new memory blocks"
for b in /sys/devices/system/memory/memory[0-9]*; do
	[ "$(cat "$b/state")" = online ] || fail "$b is $(cat "$b/state")"
done
use=$(((m_load >> 10) + 200))
memhold $use >/tmp/memhold2.out 2>&1 &
hold2=$!
wait_for 120 "grep -q holding /tmp/memhold2.out" || fail "memhold $use: $(cat /tmp/memhold2.out)"
sleep 3
kill -0 $hold2 || fail "memhold $use died: $(cat /tmp/memhold2.out)"
kill $hold2
echo "HVRS-HOTADD-ENGINE stack=$(hvrs_stack) load=$m_load after=$m held=${use}M"
dmesg | grep hv_balloon | tail -n 30
check_dmesg_clean
