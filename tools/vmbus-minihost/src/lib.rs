// SPDX-License-Identifier: GPL-2.0

//! The reusable part of the minimal external VMBus host: [`qemu_link`], the QEMU end of the
//! `vmbus-bridge,external=` socket protocol. The binary (`src/main.rs`) adds the few VMBus
//! answers the tests need; the host engine is meant to use [`qemu_link`] as it is.

pub mod qemu_link;
