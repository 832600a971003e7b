#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The C hv_vmbus against our host engine: it negotiates the engine's highest version
# (hvrs.engine_version, 6.0 unless the run caps it), and every offered device appears.
. /tests/lib.sh
use_c_modules
want=$(sed -n 's/.*hvrs.engine_version=\([^ ]*\).*/\1/p' /proc/cmdline)
: "${want:=6.0}"
lsmod | grep -q '^hv_vmbus ' || must modprobe hv_vmbus
dmesg | grep -q "hv_vmbus: Vmbus version:$want\$" ||
	fail "no 'Vmbus version:$want': $(dmesg | grep hv_vmbus | tail -n 5)"
for g in 57164f39-9115-4e78-ab55-382f3bd5422d 0e0b6031-5213-4934-818b-38d90ced39db \
	9527e630-d0ae-497b-adce-e80ab0175caf a9a0f4e7-5a45-4d96-b827-8a841e8c03e6; do
	wait_for 10 "grep -qx '{$g}' /sys/bus/vmbus/devices/*/class_id" ||
		fail "no device of class $g: $(cat /sys/bus/vmbus/devices/*/class_id)"
done
check_dmesg_clean
