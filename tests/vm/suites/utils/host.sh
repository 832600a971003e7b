# SPDX-License-Identifier: GPL-2.0
# (Not executable on purpose: the guest runs every executable file of a suite.)
# Host side of the hv_utils acceptance suite, run by scripts/run-vm-engine.sh beside the VM. It
# follows the guest's "HVRS-MARK name" lines in the console log ($LOG), drives the engine's IC
# back ends and checks their answers; each check prints "ok NAME" or "not ok NAME" (reported as
# RUN/host-NAME). A check that fails stops the script (the guest's waits are bounded).
set -u
. "$HV_HOST_LIB"
HV_E_FAIL=0x80004005
S_OK=0x00000000

ctl wait open heartbeat --timeout 200 >/dev/null || fail heartbeat "heartbeat never opened"
# Heartbeat: the engine sends a sequence number every second; the guest must answer each with
# the number plus one (the engine checks the value; a wrong one is a protocol error).
a1=$(ctl heartbeat status | sed -n 's/^answered=//p')
s1=$(ctl heartbeat status | sed -n 's/^last_seq=//p')
sleep 4
a2=$(ctl heartbeat status | sed -n 's/^answered=//p')
s2=$(ctl heartbeat status | sed -n 's/^last_seq=//p')
[ "${a2:-0}" -ge $((${a1:-0} + 2)) ] && [ "$s2" != "$s1" ] ||
	fail heartbeat "heartbeats answered went from ${a1:-?} to ${a2:-?}, last_seq $s1 -> $s2 in 4 s"
ok heartbeat

# Time sync: the host clock one hour ahead, a SYNC; the guest prints its clock, which must be
# within 1 s of the host's (taken when the line appears; the console adds a little delay).
wait_mark timesync-ready 200
ctl timesync auto 0 >/dev/null
ctl timesync offset 3600 >/dev/null || fail timesync-sync "timesync offset"
st=$(ctl timesync sync) || fail timesync-sync "timesync sync: $st"
[ "$(echo "$st" | status_of)" = $S_OK ] || fail timesync-sync "SYNC answered $st"
ok timesync-sync
seen=0 best=""
while [ $seen -lt 3 ]; do
	wait_mark "clock .*" 60
	n=$(tr -d '\r' <"$LOG" | grep -c 'HVRS-MARK clock ')
	if [ "$n" -gt $seen ]; then
		now=$(date +%s.%N)
		g=$(tr -d '\r' <"$LOG" | grep 'HVRS-MARK clock ' | sed -n "${n}s/.*HVRS-MARK clock //p")
		d=$(awk -v g="$g" -v h="$now" 'BEGIN {d = g - (h + 3600); if (d < 0) d = -d; printf "%.3f", d}')
		echo "guest clock $g, host clock + 3600 = $(awk -v h="$now" 'BEGIN {printf "%.3f", h + 3600}'), difference $d s"
		best=$(awk -v a="${best:-999}" -v b="$d" 'BEGIN {print (b < a) ? b : a}')
		seen=$n
	fi
	sleep 0.05
done
awk -v d="$best" 'BEGIN {exit !(d < 1)}' || fail timesync-clock "the guest clock is $best s from the host's"
ok timesync-clock
# Samples every second for the PTP clock test.
ctl timesync auto 1000 >/dev/null || fail timesync-samples "timesync auto"
st=$(ctl timesync sample) || fail timesync-samples "timesync sample: $st"
[ "$(echo "$st" | status_of)" = $S_OK ] || fail timesync-samples "SAMPLE answered $st"
ok timesync-samples

# KVP.
wait_mark kvp-ready 200
auto=$(ctl kvp enum auto) || fail kvp-auto "kvp enum auto: $auto"
echo "$auto"
for k in FullyQualifiedDomainName IntegrationServicesVersion NetworkAddressIPv4 \
	NetworkAddressIPv6 OSBuildNumber OSName OSMajorVersion OSMinorVersion OSVersion \
	ProcessorArchitecture; do
	echo "$auto" | grep -q "^$k=" || fail kvp-auto "no $k in the auto pool"
done
# (The values are the daemon's: in the initramfs its getaddrinfo() fails, so the FQDN is its
# error text, and there is no os-release for OSMajorVersion; the keys must all be there.)
echo "$auto" | grep -qx 'count=10' || fail kvp-auto "the auto pool does not have 10 keys"
echo "$auto" | grep -qx 'IntegrationServicesVersion=3.1' || fail kvp-auto "IntegrationServicesVersion is not 3.1"
echo "$auto" | grep -qx 'OSName=Linux' || fail kvp-auto "OSName is not Linux"
echo "$auto" | grep -q '^OSBuildNumber=7\.2' || fail kvp-auto "OSBuildNumber is not the 7.2 kernel's release"
echo "$auto" | grep -qx 'ProcessorArchitecture=x86_64' || fail kvp-auto "ProcessorArchitecture is not x86_64"
ok kvp-auto
for n in 0 1 2 3 4; do
	st=$(ctl kvp set $n HvrsKey$n value-$n) || fail kvp-set "kvp set $n: $st"
	[ "$(echo "$st" | status_of)" = $S_OK ] || fail kvp-set "set in pool $n answered $st"
	st=$(ctl kvp set $n HvrsGone$n gone-$n) || fail kvp-set "kvp set $n: $st"
	[ "$(echo "$st" | status_of)" = $S_OK ] || fail kvp-set "set in pool $n answered $st"
	# The C stack answers a GET of a key that exists with S_OK but an empty value: hv_kvp.c
	# passes value_size 0 to the daemon, whose kvp_get_value() copies value_size bytes. The
	# values are checked through ENUMERATE, which is what Hyper-V uses.
	st=$(ctl kvp get $n HvrsKey$n) || fail kvp-get "kvp get $n: $st"
	[ "$(echo "$st" | status_of)" = $S_OK ] || fail kvp-get "get in pool $n answered $st"
	echo "pool $n GET HvrsKey$n: $st" | tr '\n' ' '
	echo
	st=$(ctl kvp get $n HvrsMissing$n) || fail kvp-get "kvp get $n: $st"
	[ "$(echo "$st" | status_of)" != $S_OK ] || fail kvp-get "a missing key in pool $n answered $st"
	# ENUMERATE of the auto pool (2) lists the daemon's own keys, not the file's.
	[ $n = 2 ] && continue
	st=$(ctl kvp enum $n) || fail kvp-enum "kvp enum $n: $st"
	echo "$st" | grep -qx "HvrsKey$n=value-$n" || fail kvp-enum "pool $n enumerates as $st"
	echo "$st" | grep -qx "HvrsGone$n=gone-$n" || fail kvp-enum "pool $n enumerates as $st"
done
ok kvp-enum
ok kvp-set
ok kvp-get
wait_mark kvp-set-seen 120
for n in 0 1 2 3 4; do
	st=$(ctl kvp delete $n HvrsGone$n) || fail kvp-delete "kvp delete $n: $st"
	[ "$(echo "$st" | status_of)" = $S_OK ] || fail kvp-delete "delete in pool $n answered $st"
	st=$(ctl kvp get $n HvrsGone$n) || fail kvp-delete "kvp get $n: $st"
	[ "$(echo "$st" | status_of)" != $S_OK ] || fail kvp-delete "a deleted key is still there: $st"
done
ok kvp-delete
wait_mark kvp-deleted 120
# The guest has no NIC the daemon can map to an adapter id (no network driver in the test
# kernel): the C stack answers an IP query for an unknown adapter with HV_E_FAIL.
st=$(ctl kvp ip-get 00:15:5D:00:00:01) || fail kvp-ip "kvp ip-get: $st"
echo "$st"
[ "$(echo "$st" | status_of)" = $HV_E_FAIL ] || fail kvp-ip "ip-get of an unknown adapter answered $st"
ok kvp-ip
ctl kvp set 0 HvrsIpDone 1 >/dev/null || fail kvp-ip "kvp set HvrsIpDone"
# The daemon is stopped, the GET reaches its device, the daemon is killed 8 s later: the
# request fails with HV_E_FAIL then, well before the kernel's 30 s daemon timeout.
wait_mark kvp-stopped 120
t0=$(date +%s)
st=$(ctl --timeout 70 kvp get 0 HvrsKey0 --timeout 60) || fail kvp-daemon-killed "kvp get: $st"
t=$(($(date +%s) - t0))
echo "GET with the daemon killed: $st after $t s"
[ "$(echo "$st" | status_of)" = $HV_E_FAIL ] || fail kvp-daemon-killed "answered $st, want HV_E_FAIL"
[ $t -ge 4 ] && [ $t -lt 25 ] || fail kvp-daemon-killed "answered after $t s, not when the daemon died (8 s)"
ok kvp-daemon-killed
wait_mark kvp-restarted 120
st=$(ctl kvp set 0 HvrsAfterRestart yes) || fail kvp-daemon-restarted "kvp set: $st"
[ "$(echo "$st" | status_of)" = $S_OK ] || fail kvp-daemon-restarted "set after the restart answered $st"
st=$(ctl kvp enum 0) || fail kvp-daemon-restarted "kvp enum: $st"
echo "$st" | grep -qx 'HvrsAfterRestart=yes' || fail kvp-daemon-restarted "pool 0 after the restart: $st"
ok kvp-daemon-restarted

# The kernel's own 30 s timeout: the daemon is stopped, not killed, while a GET waits for it.
wait_mark kvp-silent 120
t0=$(date +%s)
st=$(ctl --timeout 70 kvp get 0 HvrsKey0 --timeout 60) || fail kvp-timeout "kvp get: $st"
t=$(($(date +%s) - t0))
echo "GET with the daemon stopped: $st after $t s"
[ "$(echo "$st" | status_of)" = $HV_E_FAIL ] || fail kvp-timeout "answered $st, want HV_E_FAIL"
[ $t -ge 27 ] && [ $t -le 40 ] || fail kvp-timeout "answered after $t s, want the 30 s daemon timeout"
ok kvp-timeout
wait_mark kvp-resumed 120
i=0
until st=$(ctl kvp set 0 HvrsAfterTimeout yes 2>&1) && [ "$(echo "$st" | status_of)" = $S_OK ]; do
	i=$((i + 1))
	[ $i -lt 60 ] || fail kvp-after-timeout "set after the timeout: $st"
	sleep 1
done
ok kvp-after-timeout

# VSS: FREEZE while the guest writes, THAW once the guest saw the writes block.
wait_mark vss-ready 200
st=$(ctl --timeout 70 vss freeze --timeout 60) || fail vss-freeze "vss freeze: $st"
echo "FREEZE: $st"
[ "$(echo "$st" | status_of)" = $S_OK ] || fail vss-freeze "FREEZE answered $st"
echo "$st" | grep -qx 'flags=0x0' || fail vss-freeze "FREEZE flags: $st"
ok vss-freeze
wait_mark vss-frozen 60
st=$(ctl --timeout 70 vss thaw --timeout 60) || fail vss-thaw "vss thaw: $st"
echo "THAW: $st"
[ "$(echo "$st" | status_of)" = $S_OK ] || fail vss-thaw "THAW answered $st"
ok vss-thaw
wait_mark vss-done 120
for op in hot-backup get-dm-info create delete bu-complete; do
	st=$(ctl --timeout 70 vss $op --timeout 60) || fail vss-ops "vss $op: $st"
	echo "$op: $st" | tr '\n' ' '
	echo
	[ "$(echo "$st" | status_of)" = $S_OK ] || fail vss-ops "$op answered $st"
done
# The C driver means to answer HOT_BACKUP with VSS_HBU_NO_AUTO_RECOVERY (5), but tests the
# operation in the daemon's reply, whose first word the daemon overwrites with its error code
# (union of vss_hdr and error in struct hv_vss_msg): with the error 0 the test never holds,
# and the host gets flags 0.
st=$(ctl vss hot-backup)
echo "$st" | grep -qx 'flags=0x0' || fail vss-ops "HOT_BACKUP flags (the C stack answers 0): $st"
st=$(ctl vss get-dm-info)
echo "$st" | grep -qx 'flags=0x0' || fail vss-ops "GET_DM_INFO flags: $st"
ok vss-ops

# Malformed IC messages. An IC packet: pipe header (8 bytes), icmsg_hdr (framework 3.0, type,
# service version, size 0, status 0, IC transaction id 0, flags TRANSACTION|REQUEST), padded to
# 32 bytes: too short for any message body.
ichdr() { printf '010000001800000003000000%02x00030000000000000000000003000000000000' "$1"; }
wait_mark malformed-ready 120
ctl inject packet heartbeat 00000000000000000000000000000000 >/dev/null || fail malformed "inject (1)"
ctl inject packet heartbeat "$(ichdr 1)" >/dev/null || fail malformed "inject (2)"
ctl inject packet shutdown "$(ichdr 3)" >/dev/null || fail malformed "inject (3)"
ctl inject packet timesync "$(ichdr 4)" >/dev/null || fail malformed "inject (4)"
ctl inject packet vss "$(ichdr 5)" >/dev/null || fail malformed "inject (5)"
ctl inject packet kvp "$(ichdr 9)" >/dev/null || fail malformed "inject (6)"
st=$(ctl shutdown poweroff --flags 7)
[ "$(echo "$st" | status_of)" = $HV_E_FAIL ] || fail malformed "shutdown with flags 7 answered $st, want HV_E_FAIL"
sleep 2
# Every channel still answers.
ctl heartbeat send >/dev/null || fail malformed "no heartbeat answer after the malformed messages"
st=$(ctl timesync sample) && [ "$(echo "$st" | status_of)" = $S_OK ] || fail malformed "timesync: $st"
st=$(ctl kvp get 0 HvrsKey0) && [ "$(echo "$st" | status_of)" = $S_OK ] || fail malformed "kvp: $st"
st=$(ctl vss get-dm-info) && [ "$(echo "$st" | status_of)" = $S_OK ] || fail malformed "vss: $st"
ok malformed

# Hibernate: the answer the guest's ACPI S4 support calls for.
wait_mark 'hibernate-ready .*' 120
want=$(tr -d '\r' <"$LOG" | sed -n 's/.*HVRS-MARK hibernate-ready //p' | tail -n 1)
st=$(ctl shutdown hibernate) || fail hibernate "shutdown hibernate: $st"
echo "hibernate: $st"
case "$want" in
fail) [ "$(echo "$st" | status_of)" = $HV_E_FAIL ] || fail hibernate "answered $st without S4, want HV_E_FAIL" ;;
uevent) [ "$(echo "$st" | status_of)" = $S_OK ] || fail hibernate "answered $st with S4, want S_OK" ;;
*) fail hibernate "the guest expects '$want'" ;;
esac
ok hibernate
wait_mark hibernate-done 60
ctl list
