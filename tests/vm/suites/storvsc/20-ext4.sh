#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A file system on the file-backed LUN 1: mke2fs (busybox: ext2 format), mounted with the
# kernel's ext4 driver, files written and synced, unmounted, caches dropped, remounted and
# verified by checksum.
. /tests/lib.sh
. /tests/suites/storvsc/config.sh
d=$(lun_dev 1) || fail "no LUN 1"
must mke2fs -F -q "/dev/$d" >/dev/null
mkdir -p /mnt/l1
must mount -t ext4 "/dev/$d" /mnt/l1
for n in 1 2 3 4 5; do
	dd if=/dev/urandom of="/mnt/l1/f$n" bs=1k count=$((n * 700)) 2>/dev/null || fail "write f$n"
done
mkdir -p /mnt/l1/dir && echo "small file" >/mnt/l1/dir/small
(cd /mnt/l1 && md5sum f1 f2 f3 f4 f5 dir/small) >/tmp/ext4.md5
sync
must umount /mnt/l1
echo 3 >/proc/sys/vm/drop_caches
must mount -t ext4 "/dev/$d" /mnt/l1
(cd /mnt/l1 && md5sum -c /tmp/ext4.md5) || fail "checksums differ after remount"
must umount /mnt/l1
echo "ext4 (ext2 format) on $d: 6 files verified after remount"
check_dmesg_clean
