#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# (Not executable on purpose: the guest runs every executable file of a suite.)
# Host side of the vmbus-engine suite: after 40-echo's load (512 packets through a 12 KiB ring),
# the guest's signals on the echo channel must be what the ring rules require
# (hv_signal_on_write(): only on an empty to non-empty transition with the host's interrupt
# mask clear; plus one after each read that freed the room the host asked for, intr_in_full).
# The engine sees every signal and what it found:
# - unneeded_signals (a signal that found nothing to read, no room waited for, and no race
#   window to explain it) must be 0: no signal too many;
# - idle_ends counts the busy periods of the ring: a new packet after each needs one signal
#   unless the host was already reading for another reason, and race_windows the packets the
#   host found right after publishing an empty ring, which the guest may or may not have
#   signalled; so the guest's signals for packets are at most idle_ends + race_windows;
# - a signal too few would leave packets unread (the engine reads only when signalled) and
#   40-echo would not have completed.
set -u
. "$HV_HOST_LIB"

wait_mark echo-done 500
relid=$(ctl list | sed -n 's/^relid=\([0-9]*\) .*kind=echo .*state=open.*/\1/p' | head -n 1)
[ -n "$relid" ] || fail echo-signals "no open echo channel: $(ctl list)"
show=$(ctl show "$relid")
line=$(echo "$show" | grep '^guest_signals=')
packets=$(echo "$show" | sed -n 's/^packets_in=\([0-9]*\).*/\1/p')
# Counted: let the guest close the channel.
ctl echo send 1 8 >/dev/null || fail echo-signals "cannot acknowledge"
num() { echo "$line" | sed -n "s/.*$1=\([0-9]*\).*/\1/p"; }
sig=$(num guest_signals) unneeded=$(num unneeded_signals) idle=$(num idle_ends) race=$(num race_windows)
in_full=$(tr -d '\r' <"$LOG" | sed -n 's/^ECHO-SIGNALS intr_in_full=\([0-9]*\)$/\1/p' | tail -n 1)
[ -n "$in_full" ] || fail echo-signals "the guest did not report intr_in_full"
echo "echo channel $relid: $line; intr_in_full=$in_full"
pk=$((sig - in_full))
echo "signals for packets: $pk (at most $((idle + race)): $idle busy periods, $race race windows)," \
	"$(awk -v s="$pk" -v p="$packets" 'BEGIN { if (p > 0) printf "%.3f per packet of %d", s / p, p }')"
[ "$unneeded" = 0 ] || fail echo-signals "$unneeded unneeded signals"
[ "$pk" -ge 1 ] && [ "$pk" -le $((idle + race)) ] ||
	fail echo-signals "$pk signals for packets, the rules allow 1 .. $((idle + race))"
ok echo-signals
