// SPDX-License-Identifier: GPL-2.0

//! What the engine needs from "the hypervisor": posting SynIC messages, signalling event
//! flags, learning of the guest's signals, and guest memory.
//!
//! Two implementations: [`QemuTransport`] talks to QEMU's `vmbus-bridge,external=` socket
//! through [`vmbus_minihost::qemu_link`]; [`InProcTransport`] keeps everything in queues and an
//! [`ArenaMemory`] for `cargo test`, where the guest half is the protocol core's state machine.

use std::collections::{BTreeSet, VecDeque};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

use vmbus_minihost::qemu_link::QemuSender;

use crate::mem::{ArenaMemory, GuestMemory};

/// SynIC message type of VMBus channel messages (`HVMSG_VMBUS`... the TLFS "message type 1").
pub const HV_MESSAGE_VMBUS: u32 = 1;

/// Whether a posted message already reached the guest's message slot.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PostOutcome {
    /// In the guest's SINT slot now.
    Delivered,
    /// Queued; [`crate::Engine::post_done`] reports the outcome later with the same cookie.
    Pending,
}

/// The hypervisor side the engine drives.
pub trait Transport {
    /// Posts a VMBus channel message (at most 240 bytes) to `sint` of VP `vp`.
    ///
    /// # Errors
    ///
    /// An I/O error of the link (the connection is then unusable).
    fn post_message(
        &mut self,
        cookie: u64,
        vp: u32,
        sint: u8,
        msg: &[u8],
    ) -> io::Result<PostOutcome>;

    /// Sets event flag `flag` (a relid) of `sint` on VP `vp`'s event page and raises the SINT.
    ///
    /// # Errors
    ///
    /// An I/O error of the link.
    fn signal_guest(&mut self, vp: u32, sint: u8, flag: u32) -> io::Result<()>;

    /// Asks for the guest's HvSignalEvent on `connection_id` to be reported.
    ///
    /// # Errors
    ///
    /// An I/O error of the link.
    fn register_event(&mut self, connection_id: u32) -> io::Result<()>;

    /// Stops reporting the guest's signals on `connection_id`.
    ///
    /// # Errors
    ///
    /// An I/O error of the link.
    fn unregister_event(&mut self, connection_id: u32) -> io::Result<()>;

    /// Returns the guest RAM, once known.
    fn memory(&self) -> Option<Arc<dyn GuestMemory>>;

    /// Returns the number of virtual processors, once known (VP indexes are `0..n`).
    fn vp_count(&self) -> Option<u32>;
}

/// What QEMU told about the VM: its VP count (HELLO) and its RAM (memory table).
#[derive(Default)]
pub struct QemuInfo {
    /// Number of VPs.
    pub vp_count: Option<u32>,
    /// The mapped guest RAM.
    pub memory: Option<Arc<dyn GuestMemory>>,
}

/// The transport over QEMU's external VMBus host socket.
pub struct QemuTransport {
    tx: QemuSender,
    info: Arc<Mutex<QemuInfo>>,
}

impl QemuTransport {
    /// Wraps the sending half of a QEMU link; the daemon fills the returned [`QemuInfo`] as
    /// QEMU's HELLO and memory table arrive.
    pub fn new(tx: QemuSender) -> (QemuTransport, Arc<Mutex<QemuInfo>>) {
        let info = Arc::new(Mutex::new(QemuInfo::default()));
        (
            QemuTransport {
                tx,
                info: info.clone(),
            },
            info,
        )
    }

    fn info(&self) -> MutexGuard<'_, QemuInfo> {
        self.info.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Transport for QemuTransport {
    fn post_message(
        &mut self,
        cookie: u64,
        vp: u32,
        sint: u8,
        msg: &[u8],
    ) -> io::Result<PostOutcome> {
        self.tx
            .post_message(cookie, vp, u32::from(sint), HV_MESSAGE_VMBUS, msg)?;
        Ok(PostOutcome::Pending)
    }

    fn signal_guest(&mut self, vp: u32, sint: u8, flag: u32) -> io::Result<()> {
        self.tx.signal_event(vp, u32::from(sint), flag)
    }

    fn register_event(&mut self, connection_id: u32) -> io::Result<()> {
        self.tx.register_event(connection_id)
    }

    fn unregister_event(&mut self, connection_id: u32) -> io::Result<()> {
        self.tx.unregister_event(connection_id)
    }

    fn memory(&self) -> Option<Arc<dyn GuestMemory>> {
        self.info().memory.clone()
    }

    fn vp_count(&self) -> Option<u32> {
        self.info().vp_count
    }
}

/// A message the engine posted to the guest, as the in-process transport records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posted {
    /// Target VP.
    pub vp: u32,
    /// Target SINT.
    pub sint: u8,
    /// The channel message.
    pub bytes: Vec<u8>,
}

/// The state shared between an [`InProcTransport`] and the test that drives the guest half.
#[derive(Default)]
pub struct InProcState {
    /// Messages posted to the guest, oldest first.
    pub messages: VecDeque<Posted>,
    /// Event flags set for the guest: (VP, SINT, flag), oldest first.
    pub signals: VecDeque<(u32, u8, u32)>,
    /// Connection ids whose guest signals the engine asked for.
    pub registered: BTreeSet<u32>,
}

/// The in-process transport: queues instead of QEMU, an [`ArenaMemory`] as guest RAM.
#[derive(Clone)]
pub struct InProcTransport {
    state: Arc<Mutex<InProcState>>,
    memory: Arc<ArenaMemory>,
    vp_count: u32,
}

impl InProcTransport {
    /// Returns a transport with `vp_count` VPs over `memory`.
    pub fn new(memory: Arc<ArenaMemory>, vp_count: u32) -> InProcTransport {
        InProcTransport {
            state: Arc::new(Mutex::new(InProcState::default())),
            memory,
            vp_count,
        }
    }

    /// Locks the shared queues.
    pub fn state(&self) -> MutexGuard<'_, InProcState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Returns the guest RAM arena.
    pub fn arena(&self) -> &Arc<ArenaMemory> {
        &self.memory
    }
}

impl Transport for InProcTransport {
    fn post_message(
        &mut self,
        _cookie: u64,
        vp: u32,
        sint: u8,
        msg: &[u8],
    ) -> io::Result<PostOutcome> {
        self.state().messages.push_back(Posted {
            vp,
            sint,
            bytes: msg.to_vec(),
        });
        Ok(PostOutcome::Delivered)
    }

    fn signal_guest(&mut self, vp: u32, sint: u8, flag: u32) -> io::Result<()> {
        self.state().signals.push_back((vp, sint, flag));
        Ok(())
    }

    fn register_event(&mut self, connection_id: u32) -> io::Result<()> {
        self.state().registered.insert(connection_id);
        Ok(())
    }

    fn unregister_event(&mut self, connection_id: u32) -> io::Result<()> {
        self.state().registered.remove(&connection_id);
        Ok(())
    }

    fn memory(&self) -> Option<Arc<dyn GuestMemory>> {
        Some(self.memory.clone())
    }

    fn vp_count(&self) -> Option<u32> {
        Some(self.vp_count)
    }
}
