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

# The three disks are there: the FC adapters' (by WWN) and the IDE one.
all_disks() {
	local f1 f2 i
	f1=$(fc_host_of "$FC_PORT") && f2=$(fc_host_of "$FC2_PORT") && i=$(hosts_of_class "$IDE_CLASS") &&
		[ -n "$i" ] && disk_of_host "$f1" >/dev/null && disk_of_host "$f2" >/dev/null &&
		disk_of_host "$i" >/dev/null
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
