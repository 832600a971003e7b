#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Nothing is loaded by hand: udev loads our hv_vmbus for the ACPI VMBus device, then our hv_utils
# for the utility devices it creates, through their uevents' MODALIAS and the aliases modpost
# made from hv_utils' id table. Each utility device ends up bound to it.
. /tests/lib.sh
wait_for 60 "lsmod | grep -q '^hv_utils '" ||
	fail "hv_utils was not autoloaded: $(lsmod | grep hv_; ls /sys/bus/vmbus/devices 2>&1)"
for m in hv_vmbus hv_utils; do
	f=$(modinfo -n $m)
	case "$f" in */updates/*) ;; *) fail "$m is $f, not ours in updates/" ;; esac
done
for g in 57164f39-9115-4e78-ab55-382f3bd5422d 0e0b6031-5213-4934-818b-38d90ced39db \
	9527e630-d0ae-497b-adce-e80ab0175caf a9a0f4e7-5a45-4d96-b827-8a841e8c03e6 \
	35fa2e29-ea23-4236-96ae-3a6ebacba440; do
	d=$(grep -lx "{$g}" /sys/bus/vmbus/devices/*/class_id) || fail "no device of class $g"
	d=${d%/class_id}
	alias=$(cat "$d/modalias")
	[ "$(modprobe --resolve-alias "$alias")" = hv_utils ] ||
		fail "$alias resolves to '$(modprobe --resolve-alias "$alias")'"
	wait_for 20 "[ -e $d/driver ]" || fail "device $d of class $g is not bound"
	drv=$(basename "$(readlink "$d/driver")")
	[ "$drv" = hv_utils ] || fail "device of class $g is bound to $drv"
	udevadm info -q property -p "$d" | grep -qx "MODALIAS=$alias" ||
		fail "the uevent of $d lacks MODALIAS=$alias: $(udevadm info -q property -p "$d")"
done
check_dmesg_clean
