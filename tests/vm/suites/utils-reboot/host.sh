# SPDX-License-Identifier: GPL-2.0
# (Not executable on purpose: the guest runs every executable file of a suite.)
# Host side of utils-reboot: once the guest's init waits for it (HVRS-AWAIT-SHUTDOWN), ask for a
# reboot through the shutdown IC. The guest must answer S_OK, log the C driver's line and go down
# through init (run-vm.sh --expect-end reboot checks init's line and the kernel's last one).
set -u
. "$HV_HOST_LIB"
seen() { tr -d '\r' <"$LOG" | grep -qF "$1"; }
i=0
until seen 'HVRS-AWAIT-SHUTDOWN: reboot'; do
	i=$((i + 1))
	[ $i -lt 3000 ] || fail reboot-request "the guest's init never waited for a reboot"
	sleep 0.1
done
ctl wait open shutdown --timeout 10 >/dev/null || fail reboot-request "the shutdown channel is not open"
st=$(ctl shutdown reboot) || fail reboot-request "shutdown reboot: $st"
echo "$st"
echo "$st" | grep -q '^status=0x00000000' || fail reboot-request "answered $st, want S_OK"
ok reboot-request
i=0
until seen 'reboot: Restarting system'; do
	i=$((i + 1))
	[ $i -lt 600 ] || fail reboot-done "no 'reboot: Restarting system' within 60 s"
	sleep 0.1
done
seen 'hv_utils: Restart request received - graceful restart initiated' || fail reboot-done "no 'hv_utils: Restart request received - graceful restart initiated'"
ok reboot-done
