// SPDX-License-Identifier: GPL-2.0

//! The host side of the key-value pair (KVP) IC.
//!
//! The host sends one `struct hv_kvp_msg` per transaction after the IC header, always the whole
//! 7432 bytes: the guest (`kvp_on_channel_callback()` in `drivers/hv/hv_kvp.c`) answers by
//! rewriting that buffer and sending `recvlen` bytes back, so a shorter request would truncate
//! the answer. Keys and values travel as UTF-16LE with byte sizes that include the terminator;
//! IP-info operations use `struct hv_kvp_ip_msg` in the same place (Linux reads that layout at
//! every KVP version it negotiates). Enumeration asks for index 0, 1, ... until the guest
//! answers with a non-zero status (`HV_S_CONT`).
//!
//! The host keeps a mirror of what it learned of each pool (`kvp pools`).

use std::collections::BTreeMap;

use hv_proto::ic::{HvStatus, IcMsgType, IcVersion};
use hv_proto::kvp::{
    AddrFamily, KvpExchgMsgValue, KvpIpMsg, KvpMsg, KvpMsgDelete, KvpMsgEnumerate, KvpOp, KvpPool,
    KvpValueType, HV_KVP_EXCHANGE_MAX_KEY_SIZE, HV_KVP_EXCHANGE_MAX_VALUE_SIZE,
};
use zerocopy::{FromBytes, FromZeros, IntoBytes};

use super::ic::{status_name, IcCore, IcEvent, HOST_FW_VERSIONS};
use crate::device::{flag, opt, positional, timeout_ms, CmdResult, DevCtx, Device, Packet, Reply};

/// KVP service versions Hyper-V offers (Linux accepts 4.0, 3.0 and 1.0, `kvp_versions[]`).
pub const HOST_KVP_VERSIONS: [IcVersion; 4] = [
    IcVersion::new(1, 0),
    IcVersion::new(3, 0),
    IcVersion::new(4, 0),
    IcVersion::new(5, 0),
];

/// Encodes `s` as UTF-16LE with a terminator; returns the bytes (truncated to `max` bytes
/// including the terminator).
pub fn utf16z(s: &str, max: usize) -> Vec<u8> {
    let mut v: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
    v.truncate(max.saturating_sub(2) & !1);
    v.extend_from_slice(&[0, 0]);
    v
}

/// Decodes UTF-16LE `b` up to the first NUL unit.
pub fn from_utf16z(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|u| *u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

/// Parses a pool number or name.
pub fn parse_pool(s: &str) -> Option<KvpPool> {
    Some(match s {
        "0" | "external" => KvpPool::EXTERNAL,
        "1" | "guest" => KvpPool::GUEST,
        "2" | "auto" => KvpPool::AUTO,
        "3" | "auto_external" | "auto-external" => KvpPool::AUTO_EXTERNAL,
        "4" | "auto_internal" | "auto-internal" => KvpPool::AUTO_INTERNAL,
        _ => return None,
    })
}

/// What an outstanding KVP request is for.
enum Op {
    Set {
        pool: u8,
        key: String,
        value: String,
    },
    Get {
        pool: u8,
        key: String,
    },
    Delete {
        pool: u8,
        key: String,
    },
    Enum {
        pool: u8,
        index: u32,
        max: u32,
        found: Vec<(String, String)>,
    },
    IpGet,
    IpSet,
}

struct Pending {
    trans_id: u64,
    token: Option<u64>,
    op: Op,
}

/// The KVP back end.
pub struct Kvp {
    core: IcCore,
    pending: Vec<Pending>,
    /// What the host learned of each pool (0-4).
    pub pools: [BTreeMap<String, String>; 5],
}

fn set_value(v: &mut KvpExchgMsgValue, key: &str, value: &str, kind: &str) -> Result<(), String> {
    let k = utf16z(key, HV_KVP_EXCHANGE_MAX_KEY_SIZE);
    v.key[..k.len()].copy_from_slice(&k);
    v.key_size = k.len() as u32;
    match kind {
        "sz" => {
            let val = utf16z(value, HV_KVP_EXCHANGE_MAX_VALUE_SIZE);
            v.value[..val.len()].copy_from_slice(&val);
            v.value_size = val.len() as u32;
            v.value_type = KvpValueType::REG_SZ;
        }
        "u32" => {
            let n: u32 = value.parse().map_err(|_| format!("{value} is not a u32"))?;
            v.value[..4].copy_from_slice(&n.to_le_bytes());
            v.value_size = 4;
            v.value_type = KvpValueType::REG_U32;
        }
        _ => {
            let n: u64 = value.parse().map_err(|_| format!("{value} is not a u64"))?;
            v.value[..8].copy_from_slice(&n.to_le_bytes());
            v.value_size = 8;
            v.value_type = KvpValueType::REG_U64;
        }
    }
    Ok(())
}

/// Reads the key and value of a `hv_kvp_exchg_msg_value` the guest filled (UTF-16LE).
fn read_value(v: &KvpExchgMsgValue) -> (String, String) {
    let ks = (v.key_size as usize).min(HV_KVP_EXCHANGE_MAX_KEY_SIZE);
    let vs = (v.value_size as usize).min(HV_KVP_EXCHANGE_MAX_VALUE_SIZE);
    let key = from_utf16z(&v.key[..ks]);
    let value = match v.value_type {
        KvpValueType::REG_U32 => v.value_u32().to_string(),
        KvpValueType::REG_U64 => v.value_u64().to_string(),
        _ => from_utf16z(&v.value[..vs]),
    };
    (key, value)
}

impl Kvp {
    /// Returns a KVP back end offering `srv` service versions.
    pub fn new(srv: &[IcVersion]) -> Kvp {
        Kvp {
            core: IcCore::new(IcMsgType::KVP_EXCHANGE, &HOST_FW_VERSIONS, srv),
            pending: Vec::new(),
            pools: Default::default(),
        }
    }

    fn send(&mut self, ctx: &mut DevCtx<'_>, msg: &KvpMsg, token: Option<u64>, op: Op) -> bool {
        match self.core.request(ctx, msg.as_bytes()) {
            Some(trans_id) => {
                self.pending.push(Pending {
                    trans_id,
                    token,
                    op,
                });
                true
            }
            None => false,
        }
    }

    fn enum_request(pool: u8, index: u32) -> KvpMsg {
        let mut m = KvpMsg::new_zeroed();
        m.hdr.operation = KvpOp::ENUMERATE;
        m.hdr.pool = KvpPool(pool);
        if let Ok(e) = m.body_mut::<KvpMsgEnumerate>() {
            e.index = index;
        }
        m
    }

    fn on_answer(&mut self, ctx: &mut DevCtx<'_>, trans_id: u64, status: HvStatus, payload: &[u8]) {
        let Some(i) = self.pending.iter().position(|p| p.trans_id == trans_id) else {
            return;
        };
        let p = self.pending.remove(i);
        let msg = KvpMsg::read_from_prefix(payload).ok().map(|(m, _)| m);
        let ok = status == HvStatus::S_OK;
        let st = format!("status={}", status_name(status));
        let reply = match p.op {
            Op::Set { pool, key, value } => {
                if ok {
                    self.pools[usize::from(pool % 5)].insert(key, value);
                }
                Reply::ok(vec![st])
            }
            Op::Delete { pool, key } => {
                if ok {
                    self.pools[usize::from(pool % 5)].remove(&key);
                }
                Reply::ok(vec![st])
            }
            Op::Get { pool, key } => {
                let value = msg
                    .as_ref()
                    .and_then(|m| m.body_ref::<KvpExchgMsgValue>().ok().map(read_value))
                    .map(|(_, v)| v);
                let mut lines = vec![st];
                if ok {
                    let v = value.unwrap_or_default();
                    self.pools[usize::from(pool % 5)].insert(key, v.clone());
                    lines.push(format!("value={v}"));
                }
                Reply::ok(lines)
            }
            Op::Enum {
                pool,
                index,
                max,
                mut found,
            } => {
                if ok {
                    if let Some((k, v)) = msg
                        .as_ref()
                        .and_then(|m| m.body_ref::<KvpMsgEnumerate>().ok())
                        .map(|e| read_value(&e.data))
                    {
                        self.pools[usize::from(pool % 5)].insert(k.clone(), v.clone());
                        found.push((k, v));
                    }
                }
                if ok && index + 1 < max {
                    let m = Self::enum_request(pool, index + 1);
                    let op = Op::Enum {
                        pool,
                        index: index + 1,
                        max,
                        found,
                    };
                    if !self.send(ctx, &m, p.token, op) {
                        if let Some(t) = p.token {
                            ctx.finish(t, Reply::err("KVP channel not ready"));
                        }
                    }
                    return;
                }
                let mut lines = vec![format!("count={}", found.len())];
                lines.extend(found.into_iter().map(|(k, v)| format!("{k}={v}")));
                Reply::ok(lines)
            }
            Op::IpGet => {
                let mut lines = vec![st];
                if ok {
                    if let Some((ip, _)) = payload
                        .get(..)
                        .and_then(|b| KvpIpMsg::read_from_prefix(b).ok())
                    {
                        let v = ip.kvp_ip_val;
                        lines.push(format!("adapter_id={}", from_utf16z(&v.adapter_id)));
                        lines.push(format!("addr_family={}", v.addr_family.0));
                        lines.push(format!("dhcp_enabled={}", v.dhcp_enabled));
                        lines.push(format!("ip_addr={}", from_utf16z(&v.ip_addr)));
                        lines.push(format!("sub_net={}", from_utf16z(&v.sub_net)));
                        lines.push(format!("gate_way={}", from_utf16z(&v.gate_way)));
                        lines.push(format!("dns_addr={}", from_utf16z(&v.dns_addr)));
                    }
                }
                Reply::ok(lines)
            }
            Op::IpSet => Reply::ok(vec![st]),
        };
        if let Some(t) = p.token {
            ctx.finish(t, reply);
        }
    }

    fn fail_all(&mut self, ctx: &mut DevCtx<'_>, why: &str) {
        for p in self.pending.drain(..) {
            if let Some(t) = p.token {
                ctx.finish(t, Reply::err(why));
            }
        }
    }
}

fn put_utf16(dst: &mut [u8], s: &str) {
    let b = utf16z(s, dst.len());
    dst[..b.len()].copy_from_slice(&b);
}

impl Device for Kvp {
    fn kind(&self) -> &'static str {
        "kvp"
    }

    fn start(&mut self, ctx: &mut DevCtx<'_>) {
        self.core.start(ctx);
    }

    fn close(&mut self, ctx: &mut DevCtx<'_>) {
        self.core.close();
        self.fail_all(ctx, "channel closed before the guest answered");
    }

    fn packet(&mut self, ctx: &mut DevCtx<'_>, pkt: &Packet) {
        match self.core.on_packet(ctx, pkt) {
            Some(IcEvent::Response {
                trans_id,
                status,
                payload,
            }) => self.on_answer(ctx, trans_id, status, &payload),
            Some(IcEvent::Timeout { .. }) | Some(IcEvent::Negotiated) | None => {}
        }
    }

    fn tick(&mut self, ctx: &mut DevCtx<'_>) {
        if let Some(IcEvent::Timeout { trans_id }) = self.core.tick(ctx) {
            if let Some(i) = self.pending.iter().position(|p| p.trans_id == trans_id) {
                let p = self.pending.remove(i);
                if let Some(t) = p.token {
                    ctx.finish(t, Reply::err("timeout: the guest did not answer"));
                }
            }
        }
    }

    fn command(&mut self, ctx: &mut DevCtx<'_>, args: &[String], token: u64) -> CmdResult {
        let valued = [
            "timeout", "max", "ip", "subnet", "gateway", "dns", "dhcp", "family",
        ];
        let pos = positional(args, &valued);
        let usage = "kvp set POOL KEY VALUE [--u32|--u64] | get POOL KEY | delete POOL KEY | \
                     enum POOL [--max N] | ip-get ADAPTER | ip-set ADAPTER --ip A --subnet S \
                     [--gateway G] [--dns D] [--dhcp 0|1] [--family ipv4|ipv6|both] | pools | status";
        let pool = |i: usize| pos.get(i).and_then(|p| parse_pool(p)).map(|p| p.0);
        let mut m = KvpMsg::new_zeroed();
        let (op, kop) = match pos.first().copied() {
            Some("set") => {
                let (Some(pool), Some(key), Some(value)) =
                    (pool(1), pos.get(2).copied(), pos.get(3).copied())
                else {
                    return CmdResult::Done(Reply::err(usage));
                };
                let kind = if flag(args, "u32") {
                    "u32"
                } else if flag(args, "u64") {
                    "u64"
                } else {
                    "sz"
                };
                let Ok(v) = m.body_mut::<KvpExchgMsgValue>() else {
                    return CmdResult::Done(Reply::err("internal error"));
                };
                if let Err(e) = set_value(v, key, value, kind) {
                    return CmdResult::Done(Reply::err(e));
                }
                m.hdr.pool = KvpPool(pool);
                (
                    Op::Set {
                        pool,
                        key: key.into(),
                        value: value.into(),
                    },
                    KvpOp::SET,
                )
            }
            Some("get") | Some("delete") => {
                let (Some(pool), Some(key)) = (pool(1), pos.get(2).copied()) else {
                    return CmdResult::Done(Reply::err(usage));
                };
                m.hdr.pool = KvpPool(pool);
                let k = utf16z(key, HV_KVP_EXCHANGE_MAX_KEY_SIZE);
                if pos[0] == "get" {
                    if let Ok(v) = m.body_mut::<KvpExchgMsgValue>() {
                        v.key[..k.len()].copy_from_slice(&k);
                        v.key_size = k.len() as u32;
                    }
                    (
                        Op::Get {
                            pool,
                            key: key.into(),
                        },
                        KvpOp::GET,
                    )
                } else {
                    if let Ok(d) = m.body_mut::<KvpMsgDelete>() {
                        d.key[..k.len()].copy_from_slice(&k);
                        d.key_size = k.len() as u32;
                    }
                    (
                        Op::Delete {
                            pool,
                            key: key.into(),
                        },
                        KvpOp::DELETE,
                    )
                }
            }
            Some("enum") | Some("enumerate") => {
                let Some(pool) = pool(1) else {
                    return CmdResult::Done(Reply::err(usage));
                };
                let max = opt(args, "max").and_then(|v| v.parse().ok()).unwrap_or(256);
                m = Self::enum_request(pool, 0);
                (
                    Op::Enum {
                        pool,
                        index: 0,
                        max,
                        found: Vec::new(),
                    },
                    KvpOp::ENUMERATE,
                )
            }
            Some("ip-get") | Some("ip-set") => {
                let Some(adapter) = pos.get(1).copied() else {
                    return CmdResult::Done(Reply::err(usage));
                };
                let set = pos[0] == "ip-set";
                let mut ip = KvpIpMsg::new_zeroed();
                ip.operation = if set {
                    KvpOp::SET_IP_INFO
                } else {
                    KvpOp::GET_IP_INFO
                };
                ip.pool = KvpPool::EXTERNAL;
                let v = &mut ip.kvp_ip_val;
                put_utf16(&mut v.adapter_id, adapter);
                if set {
                    v.addr_family = match opt(args, "family").unwrap_or("ipv4") {
                        "ipv6" => AddrFamily::IPV6,
                        "both" => AddrFamily(AddrFamily::IPV4.0 | AddrFamily::IPV6.0),
                        _ => AddrFamily::IPV4,
                    };
                    v.dhcp_enabled = u8::from(opt(args, "dhcp") == Some("1"));
                    put_utf16(&mut v.ip_addr, opt(args, "ip").unwrap_or(""));
                    put_utf16(&mut v.sub_net, opt(args, "subnet").unwrap_or(""));
                    put_utf16(&mut v.gate_way, opt(args, "gateway").unwrap_or(""));
                    put_utf16(&mut v.dns_addr, opt(args, "dns").unwrap_or(""));
                }
                // The IP message overlays the start of the KVP message buffer.
                let bytes = ip.as_bytes();
                m.as_mut_bytes()[..bytes.len()].copy_from_slice(bytes);
                let op = if set { Op::IpSet } else { Op::IpGet };
                if !self.send(ctx, &m, Some(token), op) {
                    return CmdResult::Done(Reply::err(format!(
                        "KVP IC is {}",
                        self.core.describe()
                    )));
                }
                return CmdResult::Pending {
                    timeout_ms: timeout_ms(args, 40),
                };
            }
            Some("pools") => {
                let mut lines = Vec::new();
                for (i, p) in self.pools.iter().enumerate() {
                    for (k, v) in p {
                        lines.push(format!("{i} {k}={v}"));
                    }
                }
                return CmdResult::Done(Reply::ok(lines));
            }
            Some("status") | None => return CmdResult::Done(Reply::ok(self.status())),
            Some(_) => return CmdResult::Done(Reply::err(usage)),
        };
        m.hdr.operation = kop;
        if self.send(ctx, &m, Some(token), op) {
            CmdResult::Pending {
                timeout_ms: timeout_ms(args, 40),
            }
        } else {
            CmdResult::Done(Reply::err(format!("KVP IC is {}", self.core.describe())))
        }
    }

    fn status(&self) -> Vec<String> {
        vec![
            format!("ic={}", self.core.describe()),
            format!("answers={}", self.core.answers),
            format!("timeouts={}", self.core.timeouts),
        ]
    }
}
