#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The driver API end to end, from another module (vmbus_sample, built against the `vmbus`
# crate's metadata): bound through new_id to QEMU's balloon device, it opens the channel (ring
# GPADL, OPENCHANNEL), sends a Dynamic Memory version request through the outbound ring and
# gets the host's answer through the channel interrupt and the inbound ring. Unbinding closes
# the channel (CLOSECHANNEL, GPADL teardown); the device is back to "closed" and can be opened
# again; rmmod of the driver and of the bus work; no leak.
. /tests/lib.sh
lsmod | grep -q '^hv_vmbus ' || must modprobe hv_vmbus
echo clear >/sys/kernel/debug/kmemleak
d=$(ls -d /sys/bus/vmbus/devices/* | head -n 1)
guid=${d##*/}
relid=$(cat "$d/id")
must modprobe vmbus_sample
lsmod | grep -q '^vmbus_sample .*hv_vmbus' || lsmod | grep -q '^vmbus_sample ' || fail "vmbus_sample not loaded"
[ -d /sys/bus/vmbus/drivers/vmbus_sample ] || fail "driver not registered on the bus"
[ -e "$d/driver" ] && fail "bound before new_id (empty id table)"
must sh -c 'echo 525074dc-8985-46e2-8057-a307dc18a502 >/sys/bus/vmbus/drivers/vmbus_sample/new_id'
wait_for 20 "[ -e $d/driver ]" || fail "not bound after new_id: $(dmesg | tail -n 5)"
dmesg | grep -q "vmbus_sample $guid: channel $relid open, Dynamic Memory protocol version 2.0 accepted" ||
	fail "no answer from the host: $(dmesg | tail -n 5)"
[ "$(cat "$d/state")" = 3 ] || fail "state $(cat "$d/state"), not 3 (opened)"
[ "$(cat "$d/channels/$relid/interrupts")" -ge 1 ] || fail "no interrupt counted"
[ "$(cat "$d/channels/$relid/events")" -ge 1 ] || fail "no signal to the host counted"
[ "$(cat "$d/out_read_index")" = "$(cat "$d/out_write_index")" ] || fail "host did not read the request"
[ "$(cat "$d/in_read_bytes_avail")" = 0 ] || fail "inbound ring not drained"
[ "$(cat "$d/out_write_bytes_avail")" -gt 0 ] || fail "out_write_bytes_avail: $(cat "$d/out_write_bytes_avail")"
cat "$d/channels/$relid/read_avail" >/dev/null || fail "read_avail not readable while open"
echo "while open:"; dump_vmbus_sysfs | grep -E 'state|index|avail|mask|interrupts|events'
# remove_id of an id that is not there fails as in C.
expect_errno "No such device" sh -c 'echo 00000000-0000-0000-0000-000000000001 >/sys/bus/vmbus/drivers/vmbus_sample/remove_id'
expect_errno "File exists" sh -c 'echo 525074dc-8985-46e2-8057-a307dc18a502 >/sys/bus/vmbus/drivers/vmbus_sample/new_id'
# Unbind closes the channel.
must sh -c "echo $guid >/sys/bus/vmbus/drivers/vmbus_sample/unbind"
[ "$(cat "$d/state")" = 2 ] || fail "state $(cat "$d/state") after close, not 2"
expect_errno "Invalid argument" cat "$d/out_intr_mask"
# Bind again through bind (the dynamic id still matches): opened a second time.
must sh -c "echo $guid >/sys/bus/vmbus/drivers/vmbus_sample/bind"
[ "$(cat "$d/state")" = 3 ] || fail "not reopened"
[ "$(dmesg | grep -c "vmbus_sample $guid: channel $relid open")" = 2 ] || fail "second open not logged"
must sh -c 'echo 525074dc-8985-46e2-8057-a307dc18a502 >/sys/bus/vmbus/drivers/vmbus_sample/remove_id'
# rmmod of the driver unbinds and closes; the bus then unloads.
must rmmod vmbus_sample
[ "$(cat "$d/state")" = 2 ] || fail "state after rmmod: $(cat "$d/state")"
must rmmod hv_vmbus
dmesg | grep -q 'no UNLOAD_RESPONSE' && fail "UNLOAD not answered"
dmesg | grep -q 'GPADL.*not torn down' && fail "a GPADL was not torn down"
check_kmemleak
must modprobe hv_vmbus
check_dmesg_clean
