// SPDX-License-Identifier: GPL-2.0
/*
 * Export the Rust symbols of the `vmbus` crate to the other modules (hv_utils, hv_storvsc, ...),
 * which link against it with `--extern vmbus=.../libvmbus.rmeta`. The list is generated from the
 * crate's object by `nm` (see Kbuild), the same trick as the kernel's rust/exports.c. There is no
 * ABI check without MODVERSIONS: all modules are always built together.
 */
#include <linux/export.h>

#define EXPORT_SYMBOL_RUST_GPL(sym) extern int sym; EXPORT_SYMBOL_GPL(sym)

#include "vmbus_exports_generated.h"
