# SPDX-License-Identifier: GPL-2.0
# (Not executable: sourced by the guest tests and by host.sh.) What the storvsc-fc suite
# expects of the host (engine.args): the controllers' disk sizes and the FC adapters' WWNs.
FC_MB=32
FC2_MB=24
IDE_MB=16
# The first adapter's primary port is active; the second's secondary port is (the engine puts
# other names, with the top byte flipped, in the inactive slot).
FC_NODE=0x50015dfc00000011
FC_PORT=0x50015dfc00000010
FC2_NODE=0x50015dfc00000021
FC2_PORT=0x50015dfc00000020
# hv_storvsc's limit for FC hosts (STORVSC_FC_MAX_XFER_SIZE) under the host's 1 MiB.
FC_MAX_KB=512
IDE_MAX_KB=1024
# VMBus class ids (sysfs class_id) of the two controller types.
FC_CLASS='{2f9bcc4a-0069-4af3-b76b-6fd0be528cda}'
IDE_CLASS='{32412632-86cb-44a2-9b5c-50d1417354f5}'

# Prints the host numbers of the SCSI hosts of VMBus class $1, in order.
hosts_of_class() {
	local h
	for h in /sys/class/scsi_host/host*; do
		[ -e "$h/device" ] || continue
		[ "$(cat "$(readlink -f "$h/device")/../class_id" 2>/dev/null)" = "$1" ] &&
			echo "${h##*/host}"
	done
	return 0
}

# Prints the host number of the FC host whose fc_host port_name is $1, or nothing.
fc_host_of() {
	local h
	for h in /sys/class/fc_host/host*; do
		[ "$(cat "$h/port_name" 2>/dev/null)" = "$1" ] && { echo "${h##*/host}"; return 0; }
	done
	return 1
}

# Prints the sd name of the disk at H:C:T:L $1 (e.g. 2:0:0:0), or nothing.
disk_at() {
	local d
	for d in /sys/block/sd*; do
		[ -e "$d/device" ] || continue
		[ "$(basename "$(readlink -f "$d/device")")" = "$1" ] && { echo "${d##*/}"; return 0; }
	done
	return 1
}

# Prints the sd name of the first disk of SCSI host $1, or nothing.
disk_of_host() {
	local d
	for d in /sys/block/sd*; do
		[ -e "$d/device" ] || continue
		case "$(basename "$(readlink -f "$d/device")")" in
		"$1":*) echo "${d##*/}"; return 0 ;;
		esac
	done
	return 1
}

# Size of block device $1 (sdX) in MiB.
dev_mb() { echo $(($(cat "/sys/block/$1/size") / 2048)); }

# The three disks are there: a disk on each of the two FC hosts and the IDE disk at 0:0:0.
# (The FC hosts' fc_host names come only after the scan of their 8 x 128 targets.)
all_disks() {
	local h n=0 i
	for h in $(hosts_of_class "$FC_CLASS"); do
		disk_of_host "$h" >/dev/null && n=$((n + 1))
	done
	i=$(hosts_of_class "$IDE_CLASS")
	[ "$n" = 2 ] && [ -n "$i" ] && disk_at "$i:0:0:0" >/dev/null
}

# The FC hosts are fully set up: both fc_hosts with the engine's port names and their rports.
fc_ready() {
	local f1 f2
	f1=$(fc_host_of "$FC_PORT") && f2=$(fc_host_of "$FC2_PORT") &&
		[ -d "/sys/class/fc_remote_ports/rport-$f1:0-0" ] &&
		[ -d "/sys/class/fc_remote_ports/rport-$f2:0-0" ]
}

# Prints the sd name of the FC disk of $1 MiB, or nothing.
fc_disk_mb() {
	local h d
	for h in $(hosts_of_class "$FC_CLASS"); do
		d=$(disk_of_host "$h") && [ "$(dev_mb "$d")" = "$1" ] && { echo "$d"; return 0; }
	done
	return 1
}

# Writes a random pattern of $2 MiB over /dev/$1 (direct), reads it back and compares.
pattern_check() {
	dd if=/dev/urandom of=/tmp/pat bs=1M count="$2" 2>/dev/null || fail "no pattern"
	want=$(md5sum </tmp/pat)
	dd if=/tmp/pat of="/dev/$1" bs=1M oflag=direct 2>/dev/null || fail "direct write to $1 failed"
	got=$(dd if="/dev/$1" bs=1M iflag=direct 2>/dev/null | md5sum)
	[ "$got" = "$want" ] || fail "read-back of $1 differs"
	rm -f /tmp/pat
}

# Block 8 of each disk holds the marker 80-unbind wrote.
markers_ok() {
	local i
	i=$(hosts_of_class "$IDE_CLASS")
	dd if="/dev/$(fc_disk_mb "$FC_MB")" bs=512 skip=8 count=1 2>/dev/null | grep -q HVRS-RELOAD-FC1 &&
		dd if="/dev/$(fc_disk_mb "$FC2_MB")" bs=512 skip=8 count=1 2>/dev/null | grep -q HVRS-RELOAD-FC2 &&
		dd if="/dev/$(disk_at "$i:0:0:0")" bs=512 skip=8 count=1 2>/dev/null | grep -q HVRS-RELOAD-IDE
}
