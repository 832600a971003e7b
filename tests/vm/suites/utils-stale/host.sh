# SPDX-License-Identifier: GPL-2.0
# (Not executable on purpose: the guest runs every executable file of a suite.)
# Host side of utils-stale: time samples every second until the guest asks to stop, then none
# until it asks for one (see 10-stale.sh and the utils suite's host.sh for the conventions).
set -u
. "$HV_HOST_LIB"
wait_mark stale-ready 200
ctl timesync auto 1000 >/dev/null || fail samples "timesync auto 1000 failed"
ok samples
wait_mark stale-stop 60
ctl timesync auto 0 >/dev/null || fail stop "timesync auto 0 failed"
ok stop
wait_mark stale-resume 60
ctl timesync sample >/dev/null || fail resume "timesync sample failed"
ok resume
