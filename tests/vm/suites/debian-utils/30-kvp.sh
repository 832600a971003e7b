#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The host's key (host.sh) lands in the systemd-started daemon's external pool file.
. /tests/lib.sh
wait_for 120 "grep -aq HostKey /var/lib/hyperv/.kvp_pool_0 2>/dev/null" ||
	fail "HostKey never reached /var/lib/hyperv/.kvp_pool_0: $(ls -la /var/lib/hyperv)"
grep -aq debian-utils /var/lib/hyperv/.kvp_pool_0 || fail "HostKey has the wrong value"
check_dmesg_clean
