#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A second device bound through new_id (the engine's echo device, a class no driver claims)
# gets its own UIO device with the maps of an unknown class (rings of 68 KiB each, the control
# page included: VMBUS_RING_SIZE adds none from 32 KiB) and its ring file, which maps only while the UIO device is open (ENODEV before, as in C); a
# user-space driver exchanges 200 packets with the echo device through it; unbind removes them.
# Fails if new_id does not bind, a size differs, an echo is missing or wrong, or unbind leaves
# them behind.
. /tests/lib.sh
echo_dev=$(grep -l '{ec40ec40-5e1f-4c0c-9a11-b0b0b0b0ec40}' /sys/bus/vmbus/devices/*/class_id | head -1)
[ -n "$echo_dev" ] || fail "no echo device"
d=$(dirname "$echo_dev")
g=$(basename "$d")
must sh -c 'echo ec40ec40-5e1f-4c0c-9a11-b0b0b0b0ec40 >/sys/bus/vmbus/drivers/uio_hv_generic/new_id'
wait_for 20 "[ -e $d/uio ]" || fail "new_id did not bind the echo device"
uio=$(ls $d/uio)
[ "$(($(cat /sys/class/uio/$uio/maps/map0/size)))" = 139264 ] ||
	fail "echo map0 size $(cat /sys/class/uio/$uio/maps/map0/size), want 139264"
ring=$d/channels/$(cat $d/id)/ring
[ "$(stat -c %s "$ring")" = 139264 ] || fail "echo ring file size $(stat -c %s "$ring")"
# Nobody has the UIO device open: the channel is closed and the ring file does not map.
out=$(uio_mapcmp "$ring" "$ring" 139264)
[ $? = 2 ] && echo "$out" | grep -q 'No such device' || fail "the ring file of a closed channel maps: $out"
# The generic path: a user-space driver maps the rings from the UIO device and exchanges
# packets with the echo device (tests/vm/progs/uio_echo.c, on tools/hv/vmbus_bufring.c).
out=$(uio_echo /dev/$uio "$ring" 200) || fail "uio_echo: $out"
echo "$out"
[ "$out" = "uio_echo: 200 packets echoed" ] || fail "uio_echo: $out"
must sh -c "echo -n $g >/sys/bus/vmbus/drivers/uio_hv_generic/unbind"
[ -e $d/uio ] && fail "unbind left the UIO device"
[ -e "$ring" ] && fail "unbind left the ring file"
must sh -c 'echo ec40ec40-5e1f-4c0c-9a11-b0b0b0b0ec40 >/sys/bus/vmbus/drivers/uio_hv_generic/remove_id'
check_dmesg_clean
