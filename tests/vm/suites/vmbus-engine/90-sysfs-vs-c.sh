#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The same offers under our hv_vmbus and under the C one give byte-identical sysfs files
# (attributes, modes, uevent, channels/<relid>/), compared in the same run. Last in the suite:
# the C hv_vmbus leaks its per-CPU context on unload (hv_init()'s alloc_percpu() is never
# freed), which a later kmemleak scan would report.
. /tests/lib.sh
lsmod | grep -q '^hv_vmbus ' || must modprobe hv_vmbus
dump_vmbus_sysfs >/tmp/engine-sysfs.rust
[ -s /tmp/engine-sysfs.rust ] || fail "empty dump"
must rmmod hv_vmbus
use_c_modules
trap use_rust_modules EXIT
must modprobe hv_vmbus
dump_vmbus_sysfs >/tmp/engine-sysfs.c
must rmmod hv_vmbus
use_rust_modules
trap - EXIT
if ! diff -u /tmp/engine-sysfs.c /tmp/engine-sysfs.rust; then
	fail "sysfs differs between the C (-) and our (+) hv_vmbus"
fi
echo "$(wc -l </tmp/engine-sysfs.rust) files identical"
check_dmesg_clean
