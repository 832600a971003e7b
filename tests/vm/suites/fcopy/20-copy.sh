#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The files host.sh pushes through the daemon arrive byte-identical: it pushes a MANIFEST last
# (sha256 of every file that must exist, "absent PATH" for those that must not); each file's
# sha256 is printed here too. Then the channel's ring file must map the same bytes as the UIO
# device's map 0. Fails on any missing or different file, a file that should not exist, a
# canceled copy that completed, a ring file that maps something else, or a dead daemon.
. /tests/lib.sh
[ -e /run/fcopy.ready ] || fail "10-load failed: no daemon to copy through"
m=/tmp/fcopy/MANIFEST
wait_for 600 "[ -s $m ] && grep -q '^end$' $m" || fail "no MANIFEST from the host: $(ls -lR /tmp/fcopy)"
cat $m
grep '^[0-9a-f]\{64\} ' $m >/tmp/sums
while read -r sum path; do
	echo "guest sha256 $(sha256sum "$path" 2>&1)"
done </tmp/sums
sha256sum -c /tmp/sums || fail "a copied file differs"
for p in $(sed -n 's/^absent //p' $m); do
	[ -e "$p" ] && fail "$p exists ($(stat -c %s "$p") bytes)"
done
sed -n 's/^partial //p' $m | while read -r p full; do
	n=$(stat -c %s "$p" 2>/dev/null || echo 0)
	echo "canceled copy $p: $n of $full bytes written"
	[ "$n" -lt "$full" ] || fail "the canceled copy $p is complete ($n bytes)"
done || exit 1
# The ring file maps the same rings as the UIO device (a second open of /dev/uioN while the
# daemon holds it), with the host's and the daemon's indices in the headers.
dev=/sys/bus/vmbus/devices/eb765408-105f-49b6-b4aa-c123b64d17d4
uio_mapcmp /dev/$(ls $dev/uio) $dev/channels/$(cat $dev/id)/ring 40960 ||
	fail "the ring file does not map the UIO device's rings"
kill -0 "$(cat /run/fcopy.pid)" || fail "the daemon died: $(tail /run/messages)"
grep -E 'exists|Invalid path|pwrite failed' /run/messages
check_dmesg_clean
mark copies-checked
