#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Debian's units and udev rules for the Hyper-V daemons are installed and point at the unmodified
# daemons; without the devices they stay inactive without failing or holding up boot.
. /tests/lib.sh
for u in hv-kvp-daemon hv-vss-daemon hv-fcopy-uio-daemon; do
	systemctl cat "$u.service" >/dev/null || fail "$u.service is not installed"
	s=$(systemctl is-active "$u.service")
	[ "$s" = inactive ] || fail "$u.service is '$s' on a guest without its device"
done
systemctl cat hv-kvp-daemon.service | grep -q 'BindsTo=sys-devices-virtual-misc-vmbus\\x21hv_kvp.device' ||
	fail "hv-kvp-daemon.service does not bind to the vmbus/hv_kvp misc device"
grep -q 'KERNEL=="vmbus/hv_kvp"' /usr/lib/udev/rules.d/60-hyperv-daemons.rules || fail "udev rule missing"
for d in hv_kvp_daemon hv_vss_daemon hv_fcopy_uio_daemon; do
	[ -x /usr/sbin/$d ] || fail "/usr/sbin/$d missing"
done
[ -z "$(systemctl list-jobs --no-legend)" ] || fail "jobs still pending: $(systemctl list-jobs --no-legend)"
