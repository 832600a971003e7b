#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run an in-VM suite against our VMBus host engine (tools/hv-host): start `hv-host serve`, boot
# the guest with scripts/run-vm.sh on the project's QEMU with vmbus-bridge in external-host
# mode (guest RAM in a shared memfd), run the suite's host-side script if it has one, then fail
# the run on any protocol error the engine recorded. The engine's log is kept next to the
# console log.
#
#   scripts/run-vm-engine.sh --suite NAME [--name RUN] [--stack c|rust] [--max-version X.Y]
#                            [--device SPEC]... [--disk SPEC]... [--mem SIZE] [--initrd FILE]
#                            [--keep-engine] [run-vm.sh options...]
#
# --stack adds `hvrs.stack=c|rust` to the guest's command line (tests/vm/lib.sh use_stack picks
# the C reference modules or ours from it). --name names the run (default: the suite): its logs
# are out/vm-RUN.log, -engine.log and -host.log, and its result lines read "ok RUN/test", so
# that the same suite run twice (e.g. utils@c and utils@rust) keeps both.
# The guest sees `hvrs.engine_version=X.Y` on its command line (the engine's cap, default 6.0).
# A suite may ship `host.sh` (not executable, so that the guest does not run it): it runs on
# the host beside the VM with HV_HOST (the hv-host binary) and HV_HOST_CTL (its control socket)
# set, e.g. to wait for a channel and send a request; its failure fails the run (its output:
# out/vm-NAME-host.log). A suite may also ship `engine.args`: more `hv-host serve` options it
# needs, one "OPTION VALUE" per line (e.g. `--disk lun=0,ram=64M`; @WORK@ is the run's scratch
# directory). host.sh also gets LOG, the console log, to wait for the guest's "HVRS-MARK name"
# lines (tests/vm/lib.sh mark), HV_STACK, the --stack value (empty without one), and
# HV_HOST_LIB, the helpers to source (tests/vm/host-lib.sh:
# ctl, ok, fail, wait_mark, ...); its own "ok NAME" / "not ok NAME" lines are reported as the
# run's tests "RUN/host-NAME". A suite may ship `qemu.args`: more QEMU arguments, blank-separated
# (@WORK@ as above); a line "scratch-disk FILE SIZE" creates the sparse file @WORK@/FILE first
# (e.g. a virtio disk for a file system). Output ends with "N passed, N failed" like run-vm.sh.
# Exit: 0 all passed, 1 a failure, 2 usage or setup error.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"

suite="" name="" stack="" log="" version=6.0 mem=1G devices=() pass=() keep=0
while [ $# -gt 0 ]; do
	case "$1" in
	--suite) suite=$2; pass+=("$1" "$2"); shift ;;
	--name) name=$2; shift ;;
	--stack) stack=$2; shift ;;
	--log) log=$2; shift ;;
	--max-version) version=$2; shift ;;
	--device) devices+=(--device "$2"); shift ;;
	--disk) devices+=(--disk "$2"); shift ;;
	--mem) mem=$2; shift ;;
	--keep-engine) keep=1 ;;
	--) break ;;
	*) pass+=("$1") ;;
	esac
	shift
done
[ -n "$suite" ] || { echo "run-vm-engine: --suite is required" >&2; exit 2; }
name=${name:-$suite}
append="hvrs.engine_version=$version"
case "$stack" in
'') ;;
c | rust) append+=" hvrs.stack=$stack" ;;
*) echo "run-vm-engine: --stack takes c or rust" >&2; exit 2 ;;
esac
log=${log:-$top/out/vm-$name.log}
extra=()
[ "${1:-}" != -- ] || { shift; extra=("$@"); }

# HV_HOST_PROFILE=release builds the engine optimized (the benchmarks); tests use the debug
# build, whose overflow checks and debug assertions are part of what they test.
profile=${HV_HOST_PROFILE:-debug}
case "$profile" in
debug) (cd "$top" && cargo build -q -p hv-host) ;;
release) (cd "$top" && cargo build -q --release -p hv-host) ;;
*) echo "run-vm-engine: HV_HOST_PROFILE is debug or release" >&2; exit 2 ;;
esac || { echo "run-vm-engine: cannot build hv-host" >&2; exit 2; }
hv_host=$top/target/$profile/hv-host
work=$(mktemp -d /tmp/hv-host-run.XXXXXX)
qsock=$work/qemu.sock
csock=$work/ctl.sock
elog=$top/out/vm-$name-engine.log
hlog=$top/out/vm-$name-host.log
mkdir -p "$top/out"
: >"$elog"
# host.sh starts before the VM: it must not find the marks of the previous run in the log.
: >"$log"
if [ -f "$top/tests/vm/suites/$suite/engine.args" ]; then
	while read -r opt val; do
		case "$opt" in '' | '#'*) continue ;; esac
		devices+=("$opt" ${val:+"${val//@WORK@/$work}"})
	done <"$top/tests/vm/suites/$suite/engine.args"
fi
"$hv_host" serve --qemu-socket "$qsock" --ctl-socket "$csock" --max-version "$version" \
	--log "$elog" "${devices[@]}" &
engine=$!
cleanup() {
	[ -z "${host_pid:-}" ] || kill "$host_pid" 2>/dev/null
	if kill -0 "$engine" 2>/dev/null; then
		"$hv_host" ctl --socket "$csock" --timeout 5 quit >/dev/null 2>&1 || kill "$engine" 2>/dev/null
		wait "$engine" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT
qemu_args=()
if [ -f "$top/tests/vm/suites/$suite/qemu.args" ]; then
	while read -r line; do
		case "$line" in '' | '#'*) continue ;; esac
		line=${line//@WORK@/$work}
		# shellcheck disable=SC2086 # blank-separated words, no quoting
		set -- $line
		if [ "$1" = scratch-disk ]; then
			truncate -s "$3" "$work/$2" || { echo "run-vm-engine: cannot create $work/$2" >&2; exit 2; }
		else
			qemu_args+=("$@")
		fi
	done <"$top/tests/vm/suites/$suite/qemu.args"
fi
for _ in $(seq 100); do [ -S "$csock" ] && break; sleep 0.05; done
[ -S "$csock" ] || { echo "run-vm-engine: hv-host did not start (see $elog)" >&2; exit 2; }

host_rc_file=$work/host.rc
if [ -f "$top/tests/vm/suites/$suite/host.sh" ]; then
	(
		HV_HOST=$hv_host HV_HOST_CTL=$csock LOG=$log HV_HOST_LIB=$top/tests/vm/host-lib.sh \
			HV_STACK=$stack \
			sh "$top/tests/vm/suites/$suite/host.sh" \
			>"$hlog" 2>&1
		echo $? >"$host_rc_file"
	) &
	host_pid=$!
fi

# Kill the processes below $1, deepest first (QEMU under run-vm.sh's `timeout`).
kill_below() {
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		kill_below "$c"
		kill "$c" 2>/dev/null
	done
}
"$here/run-vm.sh" "${pass[@]}" --log "$log" --hyperv --mem "$mem" --append "$append" -- \
	-object "memory-backend-memfd,id=hvhostmem,size=$mem,share=on" \
	-machine memory-backend=hvhostmem \
	-chardev "socket,id=vmbx,path=$qsock" \
	-device vmbus-bridge,external=vmbx "${qemu_args[@]}" "${extra[@]}" >"$work/vm.raw" &
vm=$!
# A guest waiting for a VMBus answer waits forever once the engine is gone
# (Documentation/qemu-external-host.rst): stop the VM at once instead of at the timeout.
engine_died=0
while kill -0 "$vm" 2>/dev/null; do
	if ! kill -0 "$engine" 2>/dev/null; then
		engine_died=1
		kill_below "$vm"
		break
	fi
	sleep 0.5
done
wait "$vm"
vm_rc=$?
# The run's own name in the result lines (run-vm.sh names them after the suite).
sed '$d' "$work/vm.raw" | sed "s#^ok $suite/#ok $name/#; s#^not ok $suite/#not ok $name/#" >"$work/vm.out"
grep -v '^[0-9]* passed, [0-9]* failed$' "$work/vm.out"
passed=$(grep -c '^ok ' "$work/vm.out")
failed=$(grep -c '^not ok ' "$work/vm.out")
[ "$vm_rc" = 2 ] && exit 2

if [ -n "${host_pid:-}" ]; then
	wait "$host_pid"
	host_pid=""
	# host.sh's own verdicts, one per host-side check.
	hp=$(grep -c '^ok ' "$hlog")
	hf=$(grep -c '^not ok ' "$hlog")
	sed -n "s#^ok #ok $name/host-#p; s#^not ok #not ok $name/host-#p" "$hlog"
	passed=$((passed + hp))
	failed=$((failed + hf))
	if [ "$(cat "$host_rc_file" 2>/dev/null)" = 0 ]; then
		echo "ok $name/host"
		passed=$((passed + 1))
	else
		echo "not ok $name/host"
		sed 's/^/  | /' "$hlog"
		failed=$((failed + 1))
	fi
fi
if [ "$engine_died" = 1 ] || ! kill -0 "$engine" 2>/dev/null; then
	echo "not ok $name/engine"
	echo "  the host engine died during the run (the VM was stopped); last lines of $elog:"
	tail -n 20 "$elog" | sed 's/^/  | /'
	failed=$((failed + 1))
elif errs=$("$hv_host" ctl --socket "$csock" --timeout 10 errors --check 2>&1); then
	echo "ok $name/protocol"
	passed=$((passed + 1))
else
	echo "not ok $name/protocol"
	echo "  the guest violated the VMBus protocol (engine log: $elog):"
	printf '%s\n' "$errs" | sed 's/^/  | /'
	failed=$((failed + 1))
fi
if [ "$keep" = 1 ]; then
	echo "run-vm-engine: engine left running on $csock (pid $engine)" >&2
	trap - EXIT
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
