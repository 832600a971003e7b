#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# New WWNs sent by the host unsolicited (FCHBA_DATA with transaction id 0, host.sh): as C's
# storvsc_on_channel_callback(), the driver refuses the packet ("Invalid packet with ID of 0")
# and the fc_host keeps its node and port names; the rest keeps working. (host.sh then sets the
# old names back, quietly, for the re-probes of 80-unbind and 90-reload.)
. /tests/lib.sh
. /tests/suites/storvsc-fc/config.sh
wait_for 300 fc_ready || fail "FC hosts not ready: $(grep . /sys/class/fc_host/*/port_name 2>&1)"
h=$(fc_host_of "$FC_PORT") || fail "no fc_host with port_name $FC_PORT"
refused() { dmesg | grep -q 'Invalid packet with ID of 0'; }
refused && fail "a packet with ID 0 was refused before the test"
mark fc-wwn-unsolicited
wait_for 60 refused || fail "no 'Invalid packet with ID of 0' after the host's unsolicited FCHBA_DATA"
dmesg | grep 'Invalid packet with ID of 0'
for x in "port_name:$FC_PORT" "node_name:$FC_NODE"; do
	f=${x%%:*} want=${x#*:}
	got=$(cat "/sys/class/fc_host/host$h/$f")
	[ "$got" = "$want" ] || fail "host$h $f $got after the refused FCHBA_DATA, expected $want"
done
fc_host_of "$FC2_PORT" >/dev/null || fail "the second adapter's port_name changed"
pattern_check "$(fc_disk_mb "$FC_MB")" "$FC_MB"
mark fc-wwn-checked
check_dmesg_clean
