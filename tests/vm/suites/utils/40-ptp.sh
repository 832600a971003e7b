#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The PTP clock `hyperv` (/sys/class/ptp/ptpN/clock_name) follows the host's time samples
# (host.sh: automatic SAMPLEs every second, host clock one hour ahead): clock_gettime() on the
# PHC (tests/vm/progs/phc_read.c) is within 3 s of the synced CLOCK_REALTIME, advances with the
# samples, and the clock cannot be set (EOPNOTSUPP, like the C driver's settime64).
. /tests/lib.sh
dev=""
for c in /sys/class/ptp/ptp*; do
	[ "$(cat "$c/clock_name")" = hyperv ] && dev=/dev/${c##*/}
done
[ -n "$dev" ] || fail "no PTP clock named hyperv"
[ -c "$dev" ] || fail "$dev is not a character device"
# Seconds between the PHC and CLOCK_REALTIME, and the PHC itself, from one phc_read.
read_phc() {
	phc_read "$dev" >/tmp/phc.out || { echo "999 0"; return; }
	awk '/^phc/ {p = $2} /^realtime/ {r = $2} END {d = p - r; if (d < 0) d = -d; printf "%d %d\n", d, p}' /tmp/phc.out
}
wait_for 30 "[ \$(read_phc | cut -d' ' -f1) -le 3 ]" ||
	fail "the PHC is not within 3 s of the (host-synced) realtime clock: $(cat /tmp/phc.out)"
p1=$(read_phc | cut -d' ' -f2)
cat /tmp/phc.out
grep -qx 'settime EOPNOTSUPP' /tmp/phc.out || fail "setting the PHC: $(grep settime /tmp/phc.out), want EOPNOTSUPP"
sleep 4
set -- $(read_phc)
[ "$1" -le 3 ] || fail "the PHC drifted from the realtime clock: $(cat /tmp/phc.out)"
[ "$2" -ge $((p1 + 1)) ] && [ "$2" -le $((p1 + 8)) ] ||
	fail "the PHC went from $p1 to $2 in 4 s: it does not follow the host samples"
check_dmesg_clean
