# SPDX-License-Identifier: GPL-2.0
#
# Helpers for a suite's host.sh (sourced from $HV_HOST_LIB, which scripts/run-vm-engine.sh sets
# beside HV_HOST, HV_HOST_CTL and LOG, the console log). A host.sh reports each of its checks as
# "ok NAME" or "not ok NAME" (the run's tests RUN/host-NAME) and stops at the first failure.

# Run a control command of the host engine.
ctl() { "$HV_HOST" ctl --socket "$HV_HOST_CTL" "$@"; }

# Report check $1 passed.
ok() { echo "ok $1"; }

# Report check $1 failed, why, and the engine's last log lines; stop.
fail() { echo "not ok $1"; shift; echo "FAIL: $*"; ctl log 40; exit 1; }

# Wait for the guest's "HVRS-MARK $1" line (tests/vm/lib.sh mark), at most $2 seconds.
wait_mark() {
	i=0
	until tr -d '\r' <"$LOG" | grep -aq "HVRS-MARK $1\$"; do
		i=$((i + 1))
		[ $i -lt $(($2 * 10)) ] || fail "mark-$1" "the guest never printed HVRS-MARK $1"
		sleep 0.1
	done
}

# The status field of an IC answer ("status=0x80004005 (HV_E_FAIL)" -> 0x80004005).
status_of() { sed -n 's/^status=\(0x[0-9a-f]*\).*/\1/p'; }

# The value of field $1 of an answer ("name=value" lines).
field() { sed -n "s/^$1=//p"; }
