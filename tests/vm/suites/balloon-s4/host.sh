# SPDX-License-Identifier: GPL-2.0
# (Not executable on purpose: the guest runs every executable file of a suite.)
# Host side of the balloon-s4 suite (see 10-s4.sh): with hibernation allowed the guest still
# reports both capabilities (as C: `ballooning_enabled()`, `hot_add_enabled()` do not look at
# it) and its status, but leaves a balloon-up request unanswered and answers a hot-add request
# with no pages and result 1. Each check prints "ok NAME" or "not ok NAME".
set -u
. "$HV_HOST_LIB"

wait_mark dm-ready 300
st=$(ctl dm status) || fail dm-caps "dm status: $st"
echo "$st"
echo "$st" | grep -qx 'version=2.0' || fail dm-caps "not 2.0: $st"
echo "$st" | grep -q '^caps=balloon:1 hot_add:1 ' || fail dm-caps "capabilities: $st"
ok dm-caps
i=0
until [ "$(ctl dm status | field reports)" -ge 2 ]; do
	i=$((i + 1)); [ $i -lt 60 ] || fail dm-status "fewer than 2 status reports in 60 s"; sleep 1
done
ok dm-status
# No answer comes: the request times out, and no page was taken.
if r=$(ctl dm balloon 4096 --timeout 20 2>&1); then
	fail balloon-ignored "the guest answered a balloon-up request: $r"
fi
echo "balloon 4096: $r"
[ "$(ctl dm status | field held_pages)" = 0 ] || fail balloon-ignored "held $(ctl dm status | field held_pages)"
ok balloon-ignored
r=$(ctl dm hot-add 0x40000 32768 --region 0x40000,32768 --timeout 120) || fail hot-add-ignored "dm hot-add: $r"
echo "$r"
got="page_count=$(echo "$r" | field page_count) result=$(echo "$r" | field result)"
[ "$got" = "page_count=0 result=1" ] || fail hot-add-ignored "answer $got, C answers page_count=0 result=1"
ok hot-add-ignored
wait_mark dm-checked 300
ctl errors --check >/dev/null || fail protocol "protocol errors: $(ctl errors)"
ok protocol-clean
