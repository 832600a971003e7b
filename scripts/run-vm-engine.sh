#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run an in-VM suite against our VMBus host engine (tools/hv-host): start `hv-host serve`, boot
# the guest with scripts/run-vm.sh on the project's QEMU with vmbus-bridge in external-host
# mode (guest RAM in a shared memfd), run the suite's host-side script if it has one, then fail
# the run on any protocol error the engine recorded. The engine's log is kept next to the
# console log.
#
#   scripts/run-vm-engine.sh --suite NAME [--max-version X.Y] [--device SPEC]... [--disk SPEC]...
#                            [--mem SIZE] [--initrd FILE] [--keep-engine] [run-vm.sh options...]
#
# The guest sees `hvrs.engine_version=X.Y` on its command line (the engine's cap, default 6.0).
# A suite may ship `host.sh` (not executable, so that the guest does not run it): it runs on
# the host beside the VM with HV_HOST (the hv-host binary) and HV_HOST_CTL (its control socket)
# set, e.g. to wait for a channel and send a request; its failure fails the run (its output:
# out/vm-NAME-host.log). A suite may also ship `engine.args`: more `hv-host serve` options it
# needs, one "OPTION VALUE" per line (e.g. `--disk lun=0,ram=64M`; @WORK@ is the run's scratch
# directory). Output ends with "N passed, N failed" like run-vm.sh.
# Exit: 0 all passed, 1 a failure, 2 usage or setup error.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"

suite="" version=6.0 mem=1G devices=() pass=() keep=0
while [ $# -gt 0 ]; do
	case "$1" in
	--suite) suite=$2; pass+=("$1" "$2"); shift ;;
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
extra=()
[ "${1:-}" != -- ] || { shift; extra=("$@"); }

(cd "$top" && cargo build -q -p hv-host) || { echo "run-vm-engine: cannot build hv-host" >&2; exit 2; }
hv_host=$top/target/debug/hv-host
work=$(mktemp -d /tmp/hv-host-run.XXXXXX)
qsock=$work/qemu.sock
csock=$work/ctl.sock
elog=$top/out/vm-$suite-engine.log
hlog=$top/out/vm-$suite-host.log
mkdir -p "$top/out"
: >"$elog"
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
for _ in $(seq 100); do [ -S "$csock" ] && break; sleep 0.05; done
[ -S "$csock" ] || { echo "run-vm-engine: hv-host did not start (see $elog)" >&2; exit 2; }

host_rc_file=$work/host.rc
if [ -f "$top/tests/vm/suites/$suite/host.sh" ]; then
	(
		HV_HOST=$hv_host HV_HOST_CTL=$csock sh "$top/tests/vm/suites/$suite/host.sh" \
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
"$here/run-vm.sh" "${pass[@]}" --hyperv --mem "$mem" --append "hvrs.engine_version=$version" -- \
	-object "memory-backend-memfd,id=hvhostmem,size=$mem,share=on" \
	-machine memory-backend=hvhostmem \
	-chardev "socket,id=vmbx,path=$qsock" \
	-device vmbus-bridge,external=vmbx "${extra[@]}" >"$work/vm.raw" &
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
sed '$d' "$work/vm.raw" >"$work/vm.out"
grep -v '^[0-9]* passed, [0-9]* failed$' "$work/vm.out"
passed=$(grep -c '^ok ' "$work/vm.out")
failed=$(grep -c '^not ok ' "$work/vm.out")
[ "$vm_rc" = 2 ] && exit 2

if [ -n "${host_pid:-}" ]; then
	wait "$host_pid"
	host_pid=""
	if [ "$(cat "$host_rc_file" 2>/dev/null)" = 0 ]; then
		echo "ok $suite/host"
		passed=$((passed + 1))
	else
		echo "not ok $suite/host"
		sed 's/^/  | /' "$hlog"
		failed=$((failed + 1))
	fi
fi
if [ "$engine_died" = 1 ] || ! kill -0 "$engine" 2>/dev/null; then
	echo "not ok $suite/engine"
	echo "  the host engine died during the run (the VM was stopped); last lines of $elog:"
	tail -n 20 "$elog" | sed 's/^/  | /'
	failed=$((failed + 1))
elif errs=$("$hv_host" ctl --socket "$csock" --timeout 10 errors --check 2>&1); then
	echo "ok $suite/protocol"
	passed=$((passed + 1))
else
	echo "not ok $suite/protocol"
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
