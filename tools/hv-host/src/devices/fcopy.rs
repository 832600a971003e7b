// SPDX-License-Identifier: GPL-2.0

//! The host side of the file-copy (FCopy) IC: push a host file into the guest.
//!
//! In Linux 7.2 the FCopy channel is bound to `uio_hv_generic` and `hv_fcopy_uio_daemon`
//! (`tools/hv/hv_fcopy_uio_daemon.c`) speaks the protocol: framework 3.0, service 1.1. A push
//! is START_FILE_COPY (`struct hv_start_fcopy`: UTF-16 file and path names, copy flags
//! OVER_WRITE/CREATE_PATH, file size), WRITE_TO_FILE chunks of at most 6144 bytes
//! (`struct hv_do_fcopy`, sent whole), then COMPLETE_FCOPY; CANCEL_FCOPY abandons it. Each
//! step is one IC transaction; a non-zero status stops the push. The daemon answers with the
//! transaction id `VMBUS_RQST_ERROR`, so answers are matched by IC transaction id.

use hv_proto::fcopy::{
    DoFcopy, FcopyHdr, FcopyOp, StartFcopy, CREATE_PATH, DATA_FRAGMENT, OVER_WRITE, W_MAX_PATH,
};
use hv_proto::ic::{HvStatus, IcMsgType, IcVersion};
use zerocopy::{FromZeros, IntoBytes};

use super::ic::{status_name, IcCore, IcEvent, HOST_FW_VERSIONS};
use super::kvp::utf16z;
use crate::device::{flag, positional, timeout_ms, CmdResult, DevCtx, Device, Packet, Reply};

/// FCopy service versions Hyper-V offers (the daemon accepts 1.1).
pub const HOST_FCOPY_VERSIONS: [IcVersion; 1] = [IcVersion::new(1, 1)];

/// The largest file `fcopy push` reads (bytes).
pub const MAX_PUSH: usize = 256 << 20;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Stage {
    Start,
    Write,
    Complete,
    Cancel,
}

struct Push {
    token: Option<u64>,
    data: Vec<u8>,
    offset: usize,
    stage: Stage,
    trans_id: u64,
    name: String,
}

/// The FCopy back end.
pub struct Fcopy {
    core: IcCore,
    push: Option<Push>,
    cancel_waiter: Option<(u64, u64)>,
    /// Results of finished pushes (name, outcome).
    pub history: Vec<(String, String)>,
}

fn hdr(op: FcopyOp) -> FcopyHdr {
    let mut h = FcopyHdr::new_zeroed();
    h.operation = op;
    h
}

impl Fcopy {
    /// Returns an FCopy back end offering `srv` service versions.
    pub fn new(srv: &[IcVersion]) -> Fcopy {
        let mut core = IcCore::new(IcMsgType::FCOPY, &HOST_FW_VERSIONS, srv);
        core.match_trans_id = false;
        Fcopy {
            core,
            push: None,
            cancel_waiter: None,
            history: Vec::new(),
        }
    }

    fn send_next(&mut self, ctx: &mut DevCtx<'_>) -> bool {
        let Some(p) = self.push.as_mut() else {
            return false;
        };
        let payload = match p.stage {
            Stage::Write => {
                let mut w = DoFcopy::new_zeroed();
                w.hdr = hdr(FcopyOp::WRITE_TO_FILE);
                let n = (p.data.len() - p.offset).min(DATA_FRAGMENT);
                w.offset = p.offset as u64;
                w.size = n as u32;
                w.data[..n].copy_from_slice(&p.data[p.offset..p.offset + n]);
                w.as_bytes().to_vec()
            }
            Stage::Complete => hdr(FcopyOp::COMPLETE_FCOPY).as_bytes().to_vec(),
            Stage::Cancel => hdr(FcopyOp::CANCEL_FCOPY).as_bytes().to_vec(),
            Stage::Start => return false,
        };
        match self.core.request(ctx, &payload) {
            Some(t) => {
                p.trans_id = t;
                true
            }
            None => false,
        }
    }

    fn finish(&mut self, ctx: &mut DevCtx<'_>, reply: Reply) {
        if let Some(p) = self.push.take() {
            let outcome = if reply.ok {
                "ok".to_string()
            } else {
                reply.lines.first().cloned().unwrap_or_default()
            };
            self.history.push((p.name.clone(), outcome));
            if let Some(t) = p.token {
                ctx.finish(t, reply);
            }
        }
    }

    fn on_answer(&mut self, ctx: &mut DevCtx<'_>, trans_id: u64, status: HvStatus) {
        if let Some((t, token)) = self.cancel_waiter {
            if t == trans_id {
                self.cancel_waiter = None;
                ctx.finish(
                    token,
                    Reply::line(format!("status={}", status_name(status))),
                );
                return;
            }
        }
        let Some(p) = self.push.as_mut() else {
            return;
        };
        if p.trans_id != trans_id {
            return;
        }
        if status != HvStatus::S_OK {
            let stage = p.stage;
            self.finish(
                ctx,
                Reply::err(format!("{stage:?} failed: status={}", status_name(status))),
            );
            return;
        }
        match p.stage {
            Stage::Start => {
                p.stage = if p.data.is_empty() {
                    Stage::Complete
                } else {
                    Stage::Write
                }
            }
            Stage::Write => {
                p.offset += (p.data.len() - p.offset).min(DATA_FRAGMENT);
                if p.offset >= p.data.len() {
                    p.stage = Stage::Complete;
                }
            }
            Stage::Complete => {
                let n = p.data.len();
                self.finish(
                    ctx,
                    Reply::ok(vec![
                        format!("status={}", status_name(status)),
                        format!("bytes={n}"),
                    ]),
                );
                return;
            }
            Stage::Cancel => {
                self.finish(ctx, Reply::err("canceled"));
                return;
            }
        }
        if !self.send_next(ctx) {
            self.finish(ctx, Reply::err("FCopy channel not ready"));
        }
    }
}

impl Device for Fcopy {
    fn kind(&self) -> &'static str {
        "fcopy"
    }

    fn start(&mut self, ctx: &mut DevCtx<'_>) {
        self.core.start(ctx);
    }

    fn close(&mut self, ctx: &mut DevCtx<'_>) {
        self.core.close();
        self.finish(ctx, Reply::err("channel closed during the copy"));
        if let Some((_, token)) = self.cancel_waiter.take() {
            ctx.finish(token, Reply::err("channel closed"));
        }
    }

    fn packet(&mut self, ctx: &mut DevCtx<'_>, pkt: &Packet) {
        if let Some(IcEvent::Response {
            trans_id, status, ..
        }) = self.core.on_packet(ctx, pkt)
        {
            self.on_answer(ctx, trans_id, status);
        }
    }

    fn tick(&mut self, ctx: &mut DevCtx<'_>) {
        if let Some(IcEvent::Timeout { trans_id }) = self.core.tick(ctx) {
            if self.push.as_ref().is_some_and(|p| p.trans_id == trans_id) {
                self.finish(ctx, Reply::err("timeout: the guest did not answer"));
            }
            if let Some((t, token)) = self.cancel_waiter {
                if t == trans_id {
                    self.cancel_waiter = None;
                    ctx.finish(token, Reply::err("timeout: the guest did not answer"));
                }
            }
        }
    }

    fn command(&mut self, ctx: &mut DevCtx<'_>, args: &[String], token: u64) -> CmdResult {
        let pos = positional(args, &["timeout"]);
        let usage = "fcopy push SRC DSTDIR NAME [--overwrite] [--create-path] | cancel | status";
        match pos.first().copied() {
            Some("push") => {
                let (Some(src), Some(dir), Some(name)) = (
                    pos.get(1).copied(),
                    pos.get(2).copied(),
                    pos.get(3).copied(),
                ) else {
                    return CmdResult::Done(Reply::err(usage));
                };
                if self.push.is_some() {
                    return CmdResult::Done(Reply::err("a copy is already running"));
                }
                let data = match std::fs::read(src) {
                    Ok(d) if d.len() <= MAX_PUSH => d,
                    Ok(_) => return CmdResult::Done(Reply::err("file too large")),
                    Err(e) => return CmdResult::Done(Reply::err(format!("{src}: {e}"))),
                };
                let mut s = StartFcopy::new_zeroed();
                s.hdr = hdr(FcopyOp::START_FILE_COPY);
                let n = utf16z(name, W_MAX_PATH * 2);
                s.file_name[..n.len()].copy_from_slice(&n);
                let d = utf16z(dir, W_MAX_PATH * 2);
                s.path_name[..d.len()].copy_from_slice(&d);
                let mut flags = 0;
                if flag(args, "overwrite") {
                    flags |= OVER_WRITE;
                }
                if flag(args, "create-path") {
                    flags |= CREATE_PATH;
                }
                s.copy_flags = flags;
                s.file_size = data.len() as u64;
                match self.core.request(ctx, s.as_bytes()) {
                    Some(trans_id) => {
                        let size = data.len();
                        self.push = Some(Push {
                            token: Some(token),
                            data,
                            offset: 0,
                            stage: Stage::Start,
                            trans_id,
                            name: format!("{dir}/{name}"),
                        });
                        // Roughly 1 s per MiB under TCG, at least 60 s.
                        let default_s = 60 + (size as u64 >> 20);
                        CmdResult::Pending {
                            timeout_ms: timeout_ms(args, default_s),
                        }
                    }
                    None => {
                        CmdResult::Done(Reply::err(format!("FCopy IC is {}", self.core.describe())))
                    }
                }
            }
            Some("cancel") => {
                // CANCEL_FCOPY is its own transaction; the running push (if any) ends.
                if let Some(p) = self.push.as_mut() {
                    if p.stage != Stage::Cancel {
                        let t = p.token.take();
                        if let Some(t) = t {
                            ctx.finish(t, Reply::err("canceled"));
                        }
                        p.stage = Stage::Cancel;
                    }
                }
                match self
                    .core
                    .request(ctx, hdr(FcopyOp::CANCEL_FCOPY).as_bytes())
                {
                    Some(t) => {
                        if self.push.as_ref().is_some_and(|p| p.stage == Stage::Cancel) {
                            self.push = None;
                            self.history.push(("-".into(), "canceled".into()));
                        }
                        self.cancel_waiter = Some((t, token));
                        CmdResult::Pending {
                            timeout_ms: timeout_ms(args, 30),
                        }
                    }
                    None => {
                        CmdResult::Done(Reply::err(format!("FCopy IC is {}", self.core.describe())))
                    }
                }
            }
            Some("status") | None => CmdResult::Done(Reply::ok(self.status())),
            Some(_) => CmdResult::Done(Reply::err(usage)),
        }
    }

    fn status(&self) -> Vec<String> {
        let mut v = vec![format!("ic={}", self.core.describe())];
        if let Some(p) = &self.push {
            v.push(format!(
                "copying={} stage={:?} offset={}/{}",
                p.name,
                p.stage,
                p.offset,
                p.data.len()
            ));
        }
        for (n, o) in &self.history {
            v.push(format!("done {n} {o}"));
        }
        v
    }
}
