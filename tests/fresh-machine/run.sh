#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Prove the fresh-machine path: run `make check` (twice: cold, then warm) in a debootstrapped
# Debian bookworm chroot that holds only what a new machine of this project's kind has (gcc,
# git, python3, qemu-utils, and the machine's rustup toolchain copied in without rust-src and
# without bindgen), with an empty cache. Not part of `make check` (it takes as long as CI).
#
#   tests/fresh-machine/run.sh CHROOT_DIR [GIT_REF]
# Prints the cold and warm wall times and the last lines of each run; logs in CHROOT_DIR/root/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
root=${1:?usage: $0 CHROOT_DIR [GIT_REF]}
ref=${2:-HEAD}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }

if [ ! -x "$root/usr/bin/gcc" ]; then
	mirror=$(awk 'BEGIN{RS=""} NR==1' /etc/apt/sources.list.d/debian.sources | awk '/^URIs:/ {print $2; exit}')
	debootstrap --variant=minbase \
		--include=ca-certificates,git,gcc,g++,make,libc6-dev,python3,qemu-utils,xz-utils,curl,procps \
		bookworm "$root" "$mirror"
fi
# The machine's apt sources, exactly (the scripts derive everything else from them).
rm -f "$root"/etc/apt/sources.list "$root"/etc/apt/sources.list.d/*
cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/"
# ... and its apt configuration (the registry's settings, e.g. for its snapshot's Valid-Until).
cp /etc/apt/apt.conf.d/* "$root/etc/apt/apt.conf.d/" 2>/dev/null || true
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
# The machine's certificate store (it trusts the package registries' proxy) and the environment
# that points tools at it, as CI gets it.
cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
envs=()
for v in SSL_CERT_FILE SSL_CERT_DIR CURL_CA_BUNDLE GIT_SSL_CAINFO REQUESTS_CA_BUNDLE CARGO_HTTP_CAINFO; do
	[ -z "${!v:-}" ] || envs+=("$v=${!v}")
done

# The rustup toolchain as a new machine has it: no rust-src component, no bindgen.
rm -rf "$root/root/.rustup" "$root/root/.cargo" "$root/root/.cache"
mkdir -p "$root/root/.cargo/bin"
cp -a "$HOME/.rustup" "$root/root/.rustup"
rm -rf "$root"/root/.rustup/toolchains/*/lib/rustlib/src
for b in "$HOME"/.cargo/bin/*; do
	case "$(basename "$b")" in bindgen | cargo-fuzz) ;; *) cp -a "$b" "$root/root/.cargo/bin/" ;; esac
done

# A clean clone of the committed tree.
rm -rf "$root/root/hv-rs"
git -C "$top" bundle create "$root/root/hv-rs.bundle" "$ref" >/dev/null 2>&1
git -c init.defaultBranch=main clone -q "$root/root/hv-rs.bundle" "$root/root/hv-rs"
rm -f "$root/root/hv-rs.bundle"

mounts=(proc sys dev dev/pts)
cleanup() { for m in dev/pts dev sys proc; do umount -l "$root/$m" 2>/dev/null || true; done; }
trap cleanup EXIT
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"

inside() { # command...
	chroot "$root" /usr/bin/env -i HOME=/root PATH=/root/.cargo/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		TERM=dumb CI=true "${envs[@]}" bash -c "cd /root/hv-rs && $*"
}

for pass in cold warm; do
	start=$(date +%s)
	rc=0
	inside "make check" </dev/null >"$root/root/check-$pass.log" 2>&1 || rc=$?
	t=$(( $(date +%s) - start ))
	echo "== $pass make check: exit $rc, $((t / 60))m$((t % 60))s"
	tail -n 4 "$root/root/check-$pass.log"
	[ $rc -eq 0 ] || exit 1
done
