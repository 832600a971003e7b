#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Channels work at the negotiated version (hvrs.engine_version): our hv_utils opens the utility
# channels and negotiates their IC versions; the VSS service refuses hosts older than VMBus 3.0
# (Windows 8.1), as the C driver does.
. /tests/lib.sh
want=$(sed -n 's/.*hvrs.engine_version=\([^ ]*\).*/\1/p' /proc/cmdline)
lsmod | grep -q '^hv_vmbus ' || must modprobe hv_vmbus
must modprobe hv_utils
for ic in 'Heartbeat IC version 3.0' 'Shutdown IC version 3.2' 'TimeSync IC version 4.0'; do
	wait_for 30 "dmesg | grep -q 'hv_utils: $ic'" || fail "no '$ic': $(dmesg | grep hv_utils)"
done
case "$want" in
2.4)
	wait_for 10 "dmesg | grep -q \"Integration service 'Backup (volume snapshot)' not supported on this host version.\"" ||
		fail "VSS did not refuse VMBus $want: $(dmesg | grep -i -e vss -e backup)"
	;;
*)
	wait_for 30 "dmesg | grep -q 'hv_utils: VSS IC version 5.0'" || fail "VSS did not negotiate: $(dmesg | grep -i vss)"
	;;
esac
must rmmod hv_utils
check_dmesg_clean
