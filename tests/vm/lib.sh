# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the in-VM tests (sourced by /init and by each test). A test is an executable
# script in a suite directory; it passes by exiting 0 and fails otherwise, saying why on stdout.
# Suites run in name order. Tests must bound their own waits; the harness also kills a test
# after hvrs.test_timeout seconds and the host kills the whole guest after its own timeout.

# Print a failure reason and exit 1.
fail() {
	echo "FAIL: $*"
	exit 1
}

# Run a command, fail unless it succeeds.
must() {
	"$@" || fail "command failed (rc $?): $*"
}

# Expect a command to fail with a given errno name in its message (busybox prints strerror),
# e.g. `expect_errno "No such device" modprobe hv_vmbus`.
expect_errno() { # message command...
	local want=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	[ $rc -ne 0 ] || fail "expected '$*' to fail with '$want', it succeeded"
	case "$out" in
	*"$want"*) return 0 ;;
	*) fail "expected '$*' to fail with '$want', got rc $rc: $out" ;;
	esac
}

# Wait until a shell condition holds, polling every 0.1 s, at most $1 seconds.
wait_for() { # seconds condition...
	local n=$(($1 * 10))
	shift
	while [ $n -gt 0 ]; do
		eval "$*" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	eval "$*"
}

# Fail if the kernel log holds a warning, bug or oops.
check_dmesg_clean() {
	if dmesg | grep -E 'WARNING:|BUG:|Oops|general protection|Call Trace|deprecated workqueue' >/tmp/dmesg-bad; then
		cat /tmp/dmesg-bad
		fail "kernel log has warnings or oopses"
	fi
}

# Fail if kmemleak finds an unreferenced object. It reports only objects older than 5 s, so
# this waits that long first, and scans twice (the second scan confirms the first's finds).
check_kmemleak() {
	[ -e /sys/kernel/debug/kmemleak ] || fail "no /sys/kernel/debug/kmemleak (CONFIG_DEBUG_KMEMLEAK, debugfs)"
	sleep 6
	echo scan >/sys/kernel/debug/kmemleak
	echo scan >/sys/kernel/debug/kmemleak
	if grep -q unreferenced /sys/kernel/debug/kmemleak; then
		head -n 60 /sys/kernel/debug/kmemleak
		fail "kmemleak found leaks"
	fi
}

# Use the C reference modules instead of ours for the rest of this boot: they live in a module
# tree of their own (/lib/modules.c), mounted over /lib/modules.
modules_overmounted() { grep -q ' /lib/modules ' /proc/mounts; }
use_c_modules() {
	modules_overmounted && umount /lib/modules
	mount --bind /lib/modules.c /lib/modules || fail "cannot mount the C module tree"
}
use_rust_modules() {
	if modules_overmounted; then umount /lib/modules || fail "cannot unmount the C module tree"; fi
	true
}
# The module stack the run asks for: `hvrs.stack=c` on the kernel command line runs the C
# reference drivers, anything else ours. Suites that must pass against both call this.
hvrs_stack() { sed -n 's/.*\bhvrs\.stack=\([^ ]*\).*/\1/p' /proc/cmdline; }
use_stack() {
	if [ "$(hvrs_stack)" = c ]; then use_c_modules; else use_rust_modules; fi
}

# Tell a host-side script (host.sh, reading the console log) that the guest reached a point:
# it waits for the line "HVRS-MARK <name>".
mark() { echo "HVRS-MARK $*"; }

# Init's side of a host-requested shutdown (hvrs.expect_end=poweroff|reboot, see /init): hv_utils
# runs /sbin/poweroff or /sbin/reboot (orderly_poweroff/orderly_reboot), which busybox turns into
# SIGUSR2 or SIGTERM to init. Report it, sync, and power off or reboot.
init_shutdown() { # action signal
	echo "HVRS-SHUTDOWN: init got $2: $1"
	sync
	if [ "$1" = reboot ]; then reboot -f; else poweroff -f; fi
}

run_suite() { # dir timeout
	local passed=0 failed=0 t name rc
	for t in "$1"/*; do
		[ -x "$t" ] || continue
		name=${1##*/}/${t##*/}
		name=${name%.sh}
		echo "HVRS-TEST-BEGIN $name"
		timeout "$2" "$t"
		rc=$?
		if [ $rc -eq 0 ]; then
			echo "HVRS-TEST-PASS $name"
			passed=$((passed + 1))
		else
			[ $rc -eq 143 ] && echo "FAIL: killed after $2 s"
			echo "HVRS-TEST-FAIL $name (rc $rc)"
			failed=$((failed + 1))
		fi
	done
	echo "HVRS-RESULT: $passed passed, $failed failed"
}

# Print every file of the VMBus devices in sysfs, sorted: "path mode NNN" for each, then
# "path:line" for each line it reads as, or the error reading it gives (EINVAL for the ring
# files of a closed channel). Device attributes, uevent, and channels/<relid>/*; links and
# power/ are left out. For comparing our bus with the C one; a handful of processes, however
# many files (a process per file takes minutes under TCG).
dump_vmbus_sysfs() {
	(
		cd /sys/bus/vmbus/devices 2>/dev/null || exit 0
		# The entries are links to the devices: glob through them (builtins only, no forks).
		files=""
		for f in */* */channels/*/*; do
			[ -f "$f" ] && [ ! -L "$f" ] && files="$files $f"
		done
		[ -n "$files" ] || exit 0
		# shellcheck disable=SC2086 # one word per file name (GUIDs and attribute names)
		stat -c '%n mode %a' $files
		# shellcheck disable=SC2086
		grep -H '' $files 2>&1 | sed 's/^grep: //'
	) | sort
}
