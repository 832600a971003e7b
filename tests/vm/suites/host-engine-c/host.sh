#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# (Not executable on purpose: the guest runs every executable file of a suite.)
# Host side of the smoke scenario (run by scripts/run-vm-engine.sh beside the VM): once the C
# hv_utils has the channels open, check the heartbeat, send time samples, set a KVP key the
# guest test looks for, and read the guest's auto pool through hv_kvp_daemon.
set -u
ctl() { "$HV_HOST" ctl --socket "$HV_HOST_CTL" "$@"; }
fail() { echo "FAIL: $*"; ctl log 40; exit 1; }
ctl wait open heartbeat --timeout 150 >/dev/null || fail "heartbeat never opened"
ctl wait open kvp --timeout 60 >/dev/null || fail "kvp never opened"
# KVP negotiates when the daemon registers; retry until the request goes out.
i=0
until ctl kvp set external HostKey host-engine-smoke; do
	i=$((i + 1))
	[ $i -lt 60 ] || fail "kvp set never succeeded"
	sleep 1
done
ctl kvp enum auto || fail "kvp enum auto failed"
ctl kvp enum auto | grep -q '^IntegrationServicesVersion=' || fail "no IntegrationServicesVersion in the auto pool"
ctl timesync sample || fail "timesync sample failed"
ctl heartbeat status
ctl heartbeat status | grep -q '^answered=[1-9]' || fail "no heartbeat answered"
ctl list
