#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# (Not executable on purpose: the guest runs every executable file of a suite.)
# Host side of the storvsc suite (run by scripts/run-vm-engine.sh beside the VM): checks the
# session the guest's hv_storvsc (C or ours) set up, sees the discard arrive as UNMAP, hot-adds
# and removes LUN 2, grows LUN 0 when the guest asks, fails I/O with SRB errors for a while,
# withholds one completion until the guest resets the bus, sends completions the guest must
# drop, and prints the counters. Every wait is bounded.
set -u
. "$(dirname "$0")/config.sh"
ctl() { "$HV_HOST" ctl --socket "$HV_HOST_CTL" "$@"; }
fail() { echo "FAIL: $*"; ctl scsi stats; ctl log 40; exit 1; }
# Polls `ctl scsi read LUN LBA --ascii` for a marker, at most $4 seconds.
wait_marker() {
	i=0
	until ctl scsi read "$1" "$2" --ascii 2>/dev/null | grep "$3" >/dev/null; do
		i=$((i + 1))
		[ $i -lt "$4" ] || return 1
		sleep 1
	done
}
ctl wait open scsi --timeout 150 >/dev/null || fail "the SCSI channel never opened"
ctl scsi wait ready --timeout 60 || fail "storvsc never finished its initialization"
status=$(ctl scsi status)
echo "$status"
# The version the guest negotiated: 6.2, or the cap of the run (hvrs.vstor=X.Y on the guest's
# command line, with the engine's `--device scsi,vstor=X.Y`), reached by falling back.
vstor=$(sed -n 's/.*hvrs\.vstor=\([0-9.]*\).*/\1/p' "$LOG" | head -n 1)
echo "$status" | grep -q "^version=${vstor:-6.2}\$" || fail "negotiated $(echo "$status" | grep version=), expected ${vstor:-6.2}"
ctl scsi luns
ctl scsi wait unmaps 1 --timeout 500 || fail "no UNMAP reached the host"
# With more than one vCPU the guest opened subchannels; blk-mq must have used them.
# (Outputs are captured first: `ctl ... | grep -q` would close the pipe under the client.)
chans=$(ctl list | grep 'kind=scsi')
echo "$chans"
stats=$(ctl scsi stats)
if echo "$chans" | grep -q 'sub=[1-9].*state=open'; then
	echo "$stats" | grep -q '^channel .* sub=[1-9] srbs=[1-9]' || fail "no I/O on a subchannel"
fi
ctl scsi lun add "lun=$HOT_LUN,ram=${HOT_MB}M,serial=HOTADD" || fail "hot add failed"
wait_marker "$HOT_LUN" 0 "$MARK_HOTADD" 150 || fail "the guest never marked LUN $HOT_LUN"
ctl scsi lun remove "$HOT_LUN" || fail "removal failed"
wait_marker 0 0 "$MARK_RESIZE" 200 || fail "the guest never asked for the resize"
ctl scsi resize 0 "${GROW_MB}M" || fail "resize failed"
wait_marker 0 $((GROW_MB * 2048 - 1)) "$MARK_GROWN" 150 || fail "the guest never wrote the new last block"
# SRB errors: fail READ/WRITE until the guest got at least 6 of them (a command and its
# retries), then clear the fault.
wait_marker 0 1 "$MARK_FAULTS" 150 || fail "the guest never asked for the SRB errors"
errors() { ctl scsi stats | sed -n '1s/.* errors=\([0-9]*\) .*/\1/p'; }
e0=$(errors)
ctl scsi fault srb-status error 100000 --rw || fail "cannot set the fault"
i=0
until [ "$(errors)" -ge $((e0 + 6)) ]; do
	i=$((i + 1))
	[ $i -lt 120 ] || fail "the guest never hit the injected errors"
	sleep 1
done
ctl scsi fault clear
echo "injected SRB errors: $(($(errors) - e0))"
# Host reset: withhold the next completion once the guest is ready, then expect a RESET_BUS
# that releases it.
wait_marker 0 2 "$MARK_RESET" 150 || fail "the guest never asked for the held request"
ctl scsi fault drop-io 1 || fail "cannot set the drop-io fault"
i=0
until ctl scsi stats | sed -n 1p | grep -q ' resets=[1-9]'; do
	i=$((i + 1))
	[ $i -lt 150 ] || fail "the guest never reset the bus"
	sleep 1
done
echo "the guest reset the bus"
# Completions with ids no request has, id 0, and a short one: the guest logs and drops them.
wait_marker 0 3 "$MARK_BOGUS" 150 || fail "the guest never asked for the bogus completions"
ctl scsi inject bad-completions || fail "cannot send the bogus completions"
stats=$(ctl scsi stats)
echo "$stats"
echo "$stats" | grep -q 'unit_attentions=[1-9]' || fail "no unit attention was reported"
echo "$stats" | grep -q 'notifications=[2-9]' || fail "fewer than 2 ENUMERATE_BUS sent"
ctl scsi luns
