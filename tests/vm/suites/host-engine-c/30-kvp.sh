#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A key the host sets in the external pool (host.sh: `kvp set external HostKey ...`) reaches
# the unmodified hv_kvp_daemon through the C hv_utils and lands in its pool file.
. /tests/lib.sh
ps | grep -q '[h]v_kvp_daemon' || fail "hv_kvp_daemon is not running"
wait_for 90 "grep -aq HostKey /var/lib/hyperv/.kvp_pool_0 2>/dev/null" ||
	fail "HostKey never reached /var/lib/hyperv/.kvp_pool_0: $(ls -la /var/lib/hyperv)"
grep -aq host-engine-smoke /var/lib/hyperv/.kvp_pool_0 || fail "HostKey has the wrong value"
check_dmesg_clean
