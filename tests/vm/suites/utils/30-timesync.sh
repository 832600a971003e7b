#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Time sync: the host's clock is set one hour ahead (host.sh: `timesync offset 3600`) and the
# host sends a SYNC: the guest's CLOCK_REALTIME jumps to the host's clock. The guest then prints
# its clock three times (HVRS-MARK clock ...) and host.sh checks each is within 1 s of its own.
. /tests/lib.sh
t0=$(date +%s)
mark timesync-ready
wait_for 60 "[ \$(date +%s) -ge $((t0 + 3500)) ]" ||
	fail "the guest clock did not jump an hour ahead: $(date) (was $t0, now $(date +%s))"
for i in 1 2 3; do
	mark "clock $(phc_read | sed -n 's/^realtime //p')"
	sleep 1
done
dmesg | grep -q 'TIMESYNC IC: Stale' && fail "stale time stamp reported"
check_dmesg_clean
