#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The storage benchmark's guest side (scripts/bench-storage.sh): fio on the synthetic disk of
# the stack under test (hvrs.stack) and on the virtio-blk disk of the same guest, each run
# printed as "BENCH dev=... test=... iops=... kib_s=... cpu_us_per_io=... busy_pct=..." (the
# guest's CPU time per I/O and how busy its CPUs were, from /proc/stat). Before and after each
# run on the synthetic disk it marks the console, so that host.sh can count the guest's signals
# and the SRBs of exactly that run. Fails only if fio fails or reports errors: the numbers are
# printed, not judged.
. /tests/lib.sh
. /tests/suites/bench-storage/config.sh
. /tests/suites/storvsc/config.sh
use_stack
lsmod | grep -q '^hv_vmbus ' || must modprobe hv_vmbus
lsmod | grep -q '^hv_storvsc ' || must modprobe hv_storvsc
wait_for 60 'lun_dev 0 >/dev/null' || fail "no synthetic disk: $(ls /sys/block)"
sd=$(lun_dev 0)
[ -b /dev/vda ] || fail "no virtio disk"
[ "$(dev_mb "$sd")" = "$DISK_MB" ] && [ "$(dev_mb vda)" = "$DISK_MB" ] ||
	fail "disk sizes $(dev_mb "$sd") / $(dev_mb vda) MiB, expected $DISK_MB"
for d in "$sd" vda; do
	must dd if=/dev/urandom of="/dev/$d" bs=1M count="$DISK_MB" oflag=direct 2>/dev/null
done
echo "BENCH cpus=$(nproc) stack=$(hvrs_stack) sd=$sd max_sectors_kb=$(cat "/sys/block/$sd/queue/max_sectors_kb") nr_hw_queues=$(ls -d "/sys/block/$sd/mq/"* | wc -l)"

# The guest's busy time of all CPUs in USER_HZ ticks (user, nice, system, irq, softirq: not
# idle, iowait or steal), from /proc/stat.
busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }
# fio's terse (--minimal) line: field 7 is the read bandwidth in KiB/s, 8 the read IOPS,
# 48 and 49 the same for writes.
bench() { # dev name rw bs iodepth numjobs
	b0=$(busy_ticks) t0=$(cut -d' ' -f1 /proc/uptime)
	out=$(fio --name="$2" --filename="/dev/$1" --direct=1 --ioengine=io_uring \
		--rw="$3" --bs="$4" --iodepth="$5" --numjobs="$6" --time_based \
		--runtime="$BENCH_SECS" --ramp_time=1 --group_reporting --minimal 2>&1) ||
		fail "fio $2 on $1 failed: $out"
	line=$(echo "$out" | grep '^3;') || fail "no terse line from fio: $out"
	err=$(echo "$line" | cut -d';' -f5)
	[ "$err" = 0 ] || fail "fio $2 on $1: error $err"
	b1=$(busy_ticks) t1=$(cut -d' ' -f1 /proc/uptime)
	iops=$(echo "$line" | cut -d';' -f8)
	# The guest's CPU time per I/O: busy ticks (10 ms) over the whole fio run, ramp-up and
	# start included, divided by the I/Os at the measured rate over the same wall time.
	cpu_us=$(awk -v b="$((b1 - b0))" -v t0="$t0" -v t1="$t1" -v i="$iops" \
		'BEGIN { n = i * (t1 - t0); if (n > 0) printf "%.0f", b * 10000 / n; else print "-" }')
	busy=$(awk -v b="$((b1 - b0))" -v t0="$t0" -v t1="$t1" -v c="$(nproc)" \
		'BEGIN { printf "%.0f", b / ((t1 - t0) * c) }')
	echo "BENCH dev=$7 test=$2 iops=$iops kib_s=$(echo "$line" | cut -d';' -f7) cpu_us_per_io=$cpu_us busy_pct=$busy"
}
echo "$BENCH_RUNS" | while read -r name rw bs qd jobs; do
	mark "bench-$name-begin"
	sleep 1
	bench "$sd" "$name" "$rw" "$bs" "$qd" "$jobs" storvsc
	mark "bench-$name-end"
	sleep 1
	bench vda "$name" "$rw" "$bs" "$qd" "$jobs" virtio
done || exit 1
# Where the guest's kernel spends its time on the synthetic disk: each run again, not measured,
# with kprof sampling all CPUs for most of it ("KPROF" lines, tagged with the run's name).
echo "$BENCH_RUNS" | while read -r name rw bs qd jobs; do
	kprof $((BENCH_SECS - 2)) 25 >/tmp/kprof.out 2>&1 &
	pid=$!
	bench "$sd" "$name" "$rw" "$bs" "$qd" "$jobs" storvsc-profiled >/dev/null
	wait $pid || fail "kprof: $(cat /tmp/kprof.out)"
	sed "s/^KPROF /KPROF test=$name /" /tmp/kprof.out
done || exit 1
check_dmesg_clean
