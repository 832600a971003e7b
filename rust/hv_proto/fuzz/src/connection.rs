// SPDX-License-Identifier: GPL-2.0

//! A stateful fuzzer of the guest's VMBus connection: arbitrary sequences of host messages
//! (well-formed ones with fuzzed fields, raw bytes and raw SynIC slots) interleaved with the
//! guest's own requests.
//!
//! Checked after every step: each message the guest posts is at most 240 bytes and parses as a
//! channel message; a rejected host message changes no state and produces no action (except
//! the RELID_RELEASED of an offer refused for lack of room); the tables stay within bounds.
//!
//! Input: a sequence of operations, each an opcode byte ([`op`]) and its arguments, read with
//! [`Cursor`]; [`Script`] writes them (for the seed corpus).

use hv_proto::connection::{
    Action, ChannelState, ConnError, ConnectParams, ConnectionState, FixedConnection, GpadlState,
    OpenParams, Outbox,
};
use hv_proto::gpadl::{GpadlType, FIRST_GPADL_HANDLE};
use hv_proto::guid::Guid;
use hv_proto::synic::{HvMessage, HvStatus};
use hv_proto::vmbus::{
    ConnectionState as VersionState, FeatureFlags, GpadlCreated, GpadlTorndown, Message,
    MessageHeader, MessageType, ModifyChannelResponse, OfferChannel, OpenResult, RescindOffer,
    TlConnectResult, Version, VersionResponse, VersionResponse2, MAX_SIZE_CHANNEL_MESSAGE,
};
use zerocopy::{FromBytes, FromZeros, IntoBytes};

use super::{Cursor, Writer};

/// Operation codes.
pub mod op {
    /// Raw host message bytes: `chunk8`.
    pub const HOST_RAW: u8 = 0;
    /// A SynIC slot: type `u32`, payload size `u8`, flags `u8`, payload `chunk8`.
    pub const HOST_SYNIC: u8 = 1;
    /// `Connection::start`.
    pub const START: u8 = 2;
    /// `Connection::post_failed`: status `u16`.
    pub const POST_FAILED: u8 = 3;
    /// `Connection::create_gpadl`: relid, kind `u8`, pages `u8`, send offset pages `u8`.
    pub const CREATE_GPADL: u8 = 4;
    /// `Connection::teardown_gpadl`: relid, handle.
    pub const TEARDOWN_GPADL: u8 = 5;
    /// `Connection::open_channel`: relid, handle, target VP `u8`, user data length `u8`.
    pub const OPEN: u8 = 6;
    /// `Connection::close_channel`: relid.
    pub const CLOSE: u8 = 7;
    /// `Connection::modify_channel`: relid, target VP `u8`.
    pub const MODIFY: u8 = 8;
    /// `Connection::release_relid`: relid.
    pub const RELEASE: u8 = 9;
    /// `Connection::cancel_gpadl`: relid, handle.
    pub const CANCEL_GPADL: u8 = 10;
    /// `Connection::cancel_open`: relid.
    pub const CANCEL_OPEN: u8 = 11;
    /// `Connection::tl_connect_request`.
    pub const TL_CONNECT: u8 = 12;
    /// `Connection::unload`.
    pub const UNLOAD: u8 = 13;
    /// A well-formed host message: kind `u8` ([`super::host`]) and its fields.
    pub const HOST: u8 = 14;
    /// Number of operations.
    pub const COUNT: u8 = 15;
}

/// Kinds of well-formed host messages for [`op::HOST`].
pub mod host {
    /// VERSION_RESPONSE: supported `u8`, connection id `u32`.
    pub const VERSION: u8 = 0;
    /// OFFERCHANNEL: relid, class `u8`, sub-channel index `u8`, monitor id `u8`, flags `u16`.
    pub const OFFER: u8 = 1;
    /// RESCIND_CHANNELOFFER: relid.
    pub const RESCIND: u8 = 2;
    /// OPENCHANNEL_RESULT: relid, openid delta `u8`, status `u8`.
    pub const OPEN_RESULT: u8 = 3;
    /// GPADL_CREATED: relid, handle, status `u8`.
    pub const GPADL_CREATED: u8 = 4;
    /// GPADL_TORNDOWN: handle.
    pub const GPADL_TORNDOWN: u8 = 5;
    /// ALLOFFERS_DELIVERED.
    pub const ALL_OFFERS: u8 = 6;
    /// UNLOAD_RESPONSE.
    pub const UNLOAD_RESPONSE: u8 = 7;
    /// MODIFYCHANNEL_RESPONSE: relid, status `u8`.
    pub const MODIFY_RESPONSE: u8 = 8;
    /// TL_CONNECT_RESULT: status `u32`.
    pub const TL_RESULT: u8 = 9;
    /// VERSION_RESPONSE with features: supported `u8`, connection id `u32`, features `u32`.
    pub const VERSION2: u8 = 10;
    /// Number of kinds.
    pub const COUNT: u8 = 11;
}

/// Channels and GPADLs the connection may hold (small, to reach the "table full" paths).
type Conn = FixedConnection<4, 8>;

/// Records the guest's output and checks each posted message.
#[derive(Default)]
struct Log {
    posts: usize,
    actions: Vec<Action>,
}

impl Outbox for Log {
    fn post(&mut self, _connection_id: u32, message: &[u8]) {
        assert!(
            message.len() <= MAX_SIZE_CHANNEL_MESSAGE,
            "message too long"
        );
        let m = Message::parse(message);
        assert!(m.is_ok(), "guest posted a malformed message: {m:?}");
        self.posts += 1;
    }

    fn action(&mut self, action: Action) {
        self.actions.push(action);
    }
}

/// What the glue can observe of the connection.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    state: ConnectionState,
    version: Option<Version>,
    msg_conn_id: u32,
    features: FeatureFlags,
    channels: Vec<Option<(ChannelState, bool)>>,
    gpadls: Vec<Option<GpadlState>>,
}

fn snapshot(conn: &Conn, handles: &[u32]) -> Snapshot {
    Snapshot {
        state: conn.state(),
        version: conn.version(),
        msg_conn_id: conn.msg_conn_id(),
        features: conn.features(),
        channels: (0..16).map(|r| conn.channel_state(r)).collect(),
        gpadls: handles.iter().map(|h| conn.gpadl_state(*h)).collect(),
    }
}

/// Reads a relid: mostly small ones, so that messages meet channels.
fn relid(c: &mut Cursor<'_>) -> u32 {
    match c.u8() {
        s @ 0..=239 => u32::from(s % 12),
        _ => c.u32(),
    }
}

/// Reads a GPADL handle: mostly one the guest created.
fn handle(c: &mut Cursor<'_>, handles: &[u32]) -> u32 {
    match c.u8() {
        s @ 0..=239 => handles
            .get(usize::from(s) % handles.len().max(1))
            .copied()
            .unwrap_or(FIRST_GPADL_HANDLE),
        _ => c.u32(),
    }
}

/// Builds a well-formed host message from `c`.
fn host_message(c: &mut Cursor<'_>, handles: &[u32]) -> Vec<u8> {
    let header = |t| MessageHeader::new(t);
    match c.u8() % host::COUNT {
        host::VERSION => VersionResponse {
            header: header(MessageType::VERSION_RESPONSE),
            version_supported: c.u8() & 1,
            connection_state: VersionState::SUCCESSFUL,
            padding: 0,
            msg_conn_id: c.u32(),
        }
        .as_bytes()
        .to_vec(),
        host::OFFER => {
            let mut o = OfferChannel::new_zeroed();
            o.header = header(MessageType::OFFERCHANNEL);
            o.child_relid = relid(c);
            o.offer.if_type = Guid([c.u8() % 4; 16]);
            o.offer.sub_channel_index = u16::from(c.u8() % 3);
            o.monitorid = c.u8();
            o.monitor_allocated = 1;
            o.offer.chn_flags.0 = c.u16();
            o.connection_id = o.child_relid.wrapping_add(0x2000);
            o.as_bytes().to_vec()
        }
        host::RESCIND => RescindOffer {
            header: header(MessageType::RESCIND_CHANNELOFFER),
            child_relid: relid(c),
        }
        .as_bytes()
        .to_vec(),
        host::OPEN_RESULT => {
            let r = relid(c);
            OpenResult {
                header: header(MessageType::OPENCHANNEL_RESULT),
                child_relid: r,
                openid: r.wrapping_add(u32::from(c.u8() / 200)),
                status: u32::from(c.u8() / 128),
            }
            .as_bytes()
            .to_vec()
        }
        host::GPADL_CREATED => GpadlCreated {
            header: header(MessageType::GPADL_CREATED),
            child_relid: relid(c),
            gpadl: handle(c, handles),
            creation_status: u32::from(c.u8() / 128),
        }
        .as_bytes()
        .to_vec(),
        host::GPADL_TORNDOWN => GpadlTorndown {
            header: header(MessageType::GPADL_TORNDOWN),
            gpadl: handle(c, handles),
        }
        .as_bytes()
        .to_vec(),
        host::ALL_OFFERS => header(MessageType::ALLOFFERS_DELIVERED).as_bytes().to_vec(),
        host::UNLOAD_RESPONSE => header(MessageType::UNLOAD_RESPONSE).as_bytes().to_vec(),
        host::MODIFY_RESPONSE => ModifyChannelResponse {
            header: header(MessageType::MODIFYCHANNEL_RESPONSE),
            child_relid: relid(c),
            status: u32::from(c.u8() / 128),
        }
        .as_bytes()
        .to_vec(),
        host::TL_RESULT => {
            let mut t = TlConnectResult::new_zeroed();
            t.header = header(MessageType::TL_CONNECT_RESULT);
            t.status = c.u32();
            t.as_bytes().to_vec()
        }
        _ => VersionResponse2 {
            version_response: VersionResponse {
                header: header(MessageType::VERSION_RESPONSE),
                version_supported: c.u8() & 1,
                connection_state: VersionState::SUCCESSFUL,
                padding: 0,
                msg_conn_id: c.u32(),
            },
            supported_features: FeatureFlags(c.u32()),
        }
        .as_bytes()
        .to_vec(),
    }
}

/// Feeds a host message (raw or in a SynIC slot) and checks the error contract.
fn deliver(
    conn: &mut Conn,
    log: &mut Log,
    handles: &[u32],
    f: impl FnOnce(&mut Conn, &mut Log) -> Result<(), ConnError>,
) {
    let before = snapshot(conn, handles);
    let (posts, actions) = (log.posts, log.actions.len());
    if let Err(e) = f(conn, log) {
        assert_eq!(log.actions.len(), actions, "action on error {e:?}");
        assert_eq!(
            before,
            snapshot(conn, handles),
            "state changed on error {e:?}"
        );
        if e != ConnError::TooManyChannels {
            assert_eq!(log.posts, posts, "post on error {e:?}");
        }
    }
}

/// Runs the operations in `data`.
pub fn run(data: &[u8]) {
    let mut c = Cursor::new(data);
    let params = ConnectParams {
        vtl: if c.u8() & 1 != 0 { 2 } else { 0 },
        feature_flags: FeatureFlags(c.u8().into()),
        ..ConnectParams::default()
    };
    let mut conn = Conn::new(params);
    let mut log = Log::default();
    let mut handles: Vec<u32> = Vec::new();
    let pages: Vec<u64> = (0x1000..0x1000 + 256).collect();
    while !c.is_empty() {
        match c.u8() % op::COUNT {
            op::HOST_RAW => {
                let m = c.chunk8();
                deliver(&mut conn, &mut log, &handles, |conn, log| {
                    conn.handle_message(m, log)
                });
            }
            op::HOST_SYNIC => {
                let mut slot = HvMessage::new_zeroed();
                slot.header.message_type.0 = c.u32();
                slot.header.payload_size = c.u8();
                slot.header.message_flags.0 = c.u8();
                let p = c.chunk8();
                let n = p.len().min(slot.payload.len());
                slot.payload[..n].copy_from_slice(&p[..n]);
                deliver(&mut conn, &mut log, &handles, |conn, log| {
                    conn.handle_synic(&slot, log)
                });
            }
            op::HOST => {
                let m = host_message(&mut c, &handles);
                assert!(Message::parse(&m).is_ok());
                deliver(&mut conn, &mut log, &handles, |conn, log| {
                    conn.handle_message(&m, log)
                });
            }
            op::START => {
                let _ = conn.start(&mut log);
            }
            op::POST_FAILED => {
                let _ = conn.post_failed(HvStatus(c.u16()), &mut log);
            }
            op::CREATE_GPADL => {
                let r = relid(&mut c);
                let ring = c.u8() & 1 != 0;
                let n = u32::from(c.u8() % 64) + 1;
                let send = u32::from(c.u8() % 64);
                let kind = if ring {
                    GpadlType::Ring {
                        send_offset: send * 4096,
                    }
                } else {
                    GpadlType::Buffer
                };
                if let Ok(h) = conn.create_gpadl(r, kind, &pages, 12, n * 4096, &mut log) {
                    assert_eq!(conn.gpadl_state(h), Some(GpadlState::Creating));
                    handles.push(h);
                }
            }
            op::TEARDOWN_GPADL => {
                let r = relid(&mut c);
                let h = handle(&mut c, &handles);
                let _ = conn.teardown_gpadl(r, h, &mut log);
            }
            op::OPEN => {
                let r = relid(&mut c);
                let h = handle(&mut c, &handles);
                let vp = c.u8().into();
                let userdata = [0x55u8; 130];
                let n = usize::from(c.u8()) % userdata.len();
                let p = OpenParams {
                    ring_gpadl: h,
                    target_vp: vp,
                    downstream_ringbuffer_pageoffset: 1,
                    userdata: &userdata[..n],
                };
                if conn.open_channel(r, &p, &mut log).is_ok() {
                    assert_eq!(conn.channel_state(r), Some((ChannelState::Opening, false)));
                }
            }
            op::CLOSE => {
                let _ = conn.close_channel(relid(&mut c), &mut log);
            }
            op::MODIFY => {
                let r = relid(&mut c);
                let _ = conn.modify_channel(r, c.u8().into(), &mut log);
            }
            op::RELEASE => {
                let r = relid(&mut c);
                if conn.release_relid(r, &mut log).is_ok() {
                    assert_eq!(conn.channel_state(r), None);
                }
            }
            op::CANCEL_GPADL => {
                let r = relid(&mut c);
                let h = handle(&mut c, &handles);
                let _ = conn.cancel_gpadl(r, h);
            }
            op::CANCEL_OPEN => {
                let _ = conn.cancel_open(relid(&mut c));
            }
            op::TL_CONNECT => {
                let _ = conn.tl_connect_request(Guid([1; 16]), Guid([2; 16]), &mut log);
            }
            _ => {
                let _ = conn.unload(&mut log);
            }
        }
        assert!(conn.channel_count() <= 4);
        if matches!(
            conn.state(),
            ConnectionState::Connected | ConnectionState::Ready
        ) {
            assert!(conn.version().is_some());
        }
        // Keep the handle list bounded.
        if handles.len() > 64 {
            handles.drain(..32);
        }
    }
}

/// Writes connection-fuzzer operations (the seed corpus).
#[derive(Default)]
pub struct Script(pub Writer);

impl Script {
    /// Starts a script with the connection parameters (VTL 0, no features).
    pub fn new() -> Script {
        let mut s = Script::default();
        s.0.u8(0).u8(0);
        s
    }

    /// Appends an operation with its argument bytes.
    pub fn op(&mut self, code: u8, args: &[u8]) -> &mut Self {
        self.0.u8(code).bytes(args);
        self
    }

    /// Appends a well-formed host message of `kind` with its argument bytes.
    pub fn host(&mut self, kind: u8, args: &[u8]) -> &mut Self {
        self.0.u8(op::HOST).u8(kind).bytes(args);
        self
    }

    /// Appends a raw host message.
    pub fn raw(&mut self, msg: &[u8]) -> &mut Self {
        self.0.u8(op::HOST_RAW).chunk8(msg);
        self
    }
}

/// Returns a SynIC slot's bytes for `msg` (for seeds of other targets).
pub fn synic_slot(msg: &[u8]) -> Vec<u8> {
    let mut slot = HvMessage::new_zeroed();
    slot.header.message_type.0 = 1;
    slot.header.payload_size = msg.len().min(240) as u8;
    let n = msg.len().min(240);
    slot.payload[..n].copy_from_slice(&msg[..n]);
    let b = slot.as_bytes().to_vec();
    assert!(HvMessage::read_from_bytes(&b[..]).is_ok());
    b
}
