#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Moving an open channel's interrupts (MODIFYCHANNEL, 6.0 so with the host's response): writing
# a CPU to channels/<relid>/cpu moves it (cpu and channel_vp_mapping follow), invalid or offline
# CPUs are EINVAL and a channel that is not open is EIO, as in C; taking the CPU offline moves
# the channel back to another online CPU (hv_pick_new_cpu) instead of refusing, and the channel
# still works afterwards. The engine checks each MODIFYCHANNEL (the protocol step).
. /tests/lib.sh
[ -e /sys/devices/system/cpu/cpu1/online ] || fail "needs -smp 2"
lsmod | grep -q '^hv_vmbus ' || must modprobe hv_vmbus
d=$(grep -l '{ec40ec40-5e1f-4c0c-9a11-b0b0b0b0ec40}' /sys/bus/vmbus/devices/*/class_id | head -n 1)
d=${d%/class_id}
[ -n "$d" ] || fail "no echo device"
relid=$(cat "$d/id")
cpu=$d/channels/$relid/cpu
# Not open yet: EIO.
expect_errno "Input/output error" sh -c "echo 1 >$cpu"
lsmod | grep -q '^vmbus_sample ' || must modprobe vmbus_sample
must sh -c 'echo ec40ec40-5e1f-4c0c-9a11-b0b0b0b0ec40 >/sys/bus/vmbus/drivers/vmbus_sample/new_id'
wait_for 60 "[ -e $d/driver ]" || fail "not bound: $(dmesg | tail -n 5)"
[ "$(cat "$cpu")" = 0 ] || fail "the echo channel starts on CPU $(cat "$cpu"), want 0"
must sh -c "echo 1 >$cpu"
[ "$(cat "$cpu")" = 1 ] || fail "cpu is $(cat "$cpu") after moving it to 1"
grep -qx "$relid:1" "$d/channel_vp_mapping" || fail "channel_vp_mapping: $(cat "$d/channel_vp_mapping")"
expect_errno "Invalid argument" sh -c "echo 7 >$cpu"
# Offlining CPU 1 moves the channel (to CPU 0, the only other one) instead of failing.
must sh -c 'echo 0 >/sys/devices/system/cpu/cpu1/online'
[ "$(cat "$cpu")" = 0 ] || fail "cpu is $(cat "$cpu") with CPU 1 offline"
expect_errno "Invalid argument" sh -c "echo 1 >$cpu"
must sh -c 'echo 1 >/sys/devices/system/cpu/cpu1/online'
must sh -c "echo 1 >$cpu"
# The channel still works where it went: rebinding sends the 512 echoes again.
must sh -c "echo ${d##*/} >/sys/bus/vmbus/drivers/vmbus_sample/unbind"
dmesg -c >/dev/null
must sh -c "echo ${d##*/} >/sys/bus/vmbus/drivers/vmbus_sample/bind"
wait_for 60 "dmesg | grep -q 'echo: 512 packets of 100 bytes echoed, 0 bad'" || fail "echo after the moves: $(dmesg | tail -n 5)"
must rmmod vmbus_sample
must rmmod hv_vmbus
check_dmesg_clean
