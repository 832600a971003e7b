#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The misc devices take one opener: with the daemons attached, another open of
# /dev/vmbus/hv_kvp or /dev/vmbus/hv_vss fails with EBUSY (hv_utils_transport.c), and the
# daemons are not disturbed by it.
. /tests/lib.sh
for d in kvp vss; do
	kill -0 "$(cat /run/$d.pid)" || fail "hv_${d}_daemon is not running"
	expect_errno "busy" sh -c "exec 3<>/dev/vmbus/hv_$d"
	kill -0 "$(cat /run/$d.pid)" || fail "hv_${d}_daemon died after the second open"
done
check_dmesg_clean
