#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The same subchannel offers (subchannels 1 and 2 of the echo device, no driver bound) under our
# hv_vmbus and under the C one give byte-identical sysfs files: the channels/<relid>/
# directories of the subchannels with every attribute (subchannel_id, cpu, monitor_id, ...),
# and channel_vp_mapping. Last in the suite: the C hv_vmbus leaks its per-CPU context on unload.
. /tests/lib.sh
. "$(dirname "$0")/common.sh"
# Offers the subchannels (host.sh) to the bus just loaded and dumps sysfs into $1.
dump_with_subs() {
	must modprobe hv_vmbus
	wait_for 60 '[ -n "$(echo_dev)" ]' || fail "no echo device"
	d=$(echo_dev)
	mark "$2-up"
	wait_for 60 '[ "$(nchannels "$d")" = 3 ]' || fail "channels under the $2 bus: $(ls "$d/channels")"
	dump_vmbus_sysfs >"$1"
	grep -c channels/ "$1" >/dev/null || fail "no channel files"
	must rmmod hv_vmbus
}
lsmod | grep -q '^hv_vmbus ' && must rmmod hv_vmbus
dump_with_subs /tmp/subs-sysfs.rust rust
use_c_modules
trap use_rust_modules EXIT
dump_with_subs /tmp/subs-sysfs.c c
use_rust_modules
trap - EXIT
if ! diff -u /tmp/subs-sysfs.c /tmp/subs-sysfs.rust; then
	fail "sysfs differs between the C (-) and our (+) hv_vmbus"
fi
echo "$(wc -l </tmp/subs-sysfs.rust) files identical, $(grep -c '/subchannel_id:' /tmp/subs-sysfs.rust) subchannel_id files"
check_dmesg_clean
