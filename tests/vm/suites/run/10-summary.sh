#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make run: load our modules (the bus, then its drivers) and show what is bound. Fails only if a module that should load
# does not; on a guest without Hyper-V the bus refuses to load (ENODEV), which is reported.
. /tests/lib.sh
echo "== kernel: $(uname -r)"
dmesg | grep -i 'hypervisor detected' || echo "(no hypervisor detected)"
echo "== modprobe hv_vmbus"
if ! modprobe hv_vmbus; then
	dmesg | grep -q 'Hypervisor detected: Microsoft Hyper-V' && fail "hv_vmbus failed to load on Hyper-V"
	echo "(not on Hyper-V: hv_vmbus refuses to load, like the C driver)"
fi
if lsmod | grep -q '^hv_vmbus '; then
	for m in hv_utils hv_balloon uio_hv_generic; do
		echo "== modprobe $m"
		must modprobe $m
	done
	sleep 2
fi
echo "== modules"; lsmod
echo "== /sys/bus/vmbus/devices"
for d in /sys/bus/vmbus/devices/*; do
	[ -e "$d" ] || { echo "(none)"; break; }
	drv=$(readlink "$d/driver" 2>/dev/null); echo "${d##*/} class=$(cat "$d/class_id" 2>/dev/null) driver=${drv##*/}"
done
echo "== /dev/vmbus"; ls -l /dev/vmbus 2>/dev/null || echo "(none)"
echo "== dmesg (hv)"; dmesg | grep -iE 'hv_|vmbus' || true
