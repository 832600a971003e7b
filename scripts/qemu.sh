#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the project's QEMU: Debian's QEMU 10.0.2 source (the orig tarball of bookworm-backports'
# qemu, upstream code without Debian's patches) with tools/qemu/patches/*.patch applied, which
# teach TCG the Hyper-V guest interface and add vmbus-bridge's external-host mode. Only
# qemu-system-x86_64 is built. It is installed with the x86 firmware it needs (taken from the
# stock Debian packages, as the +ds tarball has no blobs) into a cache directory keyed by the
# tarball, the patches and the build configuration, published atomically; a warm run does
# nothing. The binary finds its firmware by itself (../share/qemu next to it): no -L needed.
#
#   scripts/qemu.sh            build if needed
#   scripts/qemu.sh --print    build if needed, then print the path of qemu-system-x86_64
#   scripts/qemu.sh --key      print the cache key only (no build)
#
# Environment: HVRS_CACHE / XDG_CACHE_HOME (see lib.sh), HVRS_JOBS (default: nproc).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"

QEMU_VERSION=10.0.2
# bookworm-backports' qemu; its .dsc and debian tarball are gone from the mirror, so
# `apt-get source` fetches the orig tarball and then fails: check the file, not the exit code.
QEMU_DEB_VERSION=1:10.0.2+ds-2+deb13u1~bpo12+1
QEMU_ORIG=qemu_${QEMU_VERSION}+ds.orig.tar.xz
QEMU_ORIG_SHA256=0901da33844a331bf8b3602b9c1fbd178e60b737c8e3ade678255bd090c9b9f1
PATCH_DIR="$top/tools/qemu/patches"
QEMU_CACHE="$CACHE/qemu"

# Everything is off unless listed. KVM stays compiled in because Kconfig's HYPERV (the SynIC,
# VMBus and hv-balloon models) depends on it; TCG is what the tests run on. No debug info and
# no QOM cast checks: a faster build and a faster emulator; the tests need neither.
CONFIGURE=(
	--target-list=x86_64-softmmu
	--without-default-features
	--enable-kvm --enable-tcg --enable-hv-balloon
	--disable-fdt --disable-docs --disable-werror --disable-install-blobs
	--disable-debug-info --disable-qom-cast-debug
)

# The +ds tarball lacks the edk2 blobs that pc-bios/meson.build would unpack when bzip2 is
# installed: unpack them only if they are there.
fix_source() { # srcdir
	local f="$1/meson.build"
	sed -i 's|^\(    unpack_edk2_blobs = bzip2.found()\)$|\1 and fs.exists(meson.current_source_dir() / '"'"'pc-bios/edk2-x86_64-code.fd.bz2'"'"')|' "$f"
	grep -q "unpack_edk2_blobs = bzip2.found() and fs.exists" "$f" ||
		die "qemu: could not disable the edk2 blobs in $f (has the source changed?)"
}

patches() { ls "$PATCH_DIR"/*.patch 2>/dev/null | sort; }

cache_key() {
	{
		echo "$QEMU_ORIG $QEMU_ORIG_SHA256"
		local p
		for p in $(patches); do
			basename "$p"
			cat "$p"
		done
		printf '%s\n' "${CONFIGURE[@]}"
		declare -f fix_source
		gcc -dumpfullversion
	} | sha256sum | cut -c1-16
}

fetch_orig() {
	local f="$CACHE/dl/$QEMU_ORIG"
	if [ ! -f "$f" ]; then
		mkdir -p "$CACHE/dl"
		"$here/apt-suites.sh" >&2
		local tmp
		tmp=$(mktemp -d "$CACHE/dl/tmp.XXXXXX")
		log "qemu: fetching $QEMU_ORIG (apt-get source qemu=$QEMU_DEB_VERSION)"
		(cd "$tmp" && apt-get source --download-only -qq "qemu=$QEMU_DEB_VERSION" >/dev/null 2>&1) || true
		[ -f "$tmp/$QEMU_ORIG" ] || { rm -rf "$tmp"; die "qemu: apt-get source did not leave $QEMU_ORIG (deb-src for bookworm-backports missing?)"; }
		mv "$tmp/$QEMU_ORIG" "$f"
		rm -rf "$tmp"
	fi
	echo "$QEMU_ORIG_SHA256  $f" | sha256sum -c --quiet - >/dev/null 2>&1 || {
		rm -f "$f"
		die "qemu: $QEMU_ORIG did not have the expected checksum; removed, run again to refetch"
	}
	echo "$f"
}

check_deps() {
	local missing=()
	command -v ninja >/dev/null || missing+=(ninja-build)
	/usr/bin/python3 -c 'import mesonbuild' 2>/dev/null || missing+=("meson (bookworm-backports)")
	pkg-config --exists glib-2.0 || missing+=(libglib2.0-dev)
	pkg-config --exists pixman-1 || missing+=(libpixman-1-dev)
	/usr/bin/python3 -c 'import distlib' 2>/dev/null || missing+=(python3-distlib)
	[ -f /usr/share/seabios/bios-256k.bin ] || missing+=("seabios (qemu-system-x86)")
	[ -d /usr/lib/ipxe/qemu ] || missing+=("ipxe-qemu (qemu-system-x86)")
	[ -f /usr/share/qemu/linuxboot_dma.bin ] || missing+=("qemu-system-data (qemu-system-x86)")
	[ ${#missing[@]} -eq 0 ] || die "qemu: missing ${missing[*]}: run scripts/install-deps.sh"
}

# The x86 firmware, from the stock packages of the same QEMU version.
install_firmware() { # datadir
	local d=$1 f
	mkdir -p "$d"
	for f in kvmvapic.bin linuxboot.bin linuxboot_dma.bin multiboot.bin multiboot_dma.bin pvh.bin qboot.rom; do
		cp -L "/usr/share/qemu/$f" "$d/"
	done
	cp -rL /usr/share/qemu/keymaps "$d/"
	cp -L /usr/share/seabios/*.bin "$d/"
	cp -L /usr/lib/ipxe/qemu/*.rom "$d/"
}

smoke_test() { # qemu
	# Starts a q35 machine with defaults (BIOS, VGA BIOS, NIC ROM must be found), the Hyper-V
	# enlightenments and vmbus-bridge, then quits.
	local out
	out=$(printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"quit"}' |
		timeout 60 "$1" -accel tcg -M q35 -cpu max,hv-vpindex,hv-synic,hv-relaxed,hv-time \
			-device vmbus-bridge -display none -S -qmp stdio 2>&1) ||
		die "qemu: smoke test failed: $out"
}

build() { # key dest
	local key=$1 dest=$2 orig work start
	check_deps
	orig=$(fetch_orig)
	start=$(date +%s)
	mkdir -p "$QEMU_CACHE"
	work="$QEMU_CACHE/build-$key.tmp.$$"
	rm -rf "$work" "$dest.tmp.$$"
	# The build tree (~250 MB) is not kept: the key changes with every patch anyway.
	trap 'rm -rf "'"$work"'" "'"$dest.tmp.$$"'"' EXIT
	mkdir -p "$work"
	log "qemu: unpacking $QEMU_ORIG"
	tar -xJf "$orig" -C "$work" --no-same-owner
	local src="$work/qemu-$QEMU_VERSION"
	fix_source "$src"
	local p
	for p in $(patches); do
		log "qemu: applying $(basename "$p")"
		patch -d "$src" -p1 --batch --forward --quiet --no-backup-if-mismatch <"$p" ||
			die "qemu: $(basename "$p") does not apply"
	done
	log "qemu: configuring"
	mkdir -p "$src/build"
	# The distribution's python: it has meson; another python3 first in PATH may not.
	(cd "$src/build" && ../configure --python=/usr/bin/python3 "${CONFIGURE[@]}" >configure.log 2>&1) || {
		tail -n 30 "$src/build/configure.log" >&2
		die "qemu: configure failed"
	}
	local jobs=${HVRS_JOBS:-$(nproc)}
	log "qemu: building qemu-system-x86_64 with -j$jobs (about 8 CPU-minutes)"
	nice ninja -C "$src/build" -j"$jobs" qemu-system-x86_64 >"$work/build.log" 2>&1 || {
		grep -E -B2 -A8 'error|FAILED' "$work/build.log" | tail -n 60 >&2
		die "qemu: build failed"
	}
	local tmp="$dest.tmp.$$"
	mkdir -p "$tmp/bin"
	cp "$src/build/qemu-system-x86_64" "$tmp/bin/"
	install_firmware "$tmp/share/qemu"
	smoke_test "$tmp/bin/qemu-system-x86_64"
	{
		echo "source: $QEMU_ORIG ($QEMU_DEB_VERSION)"
		echo "patches:"
		for p in $(patches); do echo "  $(basename "$p")"; done
		echo "configure: ${CONFIGURE[*]}"
		echo "gcc: $(gcc -dumpfullversion)"
		echo "build seconds: $(($(date +%s) - start)) (-j$jobs)"
	} >"$tmp/build-info.txt"
	touch "$tmp/.hvrs-complete"
	publish_dir "$tmp" "$dest"
	rm -rf "$work"
	trap - EXIT
	log "qemu: built in $(($(date +%s) - start)) s: $dest"
	# Keep the two newest builds: a patch change on a branch should not evict the other.
	ls -dt "$QEMU_CACHE"/qemu-* 2>/dev/null | grep -v '\.tmp\.' | tail -n +3 | xargs -r rm -rf
}

main() {
	local key dest
	key=$(cache_key)
	if [ "${1:-}" = --key ]; then
		echo "$key"
		return
	fi
	[ $# -eq 0 ] || [ "$1" = --print ] || die "usage: $0 [--print|--key]"
	dest="$QEMU_CACHE/qemu-$QEMU_VERSION-$key"
	if [ ! -f "$dest/.hvrs-complete" ]; then
		mkdir -p "$QEMU_CACHE"
		# One build at a time; whoever waited finds the result published.
		exec 9>"$QEMU_CACHE/.lock"
		flock 9
		if [ ! -f "$dest/.hvrs-complete" ]; then
			build "$key" "$dest"
		fi
		exec 9>&-
	fi
	[ "${1:-}" != --print ] || echo "$dest/bin/qemu-system-x86_64"
}

main "$@"
