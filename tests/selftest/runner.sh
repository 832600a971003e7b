#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Self-tests of the pipeline: each injects one failure and checks that the pipeline reports it
# (non-zero exit and the reason on screen), so a broken module, a failing in-VM test, a guest
# panic or a hung guest can never pass `make check` unnoticed.
#
#   tests/selftest/runner.sh compile-error|failing-test|guest-panic|guest-hang|kernel-cache|minihost-killed
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
S=$top/scripts
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

expect() { # description rc-must-be-nonzero output pattern
	if [ "$2" -eq 0 ]; then
		echo "self-test: $1: the pipeline exited 0"
		return 1
	fi
	if ! grep -qE "$4" <<<"$3"; then
		echo "self-test: $1: exit $2 but the reason ('$4') was not shown; output was:"
		echo "$3" | tail -n 20
		return 1
	fi
	echo "self-test: $1: detected (exit $2)"
}

case "${1:-}" in
compile-error)
	# A copy of the tree with a Rust type error in the bus module must fail `make modules`
	# with rustc's error on screen.
	(cd "$top" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$out")
	printf '\nfn hvrs_selftest_broken() -> u32 { "not a number" }\n' >>"$out/drivers/hv/vmbus/vmbus.rs"
	o=$(cd "$out" && make -s modules 2>&1)
	expect "Rust compile error" $? "$o" 'error\[E0308\]: mismatched types'
	;;
failing-test)
	o=$("$S/run-vm.sh" --quiet --suite selftest-fail --qemu "$(command -v qemu-system-x86_64)" \
		--timeout 120 --log "$out/console.log" 2>&1)
	expect "failing in-VM test" $? "$o" '^not ok selftest-fail/10-fails'
	;;
guest-panic)
	o=$("$S/run-vm.sh" --quiet --suite selftest-panic --qemu "$(command -v qemu-system-x86_64)" \
		--timeout 120 --log "$out/console.log" 2>&1)
	expect "guest panic" $? "$o" 'Kernel panic'
	;;
guest-hang)
	o=$("$S/run-vm.sh" --quiet --suite selftest-hang --qemu "$(command -v qemu-system-x86_64)" \
		--timeout 30 --log "$out/console.log" 2>&1)
	expect "hung guest" $? "$o" 'did not finish within 30s'
	;;
minihost-killed)
	# The external VMBus host dies under a running guest (QEMU in external-host mode): the run
	# must fail within seconds, saying so, not hang until run-vm.sh's timeout (a guest waiting
	# for a VMBus answer waits forever). The minihost is killed once QEMU has connected to it and
	# the guest has started its first test (10-c-connect: modprobe hv_vmbus).
	qemu=$("$S/qemu.sh" --print) || { echo "self-test: no project QEMU"; exit 1; }
	"$top/tests/vm/with-minihost.sh" --host-log "$out/minihost.log" -- --quiet \
		--suite minihost-c --hyperv --qemu "$qemu" --timeout 400 \
		--log "$out/console.log" >"$out/run.out" 2>&1 &
	run=$!
	kill_tree() { # pid: it and everything below it, deepest first
		local c
		for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$c"; done
		kill "$1" 2>/dev/null
	}
	host=""
	for _ in $(seq 3000); do # 300 s: cargo build (cached), QEMU start and the guest's boot
		if grep -q 'QEMU connected' "$out/minihost.log" 2>/dev/null &&
			grep -q 'HVRS-TEST-BEGIN' "$out/console.log" 2>/dev/null; then
			host=$(pgrep -P "$run" -x vmbus-minihost)
			break
		fi
		kill -0 "$run" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$host" ]; then
		kill_tree "$run"
		echo "self-test: QEMU never connected to the minihost or the guest never started a test:"; tail -n 20 "$out/run.out" "$out/minihost.log"
		exit 1
	fi
	kill -KILL "$host"
	s=$(date +%s)
	for _ in $(seq 600); do kill -0 "$run" 2>/dev/null || break; sleep 0.1; done # 60 s
	if kill -0 "$run" 2>/dev/null; then
		kill_tree "$run"
		echo "self-test: the run still going 60 s after the minihost was killed"
		exit 1
	fi
	wait "$run"
	rc=$?
	o=$(cat "$out/run.out")
	expect "external host killed" $rc "$o" 'not ok minihost-c/minihost' || exit 1
	expect "external host killed" $rc "$o" 'external VMBus host .* died while the VM was running' || exit 1
	grep -A 1 'not ok' <<<"$o"
	echo "self-test: the run stopped $(( $(date +%s) - s ))s after the minihost was killed"
	;;
kernel-cache)
	# The cached kernel is reused when nothing changed and never when the config changed: the
	# key must move with any fragment line, and a warm run must not build.
	k1=$("$S/kernel.sh" --key)
	cp "$top/scripts/kconfig/hv-rs.config" "$out/frag"
	echo "CONFIG_HVRS_SELFTEST_DUMMY=y" >>"$out/frag"
	k2=$(HVRS_KCONFIG_FRAGMENT="$out/frag" "$S/kernel.sh" --key)
	sed -i 's/^CONFIG_PRINTK_TIME=y$/# CONFIG_PRINTK_TIME is not set/' "$out/frag"
	k3=$(HVRS_KCONFIG_FRAGMENT="$out/frag" "$S/kernel.sh" --key)
	[ "$k1" != "$k2" ] && [ "$k2" != "$k3" ] || { echo "self-test: cache key did not change with the config ($k1 $k2 $k3)"; exit 1; }
	[ "$k1" = "$("$S/kernel.sh" --key)" ] || { echo "self-test: cache key is not stable"; exit 1; }
	s=$(date +%s)
	o=$("$S/kernel.sh" 2>&1) || { echo "$o"; exit 1; }
	grep -q 'kernel: cached' <<<"$o" || { echo "self-test: warm kernel.sh did not report the cache: $o"; exit 1; }
	[ $(( $(date +%s) - s )) -lt 10 ] || { echo "self-test: warm kernel.sh took too long"; exit 1; }
	# A fragment line that did not survive olddefconfig fails the configuration by name.
	kdir=$("$S/kernel.sh" --print-kdir 2>/dev/null)
	"$S/kernel.sh" --verify "$kdir/.config" || { echo "self-test: the cached .config fails its own fragment"; exit 1; }
	grep -v '^CONFIG_HYPERV_VMBUS=m$' "$kdir/.config" >"$out/config"
	o=$("$S/kernel.sh" --verify "$out/config" 2>&1)
	expect "lost fragment line" $? "$o" 'lost: CONFIG_HYPERV_VMBUS=m' || exit 1
	echo "self-test: cache keys $k1 / $k2 / $k3; warm run reused the cache"
	;;
engine-killed)
	# The same for the host engine (scripts/run-vm-engine.sh): killed under a running guest,
	# the run stops within seconds and says the engine died.
	qemu=$("$S/qemu.sh" --print) || { echo "self-test: no project QEMU"; exit 1; }
	"$S/run-vm-engine.sh" --suite host-engine-c --qemu "$qemu" --timeout 400 --quiet \
		--log "$out/console.log" >"$out/run.out" 2>&1 &
	run=$!
	ekill() { # pid: it and everything below it
		local c
		for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do ekill "$c"; done
		kill "$1" 2>/dev/null
	}
	eng=""
	for _ in $(seq 3000); do # 300 s: cargo build (cached), QEMU start and the guest's boot
		if grep -q 'HVRS-TEST-BEGIN' "$out/console.log" 2>/dev/null; then
			eng=$(pgrep -P "$run" -x hv-host)
			break
		fi
		kill -0 "$run" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$eng" ]; then
		ekill "$run"
		echo "self-test: the guest never started a test under the engine:"; tail -n 20 "$out/run.out"
		exit 1
	fi
	kill -KILL "$eng"
	s=$(date +%s)
	for _ in $(seq 600); do kill -0 "$run" 2>/dev/null || break; sleep 0.1; done # 60 s
	if kill -0 "$run" 2>/dev/null; then
		ekill "$run"
		echo "self-test: the run still going 60 s after the engine was killed"
		exit 1
	fi
	wait "$run"
	rc=$?
	o=$(cat "$out/run.out")
	expect "host engine killed" $rc "$o" 'the host engine died during the run' || exit 1
	echo "self-test: the run stopped $(( $(date +%s) - s ))s after the engine was killed"
	;;
*)
	echo "usage: $0 compile-error|failing-test|guest-panic|guest-hang|kernel-cache|minihost-killed" >&2
	exit 2
	;;
esac
