# SPDX-License-Identifier: GPL-2.0
# (Not executable on purpose: the guest runs every executable file of a suite.)
# Host side of utils-shutdown: once the guest's init waits for it (HVRS-AWAIT-SHUTDOWN), ask for a
# poweroff through the shutdown IC. The guest must answer S_OK, log the C driver's line and go down
# through init (run-vm.sh --expect-end poweroff checks init's line and the kernel's last one).
set -u
. "$HV_HOST_LIB"
seen() { tr -d '\r' <"$LOG" | grep -qF "$1"; }
i=0
until seen 'HVRS-AWAIT-SHUTDOWN: poweroff'; do
	i=$((i + 1))
	[ $i -lt 3000 ] || fail poweroff-request "the guest's init never waited for a poweroff"
	sleep 0.1
done
ctl wait open shutdown --timeout 10 >/dev/null || fail poweroff-request "the shutdown channel is not open"
st=$(ctl shutdown poweroff) || fail poweroff-request "shutdown poweroff: $st"
echo "$st"
echo "$st" | grep -q '^status=0x00000000' || fail poweroff-request "answered $st, want S_OK"
ok poweroff-request
i=0
until seen 'reboot: Power down'; do
	i=$((i + 1))
	[ $i -lt 600 ] || fail poweroff-done "no 'reboot: Power down' within 60 s"
	sleep 0.1
done
seen 'hv_utils: Shutdown request received - graceful shutdown initiated' || fail poweroff-done "no 'hv_utils: Shutdown request received - graceful shutdown initiated'"
ok poweroff-done
