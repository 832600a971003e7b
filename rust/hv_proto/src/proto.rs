// SPDX-License-Identifier: GPL-2.0

//! The module tree of the protocol core.
//!
//! `lib.rs` holds the crate-level attributes for cargo; the kernel modules include this file
//! with `#[path]` instead, so it must hold only module declarations and re-exports.

#[macro_use]
mod macros;

#[cfg(test)]
mod test_rng;

pub mod connection;
pub mod cpu;
pub mod devclass;
pub mod dm;
pub mod fcopy;
pub mod gpadl;
pub mod guid;
pub mod ic;
pub mod kvp;
pub mod nvsp;
pub mod request;
pub mod ring;
pub mod rndis;
pub mod synic;
pub mod vmbus;
pub mod vss;
pub mod vstor;
