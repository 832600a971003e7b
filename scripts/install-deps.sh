#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what the build and the tests need on a Debian bookworm machine of this project's kind.
# Idempotent: every step checks first and does nothing when its result is already there.
# Needs root (apt). Nothing is installed from trixie or sid (see scripts/apt-suites.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

need_root() { [ "$(id -u)" = 0 ] || die "install-deps: run as root (apt-get install)"; }

# bookworm packages: kernel build, initramfs, debootstrap root, QEMU build dependencies.
BOOKWORM_PKGS=(
	build-essential flex bison bc libelf-dev libssl-dev kmod cpio busybox-static
	libclang1-19 libllvm19 debootstrap zstd xz-utils
	ninja-build pkg-config libglib2.0-dev libpixman-1-dev python3-distlib python3-venv
	socat libaio-dev
)
# bookworm-backports: stock QEMU 10 (first runner), meson >= 1.5 and pycotap for building QEMU.
BPO_PKGS=(qemu-system-x86 meson python3-pycotap)

missing=()
for p in "${BOOKWORM_PKGS[@]}" "${BPO_PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	need_root
	"$here/apt-suites.sh"
	bw=() bp=()
	for p in "${missing[@]}"; do
		case " ${BPO_PKGS[*]} " in *" $p "*) bp+=("$p") ;; *) bw+=("$p") ;; esac
	done
	export DEBIAN_FRONTEND=noninteractive
	[ ${#bw[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends "${bw[@]}"
	[ ${#bp[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends -t bookworm-backports "${bp[@]}"
fi

# The Rust library source for the kernel's core/alloc build.
if [ -z "$(rust_lib_src)" ]; then
	log "rust-src: trying rustup component add rust-src"
	if ! rustup component add rust-src >/dev/null 2>&1 || [ -z "$(rust_lib_src)" ]; then
		log "rust-src: rustup failed; taking Debian's rust-src $(rustc_version) (arch:all)"
		need_root
		"$here/apt-suites.sh"
		ver=$(apt-cache madison rust-src | awk -v v="$(rustc_version)" '$3 ~ "^"v"\\+" {print $3; exit}')
		[ -n "$ver" ] || die "no Debian rust-src matches rustc $(rustc_version)"
		tmp=$(mktemp -d)
		(cd "$tmp" && apt-get download -qq "rust-src=$ver")
		mkdir -p "$CACHE/rust-src"
		dpkg-deb -x "$tmp"/rust-src_*.deb "$CACHE/rust-src/$(rustc_version)"
		rm -rf "$tmp"
		[ -n "$(rust_lib_src)" ] || die "rust-src extracted but library/core not found"
	fi
fi

# bindgen-cli (kernel minimum 0.71.1).
if ! command -v bindgen >/dev/null 2>&1; then
	log "bindgen: cargo install --locked bindgen-cli"
	cargo install --locked --quiet bindgen-cli --version '^0.72'
fi
# cargo-fuzz for the protocol core's fuzz targets (scripts/fuzz.sh; runs on stable with -s none).
if ! cargo fuzz --version >/dev/null 2>&1; then
	log "cargo-fuzz: cargo install --locked cargo-fuzz"
	cargo install --locked --quiet cargo-fuzz
fi
log "install-deps: done"
