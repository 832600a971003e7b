#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Our module carries what udev and modprobe need to pick it instead of the C one: the ACPI
# aliases of the VMBus root device, the license, and a place in updates/ that depmod prefers.
. /tests/lib.sh
rel=$(uname -r)
f=$(modinfo -F filename hv_vmbus)
case "$f" in */updates/*) ;; *) fail "hv_vmbus resolves to $f, not updates/" ;; esac
modinfo -F alias hv_vmbus | grep -qx 'acpi\*:VMBUS:\*' || fail "no acpi*:VMBUS:* alias: $(modinfo -F alias hv_vmbus)"
modinfo -F alias hv_vmbus | grep -qx 'acpi\*:VMBus:\*' || fail "no acpi*:VMBus:* alias"
[ "$(modinfo -F license hv_vmbus)" = GPL ] || fail "license is '$(modinfo -F license hv_vmbus)'"
grep -q 'acpi\*:VMBUS:\* hv_vmbus' /lib/modules/$rel/modules.alias || fail "modules.alias lacks the VMBUS alias"
