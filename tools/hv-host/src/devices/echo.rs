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

use hv_proto::ring::PacketType;

use crate::device::{positional, CmdResult, DevCtx, Device, OutPkt, Packet, Reply};

/// The echo back end.
#[derive(Default)]
pub struct Echo {
    /// Packets echoed.
    pub echoed: u64,
    /// Completions received for host packets.
    pub completions: u64,
    /// Packets of other types, ignored.
    pub other: u64,
    next_trans: u64,
}

impl Device for Echo {
    fn kind(&self) -> &'static str {
        "echo"
    }

    fn packet(&mut self, ctx: &mut DevCtx<'_>, pkt: &Packet) {
        match pkt.info.packet_type {
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
        ]
    }
}
