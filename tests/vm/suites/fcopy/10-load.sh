#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# uio_hv_generic of the run's stack (hvrs.stack) binds the FCopy device by its id table and
# registers the UIO device with the C driver's ABI: name uio_hv_generic, version 0.02.1, the
# maps txrx_rings (both rings: 2 x (16 KiB + 4 KiB)), int_page and monitor_page (4 KiB), and the
# binary channels/<relid>/ring file of both rings (mode 0600); then the unmodified
# hv_fcopy_uio_daemon starts on it (syslog to /run/messages) and negotiates FCopy 1.1.
# Fails if the driver does not bind, a map or the ring file is missing or has another size, or
# the daemon cannot map the rings or negotiate.
. /tests/lib.sh
use_stack
dev=/sys/bus/vmbus/devices/eb765408-105f-49b6-b4aa-c123b64d17d4
lsmod | grep -q '^uio_hv_generic ' || must modprobe uio_hv_generic
wait_for 30 "[ -e $dev/driver ]" || fail "the FCopy device is not bound: $(ls -l $dev/ 2>&1)"
[ "$(basename "$(readlink $dev/driver)")" = uio_hv_generic ] || fail "FCopy bound to $(readlink $dev/driver)"
uio=$(ls $dev/uio)
[ -n "$uio" ] && [ -c /dev/$uio ] || fail "no UIO device under $dev/uio"
u=/sys/class/uio/$uio
[ "$(cat $u/name)" = uio_hv_generic ] || fail "UIO name $(cat $u/name)"
[ "$(cat $u/version)" = 0.02.1 ] || fail "UIO version $(cat $u/version)"
check_map() { # index name size
	[ "$(cat $u/maps/map$1/name)" = "$2" ] || fail "map$1 is $(cat $u/maps/map$1/name), want $2"
	[ "$(($(cat $u/maps/map$1/size)))" = "$3" ] || fail "map$1 size $(cat $u/maps/map$1/size), want $3"
}
check_map 0 txrx_rings 40960
check_map 1 int_page 4096
check_map 2 monitor_page 4096
[ -e $u/maps/map3 ] && fail "a map3 for a non-NIC device"
relid=$(cat $dev/id)
ring=$dev/channels/$relid/ring
[ -f "$ring" ] || fail "no $ring: $(ls $dev/channels/$relid)"
[ "$(stat -c '%s %a' "$ring")" = "40960 600" ] || fail "ring file: $(stat -c '%s %a' "$ring")"
syslogd -O /run/messages || fail "cannot start syslogd"
mkdir -p /tmp/fcopy/full
# A full file system for the disk-full push: 1152 KiB, a multiple of the 6144-byte fragments,
# so that the write that finds it full fails outright with ENOSPC (the daemon reports a short
# write as HV_E_FAIL whatever the reason).
must mount -t tmpfs -o size=1152k tmpfs /tmp/fcopy/full
hv_fcopy_uio_daemon -n >/run/fcopy.out 2>&1 &
echo $! >/run/fcopy.pid
wait_for 60 "grep -q 'FCopy IC version 1.1' /run/messages" ||
	fail "the daemon did not negotiate: $(cat /run/messages /run/fcopy.out)"
grep 'Ring buffer size' /run/messages
[ "$(cat $dev/state)" = 3 ] || fail "channel state $(cat $dev/state) with the daemon attached, want 3 (opened)"
check_dmesg_clean
: >/run/fcopy.ready
mark fcopy-ready
