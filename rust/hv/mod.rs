// SPDX-License-Identifier: GPL-2.0

//! Kernel-side abstractions for Hyper-V: our "rust/kernel".
//!
//! Every `unsafe` block of the project lives below this module (and in crate roots); the
//! drivers talk to the hypervisor and the bus only through the safe API here. The module is
//! compiled into `hv_vmbus.ko` (crate `vmbus`) and reaches the other modules through its rmeta.

pub mod hypervisor;
