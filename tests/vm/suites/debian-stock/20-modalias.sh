#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# kmod (not busybox) resolves the VMBus root device's ACPI modalias to our module in updates/,
# which is what udev runs when the device appears; the C module is shadowed.
. /tests/lib.sh
alias=$(modprobe --resolve-alias 'acpi:VMBUS:')
[ "$alias" = hv_vmbus ] || fail "acpi:VMBUS: resolves to '$alias'"
f=$(modinfo -n hv_vmbus)
case "$f" in */updates/*) ;; *) fail "hv_vmbus is $f, not the one in updates/" ;; esac
# Not on Hyper-V: udev's coldplug must not have loaded it, and loading it by hand fails cleanly.
lsmod | grep -q '^hv_vmbus ' && fail "hv_vmbus loaded on a guest without Hyper-V"
modprobe hv_vmbus 2>/tmp/err && fail "modprobe hv_vmbus succeeded without Hyper-V"
grep -q 'No such device' /tmp/err || fail "unexpected modprobe error: $(cat /tmp/err)"
check_dmesg_clean
