#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The host rescinds the FCopy device while the daemon holds it (host.sh, `ctl rescind fcopy`):
# the daemon's blocked read of /dev/uioN fails with EIO ("pread failed: I/O error") and it
# exits, the device and its UIO device go away, nothing oopses; uio_hv_generic then unloads
# and kmemleak finds nothing. Fails if the daemon keeps running, the device stays, the kernel
# log has a warning, rmmod fails or a leak is reported.
. /tests/lib.sh
dev=/sys/bus/vmbus/devices/eb765408-105f-49b6-b4aa-c123b64d17d4
[ -e /run/fcopy.ready ] || fail "10-load failed: no daemon"
pid=$(cat /run/fcopy.pid)
kill -0 "$pid" || fail "the daemon is not running"
mark rescind-ready
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
wait_for 120 "gone $pid" || fail "the daemon still runs after the rescind: $(tail -3 /run/messages)"
grep 'pread failed' /run/messages || fail "the daemon did not report a failed read: $(tail /run/messages)"
grep -q 'pread failed: Input/output error' /run/messages || fail "the read did not fail with EIO"
wait_for 30 "[ ! -e $dev ]" || fail "the rescinded device is still there"
ls /dev/uio* 2>/dev/null && fail "a UIO device is left: $(ls /dev/uio*)"
check_dmesg_clean
must timeout 60 rmmod uio_hv_generic
check_kmemleak
check_dmesg_clean
