#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A known pattern over the whole of LUN 0 with O_DIRECT (1 MiB requests, split at the
# controller's max transfer), read back direct and buffered and compared; then a
# buffered rewrite of a region with 4 KiB writes, verified after dropping the caches.
. /tests/lib.sh
. /tests/suites/storvsc/config.sh
d=$(lun_dev 0) || fail "no LUN 0"
dd if=/dev/urandom of=/tmp/pat bs=1M count="$LUN0_MB" 2>/dev/null || fail "no pattern"
want=$(md5sum </tmp/pat)
dd if=/tmp/pat of="/dev/$d" bs=1M oflag=direct 2>/dev/null || fail "direct write failed"
got=$(dd if="/dev/$d" bs=256k iflag=direct 2>/dev/null | md5sum)
[ "$got" = "$want" ] || fail "direct read-back (256k) differs"
blockdev --flushbufs "/dev/$d"
got=$(dd if="/dev/$d" bs=1M 2>/dev/null | md5sum)
[ "$got" = "$want" ] || fail "buffered read-back (1M) differs"
# Rewrite 8 MiB at 17 MiB with 4 KiB buffered writes, then verify the whole disk.
dd if=/dev/urandom of=/tmp/mid bs=1M count=8 2>/dev/null
dd if=/tmp/mid of="/dev/$d" bs=4k seek=$((17 * 256)) conv=notrunc,fsync 2>/dev/null || fail "rewrite failed"
dd if=/tmp/mid of=/tmp/pat bs=4k seek=$((17 * 256)) conv=notrunc 2>/dev/null
want=$(md5sum </tmp/pat)
blockdev --flushbufs "/dev/$d"
echo 3 >/proc/sys/vm/drop_caches
got=$(dd if="/dev/$d" bs=1M iflag=direct 2>/dev/null | md5sum)
[ "$got" = "$want" ] || fail "read-back after the rewrite differs"
rm -f /tmp/pat /tmp/mid
echo "$LUN0_MB MiB pattern on $d verified (direct 1M write, direct 256k / buffered 1M reads, 4k rewrite)"
check_dmesg_clean
