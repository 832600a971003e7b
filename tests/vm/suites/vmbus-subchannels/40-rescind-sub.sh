#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The engine rescinds subchannel 2 while 256 of its echoes are outstanding (held by the
# engine): the bus closes it, removes its directory, tells the driver and releases the relid
# (host.sh checks RELID_RELEASED); the device, its primary channel and the other subchannels
# stay open.
. /tests/lib.sh
. "$(dirname "$0")/common.sh"
d=$(echo_dev)
p=$(cat "$d/id")
. "$RELIDS"
[ -n "$r2" ] && [ -n "$r4" ] || fail "relids: $(cat "$RELIDS")"
wait_for 60 "dmesg | grep -qF 'subchannel 2 (relid $r2) rescinded: '" || fail "no rescind of subchannel 2"
dmesg | grep -F "subchannel 2 (relid $r2) rescinded: "
dmesg | grep -qF "subchannel 2 (relid $r2) rescinded: 256 of" && fail "the echoes were not outstanding"
wait_for 30 "[ ! -e $d/channels/$r2 ]" || fail "directory of $r2 stays"
[ "$(nchannels "$d")" = 4 ] || fail "channels: $(ls "$d/channels")"
[ -e "$d/driver" ] || fail "the driver unbound"
for r in $p $r1 $r3 $r4; do
	cat "$d/channels/$r/read_avail" >/dev/null 2>&1 || fail "channel $r closed"
done
mark sub-rescinded
check_dmesg_clean
