#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# KVP through the unmodified hv_kvp_daemon. host.sh enumerates the auto pool and checks its
# keys; sets a key in each pool 0-4 (HvrsKeyN, HvrsGoneN): they must land in that pool's file
# /var/lib/hyperv/.kvp_pool_N and no other; then deletes HvrsGoneN: it must leave the file while
# HvrsKeyN stays. Then the daemon is stopped, host.sh sends a GET, and the daemon is killed with
# the request in its device: the host must get HV_E_FAIL at once (host.sh checks). A restarted
# daemon registers again and a key the host sets afterwards reaches its pool file.
. /tests/lib.sh
pid=$(cat /run/kvp.pid)
kill -0 "$pid" || fail "hv_kvp_daemon is not running"
pool() { echo /var/lib/hyperv/.kvp_pool_$1; }
has() { grep -aq "$2" "$(pool "$1")" 2>/dev/null; }
mark kvp-ready
for n in 0 1 2 3 4; do
	wait_for 60 "has $n HvrsKey$n && has $n HvrsGone$n" ||
		fail "HvrsKey$n/HvrsGone$n never reached $(pool $n): $(ls -la /var/lib/hyperv)"
	has $n "value-$n" || fail "HvrsKey$n has the wrong value in $(pool $n)"
	for m in 0 1 2 3 4; do
		[ $m = $n ] && continue
		has $m HvrsKey$n && fail "HvrsKey$n (pool $n) is also in $(pool $m)"
	done
done
mark kvp-set-seen
for n in 0 1 2 3 4; do
	wait_for 60 "! has $n HvrsGone$n" || fail "HvrsGone$n was not deleted from $(pool $n)"
	has $n HvrsKey$n || fail "HvrsKey$n went away from $(pool $n) with HvrsGone$n"
done
mark kvp-deleted

# host.sh asks for the IP configuration, then sets HvrsIpDone: a request in flight when the
# daemon dies comes after that.
wait_for 60 "has 0 HvrsIpDone" || fail "host.sh never set HvrsIpDone"
kill -STOP "$pid" || fail "cannot stop the daemon"
mark kvp-stopped
sleep 8
kill -KILL "$pid"
kill -CONT "$pid" 2>/dev/null
wait_for 10 "! kill -0 $pid 2>/dev/null || grep -q '^State:.*Z' /proc/$pid/status" || fail "the daemon did not die"
: >/run/messages
hv_kvp_daemon -n >/run/kvp.out 2>&1 &
echo $! >/run/kvp.pid
wait_for 30 "grep -q 'KVP LIC Version: 3.1' /run/messages" ||
	fail "the restarted daemon did not register: $(cat /run/messages)"
mark kvp-restarted
wait_for 60 "has 0 HvrsAfterRestart" || fail "a key set after the restart never reached $(pool 0)"
check_dmesg_clean
