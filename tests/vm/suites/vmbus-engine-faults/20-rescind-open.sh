#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vmbus_sample has the echo channel open (after echoing 512 packets) when the engine rescinds
# it: the device goes away, the driver unbinds and closes the channel, the relid is released.
# Offered again, the echo device binds to the driver by its dynamic id and echoes again.
. /tests/lib.sh
lsmod | grep -q '^hv_vmbus ' || must modprobe hv_vmbus
must modprobe vmbus_sample
must sh -c 'echo ec40ec40-5e1f-4c0c-9a11-b0b0b0b0ec40 >/sys/bus/vmbus/drivers/vmbus_sample/new_id'
echoes() { dmesg | grep -c 'echo: 512 packets of 100 bytes echoed, 0 bad'; }
wait_for 60 '[ $(echoes) -ge 1 ]' || fail "no echo: $(dmesg | tail -n 5)"
# The second run needs the rescind (unbind, close, release) and the re-offer (bind, open).
wait_for 90 '[ $(echoes) -ge 2 ]' || fail "no echo after the re-offer: $(dmesg | tail -n 5)"
check_dmesg_clean
