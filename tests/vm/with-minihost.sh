#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run one in-VM suite against tools/vmbus-minihost, the minimal external VMBus host (VMBus up
# to 6.0, no offers), which QEMU's vmbus-bridge forwards to in its external mode:
#
#   tests/vm/with-minihost.sh [--max-version M.m] [--burst N] [--park SINT] [--host-log FILE]
#                             -- <run-vm.sh args>
#
# Builds the minihost, starts it on a private socket, adds the QEMU arguments of the external
# mode (guest RAM in a shared memfd, the chardev and the bridge) to the run-vm.sh command line,
# and stops the minihost afterwards. The minihost's log goes to out/minihost-<suite>.log (or
# FILE). The exit status is run-vm.sh's, except that if the minihost dies while the VM runs (a
# guest waiting for a VMBus answer would wait forever, Documentation/qemu-external-host.rst),
# QEMU is stopped at once, "not ok <suite>/minihost" says why, and the exit status is 1.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

host_args=() log=""
while [ $# -gt 0 ]; do
	case "$1" in
	--max-version | --burst | --park) host_args+=("$1" "$2"); shift ;;
	--host-log) log=$2; shift ;;
	--) shift; break ;;
	*) echo "with-minihost: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
vm_args=("$@")

# The guest memory size run-vm.sh will use (its --mem, default 1G): the memfd must match.
mem=1G suite=minihost extra=0
for ((i = 0; i < ${#vm_args[@]}; i++)); do
	case "${vm_args[$i]}" in
	--mem) mem=${vm_args[$((i + 1))]%%,*} ;;
	--suite) suite=${vm_args[$((i + 1))]} ;;
	--) extra=1 ;;
	esac
done

(cd "$top" && cargo build --quiet -p vmbus-minihost) || exit 2
bin=$top/target/debug/vmbus-minihost
dir=$(mktemp -d)
sock=$dir/vmbx.sock
log=${log:-$top/out/minihost-$suite.log}
mkdir -p "$top/out"
"$bin" --socket "$sock" "${host_args[@]}" 2>"$log" &
host=$!
trap 'kill $host 2>/dev/null; wait $host 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do
	[ -S "$sock" ] && break
	sleep 0.1
done
[ -S "$sock" ] || { echo "with-minihost: the minihost did not create $sock" >&2; exit 2; }

qemu_args=(-object "memory-backend-memfd,id=mem,size=$mem,share=on" -machine memory-backend=mem
	-chardev "socket,id=vmbx,path=$sock" -device vmbus-bridge,external=vmbx)
if [ $extra = 1 ]; then
	"$top/scripts/run-vm.sh" "${vm_args[@]}" "${qemu_args[@]}" &
else
	"$top/scripts/run-vm.sh" "${vm_args[@]}" -- "${qemu_args[@]}" &
fi
vm=$!

# Kill the processes below $1, deepest first (QEMU under run-vm.sh's `timeout`).
kill_below() {
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		kill_below "$c"
		kill "$c" 2>/dev/null
	done
}
# The minihost exits by itself when QEMU disconnects (after "QEMU disconnected"); gone without
# that line, it died under a running VM: stop QEMU instead of waiting for run-vm.sh's timeout.
host_died=0
while kill -0 "$vm" 2>/dev/null; do
	if ! kill -0 "$host" 2>/dev/null && ! grep -q 'QEMU disconnected' "$log"; then
		host_died=1
		kill_below "$vm"
		break
	fi
	sleep 0.5
done
wait "$vm"
rc=$?
if [ $host_died = 1 ]; then
	wait "$host" 2>/dev/null
	host_rc=$?
	echo "not ok ${suite}/minihost"
	echo "  the external VMBus host (vmbus-minihost, pid $host) died while the VM was running" \
		"(exit status $host_rc); QEMU was stopped. Last lines of $log:"
	tail -n 10 "$log" | sed 's/^/  | /'
	exit 1
fi
exit $rc
