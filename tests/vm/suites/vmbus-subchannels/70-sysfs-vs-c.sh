#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The same subchannel offers under our hv_vmbus and under the C one give byte-identical sysfs
# files: the channels/<relid>/ directories of the subchannels with every attribute
# (subchannel_id, cpu, monitor_id, ...) and channel_vp_mapping. The offers: subchannels 1 and 2
# of the echo device, and of the two storage devices host.sh added (performance channels, spread
# over the 2 CPUs by init_vp_index(): scsiA's primary channel on CPU 0, scsiB's on 1, then
# scsiA's subchannel 1 skips CPU 0, which its primary channel uses, and so on). No driver
# binds (module autoload is off for both). Last in the suite: the C hv_vmbus leaks its per-CPU
# context on unload.
. /tests/lib.sh
. "$(dirname "$0")/common.sh"
# Offers the subchannels (host.sh) to the bus just loaded and dumps sysfs into $1.
dump_with_subs() {
	must modprobe hv_vmbus
	wait_for 60 '[ -n "$(echo_dev)" ]' || fail "no echo device"
	d=$(echo_dev)
	mark "$2-up"
	wait_for 60 '[ "$(nchannels "$d")" = 3 ]' || fail "channels under the $2 bus: $(ls "$d/channels")"
	for s in $(grep -l "{ba6163d9-04a1-4d29-b605-72e2ffb1dc7f}" /sys/bus/vmbus/devices/*/class_id); do
		s=${s%/class_id}
		wait_for 60 "[ \$(nchannels $s) = 3 ]" || fail "channels of $s under the $2 bus: $(ls "$s/channels")"
		echo "$2: ${s##*/}: $(cat "$s/channel_vp_mapping" | tr '\n' ' ')"
	done
	dump_vmbus_sysfs >"$1"
	grep -c channels/ "$1" >/dev/null || fail "no channel files"
	must rmmod hv_vmbus
}
lsmod | grep -q '^hv_vmbus ' && must rmmod hv_vmbus
hotplug=$(cat /proc/sys/kernel/hotplug)
echo >/proc/sys/kernel/hotplug
dump_with_subs /tmp/subs-sysfs.rust rust
use_c_modules
trap use_rust_modules EXIT
dump_with_subs /tmp/subs-sysfs.c c
use_rust_modules
trap - EXIT
echo "$hotplug" >/proc/sys/kernel/hotplug
[ "$(grep -c '{ba6163d9-04a1-4d29-b605-72e2ffb1dc7f}' /tmp/subs-sysfs.rust)" = 2 ] || fail "not two storage devices"
if ! diff -u /tmp/subs-sysfs.c /tmp/subs-sysfs.rust; then
	fail "sysfs differs between the C (-) and our (+) hv_vmbus"
fi
echo "$(wc -l </tmp/subs-sysfs.rust) files identical, $(grep -c '/subchannel_id:' /tmp/subs-sysfs.rust) subchannel_id files"
check_dmesg_clean
