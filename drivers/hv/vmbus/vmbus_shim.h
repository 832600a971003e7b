/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prototypes of the C shims in vmbus_shim.c. The Rust side declares the same functions by hand
 * in rust/hv (the kernel's bindings crate cannot be extended out of tree).
 */
#ifndef HVRS_VMBUS_SHIM_H
#define HVRS_VMBUS_SHIM_H

#include <linux/types.h>

bool hvrs_is_hyperv_initialized(void);

#endif /* HVRS_VMBUS_SHIM_H */
