// SPDX-License-Identifier: GPL-2.0

//! The host side of the integration-component (IC) framework, and the small ICs: heartbeat,
//! shutdown and time sync.
//!
//! Every IC is host-driven: after the guest opens the channel the host sends a NEGOTIATE
//! request listing its framework and service versions; the guest answers with one of each
//! (or none) by rewriting the request in place (`vmbus_prep_negotiate_resp()` in
//! `drivers/hv/channel_mgmt.c`). Then the host sends one request at a time and the guest answers
//! each by rewriting the IC header's status and flags (`ICMSGHDRFLAG_TRANSACTION |
//! ICMSGHDRFLAG_RESPONSE`) and sending the same bytes back with the request's VMBus
//! transaction id (`hv_util.c`: `vmbus_sendpacket(channel, buf, recvlen, requestid, ...)`).
//! [`IcCore`] does this bookkeeping and checks every answer against the outstanding request.

use std::collections::VecDeque;

use hv_proto::ic::{
    self, HeartbeatMsgData, HvStatus, IcMsgHdr, IcMsgType, IcTimesyncData, IcTimesyncRefData,
    IcVersion, ShutdownMsgData, VmbusPipeHdr, ICMSGHDRFLAG_REQUEST, ICMSGHDRFLAG_RESPONSE,
    ICMSGHDRFLAG_TRANSACTION, ICMSG_HDR,
};
use hv_proto::ring::PacketType;
use zerocopy::{FromZeros, IntoBytes};

use crate::device::{
    opt, positional, timeout_ms, CmdResult, DevCtx, Device, OutPkt, Packet, Reply,
};

/// How long the host waits for the guest to answer an IC request before giving up (ms).
/// Longer than the C KVP driver's 55 s negotiation deferral (`HV_UTIL_NEGO_TIMEOUT`).
pub const IC_ANSWER_TIMEOUT_MS: u64 = 70_000;

/// Returns a short description of an IC status.
pub fn status_name(s: HvStatus) -> String {
    match s.name() {
        Some(n) => format!("{:#010x} ({n})", s.0),
        None => format!("{:#010x}", s.0),
    }
}

/// Builds an IC request packet: pipe header, IC header, payload.
pub fn build_request(
    msgtype: IcMsgType,
    fw: IcVersion,
    srv: IcVersion,
    tid: u8,
    payload: &[u8],
) -> Vec<u8> {
    let pipe = VmbusPipeHdr {
        flags: 1,
        msgsize: (20 + payload.len()) as u32,
    };
    let hdr = IcMsgHdr {
        icverframe: fw,
        icmsgtype: msgtype,
        icvermsg: srv,
        icmsgsize: payload.len() as u16,
        status: HvStatus::S_OK,
        ictransaction_id: tid,
        icflags: ICMSGHDRFLAG_TRANSACTION | ICMSGHDRFLAG_REQUEST,
        reserved: [0; 2],
    };
    let mut v = Vec::with_capacity(ICMSG_HDR + payload.len());
    v.extend_from_slice(pipe.as_bytes());
    v.extend_from_slice(hdr.as_bytes());
    v.extend_from_slice(payload);
    v
}

/// The negotiation state of an IC channel.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum IcState {
    /// Not open.
    Closed,
    /// NEGOTIATE sent, no answer yet.
    Negotiating,
    /// Versions agreed.
    Ready {
        /// Framework version.
        fw: IcVersion,
        /// Service version.
        srv: IcVersion,
    },
    /// The guest shares no version with the host's lists.
    NoMatch,
}

/// What an answer from the guest was.
#[derive(Clone, Debug)]
pub enum IcEvent {
    /// The negotiation finished (see [`IcCore::state`]).
    Negotiated,
    /// The answer to request `trans_id`.
    Response {
        /// The request's VMBus transaction id.
        trans_id: u64,
        /// The status the guest wrote.
        status: HvStatus,
        /// The IC payload of the answer (after the 28-byte header).
        payload: Vec<u8>,
    },
    /// Request `trans_id` got no answer in time.
    Timeout {
        /// The request's VMBus transaction id.
        trans_id: u64,
    },
}

struct Outstanding {
    trans_id: u64,
    tid: u8,
    msgtype: IcMsgType,
    sent_ms: u64,
    len: usize,
}

/// Host-side IC framework: negotiation, one transaction at a time, answer validation.
pub struct IcCore {
    /// The service's message type.
    pub msgtype: IcMsgType,
    /// Framework versions the host offers.
    pub fw_offer: Vec<IcVersion>,
    /// Service versions the host offers.
    pub srv_offer: Vec<IcVersion>,
    /// Negotiation state.
    pub state: IcState,
    next_tid: u8,
    next_trans: u64,
    outstanding: Option<Outstanding>,
    queue: VecDeque<(u64, Vec<u8>)>,
    timed_out: Option<u64>,
    /// Answers received.
    pub answers: u64,
    /// Requests that timed out.
    pub timeouts: u64,
    /// Match answers by VMBus transaction id (the kernel ICs echo it; `hv_fcopy_uio_daemon`
    /// answers with `VMBUS_RQST_ERROR` instead, so FCopy matches by the IC transaction id).
    pub match_trans_id: bool,
}

impl IcCore {
    /// Returns a closed IC of type `msgtype` offering the given versions.
    pub fn new(msgtype: IcMsgType, fw_offer: &[IcVersion], srv_offer: &[IcVersion]) -> IcCore {
        IcCore {
            msgtype,
            fw_offer: fw_offer.to_vec(),
            srv_offer: srv_offer.to_vec(),
            state: IcState::Closed,
            next_tid: 0,
            next_trans: 1,
            outstanding: None,
            queue: VecDeque::new(),
            timed_out: None,
            answers: 0,
            timeouts: 0,
            match_trans_id: true,
        }
    }

    /// Returns the negotiated service version.
    pub fn service_version(&self) -> Option<IcVersion> {
        match self.state {
            IcState::Ready { srv, .. } => Some(srv),
            _ => None,
        }
    }

    /// Returns a description of the state.
    pub fn describe(&self) -> String {
        match self.state {
            IcState::Closed => "closed".into(),
            IcState::Negotiating => "negotiating".into(),
            IcState::NoMatch => "no-common-version".into(),
            IcState::Ready { fw, srv } => format!(
                "ready fw={}.{} srv={}.{}",
                { fw.major },
                { fw.minor },
                { srv.major },
                { srv.minor }
            ),
        }
    }

    /// The channel opened and the guest knows it: send NEGOTIATE (the host always starts,
    /// `hv_util.c` waits for it).
    pub fn start(&mut self, ctx: &mut DevCtx<'_>) {
        self.state = IcState::Negotiating;
        self.outstanding = None;
        self.queue.clear();
        let mut buf = vec![0u8; ICMSG_HDR + 8 + 4 * (self.fw_offer.len() + self.srv_offer.len())];
        let tid = self.take_tid();
        if let Ok(n) = ic::build_negotiate_request(&mut buf, &self.fw_offer, &self.srv_offer, tid) {
            buf.truncate(n);
            let trans_id = self.take_trans();
            self.transmit(ctx, trans_id, tid, IcMsgType::NEGOTIATE, buf);
        }
    }

    /// The channel closed: forget everything.
    pub fn close(&mut self) -> Vec<u64> {
        self.state = IcState::Closed;
        let mut failed: Vec<u64> = self.queue.drain(..).map(|(t, _)| t).collect();
        if let Some(o) = self.outstanding.take() {
            failed.push(o.trans_id);
        }
        failed
    }

    fn take_tid(&mut self) -> u8 {
        let t = self.next_tid;
        self.next_tid = self.next_tid.wrapping_add(1);
        t
    }

    fn take_trans(&mut self) -> u64 {
        let t = self.next_trans;
        self.next_trans += 1;
        t
    }

    fn transmit(
        &mut self,
        ctx: &mut DevCtx<'_>,
        trans_id: u64,
        tid: u8,
        msgtype: IcMsgType,
        bytes: Vec<u8>,
    ) {
        self.outstanding = Some(Outstanding {
            trans_id,
            tid,
            msgtype,
            sent_ms: ctx.now_ms,
            len: bytes.len(),
        });
        ctx.send(OutPkt::inband(trans_id, false, bytes));
    }

    /// Queues a service request with `payload` (after the IC header); returns its VMBus
    /// transaction id, or `None` if the IC is not negotiated.
    pub fn request(&mut self, ctx: &mut DevCtx<'_>, payload: &[u8]) -> Option<u64> {
        let IcState::Ready { fw, srv } = self.state else {
            return None;
        };
        let trans_id = self.take_trans();
        let tid = self.take_tid();
        let bytes = build_request(self.msgtype, fw, srv, tid, payload);
        self.queue.push_back((trans_id, bytes));
        self.pump(ctx);
        Some(trans_id)
    }

    /// Sends the next queued request if none is outstanding.
    fn pump(&mut self, ctx: &mut DevCtx<'_>) {
        if self.outstanding.is_some() {
            return;
        }
        if let Some((trans_id, bytes)) = self.queue.pop_front() {
            let tid = bytes.get(8 + 16).copied().unwrap_or(0);
            self.transmit(ctx, trans_id, tid, self.msgtype, bytes);
        }
    }

    /// Returns `true` if a request is outstanding or queued.
    pub fn busy(&self) -> bool {
        self.outstanding.is_some() || !self.queue.is_empty()
    }

    /// Checks the timeout of the outstanding request.
    pub fn tick(&mut self, ctx: &mut DevCtx<'_>) -> Option<IcEvent> {
        let o = self.outstanding.as_ref()?;
        if ctx.now_ms.saturating_sub(o.sent_ms) < IC_ANSWER_TIMEOUT_MS {
            return None;
        }
        let trans_id = o.trans_id;
        let was_negotiate = o.msgtype == IcMsgType::NEGOTIATE;
        self.outstanding = None;
        self.timed_out = Some(trans_id);
        self.timeouts += 1;
        ctx.log(format!(
            "relid {}: IC request {trans_id} not answered in {} s",
            ctx.relid,
            IC_ANSWER_TIMEOUT_MS / 1000
        ));
        if was_negotiate {
            self.state = IcState::NoMatch;
        }
        self.pump(ctx);
        Some(IcEvent::Timeout { trans_id })
    }

    /// Validates an answer from the guest and returns what it was.
    ///
    /// Checks (each failure is a protocol error): an in-band packet, at least the 28-byte IC
    /// header, the RESPONSE and TRANSACTION flags, the VMBus transaction id, IC transaction id
    /// and message type of the outstanding request, the same length as the request (the guest
    /// sends `recvlen` bytes back), and for NEGOTIATE one framework and one service version
    /// out of the host's lists, or none.
    pub fn on_packet(&mut self, ctx: &mut DevCtx<'_>, pkt: &Packet) -> Option<IcEvent> {
        let relid = ctx.relid;
        if pkt.info.packet_type != PacketType::DATA_INBAND {
            ctx.protocol_error(format!(
                "relid {relid}: IC packet of type {:?}, expected in-band",
                pkt.info.packet_type
            ));
            return None;
        }
        let Ok(m) = ic::parse_ic_message(&pkt.payload) else {
            ctx.protocol_error(format!(
                "relid {relid}: IC answer of {} bytes is shorter than the IC header",
                pkt.payload.len()
            ));
            return None;
        };
        let match_trans_id = self.match_trans_id;
        let Some(o) = self
            .outstanding
            .as_ref()
            .filter(|o| !match_trans_id || o.trans_id == pkt.info.trans_id)
        else {
            let trans_id = pkt.info.trans_id;
            if self.timed_out == Some(trans_id) {
                ctx.log(format!("relid {relid}: late IC answer {trans_id} ignored"));
                self.timed_out = None;
            } else {
                ctx.protocol_error(format!(
                    "relid {relid}: IC packet with transaction id {trans_id} answers no request"
                ));
            }
            return None;
        };
        let hdr = m.hdr;
        let mut bad = Vec::new();
        if hdr.icflags & ICMSGHDRFLAG_RESPONSE == 0 || hdr.icflags & ICMSGHDRFLAG_TRANSACTION == 0 {
            bad.push(format!(
                "icflags {:#x} lack TRANSACTION|RESPONSE",
                hdr.icflags
            ));
        }
        if hdr.ictransaction_id != o.tid {
            bad.push(format!(
                "ictransaction_id {} != {}",
                hdr.ictransaction_id, o.tid
            ));
        }
        let icmsgtype = hdr.icmsgtype;
        if icmsgtype != o.msgtype {
            bad.push(format!("icmsgtype {:?} != {:?}", icmsgtype, o.msgtype));
        }
        // The payload is padded to 8 bytes in the ring.
        if pkt.payload.len() < o.len || pkt.payload.len() > o.len.next_multiple_of(8) {
            bad.push(format!(
                "answer of {} bytes to a request of {}",
                pkt.payload.len(),
                o.len
            ));
        }
        if !bad.is_empty() {
            ctx.protocol_error(format!("relid {relid}: bad IC answer: {}", bad.join(", ")));
            return None;
        }
        let msgtype = o.msgtype;
        let trans_id = o.trans_id;
        self.outstanding = None;
        self.answers += 1;
        let event = if msgtype == IcMsgType::NEGOTIATE {
            match ic::parse_negotiate_response(&pkt.payload) {
                Ok(Some((fw, srv))) => {
                    if self.fw_offer.contains(&fw) && self.srv_offer.contains(&srv) {
                        self.state = IcState::Ready { fw, srv };
                        ctx.log(format!("relid {relid}: IC negotiated {}", self.describe()));
                    } else {
                        ctx.protocol_error(format!(
                            "relid {relid}: guest chose IC versions fw {}.{} srv {}.{} the host did not offer",
                            { fw.major }, { fw.minor }, { srv.major }, { srv.minor }
                        ));
                        self.state = IcState::NoMatch;
                    }
                }
                Ok(None) => {
                    ctx.log(format!("relid {relid}: guest shares no IC version"));
                    self.state = IcState::NoMatch;
                }
                Err(e) => {
                    ctx.protocol_error(format!(
                        "relid {relid}: malformed IC negotiate answer: {e:?}"
                    ));
                    self.state = IcState::NoMatch;
                }
            }
            IcEvent::Negotiated
        } else {
            IcEvent::Response {
                trans_id,
                status: hdr.status,
                payload: m.payload.to_vec(),
            }
        };
        self.pump(ctx);
        Some(event)
    }
}

/// Parses an `IcVersion` list such as `3.0,1.0`.
pub fn parse_versions(s: &str) -> Option<Vec<IcVersion>> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (a, b) = p.split_once('.')?;
            Some(IcVersion::new(a.parse().ok()?, b.parse().ok()?))
        })
        .collect()
}

/// Formats a version list.
pub fn show_versions(v: &[IcVersion]) -> String {
    v.iter()
        .map(|v| format!("{}.{}", { v.major }, { v.minor }))
        .collect::<Vec<_>>()
        .join(",")
}

/// Framework versions Hyper-V offers to the util ICs: 1.0 and 3.0 (the guest picks; Linux
/// prefers 3.0, `fw_versions[]` in `hv_util.c`).
pub const HOST_FW_VERSIONS: [IcVersion; 2] = [IcVersion::new(1, 0), IcVersion::new(3, 0)];

/// A pending control command waiting for an IC answer.
struct Waiter {
    trans_id: u64,
    token: u64,
    what: String,
}

/// Answers waiters whose request got `event`.
fn answer_waiters(waiters: &mut Vec<Waiter>, ctx: &mut DevCtx<'_>, event: &IcEvent) {
    let (trans_id, reply) = match event {
        IcEvent::Response {
            trans_id, status, ..
        } => (
            *trans_id,
            Reply::ok(vec![format!("status={}", status_name(*status))]),
        ),
        IcEvent::Timeout { trans_id } => {
            (*trans_id, Reply::err("timeout: the guest did not answer"))
        }
        IcEvent::Negotiated => return,
    };
    waiters.retain(|w| {
        if w.trans_id == trans_id {
            let mut r = reply.clone();
            if r.ok {
                r.lines.insert(0, w.what.clone());
            }
            ctx.finish(w.token, r);
            false
        } else {
            true
        }
    });
}

/// Fails every waiter (the channel closed).
fn fail_waiters(waiters: &mut Vec<Waiter>, ctx: &mut DevCtx<'_>) {
    for w in waiters.drain(..) {
        ctx.finish(
            w.token,
            Reply::err("channel closed before the guest answered"),
        );
    }
}

/// Heartbeat IC (`heartbeat_onchannelcallback` in `hv_util.c`): the host sends a sequence
/// number every interval, the guest answers with it plus one.
pub struct Heartbeat {
    core: IcCore,
    /// Interval between heartbeats in ms (0: only on command).
    pub interval_ms: u64,
    last_sent_ms: u64,
    seq: u64,
    /// Sequence numbers the guest answered correctly.
    pub answered: u64,
    /// The last sequence number the guest returned.
    pub last_seq: Option<u64>,
    pending: Option<(u64, u64)>,
    waiters: Vec<Waiter>,
}

impl Heartbeat {
    /// Returns a heartbeat IC offering `srv` service versions.
    pub fn new(srv: &[IcVersion], interval_ms: u64) -> Heartbeat {
        Heartbeat {
            core: IcCore::new(IcMsgType::HEARTBEAT, &HOST_FW_VERSIONS, srv),
            interval_ms,
            last_sent_ms: 0,
            seq: 0x1000,
            answered: 0,
            last_seq: None,
            pending: None,
            waiters: Vec::new(),
        }
    }

    fn beat(&mut self, ctx: &mut DevCtx<'_>) -> Option<u64> {
        let mut data = HeartbeatMsgData::new_zeroed();
        self.seq += 1;
        data.seq_num = self.seq;
        let trans_id = self.core.request(ctx, data.as_bytes())?;
        self.pending = Some((trans_id, self.seq));
        self.last_sent_ms = ctx.now_ms;
        Some(trans_id)
    }
}

impl Device for Heartbeat {
    fn kind(&self) -> &'static str {
        "heartbeat"
    }

    fn start(&mut self, ctx: &mut DevCtx<'_>) {
        self.core.start(ctx);
    }

    fn close(&mut self, ctx: &mut DevCtx<'_>) {
        self.core.close();
        self.pending = None;
        fail_waiters(&mut self.waiters, ctx);
    }

    fn packet(&mut self, ctx: &mut DevCtx<'_>, pkt: &Packet) {
        let Some(event) = self.core.on_packet(ctx, pkt) else {
            return;
        };
        if let IcEvent::Response {
            trans_id,
            ref payload,
            ..
        } = event
        {
            if let Some((t, seq)) = self.pending {
                if t == trans_id {
                    self.pending = None;
                    let got = payload
                        .get(..8)
                        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
                    if got == Some(seq + 1) {
                        self.answered += 1;
                        self.last_seq = got;
                    } else {
                        ctx.protocol_error(format!(
                            "relid {}: heartbeat answer {got:?}, expected {}",
                            ctx.relid,
                            seq + 1
                        ));
                    }
                }
            }
        }
        answer_waiters(&mut self.waiters, ctx, &event);
    }

    fn tick(&mut self, ctx: &mut DevCtx<'_>) {
        if let Some(e) = self.core.tick(ctx) {
            answer_waiters(&mut self.waiters, ctx, &e);
        }
        if self.interval_ms > 0
            && matches!(self.core.state, IcState::Ready { .. })
            && !self.core.busy()
            && ctx.now_ms.saturating_sub(self.last_sent_ms) >= self.interval_ms
        {
            self.beat(ctx);
        }
    }

    fn command(&mut self, ctx: &mut DevCtx<'_>, args: &[String], token: u64) -> CmdResult {
        let pos = positional(args, &["timeout"]);
        match pos.first().copied() {
            Some("send") => match self.beat(ctx) {
                Some(trans_id) => {
                    self.waiters.push(Waiter {
                        trans_id,
                        token,
                        what: format!("seq={}", self.seq),
                    });
                    CmdResult::Pending {
                        timeout_ms: timeout_ms(args, 10),
                    }
                }
                None => CmdResult::Done(Reply::err(format!(
                    "heartbeat IC is {}",
                    self.core.describe()
                ))),
            },
            Some("interval") => match pos.get(1).and_then(|v| v.parse().ok()) {
                Some(ms) => {
                    self.interval_ms = ms;
                    CmdResult::Done(Reply::line(format!("interval_ms={ms}")))
                }
                None => CmdResult::Done(Reply::err("usage: heartbeat interval MS")),
            },
            Some("status") | None => CmdResult::Done(Reply::ok(self.status())),
            Some(other) => CmdResult::Done(Reply::err(format!(
                "unknown heartbeat command {other} (send, interval MS, status)"
            ))),
        }
    }

    fn status(&self) -> Vec<String> {
        vec![
            format!("ic={}", self.core.describe()),
            format!("answered={}", self.answered),
            format!(
                "last_seq={}",
                self.last_seq.map_or("-".to_string(), |s| s.to_string())
            ),
            format!("interval_ms={}", self.interval_ms),
            format!("timeouts={}", self.core.timeouts),
        ]
    }
}

/// Shutdown IC (`shutdown_onchannelcallback` in `hv_util.c`): power off, reboot, hibernate.
pub struct Shutdown {
    core: IcCore,
    waiters: Vec<Waiter>,
    /// The status of the last answered request.
    pub last_status: Option<HvStatus>,
}

impl Shutdown {
    /// Returns a shutdown IC offering `srv` service versions.
    pub fn new(srv: &[IcVersion]) -> Shutdown {
        Shutdown {
            core: IcCore::new(IcMsgType::SHUTDOWN, &HOST_FW_VERSIONS, srv),
            waiters: Vec::new(),
            last_status: None,
        }
    }
}

impl Device for Shutdown {
    fn kind(&self) -> &'static str {
        "shutdown"
    }

    fn start(&mut self, ctx: &mut DevCtx<'_>) {
        self.core.start(ctx);
    }

    fn close(&mut self, ctx: &mut DevCtx<'_>) {
        self.core.close();
        fail_waiters(&mut self.waiters, ctx);
    }

    fn packet(&mut self, ctx: &mut DevCtx<'_>, pkt: &Packet) {
        if let Some(event) = self.core.on_packet(ctx, pkt) {
            if let IcEvent::Response { status, .. } = event {
                self.last_status = Some(status);
            }
            answer_waiters(&mut self.waiters, ctx, &event);
        }
    }

    fn tick(&mut self, ctx: &mut DevCtx<'_>) {
        if let Some(e) = self.core.tick(ctx) {
            answer_waiters(&mut self.waiters, ctx, &e);
        }
    }

    fn command(&mut self, ctx: &mut DevCtx<'_>, args: &[String], token: u64) -> CmdResult {
        let pos = positional(args, &["timeout", "reason", "flags"]);
        let base = match pos.first().copied() {
            Some("poweroff") | Some("shutdown") => 0,
            Some("reboot") | Some("restart") => ic::SHUTDOWN_FLAG_RESTART,
            Some("hibernate") => ic::SHUTDOWN_FLAG_HIBERNATE,
            Some("status") | None => return CmdResult::Done(Reply::ok(self.status())),
            Some(other) => {
                return CmdResult::Done(Reply::err(format!(
                    "unknown shutdown command {other} (poweroff, reboot, hibernate [--force] [--flags N], status)"
                )))
            }
        };
        let mut flags = base;
        if crate::device::flag(args, "force") {
            flags |= ic::SHUTDOWN_FLAG_FORCE;
        }
        if let Some(f) = opt(args, "flags").and_then(parse_u32) {
            flags = f;
        }
        let mut msg = ShutdownMsgData::new_zeroed();
        msg.flags = flags;
        msg.reason_code = opt(args, "reason").and_then(parse_u32).unwrap_or(0);
        msg.timeout_seconds = 0;
        match self.core.request(ctx, msg.as_bytes()) {
            Some(trans_id) => {
                self.waiters.push(Waiter {
                    trans_id,
                    token,
                    what: format!("flags={flags:#x}"),
                });
                CmdResult::Pending {
                    timeout_ms: timeout_ms(args, 10),
                }
            }
            None => CmdResult::Done(Reply::err(format!(
                "shutdown IC is {}",
                self.core.describe()
            ))),
        }
    }

    fn status(&self) -> Vec<String> {
        vec![
            format!("ic={}", self.core.describe()),
            format!(
                "last_status={}",
                self.last_status.map_or("-".to_string(), status_name)
            ),
        ]
    }
}

/// Parses a decimal or `0x` hexadecimal `u32`.
pub fn parse_u32(s: &str) -> Option<u32> {
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// How the host fills `vmreferencetime` of a TimeSync 4.0 sample.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RefTime {
    /// Always 0: right for a guest whose reference counter MSR reads 0 (a QEMU without
    /// `hv-time`).
    Zero,
    /// 100 ns units since QEMU connected, about the guest's reference counter (QEMU's
    /// `hv-time` counts the VM's running time): the default.
    SinceConnect,
}

/// Time sync IC (`timesync_onchannelcallback` in `hv_util.c`) with a controllable host clock.
pub struct Timesync {
    core: IcCore,
    /// Offset of the host clock from the real UTC clock, in nanoseconds.
    pub offset_ns: i128,
    /// Period of automatic SAMPLE messages in ms (0: off).
    pub auto_ms: u64,
    /// How `vmreferencetime` is filled.
    pub reftime: RefTime,
    last_auto_ms: u64,
    waiters: Vec<Waiter>,
    /// Samples and syncs the guest answered.
    pub answered: u64,
}

impl Timesync {
    /// Returns a time-sync IC offering `srv` service versions.
    pub fn new(srv: &[IcVersion], auto_ms: u64) -> Timesync {
        Timesync {
            core: IcCore::new(IcMsgType::TIMESYNC, &HOST_FW_VERSIONS, srv),
            offset_ns: 0,
            auto_ms,
            reftime: RefTime::SinceConnect,
            last_auto_ms: 0,
            waiters: Vec::new(),
            answered: 0,
        }
    }

    /// Returns the host clock in 100 ns units since 1601-01-01 (Windows file time, the
    /// `parenttime` unit: `WLTIMEDELTA` in `hv_util.c`).
    pub fn host_time(&self) -> u64 {
        let unix_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0)
            + self.offset_ns;
        ((unix_ns / 100).max(0) as u64).wrapping_add(ic::WLTIMEDELTA)
    }

    fn send(&mut self, ctx: &mut DevCtx<'_>, flags: u8) -> Option<u64> {
        let srv = self.core.service_version()?;
        let parent = self.host_time();
        let payload = if srv.to_u32() > IcVersion::new(3, 0).to_u32() {
            let mut d = IcTimesyncRefData::new_zeroed();
            d.parenttime = parent;
            d.vmreferencetime = match self.reftime {
                RefTime::Zero => 0,
                RefTime::SinceConnect => ctx.vm_ms.saturating_mul(10_000),
            };
            d.flags = flags;
            d.as_bytes().to_vec()
        } else {
            let mut d = IcTimesyncData::new_zeroed();
            d.parenttime = parent;
            d.flags = flags;
            d.as_bytes().to_vec()
        };
        self.core.request(ctx, &payload)
    }
}

impl Device for Timesync {
    fn kind(&self) -> &'static str {
        "timesync"
    }

    fn start(&mut self, ctx: &mut DevCtx<'_>) {
        self.core.start(ctx);
    }

    fn close(&mut self, ctx: &mut DevCtx<'_>) {
        self.core.close();
        fail_waiters(&mut self.waiters, ctx);
    }

    fn packet(&mut self, ctx: &mut DevCtx<'_>, pkt: &Packet) {
        if let Some(event) = self.core.on_packet(ctx, pkt) {
            if matches!(event, IcEvent::Response { .. }) {
                self.answered += 1;
            }
            answer_waiters(&mut self.waiters, ctx, &event);
        }
    }

    fn tick(&mut self, ctx: &mut DevCtx<'_>) {
        if let Some(e) = self.core.tick(ctx) {
            answer_waiters(&mut self.waiters, ctx, &e);
        }
        if self.auto_ms > 0
            && self.core.service_version().is_some()
            && !self.core.busy()
            && ctx.now_ms.saturating_sub(self.last_auto_ms) >= self.auto_ms
        {
            self.last_auto_ms = ctx.now_ms;
            self.send(ctx, ic::ICTIMESYNCFLAG_SAMPLE);
        }
    }

    fn command(&mut self, ctx: &mut DevCtx<'_>, args: &[String], token: u64) -> CmdResult {
        let pos = positional(args, &["timeout"]);
        let flags = match pos.first().copied() {
            Some("sync") => ic::ICTIMESYNCFLAG_SYNC,
            Some("sample") => ic::ICTIMESYNCFLAG_SAMPLE,
            Some("probe") => ic::ICTIMESYNCFLAG_PROBE,
            Some("offset") => {
                return CmdResult::Done(match pos.get(1).and_then(|v| v.parse::<f64>().ok()) {
                    Some(s) => {
                        self.offset_ns = (s * 1e9) as i128;
                        Reply::line(format!("offset_ns={}", self.offset_ns))
                    }
                    None => Reply::err("usage: timesync offset SECONDS"),
                })
            }
            Some("auto") => {
                return CmdResult::Done(match pos.get(1).and_then(|v| v.parse().ok()) {
                    Some(ms) => {
                        self.auto_ms = ms;
                        Reply::line(format!("auto_ms={ms}"))
                    }
                    None => Reply::err("usage: timesync auto MS"),
                })
            }
            Some("reftime") => {
                return CmdResult::Done(match pos.get(1).copied() {
                    Some("zero") => {
                        self.reftime = RefTime::Zero;
                        Reply::line("reftime=zero")
                    }
                    Some("since-connect") => {
                        self.reftime = RefTime::SinceConnect;
                        Reply::line("reftime=since-connect")
                    }
                    _ => Reply::err("usage: timesync reftime zero|since-connect"),
                })
            }
            Some("status") | None => return CmdResult::Done(Reply::ok(self.status())),
            Some(other) => {
                return CmdResult::Done(Reply::err(format!(
                    "unknown timesync command {other} (sync, sample, probe, offset S, auto MS, reftime, status)"
                )))
            }
        };
        let host_time = self.host_time();
        match self.send(ctx, flags) {
            Some(trans_id) => {
                self.waiters.push(Waiter {
                    trans_id,
                    token,
                    what: format!("host_time={host_time}"),
                });
                CmdResult::Pending {
                    timeout_ms: timeout_ms(args, 10),
                }
            }
            None => CmdResult::Done(Reply::err(format!(
                "timesync IC is {}",
                self.core.describe()
            ))),
        }
    }

    fn status(&self) -> Vec<String> {
        vec![
            format!("ic={}", self.core.describe()),
            format!("offset_ns={}", self.offset_ns),
            format!("auto_ms={}", self.auto_ms),
            format!("answered={}", self.answered),
            format!("host_time={}", self.host_time()),
        ]
    }
}
