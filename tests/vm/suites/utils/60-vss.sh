#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# VSS through the unmodified hv_vss_daemon: an ext4 file system on a virtio disk (qemu.args)
# is mounted and a writer appends to it every 0.2 s. The host's FREEZE (host.sh) really freezes
# it: the writer and a new write block (the daemon's FIFREEZE) while the other file systems go
# on; after the host's THAW both complete and the data is there. host.sh checks the statuses
# and flags of FREEZE, THAW, HOT_BACKUP, GET_DM_INFO and the acknowledged operations.
. /tests/lib.sh
kill -0 "$(cat /run/vss.pid)" || fail "hv_vss_daemon is not running"
[ -b /dev/vda ] || fail "no virtio disk /dev/vda (qemu.args)"
must mke2fs -q /dev/vda
mkdir -p /mnt/vss
must mount -t ext4 /dev/vda /mnt/vss
(
	n=0
	while :; do
		n=$((n + 1))
		echo "line $n" >>/mnt/vss/log
		echo $n >/run/vss-n
		sleep 0.2
	done
) &
writer=$!
wait_for 10 "[ -s /run/vss-n ]" || fail "the writer does not write"
mark vss-ready
wait_for 60 "grep -q 'VSS: op=FREEZE: succeeded' /run/messages" ||
	fail "the daemon never froze: $(cat /run/messages)"
sleep 1
n1=$(cat /run/vss-n)
(echo frozen-write >/mnt/vss/direct && echo done >/run/vss-direct) &
sleep 3
n2=$(cat /run/vss-n)
[ "$n1" = "$n2" ] || fail "the writer went on from $n1 to $n2 while frozen"
[ -e /run/vss-direct ] && fail "a write to the frozen file system completed"
echo ok >/tmp/not-frozen || fail "tmpfs is frozen too"
mark vss-frozen
wait_for 30 "[ -e /run/vss-direct ] && [ \$(cat /run/vss-n) -gt $n2 ]" ||
	fail "the writes did not resume after the thaw: $(cat /run/messages)"
grep -q 'VSS: op=THAW: succeeded' /run/messages || fail "the daemon did not log the thaw"
kill "$writer"
wait "$writer" 2>/dev/null
grep -qx frozen-write /mnt/vss/direct || fail "the write made while frozen is not in the file"
must umount /mnt/vss
mark vss-done
check_dmesg_clean
