#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# (Not executable on purpose: the guest runs every executable file of a suite.)
# Host side of the storvsc-rescind suite: first rescind subchannel 1 with its completions
# dropped (05-rescind-sub); then, once the guest's readers run and it wrote its marker, rescind
# the controller at the 20th request from then on; the rescind must happen.
set -u
. "$(dirname "$0")/../storvsc/config.sh"
ctl() { "$HV_HOST" ctl --socket "$HV_HOST_CTL" "$@"; }
fail() { echo "FAIL: $*"; ctl scsi stats; ctl log 40; exit 1; }
ctl wait open scsi --timeout 150 >/dev/null || fail "the SCSI channel never opened"
# 05-rescind-sub: once the guest's readers run, drop every completion on subchannel 1, wait
# until some were dropped (requests in flight on it), then rescind it.
i=0
until ctl scsi read 0 5 --ascii 2>/dev/null | grep "$MARK_SUBRESCIND" >/dev/null; do
	i=$((i + 1))
	[ $i -lt 150 ] || fail "the guest never wrote its subchannel marker"
	sleep 1
done
sub=$(ctl list | grep 'kind=scsi' | grep ' sub=1 ' | grep 'state=open' | sed -n 's/^relid=\([0-9]*\) .*/\1/p' | head -n 1)
[ -n "$sub" ] || fail "no open subchannel: $(ctl list | grep 'kind=scsi')"
ctl fault completions "$sub" drop all >/dev/null || fail "cannot set the drop fault on $sub"
dropped() { ctl show "$sub" | grep -o 'dropped=[0-9]*' | sed 's/dropped=//' | sort -n | tail -n 1; }
i=0
until [ "$(dropped)" -ge 1 ] 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 600 ] || fail "no request went out on subchannel $sub"
	sleep 0.1
done
sleep 1
echo "subchannel $sub: $(dropped) completions dropped; rescinding it"
ctl rescind "$sub" >/dev/null || fail "cannot rescind $sub"
i=0
while ctl list | grep -q "^relid=$sub "; do
	i=$((i + 1))
	[ $i -lt 600 ] || fail "relid $sub was never released"
	sleep 0.1
done
echo "subchannel $sub released"
i=0
until ctl scsi read 0 4 --ascii 2>/dev/null | grep "$MARK_RESCIND" >/dev/null; do
	i=$((i + 1))
	[ $i -lt 150 ] || fail "the guest never wrote its marker"
	sleep 1
done
primary=$(ctl list | grep 'kind=scsi' | grep ' sub=0 ' | sed -n 's/^relid=\([0-9]*\) .*/\1/p' | head -n 1)
[ -n "$primary" ] || fail "no SCSI controller: $(ctl list | grep 'kind=scsi')"
ctl scsi fault rescind-after 20 || fail "cannot set the rescind fault"
# The guest may release the rescinded channel within a poll, and the engine then forgets it:
# rescinded means rescinded=1 or gone from the list (the engine drops a channel only once the
# guest released it after its rescind).
i=0
while ctl list | grep "^relid=$primary " | grep -vq 'rescinded=1'; do
	i=$((i + 1))
	[ $i -lt 600 ] || fail "the controller (relid $primary) was never rescinded"
	sleep 0.2
done
ctl log 2000 | grep -q "rescinding relid $primary\$" || fail "relid $primary went away without a rescind"
ctl list | grep 'kind=scsi'
ctl scsi stats | head -n 2
