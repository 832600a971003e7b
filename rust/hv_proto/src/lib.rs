// SPDX-License-Identifier: GPL-2.0

//! The Hyper-V VMBus protocol core.
//!
//! Wire formats of every protocol the guest drivers and the host engine speak, the ring-buffer
//! algorithm over a memory-access trait, GPADL construction and the sans-I/O state machines.
//! The crate is `no_std`, allocates nothing and has no `unsafe`: it is compiled by cargo for the
//! tests, fuzzers and benchmarks, and into the kernel modules unchanged (through a `#[path]`
//! module, so nothing crate-level may appear below this file).
//!
//! Every value read from the host is untrusted: parsers return typed errors, never panic.

#![no_std]
#![forbid(unsafe_code)]

#[macro_use]
mod macros;
