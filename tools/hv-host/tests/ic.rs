// SPDX-License-Identifier: GPL-2.0

//! The IC back ends against a guest that answers like Linux's hv_utils (and its daemons):
//! negotiation with the C drivers' version lists, then each service's requests.

mod common;

use common::World;
use hv_proto::ic::{
    self, HvStatus, IcVersion, FW_VERSIONS, HB_VERSIONS, ICMSG_HDR, SD_VERSIONS, TS_VERSIONS,
};
use hv_proto::kvp::{
    KvpExchgMsgValue, KvpIpMsg, KvpMsg, KvpMsgDelete, KvpMsgEnumerate, KvpOp, KvpValueType,
};
use hv_proto::ring::OutgoingPacket;
use hv_proto::vmbus::Version;
use zerocopy::{FromBytes, IntoBytes};

/// `VMBUS_RQST_ERROR`: the transaction id `hv_fcopy_uio_daemon` answers with.
const VMBUS_RQST_ERROR: u64 = u64::MAX - 1;

/// Answers every IC packet the host wrote, like `hv_util.c`: NEGOTIATE with
/// `vmbus_prep_negotiate_resp()` and the given lists, other messages through `handle`, which
/// edits the packet and returns the status. Returns the messages answered.
fn answer(
    w: &mut World,
    relid: u32,
    fw: &[IcVersion],
    srv: &[IcVersion],
    trans_override: Option<u64>,
    handle: &mut dyn FnMut(&mut [u8]) -> Option<HvStatus>,
) -> usize {
    let pkts = w.recv(relid);
    let n = pkts.len();
    for (info, mut buf) in pkts {
        let m = ic::parse_ic_message(&buf).unwrap();
        let status = if { m.hdr.icmsgtype } == ic::IcMsgType::NEGOTIATE {
            ic::prep_negotiate_resp(&mut buf, fw, srv).unwrap();
            None
        } else {
            match handle(&mut buf) {
                Some(s) => Some(s),
                None => continue,
            }
        };
        ic::finish_response(&mut buf, status).unwrap();
        let ch = w.chans.get_mut(&relid).unwrap();
        let pkt = OutgoingPacket::inband(trans_override.unwrap_or(info.trans_id), false);
        if ch.tx.write_packet(&pkt, &[&buf]).unwrap() {
            w.signal_host(relid);
        }
    }
    w.pump();
    n
}

fn ok(_: &mut [u8]) -> Option<HvStatus> {
    Some(HvStatus::S_OK)
}

fn open_ic(devices: &[&str], name: &str) -> (World, u32) {
    let mut w = World::new(Version::WIN10_V6_0, devices);
    w.connect();
    let relid = w.relid(name);
    // hv_util rings: 3 data pages per direction (VMBUS_RING_SIZE(3 * HV_HYP_PAGE_SIZE)).
    assert_eq!(w.open(relid, 4, 4), Some(0));
    (w, relid)
}

/// Runs `cmd` while the guest answers with `handle`; returns the reply.
fn run(
    w: &mut World,
    relid: u32,
    cmd: &str,
    srv: &[IcVersion],
    handle: &mut dyn FnMut(&mut [u8]) -> Option<HvStatus>,
) -> hv_host::device::Reply {
    let token = match w.cmd_start(cmd) {
        hv_host::CmdOutcome::Done(r) => return r,
        hv_host::CmdOutcome::Pending(t) => t,
    };
    for _ in 0..200 {
        answer(w, relid, &FW_VERSIONS, srv, None, handle);
        if let Some((_, r)) = w
            .engine
            .take_finished()
            .into_iter()
            .find(|(t, _)| *t == token)
        {
            return r;
        }
        w.advance(100);
    }
    panic!("{cmd}: no answer");
}

#[test]
fn heartbeat_negotiates_and_beats() {
    let (mut w, relid) = open_ic(&["heartbeat"], "heartbeat");
    assert_eq!(
        answer(&mut w, relid, &FW_VERSIONS, &HB_VERSIONS, None, &mut ok),
        1
    );
    let st = w.cmd("heartbeat status");
    assert!(
        st.lines.contains(&"ic=ready fw=3.0 srv=3.0".to_string()),
        "{st:?}"
    );
    for _ in 0..3 {
        w.advance(1000);
        answer(&mut w, relid, &FW_VERSIONS, &HB_VERSIONS, None, &mut |b| {
            ic::answer_heartbeat(&mut b[ICMSG_HDR..]).unwrap();
            Some(HvStatus::S_OK)
        });
    }
    let st = w.cmd("heartbeat status");
    assert!(st.lines.contains(&"answered=3".to_string()), "{st:?}");
    w.assert_no_errors();
}

#[test]
fn heartbeat_1_0_guest_and_wrong_answers() {
    let (mut w, relid) = open_ic(&["heartbeat"], "heartbeat");
    let old = [IcVersion::new(1, 0)];
    answer(&mut w, relid, &old, &old, None, &mut ok);
    let st = w.cmd("heartbeat status");
    assert!(
        st.lines.contains(&"ic=ready fw=1.0 srv=1.0".to_string()),
        "{st:?}"
    );
    w.advance(1000);
    // A guest that does not increment the sequence number.
    answer(&mut w, relid, &old, &old, None, &mut ok);
    assert_eq!(w.errors().len(), 1, "{:?}", w.errors());
}

#[test]
fn ic_answers_are_checked() {
    let (mut w, relid) = open_ic(&["shutdown"], "shutdown");
    answer(&mut w, relid, &FW_VERSIONS, &SD_VERSIONS, None, &mut ok);
    assert!(matches!(
        w.cmd_start("shutdown poweroff"),
        hv_host::CmdOutcome::Pending(_)
    ));
    // Answer with the request flag still set and a wrong transaction id.
    let pkts = w.recv(relid);
    let (info, mut buf) = pkts.into_iter().next().unwrap();
    buf[8 + 17] = ic::ICMSGHDRFLAG_TRANSACTION | ic::ICMSGHDRFLAG_REQUEST;
    let ch = w.chans.get_mut(&relid).unwrap();
    ch.tx
        .write_packet(&OutgoingPacket::inband(info.trans_id + 100, false), &[&buf])
        .unwrap();
    w.signal_host(relid);
    let ch = w.chans.get_mut(&relid).unwrap();
    ch.tx
        .write_packet(&OutgoingPacket::inband(info.trans_id, false), &[&buf])
        .unwrap();
    w.signal_host(relid);
    assert_eq!(w.errors().len(), 2, "{:?}", w.errors());
}

#[test]
fn shutdown_requests() {
    for (cmd, flags) in [
        ("poweroff", 0u32),
        ("reboot", 2),
        ("hibernate", 4),
        ("poweroff --force", 1),
    ] {
        let (mut w, relid) = open_ic(&["shutdown"], "shutdown");
        answer(&mut w, relid, &FW_VERSIONS, &SD_VERSIONS, None, &mut ok);
        let mut seen = None;
        let r = run(
            &mut w,
            relid,
            &format!("shutdown {cmd}"),
            &SD_VERSIONS,
            &mut |b| {
                let m = ic::parse_shutdown(&b[ICMSG_HDR..]).unwrap();
                seen = Some(m.flags);
                // C hv_utils fails hibernate when the guest cannot hibernate.
                Some(if m.flags & 4 != 0 {
                    HvStatus::E_FAIL
                } else {
                    HvStatus::S_OK
                })
            },
        );
        assert_eq!(seen, Some(flags));
        assert!(r.ok, "{r:?}");
        let want = if flags & 4 != 0 {
            "0x80004005"
        } else {
            "0x00000000"
        };
        assert!(r.lines.iter().any(|l| l.contains(want)), "{r:?}");
        w.assert_no_errors();
    }
}

#[test]
fn timesync_sync_sample_and_clock_offset() {
    for (srv, ref_layout) in [
        (TS_VERSIONS.to_vec(), true),
        (vec![IcVersion::new(3, 0)], false),
    ] {
        let (mut w, relid) = open_ic(&["timesync,auto=0"], "timesync");
        answer(&mut w, relid, &FW_VERSIONS, &srv, None, &mut ok);
        let version = srv[0];
        assert!(w.cmd("timesync offset 3600").ok);
        let mut sample = None;
        let r = run(&mut w, relid, "timesync sync", &srv, &mut |b| {
            sample = Some(ic::parse_timesync(&b[ICMSG_HDR..], version).unwrap());
            Some(HvStatus::S_OK)
        });
        assert!(r.ok, "{r:?}");
        let s = sample.unwrap();
        assert_eq!(s.flags, ic::ICTIMESYNCFLAG_SYNC);
        assert_eq!(s.vm_reference_time.is_some(), ref_layout);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        let host = ic::host_time_to_unix_ns(s.parent_time);
        let diff = i128::from(host) - i128::from(now) - 3_600_000_000_000;
        assert!(diff.abs() < 5_000_000_000, "diff {diff}");
        let r = run(&mut w, relid, "timesync sample", &srv, &mut |b| {
            let s = ic::parse_timesync(&b[ICMSG_HDR..], version).unwrap();
            assert_eq!(s.flags, ic::ICTIMESYNCFLAG_SAMPLE);
            Some(HvStatus::S_OK)
        });
        assert!(r.ok);
        w.assert_no_errors();
    }
}

#[test]
fn timesync_automatic_samples() {
    let (mut w, relid) = open_ic(&["timesync,auto=2000"], "timesync");
    answer(&mut w, relid, &FW_VERSIONS, &TS_VERSIONS, None, &mut ok);
    let mut n = 0;
    for _ in 0..6 {
        w.advance(1000);
        n += answer(&mut w, relid, &FW_VERSIONS, &TS_VERSIONS, None, &mut ok);
    }
    assert!((2..=4).contains(&n), "{n} samples in 6 s");
}

#[test]
fn no_common_version() {
    let (mut w, relid) = open_ic(&["heartbeat"], "heartbeat");
    answer(
        &mut w,
        relid,
        &[IcVersion::new(9, 9)],
        &HB_VERSIONS,
        None,
        &mut ok,
    );
    let r = w.cmd("heartbeat send");
    assert!(!r.ok);
    assert!(r.lines[0].contains("no-common-version"), "{r:?}");
    w.assert_no_errors();
}

/// A guest KVP service plus daemon: pool contents and the C answer layouts.
struct FakeKvp {
    pools: Vec<Vec<(String, String)>>,
}

fn utf16(b: &[u8]) -> String {
    hv_host::devices::kvp::from_utf16z(b)
}

impl FakeKvp {
    fn handle(&mut self, b: &mut [u8]) -> Option<HvStatus> {
        let body = &mut b[ICMSG_HDR..];
        let (m, _) = KvpMsg::mut_from_prefix(body).ok()?;
        let pool = usize::from(m.hdr.pool.0);
        let op = m.hdr.operation;
        Some(match op {
            KvpOp::SET => {
                let v = m.body_ref::<KvpExchgMsgValue>().ok()?;
                let key = utf16(&v.key[..v.key_size as usize]);
                let value = match v.value_type {
                    KvpValueType::REG_U32 => v.value_u32().to_string(),
                    KvpValueType::REG_U64 => v.value_u64().to_string(),
                    _ => utf16(&v.value[..v.value_size as usize]),
                };
                self.pools[pool].retain(|(k, _)| *k != key);
                self.pools[pool].push((key, value));
                HvStatus::S_OK
            }
            KvpOp::GET => {
                let v = m.body_mut::<KvpExchgMsgValue>().ok()?;
                let key = utf16(&v.key[..v.key_size as usize]);
                match self.pools[pool].iter().find(|(k, _)| *k == key) {
                    Some((_, val)) => {
                        let u = hv_host::devices::kvp::utf16z(val, 2048);
                        v.value[..u.len()].copy_from_slice(&u);
                        v.value_size = u.len() as u32;
                        v.value_type = KvpValueType::REG_SZ;
                        HvStatus::S_OK
                    }
                    None => HvStatus::S_CONT,
                }
            }
            KvpOp::DELETE => {
                let d = m.body_ref::<KvpMsgDelete>().ok()?;
                let key = utf16(&d.key[..d.key_size as usize]);
                self.pools[pool].retain(|(k, _)| *k != key);
                HvStatus::S_OK
            }
            KvpOp::ENUMERATE => {
                let e = m.body_mut::<KvpMsgEnumerate>().ok()?;
                match self.pools[pool].get(e.index as usize) {
                    Some((k, v)) => {
                        let ku = hv_host::devices::kvp::utf16z(k, 512);
                        let vu = hv_host::devices::kvp::utf16z(v, 2048);
                        e.data.key[..ku.len()].copy_from_slice(&ku);
                        e.data.key_size = ku.len() as u32;
                        e.data.value[..vu.len()].copy_from_slice(&vu);
                        e.data.value_size = vu.len() as u32;
                        e.data.value_type = KvpValueType::REG_SZ;
                        HvStatus::S_OK
                    }
                    None => HvStatus::S_CONT,
                }
            }
            KvpOp::GET_IP_INFO => {
                let (ip, _) = KvpIpMsg::mut_from_prefix(body).ok()?;
                let a = hv_host::devices::kvp::utf16z("192.168.1.5", 2048);
                ip.kvp_ip_val.ip_addr[..a.len()].copy_from_slice(&a);
                ip.kvp_ip_val.addr_family = hv_proto::kvp::AddrFamily::IPV4;
                HvStatus::S_OK
            }
            _ => HvStatus::S_OK,
        })
    }
}

#[test]
fn kvp_set_get_delete_enumerate_ip() {
    let (mut w, relid) = open_ic(&["kvp"], "kvp");
    answer(
        &mut w,
        relid,
        &FW_VERSIONS,
        &hv_proto::kvp::KVP_VERSIONS,
        None,
        &mut ok,
    );
    assert!(w.cmd("kvp status").lines[0].contains("srv=4.0"));
    let mut g = FakeKvp {
        pools: vec![Vec::new(); 5],
    };
    g.pools[2].push(("OSName".into(), "Linux".into()));
    g.pools[2].push(("FullyQualifiedDomainName".into(), "guest".into()));
    let srv = hv_proto::kvp::KVP_VERSIONS;
    let r = run(
        &mut w,
        relid,
        "kvp set external Greeting 'hello world'",
        &srv,
        &mut |b| g.handle(b),
    );
    assert!(r.ok && r.lines[0].contains("S_OK"), "{r:?}");
    assert_eq!(
        g.pools[0],
        vec![("Greeting".to_string(), "hello world".to_string())]
    );
    let r = run(
        &mut w,
        relid,
        "kvp set external Count 42 --u32",
        &srv,
        &mut |b| g.handle(b),
    );
    assert!(r.ok, "{r:?}");
    assert_eq!(g.pools[0][1], ("Count".to_string(), "42".to_string()));
    let r = run(&mut w, relid, "kvp get external Greeting", &srv, &mut |b| {
        g.handle(b)
    });
    assert!(r.lines.contains(&"value=hello world".to_string()), "{r:?}");
    let r = run(&mut w, relid, "kvp get external Missing", &srv, &mut |b| {
        g.handle(b)
    });
    assert!(r.lines[0].contains("S_CONT"), "{r:?}");
    let r = run(
        &mut w,
        relid,
        "kvp delete external Greeting",
        &srv,
        &mut |b| g.handle(b),
    );
    assert!(r.ok);
    assert_eq!(g.pools[0].len(), 1);
    let r = run(&mut w, relid, "kvp enum auto", &srv, &mut |b| g.handle(b));
    assert_eq!(
        r.lines,
        vec![
            "count=2".to_string(),
            "OSName=Linux".to_string(),
            "FullyQualifiedDomainName=guest".to_string()
        ]
    );
    let r = run(&mut w, relid, "kvp ip-get {guid}", &srv, &mut |b| {
        g.handle(b)
    });
    assert!(
        r.lines.contains(&"ip_addr=192.168.1.5".to_string()),
        "{r:?}"
    );
    let r = w.cmd("kvp pools");
    assert!(r.lines.contains(&"2 OSName=Linux".to_string()), "{r:?}");
    w.assert_no_errors();
}

#[test]
fn kvp_request_times_out_when_the_guest_is_silent() {
    let (mut w, relid) = open_ic(&["kvp"], "kvp");
    answer(
        &mut w,
        relid,
        &FW_VERSIONS,
        &hv_proto::kvp::KVP_VERSIONS,
        None,
        &mut ok,
    );
    let hv_host::CmdOutcome::Pending(token) = w.cmd_start("kvp get 0 k --timeout 5") else {
        panic!()
    };
    w.advance(6000);
    let f = w.engine.take_finished();
    let (_, r) = f.iter().find(|(t, _)| *t == token).unwrap();
    assert!(!r.ok && r.lines[0].contains("timeout"), "{r:?}");
}

#[test]
fn closing_the_channel_fails_pending_requests() {
    let (mut w, relid) = open_ic(&["vss"], "vss");
    answer(
        &mut w,
        relid,
        &FW_VERSIONS,
        &hv_proto::vss::VSS_VERSIONS,
        None,
        &mut ok,
    );
    let hv_host::CmdOutcome::Pending(token) = w.cmd_start("vss freeze") else {
        panic!()
    };
    w.close(relid);
    let f = w.engine.take_finished();
    let (_, r) = f.iter().find(|(t, _)| *t == token).unwrap();
    assert!(!r.ok, "{r:?}");
    w.assert_no_errors();
}

#[test]
fn vss_hot_backup_flags() {
    let (mut w, relid) = open_ic(&["vss"], "vss");
    let srv = hv_proto::vss::VSS_VERSIONS;
    answer(
        &mut w,
        relid,
        &hv_proto::vss::VSS_FW_VERSIONS,
        &srv,
        None,
        &mut ok,
    );
    assert!(w.cmd("vss status").lines[0].contains("fw=3.0 srv=5.0"));
    let r = run(&mut w, relid, "vss hot-backup", &srv, &mut |b| {
        let m = hv_proto::vss::parse_host(&b[ICMSG_HDR..]).unwrap();
        assert_eq!(m.vss_hdr.operation, hv_proto::vss::VssOp::HOT_BACKUP);
        hv_proto::vss::set_host_flags(&mut b[ICMSG_HDR..], hv_proto::vss::VSS_HBU_NO_AUTO_RECOVERY)
            .unwrap();
        Some(HvStatus::S_OK)
    });
    assert!(r.lines.contains(&"flags=0x5".to_string()), "{r:?}");
    let r = run(&mut w, relid, "vss freeze", &srv, &mut ok);
    assert!(r.ok);
    let r = run(&mut w, relid, "vss thaw", &srv, &mut ok);
    assert!(r.ok);
    w.assert_no_errors();
}

fn fcopy_world() -> (World, u32) {
    let (mut w, relid) = open_ic(&["fcopy"], "fcopy");
    let v11 = [IcVersion::new(1, 1)];
    answer(
        &mut w,
        relid,
        &[IcVersion::new(3, 0)],
        &v11,
        Some(VMBUS_RQST_ERROR),
        &mut ok,
    );
    assert!(w.cmd("fcopy status").lines[0].contains("srv=1.1"));
    (w, relid)
}

#[test]
fn fcopy_push_in_chunks() {
    let (mut w, relid) = fcopy_world();
    let dir = std::env::temp_dir().join(format!("hv-host-fcopy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("src.bin");
    let data: Vec<u8> = (0..15000u32).map(|i| (i * 7) as u8).collect();
    std::fs::write(&src, &data).unwrap();
    let hv_host::CmdOutcome::Pending(token) = w.cmd_start(&format!(
        "fcopy push {} /tmp/dst file.bin --overwrite --create-path",
        src.display()
    )) else {
        panic!()
    };
    let mut got = vec![0u8; 0];
    let mut ops = Vec::new();
    let mut reply = None;
    for _ in 0..50 {
        answer(&mut w, relid, &[], &[], Some(VMBUS_RQST_ERROR), &mut |b| {
            match hv_proto::fcopy::parse(&b[ICMSG_HDR..]).unwrap() {
                hv_proto::fcopy::FcopyMessage::Start(s) => {
                    ops.push("start".to_string());
                    assert_eq!(utf16(&s.file_name), "file.bin");
                    assert_eq!(utf16(&s.path_name), "/tmp/dst");
                    assert_eq!({ s.copy_flags }, 3);
                    assert_eq!({ s.file_size }, 15000);
                }
                hv_proto::fcopy::FcopyMessage::Write { offset, data } => {
                    ops.push(format!("write {offset} {}", data.len()));
                    got.extend_from_slice(data);
                }
                hv_proto::fcopy::FcopyMessage::Complete => ops.push("complete".into()),
                other => panic!("{other:?}"),
            }
            Some(HvStatus::S_OK)
        });
        if let Some((_, r)) = w
            .engine
            .take_finished()
            .into_iter()
            .find(|(t, _)| *t == token)
        {
            reply = Some(r);
            break;
        }
    }
    let r = reply.unwrap();
    assert!(r.ok, "{r:?}");
    assert_eq!(
        ops,
        vec![
            "start",
            "write 0 6144",
            "write 6144 6144",
            "write 12288 2712",
            "complete"
        ]
    );
    assert_eq!(got, data);
    std::fs::remove_dir_all(&dir).ok();
    w.assert_no_errors();
}

#[test]
fn fcopy_failure_and_cancel() {
    let (mut w, relid) = fcopy_world();
    let src = std::env::temp_dir().join(format!("hv-host-fcopy2-{}", std::process::id()));
    std::fs::write(&src, vec![1u8; 20000]).unwrap();
    // The guest refuses the file (exists, no OVER_WRITE).
    let hv_host::CmdOutcome::Pending(token) =
        w.cmd_start(&format!("fcopy push {} /tmp f", src.display()))
    else {
        panic!()
    };
    answer(&mut w, relid, &[], &[], Some(VMBUS_RQST_ERROR), &mut |_| {
        Some(HvStatus::ERROR_ALREADY_EXISTS)
    });
    let f = w.engine.take_finished();
    let (_, r) = f.iter().find(|(t, _)| *t == token).unwrap();
    assert!(
        !r.ok && r.lines[0].contains("ERROR_ALREADY_EXISTS"),
        "{r:?}"
    );
    // Cancel in the middle of a copy.
    let hv_host::CmdOutcome::Pending(token) =
        w.cmd_start(&format!("fcopy push {} /tmp f --overwrite", src.display()))
    else {
        panic!()
    };
    answer(&mut w, relid, &[], &[], Some(VMBUS_RQST_ERROR), &mut ok);
    let hv_host::CmdOutcome::Pending(cancel) = w.cmd_start("fcopy cancel") else {
        panic!()
    };
    let mut saw_cancel = false;
    for _ in 0..5 {
        answer(&mut w, relid, &[], &[], Some(VMBUS_RQST_ERROR), &mut |b| {
            if let Ok(hv_proto::fcopy::FcopyMessage::Cancel) =
                hv_proto::fcopy::parse(&b[ICMSG_HDR..])
            {
                saw_cancel = true;
            }
            Some(HvStatus::S_OK)
        });
    }
    assert!(saw_cancel);
    let f = w.engine.take_finished();
    assert!(f.iter().any(|(t, r)| *t == token && !r.ok));
    assert!(f.iter().any(|(t, r)| *t == cancel && r.ok));
    std::fs::remove_file(&src).ok();
    w.assert_no_errors();
}

#[test]
fn rescinding_an_ic_mid_request_fails_the_command() {
    let (mut w, relid) = open_ic(&["kvp"], "kvp");
    answer(
        &mut w,
        relid,
        &FW_VERSIONS,
        &hv_proto::kvp::KVP_VERSIONS,
        None,
        &mut ok,
    );
    let hv_host::CmdOutcome::Pending(token) = w.cmd_start("kvp get 0 key") else {
        panic!()
    };
    w.cmd("rescind kvp");
    let f = w.engine.take_finished();
    assert!(f.iter().any(|(t, r)| *t == token && !r.ok));
    w.guest_handle_rescind(relid);
    w.assert_no_errors();
    let _ = KvpMsg::read_from_bytes(&[0u8; 7432][..])
        .unwrap()
        .as_bytes()
        .len();
}

#[test]
fn early_start_fault_still_negotiates() {
    let mut w = World::new(Version::WIN10_V6_0, &["heartbeat"]);
    w.connect();
    let relid = w.relid("heartbeat");
    assert!(w.cmd("fault early-start heartbeat").ok);
    assert_eq!(w.open(relid, 4, 4), Some(0));
    assert!(w
        .engine
        .log_tail(20)
        .iter()
        .any(|l| l.contains("before OPENCHANNEL_RESULT")));
    assert_eq!(
        answer(&mut w, relid, &FW_VERSIONS, &HB_VERSIONS, None, &mut ok),
        1
    );
    w.assert_no_errors();
}
