#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Debian's units and udev rules start the unmodified daemons by themselves once our hv_utils has
# created /dev/vmbus/hv_kvp and /dev/vmbus/hv_vss (the units bind to the misc devices
# sys-devices-virtual-misc-vmbus\x21hv_kvp.device and ...hv_vss.device).
. /tests/lib.sh
for u in hv-kvp-daemon hv-vss-daemon; do
	wait_for 60 "[ \"\$(systemctl is-active $u.service)\" = active ]" ||
		fail "$u.service is $(systemctl is-active $u.service): $(journalctl -b -u $u.service --no-pager | tail -n 5)"
done
[ -c /dev/vmbus/hv_kvp ] && [ -c /dev/vmbus/hv_vss ] || fail "missing /dev/vmbus devices: $(ls -l /dev/vmbus)"
# (systemctl show quotes and escapes the name; the unit file has it verbatim.)
systemctl cat hv-kvp-daemon.service | grep -qxF 'BindsTo=sys-devices-virtual-misc-vmbus\x21hv_kvp.device' &&
	systemctl show -p BindsTo --value hv-kvp-daemon.service | grep -q 'misc-vmbus.*hv_kvp\.device' ||
	fail "hv-kvp-daemon binds to $(systemctl show -p BindsTo --value hv-kvp-daemon.service)"
wait_for 60 "dmesg | grep -q 'hv_utils: KVP IC version'" || fail "KVP did not negotiate: $(dmesg | grep -i kvp)"
wait_for 60 "dmesg | grep -q 'hv_utils: VSS: userspace daemon ver. 129 connected'" ||
	fail "hv_vss_daemon did not register: $(dmesg | grep -i vss)"
check_dmesg_clean
