#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The engine rescinds the open echo channel again, then offers it with its OPENCHANNEL left
# unanswered and rescinds it: the pending open fails at once (not after a timeout),
# vmbus_sample's probe fails, the device goes away and the relid is released (without a
# CLOSECHANNEL: it never opened). Offered once more (answered this time), it binds and echoes.
. /tests/lib.sh
echoes() { dmesg | grep -c 'echo: 512 packets of 100 bytes echoed, 0 bad'; }
wait_for 110 "dmesg | grep -q 'vmbus: probe failed for device .* (-19)'" ||
	fail "no failed probe: $(dmesg | tail -n 8)"
wait_for 60 '[ $(echoes) -ge 3 ]' || fail "no echo after the mid-open rescind: $(dmesg | tail -n 5)"
dmesg | grep -q 'no answer from the host' && fail "the open waited for its timeout"
check_dmesg_clean
