# SPDX-License-Identifier: GPL-2.0
# (Not executable on purpose: the guest runs every executable file of a suite.)
# Host side of the subchannel tests, run by scripts/run-vm-engine.sh beside the VM; each step
# follows a guest mark (tests/vm/lib.sh mark) and reports its checks as "ok NAME".
set -u
. "$HV_HOST_LIB"

# The `ctl list` line of echo subchannel $1 (0: the primary channel), if it is live.
chan() { ctl list | grep " name=echo " | grep " sub=$1 " | grep " rescinded=0 "; }
relid_of() { chan "$1" | sed -n 's/^relid=\([0-9]*\) .*/\1/p'; }
# Fails check $1 unless every echo channel is closed.
all_closed() {
	if ctl list | grep " name=echo " | grep -v " state=offered "; then
		fail "$1" "an echo channel is open"
	fi
	ok "$1"
}
# Waits until relid $2 is gone from the engine (RELID_RELEASED), at most 60 s.
wait_released() {
	i=0
	while ctl list | grep -q "^relid=$2 "; do
		i=$((i + 1))
		[ $i -lt 600 ] || fail "$1" "relid $2 was not released"
		sleep 0.1
	done
	ok "$1"
}
# The value of counter $2 in `show` of channel $1.
counter() { ctl show "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# Two storage devices without disks, for 70-sysfs-vs-c (no driver of ours binds them).
for n in scsiA scsiB; do
	ctl add "scsi,name=$n" >/dev/null || fail add-scsi "add scsi,name=$n"
done
ctl wait connected --timeout 300 >/dev/null || fail connected "the guest never connected"
wait_mark bound 300
for i in 1 2 3; do
	ctl offer echo --sub $i >/dev/null || fail offer-sub "offer echo --sub $i"
done
ok offer-subs
wait_mark offered 120
for i in 1 2 3; do
	chan $i | grep -q " state=open " || fail subs-open "subchannel $i is not open: $(chan $i)"
done
ok subs-open

wait_mark moved 120
# CPU 1 is VP 1 under QEMU.
chan 1 | grep -q " target_vp=1 " || fail modify-target "subchannel 1: $(chan 1)"
chan 0 | grep -q " target_vp=0 " || fail modify-target "the primary: $(chan 0)"
ok modify-target

wait_mark unbound 120
all_closed unbind-closes-all
r1=$(relid_of 1) r2=$(relid_of 2) r3=$(relid_of 3)
ctl fault completions "$r1" delay 1500 >/dev/null || fail presets "completions $r1"
ctl fault completions "$r2" delay 20000 >/dev/null || fail presets "completions $r2"
ctl fault pause-read "$r3" 2000 >/dev/null || fail presets "pause-read $r3"
ok presets
ctl offer echo --sub 4 >/dev/null || fail offer-sub4 "offer echo --sub 4"
ok offer-sub4

wait_mark rebound 180
n=$(counter "$r1" ring_full)
[ "${n:-0}" -ge 1 ] || fail reader-signals "the echoes of subchannel 1 never filled its ring ($n)"
ok reader-signals
n=$(counter "$r3" room_signals)
[ "${n:-0}" -ge 1 ] || fail pending-send-sz "no signal for room on subchannel 3: $(ctl show "$r3" | tr '\n' ' ')"
echo "subchannel 3: room_signals=$n"
ok pending-send-sz
# Subchannel 2 has its 256 echoes held: rescind it mid-traffic.
ctl rescind "$r2" >/dev/null || fail rescind-sub "rescind $r2"
wait_released rescind-sub-released "$r2"
wait_mark sub-rescinded 120
chan 0 | grep -q " state=open " || fail primary-stays "the primary: $(chan 0)"
for i in 1 3 4; do
	chan $i | grep -q " state=open " || fail primary-stays "subchannel $i: $(chan $i)"
done
ok primary-stays

ctl rescind echo >/dev/null || fail rescind-primary "rescind echo"
ctl wait released echo --timeout 60 >/dev/null || fail rescind-primary "echo relid never released"
i=0
while ctl list | grep -q " name=echo "; do
	i=$((i + 1))
	[ $i -lt 600 ] || fail rescind-primary "echo channels left: $(ctl list | grep ' name=echo ')"
	sleep 0.1
done
ok rescind-primary
o=$(ctl offer echo --sub 5) || fail orphan "offer echo --sub 5"
echo "orphan: $o"
wait_mark orphan 120
i=0
while ctl list | grep -q " name=echo "; do
	i=$((i + 1))
	[ $i -lt 600 ] || fail orphan-released "the orphan subchannel was not released"
	sleep 0.1
done
ok orphan-released
ctl offer echo >/dev/null || fail reoffer "offer echo"
wait_mark reoffered 180
ctl offer echo --sub 1 >/dev/null || fail reoffer "offer echo --sub 1"
ok reoffer

wait_mark rmmod 180
all_closed rmmod-closes-all

# The same subchannel offers under our bus, then under the C bus (70-sysfs-vs-c).
for bus in rust c; do
	wait_mark "$bus-up" 180
	for dev in echo scsiA scsiB; do
		for i in 1 2; do
			ctl offer $dev --sub $i >/dev/null || fail "offer-subs-$bus" "offer $dev --sub $i"
		done
	done
	ok "offer-subs-$bus"
done
