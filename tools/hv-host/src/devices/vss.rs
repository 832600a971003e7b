// SPDX-License-Identifier: GPL-2.0

//! The host side of the VSS (backup) IC.
//!
//! Requests are a 12-byte `struct hv_vss_msg` after the IC header (`hv_vss_onchannelcallback()`
//! in `drivers/hv/hv_snapshot.c` requires at least that much). FREEZE, THAW and HOT_BACKUP go
//! to `hv_vss_daemon`; GET_DM_INFO, CREATE, DELETE and BU_COMPLETE are answered in the kernel.
//! The guest's answer carries the status in the IC header and, for HOT_BACKUP and
//! GET_DM_INFO, flags in the message (`VSS_HBU_NO_AUTO_RECOVERY` for hot backup).

use hv_proto::ic::{HvStatus, IcMsgType, IcVersion};
use hv_proto::vss::{VssMsg, VssOp};
use zerocopy::{FromBytes, FromZeros, IntoBytes};

use super::ic::{status_name, IcCore, IcEvent, HOST_FW_VERSIONS};
use crate::device::{opt, positional, timeout_ms, CmdResult, DevCtx, Device, Packet, Reply};

/// VSS service versions Hyper-V offers (Linux accepts only 5.0, `vss_versions[]`).
pub const HOST_VSS_VERSIONS: [IcVersion; 1] = [IcVersion::new(5, 0)];

struct Pending {
    trans_id: u64,
    token: u64,
    op: VssOp,
}

/// The VSS back end.
pub struct Vss {
    core: IcCore,
    pending: Vec<Pending>,
    /// The last answer: operation, status, flags.
    pub last: Option<(VssOp, HvStatus, u32)>,
}

impl Vss {
    /// Returns a VSS back end offering `srv` service versions.
    pub fn new(srv: &[IcVersion]) -> Vss {
        Vss {
            core: IcCore::new(IcMsgType::VSS, &HOST_FW_VERSIONS, srv),
            pending: Vec::new(),
            last: None,
        }
    }
}

impl Device for Vss {
    fn kind(&self) -> &'static str {
        "vss"
    }

    fn start(&mut self, ctx: &mut DevCtx<'_>) {
        self.core.start(ctx);
    }

    fn close(&mut self, ctx: &mut DevCtx<'_>) {
        self.core.close();
        for p in self.pending.drain(..) {
            ctx.finish(
                p.token,
                Reply::err("channel closed before the guest answered"),
            );
        }
    }

    fn packet(&mut self, ctx: &mut DevCtx<'_>, pkt: &Packet) {
        if let Some(IcEvent::Response {
            trans_id,
            status,
            payload,
        }) = self.core.on_packet(ctx, pkt)
        {
            let Some(i) = self.pending.iter().position(|p| p.trans_id == trans_id) else {
                return;
            };
            let p = self.pending.remove(i);
            let flags = VssMsg::read_from_prefix(&payload)
                .map(|(m, _)| m.flags)
                .unwrap_or(0);
            self.last = Some((p.op, status, flags));
            ctx.finish(
                p.token,
                Reply::ok(vec![
                    format!("status={}", status_name(status)),
                    format!("flags={flags:#x}"),
                ]),
            );
        }
    }

    fn tick(&mut self, ctx: &mut DevCtx<'_>) {
        if let Some(IcEvent::Timeout { trans_id }) = self.core.tick(ctx) {
            if let Some(i) = self.pending.iter().position(|p| p.trans_id == trans_id) {
                let p = self.pending.remove(i);
                ctx.finish(p.token, Reply::err("timeout: the guest did not answer"));
            }
        }
    }

    fn command(&mut self, ctx: &mut DevCtx<'_>, args: &[String], token: u64) -> CmdResult {
        let pos = positional(args, &["timeout", "pad"]);
        let op = match pos.first().copied() {
            Some("freeze") => VssOp::FREEZE,
            Some("thaw") => VssOp::THAW,
            Some("hot-backup") => VssOp::HOT_BACKUP,
            Some("get-dm-info") => VssOp::GET_DM_INFO,
            Some("create") => VssOp::CREATE,
            Some("delete") => VssOp::DELETE,
            Some("bu-complete") => VssOp::BU_COMPLETE,
            Some("status") | None => return CmdResult::Done(Reply::ok(self.status())),
            Some(other) => {
                return CmdResult::Done(Reply::err(format!(
                    "unknown vss command {other} (freeze, thaw, hot-backup, get-dm-info, create, delete, bu-complete [--pad N], status)"
                )))
            }
        };
        let mut m = VssMsg::new_zeroed();
        m.vss_hdr.operation = op;
        let mut payload = m.as_bytes().to_vec();
        // A freeze from Hyper-V may carry LUN information after the message.
        let pad = opt(args, "pad")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0usize);
        payload.resize(payload.len() + pad.min(6000), 0);
        // FREEZE waits for the daemon up to 15 minutes in C; give the command time.
        let default_s = if op == VssOp::FREEZE { 60 } else { 40 };
        match self.core.request(ctx, &payload) {
            Some(trans_id) => {
                self.pending.push(Pending {
                    trans_id,
                    token,
                    op,
                });
                CmdResult::Pending {
                    timeout_ms: timeout_ms(args, default_s),
                }
            }
            None => CmdResult::Done(Reply::err(format!("VSS IC is {}", self.core.describe()))),
        }
    }

    fn status(&self) -> Vec<String> {
        let mut v = vec![format!("ic={}", self.core.describe())];
        if let Some((op, st, flags)) = self.last {
            v.push(format!(
                "last={op:?} status={} flags={flags:#x}",
                status_name(st)
            ));
        }
        v
    }
}
