#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Host reset (storvsc_host_reset_handler()): host.sh makes the host withhold the completion of
# the next request (drop-io 1) once the guest asks for it; a direct read then stays in flight
# (the driver never aborts: eh_timed_out resets the timer). A host reset through the midlayer
# (SG_SCSI_RESET, tests/vm/progs/sg_reset.c) sends RESET_BUS; the host then completes the held
# request with SRB_STATUS_BUS_RESET, the driver fails it with DID_ERROR, the midlayer retries
# it, and the read finishes with the right data.
. /tests/lib.sh
. /tests/suites/storvsc/config.sh
d=$(lun_dev 0) || fail "no LUN 0"
want=HVRS-RESET-DATA
write_marker "$d" "$want" 40 || fail "cannot write the data block"
write_marker "$d" "$MARK_RESET" 2 || fail "cannot write the marker"
held=0 i=0
while [ $i -lt 60 ]; do
	i=$((i + 1))
	rm -f /tmp/reset.out
	dd if="/dev/$d" of=/tmp/reset.out bs=4k count=1 skip=5 iflag=direct 2>/dev/null &
	pid=$!
	sleep 2
	if kill -0 $pid 2>/dev/null; then
		held=1
		break
	fi
	wait $pid
done
[ $held = 1 ] || fail "no request was held by the host"
echo "a direct read is held by the host; resetting the host"
out=$(sg_reset "/dev/$d" 2>&1) || fail "host reset failed: $out $(dmesg | tail -n 10)"
echo "$out"
wait_for 60 "! kill -0 $pid 2>/dev/null" || fail "the held read did not finish after the reset"
wait $pid || fail "the held read failed after the reset"
grep -q "$want" /tmp/reset.out || fail "the read after the reset returned other data"
echo "the held read finished after the reset with the right data"
dmesg | grep -iE 'reset|srb 0xe' | tail -n 5
check_dmesg_clean
