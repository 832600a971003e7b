#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Completions the driver must reject without touching a request (host.sh sends them once the
# guest asks: `scsi inject bad-completions`): an id no request has and one beyond every tag
# ("Incorrect transaction ID"), COMPLETE_IO with the unsolicited id 0 ("Invalid packet with ID
# of 0"), a reply of 8 bytes ("Invalid pkt"). Each is logged and dropped: no crash, no command
# completed by them, and I/O goes on with the right data.
. /tests/lib.sh
. /tests/suites/storvsc/config.sh
d=$(lun_dev 0) || fail "no LUN 0"
n_id=$(dmesg | grep -c 'Incorrect transaction ID')
n_zero=$(dmesg | grep -c 'Invalid packet with ID of 0')
n_short=$(dmesg | grep -c 'Invalid pkt: id=1, len=8, minlen=64')
write_marker "$d" "$MARK_BOGUS" 3 || fail "cannot write the marker"
wait_for 150 "[ \$(dmesg | grep -c 'Invalid pkt: id=1, len=8, minlen=64') -gt $n_short ]" ||
	fail "the short reply was not reported: $(dmesg | tail -n 8)"
[ "$(dmesg | grep -c 'Incorrect transaction ID')" -ge $((n_id + 2)) ] ||
	fail "the two unknown ids were not both reported: $(dmesg | tail -n 8)"
[ "$(dmesg | grep -c 'Invalid packet with ID of 0')" -gt "$n_zero" ] ||
	fail "COMPLETE_IO with id 0 was not reported: $(dmesg | tail -n 8)"
dmesg | grep -E 'Incorrect transaction ID|Invalid packet with ID of 0|Invalid pkt' | tail -n 4
# I/O still works: a pattern written and read back direct.
dd if=/dev/urandom of=/tmp/bogus bs=64k count=16 2>/dev/null
dd if=/tmp/bogus of="/dev/$d" bs=64k seek=80 oflag=direct 2>/dev/null || fail "write after the bogus completions failed"
got=$(dd if="/dev/$d" bs=64k skip=80 count=16 iflag=direct 2>/dev/null | md5sum)
[ "$got" = "$(md5sum </tmp/bogus)" ] || fail "read-back after the bogus completions differs"
echo "bogus completions logged and dropped; 1 MiB written and read back"
check_dmesg_clean
