#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The host's hibernate request: with ACPI S4 (hv_is_hibernation_supported()) hv_utils answers
# S_OK and sends a KOBJ_CHANGE uevent with EVENT=hibernate on the shutdown device; without it
# (our QEMU: run-vm.sh sets ICH9-LPC.disable_s4, the kernel has no ACPI sleep) it answers
# HV_E_FAIL and sends none. The guest tells host.sh which answer to expect (the kernel's
# "ACPI: PM: (supports ... S4" line); host.sh checks the status, this test the uevents (logged
# by a hotplug helper in front of mdev).
. /tests/lib.sh
cat >/run/uevent-log <<'EOS'
#!/bin/sh
echo "$ACTION $DEVPATH EVENT=${EVENT:-}" >>/run/uevents
exec /sbin/mdev "$@"
EOS
chmod +x /run/uevent-log
echo /run/uevent-log >/proc/sys/kernel/hotplug
if dmesg | grep -q 'ACPI: PM: (supports.* S4'; then want=uevent; else want=fail; fi
mark "hibernate-ready $want"
wait_for 60 "dmesg | grep -qF 'Hibernation request received'" ||
	fail "no 'Hibernation request received': $(dmesg | grep hv_utils | tail -n 5)"
sleep 3
echo /sbin/mdev >/proc/sys/kernel/hotplug
dev=$(grep -l '{0e0b6031-5213-4934-818b-38d90ced39db}' /sys/bus/vmbus/devices/*/class_id)
dev=${dev%/class_id}
dev=$(readlink -f "$dev")
if [ $want = uevent ]; then
	grep -q "^change ${dev#/sys}.* EVENT=hibernate" /run/uevents ||
		fail "no change uevent with EVENT=hibernate on ${dev#/sys}: $(cat /run/uevents 2>&1)"
	dmesg | grep -qF 'Sent hibernation uevent' || fail "no 'Sent hibernation uevent'"
else
	grep -q 'EVENT=hibernate' /run/uevents 2>/dev/null &&
		fail "a hibernate uevent without hibernation support: $(cat /run/uevents)"
	dmesg | grep -qF 'Sent hibernation uevent' && fail "'Sent hibernation uevent' without support"
fi
mark hibernate-done
check_dmesg_clean
