#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Unbinding closes the subchannels before the primary channel (host.sh checks every echo
# channel closed); they stay offered with their directories. The engine then presets faults for
# the next open and offers subchannel 4 to the unbound device. Bound again, the driver gets all
# four subchannels: subchannel 1's 256 echoes are held 1.5 s and come at once, more than its
# inbound ring holds (our reader must signal the host, which set pending_send_sz); the engine
# stops reading subchannel 3's ring for 2 s, so the driver's sends wait for room
# (send_inband_wait sets pending_send_sz and the host's signal wakes it); subchannel 2's echoes
# are held 20 s (40-rescind-sub rescinds it meanwhile).
. /tests/lib.sh
. "$(dirname "$0")/common.sh"
d=$(echo_dev)
g=${d##*/}
p=$(cat "$d/id")
r1=$(sub_relid "$d" 1) r2=$(sub_relid "$d" 2) r3=$(sub_relid "$d" 3)
must sh -c "echo $g >$DRV/unbind"
[ ! -e "$d/driver" ] || fail "still bound"
[ "$(nchannels "$d")" = 4 ] || fail "channels after unbind: $(ls "$d/channels")"
for r in $p $r1 $r2 $r3; do
	# Ring files answer EINVAL while the channel has no rings.
	if cat "$d/channels/$r/read_avail" >/dev/null 2>&1; then fail "channel $r still open"; fi
done
mark unbound
wait_for 60 '[ -n "$(sub_relid "$d" 4)" ]' || fail "no subchannel 4"
r4=$(sub_relid "$d" 4)
echo "r4=$r4" >>"$RELIDS"
must sh -c "echo $g >$DRV/bind"
wait_for 60 "[ \$(count 'echo: 512 packets of 100 bytes echoed, 0 bad') = 2 ]" || fail "no echo on the primary after rebind"
for s in "1 $r1 2" "3 $r3 2" "4 $r4 1"; do
	set -- $s
	wait_for 60 "[ \$(count '$(echoed $1 $2)') = $3 ]" ||
		fail "subchannel $1 after rebind: $(dmesg | grep 'subchannel' | tail -n 4)"
done
line=$(dmesg | grep -F "subchannel 3 (relid $r3) open on CPU" | tail -n 1)
echo "$line"
n=$(echo "$line" | sed -n 's/.*waited for room \([0-9]*\) times.*/\1/p')
[ "${n:-0}" -ge 1 ] || fail "subchannel 3 never waited for room: $line"
# MODIFYCHANNEL's CPU stays across the reopen.
dmesg | grep -qF "subchannel 1 (relid $r1) open on CPU 1" || fail "subchannel 1 not reopened on CPU 1"
mark rebound
check_dmesg_clean
