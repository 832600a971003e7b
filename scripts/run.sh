#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make run: build everything (cached pieces are reused), boot a test guest with our modules
# loaded and show what is bound (VMBus devices, their drivers, char devices). With a terminal on
# stdin the guest then gives an interactive shell; otherwise it prints and powers off.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"

"$here/install-deps.sh"
"$here/kernel.sh"
qemu_args=()
if [ -x "$here/qemu.sh" ] && q=$("$here/qemu.sh" --print); then
	# The project's QEMU: the guest sees Hyper-V and QEMU's own VMBus host.
	qemu_args=(--qemu "$q" --hyperv --smp 2 --mem 1G,maxmem=64G --
		-object memory-backend-ram,id=hamem,size=2G -device vmbus-bridge
		-device hv-balloon,status-report=on,memdev=hamem)
else
	log "run: no Hyper-V-capable QEMU yet: booting the stock QEMU (the bus will refuse to load)"
	qemu_args=(--qemu "$(command -v qemu-system-x86_64)")
fi
"$here/modules.sh" -s modules
"$here/initramfs.sh"
if [ -t 0 ]; then
	exec "$here/run-vm.sh" --suite run --shell "${qemu_args[@]}"
fi
"$here/run-vm.sh" --suite run --timeout 300 "${qemu_args[@]}" || true
# Show what the guest printed (the run suite's summary), not only the result line.
sed -n '/HVRS-TEST-BEGIN run/,/HVRS-RESULT/p' "$top/out/vm-run.log" | tr -d '\r'
