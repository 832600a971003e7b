#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The host rescinds a subchannel of the SCSI controller while it withholds the completions of
# the requests sent on it (host.sh: `fault completions SUB drop all`, then `rescind SUB` once
# some were dropped): the driver must send again, on another channel, what was in flight on it, the readers go on over
# the primary channel and all finish without an error, the subchannel's directory goes away,
# the controller stays, and the kernel log stays clean.
. /tests/lib.sh
. /tests/suites/storvsc/config.sh
use_stack
lsmod | grep -q '^hv_vmbus ' || must modprobe hv_vmbus
lsmod | grep -q '^hv_storvsc ' || must modprobe hv_storvsc
wait_for 60 'lun_dev 0 >/dev/null && lun_dev 1 >/dev/null' || fail "disks did not appear"
d0=$(lun_dev 0) d1=$(lun_dev 1)
hv=$(ls -d /sys/bus/vmbus/drivers/hv_storvsc/*-* | head -n 1)
[ -n "$hv" ] || fail "no device bound to hv_storvsc"
nch() { ls -d "$hv"/channels/* 2>/dev/null | wc -l; }
wait_for 30 '[ "$(nch)" -ge 2 ]' || fail "no subchannel open ($(nch) channels)"
# Readers on every CPU keep requests in flight on both disks until /tmp/sub-stop.
rm -f /tmp/sub-stop /tmp/sub-done.* /tmp/sub-fail.* /tmp/sub-after
nr=$(($(nproc) * 4))
i=0
while [ $i -lt $nr ]; do
	d=$d0
	[ $((i % 2)) = 0 ] && d=$d1
	(
		# Pin this subshell ($$ is the script's PID; $PPID of a child is ours).
		taskset -p -c $((i % $(nproc))) "$(sh -c 'echo $PPID')" >/dev/null 2>&1
		while [ ! -e /tmp/sub-stop ]; do
			dd if="/dev/$d" of=/dev/null bs=64k count=4 skip=$((i * 4)) iflag=direct 2>/dev/null ||
				{ echo "$d" >"/tmp/sub-fail.$i"; break; }
		done
		touch "/tmp/sub-done.$i"
	) &
	i=$((i + 1))
done
# The suite's runner kills a test after 120 s: the waits below stay well inside that. (No
# variable named n here: wait_for's own local n would shadow it in the condition.)
blocked() { # why
	touch /tmp/sub-stop
	echo w >/proc/sysrq-trigger 2>/dev/null
	sleep 1
	fail "$1; $(ls /tmp/sub-done.* 2>/dev/null | wc -l) of $nr readers done: $(dmesg | tail -n 60)"
}
write_marker "$d0" "$MARK_SUBRESCIND" 5 || blocked "cannot write the marker"
echo "marker written at $(cut -d" " -f1 /proc/uptime) s"
wait_for 40 '[ "$(nch)" -eq 1 ]' || blocked "the subchannel is still there: $(nch) channels"
echo "subchannel gone at $(cut -d" " -f1 /proc/uptime) s"
sleep 2
touch /tmp/sub-stop
echo "readers told to stop at $(cut -d" " -f1 /proc/uptime) s"
wait_for 30 '[ "$(ls /tmp/sub-done.* 2>/dev/null | wc -l)" -eq $nr ]' || blocked "readers still blocked"
wait
! ls /tmp/sub-fail.* >/dev/null 2>&1 || fail "reads failed: $(cat /tmp/sub-fail.*)"
[ -e "$hv" ] || fail "the controller went away"
dmesg | grep -E 'rescinded: [1-9][0-9]* commands in flight sent again' ||
	fail "the subchannel's commands were not sent again: $(dmesg | grep -i rescind | tail -n 5)"
# I/O still works after the rescind, at once.
echo "reading after the rescind at $(cut -d" " -f1 /proc/uptime) s"
(dd if="/dev/$d0" of=/dev/null bs=64k count=16 iflag=direct 2>/dev/null && touch /tmp/sub-after) &
wait_for 10 '[ -e /tmp/sub-after ]' || blocked "a read after the rescind did not complete in 10 s"
wait
echo "subchannel rescinded mid-I/O; $nr readers finished over the primary channel at $(cut -d" " -f1 /proc/uptime) s"
check_dmesg_clean
