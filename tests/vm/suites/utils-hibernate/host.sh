# SPDX-License-Identifier: GPL-2.0
# (Not executable on purpose: the guest runs every executable file of a suite.)
# Host side of utils-hibernate: the hibernate request to a guest that can hibernate must be
# answered S_OK (and the guest sends the uevent, 80-hibernate.sh checks it).
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
status_of() { sed -n 's/^status=\(0x[0-9a-f]*\).*/\1/p'; }
wait_mark 'hibernate-ready .*' 200
want=$(tr -d '\r' <"$LOG" | sed -n 's/.*HVRS-MARK hibernate-ready //p' | tail -n 1)
[ "$want" = uevent ] || fail hibernate "the guest cannot hibernate ('$want')"
st=$(ctl shutdown hibernate) || fail hibernate "shutdown hibernate: $st"
echo "hibernate: $st"
[ "$(echo "$st" | status_of)" = 0x00000000 ] || fail hibernate "answered $st with S4, want S_OK"
ok hibernate
wait_mark hibernate-done 60
