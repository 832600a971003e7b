// SPDX-License-Identifier: GPL-2.0

//! The Dynamic Memory back end against a guest that speaks like `hv_balloon.c`: the version
//! fallback, capabilities, status reports, balloon answers in several responses and their
//! checks, unballoon, hot-add answers and malformed host messages.

mod common;

use common::World;
use hv_proto::dm::{
    self, build_balloon_response, parse_host_message, DmCaps, DmHostMessage, DmMemPageRange,
    DmVersionNegotiation,
};
use hv_proto::vmbus::Version;
use zerocopy::IntoBytes;

/// The arena is 16 MiB: pages 0..4096 are RAM.
const RAM_PAGES: u64 = 4096;

fn dm_world(devices: &[&str]) -> (World, u32) {
    let mut w = World::new(Version::WIN10_V6_0, devices);
    w.connect();
    let relid = w.relid("dm");
    // hv_balloon: 20 KiB rings (5 pages, the control page included).
    assert_eq!(w.open(relid, 5, 5), Some(0));
    (w, relid)
}

fn host_msgs(w: &mut World, relid: u32) -> Vec<Vec<u8>> {
    w.recv(relid).into_iter().map(|(_, b)| b).collect()
}

/// Negotiates like `balloon_connect_vsp()`; returns the accepted version.
fn negotiate(w: &mut World, relid: u32) -> Option<u32> {
    let (mut neg, req) = DmVersionNegotiation::start(1);
    w.send(relid, 1, req.as_bytes(), false).unwrap();
    loop {
        let msgs = host_msgs(w, relid);
        assert_eq!(msgs.len(), 1);
        let (_, m) = parse_host_message(&msgs[0]).unwrap();
        let DmHostMessage::VersionResponse { accepted } = m else {
            panic!("{m:?}");
        };
        match neg.on_response(accepted, 2) {
            dm::DmNegotiationStep::Accepted(v) => break Some(v),
            dm::DmNegotiationStep::Failed => break None,
            dm::DmNegotiationStep::Retry(r) => {
                w.send(relid, 2, r.as_bytes(), false).unwrap();
            }
        }
    }
    .inspect(|_| {
        let caps = dm::capabilities_report(3, DmCaps::new(true, true, 7));
        w.send(relid, 3, caps.as_bytes(), false).unwrap();
        let msgs = host_msgs(w, relid);
        let (_, m) = parse_host_message(&msgs[0]).unwrap();
        assert!(matches!(
            m,
            DmHostMessage::CapabilitiesResponse { accepted: true }
        ));
        let st = dm::status_report(4, 1000, 2000);
        w.send(relid, 4, st.as_bytes(), false).unwrap();
    })
}

fn answer_balloon(w: &mut World, relid: u32, ranges: &[&[DmMemPageRange]]) {
    let mut buf = vec![0u8; 4096];
    for (i, r) in ranges.iter().enumerate() {
        let n = build_balloon_response(&mut buf, 9, i + 1 < ranges.len(), r).unwrap();
        w.send(relid, 9, &buf[..n], false).unwrap();
    }
}

fn start(w: &mut World, line: &str) -> u64 {
    match w.cmd_start(line) {
        hv_host::CmdOutcome::Pending(t) => t,
        hv_host::CmdOutcome::Done(r) => panic!("{line}: {r:?}"),
    }
}

fn finished(w: &mut World, token: u64) -> hv_host::device::Reply {
    w.pump();
    w.engine
        .take_finished()
        .into_iter()
        .find(|(t, _)| *t == token)
        .map(|(_, r)| r)
        .expect("no answer")
}

fn status(w: &mut World) -> Vec<String> {
    let r = w.cmd("dm status");
    assert!(r.ok, "{r:?}");
    r.lines
}

#[test]
fn version_fallback_and_status() {
    let (mut w, relid) = dm_world(&["dm"]);
    assert!(w.cmd("dm refuse-version 2.0").ok);
    assert!(w.cmd("dm refuse-version 1.0").ok);
    assert_eq!(
        negotiate(&mut w, relid),
        Some(dm::DYNMEM_PROTOCOL_VERSION_WIN7)
    );
    let s = status(&mut w);
    assert!(s.contains(&"version=0.3".to_string()), "{s:?}");
    assert!(s.contains(&"tried=2.0,1.0,0.3".to_string()), "{s:?}");
    assert!(
        s.contains(&"caps=balloon:1 hot_add:1 alignment:7".to_string()),
        "{s:?}"
    );
    assert!(s.contains(&"reports=1".to_string()), "{s:?}");
    assert!(
        s.contains(&"last_status=avail:1000 committed:2000".to_string()),
        "{s:?}"
    );
    w.assert_no_errors();
}

#[test]
fn every_version_refused_and_spec_versions() {
    let (mut w, relid) = dm_world(&["dm,versions=1.0"]);
    assert!(w.cmd("dm refuse-version 1.0").ok);
    assert_eq!(negotiate(&mut w, relid), None);
    assert!(status(&mut w).contains(&"version=none".to_string()));
    w.assert_no_errors();
}

#[test]
fn balloon_unballoon_round_trip() {
    let (mut w, relid) = dm_world(&["dm"]);
    assert_eq!(
        negotiate(&mut w, relid),
        Some(dm::DYNMEM_PROTOCOL_VERSION_WIN10)
    );
    let t = start(&mut w, "dm balloon 1000");
    let msgs = host_msgs(&mut w, relid);
    let (_, m) = parse_host_message(&msgs[0]).unwrap();
    assert!(matches!(
        m,
        DmHostMessage::BalloonRequest { num_pages: 1000 }
    ));
    // Two answers: 512 + 488 pages.
    let a = [DmMemPageRange::new(1024, 512)];
    let b = [
        DmMemPageRange::new(2048, 400),
        DmMemPageRange::new(3000, 88),
    ];
    answer_balloon(&mut w, relid, &[&a, &b]);
    let r = finished(&mut w, t);
    assert!(r.ok, "{r:?}");
    assert_eq!(
        r.lines,
        [
            "requested=1000",
            "pages=1000",
            "ranges=3",
            "responses=2",
            "held=1000"
        ]
    );
    w.assert_no_errors();
    // Give back 600: the host sends the lowest ranges, split as needed.
    let t = start(&mut w, "dm unballoon 600");
    let msgs = host_msgs(&mut w, relid);
    assert_eq!(msgs.len(), 1);
    let (_, m) = parse_host_message(&msgs[0]).unwrap();
    let DmHostMessage::UnballoonRequest { more_pages, ranges } = m else {
        panic!("{m:?}");
    };
    assert!(!more_pages);
    let got: Vec<_> = ranges
        .iter()
        .map(|r| (r.start_page(), r.page_cnt()))
        .collect();
    assert_eq!(got, [(1024, 512), (2048, 88)]);
    w.send(relid, 10, dm::unballoon_response(10).as_bytes(), false)
        .unwrap();
    let r = finished(&mut w, t);
    assert_eq!(r.lines, ["pages=600", "held=400"]);
    // The rest, all.
    let t = start(&mut w, "dm unballoon all");
    assert_eq!(host_msgs(&mut w, relid).len(), 1);
    w.send(relid, 11, dm::unballoon_response(11).as_bytes(), false)
        .unwrap();
    assert_eq!(finished(&mut w, t).lines, ["pages=400", "held=0"]);
    w.assert_no_errors();
}

#[test]
fn unballoon_of_many_ranges_is_split_at_510() {
    let (mut w, relid) = dm_world(&["dm"]);
    negotiate(&mut w, relid).unwrap();
    let t = start(&mut w, "dm balloon 1100");
    host_msgs(&mut w, relid);
    // 1100 single pages, every other page, in responses of 510 ranges.
    let all: Vec<_> = (0..1100).map(|i| DmMemPageRange::new(i * 2, 1)).collect();
    let parts: Vec<&[DmMemPageRange]> = all.chunks(510).collect();
    answer_balloon(&mut w, relid, &parts);
    assert!(finished(&mut w, t).lines.contains(&"ranges=1100".into()));
    let t = start(&mut w, "dm unballoon all");
    let msgs = host_msgs(&mut w, relid);
    let counts: Vec<_> = msgs
        .iter()
        .map(|b| match parse_host_message(b).unwrap().1 {
            DmHostMessage::UnballoonRequest { more_pages, ranges } => (more_pages, ranges.len()),
            m => panic!("{m:?}"),
        })
        .collect();
    assert_eq!(counts, [(true, 510), (true, 510), (false, 80)]);
    w.send(relid, 12, dm::unballoon_response(12).as_bytes(), false)
        .unwrap();
    assert!(finished(&mut w, t).ok);
    w.assert_no_errors();
}

#[test]
fn bad_balloon_ranges_are_protocol_errors() {
    let (mut w, relid) = dm_world(&["dm"]);
    negotiate(&mut w, relid).unwrap();
    let t = start(&mut w, "dm balloon 100");
    host_msgs(&mut w, relid);
    answer_balloon(&mut w, relid, &[&[DmMemPageRange::new(100, 10)]]);
    assert!(finished(&mut w, t).ok);
    let t = start(&mut w, "dm balloon 100");
    host_msgs(&mut w, relid);
    answer_balloon(
        &mut w,
        relid,
        &[&[
            DmMemPageRange::new(105, 2),           // overlaps a held range
            DmMemPageRange::new(RAM_PAGES - 1, 4), // past the end of RAM
            DmMemPageRange::new(200, 5),           // fine
            DmMemPageRange::new(202, 1),           // duplicate within the answer
            DmMemPageRange::new(300, 0),           // empty
        ]],
    );
    let r = finished(&mut w, t);
    assert!(r.lines.contains(&"pages=5".into()), "{r:?}");
    let e = w.errors();
    assert_eq!(e.len(), 4, "{e:?}");
    assert!(e[0].contains("overlap"), "{e:?}");
    assert!(e[1].contains("not guest RAM"), "{e:?}");
    assert!(e[2].contains("overlap"), "{e:?}");
    assert!(e[3].contains("no pages"), "{e:?}");
    w.engine.clear_errors();
    // An answer without a request, and one whose size disagrees with its range count.
    answer_balloon(&mut w, relid, &[&[DmMemPageRange::new(400, 1)]]);
    let mut buf = vec![0u8; 64];
    let n = build_balloon_response(&mut buf, 1, false, &[DmMemPageRange::new(500, 1)]).unwrap();
    buf[2] = 40; // hdr.size says 3 ranges
    w.send(relid, 1, &buf[..n], false).unwrap();
    w.pump();
    let e = w.errors();
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(e[0].contains("without a balloon request"), "{e:?}");
    assert!(e[1].contains("has size 40"), "{e:?}");
}

#[test]
fn hot_add_requests_and_answers() {
    let (mut w, relid) = dm_world(&["dm"]);
    negotiate(&mut w, relid).unwrap();
    let t = start(&mut w, "dm hot-add 0x40001 512 --region 0x40001,32768");
    let msgs = host_msgs(&mut w, relid);
    assert_eq!(msgs[0].len(), 24);
    let (_, m) = parse_host_message(&msgs[0]).unwrap();
    let DmHostMessage::HotAddRequest { range, region } = m else {
        panic!("{m:?}");
    };
    assert_eq!((range.start_page(), range.page_cnt()), (0x40001, 512));
    assert_eq!(region.map(|r| r.start_page()), Some(0x40001));
    w.send(
        relid,
        5,
        dm::hot_add_response(5, 0, false).as_bytes(),
        false,
    )
    .unwrap();
    assert_eq!(
        finished(&mut w, t).lines,
        ["requested=512", "page_count=0", "result=0"]
    );
    let t = start(&mut w, "dm hot-add 0x100 512");
    assert_eq!(host_msgs(&mut w, relid)[0].len(), 16);
    w.send(relid, 6, dm::hot_add_response(6, 0, true).as_bytes(), false)
        .unwrap();
    assert_eq!(
        finished(&mut w, t).lines,
        ["requested=512", "page_count=0", "result=1"]
    );
    assert!(status(&mut w).contains(&"last_hot_add=page_count:0 result:1".into()));
    // A partial success is fine.
    let t = start(&mut w, "dm hot-add 0x40000 65536 --region 0x40000,65536");
    host_msgs(&mut w, relid);
    w.send(
        relid,
        7,
        dm::hot_add_response(7, 32768, true).as_bytes(),
        false,
    )
    .unwrap();
    assert_eq!(
        finished(&mut w, t).lines,
        ["requested=65536", "page_count=32768", "result=1"]
    );
    w.assert_no_errors();
    // More pages than asked for is a protocol error.
    let t = start(&mut w, "dm hot-add 0x40000 512");
    host_msgs(&mut w, relid);
    w.send(
        relid,
        8,
        dm::hot_add_response(8, 513, true).as_bytes(),
        false,
    )
    .unwrap();
    finished(&mut w, t);
    let e = w.errors();
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains("page_count 513 result 1 for a request of 512"),
        "{e:?}"
    );
}

#[test]
fn malformed_host_messages() {
    let (mut w, relid) = dm_world(&["dm"]);
    negotiate(&mut w, relid).unwrap();
    let t = start(&mut w, "dm malformed truncated-balloon");
    let msgs = host_msgs(&mut w, relid);
    assert_eq!(msgs[0][2], 8, "hdr.size");
    // The guest reads num_pages as far as the packet goes and balloons nothing.
    answer_balloon(&mut w, relid, &[&[]]);
    assert!(finished(&mut w, t).lines.contains(&"pages=0".into()));
    for (cmd, len) in [
        ("dm malformed short", 8),
        ("dm malformed unknown", 8),
        ("dm malformed unballoon-overcount 1000", 24),
    ] {
        assert!(w.cmd(cmd).ok, "{cmd}");
        let m = host_msgs(&mut w, relid);
        assert_eq!(m[0].len(), len, "{cmd}");
    }
    let m = host_msgs(&mut w, relid);
    assert!(m.is_empty());
    w.assert_no_errors();
}

#[test]
fn guest_message_checks() {
    let (mut w, relid) = dm_world(&["dm"]);
    // A status report before negotiation, a short version request, an unknown type.
    w.send(relid, 1, dm::status_report(1, 1, 2).as_bytes(), false)
        .unwrap();
    let mut short = dm::version_request(2, 0x20000, false);
    short.hdr.size = 12;
    w.send(relid, 2, short.as_bytes(), false).unwrap();
    w.send(relid, 3, &[42, 0, 8, 0, 0, 0, 0, 0], false).unwrap();
    // 0.3 without is_last_attempt.
    w.send(relid, 4, dm::version_request(4, 3, false).as_bytes(), false)
        .unwrap();
    w.pump();
    let e = w.errors();
    assert_eq!(e.len(), 4, "{e:?}");
    assert!(e[0].contains("before the capabilities"), "{e:?}");
    assert!(e[1].contains("VERSION_REQUEST has size"), "{e:?}");
    assert!(e[2].contains("unexpected message type 42"), "{e:?}");
    assert!(e[3].contains("is_last_attempt=0"), "{e:?}");
}

#[test]
fn close_fails_pending_and_forgets_pages() {
    let (mut w, relid) = dm_world(&["dm"]);
    negotiate(&mut w, relid).unwrap();
    let t = start(&mut w, "dm balloon 10");
    host_msgs(&mut w, relid);
    answer_balloon(&mut w, relid, &[&[DmMemPageRange::new(50, 10)]]);
    assert!(finished(&mut w, t).ok);
    let t = start(&mut w, "dm hot-add 0x100 512");
    w.close(relid);
    let r = finished(&mut w, t);
    assert!(!r.ok && r.lines[0].contains("closed"), "{r:?}");
    assert!(status(&mut w).contains(&"held_pages=0".into()));
    w.assert_no_errors();
}
