#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The kernel's own tools/hv/lsvmbus (Python, unmodified) lists every device of our bus with the
# values sysfs has: "VMBUS ID <id>: Class_ID = <class> - <description>", the device id, the
# sysfs path and one "Rel_ID=<relid>, target_cpu=<cpu>" line per channel_vp_mapping entry.
. /tests/lib.sh
lsvmbus -vv >/tmp/lsvmbus.out 2>&1 || fail "lsvmbus -vv failed: $(cat /tmp/lsvmbus.out)"
cat /tmp/lsvmbus.out
n=$(ls /sys/bus/vmbus/devices | wc -l)
[ "$n" -ge 5 ] || fail "only $n devices on the bus"
[ "$(grep -c '^VMBUS ID' /tmp/lsvmbus.out)" = "$n" ] || fail "lsvmbus lists $(grep -c '^VMBUS ID' /tmp/lsvmbus.out) devices, sysfs has $n"
for d in /sys/bus/vmbus/devices/*; do
	id=$(cat "$d/id") class=$(cat "$d/class_id") dev=$(cat "$d/device_id")
	grep -q "^VMBUS ID *$id: Class_ID = $class - " /tmp/lsvmbus.out || fail "no line for id $id class $class"
	grep -A2 "^VMBUS ID *$id: " /tmp/lsvmbus.out | grep -q "Device_ID = $dev\$" || fail "device $id: no Device_ID = $dev"
	grep -A3 "^VMBUS ID *$id: " /tmp/lsvmbus.out | grep -q "Sysfs path: /sys/bus/vmbus/devices/${d##*/}\$" ||
		fail "device $id: wrong sysfs path"
	while IFS=: read -r relid cpu; do
		grep -q "Rel_ID=$relid, target_cpu=$cpu\$" /tmp/lsvmbus.out || fail "device $id: no Rel_ID=$relid, target_cpu=$cpu"
	done <"$d/channel_vp_mapping"
done
# The utility classes have lsvmbus' names.
grep -q '^VMBUS ID *[0-9]*: Class_ID = {57164f39-9115-4e78-ab55-382f3bd5422d} - \[Heartbeat\]$' /tmp/lsvmbus.out ||
	fail "heartbeat not named"
