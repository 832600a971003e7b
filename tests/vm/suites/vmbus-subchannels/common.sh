# SPDX-License-Identifier: GPL-2.0
# (Not executable: sourced by the suite's tests.) The echo device and its channels in sysfs.
ECHO=ec40ec40-5e1f-4c0c-9a11-b0b0b0b0ec40
DRV=/sys/bus/vmbus/drivers/vmbus_sample

# The echo device's sysfs directory (empty if there is none).
echo_dev() {
	local f
	f=$(grep -l "{$ECHO}" /sys/bus/vmbus/devices/*/class_id 2>/dev/null | head -n 1)
	[ -n "$f" ] && echo "${f%/class_id}"
}

# The relid of subchannel $2 of device directory $1 (empty if it has none).
sub_relid() { # dir index
	local f
	for f in "$1"/channels/*/subchannel_id; do
		[ -e "$f" ] || continue
		[ "$(cat "$f")" = "$2" ] || continue
		f=${f%/subchannel_id}
		echo "${f##*/}"
		return
	done
}

# How many channel directories device directory $1 has.
nchannels() { ls "$1/channels" 2>/dev/null | wc -l; }

# How many times the kernel log has line $1 (a fixed string).
count() { dmesg | grep -cF -- "$1"; }

# The line of the sample driver for subchannel $1 echoing all its packets.
echoed() { echo "subchannel $1 (relid $2): 256 packets of 100 bytes echoed, 0 bad"; }

# The relids of the subchannels, kept between tests (a rescind removes a directory before the
# next test can look): RELIDS holds "r1=.. r2=.." lines.
RELIDS=/tmp/subchannel-relids
