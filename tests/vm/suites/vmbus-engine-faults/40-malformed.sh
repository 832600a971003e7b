#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Malformed host input: an unknown message type, a rescind of a relid that does not exist and a
# truncated offer are reported and dropped; a corrupt packet descriptor in the echo ring
# disables that channel with one message. The bus keeps working: the other devices are there,
# the driver and the bus unload (UNLOAD answered), and nothing leaks.
. /tests/lib.sh
echo clear >/sys/kernel/debug/kmemleak
wait_for 100 "dmesg | grep -q 'the channel is disabled'" || fail "corrupt ring not detected: $(dmesg | tail -n 8)"
wait_for 10 "dmesg | grep -q 'bad message from the host'" || fail "malformed messages not reported"
dmesg | grep 'hv_vmbus' | tail -n 8
[ "$(dmesg | grep -c 'the channel is disabled')" = 1 ] || fail "the corrupt ring was reported more than once"
grep -q '{0e0b6031-5213-4934-818b-38d90ced39db}' /sys/bus/vmbus/devices/*/class_id || fail "shutdown device gone"
must rmmod vmbus_sample
must rmmod hv_vmbus
dmesg | grep -q 'no UNLOAD_RESPONSE' && fail "UNLOAD not answered"
check_kmemleak
check_dmesg_clean
