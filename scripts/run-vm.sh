#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot the test kernel under QEMU TCG with the test initramfs, run one in-VM suite, and turn the
# guest's result lines into an exit status. The console is streamed to a log file. A guest oops,
# panic, lockup, BUG:/WARNING: line, a missing result line or the timeout is a failure.
#
#   scripts/run-vm.sh --suite NAME [--smp N] [--mem SIZE] [--timeout SEC] [--log FILE]
#                     [--qemu BIN] [--hyperv] [--kernel FILE] [--initrd FILE] [--shell]
#                     [--debian IMAGE] [--quiet] [-- extra QEMU args]
# --debian boots the Debian-root image (scripts/debian-root.sh --image) instead of the initramfs.
# Prints "ok <test>" / "not ok <test>" per guest test and a last line "N passed, N failed".
# Exit: 0 all passed, 1 a test or the guest failed, 2 usage or setup error.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"

suite="" smp=1 mem=1G timeout=300 log="" qemu="" hyperv=0 kernel="" initrd="" shell=0 quiet=0
extra=() append_extra="" debian=""
while [ $# -gt 0 ]; do
	case "$1" in
	--suite) suite=$2; shift ;;
	--smp) smp=$2; shift ;;
	--mem) mem=$2; shift ;;
	--timeout) timeout=$2; shift ;;
	--log) log=$2; shift ;;
	--qemu) qemu=$2; shift ;;
	--hyperv) hyperv=1 ;;
	--kernel) kernel=$2; shift ;;
	--initrd) initrd=$2; shift ;;
	--append) append_extra=$2; shift ;;
	--shell) shell=1 ;;
	--debian) debian=$2; shift ;;
	--quiet) quiet=1 ;;
	--) shift; extra=("$@"); break ;;
	*) echo "run-vm: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
[ -n "$suite" ] || { echo "run-vm: --suite is required" >&2; exit 2; }

if [ -z "$kernel" ]; then
	kdir=${KDIR:-$("$here/kernel.sh" --print-kdir)} || exit 2
	kernel=$kdir/arch/x86/boot/bzImage
fi
initrd=${initrd:-$top/out/initramfs.cpio.gz}
[ -f "$kernel" ] || { echo "run-vm: no kernel at $kernel" >&2; exit 2; }
if [ -n "$debian" ]; then
	[ -f "$debian" ] || { echo "run-vm: no Debian image at $debian" >&2; exit 2; }
	boot=(-drive "file=$debian,format=raw,if=virtio,snapshot=on")
	append_extra+=" root=/dev/vda rw systemd.show_status=error"
else
	[ -f "$initrd" ] || { echo "run-vm: no initramfs at $initrd (make initramfs)" >&2; exit 2; }
	boot=(-initrd "$initrd")
fi
if [ -z "$qemu" ]; then
	# The project's Hyper-V-capable QEMU once it is built; the stock one otherwise (no Hyper-V).
	qemu=$("$here/qemu.sh" --print 2>/dev/null) || qemu=""
	[ -n "$qemu" ] || qemu=$(command -v qemu-system-x86_64)
fi
log=${log:-$top/out/vm-$suite.log}
mkdir -p "$(dirname "$log")"

cpu=max
machine=(-M q35)
if [ "$hyperv" = 1 ]; then
	cpu="max,hv-vpindex,hv-synic,hv-relaxed"
	machine+=(-global ICH9-LPC.disable_s4=1)
fi
append="console=ttyS0 panic=-1 oops=panic softlockup_panic=1 hung_task_timeout_secs=60 hvrs.suite=$suite $append_extra"
[ "$shell" = 0 ] || append+=" hvrs.shell=1"
[ "$suite" != selftest-hang ] || append+=" hvrs.test_timeout=100000"

cmd=("$qemu" -accel tcg "${machine[@]}" -cpu "$cpu" -smp "$smp" -m "$mem" -nographic -no-reboot
	-kernel "$kernel" "${boot[@]}" -append "$append" "${extra[@]}")

if [ "$shell" = 1 ]; then
	# Interactive: the console is the terminal; no parsing.
	exec "${cmd[@]}"
fi

[ "$quiet" = 1 ] || log "run-vm: suite $suite, $(basename "$qemu"), -smp $smp -m $mem, timeout ${timeout}s, log $log"
start=$(date +%s)
# The console goes to the log; QEMU gets no stdin (it must never wait for a terminal).
timeout --signal=KILL "$timeout" "${cmd[@]}" </dev/null >"$log" 2>&1
rc=$?
elapsed=$(( $(date +%s) - start ))

passed=0 failed=0 problems=()
while IFS= read -r line; do
	case "$line" in
	*HVRS-TEST-PASS\ *) echo "ok ${line#*HVRS-TEST-PASS }"; passed=$((passed + 1)) ;;
	*HVRS-TEST-FAIL\ *) echo "not ok ${line#*HVRS-TEST-FAIL }"; failed=$((failed + 1)) ;;
	esac
done < <(tr -d '\r' <"$log")

[ $rc -ne 137 ] || problems+=("guest did not finish within ${timeout}s (killed)")
[ $rc -eq 137 ] || [ $rc -eq 0 ] || problems+=("QEMU exited with status $rc")
grep -q 'HVRS-RESULT:' "$log" || problems+=("the guest printed no result line")
# What the kernel says about itself overrides what the tests say.
if bad=$(grep -E 'Kernel panic|BUG:|WARNING:|Oops|general protection fault|soft lockup|hard LOCKUP|blocked for more than|Call Trace:|UBSAN:|kmemleak: [0-9]+ new suspected' "$log" | head -n 5) && [ -n "$bad" ]; then
	problems+=("the kernel reported a problem:")
	while IFS= read -r l; do problems+=("    $l"); done <<<"$bad"
fi

if [ ${#problems[@]} -gt 0 ]; then
	echo "not ok $suite/guest"
	for p in "${problems[@]}"; do echo "  $p"; done
	echo "  --- last lines of $log ---"
	tail -n 25 "$log" | tr -d '\r' | sed 's/^/  | /'
	failed=$((failed + 1))
fi
[ "$quiet" = 1 ] || log "run-vm: suite $suite finished in ${elapsed}s"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
