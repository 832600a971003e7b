// SPDX-License-Identifier: GPL-2.0

//! The VMBus host engine: plays Hyper-V's side of VMBus for a Linux guest.
//!
//! It runs beside QEMU, which hands it the VMBus through `-device vmbus-bridge,external=`
//! (the project's QEMU patch series; socket protocol in `Documentation/qemu-external-host.rst`),
//! or in-process against the protocol core's guest state machine in `cargo test`. Layers:
//!
//! - [`transport`]: posting SynIC messages, signalling event flags, guest memory ([`mem`]);
//! - [`engine`]: the VMBus control plane (versions, offers, GPADLs, open/close, rescind,
//!   modify, unload) with strict checks of everything the guest sends;
//! - [`device`] and [`devices`]: the back ends behind the channels (echo, heartbeat, shutdown,
//!   time sync, KVP, VSS, FCopy) and their ring I/O;
//! - [`ctl`] and [`daemon`]: the control CLI over a unix socket, with fault injection.
//!
//! Documentation/host-engine.rst describes the architecture, the CLI and the faults.

#![forbid(unsafe_code)]

pub mod ctl;
pub mod daemon;
pub mod device;
pub mod devices;
pub mod engine;
pub mod mem;
pub mod transport;

pub use engine::{CmdOutcome, Engine, EngineConfig};
