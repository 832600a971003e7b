#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The `hyperv` PTP clock goes stale when the host stops sending time samples, as the C driver's
# does after 600 s (HOST_TIMESYNC_DELAY_THRESH): reading it fails with ESTALE and the kernel logs
# "TIMESYNC IC: Stale time stamp"; the next sample makes it readable again. Our hv_utils' test
# knob timesync_stale_secs shortens the 600 s (the C driver has none, so this suite runs only
# with our stack). The age is measured on the Hyper-V reference counter, which must advance.
. /tests/lib.sh
use_stack
lsmod | grep -q '^hv_utils ' || must modprobe hv_utils
knob=/sys/module/hv_utils/parameters/timesync_stale_secs
[ "$(cat $knob)" = 600 ] || fail "timesync_stale_secs is '$(cat $knob)', want the C threshold 600"
dev=""
for c in /sys/class/ptp/ptp*; do
	[ "$(cat "$c/clock_name" 2>/dev/null)" = hyperv ] && dev=/dev/${c##*/}
done
[ -n "$dev" ] || fail "no PTP clock named hyperv"
mark stale-ready
wait_for 30 "phc_read $dev >/tmp/phc.out" || fail "the PHC is not readable: $(cat /tmp/phc.out)"
echo 2 >$knob || fail "cannot set $knob"
mark stale-stop
wait_for 20 "! phc_read $dev >/tmp/phc.out && grep -qx 'phc ESTALE' /tmp/phc.out" ||
	fail "the PHC did not go stale 2 s after the last sample: $(cat /tmp/phc.out)"
dmesg | grep -q 'hv_utils: TIMESYNC IC: Stale time stamp, [0-9]* nsecs old' ||
	fail "no stale time stamp message: $(dmesg | grep -i timesync)"
mark stale-resume
wait_for 20 "phc_read $dev >/tmp/phc.out" || fail "a new sample did not revive the PHC: $(cat /tmp/phc.out)"
echo 600 >$knob
# The kernel log has the one expected warning line, not a WARNING splat.
check_dmesg_clean
