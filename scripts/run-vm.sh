#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot the test kernel under QEMU TCG with the test initramfs, run one in-VM suite, and turn the
# guest's result lines into an exit status. The console is streamed to a log file. A guest oops,
# panic, lockup, BUG:/WARNING: line, a missing result line or the timeout is a failure.
#
#   scripts/run-vm.sh --suite NAME [--smp N] [--mem SIZE] [--timeout SEC] [--log FILE]
#                     [--qemu BIN] [--hyperv] [--kernel FILE] [--initrd FILE] [--shell]
#                     [--debian IMAGE] [--qmp PATH] [--host-script FILE] [--quiet]
#                     [--append ARGS]... [--expect-end poweroff|reboot] [--s4]
#                     [--cpu-flags FLAGS]
#                     [-- extra QEMU args]
# --append adds kernel command-line words (each use adds to the previous ones).
# --cpu-flags adds ",FLAGS" to the -cpu model (with --hyperv, e.g. hv-ext-hypercalls=on, the
# project QEMU's extended hypercalls for free page reporting).
# --s4 keeps ACPI S4 (hibernation) that --hyperv otherwise disables, as the dynamic-memory tests
# need (hv_balloon turns hot-add off when the guest can hibernate).
# --expect-end: the run ends with a power-off or reboot the host asks for (hv_utils' shutdown
# IC). The guest's /init then waits for the request after the suite instead of powering off
# itself; the run passes as "<suite>/end-ACTION" only if init's shutdown path ran (its
# "HVRS-SHUTDOWN: init got ...: ACTION" line) and the kernel then powered off ("reboot: Power
# down") or restarted ("reboot: Restarting system"; QEMU's -no-reboot ends the run there).
# --debian boots the Debian-root image (scripts/debian-root.sh --image) instead of the initramfs.
# --qmp opens a QMP server on the unix socket PATH (server=on,wait=off).
# --host-script runs FILE with bash on the host beside the VM, with QMP_SOCKET (the --qmp socket,
# a private one if --qmp is not given) and LOG (the console log) in its environment, e.g. to wait
# for a marker line the guest prints and drive the VM through QMP. Its failure, or its still
# running 30 s after the VM stopped, fails the run as "<suite>/host" with its output shown (the
# output is kept in <log>.host).
# Prints "ok <test>" / "not ok <test>" per guest test and a last line "N passed, N failed".
# Exit: 0 all passed, 1 a test or the guest failed, 2 usage or setup error.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"

suite="" smp=1 mem=1G timeout=300 log="" qemu="" hyperv=0 kernel="" initrd="" shell=0 quiet=0 s4=0
extra=() append_extra="" cpu_flags="" debian="" qmp="" host_script="" expect_end=""
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
	--append) append_extra+=" $2"; shift ;;
	--expect-end) expect_end=$2; shift ;;
	--s4) s4=1 ;;
	--cpu-flags) cpu_flags=$2; shift ;;
	--shell) shell=1 ;;
	--debian) debian=$2; shift ;;
	--quiet) quiet=1 ;;
	--qmp) qmp=$2; shift ;;
	--host-script) host_script=$2; shift ;;
	--) shift; extra=("$@"); break ;;
	*) echo "run-vm: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
[ -n "$suite" ] || { echo "run-vm: --suite is required" >&2; exit 2; }
case "$expect_end" in
'' | poweroff | reboot) ;;
*) echo "run-vm: --expect-end takes poweroff or reboot" >&2; exit 2 ;;
esac

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
if [ -n "$host_script" ]; then
	[ -f "$host_script" ] || { echo "run-vm: no host script at $host_script" >&2; exit 2; }
	[ "$shell" = 0 ] || { echo "run-vm: --host-script does not go with --shell" >&2; exit 2; }
	if [ -z "$qmp" ]; then
		qmpdir=$(mktemp -d /tmp/run-vm-qmp.XXXXXX)
		qmp=$qmpdir/qmp.sock
	fi
fi
qmp_args=()
if [ -n "$qmp" ]; then
	rm -f "$qmp"
	qmp_args=(-qmp "unix:$qmp,server=on,wait=off")
fi

cpu=max
machine=(-M q35)
if [ "$hyperv" = 1 ]; then
	cpu="max,hv-vpindex,hv-synic,hv-relaxed,hv-time"
	[ "$s4" = 1 ] || machine+=(-global ICH9-LPC.disable_s4=1)
fi
[ -z "$cpu_flags" ] || cpu+=",$cpu_flags"
append="console=ttyS0 panic=-1 oops=panic softlockup_panic=1 hung_task_timeout_secs=60 hvrs.suite=$suite $append_extra"
[ "$shell" = 0 ] || append+=" hvrs.shell=1"
[ -z "$expect_end" ] || append+=" hvrs.expect_end=$expect_end"
[ "$suite" != selftest-hang ] || append+=" hvrs.test_timeout=100000"

cmd=("$qemu" -accel tcg "${machine[@]}" -cpu "$cpu" -smp "$smp" -m "$mem" -nographic -no-reboot
	-kernel "$kernel" "${boot[@]}" -append "$append" "${qmp_args[@]}" "${extra[@]}")

if [ "$shell" = 1 ]; then
	# Interactive: the console is the terminal; no parsing.
	exec "${cmd[@]}"
fi

[ "$quiet" = 1 ] || log "run-vm: suite $suite, $(basename "$qemu"), -smp $smp -m $mem, timeout ${timeout}s, log $log"
start=$(date +%s)
: >"$log"
host_pid="" host_log=$log.host
if [ -n "$host_script" ]; then
	# Started first: it waits for the QMP socket and the guest's markers itself.
	QMP_SOCKET=$qmp LOG=$log bash "$host_script" </dev/null >"$host_log" 2>&1 &
	host_pid=$!
fi
# The console goes to the log; QEMU gets no stdin (it must never wait for a terminal).
timeout --signal=KILL "$timeout" "${cmd[@]}" </dev/null >"$log" 2>&1
rc=$?
elapsed=$(( $(date +%s) - start ))
host_problem=""
if [ -n "$host_pid" ]; then
	# The VM is gone: the host script has 30 s to notice and finish.
	for _ in $(seq 300); do kill -0 "$host_pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$host_pid" 2>/dev/null; then
		pkill -P "$host_pid" 2>/dev/null
		kill "$host_pid" 2>/dev/null
		host_problem="the host script $host_script was still running 30 s after the VM stopped (killed)"
	fi
	wait "$host_pid"
	host_rc=$?
	[ -n "$host_problem" ] || [ $host_rc -eq 0 ] ||
		host_problem="the host script $host_script failed (exit $host_rc)"
fi
[ -z "${qmpdir:-}" ] || rm -rf "$qmpdir"

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

if [ -n "$expect_end" ]; then
	# The end the host asked for: init's shutdown path ran, then the kernel's last line.
	case "$expect_end" in
	poweroff) kline='reboot: Power down' ;;
	reboot) kline='reboot: Restarting system' ;;
	esac
	end_problem=""
	if ! grep -q "HVRS-SHUTDOWN: init got .*: $expect_end" "$log"; then
		end_problem="init's shutdown path did not run for '$expect_end': $(grep -a 'HVRS-SHUTDOWN' "$log" | tr -d '\r' | head -n 1)"
	elif ! grep -q "$kline" "$log"; then
		end_problem="init asked for '$expect_end' but the kernel never printed '$kline'"
	elif [ $rc -ne 0 ]; then
		end_problem="QEMU exited with status $rc after '$expect_end'"
	fi
	if [ -z "$end_problem" ]; then
		echo "ok $suite/end-$expect_end"
		passed=$((passed + 1))
	else
		echo "not ok $suite/end-$expect_end"
		echo "  $end_problem"
		failed=$((failed + 1))
	fi
fi
if [ -n "$host_pid" ]; then
	if [ -z "$host_problem" ]; then
		echo "ok $suite/host"
		passed=$((passed + 1))
	else
		echo "not ok $suite/host"
		echo "  $host_problem; its output ($host_log):"
		tail -n 40 "$host_log" | sed 's/^/  | /'
		failed=$((failed + 1))
	fi
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
