// SPDX-License-Identifier: GPL-2.0

//! The VMBus control plane in the host role.
//!
//! [`Engine`] is a single-threaded state machine: the daemon (or a test) feeds it the guest's
//! channel messages ([`Engine::guest_message`]), the guest's signals ([`Engine::guest_event`]),
//! delivery reports ([`Engine::post_done`]), VM resets, clock ticks and control commands, and
//! it answers through a [`Transport`]. It implements the host half of what
//! `drivers/hv/connection.c`, `channel_mgmt.c` and `channel.c` expect, message by message
//! (each handler cites the C behaviour it answers), and checks everything the guest sends:
//! sizes, connection ids, states and sequences. Each violation is recorded as a
//! [`ProtocolError`]; the CLI prints them and the test harness fails a run that has any.
//!
//! Faults for tests (version refusal, stop answering, held or failed opens, delayed or dropped
//! messages, completions faults, malformed messages and packets, full rings, rescinds at any
//! point) are driven by the control commands in [`crate::ctl`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use hv_proto::gpadl::GpadlAssembler;
use hv_proto::guid::Guid;
use hv_proto::ring::{IncomingRing, OutgoingRing, RingError, RingMem, MIN_DATA_SIZE};
use hv_proto::synic::{
    VMBUS_MESSAGE_CONNECTION_ID, VMBUS_MESSAGE_CONNECTION_ID_4,
    VMBUS_MESSAGE_CONNECTION_ID_REDIRECT, VMBUS_MESSAGE_SINT,
};
use hv_proto::vmbus::{
    ChannelOffer, ConnectionState, FeatureFlags, GpadlBody, GpadlCreated, GpadlHeader,
    GpadlTorndown, InitiateContact, Message, MessageHeader, MessageType, ModifyChannelResponse,
    OfferChannel, OfferFlags, OpenChannel, OpenResult, RescindOffer, TlConnectResult, Version,
    VersionResponse, VersionResponse2, MAX_CHANNEL_RELIDS, MAX_SIZE_CHANNEL_MESSAGE,
    MAX_USER_DEFINED_BYTES, VERSIONS,
};
use zerocopy::{FromBytes, IntoBytes};

use crate::device::{ChannelIo, CmdResult, DevCtx, DevRequest, Device, Packet, Reply};
use crate::devices::DeviceSpec;
use crate::mem::{GpaRingMem, GuestMemory, PAGE_SIZE};
use crate::transport::{PostOutcome, Transport};

/// NTSTATUS `STATUS_UNSUCCESSFUL`, the failure status the engine answers with.
pub const STATUS_UNSUCCESSFUL: u32 = 0xC000_0001;
/// NTSTATUS `STATUS_INVALID_PARAMETER`.
pub const STATUS_INVALID_PARAMETER: u32 = 0xC000_000D;

/// Messages posted to QEMU and not yet reported delivered, at most (QEMU queues 64 per SINT).
const MAX_IN_FLIGHT: usize = 32;
/// Event log lines kept for the `log` command.
const LOG_KEEP: usize = 20_000;

/// Engine configuration.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Highest VMBus version accepted; newer ones are refused so the guest falls back.
    pub max_version: Version,
    /// Lowest VMBus version accepted.
    pub min_version: Version,
    /// Connection id returned in VERSION_RESPONSE from 5.0 on, for every later guest message.
    pub msg_conn_id: u32,
    /// A channel's signal connection id is this plus its relid.
    pub conn_id_base: u32,
    /// The device set offered at REQUESTOFFERS.
    pub devices: Vec<DeviceSpec>,
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig {
            max_version: Version::WIN10_V6_0,
            min_version: Version::WIN8,
            msg_conn_id: VMBUS_MESSAGE_CONNECTION_ID_4,
            conn_id_base: 0x1000,
            devices: Vec::new(),
        }
    }
}

/// A protocol violation by the guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolError {
    /// Sequence number (from 1).
    pub seq: u64,
    /// Engine time in ms.
    pub time_ms: u64,
    /// The channel concerned, if any.
    pub relid: Option<u32>,
    /// What was wrong.
    pub text: String,
}

/// The state of the VMBus connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnState {
    /// No connection; `after_unload` once the guest unloaded one.
    Disconnected {
        /// The guest sent UNLOAD (late messages about old channels are then tolerated).
        after_unload: bool,
    },
    /// Connected.
    Connected(ConnInfo),
}

/// What INITIATE_CONTACT established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnInfo {
    /// Negotiated version.
    pub version: Version,
    /// VP that receives channel messages (`target_vcpu`).
    pub vp: u32,
    /// SINT of channel messages and channel events (`msg_sint` from 5.0, else 2).
    pub sint: u8,
    /// Connection id the guest posts to from now on.
    pub msg_conn_id: u32,
    /// Parent-to-child monitor page.
    pub monitor_page1: u64,
    /// Child-to-parent monitor page.
    pub monitor_page2: u64,
    /// Interrupt page (before 5.0).
    pub interrupt_page: u64,
    /// REQUESTOFFERS received.
    pub offers_requested: bool,
}

/// The state of a channel, host view.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ChanState {
    /// Offered, not open.
    Offered,
    /// OPENCHANNEL received and not answered (held by a fault).
    Opening,
    /// Open.
    Open,
}

/// Faults of the control plane.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Ignore every guest message and signal.
    pub stop_answering: bool,
    /// Versions refused although otherwise acceptable.
    pub refuse_versions: BTreeSet<u32>,
    /// Hold messages of a type this many ms.
    pub delay_msg: BTreeMap<u32, u64>,
    /// Drop this many messages of a type (`u32::MAX`: all).
    pub drop_msg: BTreeMap<u32, u32>,
    /// Device names whose OPENCHANNEL is not answered (mid-open state).
    pub hold_open: BTreeSet<String>,
    /// Device names whose OPENCHANNEL is answered with this status.
    pub open_status: BTreeMap<String, u32>,
    /// Device names whose GPADLs are answered with this creation status.
    pub gpadl_status: BTreeMap<String, u32>,
    /// Do not answer MODIFYCHANNEL even on 5.3+.
    pub no_modify_response: bool,
    /// Device names whose device starts (writes to its ring and signals) right after
    /// OPENCHANNEL_RESULT is posted, before the guest has it (PROTOCOL-FACTS 4 #4).
    pub early_start: BTreeSet<String>,
}

struct Slot {
    spec: DeviceSpec,
    enabled: bool,
}

struct Channel {
    relid: u32,
    slot: usize,
    sub_index: u16,
    conn_id: u32,
    monitor_id: Option<u8>,
    state: ChanState,
    rescinded: bool,
    target_vp: u32,
    ring_gpadl: Option<u32>,
    io: Option<ChannelIo>,
    device: Box<dyn Device>,
    held_open: Option<OpenChannel>,
    started: bool,
    /// Response faults applied each time the guest opens the channel (`fault completions`
    /// given while it was closed).
    preset_faults: Option<crate::device::ResponseFaults>,
    /// Stop reading the guest's ring this long after the next open (`fault pause-read`
    /// given while it was closed).
    preset_pause_ms: u64,
}

pub(crate) struct GpadlRec {
    pub(crate) relid: u32,
    pub(crate) pages: Vec<u64>,
    pub(crate) byte_count: u32,
    in_use: bool,
    teardown_pending: bool,
}

struct Assembly {
    header: GpadlHeader,
    tails: Vec<Vec<u8>>,
    have: usize,
    total: usize,
}

struct OutMsg {
    bytes: Vec<u8>,
    start_relid: Option<u32>,
}

enum WaitCond {
    Device,
    Connected,
    Open(String),
    Released(String),
}

struct Waiter {
    deadline_ms: u64,
    cond: WaitCond,
}

/// The result of [`Engine::command`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CmdOutcome {
    /// The answer.
    Done(Reply),
    /// The answer comes from [`Engine::take_finished`] with this token.
    Pending(u64),
}

/// Engine-wide counters.
#[derive(Clone, Debug, Default)]
pub struct EngineStats {
    /// Channel messages received.
    pub messages_in: u64,
    /// Channel messages posted.
    pub messages_out: u64,
    /// Messages the guest sent while the engine stopped answering.
    pub ignored: u64,
    /// Guest signals on unknown or closed channels.
    pub stray_signals: u64,
    /// Posts QEMU could not deliver.
    pub undelivered: u64,
}

/// The VMBus host engine.
pub struct Engine {
    cfg: EngineConfig,
    transport: Option<Box<dyn Transport>>,
    mem: Option<Arc<dyn GuestMemory>>,
    now_ms: u64,
    /// `now_ms` when QEMU connected: the VM's clocks start about then.
    attached_ms: u64,
    conn: ConnState,
    target: (u32, u8),
    slots: Vec<Slot>,
    channels: BTreeMap<u32, Channel>,
    gpadls: BTreeMap<u32, GpadlRec>,
    assembling: BTreeMap<u32, Assembly>,
    old_relids: BTreeSet<u32>,
    errors: Vec<ProtocolError>,
    error_seq: u64,
    log: VecDeque<String>,
    new_log: Vec<String>,
    /// Control-plane faults.
    pub faults: Faults,
    outq: VecDeque<OutMsg>,
    delayed: Vec<(u64, OutMsg)>,
    in_flight: BTreeMap<u64, OutMsg>,
    next_cookie: u64,
    to_start: Vec<u32>,
    waiters: BTreeMap<u64, Waiter>,
    finished: Vec<(u64, Reply)>,
    next_token: u64,
    /// Counters.
    pub stats: EngineStats,
    /// The transport failed; the daemon should drop the connection.
    pub link_failed: Option<String>,
}

fn msg_name(t: MessageType) -> String {
    match t.name() {
        Some(n) => n.to_string(),
        None => format!("type {}", t.0),
    }
}

/// Parses a message type name (`OPENCHANNEL_RESULT`, `openchannel_result`) or number.
pub fn parse_msg_type(s: &str) -> Option<MessageType> {
    if let Ok(n) = s.parse::<u32>() {
        return Some(MessageType(n));
    }
    let up = s.to_ascii_uppercase().replace('-', "_");
    (0..=29u32)
        .map(MessageType)
        .find(|t| t.name() == Some(up.as_str()))
}

/// Parses `MAJOR.MINOR` into a VMBus version.
pub fn parse_version(s: &str) -> Option<Version> {
    let (a, b) = s.split_once('.')?;
    Some(Version(hv_proto::vmbus::make_version(
        a.parse().ok()?,
        b.parse().ok()?,
    )))
}

impl Engine {
    /// Returns an engine with no transport yet.
    pub fn new(cfg: EngineConfig) -> Engine {
        let slots = cfg
            .devices
            .iter()
            .map(|spec| Slot {
                spec: spec.clone(),
                enabled: true,
            })
            .collect();
        Engine {
            cfg,
            transport: None,
            mem: None,
            now_ms: 0,
            attached_ms: 0,
            conn: ConnState::Disconnected {
                after_unload: false,
            },
            target: (0, VMBUS_MESSAGE_SINT),
            slots,
            channels: BTreeMap::new(),
            gpadls: BTreeMap::new(),
            assembling: BTreeMap::new(),
            old_relids: BTreeSet::new(),
            errors: Vec::new(),
            error_seq: 0,
            log: VecDeque::new(),
            new_log: Vec::new(),
            faults: Faults::default(),
            outq: VecDeque::new(),
            delayed: Vec::new(),
            in_flight: BTreeMap::new(),
            next_cookie: 1,
            to_start: Vec::new(),
            waiters: BTreeMap::new(),
            finished: Vec::new(),
            next_token: 1,
            stats: EngineStats::default(),
            link_failed: None,
        }
    }

    /// Attaches a transport (a new QEMU connection); the VMBus state starts afresh.
    pub fn attach(&mut self, transport: Box<dyn Transport>) {
        self.mem = transport.memory();
        self.transport = Some(transport);
        self.link_failed = None;
        self.attached_ms = self.now_ms;
        self.reset_all("new transport");
    }

    /// Detaches the transport (QEMU went away).
    pub fn detach(&mut self) {
        self.reset_all("transport detached");
        self.transport = None;
        self.mem = None;
    }

    /// Refreshes the guest memory from the transport (QEMU sent its memory table).
    pub fn memory_changed(&mut self) {
        self.mem = self.transport.as_ref().and_then(|t| t.memory());
    }

    /// Returns the configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    /// Sets the highest accepted version.
    pub fn set_max_version(&mut self, v: Version) {
        self.cfg.max_version = v;
    }

    /// Returns the connection state.
    pub fn conn_state(&self) -> &ConnState {
        &self.conn
    }

    /// Returns the negotiated version, if connected.
    pub fn version(&self) -> Option<Version> {
        match &self.conn {
            ConnState::Connected(c) => Some(c.version),
            ConnState::Disconnected { .. } => None,
        }
    }

    /// Returns the protocol errors recorded so far.
    pub fn errors(&self) -> &[ProtocolError] {
        &self.errors
    }

    /// Forgets the recorded protocol errors.
    pub fn clear_errors(&mut self) {
        self.errors.clear();
    }

    /// Returns the event log lines added since the last call.
    pub fn take_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.new_log)
    }

    /// Returns the answers of pending commands that are ready.
    pub fn take_finished(&mut self) -> Vec<(u64, Reply)> {
        let mut out = Vec::new();
        for (token, reply) in std::mem::take(&mut self.finished) {
            if self.waiters.remove(&token).is_some() {
                out.push((token, reply));
            }
        }
        out
    }

    /// Returns the relids of the current channels.
    pub fn relids(&self) -> Vec<u32> {
        self.channels.keys().copied().collect()
    }

    /// Returns the state of channel `relid` and whether it was rescinded.
    pub fn channel_state(&self, relid: u32) -> Option<(ChanState, bool)> {
        self.channels.get(&relid).map(|c| (c.state, c.rescinded))
    }

    /// Returns the relid of the live channel of device `name` (primary channel).
    pub fn relid_of(&self, name: &str) -> Option<u32> {
        self.channels
            .values()
            .filter(|c| self.slots[c.slot].spec.name == name && c.sub_index == 0)
            .min_by_key(|c| c.rescinded)
            .map(|c| c.relid)
    }

    /// Returns the ring counters of channel `relid`, if open.
    pub fn channel_stats(&self, relid: u32) -> Option<crate::device::ChannelStats> {
        self.channels
            .get(&relid)?
            .io
            .as_ref()
            .map(|io| io.stats.clone())
    }

    /// Returns the number of GPADLs the guest has established.
    pub fn gpadl_count(&self) -> usize {
        self.gpadls.len()
    }

    /// Returns the engine's clock in ms.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    fn log(&mut self, s: String) {
        let line = format!("[{:>9.3}] {s}", self.now_ms as f64 / 1000.0);
        if self.log.len() >= LOG_KEEP {
            self.log.pop_front();
        }
        self.log.push_back(line.clone());
        self.new_log.push(line);
    }

    /// Returns the last `n` event log lines.
    pub fn log_tail(&self, n: usize) -> Vec<String> {
        let skip = self.log.len().saturating_sub(n);
        self.log.iter().skip(skip).cloned().collect()
    }

    /// Records a protocol violation.
    pub fn protocol_error(&mut self, relid: Option<u32>, text: String) {
        self.error_seq += 1;
        self.log(format!("PROTOCOL ERROR: {text}"));
        self.errors.push(ProtocolError {
            seq: self.error_seq,
            time_ms: self.now_ms,
            relid,
            text,
        });
    }

    fn sint(&self) -> u8 {
        match &self.conn {
            ConnState::Connected(c) => c.sint,
            ConnState::Disconnected { .. } => self.target.1,
        }
    }

    fn vp_count(&self) -> Option<u32> {
        self.transport.as_ref().and_then(|t| t.vp_count())
    }

    // ---------------------------------------------------------------------------------------
    // Posting messages.

    /// Posts a channel message to the guest, subject to the delay and drop faults.
    fn post(&mut self, bytes: Vec<u8>, start_relid: Option<u32>) {
        let mt = MessageType(
            bytes
                .get(..4)
                .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
        if let Some(n) = self.faults.drop_msg.get_mut(&mt.0) {
            if *n > 0 {
                if *n != u32::MAX {
                    *n -= 1;
                }
                self.log(format!("fault: dropped {}", msg_name(mt)));
                return;
            }
        }
        let m = OutMsg { bytes, start_relid };
        if let Some(ms) = self.faults.delay_msg.get(&mt.0).copied() {
            self.log(format!("fault: holding {} for {ms} ms", msg_name(mt)));
            self.delayed.push((self.now_ms + ms, m));
            return;
        }
        self.log(format!("-> {}", msg_name(mt)));
        self.outq.push_back(m);
        self.pump();
    }

    /// Posts a message struct.
    fn post_struct<T: IntoBytes + zerocopy::Immutable>(&mut self, msg: &T) {
        self.post(msg.as_bytes().to_vec(), None);
    }

    /// Posts raw bytes, bypassing the faults (for injected messages).
    pub fn post_raw(&mut self, bytes: Vec<u8>) {
        self.outq.push_back(OutMsg {
            bytes,
            start_relid: None,
        });
        self.pump();
    }

    fn pump(&mut self) {
        let (vp, sint) = match &self.conn {
            ConnState::Connected(c) => (c.vp, c.sint),
            ConnState::Disconnected { .. } => self.target,
        };
        while self.in_flight.len() < MAX_IN_FLIGHT {
            let Some(m) = self.outq.pop_front() else {
                break;
            };
            let Some(t) = self.transport.as_mut() else {
                break;
            };
            let cookie = self.next_cookie;
            self.next_cookie += 1;
            self.stats.messages_out += 1;
            match t.post_message(cookie, vp, sint, &m.bytes) {
                Ok(PostOutcome::Delivered) => self.delivered(m),
                Ok(PostOutcome::Pending) => {
                    self.in_flight.insert(cookie, m);
                }
                Err(e) => {
                    self.link_failed = Some(format!("post failed: {e}"));
                    break;
                }
            }
        }
    }

    fn delivered(&mut self, m: OutMsg) {
        if let Some(relid) = m.start_relid {
            self.to_start.push(relid);
        }
    }

    /// QEMU reported the outcome of a post.
    pub fn post_done(&mut self, cookie: u64, delivered: bool, status: &str) {
        if let Some(m) = self.in_flight.remove(&cookie) {
            if delivered {
                self.delivered(m);
            } else {
                self.stats.undelivered += 1;
                self.log(format!("post {cookie} not delivered: {status}"));
            }
        }
        self.pump();
        self.after_event();
    }

    fn signal_guest(&mut self, vp: u32, relid: u32) {
        let sint = self.sint();
        if let Some(t) = self.transport.as_mut() {
            if let Err(e) = t.signal_guest(vp, sint, relid) {
                self.link_failed = Some(format!("signal failed: {e}"));
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Device calls and ring I/O.

    fn version_u32(&self) -> u32 {
        self.version().map_or(0, |v| v.0)
    }

    /// Calls a device callback with a context, then records its errors and flushes its ring.
    fn dev_call<R>(
        &mut self,
        relid: u32,
        f: impl FnOnce(&mut dyn Device, &mut DevCtx<'_>) -> R,
    ) -> Option<R> {
        let vmbus_version = self.version_u32();
        let now_ms = self.now_ms;
        let mut errors = Vec::new();
        let mut log = Vec::new();
        let mut requests = Vec::new();
        let mem = self.mem.clone();
        let ch = self.channels.get_mut(&relid)?;
        let live = !ch.rescinded;
        let slot = ch.slot;
        let mut ctx = DevCtx {
            relid,
            sub_index: ch.sub_index,
            vmbus_version,
            now_ms,
            vm_ms: self.now_ms.saturating_sub(self.attached_ms),
            io: if live { ch.io.as_mut() } else { None },
            log: &mut log,
            errors: &mut errors,
            finished: &mut self.finished,
            mem,
            requests: &mut requests,
            gpadls: Some(&self.gpadls),
        };
        let r = f(ch.device.as_mut(), &mut ctx);
        for l in log {
            self.log(l);
        }
        for e in errors {
            self.protocol_error(Some(relid), e);
        }
        self.flush_channel(relid);
        self.device_requests(slot, requests);
        Some(r)
    }

    /// Carries out what a device of slot `slot` asked for in a callback.
    fn device_requests(&mut self, slot: usize, requests: Vec<DevRequest>) {
        for r in requests {
            match r {
                DevRequest::OfferSubchannel(index) => {
                    if index == 0
                        || !self.slots[slot].enabled
                        || self
                            .channels
                            .values()
                            .any(|c| c.slot == slot && c.sub_index == index && !c.rescinded)
                    {
                        continue;
                    }
                    if let Err(e) = self.offer_slot(slot, index) {
                        let name = self.slots[slot].spec.name.clone();
                        self.log(format!("cannot offer {name} subchannel {index}: {e}"));
                    }
                }
                DevRequest::RescindSubchannels => self.rescind_subchannels(slot),
                DevRequest::RescindDevice => {
                    let primary = self
                        .channels
                        .values()
                        .find(|c| c.slot == slot && c.sub_index == 0 && !c.rescinded)
                        .map(|c| c.relid);
                    if let Some(p) = primary {
                        let _ = self.rescind(p);
                    }
                }
            }
        }
    }

    /// Rescinds the live subchannels of device slot `slot`.
    fn rescind_subchannels(&mut self, slot: usize) {
        let subs: Vec<u32> = self
            .channels
            .values()
            .filter(|c| c.slot == slot && c.sub_index > 0 && !c.rescinded)
            .map(|c| c.relid)
            .collect();
        for r in subs {
            let _ = self.rescind(r);
        }
    }

    /// Moves queued packets into the host-to-guest ring and signals the guest if needed.
    fn flush_channel(&mut self, relid: u32) {
        let Some(ch) = self.channels.get_mut(&relid) else {
            return;
        };
        let vp = ch.target_vp;
        let Some(io) = ch.io.as_mut() else {
            return;
        };
        if io.broken || ch.rescinded {
            return;
        }
        let res = io.flush();
        let signal = std::mem::take(&mut io.signal_pending);
        if signal {
            io.stats.host_signals += 1;
        }
        if let Err(e) = res {
            io.broken = true;
            self.protocol_error(
                Some(relid),
                format!("relid {relid}: guest corrupted the host-to-guest ring: {e}"),
            );
        }
        if signal {
            self.signal_guest(vp, relid);
        }
    }

    /// Reads the guest's packets without a guest signal (a tick, a resumed pause, a device
    /// start): if that begins a busy period, the guest's signal for it may still be on its way
    /// and then finds nothing, which is not its fault.
    fn drain_unsignalled(&mut self, relid: u32) {
        self.drain_channel(relid);
        if let Some(io) = self.channels.get_mut(&relid).and_then(|c| c.io.as_mut()) {
            if io.woke {
                io.race_credit += 1;
                io.stats.race_windows += 1;
            }
        }
    }

    /// Reads and handles the guest's packets (the C driver's batched read, with the interrupt
    /// mask set while draining: `hv_begin_read()`/`hv_end_read()`). Returns the packet count.
    fn drain_channel(&mut self, relid: u32) -> usize {
        let mut count = 0;
        let mut first = true;
        let now_ms = self.now_ms;
        loop {
            let Some(ch) = self.channels.get_mut(&relid) else {
                return count;
            };
            if ch.rescinded {
                return count;
            }
            let vp = ch.target_vp;
            let Some(io) = ch.io.as_mut() else {
                return count;
            };
            if io.broken || io.paused_until > now_ms {
                // `fault pause-read`: the guest's packets wait (its writer may block).
                return count;
            }
            if first {
                io.inc.begin_read();
                io.woke = false;
                first = false;
            }
            let mut pkts = Vec::new();
            let mut err = None;
            while io.backlog.len() + pkts.len() < io.backlog_limit {
                match io.inc.peek() {
                    Ok(info) => {
                        let mut header = vec![0u8; info.header_len() as usize];
                        let mut payload = vec![0u8; info.payload_len() as usize];
                        if io.inc.read_header(&info, &mut header).is_err()
                            || io.inc.read_payload(&info, &mut payload).is_err()
                            || io.inc.advance(&info).is_err()
                        {
                            break;
                        }
                        io.stats.packets_in += 1;
                        pkts.push(Packet {
                            info,
                            header,
                            payload,
                        });
                    }
                    Err(RingError::Empty) => break,
                    Err(e) => {
                        err = Some(e);
                        break;
                    }
                }
            }
            if !pkts.is_empty() && io.idle {
                io.idle = false;
                io.woke = true;
            }
            let signal = io.inc.commit_read();
            let limited = io.backlog.len() + pkts.len() >= io.backlog_limit;
            if signal {
                io.stats.host_signals += 1;
                // The guest set `pending_send_sz` and now has that much room.
                io.stats.room_signals += 1;
            }
            if let Some(e) = err {
                io.broken = true;
                let _ = io.inc.end_read();
                self.protocol_error(
                    Some(relid),
                    format!("relid {relid}: guest-to-host ring corrupt: {e}"),
                );
            }
            if signal {
                self.signal_guest(vp, relid);
            }
            for p in pkts {
                count += 1;
                self.dev_call(relid, |d, ctx| d.packet(ctx, &p));
            }
            let Some(io) = self
                .channels
                .get_mut(&relid)
                .and_then(|c| c.io.as_mut())
                .filter(|io| !io.broken)
            else {
                return count;
            };
            if limited && io.backlog.len() >= io.backlog_limit {
                // Resume when the guest makes room in the host-to-guest ring.
                if io.inc.end_read() == Ok(0) && count > 0 {
                    io.stats.idle_ends += 1;
                    io.idle = true;
                }
                return count;
            }
            match io.inc.end_read() {
                Ok(0) => {
                    // A pass that read nothing ends no busy period: the ring was already
                    // empty and unmasked before it.
                    if count > 0 {
                        io.stats.idle_ends += 1;
                    }
                    io.idle = true;
                    return count;
                }
                Ok(_) => {
                    if !limited {
                        // Packets that arrived after the host published an empty ring with the
                        // mask clear: the guest may or may not have signalled for them.
                        io.race_credit += 1;
                        io.stats.race_windows += 1;
                    }
                    io.inc.begin_read();
                }
                Err(e) => {
                    io.broken = true;
                    self.protocol_error(
                        Some(relid),
                        format!("relid {relid}: guest-to-host ring corrupt: {e}"),
                    );
                    return count;
                }
            }
        }
    }

    /// The guest signalled connection id `conn_id` (`vmbus_set_event()`: HvSignalEvent on the
    /// offer's `connection_id`).
    pub fn guest_event(&mut self, conn_id: u32) {
        if self.faults.stop_answering {
            self.stats.ignored += 1;
            return;
        }
        let Some(relid) = self
            .channels
            .values()
            .find(|c| c.conn_id == conn_id)
            .map(|c| c.relid)
        else {
            self.stats.stray_signals += 1;
            return;
        };
        self.channel_signalled(relid);
        self.after_event();
    }

    fn channel_signalled(&mut self, relid: u32) {
        let Some(io) = self.channels.get_mut(&relid).and_then(|c| c.io.as_mut()) else {
            self.stats.stray_signals += 1;
            return;
        };
        io.stats.guest_signals += 1;
        let waited = io.waiting_for_room;
        self.flush_channel(relid);
        let n = self.drain_channel(relid);
        let Some(io) = self.channels.get_mut(&relid).and_then(|c| c.io.as_mut()) else {
            return;
        };
        let pending_input = io.inc.bytes_available().unwrap_or(0) > 0;
        if waited && io.woke {
            // The guest may have sent two signals, one for the room and one for its packet
            // into the idle ring: this one read served both.
            io.race_credit += 1;
            io.stats.race_windows += 1;
        }
        if n > 0 || waited || pending_input {
            io.stats.justified_signals += 1;
        } else if io.race_credit > 0 {
            io.race_credit -= 1;
            io.stats.justified_signals += 1;
        } else {
            io.stats.unneeded_signals += 1;
        }
    }

    // ---------------------------------------------------------------------------------------
    // Guest messages.

    /// Handles a channel message the guest posted (HvPostMessage) on `conn_id` from VP `vp`.
    pub fn guest_message(&mut self, conn_id: u32, vp: u32, bytes: &[u8]) {
        self.stats.messages_in += 1;
        if self.faults.stop_answering {
            self.stats.ignored += 1;
            self.log(format!(
                "fault: ignoring a guest message of {} bytes",
                bytes.len()
            ));
            return;
        }
        let msg = match Message::parse(bytes) {
            Ok(m) => m,
            Err(e) => {
                self.protocol_error(None, format!("malformed guest message: {e}"));
                return;
            }
        };
        let mt = msg.message_type();
        self.log(format!(
            "<- {} ({} bytes, vp {vp})",
            msg_name(mt),
            bytes.len()
        ));
        self.check_size(&msg, bytes.len());
        self.check_conn_id(&msg, conn_id);
        match msg {
            Message::InitiateContact(m) => self.on_initiate_contact(conn_id, m),
            Message::InitiateContact2(m) => {
                self.protocol_error(
                    None,
                    "INITIATE_CONTACT with a client id (Copper extension) from a guest that \
                     was offered no such feature"
                        .into(),
                );
                self.on_initiate_contact(conn_id, m.initiate_contact)
            }
            Message::RequestOffers => self.on_request_offers(),
            Message::GpadlHeader(h, tail) => self.on_gpadl_header(h, tail),
            Message::GpadlBody(b, tail) => self.on_gpadl_body(b, tail),
            Message::GpadlTeardown(t) => self.on_gpadl_teardown(t.child_relid, t.gpadl),
            Message::OpenChannel(o) => self.on_open(o),
            Message::OpenChannel2(o) => {
                self.protocol_error(
                    Some(o.open_channel.child_relid),
                    "OPENCHANNEL with guest-specified signal parameters, a feature the host \
                     did not offer"
                        .into(),
                );
                self.on_open(o.open_channel)
            }
            Message::CloseChannel(c) => self.on_close(c.child_relid),
            Message::RelidReleased(r) => self.on_relid_released(r.child_relid),
            Message::ModifyChannel(m) => self.on_modify(m.child_relid, m.target_vp),
            Message::Unload => self.on_unload(),
            Message::TlConnectRequest(r) => {
                self.on_tl_connect(r.guest_endpoint_id, r.host_service_id)
            }
            Message::TlConnectRequest2(r) => {
                self.on_tl_connect(r.request.guest_endpoint_id, r.request.host_service_id)
            }
            other => self.protocol_error(
                None,
                format!(
                    "guest sent {}, a host-to-guest or unsupported message",
                    msg_name(other.message_type())
                ),
            ),
        }
        self.after_event();
    }

    /// Checks the exact sizes Linux posts (`vmbus_post_msg(msg, sizeof(*msg))` everywhere; GPADL
    /// messages are header plus whole PFN entries, `create_gpadl_header()`).
    fn check_size(&mut self, msg: &Message<'_>, len: usize) {
        let expected = match msg {
            Message::RequestOffers | Message::Unload => Some(8),
            Message::OpenChannel(_) => Some(148),
            Message::CloseChannel(_) | Message::RelidReleased(_) => Some(12),
            Message::GpadlTeardown(_) | Message::ModifyChannel(_) => Some(16),
            Message::InitiateContact(_) => Some(40),
            Message::GpadlHeader(_, tail) | Message::GpadlBody(_, tail) => {
                if tail.len() % 8 != 0 {
                    self.protocol_error(
                        None,
                        format!(
                            "{} of {len} bytes is not whole 8-byte entries",
                            msg_name(msg.message_type())
                        ),
                    );
                }
                None
            }
            _ => None,
        };
        if let Some(e) = expected {
            if len != e {
                self.protocol_error(
                    None,
                    format!(
                        "{} of {len} bytes, expected {e}",
                        msg_name(msg.message_type())
                    ),
                );
            }
        }
    }

    /// Checks the connection id: INITIATE_CONTACT goes to 1 before 5.0 and to 4 (or the VTL2
    /// redirect id) from 5.0 (`vmbus_negotiate_version()`, `vmbus_try_connection_id()`);
    /// later messages go to the `msg_conn_id` of VERSION_RESPONSE from 5.0, else to 1.
    fn check_conn_id(&mut self, msg: &Message<'_>, conn_id: u32) {
        let expected = match (msg, &self.conn) {
            (Message::InitiateContact(m), _) => {
                if { m.vmbus_version_requested } >= Version::WIN10_V5 {
                    if conn_id == VMBUS_MESSAGE_CONNECTION_ID_REDIRECT {
                        return;
                    }
                    VMBUS_MESSAGE_CONNECTION_ID_4
                } else {
                    VMBUS_MESSAGE_CONNECTION_ID
                }
            }
            (_, ConnState::Connected(c)) => c.msg_conn_id,
            _ => return,
        };
        if conn_id != expected {
            self.protocol_error(
                None,
                format!(
                    "{} posted on connection id {conn_id}, expected {expected}",
                    msg_name(msg.message_type())
                ),
            );
        }
    }

    fn connected(&mut self, what: MessageType) -> Option<ConnInfo> {
        match &self.conn {
            ConnState::Connected(c) => Some(c.clone()),
            ConnState::Disconnected { .. } => {
                self.protocol_error(
                    None,
                    format!("{} before INITIATE_CONTACT succeeded", msg_name(what)),
                );
                None
            }
        }
    }

    /// INITIATE_CONTACT (`vmbus_try_connection_id()`): accept the version if it is one Linux
    /// may ask for, within the configured bounds and not refused by a fault; answer
    /// VERSION_RESPONSE, with `msg_conn_id` from 5.0 and the 6.0 feature word from 6.0.
    fn on_initiate_contact(&mut self, conn_id: u32, m: InitiateContact) {
        let version = m.vmbus_version_requested;
        if matches!(self.conn, ConnState::Connected(_)) {
            self.protocol_error(
                None,
                "INITIATE_CONTACT while connected (Linux sends UNLOAD first)".into(),
            );
            self.reset_all("INITIATE_CONTACT while connected");
        }
        let v5 = version >= Version::WIN10_V5;
        let sint = if v5 { m.msg_sint } else { VMBUS_MESSAGE_SINT };
        if usize::from(sint) >= hv_proto::synic::HV_SYNIC_SINT_COUNT {
            self.protocol_error(
                None,
                format!("INITIATE_CONTACT msg_sint {sint} out of range"),
            );
        }
        let sint = sint.min(15);
        let target_vcpu = m.target_vcpu;
        if let Some(n) = self.vp_count() {
            if target_vcpu >= n {
                self.protocol_error(
                    None,
                    format!("INITIATE_CONTACT target_vcpu {target_vcpu} >= {n} VPs"),
                );
            }
        }
        let (page1, page2) = (m.monitor_page1, m.monitor_page2);
        let interrupt_page = if v5 { 0 } else { m.interrupt_page() };
        let mut pages = vec![("monitor_page1", page1), ("monitor_page2", page2)];
        if !v5 {
            pages.push(("interrupt_page", interrupt_page));
        }
        for (what, gpa) in pages {
            let ok = gpa != 0
                && gpa % PAGE_SIZE == 0
                && self.mem.as_ref().is_none_or(|m| m.contains(gpa, PAGE_SIZE));
            if !ok {
                self.protocol_error(
                    None,
                    format!("INITIATE_CONTACT {what} {gpa:#x} is not a page of guest RAM"),
                );
            }
        }
        self.target = (target_vcpu, sint);
        let known = VERSIONS.contains(&version);
        let accept = known
            && version <= self.cfg.max_version
            && version >= self.cfg.min_version
            && !self.faults.refuse_versions.contains(&version.0);
        if !known {
            self.protocol_error(
                None,
                format!("INITIATE_CONTACT for version {version}, which Linux never requests"),
            );
        }
        self.log(format!(
            "INITIATE_CONTACT {version} on connection id {conn_id}: {}",
            if accept { "accepted" } else { "refused" }
        ));
        let msg_conn_id = if accept && v5 {
            self.cfg.msg_conn_id
        } else {
            0
        };
        let resp = VersionResponse {
            header: MessageHeader::new(MessageType::VERSION_RESPONSE),
            version_supported: u8::from(accept),
            connection_state: ConnectionState::SUCCESSFUL,
            padding: 0,
            msg_conn_id,
        };
        if accept && version >= Version::WIN10_V6_0 {
            self.post_struct(&VersionResponse2 {
                version_response: resp,
                supported_features: FeatureFlags(0),
            });
        } else {
            self.post_struct(&resp);
        }
        if accept {
            self.conn = ConnState::Connected(ConnInfo {
                version,
                vp: target_vcpu,
                sint,
                msg_conn_id: if v5 {
                    self.cfg.msg_conn_id
                } else {
                    VMBUS_MESSAGE_CONNECTION_ID
                },
                monitor_page1: page1,
                monitor_page2: page2,
                interrupt_page,
                offers_requested: false,
            });
            self.old_relids.clear();
        }
    }

    /// REQUESTOFFERS (`vmbus_request_offers()`): offer every enabled device, then
    /// ALLOFFERS_DELIVERED (the guest waits up to 60 s for it, `vmbus_bus_init()`).
    fn on_request_offers(&mut self) {
        let Some(c) = self.connected(MessageType::REQUESTOFFERS) else {
            return;
        };
        if c.offers_requested {
            self.protocol_error(None, "second REQUESTOFFERS on one connection".into());
            return;
        }
        if let ConnState::Connected(c) = &mut self.conn {
            c.offers_requested = true;
        }
        for i in 0..self.slots.len() {
            if self.slots[i].enabled && !self.channels.values().any(|c| c.slot == i) {
                if let Err(e) = self.offer_slot(i, 0) {
                    self.log(format!("cannot offer {}: {e}", self.slots[i].spec.name));
                }
            }
        }
        self.post_struct(&MessageHeader::new(MessageType::ALLOFFERS_DELIVERED));
    }

    fn free_relid(&self) -> Option<u32> {
        (1..MAX_CHANNEL_RELIDS).find(|r| !self.channels.contains_key(r))
    }

    fn free_monitor_id(&self) -> Option<u8> {
        (0..128u8).find(|id| !self.channels.values().any(|c| c.monitor_id == Some(*id)))
    }

    /// Offers device slot `slot` (sub-channel `sub_index`) with a new relid.
    fn offer_slot(&mut self, slot: usize, sub_index: u16) -> Result<u32, String> {
        let ConnState::Connected(c) = &self.conn else {
            return Err("not connected".into());
        };
        if !c.offers_requested {
            return Err("the guest has not asked for offers yet".into());
        }
        let have_monitor = c.monitor_page1 != 0 && c.monitor_page2 != 0;
        let page2 = c.monitor_page2;
        let spec = self.slots[slot].spec.clone();
        let relid = self.free_relid().ok_or("no free relid")?;
        let conn_id = self.cfg.conn_id_base + relid;
        // Monitored notification only when asked for and the guest gave monitor pages.
        let monitor_id = if spec.mnf && have_monitor {
            self.free_monitor_id()
        } else {
            None
        };
        let offer = OfferChannel {
            header: MessageHeader::new(MessageType::OFFERCHANNEL),
            offer: ChannelOffer {
                if_type: spec.class,
                if_instance: spec.instance,
                reserved1: 0,
                reserved2: 0,
                chn_flags: OfferFlags(spec.flags),
                mmio_megabytes: spec.mmio_mb,
                user_def: [0; MAX_USER_DEFINED_BYTES],
                sub_channel_index: sub_index,
                reserved3: 0,
            },
            child_relid: relid,
            monitorid: monitor_id.unwrap_or(0),
            monitor_allocated: u8::from(monitor_id.is_some()),
            is_dedicated_interrupt: u16::from(spec.dedicated),
            connection_id: conn_id,
        };
        if let (Some(id), Some(mem)) = (monitor_id, self.mem.as_ref()) {
            // The monitor parameter of the child-to-parent page names the connection id.
            let off = 0x440 + (u64::from(id / 32) * 32 + u64::from(id % 32)) * 8;
            let _ = mem.write_u32(page2 + off, conn_id);
        }
        if let Some(t) = self.transport.as_mut() {
            if let Err(e) = t.register_event(conn_id) {
                self.link_failed = Some(format!("register failed: {e}"));
            }
        }
        self.channels.insert(
            relid,
            Channel {
                relid,
                slot,
                sub_index,
                conn_id,
                monitor_id,
                state: ChanState::Offered,
                rescinded: false,
                target_vp: 0,
                ring_gpadl: None,
                io: None,
                device: spec.create(),
                held_open: None,
                started: false,
                preset_faults: None,
                preset_pause_ms: 0,
            },
        );
        self.log(format!(
            "offer {} (kind {}) as relid {relid}{}",
            spec.name,
            spec.kind.name(),
            if sub_index > 0 {
                format!(" subchannel {sub_index}")
            } else {
                String::new()
            }
        ));
        self.post_struct(&offer);
        Ok(relid)
    }

    /// Validates a relid the guest names: it must be a current channel of this connection.
    fn guest_channel(&mut self, relid: u32, what: MessageType) -> Option<()> {
        if self.channels.contains_key(&relid) {
            return Some(());
        }
        self.protocol_error(
            Some(relid),
            format!("{} for unknown relid {relid}", msg_name(what)),
        );
        None
    }

    /// Messages that arrive while disconnected: after UNLOAD, Linux still closes channels and
    /// releases every relid (`vmbus_free_channels()` runs after `vmbus_disconnect()`); those
    /// are tolerated for the relids of the unloaded connection.
    fn tolerated_after_unload(&mut self, relid: u32, what: MessageType) -> bool {
        if matches!(self.conn, ConnState::Disconnected { after_unload: true })
            && self.old_relids.contains(&relid)
        {
            self.log(format!(
                "{} for relid {relid} after UNLOAD ignored",
                msg_name(what)
            ));
            return true;
        }
        false
    }

    /// GPADL_HEADER (`__vmbus_establish_gpadl()`): a new handle of a current channel; the
    /// ranges may continue in GPADL_BODY messages.
    fn on_gpadl_header(&mut self, h: GpadlHeader, tail: &[u8]) {
        let relid = h.child_relid;
        if self.tolerated_after_unload(relid, MessageType::GPADL_HEADER) {
            return;
        }
        if self.connected(MessageType::GPADL_HEADER).is_none() {
            return;
        }
        if self
            .guest_channel(relid, MessageType::GPADL_HEADER)
            .is_none()
        {
            return;
        }
        let handle = h.gpadl;
        if handle == 0 || self.gpadls.contains_key(&handle) || self.assembling.contains_key(&handle)
        {
            self.protocol_error(
                Some(relid),
                format!("GPADL_HEADER with handle {handle:#x} that is 0 or in use"),
            );
            self.gpadl_created(relid, handle, STATUS_INVALID_PARAMETER);
            return;
        }
        let total = usize::from(h.range_buflen) / 8;
        let have = tail.len() / 8;
        if h.rangecount == 0 || usize::from(h.range_buflen) % 8 != 0 || have > total {
            self.protocol_error(
                Some(relid),
                format!(
                    "GPADL_HEADER {handle:#x}: rangecount {} range_buflen {} with {} bytes of ranges",
                    { h.rangecount },
                    { h.range_buflen },
                    tail.len()
                ),
            );
            self.gpadl_created(relid, handle, STATUS_INVALID_PARAMETER);
            return;
        }
        self.assembling.insert(
            handle,
            Assembly {
                header: h,
                tails: vec![tail.to_vec()],
                have,
                total,
            },
        );
        if have == total {
            self.finish_gpadl(handle);
        }
    }

    /// GPADL_BODY: more PFNs of a GPADL being created.
    fn on_gpadl_body(&mut self, b: GpadlBody, tail: &[u8]) {
        let handle = b.gpadl;
        if self.connected(MessageType::GPADL_BODY).is_none() {
            return;
        }
        let Some(a) = self.assembling.get_mut(&handle) else {
            self.protocol_error(
                None,
                format!("GPADL_BODY for handle {handle:#x}, which is not being created"),
            );
            return;
        };
        a.have += tail.len() / 8;
        a.tails.push(tail.to_vec());
        let (have, total, relid) = (a.have, a.total, a.header.child_relid);
        if have > total {
            self.assembling.remove(&handle);
            self.protocol_error(
                Some(relid),
                format!("GPADL {handle:#x}: bodies carry more than range_buflen announced"),
            );
            self.gpadl_created(relid, handle, STATUS_INVALID_PARAMETER);
        } else if have == total {
            self.finish_gpadl(handle);
        }
    }

    /// A GPADL is complete: validate its ranges (the protocol core's assembler) and that every
    /// page is guest RAM, then answer GPADL_CREATED (subject to the `gpadl-fail` fault).
    fn finish_gpadl(&mut self, handle: u32) {
        let Some(a) = self.assembling.remove(&handle) else {
            return;
        };
        let relid = a.header.child_relid;
        let mut buf = vec![0u64; a.total];
        let result = (|| {
            let mut asm = GpadlAssembler::new(&a.header, &a.tails[0], &mut buf)?;
            let body = GpadlBody {
                header: MessageHeader::new(MessageType::GPADL_BODY),
                msgnumber: 0,
                gpadl: handle,
            };
            for t in &a.tails[1..] {
                asm.add_body(&body, t)?;
            }
            let g = asm.finish()?;
            let mut pages = Vec::new();
            let mut byte_count = 0u32;
            for r in g.ranges() {
                byte_count = byte_count.saturating_add(r.byte_count);
                pages.extend(r.pfns.iter().map(|p| p.saturating_mul(PAGE_SIZE)));
            }
            Ok::<_, hv_proto::gpadl::GpadlError>((pages, byte_count, g.range_count))
        })();
        let (pages, byte_count, ranges) = match result {
            Ok(v) => v,
            Err(e) => {
                self.protocol_error(Some(relid), format!("GPADL {handle:#x} malformed: {e}"));
                self.gpadl_created(relid, handle, STATUS_INVALID_PARAMETER);
                return;
            }
        };
        if let Some(mem) = &self.mem {
            if let Some(bad) = pages.iter().find(|p| !mem.contains(**p, PAGE_SIZE)) {
                let bad = *bad;
                self.protocol_error(
                    Some(relid),
                    format!("GPADL {handle:#x} names page {bad:#x}, which is not guest RAM"),
                );
                self.gpadl_created(relid, handle, STATUS_INVALID_PARAMETER);
                return;
            }
        }
        let name = self
            .channels
            .get(&relid)
            .map(|c| self.slots[c.slot].spec.name.clone())
            .unwrap_or_default();
        if let Some(status) = self.faults.gpadl_status.get(&name).copied() {
            self.log(format!(
                "fault: GPADL {handle:#x} of {name} fails with {status:#x}"
            ));
            self.gpadl_created(relid, handle, status);
            return;
        }
        self.log(format!(
            "GPADL {handle:#x} of relid {relid}: {} pages in {ranges} range(s)",
            pages.len()
        ));
        self.gpadls.insert(
            handle,
            GpadlRec {
                relid,
                pages,
                byte_count,
                in_use: false,
                teardown_pending: false,
            },
        );
        self.gpadl_created(relid, handle, 0);
    }

    fn gpadl_created(&mut self, relid: u32, handle: u32, status: u32) {
        self.post_struct(&GpadlCreated {
            header: MessageHeader::new(MessageType::GPADL_CREATED),
            child_relid: relid,
            gpadl: handle,
            creation_status: status,
        });
    }

    /// GPADL_TEARDOWN (`vmbus_teardown_gpadl()`): answered with GPADL_TORNDOWN, also for a
    /// rescinded channel whose guest had not yet seen the rescind. Tearing down the ring GPADL
    /// of an open channel is a violation (Linux closes first, `vmbus_close_internal()`); the
    /// answer then waits for the close.
    fn on_gpadl_teardown(&mut self, relid: u32, handle: u32) {
        if self.tolerated_after_unload(relid, MessageType::GPADL_TEARDOWN) {
            return;
        }
        if self.connected(MessageType::GPADL_TEARDOWN).is_none() {
            return;
        }
        let Some(g) = self.gpadls.get_mut(&handle) else {
            self.protocol_error(
                Some(relid),
                format!("GPADL_TEARDOWN of unknown handle {handle:#x}"),
            );
            return;
        };
        if g.relid != relid {
            let owner = g.relid;
            self.protocol_error(
                Some(relid),
                format!("GPADL_TEARDOWN of {handle:#x} names relid {relid}, it belongs to {owner}"),
            );
            return;
        }
        if g.in_use {
            g.teardown_pending = true;
            self.protocol_error(
                Some(relid),
                format!("GPADL_TEARDOWN of ring GPADL {handle:#x} while its channel is open"),
            );
            return;
        }
        self.gpadls.remove(&handle);
        self.post_struct(&GpadlTorndown {
            header: MessageHeader::new(MessageType::GPADL_TORNDOWN),
            gpadl: handle,
        });
    }

    /// OPENCHANNEL (`__vmbus_open()`): the ring GPADL holds the guest-to-host ring first and the
    /// host-to-guest ring at `downstream_ringbuffer_pageoffset`; each needs the control page and
    /// data. No answer for a rescinded channel (the guest's open is aborted by the rescind).
    fn on_open(&mut self, o: OpenChannel) {
        let relid = o.child_relid;
        if self.connected(MessageType::OPENCHANNEL).is_none()
            || self
                .guest_channel(relid, MessageType::OPENCHANNEL)
                .is_none()
        {
            return;
        }
        let ch = &self.channels[&relid];
        if ch.rescinded {
            self.log(format!(
                "OPENCHANNEL of rescinded relid {relid}: not answered"
            ));
            return;
        }
        if ch.state != ChanState::Offered {
            let st = ch.state;
            self.protocol_error(
                Some(relid),
                format!("OPENCHANNEL of relid {relid} in state {st:?}"),
            );
            return;
        }
        let name = self.slots[ch.slot].spec.name.clone();
        if self.faults.hold_open.contains(&name) || self.faults.hold_open.contains("all") {
            self.log(format!(
                "fault: holding OPENCHANNEL of {name} (relid {relid})"
            ));
            if let Some(ch) = self.channels.get_mut(&relid) {
                ch.state = ChanState::Opening;
                ch.held_open = Some(o);
            }
            return;
        }
        self.complete_open(o);
    }

    /// Answers an OPENCHANNEL.
    fn complete_open(&mut self, o: OpenChannel) {
        let relid = o.child_relid;
        let status = self.do_open(&o);
        let Some(ch) = self.channels.get_mut(&relid) else {
            return;
        };
        ch.held_open = None;
        ch.state = if status == 0 {
            ChanState::Open
        } else {
            ChanState::Offered
        };
        let res = OpenResult {
            header: MessageHeader::new(MessageType::OPENCHANNEL_RESULT),
            child_relid: relid,
            openid: o.openid,
            status,
        };
        let name = self
            .channels
            .get(&relid)
            .map(|c| self.slots[c.slot].spec.name.clone())
            .unwrap_or_default();
        if status == 0 && self.faults.early_start.contains(&name) {
            self.log(format!(
                "fault: {name} starts before OPENCHANNEL_RESULT arrives"
            ));
            self.to_start.push(relid);
            self.post(res.as_bytes().to_vec(), None);
        } else {
            self.post(res.as_bytes().to_vec(), (status == 0).then_some(relid));
        }
    }

    /// Checks an open request and sets up the rings and the device; returns the status.
    fn do_open(&mut self, o: &OpenChannel) -> u32 {
        let relid = o.child_relid;
        let handle = o.ringbuffer_gpadlhandle;
        let offset = o.downstream_ringbuffer_pageoffset as usize;
        let target_vp = o.target_vp;
        let name = self
            .channels
            .get(&relid)
            .map(|c| self.slots[c.slot].spec.name.clone())
            .unwrap_or_default();
        if let Some(n) = self.vp_count() {
            if target_vp >= n {
                self.protocol_error(
                    Some(relid),
                    format!("OPENCHANNEL target_vp {target_vp} >= {n} VPs"),
                );
                return STATUS_INVALID_PARAMETER;
            }
        }
        let pages = match self.gpadls.get(&handle) {
            Some(g) if g.relid == relid && !g.in_use => g.pages.clone(),
            Some(g) if g.in_use => {
                self.protocol_error(
                    Some(relid),
                    format!("OPENCHANNEL with GPADL {handle:#x}, already a channel's ring"),
                );
                return STATUS_INVALID_PARAMETER;
            }
            _ => {
                self.protocol_error(
                    Some(relid),
                    format!("OPENCHANNEL with GPADL {handle:#x}, not a GPADL of relid {relid}"),
                );
                return STATUS_INVALID_PARAMETER;
            }
        };
        let byte_count = self.gpadls.get(&handle).map_or(0, |g| g.byte_count);
        if offset < 2
            || offset + 2 > pages.len()
            || u64::from(byte_count) != pages.len() as u64 * PAGE_SIZE
        {
            self.protocol_error(
                Some(relid),
                format!(
                    "OPENCHANNEL ring offset {offset} in a GPADL of {} pages ({byte_count} bytes): \
                     each ring needs a control page and data",
                    pages.len()
                ),
            );
            return STATUS_INVALID_PARAMETER;
        }
        let Some(mem) = self.mem.clone() else {
            self.log("OPENCHANNEL before guest memory is known".into());
            return STATUS_UNSUCCESSFUL;
        };
        let (g2h, h2g) = pages.split_at(offset);
        let (Some(inc_mem), Some(out_mem)) = (
            GpaRingMem::new(mem.clone(), g2h.to_vec()),
            GpaRingMem::new(mem, h2g.to_vec()),
        ) else {
            return STATUS_INVALID_PARAMETER;
        };
        if inc_mem.data_len() < MIN_DATA_SIZE || out_mem.data_len() < MIN_DATA_SIZE {
            return STATUS_INVALID_PARAMETER;
        }
        let rings =
            OutgoingRing::new(out_mem).and_then(|out| Ok((out, IncomingRing::new(inc_mem)?)));
        let (out, inc) = match rings {
            Ok(r) => r,
            Err(e) => {
                self.protocol_error(
                    Some(relid),
                    format!("OPENCHANNEL with rings the guest did not initialize: {e}"),
                );
                return STATUS_INVALID_PARAMETER;
            }
        };
        if let Some(status) = self.faults.open_status.get(&name).copied() {
            self.log(format!(
                "fault: OPENCHANNEL of {name} fails with {status:#x}"
            ));
            return status;
        }
        let now_ms = self.now_ms;
        let Some(ch) = self.channels.get_mut(&relid) else {
            return STATUS_UNSUCCESSFUL;
        };
        let mut io = ChannelIo::new(out, inc);
        if let Some(f) = &ch.preset_faults {
            io.faults = f.clone();
        }
        if ch.preset_pause_ms > 0 {
            io.paused_until = now_ms + std::mem::take(&mut ch.preset_pause_ms);
        }
        ch.io = Some(io);
        ch.target_vp = target_vp;
        ch.ring_gpadl = Some(handle);
        ch.started = false;
        let userdata = o.userdata;
        match self.dev_call(relid, |d, ctx| d.open(ctx, &userdata)) {
            Some(Ok(())) => {
                if let Some(g) = self.gpadls.get_mut(&handle) {
                    g.in_use = true;
                }
                self.log(format!(
                    "relid {relid} ({name}) open, target vp {target_vp}"
                ));
                0
            }
            Some(Err(status)) => {
                if let Some(ch) = self.channels.get_mut(&relid) {
                    ch.io = None;
                    ch.ring_gpadl = None;
                }
                status
            }
            None => STATUS_UNSUCCESSFUL,
        }
    }

    /// Ends the host side of an open channel: the device fails what is outstanding, the
    /// rings are dropped, the ring GPADL is free again (and torn down if that was asked).
    /// Returns what the device asked for when it closed.
    fn close_io(&mut self, relid: u32) -> Vec<DevRequest> {
        let had_io = self.channels.get(&relid).is_some_and(|c| c.io.is_some());
        let mut requests = Vec::new();
        if had_io {
            // The device sees the channel without rings from here on.
            let io = self.channels.get_mut(&relid).and_then(|c| c.io.take());
            let mut errors = Vec::new();
            let mut log = Vec::new();
            let now_ms = self.now_ms;
            let vmbus_version = self.version_u32();
            let mem = self.mem.clone();
            if let Some(ch) = self.channels.get_mut(&relid) {
                let mut ctx = DevCtx {
                    relid,
                    sub_index: ch.sub_index,
                    vmbus_version,
                    now_ms,
                    vm_ms: self.now_ms.saturating_sub(self.attached_ms),
                    io: None,
                    log: &mut log,
                    errors: &mut errors,
                    finished: &mut self.finished,
                    mem,
                    requests: &mut requests,
                    gpadls: None,
                };
                ch.device.close(&mut ctx);
            }
            drop(io);
            for l in log {
                self.log(l);
            }
        }
        let Some(ch) = self.channels.get_mut(&relid) else {
            return requests;
        };
        ch.started = false;
        if let Some(h) = ch.ring_gpadl.take() {
            if let Some(g) = self.gpadls.get_mut(&h) {
                g.in_use = false;
                if g.teardown_pending {
                    self.gpadls.remove(&h);
                    self.post_struct(&GpadlTorndown {
                        header: MessageHeader::new(MessageType::GPADL_TORNDOWN),
                        gpadl: h,
                    });
                }
            }
        }
        requests
    }

    /// CLOSECHANNEL (`vmbus_close_internal()`, no answer): only for an open channel; Linux
    /// still sends it for a rescinded one it had open.
    fn on_close(&mut self, relid: u32) {
        if self.tolerated_after_unload(relid, MessageType::CLOSECHANNEL) {
            return;
        }
        if self.connected(MessageType::CLOSECHANNEL).is_none()
            || self
                .guest_channel(relid, MessageType::CLOSECHANNEL)
                .is_none()
        {
            return;
        }
        let st = self.channels[&relid].state;
        if st != ChanState::Open {
            self.protocol_error(
                Some(relid),
                format!("CLOSECHANNEL of relid {relid} in state {st:?}"),
            );
            return;
        }
        let requests = self.close_io(relid);
        if let Some(ch) = self.channels.get_mut(&relid) {
            ch.state = ChanState::Offered;
        }
        self.log(format!("relid {relid} closed"));
        // E.g. a device whose subchannels go away with its primary channel.
        if let Some(slot) = self.channels.get(&relid).map(|c| c.slot) {
            self.device_requests(slot, requests);
        }
    }

    /// RELID_RELEASED (`vmbus_release_relid()`): after a rescind, or when the guest could not
    /// take an offer (`vmbus_onoffer()` error path). The channel must not be open; GPADLs of a
    /// rescinded channel go with it (the guest skips their teardown once it saw the rescind).
    fn on_relid_released(&mut self, relid: u32) {
        if self.tolerated_after_unload(relid, MessageType::RELID_RELEASED) {
            return;
        }
        if self.connected(MessageType::RELID_RELEASED).is_none()
            || self
                .guest_channel(relid, MessageType::RELID_RELEASED)
                .is_none()
        {
            return;
        }
        let (state, rescinded) = {
            let ch = &self.channels[&relid];
            (ch.state, ch.rescinded)
        };
        if state == ChanState::Open && !rescinded {
            self.protocol_error(Some(relid), format!("RELID_RELEASED of open relid {relid}"));
        }
        if !rescinded {
            self.log(format!(
                "guest released relid {relid} without a rescind (offer refused)"
            ));
        }
        self.close_io(relid);
        let leftover: Vec<u32> = self
            .gpadls
            .iter()
            .filter(|(_, g)| g.relid == relid)
            .map(|(h, _)| *h)
            .collect();
        if !leftover.is_empty() && !rescinded {
            self.protocol_error(
                Some(relid),
                format!(
                    "RELID_RELEASED of relid {relid} with GPADLs {leftover:x?} still established"
                ),
            );
        }
        for h in leftover {
            self.gpadls.remove(&h);
        }
        self.assembling.retain(|_, a| a.header.child_relid != relid);
        self.remove_channel(relid);
        self.log(format!("relid {relid} released"));
    }

    fn remove_channel(&mut self, relid: u32) {
        if let Some(ch) = self.channels.remove(&relid) {
            if let Some(t) = self.transport.as_mut() {
                let _ = t.unregister_event(ch.conn_id);
            }
        }
    }

    /// MODIFYCHANNEL (`vmbus_send_modifychannel()`, 4.1+): move the channel's interrupts to
    /// `target_vp`; MODIFYCHANNEL_RESPONSE from 5.3 on.
    fn on_modify(&mut self, relid: u32, target_vp: u32) {
        let Some(c) = self.connected(MessageType::MODIFYCHANNEL) else {
            return;
        };
        if c.version < Version::WIN10_V4_1 {
            self.protocol_error(
                Some(relid),
                format!("MODIFYCHANNEL at version {}, it needs 4.1", c.version),
            );
            return;
        }
        if self
            .guest_channel(relid, MessageType::MODIFYCHANNEL)
            .is_none()
        {
            return;
        }
        let mut status = 0;
        if let Some(n) = self.vp_count() {
            if target_vp >= n {
                self.protocol_error(
                    Some(relid),
                    format!("MODIFYCHANNEL target_vp {target_vp} >= {n} VPs"),
                );
                status = STATUS_INVALID_PARAMETER;
            }
        }
        let ch = self.channels.get_mut(&relid).map(|ch| {
            if status == 0 && ch.state == ChanState::Open {
                ch.target_vp = target_vp;
            }
            (ch.state, ch.rescinded)
        });
        if let Some((st, rescinded)) = ch {
            if st != ChanState::Open && !rescinded {
                self.protocol_error(
                    Some(relid),
                    format!("MODIFYCHANNEL of relid {relid} in state {st:?}"),
                );
                status = STATUS_UNSUCCESSFUL;
            }
        }
        if c.version >= Version::WIN10_V5_3 && !self.faults.no_modify_response {
            self.post_struct(&ModifyChannelResponse {
                header: MessageHeader::new(MessageType::MODIFYCHANNEL_RESPONSE),
                child_relid: relid,
                status,
            });
        }
    }

    /// UNLOAD (`vmbus_initiate_unload()`, 3.0+): everything goes away; UNLOAD_RESPONSE.
    fn on_unload(&mut self) {
        let Some(c) = self.connected(MessageType::UNLOAD) else {
            return;
        };
        if c.version < Version::WIN8_1 {
            self.protocol_error(
                None,
                format!("UNLOAD at version {}, it needs 3.0", c.version),
            );
        }
        let old: BTreeSet<u32> = self.channels.keys().copied().collect();
        // Answer to where the connection's messages went.
        self.target = (c.vp, c.sint);
        self.reset_all("UNLOAD");
        self.old_relids = old;
        self.conn = ConnState::Disconnected { after_unload: true };
        self.post_struct(&MessageHeader::new(MessageType::UNLOAD_RESPONSE));
    }

    /// TL_CONNECT_REQUEST (hv_sock connect to a host service): no host services exist, so the
    /// answer is a failure (Linux ignores TL_CONNECT_RESULT).
    fn on_tl_connect(&mut self, endpoint: Guid, service: Guid) {
        if self.connected(MessageType::TL_CONNECT_REQUEST).is_none() {
            return;
        }
        self.log(format!("hv_sock connect to service {service}: refused"));
        self.post_struct(&TlConnectResult {
            header: MessageHeader::new(MessageType::TL_CONNECT_RESULT),
            guest_endpoint_id: endpoint,
            host_service_id: service,
            status: STATUS_UNSUCCESSFUL,
        });
    }

    /// Drops every channel, GPADL and queued message (VM reset, new transport, UNLOAD).
    fn reset_all(&mut self, why: &str) {
        for relid in self.relids() {
            self.close_io(relid);
            self.remove_channel(relid);
        }
        self.gpadls.clear();
        self.assembling.clear();
        self.outq.clear();
        self.delayed.clear();
        self.in_flight.clear();
        self.to_start.clear();
        self.conn = ConnState::Disconnected {
            after_unload: false,
        };
        self.log(format!("VMBus state reset: {why}"));
    }

    /// The VM was reset: the guest starts over.
    pub fn vm_reset(&mut self) {
        self.reset_all("VM reset");
        self.old_relids.clear();
    }

    // ---------------------------------------------------------------------------------------
    // Host-initiated actions.

    /// Rescinds channel `relid` (`vmbus_onoffer_rescind()` on the guest): no more I/O from the
    /// host; an unanswered OPENCHANNEL stays unanswered; the guest closes, releases its GPADLs
    /// and answers RELID_RELEASED. A primary channel's live subchannels are rescinded first.
    pub fn rescind(&mut self, relid: u32) -> Result<(), String> {
        let ch = self
            .channels
            .get_mut(&relid)
            .ok_or(format!("no channel {relid}"))?;
        if ch.rescinded {
            return Err(format!("relid {relid} is already rescinded"));
        }
        let (slot, sub) = (ch.slot, ch.sub_index);
        // A device goes with all its channels: its subchannels are rescinded first (Linux
        // then closes them before the primary, `vmbus_disconnect_ring()`).
        if sub == 0 {
            self.rescind_subchannels(slot);
        }
        let Some(ch) = self.channels.get_mut(&relid) else {
            return Err(format!("no channel {relid}"));
        };
        ch.rescinded = true;
        ch.held_open = None;
        if ch.state == ChanState::Opening {
            ch.state = ChanState::Offered;
        }
        if sub == 0 {
            self.slots[slot].enabled = false;
        }
        // The device stops now; its rings stay mapped until the guest closes.
        let mut errors = Vec::new();
        let mut log = Vec::new();
        let mut requests = Vec::new();
        let now_ms = self.now_ms;
        let vmbus_version = self.version_u32();
        let mem = self.mem.clone();
        if let Some(ch) = self.channels.get_mut(&relid) {
            let mut ctx = DevCtx {
                relid,
                sub_index: sub,
                vmbus_version,
                now_ms,
                vm_ms: self.now_ms.saturating_sub(self.attached_ms),
                io: None,
                log: &mut log,
                errors: &mut errors,
                finished: &mut self.finished,
                mem,
                requests: &mut requests,
                gpadls: None,
            };
            ch.device.close(&mut ctx);
        }
        for l in log {
            self.log(l);
        }
        self.log(format!("rescinding relid {relid}"));
        self.post_struct(&RescindOffer {
            header: MessageHeader::new(MessageType::RESCIND_CHANNELOFFER),
            child_relid: relid,
        });
        Ok(())
    }

    /// Offers device `name` again (or for the first time), or a subchannel of it.
    pub fn offer(&mut self, name: &str, sub_index: u16) -> Result<u32, String> {
        let slot = self
            .slots
            .iter()
            .position(|s| s.spec.name == name)
            .ok_or(format!("no device named {name}"))?;
        if self
            .channels
            .values()
            .any(|c| c.slot == slot && c.sub_index == sub_index && !c.rescinded)
        {
            return Err(format!(
                "{name} (subchannel {sub_index}) is offered already"
            ));
        }
        if sub_index == 0 {
            self.slots[slot].enabled = true;
        }
        let r = self.offer_slot(slot, sub_index);
        self.after_event();
        r
    }

    /// Adds a device to the set and offers it if the guest is connected.
    pub fn add_device(&mut self, spec: DeviceSpec) -> Result<Option<u32>, String> {
        if self.slots.iter().any(|s| s.spec.name == spec.name) {
            return Err(format!("a device named {} exists", spec.name));
        }
        self.slots.push(Slot {
            spec,
            enabled: true,
        });
        let i = self.slots.len() - 1;
        let offered = match &self.conn {
            ConnState::Connected(c) if c.offers_requested => Some(self.offer_slot(i, 0)?),
            _ => None,
        };
        self.after_event();
        Ok(offered)
    }

    /// Answers a held OPENCHANNEL now.
    pub fn release_open(&mut self, relid: u32) -> Result<(), String> {
        let o = self
            .channels
            .get_mut(&relid)
            .and_then(|c| c.held_open.take())
            .ok_or(format!("relid {relid} has no held OPENCHANNEL"))?;
        self.complete_open(o);
        self.after_event();
        Ok(())
    }

    // ---------------------------------------------------------------------------------------
    // Time.

    /// Advances the clock to `now_ms` and runs timers.
    pub fn tick(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
        let now = self.now_ms;
        let due: Vec<OutMsg> = {
            let (due, keep): (Vec<_>, Vec<_>) =
                self.delayed.drain(..).partition(|(t, _)| *t <= now);
            self.delayed = keep;
            due.into_iter().map(|(_, m)| m).collect()
        };
        for m in due {
            self.outq.push_back(m);
        }
        self.pump();
        for relid in self.relids() {
            let released = self
                .channels
                .get_mut(&relid)
                .and_then(|c| c.io.as_mut())
                .is_some_and(|io| io.release_due(now));
            if released {
                self.flush_channel(relid);
            }
            let resumed = self
                .channels
                .get_mut(&relid)
                .and_then(|c| c.io.as_mut())
                .is_some_and(|io| {
                    let due = io.paused_until != 0 && io.paused_until <= now;
                    if due {
                        io.paused_until = 0;
                    }
                    due
                });
            if resumed {
                self.log(format!("relid {relid}: reading the guest's ring again"));
                self.flush_channel(relid);
                self.drain_unsignalled(relid);
            }
            self.dev_call(relid, |d, ctx| d.tick(ctx));
        }
        self.poll_monitor();
        self.after_event();
    }

    /// Polls the child-to-parent monitor page for MNF channels: Linux signals those by setting
    /// their bit in `trigger_group[id / 32].pending` instead of a hypercall (`vmbus_setevent()`).
    fn poll_monitor(&mut self) {
        let (Some(mem), ConnState::Connected(c)) = (self.mem.clone(), &self.conn) else {
            return;
        };
        let page2 = c.monitor_page2;
        let mnf: Vec<(u32, u8)> = self
            .channels
            .values()
            .filter(|c| c.io.is_some())
            .filter_map(|c| c.monitor_id.map(|m| (c.relid, m)))
            .collect();
        for (relid, id) in mnf {
            let gpa = page2 + 8 + u64::from(id / 32) * 8;
            let Ok(pending) = mem.read_u32(gpa) else {
                continue;
            };
            let bit = 1u32 << (id % 32);
            if pending & bit != 0 {
                // Not atomic against the guest's `sync_set_bit()`; a lost bit is caught by
                // the ring poll below.
                let _ = mem.write_u32(gpa, mem.read_u32(gpa).unwrap_or(0) & !bit);
                self.channel_signalled(relid);
            } else if self
                .channels
                .get(&relid)
                .and_then(|c| c.io.as_ref())
                .is_some_and(|io| io.inc.bytes_available().unwrap_or(0) > 0)
            {
                self.flush_channel(relid);
                self.drain_unsignalled(relid);
            }
        }
    }

    /// Starts devices whose OPENCHANNEL_RESULT arrived, checks waiters, pumps messages.
    fn after_event(&mut self) {
        while let Some(relid) = self.to_start.pop() {
            let ready = self
                .channels
                .get(&relid)
                .is_some_and(|c| c.io.is_some() && !c.started && !c.rescinded);
            if ready {
                if let Some(c) = self.channels.get_mut(&relid) {
                    c.started = true;
                }
                self.dev_call(relid, |d, ctx| d.start(ctx));
                // Data the guest wrote before the device started.
                self.drain_unsignalled(relid);
            }
        }
        let now = self.now_ms;
        let tokens: Vec<u64> = self.waiters.keys().copied().collect();
        for token in tokens {
            let Some(w) = self.waiters.get(&token) else {
                continue;
            };
            let done = match &w.cond {
                WaitCond::Device => None,
                WaitCond::Connected => self
                    .version()
                    .filter(|_| matches!(&self.conn, ConnState::Connected(c) if c.offers_requested))
                    .map(|v| Reply::line(format!("version={v}"))),
                WaitCond::Open(name) => self
                    .relid_of(name)
                    .filter(|r| {
                        self.channels
                            .get(r)
                            .is_some_and(|c| c.state == ChanState::Open && c.started)
                    })
                    .map(|r| Reply::line(format!("relid={r}"))),
                WaitCond::Released(name) => {
                    let slot = self.slots.iter().position(|s| s.spec.name == *name);
                    (!self.channels.values().any(|c| Some(c.slot) == slot))
                        .then(|| Reply::line("released"))
                }
            };
            if let Some(r) = done {
                self.finished.push((token, r));
            } else if now >= w.deadline_ms {
                self.finished.push((token, Reply::err("timeout")));
            }
        }
        self.pump();
    }

    // ---------------------------------------------------------------------------------------
    // Commands.

    /// Finds a channel by relid or device name.
    pub fn find_channel(&self, s: &str) -> Option<u32> {
        if let Ok(r) = s.parse::<u32>() {
            return self.channels.contains_key(&r).then_some(r);
        }
        self.relid_of(s)
    }

    /// Returns the name of the device behind channel `relid`.
    pub fn channel_name(&self, relid: u32) -> Option<String> {
        self.channels
            .get(&relid)
            .map(|c| self.slots[c.slot].spec.name.clone())
    }

    /// Runs a device command on channel `relid`.
    pub(crate) fn device_command(&mut self, relid: u32, args: &[String]) -> CmdOutcome {
        let token = self.next_token;
        self.next_token += 1;
        let r = self.dev_call(relid, |d, ctx| d.command(ctx, args, token));
        let out = match r {
            Some(CmdResult::Done(reply)) => CmdOutcome::Done(reply),
            Some(CmdResult::Pending { timeout_ms }) => {
                self.waiters.insert(
                    token,
                    Waiter {
                        deadline_ms: self.now_ms + timeout_ms,
                        cond: WaitCond::Device,
                    },
                );
                CmdOutcome::Pending(token)
            }
            None => CmdOutcome::Done(Reply::err(format!("no channel {relid}"))),
        };
        self.after_event();
        out
    }

    /// Runs a device command for device `name` (or the first device of kind `name`) while it
    /// has no channel: on a fresh back end of its spec, without rings. Back ends whose state
    /// lives in the spec (storvsp's controller: LUNs, counters, faults) answer; a command that
    /// needs the guest fails. `None` if there is no such device.
    pub(crate) fn detached_command(&mut self, name: &str, args: &[String]) -> Option<CmdOutcome> {
        let slot = self
            .slots
            .iter()
            .position(|s| s.spec.name == name)
            .or_else(|| self.slots.iter().position(|s| s.spec.kind.name() == name))?;
        let mut device = self.slots[slot].spec.create();
        let (mut log, mut errors, mut finished, mut requests) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut ctx = DevCtx {
            relid: 0,
            sub_index: 0,
            vmbus_version: self.version_u32(),
            now_ms: self.now_ms,
            vm_ms: self.now_ms.saturating_sub(self.attached_ms),
            io: None,
            log: &mut log,
            errors: &mut errors,
            finished: &mut finished,
            mem: self.mem.clone(),
            requests: &mut requests,
            gpadls: None,
        };
        let r = device.command(&mut ctx, args, 0);
        for l in log {
            self.log(l);
        }
        Some(CmdOutcome::Done(match r {
            CmdResult::Done(reply) => reply,
            CmdResult::Pending { .. } => {
                Reply::err(format!("{name} has no channel; this command needs one"))
            }
        }))
    }

    /// Starts a wait: `what` is `connected`, `open NAME` or `released NAME`.
    pub(crate) fn wait(&mut self, what: &[&str], timeout_ms: u64) -> CmdOutcome {
        let cond = match what {
            ["connected"] => WaitCond::Connected,
            ["open", name] => WaitCond::Open((*name).to_string()),
            ["released", name] => WaitCond::Released((*name).to_string()),
            _ => {
                return CmdOutcome::Done(Reply::err(
                    "usage: wait connected|open NAME|released NAME [--timeout S]",
                ))
            }
        };
        let token = self.next_token;
        self.next_token += 1;
        self.waiters.insert(
            token,
            Waiter {
                deadline_ms: self.now_ms + timeout_ms,
                cond,
            },
        );
        self.after_event();
        CmdOutcome::Pending(token)
    }

    /// Returns the status lines of the connection.
    pub fn status_lines(&self) -> Vec<String> {
        let mut v = Vec::new();
        match &self.conn {
            ConnState::Disconnected { after_unload } => v.push(format!(
                "state={}",
                if *after_unload {
                    "unloaded"
                } else {
                    "disconnected"
                }
            )),
            ConnState::Connected(c) => {
                v.push("state=connected".into());
                v.push(format!("version={}", c.version));
                v.push(format!("vp={} sint={}", c.vp, c.sint));
                v.push(format!("msg_conn_id={}", c.msg_conn_id));
                v.push(format!("offers_requested={}", u8::from(c.offers_requested)));
            }
        }
        v.push(format!("max_version={}", self.cfg.max_version));
        v.push(format!("transport={}", u8::from(self.transport.is_some())));
        v.push(format!("channels={}", self.channels.len()));
        v.push(format!("gpadls={}", self.gpadls.len()));
        v.push(format!("protocol_errors={}", self.errors.len()));
        v.push(format!(
            "messages_in={} messages_out={} ignored={} stray_signals={} undelivered={}",
            self.stats.messages_in,
            self.stats.messages_out,
            self.stats.ignored,
            self.stats.stray_signals,
            self.stats.undelivered
        ));
        v
    }

    /// Returns one line per channel.
    pub fn list_lines(&self) -> Vec<String> {
        self.channels
            .values()
            .map(|c| {
                let s = &self.slots[c.slot].spec;
                format!(
                    "relid={} name={} kind={} class={} instance={} sub={} state={} rescinded={} conn_id={:#x} target_vp={} monitor={}",
                    c.relid,
                    s.name,
                    s.kind.name(),
                    s.class,
                    s.instance,
                    c.sub_index,
                    match c.state {
                        ChanState::Offered => "offered",
                        ChanState::Opening => "opening",
                        ChanState::Open => "open",
                    },
                    u8::from(c.rescinded),
                    c.conn_id,
                    c.target_vp,
                    c.monitor_id.map_or("-".to_string(), |m| m.to_string()),
                )
            })
            .collect()
    }

    /// Returns one line per configured device.
    pub fn device_lines(&self) -> Vec<String> {
        self.slots
            .iter()
            .map(|s| {
                format!(
                    "name={} kind={} class={} instance={} enabled={} mnf={} versions={}",
                    s.spec.name,
                    s.spec.kind.name(),
                    s.spec.class,
                    s.spec.instance,
                    u8::from(s.enabled),
                    u8::from(s.spec.mnf),
                    crate::devices::ic::show_versions(&s.spec.versions)
                )
            })
            .collect()
    }

    /// Returns the detail lines of channel `relid`.
    pub fn show_lines(&self, relid: u32) -> Vec<String> {
        let Some(c) = self.channels.get(&relid) else {
            return Vec::new();
        };
        let mut v = vec![self
            .list_lines()
            .into_iter()
            .find(|l| l.starts_with(&format!("relid={relid} ")))
            .unwrap_or_default()];
        v.push(format!(
            "ring_gpadl={}",
            c.ring_gpadl.map_or("-".into(), |g| format!("{g:#x}"))
        ));
        let gpadls: Vec<String> = self
            .gpadls
            .iter()
            .filter(|(_, g)| g.relid == relid)
            .map(|(h, g)| format!("{h}:{}", g.byte_count))
            .collect();
        v.push(format!("gpadls={}", gpadls.join(",")));
        if let Some(io) = &c.io {
            let s = &io.stats;
            let (free, avail) = io.ring_state();
            v.push(format!(
                "guest_signals={} justified_signals={} unneeded_signals={} race_windows={} idle_ends={} host_signals={} room_signals={}",
                s.guest_signals,
                s.justified_signals,
                s.unneeded_signals,
                s.race_windows,
                s.idle_ends,
                s.host_signals,
                s.room_signals
            ));
            v.push(format!(
                "packets_in={} packets_out={} ring_full={} dropped={} backlog={} held={}",
                s.packets_in,
                s.packets_out,
                s.ring_full,
                s.dropped,
                io.backlog.len(),
                io.held.len() + io.reorder_buf.len()
            ));
            v.push(format!(
                "out_free={free} in_avail={avail} broken={}",
                u8::from(io.broken)
            ));
        }
        v.extend(c.device.status());
        v
    }

    /// Gives access to the faults channel `relid` gets at each open, for fault commands given
    /// while it is closed: (response faults, read pause in ms).
    pub(crate) fn channel_presets(
        &mut self,
        relid: u32,
    ) -> Option<(&mut Option<crate::device::ResponseFaults>, &mut u64)> {
        let ch = self.channels.get_mut(&relid)?;
        Some((&mut ch.preset_faults, &mut ch.preset_pause_ms))
    }

    /// Gives access to channel `relid`'s ring I/O for fault commands.
    pub(crate) fn channel_io(&mut self, relid: u32) -> Option<&mut ChannelIo> {
        self.channels.get_mut(&relid)?.io.as_mut()
    }

    /// Flushes channel `relid` (after a fault command changed its queues).
    pub(crate) fn flush(&mut self, relid: u32) {
        self.flush_channel(relid);
        self.after_event();
    }

    /// Signals the guest for channel `relid` unconditionally (after raw ring writes).
    pub(crate) fn force_signal(&mut self, relid: u32) {
        if let Some(vp) = self.channels.get(&relid).map(|c| c.target_vp) {
            if let Some(io) = self.channel_io(relid) {
                io.stats.host_signals += 1;
            }
            self.signal_guest(vp, relid);
        }
    }

    /// Returns the offer the engine would send for `relid` (for malformed-offer injections).
    pub(crate) fn offer_bytes(&self, relid: u32) -> Option<Vec<u8>> {
        let c = self.channels.get(&relid)?;
        let s = &self.slots[c.slot].spec;
        let offer = OfferChannel {
            header: MessageHeader::new(MessageType::OFFERCHANNEL),
            offer: ChannelOffer {
                if_type: s.class,
                if_instance: s.instance,
                reserved1: 0,
                reserved2: 0,
                chn_flags: OfferFlags(s.flags),
                mmio_megabytes: s.mmio_mb,
                user_def: [0; MAX_USER_DEFINED_BYTES],
                sub_channel_index: c.sub_index,
                reserved3: 0,
            },
            child_relid: relid,
            monitorid: c.monitor_id.unwrap_or(0),
            monitor_allocated: u8::from(c.monitor_id.is_some()),
            is_dedicated_interrupt: u16::from(s.dedicated),
            connection_id: c.conn_id,
        };
        Some(offer.as_bytes().to_vec())
    }

    /// Returns the names of the configured devices.
    pub fn device_names(&self) -> Vec<String> {
        self.slots.iter().map(|s| s.spec.name.clone()).collect()
    }

    /// Returns the channels whose device is of kind `kind`, open ones first.
    pub fn channels_of_kind(&self, kind: &str) -> Vec<u32> {
        let mut v: Vec<(bool, u32)> = self
            .channels
            .values()
            .filter(|c| self.slots[c.slot].spec.kind.name() == kind && !c.rescinded)
            .map(|c| (c.state != ChanState::Open, c.relid))
            .collect();
        v.sort();
        v.into_iter().map(|(_, r)| r).collect()
    }
}

/// Returns `msg` if it fits a SynIC message.
pub fn check_message_len(msg: Vec<u8>) -> Result<Vec<u8>, String> {
    if msg.len() > MAX_SIZE_CHANNEL_MESSAGE {
        return Err(format!(
            "message of {} bytes exceeds {MAX_SIZE_CHANNEL_MESSAGE}",
            msg.len()
        ));
    }
    Ok(msg)
}

/// Parses an `OfferChannel` (for tests that look at offers).
pub fn parse_offer(bytes: &[u8]) -> Option<OfferChannel> {
    OfferChannel::read_from_prefix(bytes).ok().map(|(o, _)| o)
}
