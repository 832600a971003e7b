#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rmmod hv_utils with both daemons attached. The C module is pinned by the daemons' open
# /dev/vmbus/hv_kvp and hv_vss (the misc devices' fops belong to it): rmmod (busybox: O_NONBLOCK)
# fails with EWOULDBLOCK and nothing changes, the daemons keep running. Once the daemons are
# stopped, rmmod completes: the character devices and the PTP clock are gone and the kernel log
# is clean.
. /tests/lib.sh
kpid=$(cat /run/kvp.pid) vpid=$(cat /run/vss.pid)
kill -0 "$kpid" || fail "hv_kvp_daemon is not running"
kill -0 "$vpid" || fail "hv_vss_daemon is not running"
lsmod | grep '^hv_utils '
expect_errno "Resource temporarily unavailable" timeout 60 rmmod hv_utils
lsmod | grep -q '^hv_utils ' || fail "hv_utils went away with the daemons attached"
kill -0 "$kpid" && kill -0 "$vpid" || fail "a daemon died on the refused rmmod"
[ -c /dev/vmbus/hv_kvp ] && [ -c /dev/vmbus/hv_vss ] || fail "a character device went away"
kill "$kpid" "$vpid"
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
wait_for 20 "gone $kpid && gone $vpid" || fail "the daemons did not exit on SIGTERM"
must timeout 60 rmmod hv_utils
lsmod | grep -q '^hv_utils ' && fail "hv_utils is still loaded"
for d in hv_kvp hv_vss; do
	[ -e /dev/vmbus/$d ] && fail "/dev/vmbus/$d is still there"
done
grep -qx hyperv /sys/class/ptp/ptp*/clock_name 2>/dev/null && fail "the PTP clock hyperv is still registered"
dmesg | tail -n 3
check_dmesg_clean
