#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench-storage: the synthetic SCSI benchmark (not a timed test: it prints numbers and
# fails only if a run cannot complete). For each stack (the C hv_vmbus + hv_storvsc of the test
# kernel, then ours once drivers/scsi/storvsc builds hv_storvsc.ko) one guest with 2 vCPUs
# against the host engine (built optimized) runs the suite tests/vm/suites/bench-storage: fio
# 4 KiB random reads at queue depth 32 (2 jobs) and 1 MiB sequential reads at queue depth 8 on
# the engine's RAM-backed LUN, then the same on a virtio-blk disk of the same guest whose image
# sits in the host's page cache. The engine counts the SRBs and the guest's signals of each run
# on the synthetic disk, with the theoretical count (see the suite's host.sh).
#
# Under TCG the absolute numbers measure the emulator as much as the drivers: the ratios
# (ours / C on the same engine, storvsc / virtio-blk in the same guest) are what to read.
#
# The kernel is by default the test kernel's configuration without its debugging options
# ("production"); --kernel test takes the test kernel itself (lockdep, kmemleak, ...).
#
#   scripts/bench-storage.sh [--stack c|rust]... [--kernel production|test]
#                                                     default: both stacks that exist
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"
cd "$top"

stacks=() kernel=production
while [ $# -gt 0 ]; do
	case $1 in
	--stack) stacks+=("$2"); shift ;;
	--kernel) kernel=$2; shift ;;
	*) die "usage: bench-storage.sh [--stack c|rust]... [--kernel production|test]" ;;
	esac
	shift
done

"$here/install-deps.sh"
case $kernel in
test) ;;
production)
	# The test kernel's fragment without its debugging options (lockdep, kmemleak, Rust
	# debug assertions and overflow checks, list and SLUB debugging), which cost every lock,
	# allocation and arithmetic operation of both stacks: a kernel configured as a
	# distribution's. A kernel of its own in the cache (built once, about as long as the test
	# kernel), with the modules built against it.
	frag=$top/out/kconfig-production.config
	mkdir -p "$top/out"
	sed -E 's/^CONFIG_(PROVE_LOCKING|DEBUG_ATOMIC_SLEEP|DEBUG_LIST|SLUB_DEBUG|DEBUG_KMEMLEAK|RUST_OVERFLOW_CHECKS|RUST_DEBUG_ASSERTIONS)=y$/# CONFIG_\1 is not set/' \
		"$top/scripts/kconfig/hv-rs.config" >"$frag"
	export HVRS_KCONFIG_FRAGMENT=$frag
	;;
*) die "bench-storage: --kernel production or test, not $kernel" ;;
esac
log "bench-storage: the $kernel kernel"
"$here/kernel.sh" >/dev/null
hvq=$("$here/qemu.sh" --print)
"$here/modules.sh" -s modules
"$here/initramfs.sh"
if [ ${#stacks[@]} -eq 0 ]; then
	stacks=(c)
	if [ -n "$(find drivers/scsi -name hv_storvsc.ko 2>/dev/null)" ]; then
		stacks+=(rust)
	else
		log "bench-storage: no hv_storvsc.ko of ours yet: the C stack only"
	fi
fi

declare -A val
for stack in "${stacks[@]}"; do
	name=bench-storage@$stack
	log "bench-storage: $stack stack"
	HV_HOST_PROFILE=release "$here/run-vm-engine.sh" --suite bench-storage --name "$name" \
		--stack "$stack" --qemu "$hvq" --smp 2 --timeout 900 |
		tail -n 1 | grep -q '^[0-9]* passed, 0 failed$' ||
		die "bench-storage: the $stack run failed (out/vm-$name.log, out/vm-$name-host.log)"
	# "BENCH dev=D test=T k=v ..." lines from the guest (console) and the host side.
	while read -r line; do
		dev=$(sed -n 's/.* dev=\([^ ]*\).*/\1/p' <<<"$line")
		test=$(sed -n 's/.* test=\([^ ]*\).*/\1/p' <<<"$line")
		for kv in $line; do
			case $kv in dev=* | test=* | BENCH) ;; *=*) val[$stack/$dev/$test/${kv%%=*}]=${kv#*=} ;; esac
		done
	done < <(cat "out/vm-$name.log" "out/vm-$name-host.log" | tr -d '\r' | grep -a '^BENCH dev=')
	grep -a '^BENCH cpus=' "out/vm-$name.log" | tr -d '\r' || true
done

v() { echo "${val[$1]:--}"; }
ratio() { # a b
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'
}
echo
printf '%-6s %-11s %8s %8s %8s %9s %10s %10s %10s %10s %10s\n' stack test "IOPS" "MiB/s" "virtio" \
	"vs virtio" "signals/IO" "theory/IO" "irqs/IO" "CPU us/IO" "virtio us"
for stack in "${stacks[@]}"; do
	for test in randread4k seqread1m; do
		iops=$(v "$stack/storvsc/$test/iops") kib=$(v "$stack/storvsc/$test/kib_s")
		viops=$(v "$stack/virtio/$test/iops")
		srbs=$(v "$stack/storvsc/$test/srbs")
		printf '%-6s %-11s %8s %8s %8s %9s %10s %10s %10s %10s %10s\n' "$stack" "$test" "$iops" \
			"$(awk -v k="$kib" 'BEGIN { if (k == "-") print "-"; else printf "%.1f", k / 1024 }')" \
			"$viops" "$(ratio "$iops" "$viops")" \
			"$(ratio "$(v "$stack/storvsc/$test/guest_signals")" "$srbs")" \
			"$(ratio "$(v "$stack/storvsc/$test/idle_ends")" "$srbs")" \
			"$(ratio "$(v "$stack/storvsc/$test/host_signals")" "$srbs")" \
			"$(v "$stack/storvsc/$test/cpu_us_per_io")" "$(v "$stack/virtio/$test/cpu_us_per_io")"
	done
done
if [ ${#stacks[@]} -gt 1 ]; then
	echo
	for test in randread4k seqread1m; do
		echo "ours / C, $test: IOPS $(ratio "$(v "rust/storvsc/$test/iops")" "$(v "c/storvsc/$test/iops")")," \
			"signals per I/O $(ratio "$(v "rust/storvsc/$test/guest_signals")" "$(v "rust/storvsc/$test/srbs")")" \
			"vs $(ratio "$(v "c/storvsc/$test/guest_signals")" "$(v "c/storvsc/$test/srbs")")," \
			"guest CPU per I/O $(ratio "$(v "rust/storvsc/$test/cpu_us_per_io")" "$(v "c/storvsc/$test/cpu_us_per_io")")x"
	done
fi
for stack in "${stacks[@]}"; do
	for test in randread4k seqread1m; do
		echo
		echo "$stack, $test on the synthetic disk, the guest kernel's time (kprof, a run of its own):"
		tr -d '\r' <"out/vm-bench-storage@$stack.log" | grep -a "^KPROF test=$test " |
			sed "s/^KPROF test=$test /  /" | head -n 16
	done
done
echo
echo "IOPS and MiB/s: fio on the synthetic disk; virtio: the virtio-blk disk's IOPS in the same"
echo "guest. signals/IO: guest signals per SRB counted by the engine; theory/IO: the signals the"
echo "rules require (read passes that left the ring empty and unmasked) per SRB. irqs/IO: the"
echo "host's signals to the guest (channel interrupts) per SRB."
echo "CPU us/IO: the guest's busy CPU time (all CPUs, /proc/stat) per I/O during the fio run on the"
echo "synthetic disk; virtio us: the same on the virtio-blk disk."
