# SPDX-License-Identifier: GPL-2.0
# (Not executable on purpose: the guest runs every executable file of a suite.)
# Host side of utils-stale: time samples every second until the guest asks to stop, then none
# until it asks for one (see 10-stale.sh and the utils suite's host.sh for the conventions).
set -u
ctl() { "$HV_HOST" ctl --socket "$HV_HOST_CTL" "$@"; }
ok() { echo "ok $1"; }
fail() { echo "not ok $1"; shift; echo "FAIL: $*"; ctl log 40; exit 1; }
wait_mark() {
	i=0
	until tr -d '\r' <"$LOG" | grep -q "HVRS-MARK $1\$"; do
		i=$((i + 1))
		[ $i -lt $(($2 * 10)) ] || fail "mark-$1" "the guest never printed HVRS-MARK $1"
		sleep 0.1
	done
}
wait_mark stale-ready 200
ctl timesync auto 1000 >/dev/null || fail samples "timesync auto 1000 failed"
ok samples
wait_mark stale-stop 60
ctl timesync auto 0 >/dev/null || fail stop "timesync auto 0 failed"
ok stop
wait_mark stale-resume 60
ctl timesync sample >/dev/null || fail resume "timesync sample failed"
ok resume
