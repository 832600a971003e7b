#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: every test, from fast to real. Installs and builds what is missing first (the
# kernel and QEMU builds are cached), then runs
#   cargo tests, the fuzz smoke run, the module build (W=e), clippy, rustfmt, the runner's
#   self-tests and the in-VM suites,
# and ends with one line "N passed, N failed". Exit status 0 only if nothing failed.
# Each step's output goes to out/check/<step>.log; a failing step's tail is shown on screen.
#
# HVRS_CHECK_ONLY="re" limits the steps to those whose name matches the regular expression.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"
cd "$top"

logdir=$top/out/check
rm -rf "$logdir"
mkdir -p "$logdir"
passed=0 failed=0 failures=()
t0=$(date +%s)

selected() { [ -z "${HVRS_CHECK_ONLY:-}" ] || [[ $1 =~ $HVRS_CHECK_ONLY ]]; }

show_tail() { # log
	echo "  --- $1 (last 40 lines) ---"
	tail -n 40 "$1" | sed 's/^/  | /'
}

# A setup step: nothing to count, but the rest cannot run without it.
setup() { # name command...
	local name=$1 log="$logdir/setup-$1.log" s=$(date +%s)
	shift
	log "check: $name"
	if ! "$@" >"$log" 2>&1; then
		echo "FAIL setup/$name ($(( $(date +%s) - s ))s)"
		show_tail "$log"
		failed=$((failed + 1))
		failures+=("setup/$name")
		finish
	fi
	log "check: $name done ($(( $(date +%s) - s ))s)"
}

# A test step: counts as one test.
step() { # name command...
	local name=$1 log="$logdir/${1//\//_}.log" s=$(date +%s)
	shift
	selected "$name" || return 0
	if "$@" >"$log" 2>&1; then
		echo "PASS $name ($(( $(date +%s) - s ))s)"
		passed=$((passed + 1))
	else
		echo "FAIL $name ($(( $(date +%s) - s ))s)"
		show_tail "$log"
		failed=$((failed + 1))
		failures+=("$name")
	fi
}

# A step that reports many tests: cargo's "test result:" lines or run-vm's "ok"/"not ok" lines.
cargo_tests() {
	local log="$logdir/cargo-test.log" s=$(date +%s) p f
	selected cargo-test || return 0
	cargo test --workspace --no-fail-fast >"$log" 2>&1
	local rc=$?
	p=$(awk '/^test result:/ {s += $4} END {print s + 0}' "$log")
	f=$(awk '/^test result:/ {s += $6} END {print s + 0}' "$log")
	if [ $rc -ne 0 ] && [ "$f" = 0 ]; then f=1; fi # did not build, or a runner crashed
	echo "$( [ "$f" = 0 ] && echo PASS || echo FAIL ) cargo-test: $p passed, $f failed ($(( $(date +%s) - s ))s)"
	[ "$f" = 0 ] || { show_tail "$log"; failures+=("cargo-test"); }
	passed=$((passed + p))
	failed=$((failed + f))
}

# An in-VM suite: a command that prints "ok <test>" / "not ok <test>" lines (run-vm.sh and the
# wrappers that start a VMBus host beside it); each line counts as one test.
vm_cmd() { # name command...
	local name=$1 log="$logdir/vm-$1.log" s=$(date +%s) p=0 f=0
	shift
	selected "vm/$name" || return 0
	"$@" >"$log" 2>&1
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	grep -E '^(ok|not ok) ' "$log" | sed 's/^ok /PASS vm\//; s/^not ok /FAIL vm\//'
	if [ "$f" != 0 ] || [ "$p" = 0 ]; then
		[ "$f" != 0 ] || f=1
		show_tail "$log"
		failures+=("vm/$name")
	fi
	echo "     vm/$name: ${p} passed, ${f} failed ($(( $(date +%s) - s ))s)"
	passed=$((passed + p))
	failed=$((failed + f))
}

vm_suite() { # name run-vm args...
	local name=$1
	shift
	vm_cmd "$name" "$here/run-vm.sh" --quiet --suite "$name" --log "$logdir/console-$name.log" "$@"
}

# The module build: W=e makes compiler warnings errors; objtool and modpost warnings are not
# covered by it, so any "warning:" line fails the step too.
build_clean() { # modules.sh args...
	local out rc
	out=$("$here/modules.sh" "$@" 2>&1)
	rc=$?
	echo "$out"
	[ $rc -eq 0 ] || return $rc
	if grep -E 'warning:|WARNING:' <<<"$out"; then
		echo "build printed warnings (above)"
		return 1
	fi
}

finish() {
	local total=$(( $(date +%s) - t0 ))
	echo
	[ ${#failures[@]} -eq 0 ] || echo "failed: ${failures[*]}"
	echo "check: $((total / 60))m$((total % 60))s, logs in out/check/"
	echo "$passed passed, $failed failed"
	[ $failed -eq 0 ] && exit 0 || exit 1
}

setup deps "$here/install-deps.sh"
cargo_tests
# Every fuzz target of the protocol core for 20 s (scripts/fuzz.sh); fails on a crash or hang.
step fuzz/smoke "$here/fuzz.sh" --smoke
setup kernel "$here/kernel.sh"
[ ! -x "$here/qemu.sh" ] || setup qemu "$here/qemu.sh"
step build/modules build_clean modules
step build/clippy build_clean modules CLIPPY=1
step build/rustfmt make -s fmt-check
setup initramfs "$here/initramfs.sh"
step runner/compile-error "$top/tests/selftest/runner.sh" compile-error
step runner/failing-test "$top/tests/selftest/runner.sh" failing-test
step runner/guest-panic "$top/tests/selftest/runner.sh" guest-panic
step runner/guest-hang "$top/tests/selftest/runner.sh" guest-hang
step runner/kernel-cache "$top/tests/selftest/runner.sh" kernel-cache
# Stock machine, no Hyper-V flags: nothing changes, our bus and the C bus refuse to load.
stock_qemu=$(command -v qemu-system-x86_64)
vm_suite stock --qemu "$stock_qemu" --timeout 240
# The Debian-root guest (systemd, udev, kmod) on the stock machine.
setup debian-image "$here/debian-root.sh" --image "$top/out/debian.img"
vm_suite debian-stock --qemu "$stock_qemu" --debian "$top/out/debian.img" --timeout 300

# The project's QEMU: the guest sees Hyper-V. First the C reference drivers against QEMU's own
# VMBus host (4.0, hv-balloon driven through QMP), then against the minimal external host and
# the host engine (6.0), whose protocol checks fail the run on any violation.
hvq=$("$here/qemu.sh" --print)
step runner/minihost-killed "$top/tests/selftest/runner.sh" minihost-killed
step runner/engine-killed "$top/tests/selftest/runner.sh" engine-killed
vm_suite qemu-hyperv-c --hyperv --qemu "$hvq" --smp 2 --mem 1G,maxmem=64G --timeout 600 \
	--append hvrs.test_timeout=420 --host-script "$top/tests/vm/suites/qemu-hyperv-c/host.sh" -- \
	-object memory-backend-ram,id=hamem,size=2G -device vmbus-bridge \
	-device hv-balloon,status-report=on,memdev=hamem
vm_suite qemu-hyperv-c-up --hyperv --qemu "$hvq" --smp 1 --mem 1G,maxmem=64G --timeout 400 -- \
	-object memory-backend-ram,id=hamem,size=2G -device vmbus-bridge \
	-device hv-balloon,status-report=on,memdev=hamem
vm_cmd minihost-c "$top/tests/vm/with-minihost.sh" -- --suite minihost-c --hyperv --qemu "$hvq" --timeout 300
vm_cmd host-engine-c "$here/run-vm-engine.sh" --suite host-engine-c --qemu "$hvq" --timeout 300
# The C hv_vmbus falls back to each lower version the engine offers, as it would on older hosts.
for v in 5.3 5.2 5.1 5.0 4.1 4.0 3.0 2.4; do
	vm_cmd "host-engine-c@$v" "$here/run-vm-engine.sh" --suite host-engine-c --qemu "$hvq" --max-version "$v" --timeout 300
done
# hv_storvsc against the engine's storvsp (issue 9), the C reference here and ours below: disks,
# ext4, pattern I/O, discard as UNMAP, LUN hot add and removal, resize, SRB errors, host reset,
# bogus completions, reload; then with the engine capped at VMSTOR 5.1 (the driver falls back
# from 6.2 and 6.0; no WRITE SAME).
storvsc_run() { # stack [vstor]
	local name="storvsc@$1" cap=()
	if [ -n "${2:-}" ]; then
		name="storvsc-$2@$1"
		cap=(--device "scsi,vstor=$2" --append "hvrs.vstor=$2")
	fi
	vm_cmd "$name" "$here/run-vm-engine.sh" --suite storvsc --name "$name" --stack "$1" "${cap[@]}" \
		--qemu "$hvq" --smp 2 --timeout 900
}
storvsc_run c
storvsc_run c 5.1
# hv_storvsc with the engine's storvsp offered as two synthetic FC adapters (primary and
# secondary port active) and an IDE accelerator: the disks, the FC transport class (fc_host
# WWNs, one remote port each), C's FC transfer limit, the IDE target from the instance GUID,
# unbind/bind and reload.
storvsc_fc_run() { # stack
	vm_cmd "storvsc-fc@$1" "$here/run-vm-engine.sh" --suite storvsc-fc --name "storvsc-fc@$1" \
		--stack "$1" --qemu "$hvq" --smp 2 --timeout 1500 --append hvrs.test_timeout=400
}
storvsc_fc_run c
# hv_utils' acceptance suites (issue 7) with the C reference stack (hvrs.stack=c): heartbeat,
# time sync and the PTP clock, KVP and VSS with the unmodified daemons, malformed IC messages,
# hibernate refused without S4, rmmod; the hibernate uevent of a guest with S4; then a
# host-requested power-off and reboot, which end the run.
utils_runs() { # stack
	vm_cmd "utils@$1" "$here/run-vm-engine.sh" --suite utils --name "utils@$1" --stack "$1" \
		--qemu "$hvq" --timeout 900
	vm_cmd "utils-hibernate@$1" "$here/run-vm-engine.sh" --suite utils-hibernate \
		--name "utils-hibernate@$1" --stack "$1" --s4 --qemu "$hvq" --timeout 300
	vm_cmd "utils-shutdown@$1" "$here/run-vm-engine.sh" --suite utils-shutdown \
		--name "utils-shutdown@$1" --stack "$1" --expect-end poweroff --qemu "$hvq" --timeout 400
	vm_cmd "utils-reboot@$1" "$here/run-vm-engine.sh" --suite utils-reboot \
		--name "utils-reboot@$1" --stack "$1" --expect-end reboot --qemu "$hvq" --timeout 400
}
utils_runs c
# File copy through uio_hv_generic and the unmodified hv_fcopy_uio_daemon (issue 8).
fcopy_run() { # stack
	vm_cmd "fcopy@$1" "$here/run-vm-engine.sh" --suite fcopy --name "fcopy@$1" --stack "$1" \
		--qemu "$hvq" --timeout 900
}
fcopy_run c

# hv_balloon against QEMU's hv-balloon with the C stack or ours (issue 10): negotiation, status
# reports after pressure_report_delay, balloon 1G -> 512M -> 1G driven through QMP by the
# suite's host.sh, unload (ours gives the pages back; the C driver cannot be unloaded).
balloon_run() { # stack
	vm_cmd "balloon@$1" "$here/run-vm.sh" --quiet --suite balloon --log "$logdir/console-balloon@$1.log" \
		--hyperv --qemu "$hvq" --smp 2 --mem 1G,maxmem=64G --timeout 700 \
		--append hvrs.test_timeout=400 --append "hvrs.stack=$1" \
		--host-script "$top/tests/vm/suites/balloon/host.sh" -- \
		-object memory-backend-ram,id=hamem,size=2G -device vmbus-bridge \
		-device hv-balloon,status-report=on,memdev=hamem
}
balloon_run c
# Free page reporting (issue 10): QEMU offers the extended hypercalls (hv-ext-hypercalls=on), so
# hv_balloon registers with page reporting and hints free memory as cold-discard; the suite's
# host.sh reads the pages QEMU counted as hinted (the CPU's hv-ext-hinted-pages property).
# "small": the guest reports from order 0 and QEMU refuses ranges below 2 MiB, as some Hyper-V
# versions do: the driver falls back to whole pageblocks and goes on. "refuse": QEMU refuses
# every range: the driver disables page reporting after two failures.
balloon_fpr_run() { # stack [small|refuse]
	local name="balloon-fpr@$1" flags=hv-ext-hypercalls=on args=()
	case "${2:-}" in
	small)
		flags+=",x-hv-ext-hint-min-order=9"
		args=(--append page_reporting.page_reporting_order=0) ;;
	refuse)
		flags+=",x-hv-ext-hint-min-order=11"
		args=(--append hvrs.fpr=refuse) ;;
	esac
	[ -z "${2:-}" ] || name="balloon-fpr-$2@$1"
	vm_cmd "$name" "$here/run-vm.sh" --quiet --suite balloon-fpr \
		--log "$logdir/console-$name.log" --hyperv --cpu-flags "$flags" "${args[@]}" \
		--qemu "$hvq" --smp 2 --mem 1G --timeout 500 --append hvrs.test_timeout=300 \
		--append "hvrs.stack=$1" --host-script "$top/tests/vm/suites/balloon-fpr/host.sh" -- \
		-device vmbus-bridge -device hv-balloon,status-report=on
}
balloon_fpr_run c
balloon_fpr_run c small
balloon_fpr_run c refuse
# hv_balloon against the engine's Dynamic Memory back end, which checks every page returned:
# 256 MiB, the floor with a process holding memory, hot-add answers (misaligned, partial success
# into memory the guest booted without: 2G of RAM, mem=1G), fallback to 1.0 and 0.3.
balloon_engine_run() { # stack
	vm_cmd "balloon-engine@$1" "$here/run-vm-engine.sh" --suite balloon-engine \
		--name "balloon-engine@$1" --stack "$1" --qemu "$hvq" --timeout 900 --mem 2G \
		--append mem=1G --append hvrs.test_timeout=800
}
balloon_engine_run c
# The hibernation policy (ACPI S4 on): balloon-up and hot-add requests ignored, as C does.
balloon_s4_run() { # stack
	vm_cmd "balloon-s4@$1" "$here/run-vm-engine.sh" --suite balloon-s4 --name "balloon-s4@$1" \
		--stack "$1" --s4 --qemu "$hvq" --timeout 300
}
balloon_s4_run c

# Our hv_vmbus: no VMBus in ACPI (ENODEV, like C); QEMU's own host (4.0, the balloon offered,
# a channel opened by the sample driver, reload cycles, CPU hotplug, sysfs against C); the
# minihost (6.0 and each cap); the engine (its devices, echo traffic, sysfs byte-identical to
# the C bus's, then rescinds, malformed messages and a corrupted ring).
vm_suite vmbus-nobus --hyperv --qemu "$hvq" --timeout 200
vm_suite vmbus-qemu --hyperv --qemu "$hvq" --smp 2 --mem 1G,maxmem=64G --timeout 500 -- \
	-object memory-backend-ram,id=hamem,size=2G -device vmbus-bridge \
	-device hv-balloon,status-report=on,memdev=hamem
vm_cmd vmbus-minihost "$top/tests/vm/with-minihost.sh" -- --suite vmbus-minihost --hyperv --qemu "$hvq" --smp 2 --timeout 400
vm_cmd vmbus-engine "$here/run-vm-engine.sh" --suite vmbus-engine --qemu "$hvq" --smp 2 --timeout 900 \
	--append hvrs.test_timeout=500
vm_cmd vmbus-engine-faults "$here/run-vm-engine.sh" --suite vmbus-engine-faults --qemu "$hvq" --smp 2 --timeout 700
# Subchannels of the engine's echo device opened by vmbus_sample: sysfs, MODIFYCHANNEL, close on
# unbind, pending_send_sz both ways, rescind of a subchannel and of the device, an orphan offer.
vm_cmd vmbus-subchannels "$here/run-vm-engine.sh" --suite vmbus-subchannels --qemu "$hvq" --smp 2 \
	--timeout 900 --append hvrs.test_timeout=300
# Our bus falls back to each older version the engine is capped at, and its channels work there.
for v in 5.3 5.0 4.1 4.0 3.0 2.4; do
	vm_cmd "vmbus-versions@$v" "$here/run-vm-engine.sh" --suite vmbus-versions --name "vmbus-versions@$v" \
		--qemu "$hvq" --max-version "$v" --timeout 300
done
# The util daemons' character device (tests/chardev: transport.rs on rust/hv/chardev.rs).
vm_suite chardev --hyperv --qemu "$hvq" --smp 2 --timeout 200 -- -device vmbus-bridge
# Our hv_utils: the same suites with our stack, and the PTP clock going stale (our test knob).
utils_runs rust
vm_cmd "utils-stale@rust" "$here/run-vm-engine.sh" --suite utils-stale --name "utils-stale@rust" \
	--stack rust --qemu "$hvq" --timeout 300
fcopy_run rust
# Our hv_storvsc with the same suite (the primary channel only until subchannels land).
storvsc_run rust
storvsc_run rust 5.1
storvsc_fc_run rust
# Ours only: the host rescinds a subchannel, then the controller, with requests in flight; the
# subchannel's requests go out again on the primary channel, and the controller must go away without
# hanging. The C driver of 7.2 waits for answers that never come (seen here: the controller
# still there when the test's 120 s ran out, then a hung-task report), so it has no run.
vm_cmd storvsc-rescind@rust "$here/run-vm-engine.sh" --suite storvsc-rescind --name storvsc-rescind@rust \
	--stack rust --qemu "$hvq" --smp 2 --timeout 400
# Our hv_balloon with the same suite, then its numbers against the C driver's of this run.
balloon_run rust
balloon_fpr_run rust
balloon_fpr_run rust small
balloon_fpr_run rust refuse
balloon_engine_run rust
balloon_s4_run rust
step balloon/compare "$top/tests/vm/balloon-compare.sh" "$logdir/console-balloon@c.log" \
	"$logdir/console-balloon@rust.log"
# The Debian-root guest against the engine: udev autoloads our hv_vmbus and, by MODALIAS, our
# hv_utils; Debian's units start the unmodified KVP and VSS daemons on our misc devices; the
# kernel's lsvmbus lists our bus.
vm_cmd debian-utils "$here/run-vm-engine.sh" --suite debian-utils --qemu "$hvq" \
	--debian "$top/out/debian.img" --timeout 500
finish
