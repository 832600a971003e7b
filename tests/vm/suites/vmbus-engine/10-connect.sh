#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Our hv_vmbus against our host engine (scripts/run-vm-engine.sh): it negotiates the engine's
# highest version (hvrs.engine_version, 6.0 unless the run caps it) and every offered device
# appears on the bus, named by its instance GUID, with its class and modalias.
. /tests/lib.sh
want=$(sed -n 's/.*hvrs.engine_version=\([^ ]*\).*/\1/p' /proc/cmdline)
: "${want:=6.0}"
modinfo -F filename hv_vmbus | grep -q '/updates/' || fail "hv_vmbus is not our module"
must modprobe hv_vmbus
dmesg | grep -q "hv_vmbus: Vmbus version:$want\$" ||
	fail "no 'Vmbus version:$want': $(dmesg | grep hv_vmbus | tail -n 5)"
# The engine's default set: heartbeat, shutdown, timesync, kvp, vss, fcopy, echo.
for g in 57164f39-9115-4e78-ab55-382f3bd5422d 0e0b6031-5213-4934-818b-38d90ced39db \
	9527e630-d0ae-497b-adce-e80ab0175caf a9a0f4e7-5a45-4d96-b827-8a841e8c03e6 \
	35fa2e29-ea23-4236-96ae-3a6ebacba440 34d14be3-dee4-41c8-9ae7-6b174977c192 \
	ec40ec40-5e1f-4c0c-9a11-b0b0b0b0ec40; do
	grep -qx "{$g}" /sys/bus/vmbus/devices/*/class_id ||
		fail "no device of class $g: $(cat /sys/bus/vmbus/devices/*/class_id)"
done
for d in /sys/bus/vmbus/devices/*; do
	[ "$(cat "$d/device_id")" = "{${d##*/}}" ] || fail "$d: device_id $(cat "$d/device_id")"
	relid=$(cat "$d/id")
	[ -d "$d/channels/$relid" ] || fail "$d: no channels/$relid"
	hex=$(cat "$d/modalias")
	grep -qx "MODALIAS=$hex" "$d/uevent" || fail "$d: uevent $(cat "$d/uevent")"
done
# The unknown echo class is reported as the C driver does.
dmesg | grep -q 'hv_vmbus: Unknown GUID: ec40ec40-5e1f-4c0c-9a11-b0b0b0b0ec40' ||
	fail "no 'Unknown GUID' line for the echo class"
check_dmesg_clean
