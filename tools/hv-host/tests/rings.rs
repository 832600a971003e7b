// SPDX-License-Identifier: GPL-2.0

//! Ring traffic through the echo device: both directions, wrap-around, flow control, signal
//! accounting, completion faults, rescind mid-I/O, and malformed host output.

mod common;

use common::World;
use hv_proto::connection::Action;
use hv_proto::ring::{Corruption, PacketType, RingError};
use hv_proto::vmbus::Version;

fn echo_world() -> (World, u32) {
    let mut w = World::new(Version::WIN10_V6_0, &["echo", "echo,name=mnfecho,mnf=on"]);
    w.connect();
    let relid = w.relid("echo");
    assert_eq!(w.open(relid, 2, 2), Some(0));
    (w, relid)
}

fn payload(i: u64, len: usize) -> Vec<u8> {
    (0..len).map(|j| (i as usize * 31 + j) as u8).collect()
}

#[test]
fn echo_round_trips_with_wrap_around() {
    let (mut w, relid) = echo_world();
    // 4 KiB data rings and odd sizes: the indices wrap many times.
    for i in 0..500u64 {
        let len = 1 + (i as usize * 37) % 1500;
        let p = payload(i, len);
        w.send(relid, i, &p, i % 2 == 0).unwrap();
        let got = w.recv(relid);
        assert_eq!(got.len(), 1, "packet {i}");
        let (info, data) = &got[0];
        assert_eq!(info.trans_id, i);
        let want = if i % 2 == 0 {
            PacketType::COMP
        } else {
            PacketType::DATA_INBAND
        };
        assert_eq!(info.packet_type, want);
        assert!(!info.completion_requested());
        assert_eq!(&data[..len], &p[..]);
    }
    let s = w.engine.channel_stats(relid).unwrap();
    assert_eq!(s.packets_in, 500);
    assert_eq!(s.packets_out, 500);
    assert_eq!(s.unneeded_signals, 0);
    assert_eq!(s.guest_signals, 500);
    w.assert_no_errors();
}

#[test]
fn host_to_guest_traffic_and_completions() {
    let (mut w, relid) = echo_world();
    let r = w.cmd("echo send 20 100 completion");
    assert!(r.ok, "{r:?}");
    let got = w.recv(relid);
    assert_eq!(got.len(), 20);
    assert!(got.iter().all(|(i, _)| i.completion_requested()));
    // The host signalled once: the ring went empty to non-empty once.
    assert_eq!(w.host_signals.iter().filter(|r| **r == relid).count(), 1);
    // Complete them.
    for (info, _) in got {
        let ch = w.chans.get_mut(&relid).unwrap();
        let pkt = hv_proto::ring::OutgoingPacket::completion(info.trans_id);
        if ch.tx.write_packet(&pkt, &[b"done"]).unwrap() {
            w.signal_host(relid);
        }
    }
    let r = w.cmd("echo status");
    assert!(r.lines.contains(&"completions=20".to_string()), "{r:?}");
    w.assert_no_errors();
}

#[test]
fn flow_control_with_pending_send_size_both_ways() {
    let (mut w, relid) = echo_world();
    // The guest writes without reading answers: first the host-to-guest ring fills (the host
    // sets pending_send_sz and keeps a backlog), then the host stops reading and the
    // guest-to-host ring fills.
    let mut sent = 0u64;
    let mut full = 0;
    for i in 0..400u64 {
        match w.send(relid, i, &payload(i, 200), false) {
            Ok(_) => sent += 1,
            Err(RingError::Full) => {
                full += 1;
                break;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(full, 1, "the guest ring never filled");
    let s = w.engine.channel_stats(relid).unwrap();
    assert!(s.ring_full >= 1);
    // Now the guest drains; its commit crosses the host's pending_send_sz and signals; the
    // host writes its backlog and reads the rest.
    let mut got = Vec::new();
    for _ in 0..100 {
        let batch = w.recv(relid);
        if batch.is_empty() {
            break;
        }
        got.extend(batch);
    }
    assert_eq!(got.len() as u64, sent);
    for (i, (info, data)) in got.iter().enumerate() {
        assert_eq!(info.trans_id, i as u64);
        assert_eq!(&data[..200], &payload(i as u64, 200)[..]);
    }
    // The guest can write again.
    w.send(relid, 1000, b"again", false).unwrap();
    assert_eq!(w.recv(relid).len(), 1);
    let s = w.engine.channel_stats(relid).unwrap();
    assert_eq!(s.unneeded_signals, 0, "{s:?}");
    w.assert_no_errors();
}

#[test]
fn unnecessary_signals_are_counted() {
    let (mut w, relid) = echo_world();
    w.send(relid, 1, b"x", false).unwrap();
    w.recv(relid);
    // A signal with nothing written.
    w.signal_host(relid);
    let s = w.engine.channel_stats(relid).unwrap();
    assert_eq!(s.guest_signals, 2);
    assert_eq!(s.justified_signals, 1);
    assert_eq!(s.unneeded_signals, 1);
}

#[test]
fn completion_faults_delay_drop_reorder() {
    let (mut w, relid) = echo_world();
    w.cmd("fault completions echo delay 1000");
    w.send(relid, 1, b"a", false).unwrap();
    assert!(w.recv(relid).is_empty());
    w.advance(500);
    assert!(w.recv(relid).is_empty());
    w.advance(600);
    assert_eq!(w.recv(relid).len(), 1);

    w.cmd("fault completions echo off");
    w.cmd("fault completions echo drop 2");
    for i in 0..3 {
        w.send(relid, 10 + i, b"b", false).unwrap();
    }
    let got = w.recv(relid);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0.trans_id, 12);

    w.cmd("fault completions echo off");
    w.cmd("fault completions echo reorder 3");
    for i in 0..3 {
        w.send(relid, 20 + i, b"c", false).unwrap();
    }
    let ids: Vec<u64> = w.recv(relid).iter().map(|(i, _)| i.trans_id).collect();
    assert_eq!(ids, vec![22, 21, 20]);

    w.cmd("fault completions echo off");
    w.cmd("fault completions echo drop all");
    w.send(relid, 30, b"d", false).unwrap();
    assert!(w.recv(relid).is_empty());
    w.cmd("fault completions echo off");
    let sig = w.send(relid, 31, b"e", false).unwrap();
    let got = w.recv(relid);
    assert_eq!(
        got.len(),
        1,
        "signal {sig} {:?} {:?}",
        w.engine.show_lines(relid),
        got
    );
    w.assert_no_errors();
}

#[test]
fn rescind_mid_io_stops_the_host_and_the_guest_cleans_up() {
    let (mut w, relid) = echo_world();
    w.cmd("fault completions echo delay 10000");
    for i in 0..5 {
        w.send(relid, i, b"in flight", true).unwrap();
    }
    w.cmd("rescind echo");
    assert!(w.actions.contains(&Action::Rescind { relid }));
    // Held answers never come after the rescind.
    w.advance(20_000);
    assert!(w.recv(relid).is_empty());
    w.guest_handle_rescind(relid);
    assert!(w.engine.channel_state(relid).is_none());
    assert_eq!(w.engine.gpadl_count(), 0);
    w.assert_no_errors();
}

#[test]
fn fill_ring_fills_the_guest_ring() {
    let (mut w, relid) = echo_world();
    let r = w.cmd("fill-ring echo 64");
    assert!(r.ok, "{r:?}");
    let got = w.recv(relid);
    // 4 KiB data area, 88 bytes per packet.
    assert_eq!(got.len(), 4096 / 88);
    assert!(got.iter().all(|(i, _)| i.trans_id >= 0xf111_0000));
}

#[test]
fn corrupt_descriptors_and_indices_are_detected_by_the_guest_ring() {
    for (kind, want) in [
        ("len8", "PacketLength"),
        ("offset8", "PacketOffset"),
        ("offset8-small", "PacketOffset"),
    ] {
        let (mut w, relid) = echo_world();
        assert!(w.cmd(&format!("inject bad-desc echo {kind}")).ok);
        let ch = w.chans.get_mut(&relid).unwrap();
        let e = ch.rx.peek().unwrap_err();
        assert!(format!("{e:?}").contains(want), "{kind}: {e:?}");
    }
    let (mut w, relid) = echo_world();
    assert!(w.cmd("inject bad-index echo write").ok);
    let ch = w.chans.get_mut(&relid).unwrap();
    assert!(matches!(
        ch.rx.peek(),
        Err(RingError::Corrupt(Corruption::WriteIndex(_)))
    ));
    let (mut w, relid) = echo_world();
    assert!(w.cmd("inject bad-index echo read").ok);
    let ch = w.chans.get_mut(&relid).unwrap();
    assert!(matches!(
        ch.tx.free_bytes(),
        Err(RingError::Corrupt(Corruption::ReadIndex(_)))
    ));
}

#[test]
fn a_guest_that_corrupts_its_ring_is_reported() {
    let (mut w, relid) = echo_world();
    // The guest's write index out of range.
    use hv_proto::ring::{ControlField, RingMem};
    let ch = w.chans.get_mut(&relid).unwrap();
    ch.tx.mem().write_control(ControlField::WriteIndex, 12345);
    w.signal_host(relid);
    assert_eq!(w.errors().len(), 1, "{:?}", w.errors());
}

#[test]
fn injected_malformed_messages_are_rejected_by_the_guest() {
    let (mut w, relid) = echo_world();
    let cases = [
        ("inject unknown-msg", "UnknownType"),
        ("inject truncated-offer echo", "TooShort"),
        ("inject offer-relid echo 0", "InvalidRelid"),
        ("inject offer-relid echo 4096", "InvalidRelid"),
        ("inject duplicate-offer echo", "DuplicateRelid"),
        ("inject rescind-relid 2000", "UnknownChannel"),
        ("inject open-result 2000", "UnknownChannel"),
        ("inject gpadl-created 1 0x5", "UnknownGpadl"),
        ("inject gpadl-torndown 0x5", "UnknownGpadl"),
        ("inject version-response", "Unexpected"),
        ("inject alloffers", "Unexpected"),
        ("inject unload-response", "Unexpected"),
        ("inject msg 0100000000000000", "TooShort"),
    ];
    for (cmd, want) in cases {
        w.guest_errors.clear();
        assert!(w.cmd(cmd).ok, "{cmd}");
        assert_eq!(w.guest_errors.len(), 1, "{cmd}");
        assert!(
            w.guest_errors[0].contains(want),
            "{cmd}: {:?}",
            w.guest_errors
        );
    }
    // The channel still works.
    w.send(relid, 1, b"still", false).unwrap();
    assert_eq!(w.recv(relid).len(), 1);
    assert!(w.errors().is_empty());
}

#[test]
fn injected_packets_reach_the_guest() {
    let (mut w, relid) = echo_world();
    assert!(w.cmd("inject packet echo deadbeef --type 6 --trans 77").ok);
    let got = w.recv(relid);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0.trans_id, 77);
    assert_eq!(&got[0].1[..4], &[0xde, 0xad, 0xbe, 0xef]);
}

#[test]
fn mnf_channels_are_polled_through_the_monitor_page() {
    let mut w = World::new(Version::WIN10_V6_0, &["echo,mnf=on"]);
    w.connect();
    let relid = w.relid("echo");
    let o = w.offers[&relid];
    assert_eq!(o.monitor_allocated, 1);
    assert_eq!(w.open(relid, 2, 2), Some(0));
    // The guest writes and sets its monitor bit instead of a hypercall (vmbus_setevent()).
    let ch = w.chans.get_mut(&relid).unwrap();
    ch.tx
        .write_packet(&hv_proto::ring::OutgoingPacket::inband(5, false), &[b"mnf"])
        .unwrap();
    let page2 = w.conn.params().monitor_page2;
    let id = o.monitorid;
    use hv_host::mem::GuestMemory;
    let gpa = page2 + 8 + u64::from(id / 32) * 8;
    let v = w.mem.read_u32(gpa).unwrap();
    w.mem.write_u32(gpa, v | 1 << (id % 32)).unwrap();
    w.advance(10);
    let got = w.recv(relid);
    assert_eq!(got.len(), 1);
    assert_eq!(w.mem.read_u32(gpa).unwrap() & (1 << (id % 32)), 0);
    let s = w.engine.channel_stats(relid).unwrap();
    assert_eq!(s.guest_signals, 1);
    w.assert_no_errors();
}

#[test]
fn stop_answering_ignores_signals() {
    let (mut w, relid) = echo_world();
    w.cmd("fault stop-answering on");
    w.send(relid, 1, b"x", false).unwrap();
    assert!(w.recv(relid).is_empty());
    w.cmd("fault stop-answering off");
    w.signal_host(relid);
    assert_eq!(w.recv(relid).len(), 1);
}

#[test]
fn pause_read_then_pending_send_size_signals_the_waiting_guest() {
    let (mut w, relid) = echo_world();
    let r = w.cmd("fault pause-read echo 1000");
    assert!(r.ok, "{r:?}");
    // The host does not read: the guest ring fills.
    let mut sent = 0u64;
    loop {
        match w.send(relid, sent, &payload(sent, 200), false) {
            Ok(_) => sent += 1,
            Err(RingError::Full) => break,
            Err(e) => panic!("{e:?}"),
        }
        assert!(sent < 100, "the guest ring never filled");
    }
    // The guest waits for room for one more packet, as send_inband_wait does.
    let need = hv_proto::ring::OutgoingRing::<hv_host::mem::GpaRingMem>::packet_len(0, 200)
        .unwrap()
        + hv_proto::ring::VMBUS_PKT_TRAILER;
    w.chans[&relid].tx.set_pending_send_size(need);
    w.host_signals.clear();
    w.advance(500);
    assert!(w.host_signals.is_empty(), "the host read while paused");
    assert_eq!(w.engine.channel_stats(relid).unwrap().room_signals, 0);
    // The pause ends: the host reads, crosses pending_send_sz and signals.
    w.advance(600);
    assert!(w.host_signals.contains(&relid));
    let s = w.engine.channel_stats(relid).unwrap();
    assert_eq!(s.room_signals, 1, "{s:?}");
    assert_eq!(s.packets_in, sent);
    w.chans[&relid].tx.clear_pending_send_size();
    w.send(relid, sent, &payload(sent, 200), false).unwrap();
    w.assert_no_errors();
}

#[test]
fn faults_given_while_closed_apply_at_the_next_open() {
    let (mut w, relid) = echo_world();
    w.close(relid);
    assert!(w.cmd("fault completions echo delay 1000").ok);
    assert!(w.cmd("fault pause-read echo 300").ok);
    assert_eq!(w.open(relid, 2, 2), Some(0));
    w.send(relid, 1, b"a", false).unwrap();
    assert!(w.recv(relid).is_empty());
    w.advance(400);
    // Read after the pause; the answer is held by the delay.
    assert_eq!(w.engine.channel_stats(relid).unwrap().packets_in, 1);
    assert!(w.recv(relid).is_empty());
    w.advance(1100);
    assert_eq!(w.recv(relid).len(), 1);
    w.assert_no_errors();
}

#[test]
fn echo_answers_a_transfer_page_request_with_ranges_of_the_guest_gpadl() {
    use hv_host::devices::echo::{xfer_byte, xfer_range, XFER_MAGIC, XFER_PAGESET_ID};
    use hv_host::mem::{GuestMemory, PAGE_SIZE};
    use hv_proto::gpadl::GpadlType;
    use hv_proto::ring::TransferPages;

    let (mut w, relid) = echo_world();
    // A 64 KiB buffer of the guest, described by a GPADL of the channel in reverse page order:
    // the device must follow the GPADL's pages, not assume contiguous memory.
    let base = w.mem.alloc_pages(16);
    let pfns: Vec<u64> = (0..16).rev().map(|i| base / PAGE_SIZE + i).collect();
    let size = 16 * PAGE_SIZE as u32;
    let handle = w
        .conn
        .create_gpadl(relid, GpadlType::Buffer, &pfns, 12, size, &mut w.out)
        .unwrap();
    w.pump();
    let mut req = XFER_MAGIC.to_vec();
    req.extend_from_slice(&handle.to_le_bytes());
    req.extend_from_slice(&5u32.to_le_bytes());
    w.send(relid, 7, &req, false).unwrap();

    let log = w.cmd("log 10");
    let ch = w.chans.get_mut(&relid).unwrap();
    let pkt = ch.rx.peek().unwrap_or_else(|e| panic!("{e:?}: {log:?}"));
    assert_eq!(pkt.packet_type, PacketType::DATA_USING_XFER_PAGES);
    assert!(pkt.completion_requested());
    let mut hdr = vec![0u8; 4096];
    let header = ch.rx.read_header(&pkt, &mut hdr).unwrap().to_vec();
    let mut payload = vec![0u8; 4096];
    let n = ch.rx.read_payload(&pkt, &mut payload).unwrap();
    assert!(payload[..n].starts_with(b"XFERDATA"));
    ch.rx.advance(&pkt).unwrap();
    let _ = ch.rx.commit_read();
    let tp = TransferPages::parse(&header).unwrap();
    assert_eq!(tp.xfer_pageset_id, XFER_PAGESET_ID);
    assert_eq!(tp.range_count, 5);
    assert!(tp.check_ranges(size));
    for (i, r) in (0u32..).zip(tp.ranges()) {
        assert_eq!((r.byte_offset, r.byte_count), xfer_range(i, size));
        for j in 0..r.byte_count {
            // Byte `at` of the buffer is in GPADL page at / 4096.
            let at = u64::from(r.byte_offset + j);
            let gpa = pfns[(at / PAGE_SIZE) as usize] * PAGE_SIZE + at % PAGE_SIZE;
            let mut b = [0u8];
            w.mem.read(gpa, &mut b).unwrap();
            assert_eq!(b[0], xfer_byte(i, j), "range {i} byte {j}");
        }
    }
    // The guest's completion is counted.
    let trans = pkt.trans_id;
    let ch = w.chans.get_mut(&relid).unwrap();
    let signal = ch
        .tx
        .write_packet(
            &hv_proto::ring::OutgoingPacket::completion(trans),
            &[b"XFERDONE"],
        )
        .unwrap();
    if signal {
        w.signal_host(relid);
    }
    let r = w.cmd("echo status");
    assert!(r.lines.iter().any(|l| l == "xfer_sent=1"), "{r:?}");
    assert!(r.lines.iter().any(|l| l == "xfer_completions=1"), "{r:?}");
    // A request for a GPADL the channel does not have is logged and ignored.
    let mut bad = XFER_MAGIC.to_vec();
    bad.extend_from_slice(&0xdeadu32.to_le_bytes());
    bad.extend_from_slice(&1u32.to_le_bytes());
    w.send(relid, 8, &bad, false).unwrap();
    assert!(w.recv(relid).is_empty());
    w.assert_no_errors();
}
