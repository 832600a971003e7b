#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The Debian guest came up under systemd with udev, and no unit failed.
. /tests/lib.sh
state=$(timeout 100 systemctl is-system-running --wait 2>/dev/null)
[ "$state" = running ] || { systemctl --failed --no-pager; fail "system state is '$state'"; }
systemctl is-active -q systemd-udevd || fail "udev is not running"
timeout 100 udevadm settle || fail "udev events did not settle"
