// SPDX-License-Identifier: GPL-2.0

//! The Hyper-V VMBus protocol core.
//!
//! Wire formats of every protocol the guest drivers and the host engine speak, the ring-buffer
//! algorithm over a memory-access trait, GPADL construction and the sans-I/O state machines.
//! The crate is `no_std`, allocates nothing and has no `unsafe`: it is compiled by cargo for the
//! tests, fuzzers and benchmarks, and into the kernel modules unchanged (through a `#[path]`
//! module of `proto.rs`, the real root of the module tree: nothing crate-level may appear there or
//! below it).
//!
//! Every value read from the host is untrusted: parsers return typed errors, never panic.

#![no_std]
#![forbid(unsafe_code)]
// crates.io zerocopy-derive 0.8.54 names the helper items of `derive(FromBytes)` with a
// non-ASCII prefix (`ẕ`), and `non_ascii_idents` is checked crate-wide, so an `allow` inside
// the derive's output cannot help. The kernel's vendored copy (rust/zerocopy-derive) uses an
// ASCII prefix, so the kernel modules keep `-Dnon_ascii_idents`; this only affects cargo builds.
#![allow(non_ascii_idents)]

#[path = "proto.rs"]
mod proto;
pub use proto::*;
