#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# 20 modprobe/rmmod cycles at 6.0 leave no leak behind (kmemleak).
. /tests/lib.sh
lsmod | grep -q '^hv_vmbus ' && must rmmod hv_vmbus
echo clear >/sys/kernel/debug/kmemleak
before=$(dmesg | grep -c 'hv_vmbus: Vmbus version:6.0$')
i=0
while [ $i -lt 20 ]; do
	must modprobe hv_vmbus
	must rmmod hv_vmbus
	i=$((i + 1))
done
[ $(($(dmesg | grep -c 'hv_vmbus: Vmbus version:6.0$') - before)) = 20 ] || fail "not 20 connects"
check_kmemleak
check_dmesg_clean
