#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The C hv_utils binds the heartbeat, shutdown, time-sync and KVP channels and negotiates the
# IC framework and service versions the C driver prefers out of the engine's lists.
. /tests/lib.sh
use_c_modules
lsmod | grep -q '^hv_utils ' || must modprobe hv_utils
for ic in 'Heartbeat IC version 3.0' 'Shutdown IC version 3.2' 'TimeSync IC version 4.0'; do
	wait_for 20 "dmesg | grep -q '$ic'" || fail "no '$ic': $(dmesg | grep hv_utils)"
done
n=$(ls /sys/bus/vmbus/drivers/hv_utils | grep -c -- -)
[ "$n" -ge 4 ] || fail "hv_utils bound $n devices: $(ls /sys/bus/vmbus/drivers/hv_utils)"
# KVP negotiates once its daemon registers.
mkdir -p /var/lib/hyperv
hv_kvp_daemon -n >/tmp/kvp.log 2>&1 &
wait_for 30 "dmesg | grep -q 'KVP IC version'" || fail "KVP did not negotiate: $(dmesg | grep -i kvp)"
check_dmesg_clean
