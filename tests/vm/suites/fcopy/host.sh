# SPDX-License-Identifier: GPL-2.0
# (Not executable on purpose: the guest runs every executable file of a suite.)
# Host side of the file-copy suite (issue 8), run by scripts/run-vm-engine.sh beside the VM: it
# pushes files through the engine's FCopy back end to hv_fcopy_uio_daemon in the guest, checks
# each push's outcome (including the daemon's refusals and errors), then pushes a MANIFEST with
# the sha256 of every file the guest must have (20-copy.sh checks them), and finally rescinds
# the device under the daemon (40-rescind.sh). Each check prints "ok NAME" or "not ok NAME".
set -u
. "$HV_HOST_LIB"
# Copies take long: every command may wait up to 1000 s.
ctl() { "$HV_HOST" ctl --socket "$HV_HOST_CTL" --timeout 1000 "$@"; }
W=$(mktemp -d /tmp/fcopy-host.XXXXXX)
trap 'rm -rf "$W"' EXIT
G=/tmp/fcopy
# Big file size in MiB (FCOPY_BIG_MIB to change it).
BIG=${FCOPY_BIG_MIB:-64}
mk() { head -c "$2" /dev/urandom >"$W/$1"; }
mk empty 0
mk one 1
mk ring 16384
mk ring-hdr 20480
mk six 6145
mk A 3000
mk B 9000
mk cancel $((32 << 20))
mk full $((2 << 20))
mk big $((BIG << 20))
manifest=$W/MANIFEST
: >"$manifest"
expect() { # src guest-path: the guest must have this file
	echo "$(sha256sum <"$W/$1" | cut -d' ' -f1)  $2" >>"$manifest"
	echo "host sha256 $(sha256sum "$W/$1" | cut -d' ' -f1) $2"
}
push() { # name src dir file [flags]: must succeed
	n=$1 src=$2 dir=$3 file=$4
	shift 4
	out=$(ctl fcopy push "$W/$src" "$dir" "$file" "$@" --timeout 900 2>&1) || fail "$n" "push $src -> $dir/$file: $out"
	echo "$out" | grep -q "^bytes=$(stat -c %s "$W/$src")\$" || fail "$n" "push $src: $out"
}
refused() { # name status src dir file [flags]: must fail with that IC status
	n=$1 st=$2 src=$3 dir=$4 file=$5
	shift 5
	out=$(ctl fcopy push "$W/$src" "$dir" "$file" "$@" --timeout 900 2>&1) && fail "$n" "push $src -> $dir/$file succeeded: $out"
	echo "$out" | grep -q "status=$st" || fail "$n" "push $src -> $dir/$file: $out (want status $st)"
	echo "$n: $out"
}

ctl wait open fcopy --timeout 300 >/dev/null || fail fcopy-open "the FCopy channel never opened"
wait_mark fcopy-ready 300

push empty empty $G empty && expect empty $G/empty && ok empty
push one-byte one $G one && expect one $G/one && ok one-byte
# One ring's data area, one ring with its header, one more byte than a WRITE_TO_FILE fragment.
push ring ring $G ring && expect ring $G/ring &&
	push ring-hdr ring-hdr $G ring-hdr && expect ring-hdr $G/ring-hdr &&
	push six six $G six && expect six $G/six && ok ring
t0=$(date +%s.%N)
push big big $G big
t1=$(date +%s.%N)
expect big $G/big
echo "big: $BIG MiB in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s"
ok big
# CREATE_PATH: the daemon creates each missing directory of the path (it only walks components
# followed by '/', so the path ends with one, as Windows sends it); without the flag, EFAIL.
push create-path one $G/new/a/b/ one --create-path && expect one $G/new/a/b/one && ok create-path
refused no-create-path 0x80004005 one $G/nodir/sub/ one
echo "absent $G/nodir" >>"$manifest"
ok no-create-path
# An existing file: refused without OVER_WRITE (HV_ERROR_ALREADY_EXISTS), replaced with it.
push ow-refused-1 A $G ow-refused && refused overwrite-refused 0x80070050 B $G ow-refused &&
	expect A $G/ow-refused && ok overwrite-refused
push ow-done-1 A $G ow-done && push overwrite B $G ow-done --overwrite && expect B $G/ow-done &&
	ok overwrite
# Cancel mid-transfer: the push stops at once. (The 7.2 daemon answers CANCEL_FCOPY with
# HV_E_FAIL and keeps the partial file: it has no cancel handling; 20-copy.sh checks that the
# file is shorter than the source, i.e. the copy really stopped.)
ctl fcopy push "$W/cancel" $G cancel --timeout 900 >"$W/cancel.out" 2>&1 &
cpid=$!
i=0
until ctl fcopy status | grep -q 'offset=[1-9]'; do
	i=$((i + 1))
	[ $i -lt 600 ] || fail cancel "the push to cancel never started: $(ctl fcopy status)"
	sleep 0.1
done
cst=$(ctl fcopy cancel) || true
wait $cpid
echo "cancel answered: $cst; the push: $(cat "$W/cancel.out")"
grep -q canceled "$W/cancel.out" || fail cancel "the push did not end as canceled: $(cat "$W/cancel.out")"
echo "partial $G/cancel $((32 << 20))" >>"$manifest"
ok cancel
# A full file system (a 1152 KiB tmpfs the guest mounted): the daemon's pwrite fails with ENOSPC
# and the host gets HV_ERROR_DISK_FULL.
refused disk-full 0x80070070 full $G/full one && ok disk-full
# The daemon still works after all the failures.
push after one $G after && expect one $G/after && ok after-errors
echo end >>"$manifest"
cat "$manifest"
push manifest MANIFEST $G MANIFEST
wait_mark copies-checked 900
ok guest-checked
# 32-subchannels.sh: with /dev/uioN of the echo device open, subchannel 1 is offered, then 2
# once 1 is open; both must be open, and closed after the guest closed /dev/uioN.
echo_sub() { ctl list | grep " name=echo " | grep " sub=$1 "; }
wait_mark uio-sub-open 300
for sub in 1 2; do
	ctl offer echo --sub $sub >/dev/null || fail uio-subchannels "offer echo --sub $sub"
	i=0
	until echo_sub $sub | grep -q " state=open "; do
		i=$((i + 1))
		[ $i -lt 600 ] || fail uio-subchannels "subchannel $sub was not opened: $(echo_sub $sub)"
		sleep 0.1
	done
done
ok uio-subchannels-open
wait_mark uio-sub-closed 300
for sub in 1 2; do
	echo_sub $sub | grep -q " state=open " && fail uio-subchannels "subchannel $sub still open: $(echo_sub $sub)"
done
ok uio-subchannels-closed
# 35-nic-maps.sh: the NIC's receive and send buffers were GPADLs of 31 MiB and 16 MiB on its
# channel, named by the UIO maps, and unbind tore them down.
wait_mark nic-done 300
gpadls=$(tr -d '\r' <"$LOG" | sed -n 's/.*HVRS-NIC-GPADLS recv=\([0-9]*\) send=\([0-9]*\).*/\1 \2/p' | head -n 1)
rh=${gpadls% *} sh=${gpadls#* }
[ -n "$rh" ] && [ -n "$sh" ] || fail nic-gpadls "the guest printed no HVRS-NIC-GPADLS line"
nrel=$(ctl list | grep ' name=nic ' | sed -n 's/^relid=\([0-9]*\) .*/\1/p')
[ -n "$nrel" ] || fail nic-gpadls "no NIC device: $(ctl list)"
elog=$(ctl log 20000)
echo "$elog" | grep -q "GPADL $(printf '%#x' "$rh") of relid $nrel: 7936 pages" ||
	fail nic-gpadls "no 7936-page GPADL $rh on relid $nrel: $(echo "$elog" | grep "of relid $nrel:")"
echo "$elog" | grep -q "GPADL $(printf '%#x' "$sh") of relid $nrel: 4096 pages" ||
	fail nic-gpadls "no 4096-page GPADL $sh on relid $nrel: $(echo "$elog" | grep "of relid $nrel:")"
left=$(ctl show "$nrel" | field gpadls)
[ -z "$left" ] || fail nic-gpadls "GPADLs of relid $nrel left after unbind: $left"
ok nic-gpadls
wait_mark rescind-ready 300
out=$(ctl rescind fcopy 2>&1) || fail rescind "ctl rescind fcopy: $out"
ok rescind
