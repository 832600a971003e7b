#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rmmod of the driver with a subchannel open closes it, then the primary channel (host.sh checks
# both closed); rmmod of the bus with the subchannel still offered; no leak.
. /tests/lib.sh
. "$(dirname "$0")/common.sh"
d=$(echo_dev)
must rmmod vmbus_sample
[ "$(cat "$d/state")" = 2 ] || fail "state after rmmod: $(cat "$d/state")"
[ "$(nchannels "$d")" = 2 ] || fail "channels: $(ls "$d/channels")"
mark rmmod
sleep 3
must rmmod hv_vmbus
check_kmemleak
check_dmesg_clean
