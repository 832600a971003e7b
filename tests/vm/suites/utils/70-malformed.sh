#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Malformed IC messages from the host (host.sh: `inject packet`): a packet shorter than the IC
# header, heartbeat / shutdown / time-sync / VSS messages too short for their data, a KVP
# message of an unknown type, and a shutdown request with invalid flags. Each is rejected the
# way the C driver does it (the log lines below; no answer, or HV_E_FAIL for the flags, checked
# by host.sh), nothing oopses, and every channel answers normally afterwards (host.sh).
. /tests/lib.sh
mark malformed-ready
for l in 'Heartbeat request received. Packet length too small: 16' \
	'Invalid heartbeat msg data. Length too small: 32' \
	'Invalid shutdown msg data. Packet length too small: 32' \
	'Invalid ictimesync ref data. Length too small: 32' \
	'Invalid VSS msg. Packet length too small: 32' \
	'KVP request received. Invalid msg type: 9' \
	'Shutdown request received - Invalid request'; do
	wait_for 60 "dmesg | grep -qF '$l'" || fail "no '$l': $(dmesg | grep hv_utils | tail -n 10)"
done
check_dmesg_clean
