#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# fio for the test guests: the busybox initramfs has no libc, so fio is built statically from
# Debian bookworm's source package (the same version as bookworm's fio binary package) and cached
# outside the clone, keyed by the version and the build recipe.
#
#   scripts/fio.sh --print      build if needed, print the path of the static fio binary
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

FIO_VERSION=${FIO_VERSION:-3.33-3}
# Bump FIO_RECIPE when the build below changes what it makes.
FIO_RECIPE=2
dir=$CACHE/fio/$FIO_VERSION-$FIO_RECIPE
bin=$dir/fio

[ "${1:-}" = --print ] || die "usage: fio.sh --print"

build() {
	local tmp="$dir.tmp.$$" upstream=${FIO_VERSION%-*}
	rm -rf "$tmp"
	mkdir -p "$tmp/src"
	[ "$(id -u)" != 0 ] || "$here/apt-suites.sh"
	log "fio: fetching the source of fio $FIO_VERSION"
	(cd "$tmp/src" && apt-get source --download-only -qq "fio=$FIO_VERSION" >/dev/null 2>&1) ||
		die "fio: apt-get source fio=$FIO_VERSION failed (needs deb-src for bookworm: scripts/apt-suites.sh)"
	tar -xzf "$tmp/src/fio_$upstream.orig.tar.gz" -C "$tmp/src"
	log "fio: building fio $upstream (static)"
	# Engines: the synchronous ones, io_uring (the tests' queue depth) and libaio (static
	# libaio.a of libaio-dev, scripts/install-deps.sh).
	[ -e /usr/lib/x86_64-linux-gnu/libaio.a ] || die "fio: libaio-dev is not installed (make deps)"
	(cd "$tmp/src/fio-$upstream" &&
		./configure --build-static --disable-native >"$tmp/build.log" 2>&1 &&
		make -j"$(nproc)" fio >>"$tmp/build.log" 2>&1) ||
		{ tail -n 30 "$tmp/build.log"; die "fio: build failed"; }
	strip -o "$tmp/fio" "$tmp/src/fio-$upstream/fio"
	"$tmp/fio" --version >/dev/null || die "fio: the built binary does not run"
	"$tmp/fio" --enghelp | grep -qw libaio || die "fio: built without libaio"
	rm -rf "$tmp/src" "$tmp/build.log"
	publish_dir "$tmp" "$dir"
	log "fio: $bin ($("$bin" --version))"
}

[ -x "$bin" ] || build
echo "$bin"
