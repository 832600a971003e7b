#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# MODIFYCHANNEL through a subchannel's cpu file: its interrupts move to CPU 1 (the engine's
# target_vp follows, checked by host.sh), channel_vp_mapping shows it, the primary stays.
. /tests/lib.sh
. "$(dirname "$0")/common.sh"
d=$(echo_dev)
p=$(cat "$d/id")
r=$(sub_relid "$d" 1)
[ -n "$r" ] || fail "no subchannel 1"
must sh -c "echo 1 >$d/channels/$r/cpu"
[ "$(cat "$d/channels/$r/cpu")" = 1 ] || fail "cpu of $r: $(cat "$d/channels/$r/cpu")"
[ "$(cat "$d/channels/$p/cpu")" = 0 ] || fail "the primary moved"
grep -qx "$r:1" "$d/channel_vp_mapping" || fail "channel_vp_mapping: $(cat "$d/channel_vp_mapping")"
mark moved
check_dmesg_clean
