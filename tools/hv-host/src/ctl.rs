// SPDX-License-Identifier: GPL-2.0

//! The control commands and their line protocol.
//!
//! A client sends one command per line (words separated by blanks; `'...'`, `"..."` and `\`
//! quote as in a shell). The daemon answers with zero or more data lines, each prefixed with
//! `. `, then one final line: `ok`, or `error MESSAGE`. Commands that wait for the guest
//! (IC requests, `wait`) answer when the guest did, or with `error timeout...` after their
//! `--timeout SECONDS`. `hv-host ctl` is a client that prints the data lines and exits 0 on
//! `ok`, 1 on `error` and 2 when the daemon cannot be reached. [`HELP`] lists the commands;
//! Documentation/host-engine.rst describes them.

use hv_proto::ring::{OutgoingPacket, PacketType, RingError};
use hv_proto::vmbus::{MessageHeader, MessageType, RescindOffer};
use zerocopy::IntoBytes;

use crate::device::{positional, timeout_ms, Reply, ResponseFaults};
use crate::devices::{parse_specs, DeviceKind};
use crate::engine::{check_message_len, parse_msg_type, parse_version, CmdOutcome, Engine};

/// The command summary printed by `help`.
pub const HELP: &str = "\
status                              connection state and counters
list                                channels: relid, device, state, connection id
devices                             the configured device set
show CH | stats CH                  a channel's rings, signal counters, device state (CH: relid or name)
errors [clear|--check]              protocol violations by the guest (--check: fail if any)
log [N]                             the last N event log lines
offer NAME [--sub N]                offer a device (again), or its subchannel N
add SPEC                            add a device (KIND[,key=value...]) and offer it
rescind CH                          rescind a channel (idle, mid-open or mid-I/O)
release-open CH                     answer an OPENCHANNEL held by `fault hold-open`
wait connected|open NAME|released NAME [--timeout S]
max-version X.Y                     highest version accepted from now on
fault list | clear
fault stop-answering on|off         ignore every guest message and signal
fault refuse-version X.Y [off]      refuse one version
fault hold-open NAME|all [off]      leave OPENCHANNEL unanswered (mid-open)
fault open-fail NAME STATUS|off     answer OPENCHANNEL with a failure status
fault gpadl-fail NAME STATUS|off    answer GPADL creation with a failure status
fault delay-msg TYPE MS             hold host messages of TYPE (e.g. unload_response) MS ms
fault drop-msg TYPE [N|all|off]     drop the next N (default 1) host messages of TYPE
fault no-modify-response on|off     do not answer MODIFYCHANNEL on 5.3+
fault early-start NAME [off]        the device writes and signals before OPENCHANNEL_RESULT lands
fault completions CH delay MS|drop N|drop all|reorder N|off   (CH closed: from its next open on)
fault pause-read CH MS              do not read the guest's ring of CH for MS ms (CH closed: after its next open)
inject msg HEX                      post raw bytes as a channel message
inject unknown-msg | truncated-offer CH | offer-relid CH RELID | duplicate-offer CH
inject rescind-relid RELID | open-result RELID | gpadl-created RELID HANDLE | gpadl-torndown HANDLE
inject version-response | alloffers | unload-response
inject packet CH HEX [--type N] [--trans ID]   write a raw packet into the host-to-guest ring
inject bad-desc CH len8|offset8|offset8-small  write a corrupt packet descriptor
inject bad-index CH write|read                 corrupt the host-owned ring index
fill-ring CH [SIZE]                 fill the host-to-guest ring with packets
heartbeat|shutdown|timesync|kvp|vss|fcopy|echo|scsi|dm ARGS   device commands (first channel of that kind)
dm status | balloon PAGES | unballoon PAGES|all | hot-add START PAGES [--region START,PAGES]
dm refuse-version X.Y|none | accept-version X.Y | malformed truncated-balloon|unballoon-overcount [N]|short|unknown
scsi status|luns|stats [--reset]    storvsp: session, LUNs, counters (per channel and LUN)
scsi lun add SPEC | lun remove LUN [--op enumerate|remove-device] [--quiet]   hot add/remove (ENUMERATE_BUS)
scsi resize LUN SIZE | ua LUN capacity|params|reset|K/ASC/ASCQ   capacity change / unit attention
scsi enumerate | notify enumerate|remove-device | read LUN LBA [N] [--ascii] | max-version X.Y
scsi fault list|clear|drop-io N|all|off|delay-io MS|off|srb-status STATUS|off [N] [--sense K/A/Q] [--rw]|rescind-after N|off
scsi wait ready|subchannels N|unmaps N|srbs N [--timeout S] | inject bad-completions   (ids no request has, id 0, short)
dev NAME ARGS                       device commands for a named device (without a channel: those
                                    that need no guest, e.g. storvsp's controller commands)
quit                                stop the daemon";

/// Splits a command line into words (blank-separated; quotes and backslash as in a shell).
///
/// # Errors
///
/// An unterminated quote.
pub fn tokenize(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some(q) if q == c => break,
                        Some('\\') if c == '"' => match chars.next() {
                            Some(e) => cur.push(e),
                            None => return Err("unterminated quote".into()),
                        },
                        Some(x) => cur.push(x),
                        None => return Err("unterminated quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(e) = chars.next() {
                    cur.push(e);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// Quotes `s` for [`tokenize`] when needed.
pub fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@%{}".contains(c))
    {
        return s.to_string();
    }
    let mut q = String::from("'");
    for c in s.chars() {
        if c == '\'' {
            q.push_str("'\\''");
        } else {
            q.push(c);
        }
    }
    q.push('\'');
    q
}

/// Parses hexadecimal bytes (blanks and `:` ignored).
pub fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b" :\t".contains(b)).collect();
    if digits.len() % 2 != 0 {
        return Err("odd number of hex digits".into());
    }
    digits
        .chunks(2)
        .map(|p| {
            std::str::from_utf8(p)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad hex {:?}", String::from_utf8_lossy(p)))
        })
        .collect()
}

fn parse_num(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn done(r: Reply) -> CmdOutcome {
    CmdOutcome::Done(r)
}

fn err(s: impl Into<String>) -> CmdOutcome {
    done(Reply::err(s))
}

fn ok_line(s: impl Into<String>) -> CmdOutcome {
    done(Reply::line(s))
}

fn on_off(s: Option<&str>) -> Option<bool> {
    match s {
        Some("on") | Some("1") | None => Some(true),
        Some("off") | Some("0") => Some(false),
        _ => None,
    }
}

/// Executes one command on the engine.
pub fn execute(e: &mut Engine, args: &[String]) -> CmdOutcome {
    let pos = positional(args, &["timeout", "sub", "type", "trans"]);
    let Some(cmd) = pos.first().copied() else {
        return err("empty command");
    };
    let ch = |i: usize, e: &Engine| -> Result<u32, String> {
        let s = pos
            .get(i)
            .copied()
            .ok_or("missing channel (relid or name)")?;
        e.find_channel(s).ok_or(format!("no channel {s}"))
    };
    match cmd {
        "help" => done(Reply::ok(HELP.lines().map(String::from).collect())),
        "status" => done(Reply::ok(e.status_lines())),
        "list" => done(Reply::ok(e.list_lines())),
        "devices" => done(Reply::ok(e.device_lines())),
        "show" | "stats" => match ch(1, e) {
            Ok(r) => done(Reply::ok(e.show_lines(r))),
            Err(m) => err(m),
        },
        "errors" => {
            if pos.get(1) == Some(&"clear") {
                e.clear_errors();
                return ok_line("cleared");
            }
            let mut lines = vec![format!("count={}", e.errors().len())];
            lines.extend(e.errors().iter().map(|p| {
                format!(
                    "#{} t={}ms relid={} {}",
                    p.seq,
                    p.time_ms,
                    p.relid.map_or("-".into(), |r| r.to_string()),
                    p.text
                )
            }));
            if crate::device::flag(args, "check") && !e.errors().is_empty() {
                let mut r = Reply::err(format!("{} protocol error(s)", e.errors().len()));
                r.lines.extend(lines.into_iter().skip(1));
                return done(r);
            }
            done(Reply::ok(lines))
        }
        "log" => {
            let n = pos.get(1).and_then(|v| v.parse().ok()).unwrap_or(50);
            done(Reply::ok(e.log_tail(n)))
        }
        "offer" => {
            let Some(name) = pos.get(1) else {
                return err("usage: offer NAME [--sub N]");
            };
            let sub = crate::device::opt(args, "sub")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            match e.offer(name, sub) {
                Ok(r) => ok_line(format!("relid={r}")),
                Err(m) => err(m),
            }
        }
        "add" => {
            let Some(spec) = pos.get(1) else {
                return err("usage: add KIND[,key=value...]");
            };
            let kind = spec.split(',').next().unwrap_or("");
            let n = e
                .device_names()
                .iter()
                .filter(|d| d.starts_with(kind))
                .count();
            let parsed = parse_specs([*spec]).and_then(|mut v| {
                let mut s = v.remove(0);
                if n > 0 {
                    let k = DeviceKind::parse(kind).ok_or("bad kind")?;
                    if !spec.contains("name=") {
                        s.name = format!("{kind}{n}");
                    }
                    // A second device of a kind never shares the first one's instance GUID,
                    // whatever its name.
                    if !spec.contains("instance=") {
                        s.instance = k.default_instance(n as u32);
                    }
                }
                Ok(s)
            });
            match parsed.and_then(|s| e.add_device(s)) {
                Ok(Some(r)) => ok_line(format!("relid={r}")),
                Ok(None) => ok_line("added (offered when the guest asks for offers)"),
                Err(m) => err(m),
            }
        }
        "rescind" => match ch(1, e).and_then(|r| e.rescind(r).map(|()| r)) {
            Ok(r) => ok_line(format!("rescinded={r}")),
            Err(m) => err(m),
        },
        "release-open" => match ch(1, e).and_then(|r| e.release_open(r)) {
            Ok(()) => ok_line("answered"),
            Err(m) => err(m),
        },
        "wait" => e.wait(&pos[1..], timeout_ms(args, 30)),
        "max-version" => match pos.get(1).and_then(|v| parse_version(v)) {
            Some(v) => {
                e.set_max_version(v);
                ok_line(format!("max_version={v}"))
            }
            None => err("usage: max-version X.Y"),
        },
        "fault" => fault(e, &pos[1..]),
        "inject" => inject(e, args, &pos[1..]),
        "fill-ring" => match ch(1, e) {
            Ok(r) => fill_ring(e, r, pos.get(2).and_then(|v| v.parse().ok()).unwrap_or(64)),
            Err(m) => err(m),
        },
        "dev" => {
            let Some(name) = pos.get(1) else {
                return err("usage: dev NAME ARGS...");
            };
            let rest = args_after(args, 2);
            match e.find_channel(name) {
                Some(r) => e.device_command(r, &rest),
                None => e
                    .detached_command(name, &rest)
                    .unwrap_or_else(|| err(format!("no channel {name}"))),
            }
        }
        kind if DeviceKind::parse(kind).is_some() => {
            let rest = args_after(args, 1);
            match e.channels_of_kind(kind).first() {
                Some(r) => e.device_command(*r, &rest),
                None => e
                    .detached_command(kind, &rest)
                    .unwrap_or_else(|| err(format!("no {kind} channel"))),
            }
        }
        other => err(format!("unknown command {other} (try help)")),
    }
}

/// Returns `args` without its first `n` positional words (options stay).
fn args_after(args: &[String], n: usize) -> Vec<String> {
    let mut skipped = 0;
    let mut out = Vec::new();
    for a in args {
        if skipped < n && !a.starts_with("--") {
            skipped += 1;
            continue;
        }
        out.push(a.clone());
    }
    out
}

fn fault(e: &mut Engine, p: &[&str]) -> CmdOutcome {
    let f = &mut e.faults;
    match p {
        ["list"] | [] => {
            let mut v = vec![
                format!("stop_answering={}", u8::from(f.stop_answering)),
                format!(
                    "refuse_versions={:?}",
                    f.refuse_versions
                        .iter()
                        .map(|v| hv_proto::vmbus::Version(*v).to_string())
                        .collect::<Vec<_>>()
                ),
                format!("hold_open={:?}", f.hold_open),
                format!("open_fail={:x?}", f.open_status),
                format!("gpadl_fail={:x?}", f.gpadl_status),
                format!("delay_msg={:?}", f.delay_msg),
                format!("drop_msg={:?}", f.drop_msg),
                format!("no_modify_response={}", u8::from(f.no_modify_response)),
                format!("early_start={:?}", f.early_start),
            ];
            for r in e.relids() {
                if let Some(io) = e.channel_io(r) {
                    if io.faults != ResponseFaults::default() {
                        v.push(format!("completions relid {r}: {:?}", io.faults));
                    }
                }
            }
            done(Reply::ok(v))
        }
        ["clear"] => {
            e.faults = Default::default();
            for r in e.relids() {
                if let Some(io) = e.channel_io(r) {
                    io.faults = ResponseFaults::default();
                    io.release_all();
                }
                e.flush(r);
            }
            ok_line("cleared")
        }
        ["stop-answering", v @ ..] => match on_off(v.first().copied()) {
            Some(b) => {
                f.stop_answering = b;
                ok_line(format!("stop_answering={}", u8::from(b)))
            }
            None => err("usage: fault stop-answering on|off"),
        },
        ["refuse-version", v, rest @ ..] => match parse_version(v) {
            Some(ver) => {
                if rest.first() == Some(&"off") {
                    f.refuse_versions.remove(&ver.0);
                } else {
                    f.refuse_versions.insert(ver.0);
                }
                ok_line(format!("refuse_versions={}", f.refuse_versions.len()))
            }
            None => err("usage: fault refuse-version X.Y [off]"),
        },
        ["hold-open", name, rest @ ..] => {
            if rest.first() == Some(&"off") {
                f.hold_open.remove(*name);
            } else {
                f.hold_open.insert((*name).to_string());
            }
            ok_line(format!("hold_open={:?}", f.hold_open))
        }
        ["open-fail", name, st] | ["gpadl-fail", name, st] => {
            let map = if p[0] == "open-fail" {
                &mut f.open_status
            } else {
                &mut f.gpadl_status
            };
            if *st == "off" {
                map.remove(*name);
                return ok_line("off");
            }
            match parse_num(st).and_then(|v| u32::try_from(v).ok()) {
                Some(s) => {
                    map.insert((*name).to_string(), s);
                    ok_line(format!("{}={s:#x}", p[0]))
                }
                None => err("usage: fault open-fail|gpadl-fail NAME STATUS|off"),
            }
        }
        ["delay-msg", t, ms] => match (parse_msg_type(t), ms.parse::<u64>()) {
            (Some(t), Ok(ms)) => {
                if ms == 0 {
                    f.delay_msg.remove(&t.0);
                } else {
                    f.delay_msg.insert(t.0, ms);
                }
                ok_line(format!("delay {t:?} {ms} ms"))
            }
            _ => err("usage: fault delay-msg TYPE MS"),
        },
        ["drop-msg", t, rest @ ..] => {
            let Some(t) = parse_msg_type(t) else {
                return err("usage: fault drop-msg TYPE [N|all|off]");
            };
            let n = match rest.first().copied() {
                None => 1,
                Some("all") => u32::MAX,
                Some("off") => 0,
                Some(n) => match n.parse() {
                    Ok(n) => n,
                    Err(_) => return err("usage: fault drop-msg TYPE [N|all|off]"),
                },
            };
            if n == 0 {
                f.drop_msg.remove(&t.0);
            } else {
                f.drop_msg.insert(t.0, n);
            }
            ok_line(format!("drop {t:?} {n}"))
        }
        ["early-start", name, rest @ ..] => {
            if rest.first() == Some(&"off") {
                f.early_start.remove(*name);
            } else {
                f.early_start.insert((*name).to_string());
            }
            ok_line(format!("early_start={:?}", f.early_start))
        }
        ["no-modify-response", v @ ..] => match on_off(v.first().copied()) {
            Some(b) => {
                f.no_modify_response = b;
                ok_line(format!("no_modify_response={}", u8::from(b)))
            }
            None => err("usage: fault no-modify-response on|off"),
        },
        ["pause-read", c, ms] => {
            let Some(r) = e.find_channel(c) else {
                return err(format!("no channel {c}"));
            };
            let Ok(ms) = ms.parse::<u64>() else {
                return err("bad pause");
            };
            let now = e.now_ms();
            if let Some(io) = e.channel_io(r) {
                io.paused_until = now + ms;
                return ok_line(format!("relid {r}: reading paused for {ms} ms"));
            }
            if let Some((_, pause)) = e.channel_presets(r) {
                *pause = ms;
            }
            ok_line(format!(
                "relid {r}: reading paused for {ms} ms after the next open"
            ))
        }
        ["completions", c, rest @ ..] => {
            let Some(r) = e.find_channel(c) else {
                return err(format!("no channel {c}"));
            };
            if e.channel_io(r).is_none() {
                // Closed: the faults apply from its next open on.
                let Some((preset, _)) = e.channel_presets(r) else {
                    return err(format!("no channel {c}"));
                };
                let mut f = preset.clone().unwrap_or_default();
                match rest {
                    ["delay", ms] => match ms.parse() {
                        Ok(ms) => f.delay_ms = ms,
                        Err(_) => return err("bad delay"),
                    },
                    ["drop", "all"] => f.drop = u32::MAX,
                    ["drop", n] => match n.parse() {
                        Ok(n) => f.drop = n,
                        Err(_) => return err("bad count"),
                    },
                    ["reorder", n] => match n.parse() {
                        Ok(n) => f.reorder = n,
                        Err(_) => return err("bad count"),
                    },
                    ["off"] => f = ResponseFaults::default(),
                    _ => {
                        return err(
                            "usage: fault completions CH delay MS|drop N|drop all|reorder N|off",
                        )
                    }
                }
                let line = format!("relid {r} at its next open: {f:?}");
                *preset = (f != ResponseFaults::default()).then_some(f);
                return ok_line(line);
            }
            let Some(io) = e.channel_io(r) else {
                return err(format!("relid {r} is not open"));
            };
            match rest {
                ["delay", ms] => match ms.parse() {
                    Ok(ms) => io.faults.delay_ms = ms,
                    Err(_) => return err("bad delay"),
                },
                ["drop", "all"] => io.faults.drop = u32::MAX,
                ["drop", n] => match n.parse() {
                    Ok(n) => io.faults.drop = n,
                    Err(_) => return err("bad count"),
                },
                ["reorder", n] => match n.parse() {
                    Ok(n) => io.faults.reorder = n,
                    Err(_) => return err("bad count"),
                },
                ["off"] => {
                    io.faults = ResponseFaults::default();
                    io.release_all();
                }
                _ => {
                    return err(
                        "usage: fault completions CH delay MS|drop N|drop all|reorder N|off",
                    )
                }
            }
            let s = format!("{:?}", io.faults);
            e.flush(r);
            ok_line(s)
        }
        _ => err("unknown fault (try help)"),
    }
}

fn header_msg(t: MessageType) -> Vec<u8> {
    MessageHeader::new(t).as_bytes().to_vec()
}

fn inject(e: &mut Engine, args: &[String], p: &[&str]) -> CmdOutcome {
    let chan = |s: &str, e: &Engine| e.find_channel(s).ok_or(format!("no channel {s}"));
    let msg: Result<Vec<u8>, String> = match p {
        ["msg", hex] => parse_hex(hex),
        ["unknown-msg"] => Ok(header_msg(MessageType(0x77))),
        ["truncated-offer", c] => chan(c, e)
            .and_then(|r| e.offer_bytes(r).ok_or("no offer".into()))
            .map(|mut b| {
                b.truncate(100);
                b
            }),
        ["offer-relid", c, relid] => chan(c, e).and_then(|r| {
            let mut b = e.offer_bytes(r).ok_or("no offer")?;
            let v: u32 = parse_num(relid).ok_or("bad relid")? as u32;
            b[184..188].copy_from_slice(&v.to_le_bytes());
            Ok(b)
        }),
        ["duplicate-offer", c] => {
            chan(c, e).and_then(|r| e.offer_bytes(r).ok_or("no offer".into()))
        }
        ["rescind-relid", relid] => parse_num(relid).ok_or("bad relid".into()).map(|r| {
            RescindOffer {
                header: MessageHeader::new(MessageType::RESCIND_CHANNELOFFER),
                child_relid: r as u32,
            }
            .as_bytes()
            .to_vec()
        }),
        ["open-result", relid] => parse_num(relid).ok_or("bad relid".into()).map(|r| {
            hv_proto::vmbus::OpenResult {
                header: MessageHeader::new(MessageType::OPENCHANNEL_RESULT),
                child_relid: r as u32,
                openid: r as u32,
                status: 0,
            }
            .as_bytes()
            .to_vec()
        }),
        ["gpadl-created", relid, handle] => match (parse_num(relid), parse_num(handle)) {
            (Some(r), Some(h)) => Ok(hv_proto::vmbus::GpadlCreated {
                header: MessageHeader::new(MessageType::GPADL_CREATED),
                child_relid: r as u32,
                gpadl: h as u32,
                creation_status: 0,
            }
            .as_bytes()
            .to_vec()),
            _ => Err("bad relid or handle".into()),
        },
        ["gpadl-torndown", handle] => parse_num(handle).ok_or("bad handle".into()).map(|h| {
            hv_proto::vmbus::GpadlTorndown {
                header: MessageHeader::new(MessageType::GPADL_TORNDOWN),
                gpadl: h as u32,
            }
            .as_bytes()
            .to_vec()
        }),
        ["version-response"] => Ok(hv_proto::vmbus::VersionResponse {
            header: MessageHeader::new(MessageType::VERSION_RESPONSE),
            version_supported: 1,
            connection_state: hv_proto::vmbus::ConnectionState::SUCCESSFUL,
            padding: 0,
            msg_conn_id: 4,
        }
        .as_bytes()
        .to_vec()),
        ["alloffers"] => Ok(header_msg(MessageType::ALLOFFERS_DELIVERED)),
        ["unload-response"] => Ok(header_msg(MessageType::UNLOAD_RESPONSE)),
        ["packet", c, hex] => {
            return match (chan(c, e), parse_hex(hex)) {
                (Ok(r), Ok(data)) => {
                    let ptype = crate::device::opt(args, "type")
                        .and_then(parse_num)
                        .map_or(PacketType::DATA_INBAND, |t| PacketType(t as u16));
                    let trans = crate::device::opt(args, "trans")
                        .and_then(parse_num)
                        .unwrap_or(0xbad0);
                    let Some(io) = e.channel_io(r) else {
                        return err("channel not open");
                    };
                    io.backlog.push_back(crate::device::OutPkt {
                        packet_type: ptype,
                        flags: 0,
                        trans_id: trans,
                        ext_header: Vec::new(),
                        payload: data,
                    });
                    e.flush(r);
                    ok_line("queued")
                }
                (Err(m), _) | (_, Err(m)) => err(m),
            };
        }
        ["bad-desc", c, kind] => {
            return match chan(c, e) {
                Ok(r) => bad_desc(e, r, kind),
                Err(m) => err(m),
            }
        }
        ["bad-index", c, which] => {
            return match chan(c, e) {
                Ok(r) => {
                    let Some(io) = e.channel_io(r) else {
                        return err("channel not open");
                    };
                    use hv_proto::ring::{ControlField, RingMem};
                    match *which {
                        "write" => {
                            let size = io.out.data_size();
                            io.out
                                .mem()
                                .write_control(ControlField::WriteIndex, size + 8);
                        }
                        "read" => {
                            let size = io.inc.data_size();
                            io.inc
                                .mem()
                                .write_control(ControlField::ReadIndex, size + 4);
                        }
                        _ => return err("usage: inject bad-index CH write|read"),
                    }
                    io.broken = true;
                    e.force_signal(r);
                    ok_line("corrupted")
                }
                Err(m) => err(m),
            }
        }
        _ => return err("unknown injection (try help)"),
    };
    match msg.and_then(check_message_len) {
        Ok(b) => {
            let n = b.len();
            e.post_raw(b);
            ok_line(format!("posted {n} bytes"))
        }
        Err(m) => err(m),
    }
}

fn bad_desc(e: &mut Engine, relid: u32, kind: &str) -> CmdOutcome {
    let (offset8, len8): (u16, u16) = match kind {
        "len8" => (2, 0x7fff),
        "offset8" => (5, 3),
        "offset8-small" => (1, 3),
        _ => return err("usage: inject bad-desc CH len8|offset8|offset8-small"),
    };
    let Some(io) = e.channel_io(relid) else {
        return err("channel not open");
    };
    let mut raw = Vec::with_capacity(24);
    raw.extend_from_slice(&PacketType::DATA_INBAND.0.to_le_bytes());
    raw.extend_from_slice(&offset8.to_le_bytes());
    raw.extend_from_slice(&len8.to_le_bytes());
    raw.extend_from_slice(&0u16.to_le_bytes());
    raw.extend_from_slice(&0xbad0_u64.to_le_bytes());
    raw.extend_from_slice(&[0xee; 8]);
    match io.out.write_raw(&[&raw]) {
        Ok(_) => {
            io.broken = true;
            e.force_signal(relid);
            ok_line("written")
        }
        Err(x) => err(format!("cannot write: {x}")),
    }
}

fn fill_ring(e: &mut Engine, relid: u32, size: usize) -> CmdOutcome {
    let Some(io) = e.channel_io(relid) else {
        return err("channel not open");
    };
    let payload = vec![0xf1u8; size];
    let mut n = 0u64;
    let mut signal = false;
    loop {
        let pkt = OutgoingPacket::inband(0xf111_0000 + n, false);
        match io.out.write_packet(&pkt, &[&payload]) {
            Ok(s) => {
                signal |= s;
                n += 1;
                io.stats.packets_out += 1;
            }
            Err(RingError::Full) => break,
            Err(x) => return err(format!("cannot write: {x}")),
        }
    }
    io.stats.ring_full += 1;
    if signal {
        e.force_signal(relid);
    }
    ok_line(format!("packets={n}"))
}
