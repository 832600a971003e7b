#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the test initramfs: busybox, our modules in updates/ (depmod run for the target kernel),
# the C reference modules in a separate tree (/lib/modules.c, see tests/vm/lib.sh use_c_modules),
# the in-VM tests, the unmodified tools/hv daemons of the same kernel tree, the tests' small
# C programs (tests/vm/progs/*.c, built here with gcc -static into /usr/bin) and a static fio
# (scripts/fio.sh).
#
#   scripts/initramfs.sh [OUT]      default OUT: out/initramfs.cpio.gz
# Expects the modules to be built (make modules). KDIR as for scripts/modules.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"

out=${1:-$top/out/initramfs.cpio.gz}
KDIR=${KDIR:-$("$here/kernel.sh" --print-kdir)}
rel=$(cat "$KDIR/include/config/kernel.release")
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,lib/modules,tests}
cp /bin/busybox "$root/bin/busybox"
for a in $(/bin/busybox --list-full); do
	[ -e "$root/$a" ] || ln -s /bin/busybox "$root/$a"
done

# The C reference modules: a complete tree of their own.
make -s -C "$KDIR" modules_install INSTALL_MOD_PATH="$root/c" INSTALL_MOD_STRIP=1 DEPMOD=true >/dev/null
depmod -b "$root/c" -F "$KDIR/System.map" "$rel"
mv "$root/c/lib/modules" "$root/lib/modules.c"
rm -rf "$root/c"

# The system tree: the kernel's modules without the Hyper-V drivers that ours replace (a C
# driver cannot run on our bus), plus ours in updates/.
make -s -C "$KDIR" modules_install INSTALL_MOD_PATH="$root" INSTALL_MOD_STRIP=1 DEPMOD=true >/dev/null
kmods="$root/lib/modules/$rel/kernel"
rm -rf "$kmods/drivers/hv" "$kmods/drivers/net/hyperv" "$kmods/drivers/scsi/hv_storvsc.ko" \
	"$kmods/drivers/uio/uio_hv_generic.ko"
"$here/modules.sh" -s modules_install INSTALL_MOD_PATH="$root" INSTALL_MOD_STRIP=1 DEPMOD=true >/dev/null
depmod -b "$root" -F "$KDIR/System.map" "$rel"
[ -n "$(find "$root/lib/modules/$rel/updates" -name '*.ko' 2>/dev/null)" ] ||
	die "no modules in updates/: run make modules first"

# Tests and tools.
cp "$top/tests/vm/init" "$root/init"
cp "$top/tests/vm/lib.sh" "$root/tests/lib.sh"
cp -r "$top/tests/vm/suites" "$root/tests/suites"
[ ! -d "$KDIR/hvtools" ] || cp -a "$KDIR/hvtools/." "$root/usr/sbin/"
# The chardev suite's test program (the guest has no libc).
gcc -static -O2 -Wall -Wextra -Werror -o "$root/usr/bin/hvt_chardev" "$top/tests/chardev/hvt_chardev.c"
for src in "$top"/tests/vm/progs/*.c; do
	[ -e "$src" ] || continue
	prog=$(basename "$src" .c)
	# Programs of the VMBus ring protocol use the kernel's own tools/hv/vmbus_bufring.c, as
	# hv_fcopy_uio_daemon does (compiled with the daemon's flags: it takes packed addresses).
	extra=()
	if grep -q '#include "vmbus_bufring.h"' "$src"; then
		extra=(-I"$KDIR/tools/hv" -Wno-address-of-packed-member "$KDIR/tools/hv/vmbus_bufring.c")
	fi
	gcc -static -O2 -Wall -Wextra -Werror -s -o "$root/usr/bin/$prog" "$src" "${extra[@]}" ||
		die "cannot build $src"
done
cp "$("$here/fio.sh" --print)" "$root/usr/bin/fio"
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -print0 | sort -z | cpio --null -o -H newc --quiet | gzip -1) >"$out.tmp"
mv "$out.tmp" "$out"
log "initramfs: $out ($(du -h "$out" | cut -f1))"
