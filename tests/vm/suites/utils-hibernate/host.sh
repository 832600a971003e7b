# SPDX-License-Identifier: GPL-2.0
# (Not executable on purpose: the guest runs every executable file of a suite.)
# Host side of utils-hibernate: the hibernate request to a guest that can hibernate must be
# answered S_OK (and the guest sends the uevent, 80-hibernate.sh checks it).
set -u
. "$HV_HOST_LIB"
wait_mark 'hibernate-ready .*' 200
want=$(tr -d '\r' <"$LOG" | sed -n 's/.*HVRS-MARK hibernate-ready //p' | tail -n 1)
[ "$want" = uevent ] || fail hibernate "the guest cannot hibernate ('$want')"
st=$(ctl shutdown hibernate) || fail hibernate "shutdown hibernate: $st"
echo "hibernate: $st"
[ "$(echo "$st" | status_of)" = 0x00000000 ] || fail hibernate "answered $st with S4, want S_OK"
ok hibernate
wait_mark hibernate-done 60
