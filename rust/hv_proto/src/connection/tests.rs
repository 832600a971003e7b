// SPDX-License-Identifier: GPL-2.0

//! The connection state machine against a scripted host.
//!
//! The host side decodes what the guest posts with this crate's parsers and answers with the
//! messages a Hyper-V host sends, including refusals, rescinds at awkward times and malformed
//! messages.

extern crate std;

use super::*;
use std::vec;
use std::vec::Vec;

use super::super::gpadl::GpadlAssembler;
use super::super::guid::{HV_NIC, HV_SCSI};
use super::super::synic::{HvMessageFlags, HvMessageHeader, HvMessageType};
use super::super::vmbus::{
    ChannelOffer, ConnectionState as WireConnState, GpadlCreated, GpadlTorndown,
    ModifyChannelResponse, OfferFlags, OpenResult, RescindOffer, VersionResponse, VersionResponse2,
};

/// Records what the connection posts and reports.
#[derive(Default)]
struct Log {
    posts: Vec<(u32, Vec<u8>)>,
    actions: Vec<Action>,
}

impl Outbox for Log {
    fn post(&mut self, connection_id: u32, message: &[u8]) {
        assert!(message.len() <= 240);
        self.posts.push((connection_id, message.to_vec()));
    }

    fn action(&mut self, action: Action) {
        self.actions.push(action);
    }
}

impl Log {
    fn take_posts(&mut self) -> Vec<(u32, Vec<u8>)> {
        core::mem::take(&mut self.posts)
    }

    fn take_actions(&mut self) -> Vec<Action> {
        core::mem::take(&mut self.actions)
    }
}

type Conn = FixedConnection<8, 8>;

fn version_response(accept: bool, msg_conn_id: u32) -> VersionResponse {
    VersionResponse {
        header: MessageHeader::new(MessageType::VERSION_RESPONSE),
        version_supported: accept.into(),
        connection_state: if accept {
            WireConnState::SUCCESSFUL
        } else {
            WireConnState::FAILED_UNKNOWN_FAILURE
        },
        padding: 0,
        msg_conn_id,
    }
}

fn offer(relid: u32, if_type: Guid, sub: u16) -> OfferChannel {
    OfferChannel {
        header: MessageHeader::new(MessageType::OFFERCHANNEL),
        offer: ChannelOffer {
            if_type,
            if_instance: Guid::from_fields(relid, 1, 2, [3; 8]),
            reserved1: 0,
            reserved2: 0,
            chn_flags: OfferFlags(0),
            mmio_megabytes: 0,
            user_def: [0; 120],
            sub_channel_index: sub,
            reserved3: 0,
        },
        child_relid: relid,
        monitorid: relid as u8,
        monitor_allocated: 1,
        is_dedicated_interrupt: 0,
        connection_id: 0x2000 + relid,
    }
}

/// Decodes an INITIATE_CONTACT post.
fn contact(p: &(u32, Vec<u8>)) -> (u32, InitiateContact) {
    match Message::parse(&p.1) {
        Ok(Message::InitiateContact(c)) => (p.0, c),
        other => panic!("{other:?}"),
    }
}

/// Connects with the host accepting `accept` (refusing newer ones) and returns the connection.
fn connected(params: ConnectParams, accept: Version, msg_conn_id: u32, log: &mut Log) -> Conn {
    let mut c = Conn::new(params);
    c.start(log).unwrap();
    loop {
        let p = log.take_posts();
        let (_, ic) = contact(p.last().unwrap());
        let v = ic.vmbus_version_requested;
        let ok = v == accept;
        c.handle_message(version_response(ok, msg_conn_id).as_bytes(), log)
            .unwrap();
        if ok {
            break;
        }
    }
    c
}

#[test]
fn negotiates_down_in_the_c_order() {
    let mut log = Log::default();
    let params = ConnectParams {
        target_vcpu: 3,
        monitor_page1: 0x1000,
        monitor_page2: 0x2000,
        interrupt_page: 0x3000,
        ..ConnectParams::default()
    };
    let mut c = Conn::new(params);
    c.start(&mut log).unwrap();
    let mut tried = Vec::new();
    // The host refuses everything above 4.0.
    loop {
        let posts = log.take_posts();
        assert_eq!(posts.len(), 1);
        let (id, ic) = contact(&posts[0]);
        let v = ic.vmbus_version_requested;
        tried.push(v);
        assert_eq!({ ic.target_vcpu }, 3);
        assert_eq!({ ic.monitor_page1 }, 0x1000);
        assert_eq!({ ic.monitor_page2 }, 0x2000);
        if v >= Version::WIN10_V5 {
            // 5.0+: connection id 4, msg_sint 2 instead of the interrupt page.
            assert_eq!(id, 4);
            assert_eq!(ic.msg_sint, 2);
            assert_eq!(ic.msg_vtl, 0);
            assert_eq!({ ic.feature_flags }, FeatureFlags(0));
        } else {
            assert_eq!(id, 1);
            assert_eq!(ic.interrupt_page(), 0x3000);
        }
        let accept = v == Version::WIN10;
        c.handle_message(version_response(accept, 0x77).as_bytes(), &mut log)
            .unwrap();
        if accept {
            break;
        }
        assert!(matches!(c.state(), ConnectionState::Connecting { .. }));
    }
    assert_eq!(&tried[..], &VERSIONS[..7]);
    assert_eq!(c.version(), Some(Version::WIN10));
    // Before 5.0 msg_conn_id of the response is ignored: everything goes to id 1.
    assert_eq!(c.msg_conn_id(), 1);
    assert_eq!(
        log.take_actions(),
        vec![Action::Connected {
            version: Version::WIN10,
            msg_conn_id: 1,
            features: FeatureFlags(0)
        }]
    );
    let posts = log.take_posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].0, 1);
    assert_eq!(Message::parse(&posts[0].1), Ok(Message::RequestOffers));
    assert_eq!(c.state(), ConnectionState::Connected);
}

#[test]
fn v5_uses_msg_conn_id_from_the_response() {
    let mut log = Log::default();
    let c = connected(
        ConnectParams::default(),
        Version::WIN10_V5_2,
        0x20,
        &mut log,
    );
    assert_eq!(c.msg_conn_id(), 0x20);
    let posts = log.take_posts();
    assert_eq!(posts[0].0, 0x20, "REQUESTOFFERS on msg_conn_id");
}

#[test]
fn max_and_min_version() {
    let mut log = Log::default();
    let params = ConnectParams {
        max_version: Version::WIN10_V4_1,
        min_version: Version::WIN10,
        ..ConnectParams::default()
    };
    let mut c = Conn::new(params);
    c.start(&mut log).unwrap();
    let (id, ic) = contact(&log.take_posts()[0]);
    assert_eq!({ ic.vmbus_version_requested }, Version::WIN10_V4_1);
    assert_eq!(id, 1);
    c.handle_message(version_response(false, 0).as_bytes(), &mut log)
        .unwrap();
    let (_, ic) = contact(&log.take_posts()[0]);
    assert_eq!({ ic.vmbus_version_requested }, Version::WIN10);
    c.handle_message(version_response(false, 0).as_bytes(), &mut log)
        .unwrap();
    // 3.0 is below min_version: give up.
    assert!(log.take_posts().is_empty());
    assert_eq!(log.take_actions(), vec![Action::ConnectFailed]);
    assert_eq!(c.state(), ConnectionState::Disconnected);
    // It can start again.
    c.start(&mut log).unwrap();
    assert_eq!(log.take_posts().len(), 1);
}

#[test]
fn all_versions_refused() {
    let mut log = Log::default();
    let mut c = Conn::new(ConnectParams::default());
    c.start(&mut log).unwrap();
    for _ in 0..VERSIONS.len() {
        assert_eq!(log.take_posts().len(), 1);
        c.handle_message(version_response(false, 0).as_bytes(), &mut log)
            .unwrap();
    }
    assert!(log.take_posts().is_empty());
    assert_eq!(log.take_actions(), vec![Action::ConnectFailed]);
    assert_eq!(c.version(), None);
}

#[test]
fn copper_features_and_vtl2_redirect() {
    let mut log = Log::default();
    let params = ConnectParams {
        vtl: 2,
        feature_flags: FeatureFlags::CONFIDENTIAL_CHANNELS,
        ..ConnectParams::default()
    };
    let mut c = Conn::new(params);
    c.start(&mut log).unwrap();
    let (id, ic) = contact(&log.take_posts()[0]);
    assert_eq!(id, VMBUS_MESSAGE_CONNECTION_ID_REDIRECT);
    assert_eq!(ic.msg_vtl, 2);
    assert_eq!({ ic.feature_flags }, FeatureFlags::CONFIDENTIAL_CHANNELS);
    // The redirect id does not exist here: same version on id 4.
    c.post_failed(HvStatus::INVALID_CONNECTION_ID, &mut log)
        .unwrap();
    let (id, ic) = contact(&log.take_posts()[0]);
    assert_eq!(id, 4);
    assert_eq!({ ic.vmbus_version_requested }, Version::WIN10_V6_0);
    // Another post failure moves on to the next version (redirect id first again).
    c.post_failed(HvStatus::ACCESS_DENIED, &mut log).unwrap();
    let (id, ic) = contact(&log.take_posts()[0]);
    assert_eq!(id, VMBUS_MESSAGE_CONNECTION_ID_REDIRECT);
    assert_eq!({ ic.vmbus_version_requested }, Version::WIN10_V5_3);
    // 5.3 carries no feature flags.
    assert_eq!({ ic.feature_flags }, FeatureFlags(0));
    c.handle_message(version_response(true, 9).as_bytes(), &mut log)
        .unwrap();
    assert_eq!(c.features(), FeatureFlags(0));
    assert_eq!(
        c.post_failed(HvStatus::ACCESS_DENIED, &mut log),
        Err(ConnError::InvalidState)
    );

    // A 6.0 host answering with its features: only those requested count.
    let mut log = Log::default();
    let mut c = Conn::new(ConnectParams {
        feature_flags: FeatureFlags::CONFIDENTIAL_CHANNELS,
        ..ConnectParams::default()
    });
    c.start(&mut log).unwrap();
    let r = VersionResponse2 {
        version_response: version_response(true, 5),
        supported_features: FeatureFlags(0x3f),
    };
    c.handle_message(r.as_bytes(), &mut log).unwrap();
    assert_eq!(c.features(), FeatureFlags::CONFIDENTIAL_CHANNELS);
}

#[test]
fn offers_boot_then_hot_add() {
    let mut log = Log::default();
    let mut c = connected(
        ConnectParams::default(),
        Version::WIN10_V5_3,
        0x20,
        &mut log,
    );
    log.take_actions();
    log.take_posts();
    let o1 = offer(1, HV_SCSI, 0);
    let o2 = offer(2, HV_NIC, 0);
    c.handle_message(o1.as_bytes(), &mut log).unwrap();
    c.handle_message(o2.as_bytes(), &mut log).unwrap();
    c.handle_message(
        MessageHeader::new(MessageType::ALLOFFERS_DELIVERED).as_bytes(),
        &mut log,
    )
    .unwrap();
    assert_eq!(c.state(), ConnectionState::Ready);
    let o3 = offer(3, HV_NIC, 1);
    c.handle_message(o3.as_bytes(), &mut log).unwrap();
    assert_eq!(
        log.take_actions(),
        vec![
            Action::Offer {
                offer: o1,
                boot: true
            },
            Action::Offer {
                offer: o2,
                boot: true
            },
            Action::AllOffersDelivered,
            Action::Offer {
                offer: o3,
                boot: false
            },
        ]
    );
    assert_eq!(c.channel_count(), 3);
    assert_eq!(c.channel_state(3), Some((ChannelState::Offered, false)));
    // Duplicate relid, invalid relids, second ALLOFFERS_DELIVERED.
    assert_eq!(
        c.handle_message(o1.as_bytes(), &mut log),
        Err(ConnError::DuplicateRelid(1))
    );
    assert_eq!(
        c.handle_message(offer(0, HV_NIC, 0).as_bytes(), &mut log),
        Err(ConnError::InvalidRelid(0))
    );
    assert_eq!(
        c.handle_message(offer(2048, HV_NIC, 0).as_bytes(), &mut log),
        Err(ConnError::InvalidRelid(2048))
    );
    assert_eq!(
        c.handle_message(
            MessageHeader::new(MessageType::ALLOFFERS_DELIVERED).as_bytes(),
            &mut log
        ),
        Err(ConnError::Unexpected(MessageType::ALLOFFERS_DELIVERED))
    );
    assert!(log.take_actions().is_empty());
    assert!(log.take_posts().is_empty());
}

#[test]
fn full_channel_table_releases_the_offer() {
    let mut log = Log::default();
    let mut c = connected(
        ConnectParams::default(),
        Version::WIN10_V5_3,
        0x20,
        &mut log,
    );
    log.take_posts();
    for relid in 1..=8 {
        c.handle_message(offer(relid, HV_NIC, 0).as_bytes(), &mut log)
            .unwrap();
    }
    assert_eq!(
        c.handle_message(offer(9, HV_NIC, 0).as_bytes(), &mut log),
        Err(ConnError::TooManyChannels)
    );
    let posts = log.take_posts();
    assert_eq!(posts.len(), 1);
    match Message::parse(&posts[0].1) {
        Ok(Message::RelidReleased(r)) => assert_eq!({ r.child_relid }, 9),
        other => panic!("{other:?}"),
    }
}

#[test]
fn dropped_offer_is_released_and_forgotten() {
    let mut log = Log::default();
    let mut c = connected(
        ConnectParams::default(),
        Version::WIN10_V5_3,
        0x20,
        &mut log,
    );
    c.handle_message(offer(5, HV_NIC, 0).as_bytes(), &mut log)
        .unwrap();
    log.take_posts();
    assert_eq!(c.drop_offer(6, &mut log), Err(ConnError::UnknownChannel(6)));
    c.drop_offer(5, &mut log).unwrap();
    let posts = log.take_posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].0, 0x20);
    match Message::parse(&posts[0].1) {
        Ok(Message::RelidReleased(r)) => assert_eq!({ r.child_relid }, 5),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.channel_state(5), None);
    // The relid can be offered again.
    c.handle_message(offer(5, HV_NIC, 0).as_bytes(), &mut log)
        .unwrap();
    // A channel being opened is not dropped.
    let (mut c, g) = with_ring(Version::WIN10_V5_3, &mut log);
    c.open_channel(5, &open_params(g), &mut log).unwrap();
    assert_eq!(c.drop_offer(5, &mut log), Err(ConnError::ChannelState(5)));
}

/// Heap tables, as the kernel uses them.
struct VecTable<T>(Vec<Option<T>>);

impl<T> Table<T> for VecTable<T> {
    fn slots(&self) -> &[Option<T>] {
        &self.0
    }

    fn slots_mut(&mut self) -> &mut [Option<T>] {
        &mut self.0
    }
}

#[test]
fn caller_provided_tables_bound_and_are_cleared() {
    let mut log = Log::default();
    // A connected fixed connection leaves an entry behind in a table we then reuse.
    let mut filled = connected(ConnectParams::default(), Version::WIN10, 1, &mut log);
    filled
        .handle_message(offer(3, HV_NIC, 0).as_bytes(), &mut log)
        .unwrap();
    assert_eq!(filled.channel_count(), 1);

    let mut c = Connection::with_tables(
        ConnectParams::default(),
        VecTable(vec![Some(Channel {
            relid: 3,
            state: ChannelState::Opened,
            rescinded: false,
            modify_pending: false,
        })]),
        VecTable(vec![None; 1]),
    );
    assert_eq!(c.channel_count(), 0, "with_tables clears the tables");
    c.start(&mut log).unwrap();
    loop {
        let p = log.take_posts();
        let (_, ic) = contact(p.last().unwrap());
        let ok = { ic.vmbus_version_requested } == Version::WIN10;
        c.handle_message(version_response(ok, 1).as_bytes(), &mut log)
            .unwrap();
        if ok {
            break;
        }
    }
    log.take_posts();
    c.handle_message(offer(3, HV_NIC, 0).as_bytes(), &mut log)
        .unwrap();
    assert_eq!(
        c.handle_message(offer(4, HV_NIC, 0).as_bytes(), &mut log),
        Err(ConnError::TooManyChannels)
    );
    assert_eq!(c.channel_state(3), Some((ChannelState::Offered, false)));
}

/// What the scripted host learned from a GPADL the guest posted.
fn host_receives_gpadl(posts: &[(u32, Vec<u8>)], conn_id: u32) -> (u32, u32, Vec<u64>) {
    let mut buf = [0u64; 64];
    let mut asm = None;
    for (id, m) in posts {
        assert_eq!(*id, conn_id);
        match Message::parse(m).unwrap() {
            Message::GpadlHeader(h, tail) => {
                asm = Some(GpadlAssembler::new(&h, tail, &mut buf).unwrap())
            }
            Message::GpadlBody(b, tail) => {
                asm.as_mut().unwrap().add_body(&b, tail).unwrap();
            }
            other => panic!("{other:?}"),
        }
    }
    let g = asm.unwrap().finish().unwrap();
    let r = g.single_range().unwrap();
    (g.child_relid, g.gpadl, r.pfns.to_vec())
}

fn gpadl_created(relid: u32, gpadl: u32, status: u32) -> GpadlCreated {
    GpadlCreated {
        header: MessageHeader::new(MessageType::GPADL_CREATED),
        child_relid: relid,
        gpadl,
        creation_status: status,
    }
}

fn open_result(relid: u32, openid: u32, status: u32) -> OpenResult {
    OpenResult {
        header: MessageHeader::new(MessageType::OPENCHANNEL_RESULT),
        child_relid: relid,
        openid,
        status,
    }
}

fn rescind(relid: u32) -> RescindOffer {
    RescindOffer {
        header: MessageHeader::new(MessageType::RESCIND_CHANNELOFFER),
        child_relid: relid,
    }
}

/// Connects at `version`, offers relid 5 and creates its 40-page ring GPADL.
fn with_ring(version: Version, log: &mut Log) -> (Conn, u32) {
    let mut c = connected(ConnectParams::default(), version, 0x20, log);
    c.handle_message(offer(5, HV_SCSI, 0).as_bytes(), log)
        .unwrap();
    log.take_posts();
    log.take_actions();
    let pages: Vec<u64> = (100..140).collect();
    let g = c
        .create_gpadl(
            5,
            GpadlType::Ring {
                send_offset: 20 * 4096,
            },
            &pages,
            12,
            40 * 4096,
            log,
        )
        .unwrap();
    assert_eq!(g, FIRST_GPADL_HANDLE);
    let posts = log.take_posts();
    assert_eq!(posts.len(), 2, "header with 26 PFNs and one body with 14");
    let conn_id = if version >= Version::WIN10_V5 {
        0x20
    } else {
        1
    };
    assert_eq!(c.msg_conn_id(), conn_id);
    assert_eq!(host_receives_gpadl(&posts, conn_id), (5, g, pages));
    assert_eq!(c.gpadl_state(g), Some(GpadlState::Creating));
    c.handle_message(gpadl_created(5, g, 0).as_bytes(), log)
        .unwrap();
    assert_eq!(
        log.take_actions(),
        vec![Action::GpadlCreated {
            relid: 5,
            gpadl: g,
            status: 0
        }]
    );
    (c, g)
}

fn open_params(gpadl: u32) -> OpenParams<'static> {
    OpenParams {
        ring_gpadl: gpadl,
        target_vp: 1,
        downstream_ringbuffer_pageoffset: 20,
        userdata: &[0xee; 24],
    }
}

#[test]
fn channel_lifecycle() {
    let mut log = Log::default();
    let (mut c, g) = with_ring(Version::WIN10_V5_3, &mut log);
    c.open_channel(5, &open_params(g), &mut log).unwrap();
    let posts = log.take_posts();
    match Message::parse(&posts[0].1) {
        Ok(Message::OpenChannel(o)) => {
            assert_eq!({ o.child_relid }, 5);
            assert_eq!({ o.openid }, 5);
            assert_eq!({ o.ringbuffer_gpadlhandle }, g);
            assert_eq!({ o.target_vp }, 1);
            assert_eq!({ o.downstream_ringbuffer_pageoffset }, 20);
            assert_eq!(&o.userdata[..24], &[0xee; 24]);
            assert_eq!(&o.userdata[24..], &[0; 96]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.channel_state(5), Some((ChannelState::Opening, false)));
    // Second open while opening.
    assert_eq!(
        c.open_channel(5, &open_params(g), &mut log),
        Err(ConnError::ChannelState(5))
    );
    // A result with a wrong openid is not ours.
    assert_eq!(
        c.handle_message(open_result(5, 6, 0).as_bytes(), &mut log),
        Err(ConnError::ChannelState(5))
    );
    c.handle_message(open_result(5, 5, 0).as_bytes(), &mut log)
        .unwrap();
    assert_eq!(
        log.take_actions(),
        vec![Action::OpenResult {
            relid: 5,
            status: 0
        }]
    );
    assert_eq!(c.channel_state(5), Some((ChannelState::Opened, false)));

    // MODIFYCHANNEL with a response on 5.3.
    assert_eq!(c.modify_channel(5, 3, &mut log), Ok(true));
    assert_eq!(c.modify_channel(5, 4, &mut log), Err(ConnError::Busy));
    match Message::parse(&log.take_posts()[0].1) {
        Ok(Message::ModifyChannel(m)) => assert_eq!(({ m.child_relid }, { m.target_vp }), (5, 3)),
        other => panic!("{other:?}"),
    }
    let resp = ModifyChannelResponse {
        header: MessageHeader::new(MessageType::MODIFYCHANNEL_RESPONSE),
        child_relid: 5,
        status: 0,
    };
    c.handle_message(resp.as_bytes(), &mut log).unwrap();
    assert_eq!(
        c.handle_message(resp.as_bytes(), &mut log),
        Err(ConnError::Unexpected(MessageType::MODIFYCHANNEL_RESPONSE))
    );
    assert_eq!(
        log.take_actions(),
        vec![Action::ModifyResult {
            relid: 5,
            status: 0
        }]
    );

    // Close, then tear down the ring GPADL.
    c.close_channel(5, &mut log).unwrap();
    assert_eq!(
        c.close_channel(5, &mut log),
        Err(ConnError::ChannelState(5))
    );
    match Message::parse(&log.take_posts()[0].1) {
        Ok(Message::CloseChannel(m)) => assert_eq!({ m.child_relid }, 5),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.teardown_gpadl(5, g, &mut log), Ok(true));
    match Message::parse(&log.take_posts()[0].1) {
        Ok(Message::GpadlTeardown(t)) => assert_eq!(({ t.child_relid }, { t.gpadl }), (5, g)),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.gpadl_state(g), Some(GpadlState::TearingDown));
    let torn = GpadlTorndown {
        header: MessageHeader::new(MessageType::GPADL_TORNDOWN),
        gpadl: g,
    };
    c.handle_message(torn.as_bytes(), &mut log).unwrap();
    assert_eq!(
        log.take_actions(),
        vec![Action::GpadlTorndown { relid: 5, gpadl: g }]
    );
    assert_eq!(c.gpadl_state(g), None);
    assert_eq!(
        c.handle_message(torn.as_bytes(), &mut log),
        Err(ConnError::UnknownGpadl(g))
    );
}

#[test]
fn modify_before_5_3_has_no_ack_and_needs_4_1() {
    let mut log = Log::default();
    let (mut c, g) = with_ring(Version::WIN10_V5_2, &mut log);
    c.open_channel(5, &open_params(g), &mut log).unwrap();
    c.handle_message(open_result(5, 5, 0).as_bytes(), &mut log)
        .unwrap();
    assert_eq!(c.modify_channel(5, 2, &mut log), Ok(false));
    assert_eq!(c.modify_channel(5, 3, &mut log), Ok(false));

    let mut log = Log::default();
    let (mut c, g) = with_ring(Version::WIN10, &mut log);
    c.open_channel(5, &open_params(g), &mut log).unwrap();
    c.handle_message(open_result(5, 5, 0).as_bytes(), &mut log)
        .unwrap();
    assert_eq!(
        c.modify_channel(5, 2, &mut log),
        Err(ConnError::NotSupported)
    );
}

#[test]
fn modify_cancelled_after_a_timeout() {
    let mut log = Log::default();
    let (mut c, g) = with_ring(Version::WIN10_V5_3, &mut log);
    c.open_channel(5, &open_params(g), &mut log).unwrap();
    c.handle_message(open_result(5, 5, 0).as_bytes(), &mut log)
        .unwrap();
    log.take_actions();
    assert_eq!(c.modify_channel(5, 1, &mut log), Ok(true));
    // The glue gave up waiting: a late answer is unexpected, and a new request may go.
    assert_eq!(c.cancel_modify(5), Ok(()));
    assert_eq!(c.cancel_modify(6), Err(ConnError::UnknownChannel(6)));
    let resp = ModifyChannelResponse {
        header: MessageHeader::new(MessageType::MODIFYCHANNEL_RESPONSE),
        child_relid: 5,
        status: 0,
    };
    assert_eq!(
        c.handle_message(resp.as_bytes(), &mut log),
        Err(ConnError::Unexpected(MessageType::MODIFYCHANNEL_RESPONSE))
    );
    assert_eq!(c.modify_channel(5, 2, &mut log), Ok(true));
    c.handle_message(resp.as_bytes(), &mut log).unwrap();
    assert_eq!(
        log.take_actions(),
        vec![Action::ModifyResult {
            relid: 5,
            status: 0
        }]
    );
}

#[test]
fn open_failure_and_gpadl_failure() {
    let mut log = Log::default();
    let (mut c, g) = with_ring(Version::WIN10_V5_3, &mut log);
    c.open_channel(5, &open_params(g), &mut log).unwrap();
    c.handle_message(open_result(5, 5, 0xc000_0001).as_bytes(), &mut log)
        .unwrap();
    assert_eq!(c.channel_state(5), Some((ChannelState::Offered, false)));
    log.take_posts();
    // A failed GPADL creation forgets the handle; the next one gets a new handle.
    let h = c
        .create_gpadl(5, GpadlType::Buffer, &[1, 2], 12, 8192, &mut log)
        .unwrap();
    assert_eq!(h, FIRST_GPADL_HANDLE + 1);
    c.handle_message(gpadl_created(5, h, 0xc000_0017).as_bytes(), &mut log)
        .unwrap();
    assert_eq!(c.gpadl_state(h), None);
    // GPADL_CREATED for another channel's relid or an unknown handle.
    assert_eq!(
        c.handle_message(gpadl_created(5, h, 0).as_bytes(), &mut log),
        Err(ConnError::UnknownGpadl(h))
    );
    assert_eq!(
        c.handle_message(gpadl_created(6, g, 0).as_bytes(), &mut log),
        Err(ConnError::UnknownGpadl(g))
    );
    // Open needs a created GPADL of the channel and at most 120 bytes of user data.
    assert_eq!(
        c.open_channel(5, &open_params(0x1234), &mut log),
        Err(ConnError::UnknownGpadl(0x1234))
    );
    let long = [0u8; 121];
    let p = OpenParams {
        userdata: &long,
        ..open_params(g)
    };
    assert_eq!(
        c.open_channel(5, &p, &mut log),
        Err(ConnError::InvalidArgument)
    );
    assert_eq!(
        c.open_channel(9, &open_params(g), &mut log),
        Err(ConnError::UnknownChannel(9))
    );
    assert_eq!(
        c.create_gpadl(5, GpadlType::Buffer, &[1], 12, 8192, &mut log),
        Err(ConnError::Gpadl(GpadlError::NotEnoughPages { needed: 2 }))
    );
}

#[test]
fn cancel_after_post_failures() {
    let mut log = Log::default();
    let (mut c, g) = with_ring(Version::WIN10_V5_3, &mut log);
    c.open_channel(5, &open_params(g), &mut log).unwrap();
    c.cancel_open(5).unwrap();
    assert_eq!(c.channel_state(5), Some((ChannelState::Offered, false)));
    assert_eq!(c.cancel_open(5), Err(ConnError::ChannelState(5)));
    // A late answer to the cancelled open is rejected.
    assert_eq!(
        c.handle_message(open_result(5, 5, 0).as_bytes(), &mut log),
        Err(ConnError::ChannelState(5))
    );
    let h = c
        .create_gpadl(5, GpadlType::Buffer, &[1], 12, 4096, &mut log)
        .unwrap();
    assert_eq!(c.cancel_gpadl(5, g), Err(ConnError::UnknownGpadl(g)));
    c.cancel_gpadl(5, h).unwrap();
    assert_eq!(c.gpadl_state(h), None);
    assert_eq!(
        c.handle_message(gpadl_created(5, h, 0).as_bytes(), &mut log),
        Err(ConnError::UnknownGpadl(h))
    );
}

#[test]
fn rescind_mid_open() {
    let mut log = Log::default();
    let (mut c, g) = with_ring(Version::WIN10_V5_3, &mut log);
    c.open_channel(5, &open_params(g), &mut log).unwrap();
    log.take_posts();
    c.handle_message(rescind(5).as_bytes(), &mut log).unwrap();
    assert_eq!(
        log.take_actions(),
        vec![
            Action::Rescind { relid: 5 },
            Action::OpenAborted { relid: 5 }
        ]
    );
    assert_eq!(c.channel_state(5), Some((ChannelState::Offered, true)));
    // A late OPEN_RESULT (the host should send none) is rejected.
    assert_eq!(
        c.handle_message(open_result(5, 5, 0).as_bytes(), &mut log),
        Err(ConnError::ChannelState(5))
    );
    // A second rescind is refused.
    assert_eq!(
        c.handle_message(rescind(5).as_bytes(), &mut log),
        Err(ConnError::Rescinded(5))
    );
    // No new work on a rescinded channel.
    assert_eq!(
        c.open_channel(5, &open_params(g), &mut log),
        Err(ConnError::Rescinded(5))
    );
    assert_eq!(
        c.create_gpadl(5, GpadlType::Buffer, &[1], 12, 4096, &mut log),
        Err(ConnError::Rescinded(5))
    );
    // Teardown of the ring GPADL: nothing is sent, as in vmbus_teardown_gpadl().
    assert_eq!(c.teardown_gpadl(5, g, &mut log), Ok(false));
    assert!(log.take_posts().is_empty());
    assert_eq!(c.gpadl_state(g), None);
    // Release: RELID_RELEASED, and the channel is gone.
    c.release_relid(5, &mut log).unwrap();
    let posts = log.take_posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].0, 0x20);
    match Message::parse(&posts[0].1) {
        Ok(Message::RelidReleased(r)) => assert_eq!({ r.child_relid }, 5),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.channel_state(5), None);
    assert_eq!(
        c.handle_message(rescind(5).as_bytes(), &mut log),
        Err(ConnError::UnknownChannel(5))
    );
    // The relid can be offered again.
    c.handle_message(offer(5, HV_SCSI, 0).as_bytes(), &mut log)
        .unwrap();
}

#[test]
fn rescind_of_open_channel_and_pending_gpadl() {
    let mut log = Log::default();
    let (mut c, g) = with_ring(Version::WIN10_V5_3, &mut log);
    c.open_channel(5, &open_params(g), &mut log).unwrap();
    c.handle_message(open_result(5, 5, 0).as_bytes(), &mut log)
        .unwrap();
    let h = c
        .create_gpadl(5, GpadlType::Buffer, &[7], 12, 4096, &mut log)
        .unwrap();
    log.take_posts();
    log.take_actions();
    c.handle_message(rescind(5).as_bytes(), &mut log).unwrap();
    assert_eq!(log.take_actions(), vec![Action::Rescind { relid: 5 }]);
    // Cannot release an open channel: close first (CLOSECHANNEL is still posted, as in C).
    assert_eq!(
        c.release_relid(5, &mut log),
        Err(ConnError::ChannelState(5))
    );
    c.close_channel(5, &mut log).unwrap();
    assert_eq!(log.take_posts().len(), 1);
    // The host still answers the GPADL request made before the rescind.
    c.handle_message(gpadl_created(5, h, 0).as_bytes(), &mut log)
        .unwrap();
    assert_eq!(
        log.take_actions(),
        vec![Action::GpadlCreated {
            relid: 5,
            gpadl: h,
            status: 0
        }]
    );
    c.release_relid(5, &mut log).unwrap();
    assert_eq!(c.gpadl_state(h), None, "forgotten with the channel");
    assert_eq!(c.gpadl_state(g), None);
}

#[test]
fn unload() {
    let mut log = Log::default();
    let mut c = connected(
        ConnectParams::default(),
        Version::WIN10_V5_3,
        0x20,
        &mut log,
    );
    c.handle_message(offer(1, HV_NIC, 0).as_bytes(), &mut log)
        .unwrap();
    log.take_posts();
    log.take_actions();
    // A spurious UNLOAD_RESPONSE is rejected.
    let ur = MessageHeader::new(MessageType::UNLOAD_RESPONSE);
    assert_eq!(
        c.handle_message(ur.as_bytes(), &mut log),
        Err(ConnError::Unexpected(MessageType::UNLOAD_RESPONSE))
    );
    c.unload(&mut log).unwrap();
    let posts = log.take_posts();
    assert_eq!(posts[0].0, 0x20);
    assert_eq!(Message::parse(&posts[0].1), Ok(Message::Unload));
    assert_eq!(c.state(), ConnectionState::Unloading);
    assert_eq!(c.unload(&mut log), Err(ConnError::InvalidState));
    c.handle_message(ur.as_bytes(), &mut log).unwrap();
    assert_eq!(log.take_actions(), vec![Action::Unloaded]);
    assert_eq!(c.state(), ConnectionState::Disconnected);
    assert_eq!(c.channel_count(), 0);

    // Before 3.0 there is no UNLOAD message.
    let mut log = Log::default();
    let mut c = connected(ConnectParams::default(), Version::WIN8, 0x20, &mut log);
    log.take_posts();
    log.take_actions();
    c.unload(&mut log).unwrap();
    assert!(log.take_posts().is_empty());
    assert_eq!(log.take_actions(), vec![Action::Unloaded]);
}

#[test]
fn malformed_and_unexpected_host_messages() {
    let mut log = Log::default();
    let mut c = Conn::new(ConnectParams::default());
    // Before connecting: offers and responses are unexpected.
    assert_eq!(
        c.handle_message(offer(1, HV_NIC, 0).as_bytes(), &mut log),
        Err(ConnError::Unexpected(MessageType::OFFERCHANNEL))
    );
    assert_eq!(
        c.handle_message(version_response(true, 1).as_bytes(), &mut log),
        Err(ConnError::Unexpected(MessageType::VERSION_RESPONSE))
    );
    c.start(&mut log).unwrap();
    log.take_posts();
    // Truncated VERSION_RESPONSE: rejected, still connecting.
    let r = version_response(true, 1);
    assert_eq!(
        c.handle_message(&r.as_bytes()[..15], &mut log),
        Err(ConnError::Parse(ParseError::TooShort {
            msgtype: MessageType::VERSION_RESPONSE,
            len: 15,
            min: 16
        }))
    );
    assert!(matches!(
        c.state(),
        ConnectionState::Connecting { index: 0, .. }
    ));
    assert!(log.take_posts().is_empty());
    c.handle_message(r.as_bytes(), &mut log).unwrap();
    log.take_posts();
    log.take_actions();
    // Truncated offer, unknown type, no header, guest-to-host types from the host.
    let o = offer(1, HV_NIC, 0);
    assert!(matches!(
        c.handle_message(&o.as_bytes()[..195], &mut log),
        Err(ConnError::Parse(ParseError::TooShort { .. }))
    ));
    let mut bogus = [0u8; 16];
    bogus[0] = 99;
    assert_eq!(
        c.handle_message(&bogus, &mut log),
        Err(ConnError::Parse(ParseError::UnknownType(MessageType(99))))
    );
    assert_eq!(
        c.handle_message(&[1, 0, 0], &mut log),
        Err(ConnError::Parse(ParseError::NoHeader { len: 3 }))
    );
    for t in [
        MessageType::REQUESTOFFERS,
        MessageType::UNLOAD,
        MessageType::PAUSE,
    ] {
        assert_eq!(
            c.handle_message(MessageHeader::new(t).as_bytes(), &mut log),
            Err(ConnError::Unexpected(t))
        );
    }
    let mut open = [0u8; 148];
    open[0] = 5;
    assert_eq!(
        c.handle_message(&open, &mut log),
        Err(ConnError::Unexpected(MessageType::OPENCHANNEL))
    );
    // A second VERSION_RESPONSE once connected.
    assert_eq!(
        c.handle_message(r.as_bytes(), &mut log),
        Err(ConnError::Unexpected(MessageType::VERSION_RESPONSE))
    );
    // Responses for channels that do not exist.
    assert_eq!(
        c.handle_message(open_result(3, 3, 0).as_bytes(), &mut log),
        Err(ConnError::UnknownChannel(3))
    );
    assert_eq!(
        c.handle_message(rescind(3).as_bytes(), &mut log),
        Err(ConnError::UnknownChannel(3))
    );
    // None of this produced output or changed the state.
    assert!(log.take_posts().is_empty());
    assert!(log.take_actions().is_empty());
    assert_eq!(c.state(), ConnectionState::Connected);
    assert_eq!(c.channel_count(), 0);
    // Requests in the wrong state.
    let mut d = Conn::new(ConnectParams::default());
    assert_eq!(
        d.create_gpadl(1, GpadlType::Buffer, &[1], 12, 4096, &mut log),
        Err(ConnError::InvalidState)
    );
    assert_eq!(d.unload(&mut log), Err(ConnError::InvalidState));
    assert_eq!(c.start(&mut log), Err(ConnError::InvalidState));
}

#[test]
fn synic_slots() {
    let mut log = Log::default();
    let mut c = Conn::new(ConnectParams::default());
    c.start(&mut log).unwrap();
    let r = version_response(true, 0x21);
    let mut payload = [0u8; 240];
    payload[..16].copy_from_slice(r.as_bytes());
    let slot = HvMessage {
        header: HvMessageHeader {
            message_type: HvMessageType::VMBUS,
            payload_size: 16,
            message_flags: HvMessageFlags(0),
            reserved: [0; 2],
            sender: 0,
        },
        payload,
    };
    c.handle_synic(&slot, &mut log).unwrap();
    assert_eq!(c.msg_conn_id(), 0x21);
    let mut bad = slot;
    bad.header.payload_size = 15;
    assert!(matches!(
        c.handle_synic(&bad, &mut log),
        Err(ConnError::Parse(ParseError::TooShort { .. }))
    ));
}

#[test]
fn tl_connect_request_bytes() {
    let mut log = Log::default();
    let mut c = connected(
        ConnectParams::default(),
        Version::WIN10_V5_3,
        0x20,
        &mut log,
    );
    log.take_posts();
    c.tl_connect_request(HV_NIC, HV_SCSI, &mut log).unwrap();
    match Message::parse(&log.take_posts()[0].1) {
        Ok(Message::TlConnectRequest(t)) => {
            assert_eq!({ t.guest_endpoint_id }, HV_NIC);
            assert_eq!({ t.host_service_id }, HV_SCSI);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn random_host_messages_never_panic() {
    // A hostile host: random message types, lengths and relids, interleaved with requests.
    let mut x = 0xdead_beef_u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..50 {
        let mut log = Log::default();
        let mut c = Conn::new(ConnectParams::default());
        c.start(&mut log).unwrap();
        for _ in 0..400 {
            let mut m = [0u8; 240];
            for b in m.iter_mut() {
                *b = next() as u8;
            }
            let t = (next() % 26) as u32;
            m[..4].copy_from_slice(&t.to_le_bytes());
            // Small relids and handles so they sometimes match.
            let relid = (next() % 6) as u32;
            m[8..12].copy_from_slice(&relid.to_le_bytes());
            if t == 15 {
                m[8] = (next() % 2) as u8;
            }
            if t == 10 || t == 12 {
                let h = FIRST_GPADL_HANDLE + (next() % 3) as u32;
                let at = if t == 10 { 12 } else { 8 };
                m[at..at + 4].copy_from_slice(&h.to_le_bytes());
                if t == 10 {
                    m[16..20].copy_from_slice(&((next() % 2) as u32).to_le_bytes());
                }
            }
            let len = (next() % 241) as usize;
            let _ = c.handle_message(&m[..len], &mut log);
            let r = (next() % 6) as u32;
            let _ = match next() % 8 {
                0 => c
                    .create_gpadl(r, GpadlType::Buffer, &[1, 2, 3], 12, 12288, &mut log)
                    .map(|_| ()),
                1 => c.open_channel(r, &open_params(FIRST_GPADL_HANDLE), &mut log),
                2 => c.close_channel(r, &mut log),
                3 => c
                    .teardown_gpadl(r, FIRST_GPADL_HANDLE, &mut log)
                    .map(|_| ()),
                4 => c.release_relid(r, &mut log),
                5 => c.modify_channel(r, 1, &mut log).map(|_| ()),
                _ => Ok(()),
            };
            assert!(c.channel_count() <= 8);
            for (_, p) in log.take_posts() {
                assert!(Message::parse(&p).is_ok());
            }
        }
    }
}
