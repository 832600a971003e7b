#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Send and receive through the driver API under load: vmbus_sample, bound to the engine's echo
# device through new_id, sends 512 packets of 100 bytes asking for completions through a
# 12 KiB ring (so it fills and wraps many times) and checks that each comes back once with its
# payload; then it receives a transfer-page packet naming ranges of a buffer it shared through
# its own GPADL, and checks them. The engine checks the guest's ring protocol (the protocol step
# of the run) and host.sh the number of signals.
. /tests/lib.sh
lsmod | grep -q '^hv_vmbus ' || must modprobe hv_vmbus
echo clear >/sys/kernel/debug/kmemleak
d=$(grep -l '{ec40ec40-5e1f-4c0c-9a11-b0b0b0b0ec40}' /sys/bus/vmbus/devices/*/class_id | head -n 1)
d=${d%/class_id}
[ -n "$d" ] || fail "no echo device"
guid=${d##*/}
relid=$(cat "$d/id")
must modprobe vmbus_sample
must sh -c 'echo ec40ec40-5e1f-4c0c-9a11-b0b0b0b0ec40 >/sys/bus/vmbus/drivers/vmbus_sample/new_id'
wait_for 60 "[ -e $d/driver ]" || fail "not bound: $(dmesg | tail -n 5)"
line=$(dmesg | grep "vmbus_sample $guid: echo: ")
echo "$line"
echo "$line" | grep -q 'echo: 512 packets of 100 bytes echoed, 0 bad' || fail "echo failed: $line"
# Transfer pages: the driver shared a 64 KiB buffer through a GPADL of its own, the engine wrote
# 16 ranges of it (sum of 1 + i * 97 % 2000 for i < 16: 11656 bytes) and named them in a
# transfer-page packet; the driver read every range back from the buffer and completed it.
xfer=$(dmesg | grep "vmbus_sample $guid: transfer pages: " | tail -n 1)
echo "$xfer"
echo "$xfer" | grep -q 'transfer pages: 16 ranges of GPADL 0x[0-9a-f]*, 11656 bytes verified, 0 bad' ||
	fail "transfer pages failed: $xfer; $(dmesg | grep 'transfer pages' | tail -n 3)"
[ "$(cat "$d/channels/$relid/interrupts")" -ge 1 ] || fail "no interrupts"
echo "channel $relid: events $(cat "$d/channels/$relid/events") interrupts $(cat "$d/channels/$relid/interrupts")" \
	"intr_out_empty $(cat "$d/channels/$relid/intr_out_empty") intr_in_full $(cat "$d/channels/$relid/intr_in_full")" \
	"out_full_first $(cat "$d/channels/$relid/out_full_first") out_full_total $(cat "$d/channels/$relid/out_full_total")"
[ "$(cat "$d/in_read_bytes_avail")" = 0 ] || fail "inbound ring not drained"
# host.sh compares the guest's signals on the channel with what the rules require; the
# signals that followed reads the host waited for (intr_in_full) are justified apart.
echo "ECHO-SIGNALS intr_in_full=$(cat "$d/channels/$relid/intr_in_full")"
# The console lags behind the guest: keep the channel open until host.sh has counted, which it
# acknowledges with a host packet (the channel's interrupt count moves).
n=$(cat "$d/channels/$relid/interrupts")
mark echo-done
wait_for 60 "[ \$(cat $d/channels/$relid/interrupts) -gt $n ]" || echo "host.sh did not acknowledge"
must rmmod vmbus_sample
[ "$(cat "$d/state")" = 2 ] || fail "state after rmmod: $(cat "$d/state")"
must rmmod hv_vmbus
check_kmemleak
check_dmesg_clean
