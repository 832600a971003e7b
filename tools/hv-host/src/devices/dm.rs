// SPDX-License-Identifier: GPL-2.0

//! The host side of Dynamic Memory (`drivers/hv/hv_balloon.c`, the guest end).
//!
//! Every message is an in-band packet without completion that starts with a `struct
//! dm_header` (`hv_proto::dm`). The guest sends VERSION_REQUEST 2.0, then 1.0, then 0.3 with
//! `is_last_attempt` (`balloon_connect_vsp()`, `version_resp()`): the host accepts a version of
//! its list (the spec's `versions`, default 2.0, 1.0, 0.3) unless `dm refuse-version` refused it.
//! Then CAPABILITIES_REPORT (accepted), and a STATUS_REPORT about every second, recorded.
//!
//! Host requests (CLI): `dm balloon PAGES` sends BALLOON_REQUEST and collects the guest's
//! BALLOON_RESPONSEs until one without `more_pages`; every range must be guest RAM as far as the
//! engine knows it, must not overlap another range of the answer or a page the host already
//! holds; the pages are then held. `dm unballoon PAGES|all` gives held pages back in
//! UNBALLOON_REQUESTs of at most 510 ranges (the C receive buffer is one page), `more_pages` on
//! all but the last, and waits for the UNBALLOON_RESPONSE. `dm hot-add START PAGES [--region
//! START,PAGES]` sends MEM_HOT_ADD_REQUEST (24 bytes with a region) and records the answer.
//! `dm malformed truncated-balloon|unballoon-overcount|short|unknown` sends broken messages.
//! Guest violations (wrong sizes, unexpected answers, bad ranges) are protocol errors.

use std::collections::BTreeMap;

use hv_proto::dm::{
    DmBalloon, DmBalloonResponse, DmCapabilities, DmCapabilitiesResp, DmCaps, DmHeader, DmHotAdd,
    DmHotAddResponse, DmMemPageRange, DmMessageType, DmStatus, DmUnballoonRequest,
    DmVersionRequest, DmVersionResponse, DYNMEM_PROTOCOL_VERSION_WIN10,
    DYNMEM_PROTOCOL_VERSION_WIN7, DYNMEM_PROTOCOL_VERSION_WIN8,
};
use hv_proto::ic::IcVersion;
use hv_proto::ring::PacketType;
use zerocopy::{FromBytes, IntoBytes};

use crate::device::{
    opt, positional, timeout_ms, CmdResult, DevCtx, Device, OutPkt, Packet, Reply,
};

/// The Dynamic Memory versions Hyper-V accepts (2.0 Windows 10, 1.0 Windows 8, 0.3 Windows 7).
pub const HOST_DM_VERSIONS: [IcVersion; 3] = [
    IcVersion::new(2, 0),
    IcVersion::new(1, 0),
    IcVersion::new(0, 3),
];

/// Most ranges in one host message: the guest's receive buffer is one page.
pub const MAX_UNBALLOON_RANGES: usize = (4096 - 16) / 8;

const PAGE: u64 = 4096;

/// Formats a DM version word (`major << 16 | minor`).
pub fn version_name(v: u32) -> String {
    format!("{}.{}", v >> 16, v & 0xffff)
}

/// Parses `X.Y` into a DM version word.
pub fn parse_dm_version(s: &str) -> Option<u32> {
    let (a, b) = s.split_once('.')?;
    Some(u32::from(a.parse::<u16>().ok()?) << 16 | u32::from(b.parse::<u16>().ok()?))
}

/// Parses a decimal or `0x` hexadecimal number.
pub fn parse_u64(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

struct BalloonOp {
    token: u64,
    requested: u32,
    pages: u64,
    ranges: u64,
    responses: u64,
}

/// The Dynamic Memory back end.
pub struct Dm {
    accepted: Vec<u32>,
    refused: Vec<u32>,
    /// Versions the guest asked for in this session, in order.
    pub tried: Vec<u32>,
    /// The negotiated version.
    pub version: Option<u32>,
    /// The guest's capabilities report.
    pub caps: Option<DmCaps>,
    /// The last status report.
    pub last_status: Option<DmStatus>,
    /// Status reports received.
    pub reports: u64,
    /// Pages the guest gave the host: start -> count, disjoint.
    pub held: BTreeMap<u64, u64>,
    balloon: Option<BalloonOp>,
    unballoon: Option<(u64, u64)>,
    /// The outstanding hot-add request: token, pages requested.
    hot_add: Option<(u64, u64)>,
    /// The last hot-add answer: page count, result.
    pub last_hot_add: Option<(u32, u32)>,
    /// The last balloon outcome: requested, pages, ranges, responses.
    pub last_balloon: Option<(u32, u64, u64, u64)>,
    next_trans: u32,
}

impl Dm {
    /// Returns a back end accepting the versions `versions` (empty: Hyper-V's list).
    pub fn new(versions: &[IcVersion]) -> Dm {
        let v = if versions.is_empty() {
            &HOST_DM_VERSIONS[..]
        } else {
            versions
        };
        Dm {
            accepted: v
                .iter()
                .map(|v| u32::from(v.major) << 16 | u32::from(v.minor))
                .collect(),
            refused: Vec::new(),
            tried: Vec::new(),
            version: None,
            caps: None,
            last_status: None,
            reports: 0,
            held: BTreeMap::new(),
            balloon: None,
            unballoon: None,
            hot_add: None,
            last_hot_add: None,
            last_balloon: None,
            next_trans: 0,
        }
    }

    /// Pages held for the host.
    pub fn held_pages(&self) -> u64 {
        self.held.values().sum()
    }

    fn trans(&mut self) -> u32 {
        self.next_trans = self.next_trans.wrapping_add(1);
        self.next_trans
    }

    /// Whether `[start, start + cnt)` overlaps a held range.
    fn overlaps_held(&self, start: u64, cnt: u64) -> bool {
        let end = start + cnt;
        if let Some((&s, &c)) = self.held.range(..end).next_back() {
            if s + c > start {
                return true;
            }
        }
        false
    }

    fn hold(&mut self, start: u64, cnt: u64) {
        self.held.insert(start, cnt);
    }

    /// Takes up to `pages` held pages (lowest first), splitting a range if needed.
    fn take_held(&mut self, mut pages: u64) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        while pages > 0 {
            let Some((&s, &c)) = self.held.iter().next() else {
                break;
            };
            self.held.remove(&s);
            let n = c.min(pages).min(DmMemPageRange::MAX_PAGE_CNT);
            out.push((s, n));
            if n < c {
                self.held.insert(s + n, c - n);
            }
            pages -= n;
        }
        out
    }

    fn send(ctx: &mut DevCtx<'_>, bytes: Vec<u8>) -> bool {
        ctx.send(OutPkt::inband(0, false, bytes))
    }

    fn on_balloon_response(&mut self, ctx: &mut DevCtx<'_>, hdr: &DmHeader, buf: &[u8]) {
        let Ok((m, _)) = DmBalloonResponse::read_from_prefix(buf) else {
            ctx.protocol_error(format!("dm: BALLOON_RESPONSE of {} bytes", buf.len()));
            return;
        };
        let more = m.more_count & 1 != 0;
        let count = (m.more_count >> 1) as usize;
        let want = 16 + count * 8;
        if usize::from(hdr.size) != want || buf.len() < want {
            ctx.protocol_error(format!(
                "dm: BALLOON_RESPONSE with {count} ranges has size {} (packet {} bytes), want {want}",
                { hdr.size },
                buf.len()
            ));
            return;
        }
        let Some(mut op) = self.balloon.take() else {
            ctx.protocol_error("dm: BALLOON_RESPONSE without a balloon request");
            return;
        };
        op.responses += 1;
        let ram = ctx.memory().cloned();
        for i in 0..count {
            let at = 16 + i * 8;
            let r = DmMemPageRange(u64::read_from_bytes(&buf[at..at + 8]).unwrap_or(0));
            let (s, c) = (r.start_page(), r.page_cnt());
            if c == 0 {
                ctx.protocol_error(format!("dm: balloon range {i} at pfn {s:#x} has no pages"));
                continue;
            }
            if let Some(ram) = &ram {
                if !ram.contains(s * PAGE, c * PAGE) {
                    ctx.protocol_error(format!("dm: ballooned pages {s:#x}+{c} are not guest RAM"));
                    continue;
                }
            }
            if self.overlaps_held(s, c) {
                ctx.protocol_error(format!(
                    "dm: ballooned pages {s:#x}+{c} overlap pages already held or given twice"
                ));
                continue;
            }
            self.hold(s, c);
            op.pages += c;
            op.ranges += 1;
        }
        if u64::from(op.requested) < op.pages {
            ctx.protocol_error(format!(
                "dm: the guest gave {} pages for a request of {}",
                op.pages, op.requested
            ));
        }
        if more {
            self.balloon = Some(op);
            return;
        }
        self.last_balloon = Some((op.requested, op.pages, op.ranges, op.responses));
        ctx.log(format!(
            "dm: ballooned {} of {} pages in {} ranges, {} responses",
            op.pages, op.requested, op.ranges, op.responses
        ));
        ctx.finish(
            op.token,
            Reply::ok(vec![
                format!("requested={}", op.requested),
                format!("pages={}", op.pages),
                format!("ranges={}", op.ranges),
                format!("responses={}", op.responses),
                format!("held={}", self.held_pages()),
            ]),
        );
    }

    fn status_lines(&self) -> Vec<String> {
        let mut v = vec![
            format!(
                "version={}",
                self.version.map_or("none".into(), version_name)
            ),
            format!(
                "tried={}",
                self.tried
                    .iter()
                    .map(|v| version_name(*v))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            format!(
                "refused={}",
                self.refused
                    .iter()
                    .map(|v| version_name(*v))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        ];
        match self.caps {
            Some(c) => v.push(format!(
                "caps=balloon:{} hot_add:{} alignment:{}",
                u8::from(c.balloon()),
                u8::from(c.hot_add()),
                c.hot_add_alignment()
            )),
            None => v.push("caps=none".into()),
        }
        v.push(format!("reports={}", self.reports));
        if let Some(s) = self.last_status {
            v.push(format!(
                "last_status=avail:{} committed:{}",
                { s.num_avail },
                { s.num_committed }
            ));
        }
        v.push(format!("held_pages={}", self.held_pages()));
        v.push(format!("held_ranges={}", self.held.len()));
        if let Some((r, p, n, k)) = self.last_balloon {
            v.push(format!(
                "last_balloon=requested:{r} pages:{p} ranges:{n} responses:{k}"
            ));
        }
        if let Some((p, r)) = self.last_hot_add {
            v.push(format!("last_hot_add=page_count:{p} result:{r}"));
        }
        v
    }
}

fn expect_size(ctx: &mut DevCtx<'_>, name: &str, hdr: &DmHeader, len: usize, want: usize) -> bool {
    if usize::from(hdr.size) != want || len < want {
        ctx.protocol_error(format!(
            "dm: {name} has size {} in a packet of {len} bytes, want {want}",
            { hdr.size }
        ));
        return false;
    }
    true
}

impl Device for Dm {
    fn kind(&self) -> &'static str {
        "dm"
    }

    fn open(&mut self, _ctx: &mut DevCtx<'_>, _userdata: &[u8]) -> Result<(), u32> {
        // A new session (probe): the guest negotiates again and holds nothing for us.
        self.tried.clear();
        self.version = None;
        self.caps = None;
        Ok(())
    }

    fn close(&mut self, ctx: &mut DevCtx<'_>) {
        if !self.held.is_empty() {
            ctx.log(format!(
                "dm: channel closed with {} pages held; forgotten",
                self.held_pages()
            ));
            self.held.clear();
        }
        let pending = [
            self.balloon.take().map(|o| o.token),
            self.unballoon.take().map(|u| u.0),
            self.hot_add.take().map(|h| h.0),
        ];
        for t in pending.into_iter().flatten() {
            ctx.finish(t, Reply::err("channel closed before the guest answered"));
        }
    }

    fn packet(&mut self, ctx: &mut DevCtx<'_>, pkt: &Packet) {
        if pkt.info.packet_type != PacketType::DATA_INBAND {
            ctx.protocol_error(format!(
                "dm: packet type {:?}, not in-band",
                pkt.info.packet_type
            ));
            return;
        }
        let buf = &pkt.payload[..];
        let Ok((hdr, _)) = DmHeader::read_from_prefix(buf) else {
            ctx.protocol_error(format!("dm: packet of {} bytes, no header", buf.len()));
            return;
        };
        match hdr.type_ {
            DmMessageType::VERSION_REQUEST => {
                if !expect_size(ctx, "VERSION_REQUEST", &hdr, buf.len(), 16) {
                    return;
                }
                let m = DmVersionRequest::read_from_prefix(buf)
                    .map(|(m, _)| m)
                    .unwrap_or_default();
                let v = m.version;
                let last = m.flags & 1 != 0;
                // C: 2.0 and 1.0 without, 0.3 with is_last_attempt.
                if last != (v == DYNMEM_PROTOCOL_VERSION_WIN7)
                    && [
                        DYNMEM_PROTOCOL_VERSION_WIN10,
                        DYNMEM_PROTOCOL_VERSION_WIN8,
                        DYNMEM_PROTOCOL_VERSION_WIN7,
                    ]
                    .contains(&v)
                {
                    ctx.protocol_error(format!(
                        "dm: VERSION_REQUEST {} with is_last_attempt={}",
                        version_name(v),
                        u8::from(last)
                    ));
                }
                if self.version.is_some() {
                    ctx.protocol_error("dm: VERSION_REQUEST after a version was accepted");
                }
                self.tried.push(v);
                let ok = self.accepted.contains(&v) && !self.refused.contains(&v);
                if ok {
                    self.version = Some(v);
                }
                ctx.log(format!(
                    "dm: version {} {}",
                    version_name(v),
                    if ok { "accepted" } else { "refused" }
                ));
                let r = DmVersionResponse {
                    hdr: DmHeader::for_message::<DmVersionResponse>(
                        DmMessageType::VERSION_RESPONSE,
                        hdr.trans_id,
                    ),
                    flags: u64::from(ok),
                };
                Self::send(ctx, r.as_bytes().to_vec());
            }
            DmMessageType::CAPABILITIES_REPORT => {
                if !expect_size(ctx, "CAPABILITIES_REPORT", &hdr, buf.len(), 32) {
                    return;
                }
                if self.version.is_none() {
                    ctx.protocol_error("dm: CAPABILITIES_REPORT before a version was accepted");
                }
                let m = DmCapabilities::read_from_prefix(buf)
                    .map(|(m, _)| m)
                    .unwrap_or_default();
                self.caps = Some(m.caps);
                let r = DmCapabilitiesResp {
                    hdr: DmHeader::for_message::<DmCapabilitiesResp>(
                        DmMessageType::CAPABILITIES_RESPONSE,
                        hdr.trans_id,
                    ),
                    flags: 1,
                };
                Self::send(ctx, r.as_bytes().to_vec());
            }
            DmMessageType::STATUS_REPORT => {
                if !expect_size(ctx, "STATUS_REPORT", &hdr, buf.len(), 48) {
                    return;
                }
                if self.caps.is_none() {
                    ctx.protocol_error("dm: STATUS_REPORT before the capabilities report");
                }
                self.last_status = DmStatus::read_from_prefix(buf).ok().map(|(m, _)| m);
                self.reports += 1;
            }
            DmMessageType::BALLOON_RESPONSE => self.on_balloon_response(ctx, &hdr, buf),
            DmMessageType::UNBALLOON_RESPONSE => {
                if !expect_size(ctx, "UNBALLOON_RESPONSE", &hdr, buf.len(), 8) {
                    return;
                }
                match self.unballoon.take() {
                    Some((token, pages)) => ctx.finish(
                        token,
                        Reply::ok(vec![
                            format!("pages={pages}"),
                            format!("held={}", self.held_pages()),
                        ]),
                    ),
                    None => ctx.protocol_error("dm: UNBALLOON_RESPONSE without a request"),
                }
            }
            DmMessageType::MEM_HOT_ADD_RESPONSE => {
                if !expect_size(ctx, "MEM_HOT_ADD_RESPONSE", &hdr, buf.len(), 16) {
                    return;
                }
                let m = DmHotAddResponse::read_from_prefix(buf)
                    .map(|(m, _)| m)
                    .unwrap_or_default();
                self.last_hot_add = Some((m.page_count, m.result));
                match self.hot_add.take() {
                    Some((token, requested)) => {
                        // The guest may add fewer pages than asked (a partial success), never
                        // more; `result` is 0 or 1.
                        if u64::from(m.page_count) > requested || m.result > 1 {
                            ctx.protocol_error(format!(
                                "dm: MEM_HOT_ADD_RESPONSE page_count {} result {} for a request of {requested} pages",
                                { m.page_count },
                                { m.result }
                            ));
                        }
                        ctx.log(format!(
                            "dm: hot-add of {requested} pages answered page_count={} result={}",
                            { m.page_count },
                            { m.result }
                        ));
                        ctx.finish(
                            token,
                            Reply::ok(vec![
                                format!("requested={requested}"),
                                format!("page_count={}", { m.page_count }),
                                format!("result={}", { m.result }),
                            ]),
                        )
                    }
                    None => ctx.protocol_error("dm: MEM_HOT_ADD_RESPONSE without a request"),
                }
            }
            t => ctx.protocol_error(format!("dm: unexpected message type {}", t.0)),
        }
    }

    fn command(&mut self, ctx: &mut DevCtx<'_>, args: &[String], token: u64) -> CmdResult {
        let pos = positional(args, &["timeout", "region"]);
        let arg = |i: usize| pos.get(i).copied().and_then(parse_u64);
        let busy = |what: &str| CmdResult::Done(Reply::err(format!("a {what} is outstanding")));
        match pos.first().copied() {
            Some("status") | None => CmdResult::Done(Reply::ok(self.status_lines())),
            Some("refuse-version") | Some("accept-version") => {
                let refuse = pos[0] == "refuse-version";
                let Some(s) = pos.get(1) else {
                    return CmdResult::Done(Reply::err("which version (X.Y or none)?"));
                };
                if *s == "none" {
                    self.refused.clear();
                } else {
                    let Some(v) = parse_dm_version(s) else {
                        return CmdResult::Done(Reply::err(format!("bad version {s}")));
                    };
                    self.refused.retain(|r| *r != v);
                    if refuse {
                        self.refused.push(v);
                    }
                }
                CmdResult::Done(Reply::ok(self.status_lines()))
            }
            Some("balloon") => {
                let Some(n) = arg(1).and_then(|n| u32::try_from(n).ok()) else {
                    return CmdResult::Done(Reply::err("dm balloon PAGES"));
                };
                if self.balloon.is_some() {
                    return busy("balloon request");
                }
                if self.caps.is_none() {
                    return CmdResult::Done(Reply::err("the guest has not reported capabilities"));
                }
                let m = DmBalloon {
                    hdr: DmHeader::for_message::<DmBalloon>(
                        DmMessageType::BALLOON_REQUEST,
                        self.trans(),
                    ),
                    num_pages: n,
                    reservedz: 0,
                };
                if !Self::send(ctx, m.as_bytes().to_vec()) {
                    return CmdResult::Done(Reply::err("channel not open"));
                }
                self.start_balloon(token, n);
                CmdResult::Pending {
                    timeout_ms: timeout_ms(args, 300),
                }
            }
            Some("unballoon") => {
                if self.unballoon.is_some() {
                    return busy("unballoon request");
                }
                let pages = match pos.get(1).copied() {
                    Some("all") => self.held_pages(),
                    _ => match arg(1) {
                        Some(n) => n,
                        None => return CmdResult::Done(Reply::err("dm unballoon PAGES|all")),
                    },
                };
                if !ctx.is_open() {
                    return CmdResult::Done(Reply::err("channel not open"));
                }
                let ranges = self.take_held(pages);
                let total: u64 = ranges.iter().map(|r| r.1).sum();
                let chunks: Vec<_> = ranges.chunks(MAX_UNBALLOON_RANGES).collect();
                let n = chunks.len().max(1);
                for i in 0..n {
                    let c = chunks.get(i).copied().unwrap_or(&[]);
                    let mut b = DmUnballoonRequest {
                        hdr: DmHeader {
                            type_: DmMessageType::UNBALLOON_REQUEST,
                            size: (16 + c.len() * 8) as u16,
                            trans_id: self.trans(),
                        },
                        flags: u32::from(i + 1 < n),
                        range_count: c.len() as u32,
                    }
                    .as_bytes()
                    .to_vec();
                    for (s, k) in c {
                        b.extend_from_slice(DmMemPageRange::new(*s, *k).as_bytes());
                    }
                    Self::send(ctx, b);
                }
                self.unballoon = Some((token, total));
                CmdResult::Pending {
                    timeout_ms: timeout_ms(args, 120),
                }
            }
            Some("hot-add") => {
                let (Some(start), Some(cnt)) = (arg(1), arg(2)) else {
                    return CmdResult::Done(Reply::err(
                        "dm hot-add START PAGES [--region START,PAGES]",
                    ));
                };
                if self.hot_add.is_some() {
                    return busy("hot-add request");
                }
                let region = match opt(args, "region") {
                    Some(r) => {
                        let parsed = r
                            .split_once(',')
                            .and_then(|(a, b)| Some((parse_u64(a)?, parse_u64(b)?)));
                        match parsed {
                            Some(p) => Some(p),
                            None => return CmdResult::Done(Reply::err(format!("bad region {r}"))),
                        }
                    }
                    None => None,
                };
                let mut b = DmHotAdd {
                    hdr: DmHeader {
                        type_: DmMessageType::MEM_HOT_ADD_REQUEST,
                        size: if region.is_some() { 24 } else { 16 },
                        trans_id: self.trans(),
                    },
                    range: DmMemPageRange::new(start, cnt),
                }
                .as_bytes()
                .to_vec();
                if let Some((s, k)) = region {
                    b.extend_from_slice(DmMemPageRange::new(s, k).as_bytes());
                }
                if !Self::send(ctx, b) {
                    return CmdResult::Done(Reply::err("channel not open"));
                }
                self.hot_add = Some((token, cnt));
                CmdResult::Pending {
                    timeout_ms: timeout_ms(args, 120),
                }
            }
            Some("malformed") => self.malformed(ctx, args, &pos, token),
            Some(other) => CmdResult::Done(Reply::err(format!(
                "unknown dm command {other} (status, balloon PAGES, unballoon PAGES|all, \
                 hot-add START PAGES [--region START,PAGES], refuse-version X.Y|none, \
                 accept-version X.Y, malformed truncated-balloon|unballoon-overcount|short|unknown)"
            ))),
        }
    }

    fn status(&self) -> Vec<String> {
        self.status_lines()
    }
}

impl Dm {
    fn start_balloon(&mut self, token: u64, requested: u32) {
        self.balloon = Some(BalloonOp {
            token,
            requested,
            pages: 0,
            ranges: 0,
            responses: 0,
        });
    }

    /// `dm malformed KIND`: broken host messages.
    ///
    /// - `truncated-balloon`: a BALLOON_REQUEST of 8 bytes, the header alone (`hdr.size` 8):
    ///   C and ours read the missing `num_pages` as zero (the packet's padding, or their cleared
    ///   buffer). The answer is collected like `dm balloon`'s, for 0 pages.
    /// - `unballoon-overcount [N]`: an UNBALLOON_REQUEST announcing N (default 1000) ranges
    ///   and carrying one (the first held page, still held: a guest that drops the request
    ///   keeps it; else page 0 with no pages). The C driver reads past its buffer and frees
    ///   what it finds there: do not send it to C. No answer is expected.
    /// - `short`: a packet of 4 bytes, less than a header (type 255; the ring pads it to 8).
    ///   No answer.
    /// - `unknown`: a message of type 99. No answer.
    fn malformed(
        &mut self,
        ctx: &mut DevCtx<'_>,
        args: &[String],
        pos: &[&str],
        token: u64,
    ) -> CmdResult {
        let bytes = match pos.get(1).copied() {
            Some("truncated-balloon") => {
                if self.balloon.is_some() {
                    return CmdResult::Done(Reply::err("a balloon request is outstanding"));
                }
                let b = DmHeader {
                    type_: DmMessageType::BALLOON_REQUEST,
                    size: 8,
                    trans_id: self.trans(),
                }
                .as_bytes()
                .to_vec();
                if !Self::send(ctx, b) {
                    return CmdResult::Done(Reply::err("channel not open"));
                }
                self.start_balloon(token, 0);
                return CmdResult::Pending {
                    timeout_ms: timeout_ms(args, 120),
                };
            }
            Some("unballoon-overcount") => {
                let n = pos.get(2).and_then(|s| parse_u64(s)).unwrap_or(1000) as u32;
                let r = self.held.iter().next().map_or((0, 0), |(s, _)| (*s, 1));
                let mut b = DmUnballoonRequest {
                    hdr: DmHeader {
                        type_: DmMessageType::UNBALLOON_REQUEST,
                        size: 24,
                        trans_id: self.trans(),
                    },
                    flags: 0,
                    range_count: n,
                }
                .as_bytes()
                .to_vec();
                b.extend_from_slice(DmMemPageRange::new(r.0, r.1).as_bytes());
                b
            }
            Some("short") => vec![0xff, 0, 4, 0],
            Some("unknown") => DmHeader {
                type_: DmMessageType(99),
                size: 8,
                trans_id: self.trans(),
            }
            .as_bytes()
            .to_vec(),
            _ => {
                return CmdResult::Done(Reply::err(
                    "dm malformed truncated-balloon|unballoon-overcount [N]|short|unknown",
                ))
            }
        };
        if !Self::send(ctx, bytes) {
            return CmdResult::Done(Reply::err("channel not open"));
        }
        CmdResult::Done(Reply::line("sent"))
    }
}
