# SPDX-License-Identifier: GPL-2.0
# (Not executable on purpose: the guest runs every executable file of a suite.)
# Host side of the fault tests, run by scripts/run-vm-engine.sh beside the VM: rescinds an idle
# channel, an open one and one whose OPENCHANNEL is held, re-offering each (hot-add), then feeds
# the guest malformed messages and a corrupt ring, and last lets the heartbeat device write
# before its OPENCHANNEL_RESULT. The guest tests wait for the effects.
set -u
ctl() { "$HV_HOST" ctl --socket "$HV_HOST_CTL" "$@"; }
fail() { echo "FAIL: $*"; ctl log 60; exit 1; }
step() { echo "== $*"; }

# Waits until the echo device has echoed at least $1 packets (the count starts over with each
# offer of the device: it counts one run of vmbus_sample).
wait_echoed() {
	local i=0 n
	while :; do
		n=$(ctl echo status | sed -n 's/^echoed=//p')
		[ "${n:-0}" -ge "$1" ] && return 0
		i=$((i + 1))
		[ $i -lt 240 ] || fail "the echo device echoed ${n:-0} packets, not $1"
		sleep 0.5
	done
}

ctl wait connected --timeout 300 >/dev/null || fail "the guest never connected"
step "1: rescind the idle heartbeat channel, then offer it again"
sleep 2
ctl rescind heartbeat || fail "rescind heartbeat"
ctl wait released heartbeat --timeout 60 || fail "heartbeat relid never released"
# Long enough for the guest to see the device gone.
sleep 15
ctl offer heartbeat || fail "offer heartbeat"

step "2: rescind the echo channel while open, then offer it again"
wait_echoed 512
ctl rescind echo || fail "rescind echo"
ctl wait released echo --timeout 60 || fail "echo relid never released (open)"
ctl offer echo || fail "offer echo"

step "3: rescind the echo channel while its OPENCHANNEL is unanswered"
wait_echoed 512
ctl fault hold-open echo || fail "hold-open"
ctl rescind echo || fail "rescind echo (2)"
ctl wait released echo --timeout 60 || fail "echo relid never released (open, 2)"
ctl offer echo || fail "offer echo (2)"
sleep 8
ctl rescind echo || fail "rescind echo (mid-open)"
ctl wait released echo --timeout 60 || fail "echo relid never released (mid-open)"
ctl fault hold-open echo off || fail "hold-open off"
ctl offer echo || fail "offer echo (3)"

step "4: malformed messages and a corrupt ring"
wait_echoed 512
ctl inject unknown-msg || fail "inject unknown-msg"
ctl inject rescind-relid 1999 || fail "inject rescind-relid"
ctl inject truncated-offer kvp || fail "inject truncated-offer"
ctl inject bad-desc echo len8 || fail "inject bad-desc"
ctl list

step "5: the heartbeat device writes and signals before OPENCHANNEL_RESULT (50-early-start)"
ctl fault early-start heartbeat || fail "early-start"
i=0
until out=$(ctl log 400) && echo "$out" | grep -q 'fault: heartbeat starts before OPENCHANNEL_RESULT'; do
	i=$((i + 1))
	[ $i -lt 300 ] || fail "the guest never opened the heartbeat channel"
	sleep 1
done
echo "the heartbeat device started before its open result"
