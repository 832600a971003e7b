#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch Debian's linux-source-7.2, configure it from scripts/kconfig/hv-rs.config on top of
# tinyconfig, check the configuration, and build it (bzImage, the C reference modules, and the
# tools/hv daemons). The built tree is cached outside the clone, keyed by kernel version, the
# fragment, this script's recipe version, rustc, bindgen and gcc, so a second run reuses it and a
# change of any of them rebuilds.
#
#   scripts/kernel.sh                 build if needed, print nothing but progress
#   scripts/kernel.sh --print-kdir    build if needed, then print the built tree's path
#   scripts/kernel.sh --key           print the cache key only (no build)
#   scripts/kernel.sh --verify CONFIG check a .config against the fragment (no build)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"

# The kernel the project is pinned to (DESIGN.md). If the archive no longer carries this exact
# version, the newest linux-source-7.2 is taken and the cache key says which one was built.
KERNEL_PKG=linux-source-7.2
KERNEL_DEB_VERSION=${KERNEL_DEB_VERSION:-7.2.13-1}
FRAGMENT=${HVRS_KCONFIG_FRAGMENT:-$top/scripts/kconfig/hv-rs.config}

deb_file() { ls "$CACHE"/dl/${KERNEL_PKG}_*_all.deb 2>/dev/null | sort -V | tail -n1 || true; }

fetch_deb() {
	mkdir -p "$CACHE/dl"
	local want="$CACHE/dl/${KERNEL_PKG}_${KERNEL_DEB_VERSION}_all.deb"
	[ -f "$want" ] && { echo "$want"; return; }
	"$here/apt-suites.sh" >&2
	local ver=$KERNEL_DEB_VERSION
	if ! apt-cache madison "$KERNEL_PKG" | awk '{print $3}' | grep -qx "$ver"; then
		ver=$(apt-cache madison "$KERNEL_PKG" | awk '{print $3}' | sort -V | tail -n1)
		[ -n "$ver" ] || die "$KERNEL_PKG is not in any configured suite"
		log "kernel: $KERNEL_PKG $KERNEL_DEB_VERSION is gone from the archive, taking $ver"
	fi
	local tmp
	tmp=$(mktemp -d "$CACHE/dl/tmp.XXXXXX")
	(cd "$tmp" && apt-get download -qq "$KERNEL_PKG=$ver") >&2
	mv "$tmp"/*.deb "$CACHE/dl/"
	rmdir "$tmp"
	echo "$CACHE/dl/${KERNEL_PKG}_${ver}_all.deb"
}

# Bump when this script changes what it builds (not for comments or messages).
KERNEL_RECIPE=1

cache_key() { # deb
	{
		basename "$1"
		echo "recipe $KERNEL_RECIPE"
		cat "$FRAGMENT"
		rustc -vV
		bindgen --version 2>&1
		gcc --version | head -n1
	} | sha256sum | cut -c1-16
}

# Each fragment line must be in the final .config: "CONFIG_X=v" verbatim, "# CONFIG_X is not set"
# as not set (absent or "is not set").
verify_config() { # config
	local bad=0 line sym
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qxF "$line" "$1" || { echo "  lost: $line (have: $(grep -E "^(# )?${line%%=*}[= ]" "$1" || echo absent))" >&2; bad=1; } ;;
		"# CONFIG_"*" is not set")
			sym=${line#\# }; sym=${sym%% *}
			! grep -q "^$sym=" "$1" || { echo "  lost: $line (have: $(grep "^$sym=" "$1"))" >&2; bad=1; } ;;
		esac
	done <"$FRAGMENT"
	return $bad
}

build() { # deb dir
	local deb=$1 dir=$2 tmp="$2.tmp.$$"
	rm -rf "$tmp"
	mkdir -p "$tmp"
	# A failed or interrupted build leaves nothing behind (the tree is ~2 GB).
	trap 'rm -rf "'"$tmp"'"' EXIT
	log "kernel: unpacking $(basename "$deb")"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -O --wildcards './usr/src/linux-source-*.tar.xz' |
		tar -xJ -C "$tmp" --strip-components=1
	local lib_src mk=(make -C "$tmp" -s -j"$(nproc)")
	lib_src=$(rust_lib_src)
	[ -n "$lib_src" ] || die "no Rust library source: run scripts/install-deps.sh"
	mk+=(RUST_LIB_SRC="$lib_src")
	log "kernel: configuring (tinyconfig + $(basename "$FRAGMENT"))"
	"${mk[@]}" tinyconfig >/dev/null
	"${mk[@]}" rustavailable >/dev/null || { "${mk[@]}" rustavailable; die "kernel: Rust is not available"; }
	(cd "$tmp" && scripts/kconfig/merge_config.sh -m -O . .config "$FRAGMENT" >/dev/null)
	"${mk[@]}" olddefconfig >/dev/null
	verify_config "$tmp/.config" || die "kernel: fragment lines did not survive olddefconfig (see above)"
	log "kernel: building bzImage and modules with -j$(nproc) (about 5 minutes cold)"
	"${mk[@]}" bzImage modules
	log "kernel: building tools/hv daemons (static)"
	build_hv_tools "$tmp"
	echo "$(basename "$deb")" >"$tmp/.hvrs-source"
	touch "$tmp/.hvrs-complete"
	publish_dir "$tmp" "$dir"
	trap - EXIT
	# Keep the two newest builds: a config change on a branch should not evict the other.
	ls -dt "$CACHE"/kernel/linux-* 2>/dev/null | grep -v '\.tmp\.' | tail -n +3 | xargs -r rm -rf
}

# The unmodified user-space daemons from the same tree, linked statically for the initramfs.
build_hv_tools() { # tree
	local t=$1/tools/hv out=$1/hvtools
	mkdir -p "$out"
	local cf=(-O2 -Wall -static -I"$1/usr/include" -I"$1/tools/include")
	# uapi headers for the tools (linux/hyperv.h).
	make -C "$1" -s headers >/dev/null
	gcc "${cf[@]}" -o "$out/hv_kvp_daemon" "$t/hv_kvp_daemon.c"
	gcc "${cf[@]}" -o "$out/hv_vss_daemon" "$t/hv_vss_daemon.c"
	gcc "${cf[@]}" -o "$out/hv_fcopy_uio_daemon" "$t/hv_fcopy_uio_daemon.c" "$t/vmbus_bufring.c"
	cp "$t/lsvmbus" "$t/hv_get_dhcp_info.sh" "$t/hv_get_dns_info.sh" "$t/hv_set_ifconfig.sh" "$out/" 2>/dev/null || true
}

main() {
	local deb key dir
	deb=$(deb_file)
	if [ "${1:-}" = --verify ]; then
		verify_config "${2:?usage: $0 --verify CONFIG}"
		return
	fi
	if [ "${1:-}" = --key ]; then
		[ -n "$deb" ] || deb=$(fetch_deb)
		cache_key "$deb"
		return
	fi
	[ -n "$deb" ] && [ "$(basename "$deb")" = "${KERNEL_PKG}_${KERNEL_DEB_VERSION}_all.deb" ] || deb=$(fetch_deb)
	key=$(cache_key "$deb")
	dir="$CACHE/kernel/linux-$(basename "$deb" _all.deb | sed "s/^${KERNEL_PKG}_//")-$key"
	if [ -f "$dir/.hvrs-complete" ]; then
		log "kernel: cached $(basename "$dir")"
	else
		mkdir -p "$CACHE/kernel"
		# One builder at a time per cache (parallel CI jobs, a developer and CI on one machine).
		exec 9>"$CACHE/kernel/.lock"
		flock 9
		[ -f "$dir/.hvrs-complete" ] || build "$deb" "$dir"
		exec 9>&-
	fi
	[ "${1:-}" != --print-kdir ] || echo "$dir"
}
main "$@"
