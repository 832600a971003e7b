#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Discard reaches the host as UNMAP (host.sh waits for the engine's UNMAP count): blkdiscard of
# the whole LUN 0, which then reads back as zeros (the disk reports LBPRZ); fstrim of a mounted
# file system on LUN 1 after deleting files.
. /tests/lib.sh
. /tests/suites/storvsc/config.sh
d=$(lun_dev 0) || fail "no LUN 0"
must blkdiscard "/dev/$d"
blockdev --flushbufs "/dev/$d"
want=$(dd if=/dev/zero bs=1M count="$LUN0_MB" 2>/dev/null | md5sum)
got=$(dd if="/dev/$d" bs=256k iflag=direct 2>/dev/null | md5sum)
[ "$got" = "$want" ] || fail "$d does not read zeros after blkdiscard"
d1=$(lun_dev 1) || fail "no LUN 1"
mkdir -p /mnt/l1
must mount -t ext4 "/dev/$d1" /mnt/l1
rm -f /mnt/l1/f*
sync
out=$(fstrim -v /mnt/l1 2>&1) || fail "fstrim failed: $out"
echo "fstrim: $out"
(cd /mnt/l1 && md5sum -c /tmp/ext4.md5 2>/dev/null | grep -q 'dir/small: OK') ||
	fail "dir/small lost by fstrim"
must umount /mnt/l1
check_dmesg_clean
