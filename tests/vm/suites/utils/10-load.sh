#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# hv_utils of the run's stack (hvrs.stack) binds the heartbeat, shutdown, time-sync, KVP and VSS
# channels with the versions the C driver prefers, registers the PTP clock `hyperv` and the
# misc devices vmbus/hv_kvp and vmbus/hv_vss, and the unmodified hv_kvp_daemon and
# hv_vss_daemon register through them (KVP negotiates only once its daemon is there). The
# daemons log through syslogd to /run/messages for the later tests.
. /tests/lib.sh
use_stack
lsmod | grep -q '^hv_utils ' || must modprobe hv_utils
for ic in 'Heartbeat IC version 3.0' 'Shutdown IC version 3.2' 'TimeSync IC version 4.0' \
	'VSS IC version 5.0'; do
	wait_for 30 "dmesg | grep -q '$ic'" || fail "no '$ic': $(dmesg | grep -E 'hv_utils|IC version')"
done
bound=$(ls /sys/bus/vmbus/drivers/hv_utils | grep -c -- -)
[ "$bound" = 5 ] || fail "hv_utils bound $bound devices, want 5: $(ls /sys/bus/vmbus/drivers/hv_utils)"
for d in hv_kvp hv_vss; do
	[ -c /dev/vmbus/$d ] || fail "no character device /dev/vmbus/$d"
	[ -d "/sys/devices/virtual/misc/vmbus!$d" ] || fail "no misc device vmbus!$d in sysfs"
done
grep -qx hyperv /sys/class/ptp/ptp*/clock_name 2>/dev/null ||
	fail "no PTP clock named hyperv: $(cat /sys/class/ptp/*/clock_name 2>&1)"
syslogd -O /run/messages || fail "cannot start syslogd"
mkdir -p /var/lib/hyperv
hv_kvp_daemon -n >/run/kvp.out 2>&1 &
echo $! >/run/kvp.pid
hv_vss_daemon -n >/run/vss.out 2>&1 &
echo $! >/run/vss.pid
wait_for 90 "dmesg | grep -q 'KVP IC version 4.0'" ||
	fail "KVP did not negotiate 4.0 with the daemon running: $(dmesg | grep -i kvp)"
wait_for 10 "grep -q 'KVP LIC Version: 3.1' /run/messages" ||
	fail "hv_kvp_daemon did not register (want 'KVP LIC Version: 3.1'): $(cat /run/messages)"
wait_for 10 "grep -q 'VSS: kernel module version: 129' /run/messages" ||
	fail "hv_vss_daemon did not register: $(cat /run/messages)"
check_dmesg_clean
