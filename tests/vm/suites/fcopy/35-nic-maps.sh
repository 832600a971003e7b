#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A synthetic NIC bound to uio_hv_generic through new_id (as DPDK's netvsc driver wants it; here
# the engine's echo device offered with the NIC's class) gets, beside the rings, its receive
# and send buffers as maps 3 and 4, each described to the host by a GPADL of its own at probe:
# named "recv:<gpadl>" and "send:<gpadl>", 31 MiB and 16 MiB, zeroed, writable through mmap of
# /dev/uioN. Unbind removes them; host.sh checks that the engine got the two GPADLs the names
# give, of 7936 and 4096 pages on the NIC's channel, and that unbind tore them down. Fails if a
# map is missing, misnamed or of another size, or does not map.
. /tests/lib.sh
nic=f8615163-df3e-46c5-913f-f2d2f965ed0e
dev=$(grep -l "{$nic}" /sys/bus/vmbus/devices/*/class_id | head -1)
[ -n "$dev" ] || fail "no NIC-class device offered"
d=$(dirname "$dev")
g=$(basename "$d")
must sh -c "echo $nic >/sys/bus/vmbus/drivers/uio_hv_generic/new_id"
wait_for 20 "[ -e $d/uio ]" || fail "new_id did not bind the NIC: $(dmesg | tail -n 5)"
uio=$(ls $d/uio)
m=/sys/class/uio/$uio/maps
ls $m
for i in 0 1 2 3 4; do
	echo "map$i: $(cat $m/map$i/name) size $(cat $m/map$i/size) offset $(cat $m/map$i/offset)"
done
recv=$(cat $m/map3/name) send=$(cat $m/map4/name)
case "$recv" in recv:[1-9]*) ;; *) fail "map3 is '$recv', want recv:<gpadl>" ;; esac
case "$send" in send:[1-9]*) ;; *) fail "map4 is '$send', want send:<gpadl>" ;; esac
[ "${recv#recv:}" != "${send#send:}" ] || fail "both buffers name GPADL ${recv#recv:}"
[ "$(($(cat $m/map3/size)))" = $((31 << 20)) ] || fail "map3 size $(cat $m/map3/size), want 31 MiB"
[ "$(($(cat $m/map4/size)))" = $((16 << 20)) ] || fail "map4 size $(cat $m/map4/size), want 16 MiB"
# One open for both: the C driver of 7.2 leaks its inbound ring's packet buffer at each open of
# /dev/uioN after the first (hv_ringbuffer_init() allocates it at every vmbus_connect_ring(),
# only vmbus_free_ring() frees it), which 40-rescind's kmemleak check would report.
uio_bufmap /dev/$uio 3:$((31 << 20)) 4:$((16 << 20)) || fail "the receive or send buffer does not map"
echo "HVRS-NIC-GPADLS recv=${recv#recv:} send=${send#send:}"
must sh -c "echo -n $g >/sys/bus/vmbus/drivers/uio_hv_generic/unbind"
[ -e $d/uio ] && fail "unbind left the UIO device"
must sh -c "echo $nic >/sys/bus/vmbus/drivers/uio_hv_generic/remove_id"
mark nic-done
check_dmesg_clean
