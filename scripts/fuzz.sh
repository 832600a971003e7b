#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs the protocol core's fuzz targets (rust/hv_proto/fuzz, cargo-fuzz/libFuzzer).
#
#   scripts/fuzz.sh --smoke [SECONDS]     every target for SECONDS (default 20) each: make fuzz-smoke
#   scripts/fuzz.sh --long SECONDS        every target for SECONDS each: make fuzz FUZZ_SECONDS=...
#   options: --jobs N (targets run side by side, default 1), --targets "a b" (default: all),
#            --list
#
# Builds the targets with the stable toolchain and no sanitizer (`cargo fuzz -s none`: the crate
# has no unsafe code, so ASan would find nothing the bounds checks do not; libFuzzer's coverage
# instrumentation is plain rustc -C flags), with debug assertions and overflow checks on, as in
# the kernel (CONFIG_RUST_OVERFLOW_CHECKS). Seeds from the crate's builders (examples/gen_corpus)
# go to out/fuzz/seeds, the growing corpora to out/fuzz/corpus/<target>, crash inputs to
# out/fuzz/artifacts/<target>, logs to out/fuzz/logs (HVRS_FUZZ_OUT moves out/fuzz). A per-input
# timeout of 10 s catches hangs.
#
# Prints one line per target (seconds, executions, exec/s, crashes, corpus size, coverage) and
# exits non-zero if any target crashed, hung, ran out of memory or failed to run.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"

fuzz_dir=$top/rust/hv_proto/fuzz
out=${HVRS_FUZZ_OUT:-$top/out/fuzz}
mode= seconds= jobs=1 targets=

usage() { sed -n '4,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	--smoke) mode=smoke; seconds=20
		if [[ ${2:-} =~ ^[0-9]+$ ]]; then seconds=$2; shift; fi ;;
	--long) mode=long; [[ ${2:-} =~ ^[0-9]+$ ]] || usage; seconds=$2; shift ;;
	--jobs) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage; jobs=$2; shift ;;
	--targets) targets=${2:-}; shift ;;
	--list) mode=list ;;
	*) usage ;;
	esac
	shift
done
[ -n "$mode" ] || usage

cargo fuzz --version >/dev/null 2>&1 || die "cargo-fuzz is missing: run make deps (scripts/install-deps.sh)"
cd "$fuzz_dir"
all=$(cargo fuzz list) || die "cargo fuzz list failed"
[ -n "$targets" ] || targets=$all
for t in $targets; do
	grep -qx "$t" <<<"$all" || die "no fuzz target '$t' (have: $(echo $all))"
done
if [ "$mode" = list ]; then
	echo "$targets"
	exit 0
fi

# -s none: no sanitizer, so stable rustc works; -a: debug assertions (and overflow checks).
FUZZ_FLAGS=(-s none -a)
log "fuzz: building targets"
cargo fuzz build "${FUZZ_FLAGS[@]}" >"$out.build.log" 2>&1 || {
	mkdir -p "$out"
	tail -n 40 "$out.build.log"
	die "fuzz: build failed"
}
mkdir -p "$out/logs" "$out/seeds" "$out/corpus"
mv -f "$out.build.log" "$out/logs/build.log"
rm -rf "$out/seeds"
cargo run --quiet --example gen_corpus -- "$out/seeds" >"$out/logs/seeds.log" 2>&1 || {
	cat "$out/logs/seeds.log"
	die "fuzz: seed generation failed"
}

run_one() { # target
	local t=$1 art=$out/artifacts/$1 seeds=$out/seeds/$1
	mkdir -p "$out/corpus/$t" "$art" "$seeds"
	rm -f "$art"/*
	cargo fuzz run "${FUZZ_FLAGS[@]}" "$t" "$out/corpus/$t" "$seeds" -- \
		-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$art/" >"$out/logs/$t.log" 2>&1
	echo $? >"$out/logs/$t.rc"
}

log "fuzz: $mode run, ${seconds}s per target, $jobs at a time: $(echo $targets)"
running=0
for t in $targets; do
	rm -f "$out/logs/$t.rc"
	run_one "$t" &
	running=$((running + 1))
	if [ $running -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

stat() { # log key
	awk -v k="stat::$2:" '$1 == k {print $2}' "$1" | tail -n 1
}

failed=0 total=0
printf '%-14s %7s %14s %10s %8s %8s %7s\n' target seconds executions exec/s crashes corpus cov
for t in $targets; do
	l=$out/logs/$t.log
	rc=$(cat "$out/logs/$t.rc" 2>/dev/null || echo 255)
	execs=$(stat "$l" number_of_executed_units)
	rate=$(stat "$l" average_exec_per_sec)
	crashes=$(find "$out/artifacts/$t" -type f | wc -l)
	corpus=$(find "$out/corpus/$t" -type f | wc -l)
	cov=$(grep -oE 'cov: [0-9]+' "$l" | tail -n 1 | awk '{print $2}')
	printf '%-14s %7s %14s %10s %8s %8s %7s\n' "$t" "$seconds" "${execs:-?}" "${rate:-?}" \
		"$crashes" "$corpus" "${cov:-?}"
	total=$((total + ${execs:-0}))
	if [ "$rc" != 0 ] || [ "$crashes" != 0 ] || [ -z "$execs" ]; then
		failed=$((failed + 1))
		echo "  FAIL $t (exit $rc): log $l, inputs in $out/artifacts/$t/"
		grep -E -m 5 'panicked|ERROR: libFuzzer|SUMMARY|Test unit written' "$l" | sed 's/^/  | /'
	fi
done
echo "fuzz: $(wc -w <<<"$targets") targets, $total executions, $failed failed"
[ $failed -eq 0 ]
