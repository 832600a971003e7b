#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Offers become devices on the vmbus bus: QEMU offers its balloon (Dynamic Memory class), which
# appears as /sys/bus/vmbus/devices/<instance guid>/ with the C driver's attributes, its uevent
# carries the modalias, and its channel has a channels/<relid>/ directory. The full dump is kept
# for 90-c-reference, which compares it with the C driver's.
. /tests/lib.sh
lsmod | grep -q '^hv_vmbus ' || must modprobe hv_vmbus
[ -d /sys/bus/vmbus ] || fail "no /sys/bus/vmbus"
n=$(ls /sys/bus/vmbus/devices | wc -l)
[ "$n" = 1 ] || fail "expected 1 device, found $n: $(ls /sys/bus/vmbus/devices)"
d=$(ls -d /sys/bus/vmbus/devices/*)
guid=${d##*/}
echo "$guid" | grep -qE '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' ||
	fail "device name '$guid' is not a lowercase GUID"
[ "$(cat "$d/class_id")" = "{525074dc-8985-46e2-8057-a307dc18a502}" ] || fail "class_id: $(cat "$d/class_id")"
[ "$(cat "$d/device_id")" = "{$guid}" ] || fail "device_id: $(cat "$d/device_id")"
[ "$(cat "$d/modalias")" = "vmbus:dc7450528589e2468057a307dc18a502" ] || fail "modalias: $(cat "$d/modalias")"
grep -qx 'MODALIAS=vmbus:dc7450528589e2468057a307dc18a502' "$d/uevent" || fail "uevent: $(cat "$d/uevent")"
[ "$(cat "$d/vendor")" = 0x1414 ] || fail "vendor: $(cat "$d/vendor")"
[ "$(cat "$d/device")" = 0xf ] || fail "device: $(cat "$d/device")"
[ "$(cat "$d/state")" = 2 ] || fail "state: $(cat "$d/state")"
relid=$(cat "$d/id")
[ "$(cat "$d/channel_vp_mapping")" = "$relid:0" ] || fail "channel_vp_mapping: $(cat "$d/channel_vp_mapping")"
[ -d "$d/channels/$relid" ] || fail "no channels/$relid"
[ "$(cat "$d/channels/$relid/cpu")" = 0 ] || fail "cpu: $(cat "$d/channels/$relid/cpu")"
[ "$(cat "$d/channels/$relid/subchannel_id")" = 0 ] || fail "subchannel_id"
expect_errno "Invalid argument" cat "$d/out_intr_mask"
expect_errno "Invalid argument" cat "$d/channels/$relid/read_avail"
# Not open: moving its interrupts is refused as in C (EIO).
expect_errno "Input/output error" sh -c "echo 0 >$d/channels/$relid/cpu"
[ "$(cat /sys/bus/vmbus/hibernation)" = 0 ] || fail "hibernation: $(cat /sys/bus/vmbus/hibernation)"
[ -e "$d/driver_override" ] || fail "no driver_override"
readlink "$d/subsystem" | grep -q '/bus/vmbus$' || fail "subsystem link: $(readlink "$d/subsystem")"
readlink -f "$d" | grep -q '/VMBUS:00/' || fail "not a child of the VMBus root: $(readlink -f "$d")"
dump_vmbus_sysfs >/tmp/vmbus-sysfs.rust
cat /tmp/vmbus-sysfs.rust
# rmmod removes the device and the bus.
must rmmod hv_vmbus
[ -e /sys/bus/vmbus ] && fail "/sys/bus/vmbus left behind"
must modprobe hv_vmbus
[ -e "$d/class_id" ] || fail "device not back after modprobe"
check_dmesg_clean
