# SPDX-License-Identifier: GPL-2.0
# Shared helpers for scripts/*.sh (sourced, not run).

# Cache for the built kernel, QEMU and guest roots: outside the clone, reused across clones.
CACHE=${HVRS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hv-rs}
mkdir -p "$CACHE"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# "1.95.0" from "rustc 1.95.0 (59807616e 2026-04-14)".
rustc_version() { rustc --version | awk '{print $2}'; }

# The Rust library source directory (the one holding core/), or nothing.
rust_lib_src() {
	if [ -n "${RUST_LIB_SRC:-}" ] && [ -d "$RUST_LIB_SRC/core" ]; then
		echo "$RUST_LIB_SRC"
		return
	fi
	local d
	d="$(rustc --print sysroot)/lib/rustlib/src/rust/library"
	if [ -d "$d/core" ]; then
		echo "$d"
		return
	fi
	d=$(ls -d "$CACHE"/rust-src/"$(rustc_version)"/usr/src/rustc-*/library 2>/dev/null | head -n1 || true)
	if [ -n "$d" ] && [ -d "$d/core" ]; then
		echo "$d"
	fi
}

# Make a directory's content appear atomically: build in $1.tmp.$$, then rename.
publish_dir() { # tmpdir final
	rm -rf "$2.old"
	[ ! -e "$2" ] || mv "$2" "$2.old"
	mv "$1" "$2"
	rm -rf "$2.old"
}
