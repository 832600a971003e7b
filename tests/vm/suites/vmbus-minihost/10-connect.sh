#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Against the external minihost (VMBus up to 6.0, no offers): our hv_vmbus connects at 6.0 on
# the first try (INITIATE_CONTACT on connection id 4, later messages on the id the host returns).
. /tests/lib.sh
dmesg | grep -q 'Hypervisor detected: Microsoft Hyper-V' || fail "the guest does not see Hyper-V"
must modprobe hv_vmbus
[ "$(dmesg | grep -c 'hv_vmbus: Vmbus version:6.0$')" = 1 ] ||
	fail "no 'hv_vmbus: Vmbus version:6.0' line: $(dmesg | grep hv_vmbus)"
dmesg | grep -q 'timed out waiting for all boot-time offers' && fail "ALLOFFERS_DELIVERED not seen"
check_dmesg_clean
