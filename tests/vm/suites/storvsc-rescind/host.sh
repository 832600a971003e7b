#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# (Not executable on purpose: the guest runs every executable file of a suite.)
# Host side of the storvsc-rescind suite: once the guest's readers run and it wrote its marker,
# rescind the controller at the 20th request from then on; the rescind must happen.
set -u
. "$(dirname "$0")/../storvsc/config.sh"
ctl() { "$HV_HOST" ctl --socket "$HV_HOST_CTL" "$@"; }
fail() { echo "FAIL: $*"; ctl scsi stats; ctl log 40; exit 1; }
ctl wait open scsi --timeout 150 >/dev/null || fail "the SCSI channel never opened"
i=0
until ctl scsi read 0 4 --ascii 2>/dev/null | grep "$MARK_RESCIND" >/dev/null; do
	i=$((i + 1))
	[ $i -lt 150 ] || fail "the guest never wrote its marker"
	sleep 1
done
ctl scsi fault rescind-after 20 || fail "cannot set the rescind fault"
i=0
until ctl list | grep 'kind=scsi' | grep -q 'rescinded=1'; do
	i=$((i + 1))
	[ $i -lt 120 ] || fail "the controller was never rescinded"
	sleep 1
done
ctl list | grep 'kind=scsi'
ctl scsi stats | head -n 2
