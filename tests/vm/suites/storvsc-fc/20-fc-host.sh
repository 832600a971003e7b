#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The FC transport class: each FC adapter's host is an fc_host whose node_name and port_name
# are the WWNs of the active port of FCHBA_DATA (the primary port of the first adapter, the
# secondary port of the second: C's cache_wwn()), with one remote port rport-H:0-0 online as a
# dummy initiator, once the probe's scan is over; the IDE host is no fc_host.
. /tests/lib.sh
. /tests/suites/storvsc-fc/config.sh
# The names and the rport are set once the probe's scan is over (minutes under TCG).
wait_for 300 fc_ready || fail "FC hosts not ready: $(grep . /sys/class/fc_host/*/port_name 2>&1) $(ls /sys/class/fc_remote_ports 2>&1)"
f1=$(fc_host_of "$FC_PORT") || fail "no fc_host with port_name $FC_PORT: $(cat /sys/class/fc_host/*/port_name 2>&1)"
f2=$(fc_host_of "$FC2_PORT") || fail "no fc_host with port_name $FC2_PORT: $(cat /sys/class/fc_host/*/port_name 2>&1)"
for x in "$f1:$FC_NODE" "$f2:$FC2_NODE"; do
	h=${x%%:*} node=${x#*:}
	got=$(cat "/sys/class/fc_host/host$h/node_name")
	[ "$got" = "$node" ] || fail "host$h node_name $got, expected $node"
	r=/sys/class/fc_remote_ports/rport-$h:0-0
	[ -d "$r" ] || fail "no remote port of host$h: $(ls /sys/class/fc_remote_ports 2>&1)"
	[ "$(cat "$r/port_state")" = Online ] || fail "rport-$h:0-0 state $(cat "$r/port_state")"
	case "$(cat "$r/roles")" in *"FCP Dummy Initiator"*) ;; *) fail "rport-$h:0-0 roles $(cat "$r/roles")" ;; esac
	echo "host$h: node_name $got port_name $(cat "/sys/class/fc_host/host$h/port_name"), rport-$h:0-0 $(cat "$r/roles")"
done
[ "$(ls /sys/class/fc_host | wc -l)" = 2 ] || fail "fc_hosts: $(ls /sys/class/fc_host)"
[ "$(ls /sys/class/fc_remote_ports | wc -l)" = 2 ] || fail "rports: $(ls /sys/class/fc_remote_ports)"
i=$(hosts_of_class "$IDE_CLASS")
[ ! -e "/sys/class/fc_host/host$i" ] || fail "the IDE host$i is an fc_host"
check_dmesg_clean
