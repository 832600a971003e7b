#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rmmod and modprobe hv_storvsc (the run's stack): every host, fc_host and rport goes and comes
# back, with the WWNs and the data written by 80-unbind; then kmemleak must find nothing.
. /tests/lib.sh
. /tests/suites/storvsc-fc/config.sh
use_stack
must rmmod hv_storvsc
wait_for 30 '[ -z "$(ls /sys/class/fc_host)" ] && [ -z "$(ls /sys/class/fc_remote_ports)" ]' ||
	fail "fc_hosts or rports left after rmmod: $(ls /sys/class/fc_host /sys/class/fc_remote_ports)"
[ -z "$(hosts_of_class "$FC_CLASS")$(hosts_of_class "$IDE_CLASS")" ] || fail "SCSI hosts left after rmmod"
for d in /sys/bus/vmbus/devices/*; do
	case "$(cat "$d/class_id")" in "$FC_CLASS" | "$IDE_CLASS")
		[ -e "$d/driver" ] && fail "${d##*/} still bound after rmmod"
		[ "$(cat "$d/state")" = 2 ] || fail "${d##*/}: channel state $(cat "$d/state") after rmmod, not 2 (closed)"
		;;
	esac
done
# async_probe: see 10-disks.
must modprobe hv_storvsc async_probe=1
wait_for 300 'all_disks && fc_ready' || fail "disks or FC hosts did not come back: $(ls /sys/block /sys/class/fc_host)"
markers_ok || fail "a disk lost its marker after the reload"
[ "$(cat "/sys/class/fc_host/host$(fc_host_of "$FC2_PORT")/node_name")" = "$FC2_NODE" ] ||
	fail "the second adapter's node_name after the reload"
echo "unloaded and loaded; fc_hosts $(ls /sys/class/fc_host | tr '\n' ' ')rports $(ls /sys/class/fc_remote_ports | tr '\n' ' ')"
check_kmemleak
check_dmesg_clean
