#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# (Not executable on purpose: the guest runs every executable file of a suite.)
# Host side of the storvsc-fc suite (run by scripts/run-vm-engine.sh beside the VM): the
# guest's hv_storvsc (C or ours) initialized the two FC adapters (with FCHBA_DATA, which the
# engine refuses on other buses) and the IDE controller, and did I/O on each; on 25-fc-wwn's
# mark the first adapter sends new WWNs unsolicited (the guest refuses them), and gets its old
# ones back quietly once the guest checked. Every wait is bounded.
set -u
. "$HV_HOST_LIB" # wait_mark
. "$(dirname "$0")/config.sh"
ctl() { "$HV_HOST" ctl --socket "$HV_HOST_CTL" "$@"; }
fail() { echo "FAIL: $*"; ctl log 40; exit 1; }
for c in fc fc2 ide; do
	ctl wait open "$c" --timeout 200 >/dev/null || fail "the $c channel never opened"
	ctl dev "$c" wait ready --timeout 60 || fail "$c: storvsc never finished its initialization"
	status=$(ctl dev "$c" status)
	echo "$status"
	echo "$status" | grep -q '^version=6.2$' || fail "$c: not at VMSTOR 6.2"
done
ctl dev fc status | grep -q "^wwpn=$FC_PORT wwnn=$FC_NODE active=primary" || fail "fc WWNs"
ctl dev fc2 status | grep -q "^wwpn=$FC2_PORT wwnn=$FC2_NODE active=secondary" || fail "fc2 WWNs"
# Each controller saw the guest's pattern I/O.
for c in fc fc2 ide; do
	ctl dev "$c" wait srbs 50 --timeout 300 || fail "$c: no I/O"
	ctl dev "$c" stats | head -n 3
done
# Unsolicited FCHBA_DATA with other names (25-fc-wwn.sh), then the old names back without a
# packet, for the re-probes of 80-unbind and 90-reload.
wait_mark fc-wwn-unsolicited 600
ctl dev fc wwn 50015dfc000000a0 50015dfc000000a1 | grep -q 'notified=1' ||
	fail "fc: the new WWNs were not sent"
wait_mark fc-wwn-checked 200
ctl dev fc wwn "$FC_PORT" "$FC_NODE" --quiet >/dev/null || fail "fc: the old WWNs were not set back"
