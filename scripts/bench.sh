#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: the ring buffer benchmark of the protocol core (rust/hv_proto/benches/ring.rs).
# Not a timed test: it prints numbers and fails only if the benchmark cannot run.
#
# 1. Throughput: guest write + host read of 64 B .. 64 KiB payloads on a 1 MiB ring, in
#    packets/s and GB/s, beside a memcpy-only channel doing the same payload copies in the same
#    loop, and the ratio (best of 5 runs each, alternating).
# 2. Instructions per packet under `valgrind --tool=callgrind`: each channel (ring, memcpy-only,
#    null) is run for N1 and N2 packets and the difference of the two totals is divided by
#    N2 - N1, so program start-up and set-up cancel out. Then
#      fixed cost  = ring(payload 0) - null     everything the ring does per packet beyond the
#                                               payload copies: both ends, descriptor and
#                                               trailer copies, checks, barriers, signal rules
#      ring - copy = ring(P) - memcpy(P)        the subtraction with the memcpy-only channel
#                                               measured the same way (it also subtracts that
#                                               channel's own call, bounds and wrap code)
#
# Options: --no-callgrind, --no-table. BENCH_N1/BENCH_N2 change the packet counts.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"
cd "$top"

table=1 cg=1
for a in "$@"; do
	case $a in
	--no-callgrind) cg=0 ;;
	--no-table) table=0 ;;
	*) die "usage: bench.sh [--no-table] [--no-callgrind]" ;;
	esac
done

log "bench: building"
exe=$(cargo bench -p hv_proto --bench ring --no-run 2>&1 | tee /dev/stderr |
	sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -n 1)
[ -n "$exe" ] && [ -x "$exe" ] || die "bench: no benchmark executable"

if [ $table = 1 ]; then
	echo
	"$exe" table bench
	echo
	"$exe" table flat
fi

[ $cg = 1 ] || exit 0
command -v valgrind >/dev/null || die "bench: valgrind is not installed"
n1=${BENCH_N1:-10000} n2=${BENCH_N2:-110000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Instructions of one run: callgrind's total.
irs() { # mem channel packets payload batch
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$exe" callgrind "$@" 2>&1 |
		awk '/Collected :/ {print $4}'
}
# Instructions per packet, start-up cancelled.
per_packet() { # mem channel payload batch
	local a b
	a=$(irs "$1" "$2" "$n1" "$3" "$4")
	b=$(irs "$1" "$2" "$n2" "$3" "$4")
	[ -n "$a" ] && [ -n "$b" ] || die "bench: callgrind run failed"
	echo $(( (b - a + (n2 - n1) / 2) / (n2 - n1) ))
}

echo
echo "instructions per packet (valgrind --tool=callgrind, (Ir($n2) - Ir($n1)) / $((n2 - n1)) packets)"
printf '%-12s %5s %7s %6s %7s %6s %12s %11s\n' memory batch payload ring memcpy null \
	"fixed cost" "ring - copy"
for mem in bench flat; do
	for batch in 16 1; do
		null=$(per_packet "$mem" null 0 "$batch")
		ring0=
		for payload in 0 64 1024; do
			ring=$(per_packet "$mem" ring "$payload" "$batch")
			copy=$(per_packet "$mem" memcpy "$payload" "$batch")
			[ -n "$ring0" ] || ring0=$ring
			fixed=
			[ "$payload" != 0 ] || fixed=$((ring - null))
			printf '%-12s %5s %7s %6s %7s %6s %12s %11s\n' \
				"$([ $mem = bench ] && echo BenchMem || echo FlatRingMem)" "$batch" "$payload" \
				"$ring" "$copy" "$null" "${fixed:--}" "$((ring - copy))"
		done
	done
done
echo "fixed cost: ring(payload 0) - null; ring - copy: ring(P) - memcpy-only channel(P)."
echo "Reference: the kernel's C ring is about 290 instructions per packet beyond the copies."
