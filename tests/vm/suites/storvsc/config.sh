# SPDX-License-Identifier: GPL-2.0
# (Not executable: sourced by the guest tests and by host.sh.) What the storvsc suite expects
# of the host: engine.args configures LUN 0 and 1, host.sh hot-adds LUN 2 and grows LUN 0.
LUN0_MB=64
LUN1_MB=32
HOT_LUN=2
HOT_MB=16
GROW_MB=96
# Markers the guest writes at LBA 0 (and at the last LBA after the resize) for host.sh.
MARK_HOTADD=HVRS-HOTADD-SEEN
MARK_RESIZE=HVRS-RESIZE-READY
MARK_GROWN=HVRS-RESIZE-SEEN
MARK_FAULTS=HVRS-FAULTS-READY
MARK_RESET=HVRS-RESET-READY
MARK_BOGUS=HVRS-BOGUS-READY
MARK_RESCIND=HVRS-RESCIND-READY
MARK_SUBRESCIND=HVRS-SUBRESCIND-READY

# Prints the sd name (sda, ...) of LUN $1 of target 0 on the storvsc host, or nothing.
lun_dev() {
	local d addr
	for d in /sys/block/sd*; do
		[ -e "$d/device" ] || continue
		addr=$(basename "$(readlink -f "$d/device")")
		case "$addr" in
		*:0:0:"$1")
			grep -q storvsc "/sys/class/scsi_host/host${addr%%:*}/proc_name" 2>/dev/null &&
				{ echo "${d##*/}"; return 0; }
			;;
		esac
	done
	return 1
}

# Size of block device $1 (sdX) in MiB.
dev_mb() { echo $(($(cat "/sys/block/$1/size") / 2048)); }

# Writes the text $2 into the first 512-byte block at LBA $3 (default 0) of /dev/$1 and syncs.
write_marker() {
	printf '%s' "$2" | dd of="/dev/$1" bs=512 count=1 seek="${3:-0}" conv=sync,fsync 2>/dev/null
}
