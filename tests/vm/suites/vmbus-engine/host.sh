#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# (Not executable on purpose: the guest runs every executable file of a suite.)
# Host side of the vmbus-engine suite: after 40-echo's load (512 packets through a 12 KiB ring),
# the guest's signals on the echo channel must be exactly what the ring rules require
# (hv_signal_on_write(): only on an empty to non-empty transition with the host's interrupt
# mask clear, plus one after each read that freed the room the host asked for). The engine
# counts idle_ends, the read passes after which it published an empty ring with its mask clear:
# each requires exactly one signal for the next packet, so the count is
#   idle_ends <= guest_signals - intr_in_full <= idle_ends + race_windows
# where a race window is a packet the host found right after publishing, for which the guest
# may or may not have signalled.
set -u
. "$HV_HOST_LIB"

wait_mark echo-done 500
relid=$(ctl list | sed -n 's/^relid=\([0-9]*\) .*kind=echo .*state=open.*/\1/p' | head -n 1)
[ -n "$relid" ] || fail echo-signals "no open echo channel: $(ctl list)"
line=$(ctl show "$relid" | grep '^guest_signals=')
# Counted: let the guest close the channel.
ctl echo send 1 8 >/dev/null || fail echo-signals "cannot acknowledge"
num() { echo "$line" | sed -n "s/.*$1=\([0-9]*\).*/\1/p"; }
sig=$(num guest_signals) unneeded=$(num unneeded_signals) idle=$(num idle_ends) race=$(num race_windows)
in_full=$(tr -d '\r' <"$LOG" | sed -n 's/^ECHO-SIGNALS intr_in_full=\([0-9]*\)$/\1/p' | tail -n 1)
[ -n "$in_full" ] || fail echo-signals "the guest did not report intr_in_full"
echo "echo channel $relid: $line; intr_in_full=$in_full"
echo "signals for packets: $((sig - in_full)), required: $idle .. $((idle + race))"
[ "$unneeded" = 0 ] || fail echo-signals "$unneeded unneeded signals"
[ $((sig - in_full)) -ge "$idle" ] && [ $((sig - in_full)) -le $((idle + race)) ] ||
	fail echo-signals "$((sig - in_full)) signals for packets, the rules require $idle .. $((idle + race))"
ok echo-signals
