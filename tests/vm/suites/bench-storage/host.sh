#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# (Not executable on purpose: the guest runs every executable file of a suite.)
# Host side of the storage benchmark: for each fio run on the synthetic disk, the SRBs the
# engine's storvsp served and the guest's signals on all of the controller's channels, as
# deltas between the guest's begin and end marks, with the theoretical signal count
# (idle_ends: the read passes after which the host had published an empty ring with its
# interrupt mask clear, each of which requires one signal for the next request; race_windows:
# packets the host found in that window, for which a guest may or may not have signalled), and
# the host's signals to the guest (host_signals: the guest's channel interrupts).
set -u
. "$HV_HOST_LIB"
. "$(dirname "$0")/config.sh"

# "srbs guest_signals idle_ends race_windows host_signals" summed over the SCSI channels.
snapshot() {
	srbs=$(ctl scsi stats | sed -n '1s/^srbs=\([0-9]*\).*/\1/p')
	sig=0 idle=0 race=0 hsig=0
	for relid in $(ctl list | sed -n 's/^relid=\([0-9]*\) .*kind=scsi .*state=open.*/\1/p'); do
		line=$(ctl show "$relid" | grep '^guest_signals=')
		sig=$((sig + $(echo "$line" | sed 's/.*guest_signals=\([0-9]*\).*/\1/')))
		idle=$((idle + $(echo "$line" | sed 's/.*idle_ends=\([0-9]*\).*/\1/')))
		race=$((race + $(echo "$line" | sed 's/.*race_windows=\([0-9]*\).*/\1/')))
		hsig=$((hsig + $(echo "$line" | sed 's/.*host_signals=\([0-9]*\).*/\1/')))
	done
	echo "$srbs $sig $idle $race $hsig"
}

ctl wait open scsi --timeout 150 >/dev/null || fail open "the SCSI channel never opened"
ok open
echo "$BENCH_RUNS" | while read -r name _; do
	wait_mark "bench-$name-begin" 300
	set -- $(snapshot)
	wait_mark "bench-$name-end" $((BENCH_SECS + 120))
	# shellcheck disable=SC2046 # five numbers
	set -- "$@" $(snapshot)
	echo "BENCH dev=storvsc test=$name srbs=$(($6 - $1)) guest_signals=$(($7 - $2))" \
		"idle_ends=$(($8 - $3)) race_windows=$(($9 - $4)) host_signals=$((${10} - $5))"
done || exit 1
ok counted
