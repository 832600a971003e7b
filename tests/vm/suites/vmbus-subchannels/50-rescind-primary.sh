#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The engine rescinds the echo device with subchannels 1, 3 and 4 open (it rescinds the
# subchannels, then the primary channel): everything is closed and released (host.sh), the
# device goes. A subchannel offered while its primary channel is gone is given back with a
# message. Offered again, the device binds and takes a new subchannel 1.
. /tests/lib.sh
. "$(dirname "$0")/common.sh"
wait_for 60 '[ -z "$(echo_dev)" ]' || fail "the echo device stays"
wait_for 60 "dmesg | grep -q 'subchannel 5 (relid [0-9]*) of .* offered without its primary channel; released'" ||
	fail "no message for the orphan subchannel: $(dmesg | tail -n 3)"
mark orphan
wait_for 90 '[ -n "$(echo_dev)" ]' || fail "the echo device is not back"
d=$(echo_dev)
wait_for 60 "[ -e $d/driver ]" || fail "not bound again"
wait_for 60 "[ \$(count 'echo: 512 packets of 100 bytes echoed, 0 bad') = 3 ]" || fail "no echo after the re-offer"
mark reoffered
wait_for 60 '[ -n "$(sub_relid "$d" 1)" ]' || fail "no new subchannel 1"
r1=$(sub_relid "$d" 1)
wait_for 60 "dmesg | grep -qF '$(echoed 1 "$r1")'" || fail "new subchannel 1: $(dmesg | grep subchannel | tail -n 3)"
check_dmesg_clean
