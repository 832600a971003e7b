#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The engine rescinds the idle heartbeat channel (no driver): its device goes away and the relid
# is released (the engine waits for RELID_RELEASED); offered again, it comes back as a
# hot-added device.
. /tests/lib.sh
must modprobe hv_vmbus
hb=$(grep -l '{57164f39-9115-4e78-ab55-382f3bd5422d}' /sys/bus/vmbus/devices/*/class_id)
hb=${hb%/class_id}
[ -n "$hb" ] || fail "no heartbeat device"
wait_for 100 "[ ! -e $hb ]" || fail "the heartbeat device is still there after the rescind"
wait_for 60 "grep -q '{57164f39-9115-4e78-ab55-382f3bd5422d}' /sys/bus/vmbus/devices/*/class_id" ||
	fail "the heartbeat device did not come back"
check_dmesg_clean
