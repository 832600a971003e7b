#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The kernel's 30 s daemon timeout (HV_UTIL_TIMEOUT): the daemon is stopped (SIGSTOP) while
# host.sh sends a GET; the host gets HV_E_FAIL about 30 s later (host.sh measures it). The
# daemon, continued, reads the stale request and answers it; the kernel refuses that answer
# (EINVAL, the transaction is over), the daemon reopens the device and registers again, and the
# next key the host sets reaches its pool file.
. /tests/lib.sh
pid=$(cat /run/kvp.pid)
kill -0 "$pid" || fail "hv_kvp_daemon is not running"
kill -STOP "$pid" || fail "cannot stop the daemon"
mark kvp-silent
# host.sh's GET times out in the kernel after 30 s; stay stopped a little longer.
sleep 40
kill -CONT "$pid" || fail "the daemon went away while stopped"
mark kvp-resumed
wait_for 90 "grep -aq HvrsAfterTimeout /var/lib/hyperv/.kvp_pool_0 2>/dev/null" ||
	fail "a key set after the timeout never reached the pool file: $(tail -n 5 /run/messages)"
kill -0 "$pid" || fail "hv_kvp_daemon died"
check_dmesg_clean
