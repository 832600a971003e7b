// SPDX-License-Identifier: GPL-2.0

//! Device back ends and the ring I/O of an open channel.
//!
//! A back end implements [`Device`]: it is created when its channel is offered, told when the
//! guest opens and closes the channel, handed every packet the guest writes, ticked for its
//! timers and given the control-CLI commands addressed to it. It writes to the guest through a
//! [`DevCtx`], which queues packets on the channel's [`ChannelIo`]; the engine moves them into
//! the host-to-guest ring, signals the guest when the ring rules say so (empty to non-empty
//! with the guest's interrupt mask clear, `hv_signal_on_write()` in `ring_buffer.c`), and
//! honours `pending_send_sz` flow control in both directions.
//!
//! Responses to guest requests go through [`DevCtx::respond`], where the completion faults of
//! the control CLI apply (delay, drop, reorder); host-initiated requests use [`DevCtx::send`].

use std::collections::VecDeque;
use std::sync::Arc;

use hv_proto::ring::{
    IncomingRing, OutgoingPacket, OutgoingRing, PacketInfo, PacketType, RingError,
    VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED, VMBUS_PKT_TRAILER,
};

use crate::mem::{GpaRingMem, GuestMemory};

/// The answer to a control command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// Whether the command succeeded.
    pub ok: bool,
    /// Output lines (on failure, the first is the reason).
    pub lines: Vec<String>,
}

impl Reply {
    /// A success with output `lines`.
    pub fn ok(lines: Vec<String>) -> Reply {
        Reply { ok: true, lines }
    }

    /// A success with one output line.
    pub fn line(s: impl Into<String>) -> Reply {
        Reply::ok(vec![s.into()])
    }

    /// A failure with reason `msg`.
    pub fn err(msg: impl Into<String>) -> Reply {
        Reply {
            ok: false,
            lines: vec![msg.into()],
        }
    }
}

/// What a command handler returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CmdResult {
    /// The answer is ready.
    Done(Reply),
    /// The answer comes later through [`DevCtx::finish`] with the command's token, or as a
    /// timeout after `timeout_ms`.
    Pending {
        /// Milliseconds until the engine answers with a timeout.
        timeout_ms: u64,
    },
}

/// A packet the guest wrote, copied out of the ring.
#[derive(Clone, Debug)]
pub struct Packet {
    /// The validated descriptor.
    pub info: PacketInfo,
    /// Descriptor and extended header bytes.
    pub header: Vec<u8>,
    /// Payload bytes (padding included, as `hv_pkt_datalen()`).
    pub payload: Vec<u8>,
}

/// A packet to write to the guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutPkt {
    /// Packet type.
    pub packet_type: PacketType,
    /// Descriptor flags.
    pub flags: u16,
    /// Transaction id.
    pub trans_id: u64,
    /// Extended header (a multiple of 8 bytes).
    pub ext_header: Vec<u8>,
    /// Payload.
    pub payload: Vec<u8>,
}

impl OutPkt {
    /// An in-band data packet.
    pub fn inband(trans_id: u64, completion_requested: bool, payload: Vec<u8>) -> OutPkt {
        OutPkt {
            packet_type: PacketType::DATA_INBAND,
            flags: if completion_requested {
                VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED
            } else {
                0
            },
            trans_id,
            ext_header: Vec::new(),
            payload,
        }
    }

    /// A completion packet for request `trans_id`.
    pub fn completion(trans_id: u64, payload: Vec<u8>) -> OutPkt {
        OutPkt {
            packet_type: PacketType::COMP,
            flags: 0,
            trans_id,
            ext_header: Vec::new(),
            payload,
        }
    }

    /// Returns the bytes the packet takes in the ring, trailer included.
    pub fn ring_len(&self) -> u32 {
        OutgoingRing::<&GpaRingMem>::packet_len(self.ext_header.len(), self.payload.len())
            .map(|l| l + VMBUS_PKT_TRAILER)
            .unwrap_or(u32::MAX)
    }
}

/// Faults applied to the responses a device gives to guest requests (the CLI's
/// `fault completions`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResponseFaults {
    /// Hold every response this many milliseconds.
    pub delay_ms: u64,
    /// Drop this many of the next responses (`u32::MAX`: all).
    pub drop: u32,
    /// Collect this many responses, then send them in reverse order (0 or 1: off).
    pub reorder: usize,
}

/// Counters of one open channel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChannelStats {
    /// Signals the guest sent on the channel's connection id (or MNF triggers seen).
    pub guest_signals: u64,
    /// Guest signals after which the host found work: new packets, or room it waited for.
    pub justified_signals: u64,
    /// Guest signals that found nothing to do and were not explained by a race window.
    pub unneeded_signals: u64,
    /// Times the host found packets in the window where it had published an empty ring with
    /// the mask clear (the guest may or may not have signalled for them).
    pub race_windows: u64,
    /// Busy periods of the guest-to-host ring: reads that consumed packets and then left the
    /// ring empty with the host's interrupt mask clear. The next packet after each of them
    /// needs exactly one signal, as does the very first packet, so over a load that ends idle
    /// this is the signal count the rules require (plus at most one per race window).
    pub idle_ends: u64,
    /// Signals the host sent the guest.
    pub host_signals: u64,
    /// Signals the host sent because the guest waited for room in its ring
    /// (`pending_send_sz`) and now had it.
    pub room_signals: u64,
    /// Packets read from the guest.
    pub packets_in: u64,
    /// Packets written to the guest.
    pub packets_out: u64,
    /// Times a host write found the host-to-guest ring full.
    pub ring_full: u64,
    /// Responses dropped by a fault.
    pub dropped: u64,
}

/// The host side of an open channel's rings.
pub struct ChannelIo {
    /// Host-to-guest ring (the host writes).
    pub(crate) out: OutgoingRing<GpaRingMem>,
    /// Guest-to-host ring (the host reads).
    pub(crate) inc: IncomingRing<GpaRingMem>,
    /// Packets waiting for room in the host-to-guest ring.
    pub(crate) backlog: VecDeque<OutPkt>,
    /// Responses held by a delay fault: (due time in ms, packet).
    pub(crate) held: Vec<(u64, OutPkt)>,
    /// Responses collected by a reorder fault.
    pub(crate) reorder_buf: Vec<OutPkt>,
    /// Active response faults.
    pub faults: ResponseFaults,
    /// Counters.
    pub stats: ChannelStats,
    /// Credits for guest signals that may arrive after the host already did what they ask
    /// for: one per race window, busy period found without a signal, or wait for room.
    pub(crate) race_credit: u64,
    /// The ring is idle: the last read pass left it empty with the mask clear, so the
    /// guest signals for its next packet.
    pub(crate) idle: bool,
    /// The last read found packets in an idle ring (a busy period began).
    pub(crate) woke: bool,
    /// The host set `pending_send_sz` and waits for room.
    pub(crate) waiting_for_room: bool,
    /// The guest corrupted its ring; the channel does no more I/O.
    pub(crate) broken: bool,
    /// The host must signal the guest.
    pub(crate) signal_pending: bool,
    /// Stop reading the guest's ring while the backlog is this long.
    pub(crate) backlog_limit: usize,
    /// Do not read the guest's ring before this time in ms (`fault pause-read`; 0: no pause).
    pub(crate) paused_until: u64,
}

impl ChannelIo {
    /// Wraps a channel's rings.
    pub fn new(out: OutgoingRing<GpaRingMem>, inc: IncomingRing<GpaRingMem>) -> ChannelIo {
        ChannelIo {
            out,
            inc,
            backlog: VecDeque::new(),
            held: Vec::new(),
            reorder_buf: Vec::new(),
            faults: ResponseFaults::default(),
            stats: ChannelStats::default(),
            race_credit: 0,
            idle: true,
            woke: false,
            waiting_for_room: false,
            broken: false,
            signal_pending: false,
            backlog_limit: 64,
            paused_until: 0,
        }
    }

    /// Writes as much of the backlog as fits; returns an error if the guest corrupted the ring.
    ///
    /// When the ring is full, sets `pending_send_sz` to what the next packet needs
    /// (`hv_ringbuffer_write()` callers do this through `hv_pkt_iter_close`'s peer logic; the
    /// host plays the writer here) and waits for the guest's signal.
    pub(crate) fn flush(&mut self) -> Result<(), RingError> {
        while let Some(p) = self.backlog.front() {
            let pkt = OutgoingPacket {
                packet_type: p.packet_type,
                flags: p.flags,
                trans_id: p.trans_id,
                ext_header: &p.ext_header,
            };
            match self.out.write_packet(&pkt, &[&p.payload]) {
                Ok(signal) => {
                    self.stats.packets_out += 1;
                    self.signal_pending |= signal;
                    self.backlog.pop_front();
                }
                Err(RingError::Full) => {
                    let need = p.ring_len();
                    if !self.waiting_for_room {
                        self.stats.ring_full += 1;
                    }
                    self.waiting_for_room = true;
                    self.out.set_pending_send_size(need);
                    // Room may have appeared before the guest saw the request.
                    if self.out.free_bytes()? > need {
                        continue;
                    }
                    return Ok(());
                }
                Err(RingError::TooLarge) => {
                    // A device bug or a test sending an oversized packet: drop it.
                    self.backlog.pop_front();
                }
                Err(e) => return Err(e),
            }
        }
        if self.waiting_for_room {
            self.waiting_for_room = false;
            self.out.clear_pending_send_size();
            // The guest signals once when its reads cross `pending_send_sz`; when the host
            // finds the room first (while handling another signal or a tick) that signal may
            // still be on its way and then finds nothing to do.
            self.race_credit += 1;
        }
        Ok(())
    }

    /// Applies the response faults to `pkt` at time `now_ms`.
    fn respond(&mut self, now_ms: u64, pkt: OutPkt) {
        if self.faults.drop > 0 {
            if self.faults.drop != u32::MAX {
                self.faults.drop -= 1;
            }
            self.stats.dropped += 1;
            return;
        }
        if self.faults.reorder > 1 {
            self.reorder_buf.push(pkt);
            if self.reorder_buf.len() >= self.faults.reorder {
                while let Some(p) = self.reorder_buf.pop() {
                    self.queue_delayed(now_ms, p);
                }
            }
            return;
        }
        self.queue_delayed(now_ms, pkt);
    }

    fn queue_delayed(&mut self, now_ms: u64, pkt: OutPkt) {
        if self.faults.delay_ms > 0 {
            self.held.push((now_ms + self.faults.delay_ms, pkt));
        } else {
            self.backlog.push_back(pkt);
        }
    }

    /// Moves held responses that are due into the backlog; returns `true` if any moved.
    pub(crate) fn release_due(&mut self, now_ms: u64) -> bool {
        let mut moved = false;
        let mut i = 0;
        while i < self.held.len() {
            if self.held[i].0 <= now_ms {
                let (_, p) = self.held.remove(i);
                self.backlog.push_back(p);
                moved = true;
            } else {
                i += 1;
            }
        }
        moved
    }

    /// Releases everything held or collected by faults (used when the faults are cleared).
    pub(crate) fn release_all(&mut self) {
        let mut held: Vec<_> = self.held.drain(..).collect();
        held.sort_by_key(|(t, _)| *t);
        self.backlog.extend(held.into_iter().map(|(_, p)| p));
        self.backlog.extend(self.reorder_buf.drain(..));
    }

    /// Returns the host-to-guest ring's free bytes and the guest-to-host ring's bytes to read.
    pub fn ring_state(&self) -> (u32, u32) {
        (
            self.out.free_bytes().unwrap_or(0),
            self.inc.bytes_available().unwrap_or(0),
        )
    }
}

/// What a device asks the engine to do once its callback returns.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DevRequest {
    /// Offer subchannel `index` of this device (an in-band request such as storvsc's
    /// CREATE_SUB_CHANNELS; the offer carries `sub_channel_index`). Ignored if that subchannel
    /// is offered and not rescinded.
    OfferSubchannel(u16),
    /// Rescind every live subchannel of this device (e.g. when the guest closed the primary).
    RescindSubchannels,
    /// Rescind the whole device: its subchannels, then its primary channel.
    RescindDevice,
}

/// What a device callback may do.
pub struct DevCtx<'a> {
    /// The channel's relid.
    pub relid: u32,
    /// The channel's subchannel index (0: the primary channel).
    pub sub_index: u16,
    /// The negotiated VMBus version.
    pub vmbus_version: u32,
    /// The engine's clock, in milliseconds.
    pub now_ms: u64,
    /// Milliseconds since QEMU connected: about the VM's running time, which its Hyper-V
    /// reference counter counts (QEMU's virtual clock, started with the VM).
    pub vm_ms: u64,
    pub(crate) io: Option<&'a mut ChannelIo>,
    pub(crate) log: &'a mut Vec<String>,
    pub(crate) errors: &'a mut Vec<String>,
    pub(crate) finished: &'a mut Vec<(u64, Reply)>,
    pub(crate) mem: Option<Arc<dyn GuestMemory>>,
    pub(crate) requests: &'a mut Vec<DevRequest>,
    pub(crate) gpadls: Option<&'a std::collections::BTreeMap<u32, crate::engine::GpadlRec>>,
}

impl DevCtx<'_> {
    /// Queues a host-initiated packet (a request); it is written in order, as room allows.
    ///
    /// Returns `false` if the channel is not open.
    pub fn send(&mut self, pkt: OutPkt) -> bool {
        match self.io.as_deref_mut() {
            Some(io) if !io.broken => {
                io.backlog.push_back(pkt);
                true
            }
            _ => false,
        }
    }

    /// Queues the response to a guest request, subject to the completion faults.
    pub fn respond(&mut self, pkt: OutPkt) {
        let now = self.now_ms;
        if let Some(io) = self.io.as_deref_mut() {
            if !io.broken {
                io.respond(now, pkt);
            }
        }
    }

    /// Records a protocol violation by the guest.
    pub fn protocol_error(&mut self, msg: impl Into<String>) {
        self.errors.push(msg.into());
    }

    /// Adds a line to the engine's event log.
    pub fn log(&mut self, msg: impl Into<String>) {
        self.log.push(msg.into());
    }

    /// Answers the pending command `token`.
    pub fn finish(&mut self, token: u64, reply: Reply) {
        self.finished.push((token, reply));
    }

    /// Returns `true` if the channel is open and usable.
    pub fn is_open(&self) -> bool {
        self.io.as_deref().is_some_and(|io| !io.broken)
    }

    /// Returns the channel's ring I/O, if open.
    pub fn io(&mut self) -> Option<&mut ChannelIo> {
        self.io.as_deref_mut()
    }

    /// Returns the pages (the guest physical address of each 4 KiB page, in order) and the
    /// byte count of GPADL `handle`, if the guest created it for this channel.
    pub fn gpadl(&self, handle: u32) -> Option<(&[u64], u32)> {
        let g = self.gpadls?.get(&handle)?;
        (g.relid == self.relid).then_some((g.pages.as_slice(), g.byte_count))
    }

    /// Returns guest RAM (for data the guest describes by GPA, e.g. GPA-direct page lists).
    pub fn memory(&self) -> Option<&Arc<dyn GuestMemory>> {
        self.mem.as_ref()
    }

    /// Asks the engine for a channel-level action once the callback returns.
    pub fn request(&mut self, r: DevRequest) {
        self.requests.push(r);
    }
}

/// A device back end.
pub trait Device {
    /// Returns the device kind (`echo`, `heartbeat`, ...).
    fn kind(&self) -> &'static str;

    /// The guest opened the channel with `userdata`; `Err(status)` refuses (OPEN_RESULT
    /// carries the status).
    fn open(&mut self, ctx: &mut DevCtx<'_>, userdata: &[u8]) -> Result<(), u32> {
        let _ = (ctx, userdata);
        Ok(())
    }

    /// The OPENCHANNEL_RESULT reached the guest: the device may start talking.
    fn start(&mut self, ctx: &mut DevCtx<'_>) {
        let _ = ctx;
    }

    /// The channel was closed (by the guest, a rescind, an unload or a reset): fail what is
    /// outstanding.
    fn close(&mut self, ctx: &mut DevCtx<'_>) {
        let _ = ctx;
    }

    /// A packet from the guest.
    fn packet(&mut self, ctx: &mut DevCtx<'_>, pkt: &Packet);

    /// Called on every engine tick (and after every event) for timers.
    fn tick(&mut self, ctx: &mut DevCtx<'_>) {
        let _ = ctx;
    }

    /// A control command addressed to this device; `token` identifies it for a later
    /// [`DevCtx::finish`].
    fn command(&mut self, ctx: &mut DevCtx<'_>, args: &[String], token: u64) -> CmdResult {
        let _ = (ctx, args, token);
        CmdResult::Done(Reply::err(format!(
            "device {} has no commands",
            self.kind()
        )))
    }

    /// Status lines for `show`.
    fn status(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Returns `Some(value)` for an option `--name value` or `name=value` in `args`.
pub fn opt<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    let dashed = format!("--{name}");
    let eq = format!("{name}=");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if *a == dashed {
            return it.next().map(String::as_str);
        }
        if let Some(v) = a.strip_prefix(&eq) {
            return Some(v);
        }
        if let Some(v) = a.strip_prefix(&format!("{dashed}=")) {
            return Some(v);
        }
    }
    None
}

/// Returns `true` if the flag `--name` is in `args`.
pub fn flag(args: &[String], name: &str) -> bool {
    let dashed = format!("--{name}");
    args.contains(&dashed)
}

/// Returns the positional arguments (those not starting with `--`, skipping option values of
/// the options named in `valued`).
pub fn positional<'a>(args: &'a [String], valued: &[&str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some(name) = a.strip_prefix("--") {
            if valued.contains(&name) {
                it.next();
            }
            continue;
        }
        out.push(a.as_str());
    }
    out
}

/// Returns the timeout of a command (`--timeout SECS`, default `default_s`) in milliseconds.
pub fn timeout_ms(args: &[String], default_s: u64) -> u64 {
    opt(args, "timeout")
        .and_then(|v| v.parse::<f64>().ok())
        .map(|s| (s * 1000.0) as u64)
        .unwrap_or(default_s * 1000)
}
