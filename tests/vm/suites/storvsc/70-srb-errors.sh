#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# SRB status -> SCSI result mapping of the C driver: host.sh makes the host fail every READ and
# WRITE with SRB_STATUS_ERROR (no sense: storvsc_handle_error() sets DID_ERROR, the midlayer
# retries, then the I/O fails with EIO); once the host clears the fault, I/O works again.
. /tests/lib.sh
. /tests/suites/storvsc/config.sh
d=$(lun_dev 0) || fail "no LUN 0"
write_marker "$d" "$MARK_FAULTS" 1 || fail "cannot write the marker"
rd() {
	blockdev --flushbufs "/dev/$d"
	dd if="/dev/$d" of=/dev/null bs=4k count=1 skip=100 2>/dev/null
}
wait_for 90 '! rd' || fail "reads never failed while the host failed them"
echo "a read failed with EIO while the host answered SRB_STATUS_ERROR"
wait_for 90 rd || fail "reads did not recover after the host cleared the fault"
echo "reads work again after the fault"
dmesg | grep -E 'srb 0x4 |I/O error' | tail -n 3
check_dmesg_clean
