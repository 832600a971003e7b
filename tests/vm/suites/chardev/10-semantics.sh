#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The util daemons' character device (drivers/hv/utils/transport.rs on rust/hv/chardev.rs) in
# hv_chardev_test.ko: /dev/vmbus/hv_test and its sysfs node, the C transport's read/write/poll
# semantics (hvt_chardev), and an open device keeping the module loaded.
. /tests/lib.sh
must modprobe hv_chardev_test
[ -c /dev/vmbus/hv_test ] || fail "no /dev/vmbus/hv_test: $(ls -la /dev/vmbus)"
[ -e '/sys/devices/virtual/misc/vmbus!hv_test' ] || fail "no sysfs node: $(ls /sys/devices/virtual/misc)"
hvt_chardev || fail "hvt_chardev failed"
# Released twice (the reopen checks), so reset twice.
n=$(dmesg | grep -c 'hv_test: reset')
[ "$n" = 2 ] || fail "$n resets, not 2"
# The fops owner: rmmod fails while the device is open, works once it is closed.
exec 3<>/dev/vmbus/hv_test
rmmod hv_chardev_test 2>/dev/null && fail "rmmod succeeded with the device open"
exec 3>&-
wait_for 5 rmmod hv_chardev_test 2>/dev/null || fail "rmmod failed after close"
[ -e /dev/vmbus/hv_test ] && fail "/dev/vmbus/hv_test left after rmmod"
check_dmesg_clean
