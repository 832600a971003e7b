# SPDX-License-Identifier: GPL-2.0
# (Not executable on purpose: the guest runs every executable file of a suite.)
# Host side of the balloon-engine suite (see 10-dm.sh), run by scripts/run-vm-engine.sh beside
# the VM: drives the engine's dm back end, which checks every range the guest returns (guest
# RAM, no overlap, no page twice: protocol errors fail the run). Each check prints "ok NAME" or
# "not ok NAME" (reported as RUN/host-NAME). The hot-add answers asserted are the C driver's.
set -u
. "$HV_HOST_LIB"
stack=$HV_STACK

wait_mark dm-ready 300
st=$(ctl dm status) || fail dm-version "dm status: $st"
echo "$st"
echo "$st" | grep -qx 'version=2.0' || fail dm-version "not 2.0: $st"
echo "$st" | grep -q '^caps=balloon:1 ' || fail dm-version "no balloon capability: $st"
ok dm-version
# Status reports after pressure_report_delay=2.
i=0
until [ "$(ctl dm status | field reports)" -ge 2 ]; do
	i=$((i + 1)); [ $i -lt 60 ] || fail dm-status "fewer than 2 status reports in 60 s"; sleep 1
done
ctl dm status | grep last_status
ok dm-status

# 256 MiB: exactly 65536 distinct pages of guest RAM (the engine checks each range).
r=$(ctl dm balloon 65536 --timeout 300) || fail balloon-256m "dm balloon: $r"
echo "$r"
[ "$(echo "$r" | field pages)" = 65536 ] || fail balloon-256m "got $(echo "$r" | field pages) pages"
[ "$(ctl dm status | field held_pages)" = 65536 ] || fail balloon-256m "held $(ctl dm status | field held_pages)"
ctl errors --check >/dev/null || fail balloon-256m "protocol errors: $(ctl errors)"
ok balloon-256m
wait_mark ballooned 300
r=$(ctl dm unballoon all --timeout 120) || fail unballoon "dm unballoon: $r"
echo "$r"
[ "$(ctl dm status | field held_pages)" = 0 ] || fail unballoon "still held"
ok unballoon

# More than the guest can spare: it stops at the floor and keeps running.
wait_mark holding 300
r=$(ctl dm balloon 262144 --timeout 400) || fail balloon-floor "dm balloon: $r"
echo "$r"
p=$(echo "$r" | field pages)
[ "$p" -gt 0 ] && [ "$p" -lt 262144 ] || fail balloon-floor "got $p pages of 262144"
ctl dm status | grep last_status
ctl errors --check >/dev/null || fail balloon-floor "protocol errors: $(ctl errors)"
ok balloon-floor
r=$(ctl dm unballoon all --timeout 120) || fail unballoon-floor "dm unballoon: $r"
ok unballoon-floor

# Hot-add (the engine's QEMU has 2G of RAM and the guest boots with mem=1G, so memory above
# 1 GiB is real but the guest does not know it). The answers asserted are the C driver's, the
# same for both stacks:
# - a region not aligned to the memory block: add_memory() refuses it (EINVAL), no pages, a
#   transient failure (result 0);
# - a block at 1 GiB of which the host backs the first half (16384 pages): the block is added
#   and onlined, the other half stays offline; then the second half without a region (a 16-byte
#   request): the pages are covered now and brought online in the online block, none added;
# - a region of 4 blocks from 1.5 GiB, the fourth overlapping the firmware's reserved memory at
#   0x7ffdf000 (e820): 3 blocks (98304 pages) go in, add_memory() says EEXIST for the fourth,
#   which turns hot-add off for good: a partial success (page_count < requested, result 1);
# - pages overlapping RAM: hot-add is off now, so the permanent failure (0 pages, result 1).
ha() { # name want args...
	n=$1 want=$2; shift 2
	r=$(ctl dm hot-add "$@" --timeout 120) || fail "$n" "dm hot-add $*: $r"
	got="page_count=$(echo "$r" | field page_count) result=$(echo "$r" | field result)"
	echo "HOTADD-ANSWER $stack $n: hot-add $*: $got (C: $want)"
	if [ "$got" = "$want" ]; then ok "$n"; else
		# Not fatal: the version checks still run; the script fails at the end.
		echo "not ok $n"; echo "FAIL: answer $got, the C driver answers $want"; bad=1
	fi
}
bad=0
ha hot-add-misaligned "page_count=0 result=0" 0x400100 512 --region 0x400100,32768
ha hot-add-half "page_count=16384 result=1" 0x40000 16384 --region 0x40000,32768
ha hot-add-other-half "page_count=16384 result=1" 0x44000 16384
ha hot-add-partial "page_count=98304 result=1" 0x60000 131072 --region 0x60000,131072
ha hot-add-overlap "page_count=0 result=1" 0x10000 32768
ctl errors --check >/dev/null || fail hot-add "protocol errors: $(ctl errors)"
# Balloon and unballoon 512 MiB three times over the hot-added memory too (memhold still holds
# 300 MiB): every range is checked against the guest's RAM (2G, hot-added blocks included), no
# page twice, all given back.
for i in 1 2 3; do
	r=$(ctl dm balloon 131072 --timeout 300) || fail balloon-cycles "dm balloon (cycle $i): $r"
	[ "$(echo "$r" | field pages)" = 131072 ] || fail balloon-cycles "cycle $i: got $(echo "$r" | field pages) pages"
	r=$(ctl dm unballoon all --timeout 120) || fail balloon-cycles "dm unballoon (cycle $i): $r"
	[ "$(ctl dm status | field held_pages)" = 0 ] || fail balloon-cycles "cycle $i: still held"
done
ctl errors --check >/dev/null || fail balloon-cycles "protocol errors: $(ctl errors)"
ok balloon-cycles

# Malformed host messages: a balloon request without num_pages (read as 0: an answer of no
# pages), a 4-byte message, an unknown type; to ours only, an unballoon request announcing
# 1000 ranges and carrying one (C would read past its buffer and free what it finds there).
r=$(ctl dm malformed truncated-balloon --timeout 60) || fail malformed-balloon "$r"
[ "$(echo "$r" | field pages)" = 0 ] || fail malformed-balloon "$r"
ok malformed-balloon
ctl dm malformed short >/dev/null && ctl dm malformed unknown >/dev/null || fail malformed "send"
if [ "$stack" = rust ]; then
	r=$(ctl dm balloon 16 --timeout 60) || fail malformed-overcount "balloon: $r"
	ctl dm malformed unballoon-overcount 1000 >/dev/null || fail malformed-overcount "send"
	sleep 2
	r=$(ctl dm unballoon all --timeout 60) || fail malformed-overcount "the guest stopped answering: $r"
	ok malformed-overcount
fi
sleep 2
ok malformed

# Version fallback: the device rescinded, then offered again refusing 2.0 (the spec's accepted
# versions, so that no guest is faster than a refuse-version command), then refusing 2.0 and 1.0
# (a spec takes one version: its fields are comma-separated).
fallback() { # name want versions
	n=$1 want=$2
	ctl rescind "$prev" >/dev/null || fail "$n" "rescind $prev"
	ctl wait released "$prev" --timeout 60 >/dev/null || fail "$n" "$prev not released"
	ctl add "dm,name=$n,versions=$3" >/dev/null || fail "$n" "add $n"
	ctl wait open "$n" --timeout 60 >/dev/null || fail "$n" "the guest did not open $n"
	i=0
	until [ "$(ctl dev "$n" status | field version)" = "$want" ]; do
		i=$((i + 1)); [ $i -lt 300 ] || fail "$n" "$(ctl dev "$n" status)"; sleep 0.1
	done
	ctl dev "$n" status | grep -E '^(version|tried)='
	ok "$n"
	prev=$n
}
prev=dm
fallback dm10 1.0 1.0
fallback dm03 0.3 0.3
ctl dev dm03 status | grep -qx 'tried=2.0,1.0,0.3' || fail dm03 "tried: $(ctl dev dm03 status)"
exit $bad
