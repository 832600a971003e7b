#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Memory hot-add through QEMU's hv-balloon and its memdev, with the stack of the run (the same
# checks for the C reference and ours): on "HVRS-MARK hotadd" host.sh sets the target to 2G,
# 1 GiB above the boot memory, and QEMU sends hot-add requests for 1 GiB of its memdev (region =
# range). The guest adds it in memory blocks, the kernel onlines them, MemTotal grows by 1 GiB,
# debugfs counts the pages added and onlined, every new memory block is online, and memhold
# holds and checks (every page, every second) more memory than the guest booted with. The
# numbers go to an "HVRS-HOTADD-NUMBERS" line that tests/vm/balloon-compare.sh compares between
# the stacks. "HVRS-MARK hotadd-done" lets the host go on.
. /tests/lib.sh
use_stack
lsmod | grep -q '^hv_balloon ' || fail "hv_balloon not loaded (10-balloon failed?)"
f=/sys/kernel/debug/hv-balloon
mem=/sys/devices/system/memory
memtotal() { sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo; }
field() { sed -n "s/^$1 *: *//p" $f; }
[ "$(cat /sys/module/hv_balloon/parameters/hot_add)" = Y ] || fail "hot_add is not Y"
bs=$((0x$(cat $mem/block_size_bytes)))
[ "$bs" -gt 0 ] || fail "no memory block size"
ls -d $mem/memory[0-9]* | sort >/tmp/blocks.before
m0=$(memtotal)
a0=$(field pages_added)
echo "MemTotal $m0 kB before hot-add, memory block $((bs >> 20)) MiB, pages_added $a0"
mark hotadd
# 1 GiB: MemTotal grows by all of it (the struct pages of hot-added memory are not taken
# from it).
wait_for 300 "[ \$(memtotal) -ge $((m0 + 1024 * 1024 - 4096)) ]" ||
	fail "MemTotal did not grow by 1 GiB: $(memtotal) kB (before $m0 kB); $(dmesg | grep hv_balloon | tail -n 5)"
sleep 3
m1=$(memtotal)
cat $f
added=$(($(field pages_added) - a0))
onlined=$(field pages_onlined)
[ "$added" = 262144 ] || fail "debugfs pages_added grew by $added, want 262144"
[ "$onlined" -ge 262144 ] || fail "debugfs pages_onlined $onlined, want 262144"
grep -q '^state *: 1 (Initialized)$' $f || fail "state after hot-add: $(grep state $f)"
ls -d $mem/memory[0-9]* | sort >/tmp/blocks.after
new=$(grep -vxF -f /tmp/blocks.before /tmp/blocks.after)
n=$(echo "$new" | grep -c memory)
[ "$n" = $(((1 << 30) / bs)) ] || fail "$n new memory blocks, want $(((1 << 30) / bs)): $new"
for b in $new; do
	[ "$(cat "$b/state")" = online ] || fail "$b is $(cat "$b/state")"
done
echo "new memory blocks, all online: $(echo $new | tr '\n' ' ')"
dmesg | grep -q 'hv_balloon: Memory hot add failed' && fail "a hot-add request failed"
dmesg | grep -q 'hv_balloon: hot_add memory failed' && fail "add_memory failed"
# Use it: more than the guest booted with (MemTotal at load is about 960 MiB); memhold checks
# every page once a second.
hold=$(((m0 >> 10) + 300))
memhold $hold >/tmp/memhold.out 2>&1 &
pid=$!
wait_for 120 "grep -q holding /tmp/memhold.out" || fail "memhold $hold: $(cat /tmp/memhold.out)"
sleep 5
kill -0 $pid || fail "memhold died: $(cat /tmp/memhold.out; dmesg | grep -i 'out of memory')"
rss=$(awk '/^VmRSS:/ { print $2 }' /proc/$pid/status)
echo "memhold holds $hold MiB, VmRSS $rss kB"
[ "$rss" -ge $((hold * 1024)) ] || fail "memhold's VmRSS $rss kB < $hold MiB"
kill $pid
wait $pid 2>/dev/null
grep -q corrupt /tmp/memhold.out && fail "$(cat /tmp/memhold.out)"
dmesg | grep -qi 'out of memory' && fail "the OOM killer ran"
echo "HVRS-HOTADD-NUMBERS stack=$(hvrs_stack) before=$m0 after=$m1 added=$added onlined=$onlined blocks=$n"
mark hotadd-done
# host.sh takes a status report from 2 s after the mark now (it waits up to 6 s for one).
sleep 10
check_dmesg_clean
