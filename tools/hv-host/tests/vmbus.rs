// SPDX-License-Identifier: GPL-2.0

//! Control-plane conversations between the protocol core's guest connection and the engine.

mod common;

use common::{World, ALL_DEVICES};
use hv_host::engine::ChanState;
use hv_proto::connection::{Action, ConnectionState};
use hv_proto::gpadl::GpadlType;
use hv_proto::vmbus::{CloseChannel, MessageHeader, MessageType, ModifyChannel, Version, VERSIONS};
use zerocopy::IntoBytes;

#[test]
fn connects_at_every_version_the_c_driver_tries() {
    for v in VERSIONS {
        let mut w = World::new(v, ALL_DEVICES);
        assert_eq!(w.connect(), Some(v), "engine capped at {v}");
        assert!(w.ready(), "ALLOFFERS_DELIVERED at {v}");
        assert_eq!(w.offers.len(), ALL_DEVICES.len());
        let want = if v >= Version::WIN10_V5 { 4 } else { 1 };
        assert_eq!(w.conn.msg_conn_id(), want, "msg_conn_id at {v}");
        assert_eq!(w.engine.version(), Some(v));
        w.assert_no_errors();
    }
}

#[test]
fn guest_cap_and_refusal_fault_make_the_guest_fall_back() {
    let mut w = World::new(Version::WIN10_V6_0, &["echo"]);
    w.guest_max(Version::WIN10);
    assert_eq!(w.connect(), Some(Version::WIN10));
    w.assert_no_errors();

    let mut w = World::new(Version::WIN10_V6_0, &["echo"]);
    w.cmd("fault refuse-version 6.0");
    w.cmd("fault refuse-version 5.3");
    assert_eq!(w.connect(), Some(Version::WIN10_V5_2));

    let mut w = World::new(Version::WIN10_V6_0, &["echo"]);
    for v in VERSIONS {
        w.cmd(&format!("fault refuse-version {v}"));
    }
    assert_eq!(w.connect(), None);
    assert!(w.actions.contains(&Action::ConnectFailed));
    w.assert_no_errors();
}

#[test]
fn offers_carry_the_configured_fields() {
    let mut w = World::new(Version::WIN10_V6_0, ALL_DEVICES);
    w.connect();
    let echo = w.offers[&w.relid("echo")];
    assert_eq!(echo.offer.if_type, hv_host::devices::ECHO_CLASS);
    assert_eq!(echo.monitor_allocated, 0);
    assert_eq!({ echo.is_dedicated_interrupt }, 1);
    assert_eq!({ echo.connection_id }, 0x1000 + echo.child_relid);
    let mnf = w.offers[&w.relid("mnfecho")];
    assert_eq!(mnf.monitor_allocated, 1);
    let fcopy = w.offers[&w.relid("fcopy")];
    assert_eq!(
        fcopy.offer.if_instance.to_string(),
        "eb765408-105f-49b6-b4aa-c123b64d17d4"
    );
    assert_eq!(fcopy.offer.if_type, hv_proto::guid::HV_FCOPY);
    // Every channel's connection id is registered for the guest's signals.
    for o in w.offers.values() {
        assert!(w.t.state().registered.contains(&{ o.connection_id }));
    }
    w.assert_no_errors();
}

#[test]
fn gpadl_with_bodies_is_created_and_torn_down() {
    let mut w = World::new(Version::WIN10_V6_0, &["echo"]);
    w.connect();
    let relid = w.relid("echo");
    let base = w.mem.alloc_pages(100);
    let pfns: Vec<u64> = (0..100).map(|i| base / 4096 + i).collect();
    let h = w
        .conn
        .create_gpadl(relid, GpadlType::Buffer, &pfns, 12, 100 * 4096, &mut w.out)
        .unwrap();
    w.pump();
    assert!(w.actions.contains(&Action::GpadlCreated {
        relid,
        gpadl: h,
        status: 0
    }));
    assert_eq!(w.engine.gpadl_count(), 1);
    assert!(w.conn.teardown_gpadl(relid, h, &mut w.out).unwrap());
    w.pump();
    assert!(w
        .actions
        .contains(&Action::GpadlTorndown { relid, gpadl: h }));
    assert_eq!(w.engine.gpadl_count(), 0);
    w.assert_no_errors();
}

#[test]
fn gpadl_outside_guest_ram_fails_and_is_reported() {
    let mut w = World::new(Version::WIN10_V6_0, &["echo"]);
    w.connect();
    let relid = w.relid("echo");
    let pfns = [0x7fff_0000u64, 0x7fff_0001];
    let h = w
        .conn
        .create_gpadl(relid, GpadlType::Buffer, &pfns, 12, 8192, &mut w.out)
        .unwrap();
    w.pump();
    assert!(w.actions.iter().any(|a| matches!(a,
        Action::GpadlCreated { gpadl, status, .. } if *gpadl == h && *status != 0)));
    assert_eq!(w.errors().len(), 1, "{:?}", w.errors());
}

#[test]
fn open_close_reopen() {
    let mut w = World::new(Version::WIN10_V6_0, &["echo"]);
    w.connect();
    let relid = w.relid("echo");
    for _ in 0..3 {
        assert_eq!(w.open(relid, 2, 2), Some(0));
        assert_eq!(
            w.engine.channel_state(relid),
            Some((ChanState::Open, false))
        );
        w.close(relid);
        assert_eq!(
            w.engine.channel_state(relid),
            Some((ChanState::Offered, false))
        );
        assert_eq!(w.engine.gpadl_count(), 0);
    }
    w.assert_no_errors();
}

#[test]
fn open_with_a_bad_ring_split_fails_with_a_status() {
    let mut w = World::new(Version::WIN10_V6_0, &["echo"]);
    w.connect();
    let relid = w.relid("echo");
    let base = w.mem.alloc_pages(4);
    let pfns: Vec<u64> = (0..4).map(|i| base / 4096 + i).collect();
    let h = w
        .conn
        .create_gpadl(relid, GpadlType::Buffer, &pfns, 12, 4 * 4096, &mut w.out)
        .unwrap();
    w.pump();
    // A 1-page "send ring": no data page.
    let p = hv_proto::connection::OpenParams {
        ring_gpadl: h,
        target_vp: 0,
        downstream_ringbuffer_pageoffset: 1,
        userdata: &[],
    };
    w.conn.open_channel(relid, &p, &mut w.out).unwrap();
    w.pump();
    assert!(w.actions.iter().any(|a| matches!(a,
        Action::OpenResult { status, .. } if *status != 0)));
    assert_eq!(w.errors().len(), 1, "{:?}", w.errors());
}

#[test]
fn open_fail_and_gpadl_fail_faults() {
    let mut w = World::new(Version::WIN10_V6_0, &["echo"]);
    w.connect();
    let relid = w.relid("echo");
    w.cmd("fault open-fail echo 0xc0000001");
    assert_eq!(w.open(relid, 2, 2), Some(0xc000_0001));
    w.cmd("fault clear");
    w.cmd("fault gpadl-fail echo 0xc0000017");
    assert_eq!(w.open(relid, 2, 2), Some(0xc000_0017));
    w.cmd("fault clear");
    assert_eq!(w.open(relid, 2, 2), Some(0));
    w.assert_no_errors();
}

#[test]
fn rescind_idle_then_reoffer() {
    let mut w = World::new(Version::WIN10_V6_0, &["echo"]);
    w.connect();
    let relid = w.relid("echo");
    assert!(w.cmd("rescind echo").ok);
    assert!(w.actions.contains(&Action::Rescind { relid }));
    w.guest_handle_rescind(relid);
    assert!(w.engine.channel_state(relid).is_none());
    assert!(!w.t.state().registered.contains(&(0x1000 + relid)));
    let r = w.cmd("offer echo");
    assert!(r.ok, "{r:?}");
    let relid2 = w.relid("echo");
    let o = w.offers[&relid2];
    assert_eq!(o.offer.if_instance, w.offers[&relid].offer.if_instance);
    assert!(w
        .actions
        .iter()
        .any(|a| matches!(a, Action::Offer { boot: false, .. })));
    assert_eq!(w.open(relid2, 2, 2), Some(0));
    w.assert_no_errors();
}

#[test]
fn rescind_mid_open_aborts_the_open() {
    let mut w = World::new(Version::WIN10_V6_0, &["echo"]);
    w.connect();
    let relid = w.relid("echo");
    w.cmd("fault hold-open echo");
    assert_eq!(w.open(relid, 2, 2), None);
    assert_eq!(
        w.engine.channel_state(relid),
        Some((ChanState::Opening, false))
    );
    w.cmd("rescind echo");
    assert!(w.actions.contains(&Action::OpenAborted { relid }));
    // The guest frees its GPADL without a teardown message once rescinded.
    let g = w.conn.gpadl_state(0xE1E10);
    assert!(g.is_some());
    assert!(!w.conn.teardown_gpadl(relid, 0xE1E10, &mut w.out).unwrap());
    w.guest_handle_rescind(relid);
    assert!(w.engine.channel_state(relid).is_none());
    assert_eq!(w.engine.gpadl_count(), 0);
    // No OPENCHANNEL_RESULT ever came.
    assert!(!w
        .actions
        .iter()
        .any(|a| matches!(a, Action::OpenResult { .. })));
    w.assert_no_errors();
}

#[test]
fn held_open_can_be_released() {
    let mut w = World::new(Version::WIN10_V6_0, &["echo"]);
    w.connect();
    let relid = w.relid("echo");
    w.cmd("fault hold-open all");
    assert_eq!(w.open(relid, 2, 2), None);
    assert!(w.cmd("release-open echo").ok);
    assert!(w.actions.contains(&Action::OpenResult { relid, status: 0 }));
    w.assert_no_errors();
}

#[test]
fn unload_tears_everything_down_and_tolerates_late_releases() {
    let mut w = World::new(Version::WIN10_V6_0, ALL_DEVICES);
    w.connect();
    let relid = w.relid("echo");
    assert_eq!(w.open(relid, 2, 2), Some(0));
    w.conn.unload(&mut w.out).unwrap();
    w.pump();
    assert!(w.actions.contains(&Action::Unloaded));
    assert!(w.engine.relids().is_empty());
    // vmbus_free_channels() releases every relid after the UNLOAD.
    let late = hv_proto::vmbus::RelidReleased {
        header: MessageHeader::new(MessageType::RELID_RELEASED),
        child_relid: relid,
    };
    w.engine.guest_message(4, 0, late.as_bytes());
    w.assert_no_errors();
    // A new connection gets fresh offers.
    assert_eq!(w.connect(), Some(Version::WIN10_V6_0));
    assert!(w.ready());
    w.assert_no_errors();
}

#[test]
fn unload_needs_3_0() {
    let mut w = World::new(Version::WIN8, &["echo"]);
    assert_eq!(w.connect(), Some(Version::WIN8));
    // Linux does not send UNLOAD below 3.0.
    w.conn.unload(&mut w.out).unwrap();
    w.pump();
    assert!(w.out.posts.is_empty());
    w.engine
        .guest_message(1, 0, MessageHeader::new(MessageType::UNLOAD).as_bytes());
    assert_eq!(w.errors().len(), 1, "{:?}", w.errors());
}

#[test]
fn delayed_unload_response() {
    let mut w = World::new(Version::WIN10_V6_0, &["echo"]);
    w.connect();
    w.cmd("fault delay-msg unload_response 5000");
    w.conn.unload(&mut w.out).unwrap();
    w.pump();
    assert_eq!(w.conn.state(), ConnectionState::Unloading);
    w.advance(4000);
    assert_eq!(w.conn.state(), ConnectionState::Unloading);
    w.advance(1500);
    assert_eq!(w.conn.state(), ConnectionState::Disconnected);
    w.assert_no_errors();
}

#[test]
fn modify_channel_response_from_5_3() {
    for (v, answered) in [
        (Version::WIN10_V6_0, true),
        (Version::WIN10_V5_3, true),
        (Version::WIN10_V5_2, false),
        (Version::WIN10_V4_1, false),
    ] {
        let mut w = World::new(v, &["echo"]);
        w.connect();
        let relid = w.relid("echo");
        assert_eq!(w.open(relid, 2, 2), Some(0));
        assert_eq!(
            w.conn.modify_channel(relid, 1, &mut w.out).unwrap(),
            answered
        );
        w.pump();
        assert_eq!(
            w.actions
                .contains(&Action::ModifyResult { relid, status: 0 }),
            answered,
            "at {v}"
        );
        w.assert_no_errors();
    }
    // Before 4.1 the message does not exist.
    let mut w = World::new(Version::WIN10, &["echo"]);
    w.connect();
    let relid = w.relid("echo");
    let m = ModifyChannel {
        header: MessageHeader::new(MessageType::MODIFYCHANNEL),
        child_relid: relid,
        target_vp: 1,
    };
    w.engine.guest_message(1, 0, m.as_bytes());
    assert_eq!(w.errors().len(), 1);
}

#[test]
fn no_modify_response_fault_leaves_the_guest_waiting() {
    let mut w = World::new(Version::WIN10_V6_0, &["echo"]);
    w.connect();
    let relid = w.relid("echo");
    w.open(relid, 2, 2);
    w.cmd("fault no-modify-response on");
    assert!(w.conn.modify_channel(relid, 1, &mut w.out).unwrap());
    w.pump();
    assert!(!w
        .actions
        .iter()
        .any(|a| matches!(a, Action::ModifyResult { .. })));
}

#[test]
fn dropped_alloffers_leaves_the_guest_in_boot_offers() {
    let mut w = World::new(Version::WIN10_V6_0, &["echo"]);
    w.cmd("fault drop-msg alloffers_delivered");
    w.connect();
    assert_eq!(w.conn.state(), ConnectionState::Connected);
    assert!(!w.ready());
}

#[test]
fn stop_answering_leaves_the_guest_connecting() {
    let mut w = World::new(Version::WIN10_V6_0, &["echo"]);
    w.cmd("fault stop-answering on");
    w.connect();
    assert!(matches!(w.conn.state(), ConnectionState::Connecting { .. }));
    w.cmd("fault stop-answering off");
    w.assert_no_errors();
}

#[test]
fn hot_add_and_subchannel_offers() {
    let mut w = World::new(Version::WIN10_V6_0, &["echo"]);
    w.connect();
    let r = w.cmd("add echo,name=hot");
    assert!(r.ok, "{r:?}");
    let hot = w.relid("hot");
    assert!(w
        .actions
        .iter()
        .any(|a| matches!(a, Action::Offer { offer, boot: false } if offer.child_relid == hot)));
    let r = w.cmd("offer echo --sub 1");
    assert!(r.ok, "{r:?}");
    let sub = w
        .offers
        .values()
        .find(|o| o.offer.sub_channel_index == 1)
        .copied()
        .unwrap();
    assert_eq!(
        sub.offer.if_instance,
        w.offers[&w.relid("echo")].offer.if_instance
    );
    w.assert_no_errors();
}

#[test]
fn vm_reset_clears_the_state_and_the_guest_reconnects() {
    let mut w = World::new(Version::WIN10_V6_0, &["echo"]);
    w.connect();
    w.open(w.relid("echo"), 2, 2);
    w.engine.vm_reset();
    assert!(w.engine.relids().is_empty());
    w.conn = hv_proto::connection::FixedConnection::new(*w.conn.params());
    w.chans.clear();
    assert_eq!(w.connect(), Some(Version::WIN10_V6_0));
    w.assert_no_errors();
}

#[test]
fn guest_violations_are_recorded() {
    let mut w = World::new(Version::WIN10_V6_0, &["echo"]);
    // Before contact.
    w.engine.guest_message(
        4,
        0,
        MessageHeader::new(MessageType::REQUESTOFFERS).as_bytes(),
    );
    assert_eq!(w.errors().len(), 1);
    w.connect();
    w.engine.clear_errors();
    let relid = w.relid("echo");
    // Wrong connection id.
    let c = CloseChannel {
        header: MessageHeader::new(MessageType::CLOSECHANNEL),
        child_relid: relid,
    };
    w.engine.guest_message(1, 0, c.as_bytes());
    // Close of a channel that is not open (also counted).
    assert_eq!(w.errors().len(), 2, "{:?}", w.errors());
    w.engine.clear_errors();
    // Second REQUESTOFFERS.
    w.engine.guest_message(
        4,
        0,
        MessageHeader::new(MessageType::REQUESTOFFERS).as_bytes(),
    );
    assert_eq!(w.errors().len(), 1);
    w.engine.clear_errors();
    // Trailing bytes.
    let mut long = c.as_bytes().to_vec();
    long.extend_from_slice(&[0; 4]);
    w.engine.guest_message(4, 0, &long);
    assert!(w.errors().iter().any(|e| e.contains("expected 12")));
    w.engine.clear_errors();
    // Unknown relid, unknown GPADL, host-to-guest message types, garbage.
    let c = CloseChannel {
        header: MessageHeader::new(MessageType::CLOSECHANNEL),
        child_relid: 999,
    };
    w.engine.guest_message(4, 0, c.as_bytes());
    let t = hv_proto::vmbus::GpadlTeardown {
        header: MessageHeader::new(MessageType::GPADL_TEARDOWN),
        child_relid: relid,
        gpadl: 0x1234,
    };
    w.engine.guest_message(4, 0, t.as_bytes());
    w.engine.guest_message(
        4,
        0,
        MessageHeader::new(MessageType::ALLOFFERS_DELIVERED).as_bytes(),
    );
    w.engine.guest_message(4, 0, &[1, 2, 3]);
    assert_eq!(w.errors().len(), 4, "{:?}", w.errors());
    let r = w.cmd("errors --check");
    assert!(!r.ok);
}

#[test]
fn initiate_contact_checks() {
    let mut w = World::new(Version::WIN10_V6_0, &["echo"]);
    let mut m = hv_proto::vmbus::InitiateContact {
        header: MessageHeader::new(MessageType::INITIATE_CONTACT),
        vmbus_version_requested: Version::WIN10_V6_0,
        target_vcpu: 0,
        msg_sint: 2,
        msg_vtl: 0,
        reserved: [0; 2],
        feature_flags: hv_proto::vmbus::FeatureFlags(0),
        monitor_page1: 0x1000,
        monitor_page2: 0x2000,
    };
    // 6.0 on connection id 1.
    w.engine.guest_message(1, 0, m.as_bytes());
    assert_eq!(w.errors().len(), 1, "{:?}", w.errors());
    w.engine.vm_reset();
    w.engine.clear_errors();
    // Monitor page not page aligned, VP out of range, Windows 7 version.
    m.monitor_page1 = 0x1008;
    m.target_vcpu = 7;
    m.vmbus_version_requested = Version::WIN7;
    m.set_interrupt_page(0x3000);
    w.engine.guest_message(1, 0, m.as_bytes());
    assert_eq!(w.errors().len(), 3, "{:?}", w.errors());
}

#[test]
fn relid_release_of_a_refused_offer() {
    // The guest refuses an offer (e.g. no room) by releasing its relid at once.
    let mut w = World::new(Version::WIN10_V6_0, &["echo"]);
    w.connect();
    let relid = w.relid("echo");
    let late = hv_proto::vmbus::RelidReleased {
        header: MessageHeader::new(MessageType::RELID_RELEASED),
        child_relid: relid,
    };
    w.engine.guest_message(4, 0, late.as_bytes());
    assert!(w.engine.channel_state(relid).is_none());
    w.assert_no_errors();
}
