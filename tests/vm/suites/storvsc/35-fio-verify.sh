#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# fio with data verification over the whole of LUN 0: two jobs (one per half of the disk), each
# writing its half once with random 4 KiB .. 1 MiB direct writes at queue depth 32 through
# io_uring, then reading every block back and checking its crc32c and header (offset, job,
# sequence). With 2 vCPUs and a subchannel (the C driver) blk-mq spreads the jobs over both
# channels.
. /tests/lib.sh
. /tests/suites/storvsc/config.sh
d=$(lun_dev 0) || fail "no LUN 0"
half=$((LUN0_MB / 2))
out=$(fio --name=verify --filename="/dev/$d" --direct=1 --ioengine=io_uring --iodepth=32 \
	--numjobs=2 --size="${half}M" --offset_increment="${half}M" --rw=randwrite \
	--bsrange=4k-1m --verify=crc32c --verify_fatal=1 --verify_dump=0 --group_reporting 2>&1)
rc=$?
# fio warns that jobs sharing a file may overwrite each other's blocks; offset_increment keeps
# their ranges apart.
echo "$out" | grep -v 'multiple writers may overwrite' | grep -E 'err=|WRITE:|READ:|verify'
[ $rc = 0 ] || fail "fio failed ($rc): $(echo "$out" | tail -n 20)"
echo "$out" | grep -q 'err= 0' || fail "fio reported errors: $(echo "$out" | grep 'err=')"
echo "$out" | grep -qE 'READ: bw=' || fail "fio did not read anything back: $(echo "$out" | tail -n 10)"
check_dmesg_clean
