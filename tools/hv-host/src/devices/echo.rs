// SPDX-License-Identifier: GPL-2.0

//! The echo device, for bus tests: every in-band packet the guest sends comes back.
//!
//! A packet that asks for a completion (`VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED`) is
//! answered with a completion packet (type 11) carrying the same transaction id and payload;
//! any other in-band packet is answered with an in-band packet with the same transaction id
//! and payload and no completion request. Completions the guest sends for the host's own
//! packets (`echo send`) are counted. The answers go through the completion faults (delay,
//! drop, reorder), and the channel's signal counters show whether the guest signals only on
//! empty-to-non-empty transitions.
//!
//! A transfer-page request, an in-band packet whose payload is [`XFER_MAGIC`], a GPADL handle
//! and a range count (u32 each, little endian), is answered as netvsc's host answers received
//! frames: the device writes a pattern into ranges of that GPADL (byte `j` of range `i` is
//! `i * 31 + j`; range `i` is `1 + i * 97 % 2000` bytes at `i * 4099 % (size - 2048)`) and
//! sends one `VM_PKT_DATA_USING_XFER_PAGES` packet (page set [`XFER_PAGESET_ID`], completion
//! requested) naming them, with the payload `XFERDATA`. The guest's completion for it is
//! counted.

use hv_proto::ring::{PacketType, VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED};

use crate::device::{positional, CmdResult, DevCtx, Device, OutPkt, Packet, Reply};

/// The payload prefix of a transfer-page request.
pub const XFER_MAGIC: &[u8; 8] = b"HVXFERPG";

/// The transfer page set id of the answer (netvsc's receive buffer's, `NETVSC_RECEIVE_BUFFER_ID`).
pub const XFER_PAGESET_ID: u16 = 0xcafe;

/// Most ranges in one answer.
const XFER_MAX_RANGES: u32 = 64;

/// Transaction ids of the transfer-page packets: this bit and a sequence number.
const XFER_TRANS_BIT: u64 = 1 << 48;

/// Range `i` of a transfer-page answer into a GPADL of `size` bytes: (offset, length).
pub fn xfer_range(i: u32, size: u32) -> (u32, u32) {
    let len = 1 + i * 97 % 2000;
    (i * 4099 % (size - 2048), len)
}

/// Byte `j` of range `i` of a transfer-page answer.
pub fn xfer_byte(i: u32, j: u32) -> u8 {
    i.wrapping_mul(31).wrapping_add(j) as u8
}

/// The echo back end.
#[derive(Default)]
pub struct Echo {
    /// Packets echoed.
    pub echoed: u64,
    /// Completions received for host packets.
    pub completions: u64,
    /// Packets of other types, ignored.
    pub other: u64,
    /// Transfer-page packets sent.
    pub xfer_sent: u64,
    /// The guest's completions for them.
    pub xfer_completions: u64,
    next_trans: u64,
}

impl Device for Echo {
    fn kind(&self) -> &'static str {
        "echo"
    }

    fn packet(&mut self, ctx: &mut DevCtx<'_>, pkt: &Packet) {
        match pkt.info.packet_type {
            PacketType::DATA_INBAND if pkt.payload.starts_with(XFER_MAGIC) => {
                self.xfer(ctx, &pkt.payload);
            }
            PacketType::COMP if pkt.info.trans_id & XFER_TRANS_BIT != 0 => {
                self.xfer_completions += 1;
            }
            PacketType::DATA_INBAND => {
                self.echoed += 1;
                let answer = if pkt.info.completion_requested() {
                    OutPkt::completion(pkt.info.trans_id, pkt.payload.clone())
                } else {
                    OutPkt::inband(pkt.info.trans_id, false, pkt.payload.clone())
                };
                ctx.respond(answer);
            }
            PacketType::COMP => self.completions += 1,
            _ => self.other += 1,
        }
    }

    fn command(&mut self, ctx: &mut DevCtx<'_>, args: &[String], _token: u64) -> CmdResult {
        let pos = positional(args, &[]);
        match pos.first().copied() {
            Some("send") => {
                let count: u64 = pos.get(1).and_then(|v| v.parse().ok()).unwrap_or(1);
                let size: usize = pos.get(2).and_then(|v| v.parse().ok()).unwrap_or(64);
                let completion = pos.get(3) == Some(&"completion");
                for _ in 0..count {
                    self.next_trans += 1;
                    let payload: Vec<u8> = (0..size)
                        .map(|i| (i as u64 + self.next_trans) as u8)
                        .collect();
                    if !ctx.send(OutPkt::inband(self.next_trans, completion, payload)) {
                        return CmdResult::Done(Reply::err("channel not open"));
                    }
                }
                CmdResult::Done(Reply::line(format!("queued={count}")))
            }
            Some("status") | None => CmdResult::Done(Reply::ok(self.status())),
            Some(other) => CmdResult::Done(Reply::err(format!(
                "unknown echo command {other} (send [COUNT [SIZE [completion]]], status)"
            ))),
        }
    }

    fn status(&self) -> Vec<String> {
        vec![
            format!("echoed={}", self.echoed),
            format!("completions={}", self.completions),
            format!("other={}", self.other),
            format!("xfer_sent={}", self.xfer_sent),
            format!("xfer_completions={}", self.xfer_completions),
        ]
    }
}

impl Echo {
    /// Answers a transfer-page request (see the module documentation).
    fn xfer(&mut self, ctx: &mut DevCtx<'_>, payload: &[u8]) {
        let word = |at: usize| {
            payload
                .get(at..at + 4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        };
        let (Some(handle), Some(count)) = (word(8), word(12)) else {
            ctx.log("echo: short transfer-page request");
            return;
        };
        let count = count.min(XFER_MAX_RANGES);
        let Some((pages, size)) = ctx.gpadl(handle).map(|(p, s)| (p.to_vec(), s)) else {
            ctx.log(format!(
                "echo: transfer-page request for unknown GPADL {handle:#x}"
            ));
            return;
        };
        if size <= 4096 || pages.len() * 4096 < size as usize {
            ctx.log(format!(
                "echo: GPADL {handle:#x} of {size} bytes is too small"
            ));
            return;
        }
        let Some(mem) = ctx.memory().cloned() else {
            ctx.log("echo: no guest memory");
            return;
        };
        let mut ext = Vec::with_capacity(8 + 8 * count as usize);
        ext.extend_from_slice(&XFER_PAGESET_ID.to_le_bytes());
        ext.extend_from_slice(&[0, 0]);
        ext.extend_from_slice(&count.to_le_bytes());
        for i in 0..count {
            let (offset, len) = xfer_range(i, size);
            let data: Vec<u8> = (0..len).map(|j| xfer_byte(i, j)).collect();
            // Page by page: the GPADL's pages need not be contiguous in the guest.
            let mut done = 0usize;
            while done < data.len() {
                let at = offset as usize + done;
                let n = (4096 - at % 4096).min(data.len() - done);
                let gpa = pages[at / 4096] + (at % 4096) as u64;
                if mem.write(gpa, &data[done..done + n]).is_err() {
                    ctx.log(format!(
                        "echo: GPADL {handle:#x} names memory that is not RAM"
                    ));
                    return;
                }
                done += n;
            }
            ext.extend_from_slice(&len.to_le_bytes());
            ext.extend_from_slice(&offset.to_le_bytes());
        }
        self.xfer_sent += 1;
        let pkt = OutPkt {
            packet_type: PacketType::DATA_USING_XFER_PAGES,
            flags: VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED,
            trans_id: XFER_TRANS_BIT | self.xfer_sent,
            ext_header: ext,
            payload: b"XFERDATA".to_vec(),
        };
        ctx.log(format!(
            "echo: {count} transfer-page ranges written into GPADL {handle:#x}"
        ));
        ctx.send(pkt);
    }
}
