#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The transport dropped (as on device removal) while the daemon has the device open: a blocked
# read() gets EBADF, poll and epoll EPOLLERR|EPOLLHUP, read/write EBADF, the node is gone, the
# service is reset and freed at once; the module stays loaded until the file is closed, and
# nothing leaks (kmemleak).
. /tests/lib.sh
must modprobe hv_chardev_test
mkfifo /tmp/hold
hvt_chardev revoke </tmp/hold >/tmp/revoke.out 2>&1 &
pid=$!
exec 4>/tmp/hold
wait_for 20 grep -q HOLDING /tmp/revoke.out || { cat /tmp/revoke.out; fail "hvt_chardev revoke did not get to HOLDING"; }
dmesg | grep -q 'hv_test: service dropped' || fail "the service outlived its transport"
rmmod hv_chardev_test 2>/dev/null && fail "rmmod succeeded while the file is open"
exec 4>&-
wait $pid
rc=$?
cat /tmp/revoke.out
[ $rc = 0 ] || fail "hvt_chardev revoke failed"
wait_for 5 rmmod hv_chardev_test 2>/dev/null || fail "rmmod failed after close"
check_kmemleak
check_dmesg_clean
