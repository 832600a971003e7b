#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The second guest flavour, closer to what users run: a Debian bookworm root with real systemd,
# udev and kmod, built with debootstrap and cached like the kernel. The systemd units and udev
# rules of the Hyper-V daemons come from Debian's hyperv-daemons package of the same kernel
# version (its arch:all files only; the daemons themselves are built from the kernel's tools/hv by
# scripts/kernel.sh, because that package needs a newer libc than bookworm's).
#
#   scripts/debian-root.sh --print          build if needed, print the cached root directory
#   scripts/debian-root.sh --image OUT      build an ext4 image of the root with our modules,
#                                           the C reference modules, the tests and the daemons
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"

PACKAGES=systemd,systemd-sysv,udev,kmod,python3-minimal,procps,e2fsprogs,iproute2
DAEMONS_DEB_VERSION=${DAEMONS_DEB_VERSION:-7.2.13-1}

mirror() { # the machine's own Debian mirror, from its deb822 sources file
	awk 'BEGIN{RS=""} NR==1' /etc/apt/sources.list.d/debian.sources | awk '/^URIs:/ {print $2; exit}'
}

# Bump ROOT_RECIPE when build_root changes what it makes.
ROOT_RECIPE=1
key=$(echo "$PACKAGES $ROOT_RECIPE" | sha256sum | cut -c1-16)
dir=$CACHE/debian-root/bookworm-$key

build_root() {
	local tmp="$dir.tmp.$$"
	rm -rf "$tmp"
	mkdir -p "$tmp"
	log "debian-root: debootstrap bookworm ($PACKAGES)"
	debootstrap --variant=minbase --include="$PACKAGES" bookworm "$tmp" "$(mirror)" >"$tmp.log" 2>&1 ||
		{ tail -n 30 "$tmp.log"; die "debootstrap failed"; }
	rm -f "$tmp.log"
	# A console login is not needed: the test unit runs the suite and powers off.
	echo hvrs-debian >"$tmp/etc/hostname"
	sed -i 's/^root:[^:]*:/root::/' "$tmp/etc/shadow"
	ln -sf /dev/null "$tmp/etc/systemd/system/serial-getty@ttyS0.service"
	ln -sf /dev/null "$tmp/etc/systemd/system/getty@tty1.service"
	ln -sf /dev/null "$tmp/etc/systemd/system/systemd-timesyncd.service"
	rm -rf "$tmp/var/cache/apt/archives/"*.deb "$tmp/var/lib/apt/lists/"*
	touch "$tmp/.hvrs-complete"
	publish_dir "$tmp" "$dir"
}

# The Hyper-V daemons' systemd units, udev rules and helper scripts from Debian's package for this
# kernel, started by the package's udev rules. The daemons are ours (kernel's tools/hv).
daemons_units() { # root
	local deb="$CACHE/dl/hyperv-daemons_${DAEMONS_DEB_VERSION}_amd64.deb" x
	if [ ! -f "$deb" ]; then
		"$here/apt-suites.sh"
		x=$(mktemp -d "$CACHE/dl/tmp.XXXXXX")
		(cd "$x" && apt-get download -qq "hyperv-daemons=$DAEMONS_DEB_VERSION")
		mv "$x"/*.deb "$deb"
		rmdir "$x"
	fi
	x=$(mktemp -d)
	dpkg-deb -x "$deb" "$x"
	cp -a "$x/usr/lib/systemd/system/." "$1/usr/lib/systemd/system/"
	cp -a "$x/usr/lib/udev/rules.d/." "$1/usr/lib/udev/rules.d/"
	mkdir -p "$1/usr/libexec"
	cp -a "$x/usr/libexec/." "$1/usr/libexec/"
	rm -rf "$x"
	# Not enabled in multi-user.target: the package's udev rules start the kvp/vss daemons when
	# their device appears; an enabled unit would wait 90 s for a device that a guest without
	# the driver never gets (Ubuntu LP #1820063).
}

ensure_root() {
	[ -f "$dir/.hvrs-complete" ] && return
	mkdir -p "$CACHE/debian-root"
	exec 9>"$CACHE/debian-root/.lock"
	flock 9
	[ -f "$dir/.hvrs-complete" ] || build_root
	exec 9>&-
	ls -dt "$CACHE"/debian-root/bookworm-* | grep -v '\.tmp\.' | tail -n +3 | xargs -r rm -rf
}

image() { # out
	local out=$1 kdir rel stage
	kdir=${KDIR:-$("$here/kernel.sh" --print-kdir)}
	rel=$(cat "$kdir/include/config/kernel.release")
	stage=$(mktemp -d)
	trap 'rm -rf "$stage"' RETURN
	cp -a "$dir/." "$stage/"
	# Modules exactly as in the initramfs: the system tree (ours in updates/) and the C tree.
	make -s -C "$kdir" modules_install INSTALL_MOD_PATH="$stage/c" INSTALL_MOD_STRIP=1 DEPMOD=true >/dev/null
	depmod -b "$stage/c" -F "$kdir/System.map" "$rel"
	mkdir -p "$stage/lib/modules.c"
	mv "$stage/c/lib/modules/$rel" "$stage/lib/modules.c/"
	rm -rf "$stage/c"
	make -s -C "$kdir" modules_install INSTALL_MOD_PATH="$stage" INSTALL_MOD_STRIP=1 DEPMOD=true >/dev/null
	local k="$stage/lib/modules/$rel/kernel"
	rm -rf "$k/drivers/hv" "$k/drivers/net/hyperv" "$k/drivers/scsi/hv_storvsc.ko" "$k/drivers/uio/uio_hv_generic.ko"
	"$here/modules.sh" -s modules_install INSTALL_MOD_PATH="$stage" INSTALL_MOD_STRIP=1 DEPMOD=true >/dev/null
	depmod -b "$stage" -F "$kdir/System.map" "$rel"
	cp -a "$kdir/hvtools/." "$stage/usr/sbin/"
	daemons_units "$stage"
	# The tests, run by a unit once the system is up; results on the console.
	mkdir -p "$stage/tests"
	cp "$top/tests/vm/lib.sh" "$stage/tests/lib.sh"
	cp -r "$top/tests/vm/suites" "$stage/tests/suites"
	cp "$top/tests/vm/debian/hvrs-tests.sh" "$stage/tests/hvrs-tests.sh"
	cp "$top/tests/vm/debian/hvrs-tests.service" "$stage/etc/systemd/system/"
	ln -sf ../hvrs-tests.service "$stage/etc/systemd/system/multi-user.target.wants/hvrs-tests.service"
	local size=$(( $(du -sm "$stage" | cut -f1) + 256 ))
	rm -f "$out"
	mkdir -p "$(dirname "$out")"
	mkfs.ext4 -q -F -L hvrs-root -d "$stage" "$out" "${size}M"
	log "debian-root: image $out (${size} MiB)"
}

case "${1:-}" in
--print) ensure_root; echo "$dir" ;;
--image) [ -n "${2:-}" ] || die "usage: $0 --image OUT"; ensure_root; image "$2" ;;
*) die "usage: $0 --print | --image OUT" ;;
esac
