#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# max_version walks the C driver's list down: each cap connects at exactly that version (5.x on
# connection id 4 with msg_sint, 4.x on id 1 with the interrupt page), and each rmmod unloads
# (UNLOAD answered, no timeout).
. /tests/lib.sh
lsmod | grep -q '^hv_vmbus ' && must rmmod hv_vmbus
for v in 6.0:0x60000 5.3:0x50003 5.2:0x50002 5.1:0x50001 5.0:0x50000 4.1:0x40001 4.0:0x40000; do
	want=${v%%:*}
	must modprobe hv_vmbus max_version=${v#*:}
	dmesg | tail -n 5 | grep -q "hv_vmbus: Vmbus version:$want\$" ||
		fail "max_version=${v#*:}: not connected at $want: $(dmesg | tail -n 3)"
	must rmmod hv_vmbus
done
dmesg | grep -q 'no UNLOAD_RESPONSE' && fail "an UNLOAD was not answered"
# The minihost refuses 3.0 and below: nothing is left to try.
expect_errno "No such device" modprobe hv_vmbus max_version=0x30000
check_dmesg_clean
