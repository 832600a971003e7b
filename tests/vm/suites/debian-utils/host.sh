# SPDX-License-Identifier: GPL-2.0
# (Not executable on purpose: the guest runs every executable file of a suite.)
# Host side: once the systemd-started hv_kvp_daemon has let KVP negotiate, set a key and read
# the guest's auto pool; check that heartbeat is answered.
set -u
ctl() { "$HV_HOST" ctl --socket "$HV_HOST_CTL" "$@"; }
fail() { echo "FAIL: $*"; ctl log 40; exit 1; }
ctl wait open kvp --timeout 200 >/dev/null || fail "kvp never opened"
i=0
until ctl kvp set external HostKey debian-utils >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 120 ] || fail "kvp set never succeeded"
	sleep 1
done
auto=$(ctl kvp enum auto) || fail "kvp enum auto failed"
echo "$auto" | grep -qx 'IntegrationServicesVersion=3.1' || fail "no IntegrationServicesVersion=3.1: $auto"
# The daemon reads /etc/os-release in the Debian guest.
echo "$auto" | grep -q '^OSName=Debian' || fail "OSName is not Debian's: $auto"
ctl heartbeat status | grep -q '^answered=[1-9]' || fail "no heartbeat answered"
