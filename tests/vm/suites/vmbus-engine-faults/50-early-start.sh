#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A host that writes and signals before its OPENCHANNEL_RESULT lands (PROTOCOL-FACTS field bug
# 4: Linux storvsc once lost that interrupt and the channel stayed stuck). host.sh set the
# engine's `fault early-start heartbeat`: on open the heartbeat device sends its NEGOTIATE
# before the open result. The bus publishes the channel's handler before OPENCHANNEL, so the
# signal is not lost and hv_utils answers the negotiation.
. /tests/lib.sh
must modprobe hv_vmbus
must modprobe hv_utils
wait_for 60 "dmesg | grep -q 'Heartbeat IC version'" ||
	fail "the heartbeat negotiation sent before the open result was never answered"
dmesg | grep 'Heartbeat IC version'
must rmmod hv_utils
must rmmod hv_vmbus
check_dmesg_clean
