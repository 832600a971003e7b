// SPDX-License-Identifier: GPL-2.0
/*
 * C shims for the static inlines and macros of the kernel's Hyper-V headers that Rust cannot call
 * directly. Each is a one-line forwarder; the logic stays in Rust (rust/hv).
 */
#include <linux/types.h>
#include <asm/mshyperv.h>

#include "vmbus_shim.h"

/* `hv_is_hyperv_initialized()` is an exported function on x86, a static inline elsewhere. */
bool hvrs_is_hyperv_initialized(void)
{
	return hv_is_hyperv_initialized();
}
