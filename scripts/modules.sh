#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the kernel's make on our tree: `make -C $KDIR M=$top W=e <target> [VAR=...]`.
# KDIR defaults to the cached test kernel (built first if needed). Any make target of an external
# module works: modules, modules_install, clean, rust-analyzer; CLIPPY=1 runs clippy.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"

KDIR=${KDIR:-$("$here/kernel.sh" --print-kdir)}
[ -f "$KDIR/Makefile" ] || die "KDIR=$KDIR is not a kernel tree"
[ -f "$KDIR/rust/libkernel.rmeta" ] || die "KDIR=$KDIR is not a built CONFIG_RUST=y tree (no rust/libkernel.rmeta)"

args=(-C "$KDIR" M="$top" W=e -j"$(nproc)")
lib_src=$(rust_lib_src)
[ -z "$lib_src" ] || args+=(RUST_LIB_SRC="$lib_src")
exec make "${args[@]}" "$@"
