// SPDX-License-Identifier: GPL-2.0

//! The guest side of the VMBus control connection, as a sans-I/O state machine.
//!
//! C source: `drivers/hv/connection.c` (`vmbus_connect`, `vmbus_negotiate_version`,
//! `vmbus_try_connection_id`, `vmbus_post_msg`), `drivers/hv/channel_mgmt.c` (offer, rescind
//! and response handlers, `vmbus_request_offers`, `vmbus_initiate_unload`,
//! `vmbus_release_relid`), `drivers/hv/channel.c` (GPADL, open, close, modify).
//!
//! [`Connection`] owns no memory and does no I/O: the glue feeds it the host's channel messages
//! ([`Connection::handle_message`]) and requests ([`Connection::open_channel`], ...), and it
//! answers through an [`Outbox`]: messages to post with `HvPostMessage` (with the connection id
//! to post them to) and [`Action`]s for the glue (an offer arrived, an open completed, ...).
//! Its state is bounded: the channel and GPADL tables are fixed-size [`Table`]s the glue
//! provides (arrays in [`FixedConnection`], heap-allocated vectors in the kernel).
//!
//! Every error leaves the state as it was; errors caused by the host are reported so the glue
//! can log them, and the message is otherwise dropped, as the C driver does.

use zerocopy::IntoBytes;

use super::gpadl::{GpadlBuilder, GpadlError, GpadlType, FIRST_GPADL_HANDLE};
use super::guid::Guid;
use super::synic::{
    HvMessage, HvStatus, VMBUS_MESSAGE_CONNECTION_ID, VMBUS_MESSAGE_CONNECTION_ID_4,
    VMBUS_MESSAGE_CONNECTION_ID_REDIRECT, VMBUS_MESSAGE_SINT,
};
use super::vmbus::{
    CloseChannel, FeatureFlags, GpadlTeardown, InitiateContact, Message, MessageHeader,
    MessageType, ModifyChannel, OfferChannel, OpenChannel, ParseError, RelidReleased,
    TlConnectRequest, Version, MAX_CHANNEL_RELIDS, MAX_SIZE_CHANNEL_MESSAGE,
    MAX_USER_DEFINED_BYTES, VERSIONS,
};

/// Where the connection's output goes.
///
/// The kernel glue posts messages with `HvPostMessage` (retrying transient failures like
/// `vmbus_post_msg()`) and dispatches actions; tests record both.
pub trait Outbox {
    /// Posts `message` (a whole channel message, at most 240 bytes) to `connection_id`.
    fn post(&mut self, connection_id: u32, message: &[u8]);

    /// Hands an event to the glue.
    fn action(&mut self, action: Action);
}

/// An event for the glue.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// The host accepted `version`; REQUESTOFFERS has been posted.
    Connected {
        /// The negotiated version.
        version: Version,
        /// The connection id for every later message.
        msg_conn_id: u32,
        /// The 6.0 features both sides support (empty before 6.0).
        features: FeatureFlags,
    },
    /// Every version was refused or could not be posted (`-EDOM` in the C driver).
    ConnectFailed,
    /// A channel offer; `boot` is true before ALLOFFERS_DELIVERED.
    Offer {
        /// The offer as received.
        offer: OfferChannel,
        /// Whether the offer is a boot-time one.
        boot: bool,
    },
    /// The host has sent all boot-time offers.
    AllOffersDelivered,
    /// The host rescinded a channel: stop using it, clean up, then call
    /// [`Connection::release_relid`].
    Rescind {
        /// The channel.
        relid: u32,
    },
    /// A pending open was abandoned because the channel was rescinded (the host never answers
    /// an OPENCHANNEL for a rescinded channel).
    OpenAborted {
        /// The channel.
        relid: u32,
    },
    /// The answer to [`Connection::open_channel`]; status 0 means opened.
    OpenResult {
        /// The channel.
        relid: u32,
        /// 0 on success.
        status: u32,
    },
    /// The answer to [`Connection::create_gpadl`]; status 0 means created.
    GpadlCreated {
        /// The channel.
        relid: u32,
        /// The GPADL handle.
        gpadl: u32,
        /// 0 on success.
        status: u32,
    },
    /// The answer to [`Connection::teardown_gpadl`].
    GpadlTorndown {
        /// The channel.
        relid: u32,
        /// The GPADL handle.
        gpadl: u32,
    },
    /// The answer to [`Connection::modify_channel`] (5.3+); status 0 means done.
    ModifyResult {
        /// The channel.
        relid: u32,
        /// 0 on success.
        status: u32,
    },
    /// The connection is unloaded (UNLOAD_RESPONSE, or at once before 3.0).
    Unloaded,
}

/// Why a request or host message was rejected.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ConnError {
    /// The host's message could not be parsed.
    Parse(ParseError),
    /// A message type that is not expected from the host, or not in this state.
    Unexpected(MessageType),
    /// The request is not valid in the connection's state.
    InvalidState,
    /// No channel with this relid.
    UnknownChannel(u32),
    /// The channel is not in the state the request or message needs.
    ChannelState(u32),
    /// The channel was rescinded.
    Rescinded(u32),
    /// An offer for a relid that is in use.
    DuplicateRelid(u32),
    /// An offer with a relid of 0 or at least [`MAX_CHANNEL_RELIDS`].
    InvalidRelid(u32),
    /// The channel table is full; the offer was released.
    TooManyChannels,
    /// The GPADL table is full.
    TooManyGpadls,
    /// No GPADL with this handle in the state needed.
    UnknownGpadl(u32),
    /// The GPADL could not be built.
    Gpadl(GpadlError),
    /// The negotiated version does not have this message.
    NotSupported,
    /// A request of this kind is already pending for the channel.
    Busy,
    /// An argument is out of range (e.g. user data longer than 120 bytes).
    InvalidArgument,
}

impl From<ParseError> for ConnError {
    fn from(e: ParseError) -> ConnError {
        ConnError::Parse(e)
    }
}

impl From<GpadlError> for ConnError {
    fn from(e: GpadlError) -> ConnError {
        ConnError::Gpadl(e)
    }
}

impl core::fmt::Display for ConnError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "VMBus connection: {self:?}")
    }
}

/// Parameters of INITIATE_CONTACT and of the version negotiation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ConnectParams {
    /// Highest version to try (the C module parameter `max_version`).
    pub max_version: Version,
    /// Lowest version to accept; 5.2 for isolated (confidential) VMs.
    pub min_version: Version,
    /// VP index of the CPU that receives channel messages (`target_vcpu`).
    pub target_vcpu: u32,
    /// The guest's VTL (`ms_hyperv.vtl`); VTL 2 tries the redirect connection id first.
    pub vtl: u8,
    /// GPA of the interrupt page, sent before 5.0.
    pub interrupt_page: u64,
    /// GPA of the parent-to-child monitor page.
    pub monitor_page1: u64,
    /// GPA of the child-to-parent monitor page.
    pub monitor_page2: u64,
    /// Features to request from 6.0 on (Linux asks for confidential channels in a CoCo VM).
    pub feature_flags: FeatureFlags,
}

impl Default for ConnectParams {
    fn default() -> ConnectParams {
        ConnectParams {
            max_version: Version::WIN10_V6_0,
            min_version: Version::WIN8,
            target_vcpu: 0,
            vtl: 0,
            interrupt_page: 0,
            monitor_page1: 0,
            monitor_page2: 0,
            feature_flags: FeatureFlags(0),
        }
    }
}

/// The state of the connection.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    /// Not connected; [`Connection::start`] begins.
    Disconnected,
    /// INITIATE_CONTACT for `VERSIONS[index]` sent to `conn_id`.
    Connecting {
        /// Index in [`VERSIONS`] of the version being tried.
        index: usize,
        /// Connection id the INITIATE_CONTACT went to.
        conn_id: u32,
    },
    /// Connected, REQUESTOFFERS sent, boot-time offers arriving.
    Connected,
    /// All boot-time offers delivered; later offers are hot-adds.
    Ready,
    /// UNLOAD sent, waiting for UNLOAD_RESPONSE.
    Unloading,
}

/// The state of one channel (`enum vmbus_channel_state`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ChannelState {
    /// Offered and not open (`CHANNEL_OFFER_STATE` / `CHANNEL_OPEN_STATE` in C).
    Offered,
    /// OPENCHANNEL sent (`CHANNEL_OPENING_STATE`).
    Opening,
    /// Open (`CHANNEL_OPENED_STATE`).
    Opened,
}

/// Bookkeeping of one channel, an entry of the channel [`Table`] (opaque to the glue).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Channel {
    relid: u32,
    state: ChannelState,
    rescinded: bool,
    modify_pending: bool,
}

/// The state of one GPADL.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum GpadlState {
    /// GPADL_HEADER/BODY sent, waiting for GPADL_CREATED.
    Creating,
    /// Created.
    Created,
    /// GPADL_TEARDOWN sent, waiting for GPADL_TORNDOWN.
    TearingDown,
}

/// Bookkeeping of one GPADL, an entry of the GPADL [`Table`] (opaque to the glue).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct GpadlEntry {
    relid: u32,
    handle: u32,
    state: GpadlState,
}

/// Parameters of OPENCHANNEL.
#[derive(Copy, Clone, Debug)]
pub struct OpenParams<'a> {
    /// The ring GPADL (created, of this channel).
    pub ring_gpadl: u32,
    /// VP index for the channel's interrupts.
    pub target_vp: u32,
    /// Offset of the incoming ring in the GPADL, in 4 KiB pages
    /// ([`super::gpadl::downstream_ringbuffer_pageoffset`]).
    pub downstream_ringbuffer_pageoffset: u32,
    /// Bytes for the host endpoint, at most 120.
    pub userdata: &'a [u8],
}

/// The guest side of the VMBus control connection.
///
/// # Examples
///
/// ```
/// extern crate std;
/// use hv_proto::connection::{Action, ConnectParams, ConnectionState, FixedConnection, Outbox};
/// use hv_proto::vmbus::{MessageHeader, MessageType, Version, VersionResponse, ConnectionState as Cs};
/// use zerocopy::IntoBytes;
///
/// #[derive(Default)]
/// struct Log(std::vec::Vec<(u32, std::vec::Vec<u8>)>, std::vec::Vec<Action>);
/// impl Outbox for Log {
///     fn post(&mut self, id: u32, m: &[u8]) { self.0.push((id, m.to_vec())); }
///     fn action(&mut self, a: Action) { self.1.push(a); }
/// }
///
/// let mut conn: FixedConnection<64, 128> = FixedConnection::new(ConnectParams::default());
/// let mut out = Log::default();
/// conn.start(&mut out).unwrap();
/// assert_eq!(out.0[0].0, 4); // 6.0 goes to connection id 4
/// let resp = VersionResponse {
///     header: MessageHeader::new(MessageType::VERSION_RESPONSE),
///     version_supported: 1,
///     connection_state: Cs::SUCCESSFUL,
///     padding: 0,
///     msg_conn_id: 7,
/// };
/// conn.handle_message(resp.as_bytes(), &mut out).unwrap();
/// assert_eq!(conn.state(), ConnectionState::Connected);
/// assert_eq!(conn.version(), Some(Version::WIN10_V6_0));
/// assert_eq!(out.0[1].0, 7); // REQUESTOFFERS goes to msg_conn_id
/// ```
pub struct Connection<C, G> {
    params: ConnectParams,
    state: ConnectionState,
    version: Option<Version>,
    msg_conn_id: u32,
    features: FeatureFlags,
    next_gpadl: u32,
    channels: C,
    gpadls: G,
}

/// Fixed-size storage for one of a [`Connection`]'s tables.
///
/// The connection never allocates: the glue hands it a table whose length bounds the number of
/// channels or GPADLs. Arrays implement it; the kernel implements it on a heap-allocated vector,
/// so that large tables never live on the stack.
pub trait Table<T> {
    /// Returns the slots.
    fn slots(&self) -> &[Option<T>];

    /// Returns the slots, mutably.
    fn slots_mut(&mut self) -> &mut [Option<T>];
}

impl<T, const N: usize> Table<T> for [Option<T>; N] {
    fn slots(&self) -> &[Option<T>] {
        self
    }

    fn slots_mut(&mut self) -> &mut [Option<T>] {
        self
    }
}

/// A [`Connection`] whose tables are arrays of `CHANNELS` channels and `GPADLS` GPADLs.
pub type FixedConnection<const CHANNELS: usize, const GPADLS: usize> =
    Connection<[Option<Channel>; CHANNELS], [Option<GpadlEntry>; GPADLS]>;

impl<const CHANNELS: usize, const GPADLS: usize> FixedConnection<CHANNELS, GPADLS> {
    /// Returns a disconnected connection with empty array tables.
    pub const fn new(params: ConnectParams) -> FixedConnection<CHANNELS, GPADLS> {
        Connection {
            params,
            state: ConnectionState::Disconnected,
            version: None,
            msg_conn_id: VMBUS_MESSAGE_CONNECTION_ID,
            features: FeatureFlags(0),
            next_gpadl: FIRST_GPADL_HANDLE,
            channels: [None; CHANNELS],
            gpadls: [None; GPADLS],
        }
    }
}

impl<C: Table<Channel>, G: Table<GpadlEntry>> Connection<C, G> {
    /// Returns a disconnected connection keeping its state in `channels` and `gpadls`, whose
    /// lengths bound the number of channels and GPADLs; both are cleared.
    pub fn with_tables(params: ConnectParams, channels: C, gpadls: G) -> Connection<C, G> {
        let mut conn = Connection {
            params,
            state: ConnectionState::Disconnected,
            version: None,
            msg_conn_id: VMBUS_MESSAGE_CONNECTION_ID,
            features: FeatureFlags(0),
            next_gpadl: FIRST_GPADL_HANDLE,
            channels,
            gpadls,
        };
        conn.clear_tables();
        conn
    }

    /// Returns the parameters of the negotiation.
    pub fn params(&self) -> &ConnectParams {
        &self.params
    }

    /// Returns the connection state.
    pub fn state(&self) -> ConnectionState {
        self.state
    }

    /// Returns the negotiated version, once connected.
    pub fn version(&self) -> Option<Version> {
        self.version
    }

    /// Returns the connection id messages are posted to now.
    pub fn msg_conn_id(&self) -> u32 {
        self.msg_conn_id
    }

    /// Returns the negotiated 6.0 features.
    pub fn features(&self) -> FeatureFlags {
        self.features
    }

    /// Returns the state of channel `relid` and whether it was rescinded.
    pub fn channel_state(&self, relid: u32) -> Option<(ChannelState, bool)> {
        self.channel(relid).map(|c| (c.state, c.rescinded))
    }

    /// Returns the state of GPADL `handle`.
    pub fn gpadl_state(&self, handle: u32) -> Option<GpadlState> {
        self.gpadls
            .slots()
            .iter()
            .flatten()
            .find(|g| g.handle == handle)
            .map(|g| g.state)
    }

    /// Returns the number of channels in the table.
    pub fn channel_count(&self) -> usize {
        self.channels.slots().iter().flatten().count()
    }

    fn channel(&self, relid: u32) -> Option<&Channel> {
        self.channels
            .slots()
            .iter()
            .flatten()
            .find(|c| c.relid == relid)
    }

    fn channel_mut(&mut self, relid: u32) -> Option<&mut Channel> {
        self.channels
            .slots_mut()
            .iter_mut()
            .flatten()
            .find(|c| c.relid == relid)
    }

    fn is_connected(&self) -> bool {
        matches!(
            self.state,
            ConnectionState::Connected | ConnectionState::Ready
        )
    }

    /// Posts a message struct to the current message connection id.
    fn post<T: IntoBytes + zerocopy::Immutable>(&self, out: &mut impl Outbox, msg: &T) {
        out.post(self.msg_conn_id, msg.as_bytes());
    }

    /// Returns the index of the first version at or after `from` within the configured bounds.
    fn next_version(&self, from: usize) -> Option<usize> {
        let (min, max) = (self.params.min_version, self.params.max_version);
        (from..VERSIONS.len()).find(|i| VERSIONS.get(*i).is_some_and(|v| *v <= max && *v >= min))
    }

    /// Sends INITIATE_CONTACT for `VERSIONS[index]` to `conn_id` (`vmbus_try_connection_id`).
    fn initiate(&mut self, index: usize, conn_id: u32, out: &mut impl Outbox) {
        let version = VERSIONS.get(index).copied().unwrap_or(Version::WIN8);
        let mut msg = InitiateContact {
            header: MessageHeader::new(MessageType::INITIATE_CONTACT),
            vmbus_version_requested: version,
            target_vcpu: self.params.target_vcpu,
            msg_sint: 0,
            msg_vtl: 0,
            reserved: [0; 2],
            feature_flags: FeatureFlags(0),
            monitor_page1: self.params.monitor_page1,
            monitor_page2: self.params.monitor_page2,
        };
        if version >= Version::WIN10_V5 {
            msg.msg_sint = VMBUS_MESSAGE_SINT;
            msg.msg_vtl = self.params.vtl;
            if version >= Version::WIN10_V6_0 {
                msg.feature_flags = self.params.feature_flags;
            }
        } else {
            msg.set_interrupt_page(self.params.interrupt_page);
        }
        self.state = ConnectionState::Connecting { index, conn_id };
        out.post(conn_id, msg.as_bytes());
    }

    /// Returns the connection id to try first for `VERSIONS[index]` (`vmbus_negotiate_version`).
    fn first_conn_id(&self, index: usize) -> u32 {
        match VERSIONS.get(index) {
            Some(v) if *v >= Version::WIN10_V5 => {
                if self.params.vtl == 2 {
                    VMBUS_MESSAGE_CONNECTION_ID_REDIRECT
                } else {
                    VMBUS_MESSAGE_CONNECTION_ID_4
                }
            }
            _ => VMBUS_MESSAGE_CONNECTION_ID,
        }
    }

    /// Tries the next version after a refusal or a failed post, or gives up.
    fn try_next_version(&mut self, after: usize, out: &mut impl Outbox) {
        match self.next_version(after + 1) {
            Some(i) => {
                let id = self.first_conn_id(i);
                self.initiate(i, id, out);
            }
            None => {
                self.state = ConnectionState::Disconnected;
                out.action(Action::ConnectFailed);
            }
        }
    }

    /// Starts the version negotiation with the newest allowed version (`vmbus_connect`).
    ///
    /// # Errors
    ///
    /// [`ConnError::InvalidState`] unless disconnected.
    pub fn start(&mut self, out: &mut impl Outbox) -> Result<(), ConnError> {
        if self.state != ConnectionState::Disconnected {
            return Err(ConnError::InvalidState);
        }
        self.version = None;
        self.features = FeatureFlags(0);
        self.msg_conn_id = VMBUS_MESSAGE_CONNECTION_ID;
        match self.next_version(0) {
            Some(i) => {
                let id = self.first_conn_id(i);
                self.initiate(i, id, out);
            }
            None => out.action(Action::ConnectFailed),
        }
        Ok(())
    }

    /// Reports that posting the pending INITIATE_CONTACT failed with `status` (after the glue's
    /// own retries of transient failures).
    ///
    /// On the VTL2 redirect id, `INVALID_CONNECTION_ID` retries the same version on connection
    /// id 4; any other failure moves on to the next version, as `vmbus_connect()` does.
    ///
    /// # Errors
    ///
    /// [`ConnError::InvalidState`] unless connecting.
    pub fn post_failed(
        &mut self,
        status: HvStatus,
        out: &mut impl Outbox,
    ) -> Result<(), ConnError> {
        let ConnectionState::Connecting { index, conn_id } = self.state else {
            return Err(ConnError::InvalidState);
        };
        if conn_id == VMBUS_MESSAGE_CONNECTION_ID_REDIRECT
            && status == HvStatus::INVALID_CONNECTION_ID
        {
            self.initiate(index, VMBUS_MESSAGE_CONNECTION_ID_4, out);
        } else {
            self.try_next_version(index, out);
        }
        Ok(())
    }

    /// Handles the channel message in a private copy of a SynIC slot.
    ///
    /// # Errors
    ///
    /// As [`Connection::handle_message`].
    pub fn handle_synic(
        &mut self,
        slot: &HvMessage,
        out: &mut impl Outbox,
    ) -> Result<(), ConnError> {
        let msg = Message::parse_synic(slot)?;
        self.handle(msg, out)
    }

    /// Handles one channel message from the host (the valid payload bytes of a private copy).
    ///
    /// # Errors
    ///
    /// [`ConnError::Parse`] for malformed or truncated messages; [`ConnError::Unexpected`],
    /// [`ConnError::UnknownChannel`], [`ConnError::UnknownGpadl`], [`ConnError::ChannelState`],
    /// [`ConnError::DuplicateRelid`], [`ConnError::InvalidRelid`] or
    /// [`ConnError::TooManyChannels`] when the message does not fit the state. The state is
    /// unchanged on error (except that an offer refused for lack of room is released).
    pub fn handle_message(&mut self, bytes: &[u8], out: &mut impl Outbox) -> Result<(), ConnError> {
        let msg = Message::parse(bytes)?;
        self.handle(msg, out)
    }

    /// Dispatches a parsed host message.
    fn handle(&mut self, msg: Message<'_>, out: &mut impl Outbox) -> Result<(), ConnError> {
        match msg {
            Message::VersionResponse(r) => {
                self.on_version_response(r.version_supported, r.msg_conn_id, None, out)
            }
            Message::VersionResponse2(r) => {
                let v = r.version_response;
                self.on_version_response(
                    v.version_supported,
                    v.msg_conn_id,
                    Some(r.supported_features),
                    out,
                )
            }
            Message::OfferChannel(o) => self.on_offer(o, out),
            Message::AllOffersDelivered => {
                if self.state != ConnectionState::Connected {
                    return Err(ConnError::Unexpected(MessageType::ALLOFFERS_DELIVERED));
                }
                self.state = ConnectionState::Ready;
                out.action(Action::AllOffersDelivered);
                Ok(())
            }
            Message::RescindChannelOffer(r) => self.on_rescind(r.child_relid, out),
            Message::OpenResult(r) => self.on_open_result(r.child_relid, r.openid, r.status, out),
            Message::GpadlCreated(g) => {
                self.on_gpadl_created(g.child_relid, g.gpadl, g.creation_status, out)
            }
            Message::GpadlTorndown(g) => self.on_gpadl_torndown(g.gpadl, out),
            Message::ModifyChannelResponse(r) => {
                self.on_modify_response(r.child_relid, r.status, out)
            }
            Message::UnloadResponse => {
                if self.state != ConnectionState::Unloading {
                    return Err(ConnError::Unexpected(MessageType::UNLOAD_RESPONSE));
                }
                self.reset();
                out.action(Action::Unloaded);
                Ok(())
            }
            // Linux ignores it.
            Message::TlConnectResult(_) => Ok(()),
            other => Err(ConnError::Unexpected(other.message_type())),
        }
    }

    /// Forgets every channel and GPADL and returns to `Disconnected`.
    fn reset(&mut self) {
        self.state = ConnectionState::Disconnected;
        self.clear_tables();
        self.msg_conn_id = VMBUS_MESSAGE_CONNECTION_ID;
    }

    /// Empties both tables.
    fn clear_tables(&mut self) {
        self.channels.slots_mut().fill(None);
        self.gpadls.slots_mut().fill(None);
    }

    fn on_version_response(
        &mut self,
        supported: u8,
        msg_conn_id: u32,
        host_features: Option<FeatureFlags>,
        out: &mut impl Outbox,
    ) -> Result<(), ConnError> {
        let ConnectionState::Connecting { index, .. } = self.state else {
            return Err(ConnError::Unexpected(MessageType::VERSION_RESPONSE));
        };
        if supported == 0 {
            self.try_next_version(index, out);
            return Ok(());
        }
        let version = VERSIONS.get(index).copied().unwrap_or(Version::WIN8);
        self.version = Some(version);
        self.msg_conn_id = if version >= Version::WIN10_V5 {
            msg_conn_id
        } else {
            VMBUS_MESSAGE_CONNECTION_ID
        };
        self.features = match host_features {
            Some(f) if version >= Version::WIN10_V6_0 => f.intersection(self.params.feature_flags),
            _ => FeatureFlags(0),
        };
        self.state = ConnectionState::Connected;
        out.action(Action::Connected {
            version,
            msg_conn_id: self.msg_conn_id,
            features: self.features,
        });
        self.post(out, &MessageHeader::new(MessageType::REQUESTOFFERS));
        Ok(())
    }

    fn on_offer(&mut self, offer: OfferChannel, out: &mut impl Outbox) -> Result<(), ConnError> {
        if !self.is_connected() {
            return Err(ConnError::Unexpected(MessageType::OFFERCHANNEL));
        }
        let relid = offer.child_relid;
        if relid == 0 || relid >= MAX_CHANNEL_RELIDS {
            return Err(ConnError::InvalidRelid(relid));
        }
        if self.channel(relid).is_some() {
            return Err(ConnError::DuplicateRelid(relid));
        }
        let Some(slot) = self.channels.slots_mut().iter_mut().find(|c| c.is_none()) else {
            // As when the C driver cannot allocate the channel: give the relid back.
            self.release(relid, out);
            return Err(ConnError::TooManyChannels);
        };
        *slot = Some(Channel {
            relid,
            state: ChannelState::Offered,
            rescinded: false,
            modify_pending: false,
        });
        out.action(Action::Offer {
            offer,
            boot: self.state == ConnectionState::Connected,
        });
        Ok(())
    }

    fn on_rescind(&mut self, relid: u32, out: &mut impl Outbox) -> Result<(), ConnError> {
        let c = self
            .channel_mut(relid)
            .ok_or(ConnError::UnknownChannel(relid))?;
        if c.rescinded {
            return Err(ConnError::Rescinded(relid));
        }
        c.rescinded = true;
        let was_opening = c.state == ChannelState::Opening;
        if was_opening {
            c.state = ChannelState::Offered;
        }
        out.action(Action::Rescind { relid });
        if was_opening {
            out.action(Action::OpenAborted { relid });
        }
        Ok(())
    }

    fn on_open_result(
        &mut self,
        relid: u32,
        openid: u32,
        status: u32,
        out: &mut impl Outbox,
    ) -> Result<(), ConnError> {
        let c = self
            .channel_mut(relid)
            .ok_or(ConnError::UnknownChannel(relid))?;
        // Linux uses the relid as openid and matches both.
        if c.state != ChannelState::Opening || openid != relid {
            return Err(ConnError::ChannelState(relid));
        }
        c.state = if status == 0 {
            ChannelState::Opened
        } else {
            ChannelState::Offered
        };
        out.action(Action::OpenResult { relid, status });
        Ok(())
    }

    fn on_gpadl_created(
        &mut self,
        relid: u32,
        handle: u32,
        status: u32,
        out: &mut impl Outbox,
    ) -> Result<(), ConnError> {
        let slot = self
            .gpadls
            .slots_mut()
            .iter_mut()
            .find(|g| {
                g.is_some_and(|g| {
                    g.handle == handle && g.relid == relid && g.state == GpadlState::Creating
                })
            })
            .ok_or(ConnError::UnknownGpadl(handle))?;
        if status == 0 {
            *slot = Some(GpadlEntry {
                relid,
                handle,
                state: GpadlState::Created,
            });
        } else {
            *slot = None;
        }
        out.action(Action::GpadlCreated {
            relid,
            gpadl: handle,
            status,
        });
        Ok(())
    }

    fn on_gpadl_torndown(&mut self, handle: u32, out: &mut impl Outbox) -> Result<(), ConnError> {
        let slot = self
            .gpadls
            .slots_mut()
            .iter_mut()
            .find(|g| g.is_some_and(|g| g.handle == handle && g.state == GpadlState::TearingDown))
            .ok_or(ConnError::UnknownGpadl(handle))?;
        let relid = slot.map(|g| g.relid).unwrap_or(0);
        *slot = None;
        out.action(Action::GpadlTorndown {
            relid,
            gpadl: handle,
        });
        Ok(())
    }

    fn on_modify_response(
        &mut self,
        relid: u32,
        status: u32,
        out: &mut impl Outbox,
    ) -> Result<(), ConnError> {
        let c = self
            .channel_mut(relid)
            .ok_or(ConnError::UnknownChannel(relid))?;
        if !c.modify_pending {
            return Err(ConnError::Unexpected(MessageType::MODIFYCHANNEL_RESPONSE));
        }
        c.modify_pending = false;
        out.action(Action::ModifyResult { relid, status });
        Ok(())
    }

    /// Posts RELID_RELEASED.
    fn release(&self, relid: u32, out: &mut impl Outbox) {
        self.post(
            out,
            &RelidReleased {
                header: MessageHeader::new(MessageType::RELID_RELEASED),
                child_relid: relid,
            },
        );
    }

    /// Returns the live (not rescinded) channel `relid`.
    fn live_channel_mut(&mut self, relid: u32) -> Result<&mut Channel, ConnError> {
        let c = self
            .channel_mut(relid)
            .ok_or(ConnError::UnknownChannel(relid))?;
        if c.rescinded {
            return Err(ConnError::Rescinded(relid));
        }
        Ok(c)
    }

    /// Allocates a GPADL handle and posts the GPADL_HEADER and GPADL_BODY messages describing
    /// `pages` (`__vmbus_establish_gpadl`); [`Action::GpadlCreated`] follows.
    ///
    /// See [`GpadlBuilder::new`] for `kind`, `pages`, `page_shift` and `size`.
    ///
    /// # Errors
    ///
    /// [`ConnError::InvalidState`], [`ConnError::UnknownChannel`], [`ConnError::Rescinded`]
    /// (as the C driver's `-ENODEV`), [`ConnError::TooManyGpadls`] or [`ConnError::Gpadl`].
    pub fn create_gpadl(
        &mut self,
        relid: u32,
        kind: GpadlType,
        pages: &[u64],
        page_shift: u32,
        size: u32,
        out: &mut impl Outbox,
    ) -> Result<u32, ConnError> {
        if !self.is_connected() {
            return Err(ConnError::InvalidState);
        }
        self.live_channel_mut(relid)?;
        let mut handle = self.next_gpadl;
        while handle == 0 || self.gpadl_state(handle).is_some() {
            handle = handle.wrapping_add(1);
        }
        let mut builder = GpadlBuilder::new(relid, handle, kind, pages, page_shift, size)?;
        let slot = self
            .gpadls
            .slots_mut()
            .iter_mut()
            .find(|g| g.is_none())
            .ok_or(ConnError::TooManyGpadls)?;
        *slot = Some(GpadlEntry {
            relid,
            handle,
            state: GpadlState::Creating,
        });
        self.next_gpadl = handle.wrapping_add(1);
        let mut buf = [0u8; MAX_SIZE_CHANNEL_MESSAGE];
        while let Some(n) = builder.write_next(&mut buf) {
            out.post(self.msg_conn_id, buf.get(..n).unwrap_or(&[]));
        }
        Ok(handle)
    }

    /// Tears down a created GPADL (`vmbus_teardown_gpadl`).
    ///
    /// Returns `true` if GPADL_TEARDOWN was posted ([`Action::GpadlTorndown`] follows), `false`
    /// if the channel was rescinded or released, in which case, like the C driver, nothing is
    /// sent and the GPADL is forgotten at once.
    ///
    /// # Errors
    ///
    /// [`ConnError::InvalidState`] or [`ConnError::UnknownGpadl`] if `handle` is not a created
    /// GPADL of `relid`.
    pub fn teardown_gpadl(
        &mut self,
        relid: u32,
        handle: u32,
        out: &mut impl Outbox,
    ) -> Result<bool, ConnError> {
        if !self.is_connected() {
            return Err(ConnError::InvalidState);
        }
        let live = self.channel(relid).is_some_and(|c| !c.rescinded);
        let msg_conn_id = self.msg_conn_id;
        let slot = self
            .gpadls
            .slots_mut()
            .iter_mut()
            .find(|g| {
                g.is_some_and(|g| {
                    g.handle == handle && g.relid == relid && g.state == GpadlState::Created
                })
            })
            .ok_or(ConnError::UnknownGpadl(handle))?;
        if !live {
            *slot = None;
            return Ok(false);
        }
        *slot = Some(GpadlEntry {
            relid,
            handle,
            state: GpadlState::TearingDown,
        });
        let msg = GpadlTeardown {
            header: MessageHeader::new(MessageType::GPADL_TEARDOWN),
            child_relid: relid,
            gpadl: handle,
        };
        out.post(msg_conn_id, msg.as_bytes());
        Ok(true)
    }

    /// Posts OPENCHANNEL with `openid` = relid (`__vmbus_open`); [`Action::OpenResult`] or
    /// [`Action::OpenAborted`] follows.
    ///
    /// # Errors
    ///
    /// [`ConnError::InvalidState`], [`ConnError::UnknownChannel`], [`ConnError::Rescinded`],
    /// [`ConnError::ChannelState`] unless the channel is closed,
    /// [`ConnError::UnknownGpadl`] unless `ring_gpadl` is a created GPADL of the channel, or
    /// [`ConnError::InvalidArgument`] for more than 120 bytes of user data.
    pub fn open_channel(
        &mut self,
        relid: u32,
        params: &OpenParams<'_>,
        out: &mut impl Outbox,
    ) -> Result<(), ConnError> {
        if !self.is_connected() {
            return Err(ConnError::InvalidState);
        }
        let mut userdata = [0u8; MAX_USER_DEFINED_BYTES];
        userdata
            .get_mut(..params.userdata.len())
            .ok_or(ConnError::InvalidArgument)?
            .copy_from_slice(params.userdata);
        let gpadl_ok = self.gpadls.slots().iter().flatten().any(|g| {
            g.handle == params.ring_gpadl && g.relid == relid && g.state == GpadlState::Created
        });
        let c = self.live_channel_mut(relid)?;
        if c.state != ChannelState::Offered {
            return Err(ConnError::ChannelState(relid));
        }
        if !gpadl_ok {
            return Err(ConnError::UnknownGpadl(params.ring_gpadl));
        }
        c.state = ChannelState::Opening;
        let msg = OpenChannel {
            header: MessageHeader::new(MessageType::OPENCHANNEL),
            child_relid: relid,
            openid: relid,
            ringbuffer_gpadlhandle: params.ring_gpadl,
            target_vp: params.target_vp,
            downstream_ringbuffer_pageoffset: params.downstream_ringbuffer_pageoffset,
            userdata,
        };
        self.post(out, &msg);
        Ok(())
    }

    /// Posts CLOSECHANNEL for an open channel (`vmbus_close_internal`); no reply comes.
    ///
    /// The ring GPADL stays; tear it down next.
    ///
    /// # Errors
    ///
    /// [`ConnError::InvalidState`], [`ConnError::UnknownChannel`] or
    /// [`ConnError::ChannelState`] unless the channel is open.
    pub fn close_channel(&mut self, relid: u32, out: &mut impl Outbox) -> Result<(), ConnError> {
        if !self.is_connected() {
            return Err(ConnError::InvalidState);
        }
        let c = self
            .channel_mut(relid)
            .ok_or(ConnError::UnknownChannel(relid))?;
        if c.state != ChannelState::Opened {
            return Err(ConnError::ChannelState(relid));
        }
        c.state = ChannelState::Offered;
        c.modify_pending = false;
        let msg = CloseChannel {
            header: MessageHeader::new(MessageType::CLOSECHANNEL),
            child_relid: relid,
        };
        self.post(out, &msg);
        Ok(())
    }

    /// Posts MODIFYCHANNEL to move the channel's interrupts to `target_vp`
    /// (`vmbus_send_modifychannel`).
    ///
    /// Returns `true` if an [`Action::ModifyResult`] will follow (5.3+); before 5.3 the host
    /// does not answer.
    ///
    /// # Errors
    ///
    /// [`ConnError::NotSupported`] before 4.1, [`ConnError::ChannelState`] unless open,
    /// [`ConnError::Busy`] while a previous one is unanswered, and the usual channel errors.
    pub fn modify_channel(
        &mut self,
        relid: u32,
        target_vp: u32,
        out: &mut impl Outbox,
    ) -> Result<bool, ConnError> {
        if !self.is_connected() {
            return Err(ConnError::InvalidState);
        }
        let version = self.version.unwrap_or(Version::WIN8);
        if version < Version::WIN10_V4_1 {
            return Err(ConnError::NotSupported);
        }
        let c = self.live_channel_mut(relid)?;
        if c.state != ChannelState::Opened {
            return Err(ConnError::ChannelState(relid));
        }
        if c.modify_pending {
            return Err(ConnError::Busy);
        }
        let ack = version >= Version::WIN10_V5_3;
        c.modify_pending = ack;
        let msg = ModifyChannel {
            header: MessageHeader::new(MessageType::MODIFYCHANNEL),
            child_relid: relid,
            target_vp,
        };
        self.post(out, &msg);
        Ok(ack)
    }

    /// Forgets an unanswered MODIFYCHANNEL (the glue gave up waiting): a later response is then
    /// a protocol error, and another MODIFYCHANNEL may be sent.
    ///
    /// # Errors
    ///
    /// [`ConnError::UnknownChannel`].
    pub fn cancel_modify(&mut self, relid: u32) -> Result<(), ConnError> {
        let c = self
            .channel_mut(relid)
            .ok_or(ConnError::UnknownChannel(relid))?;
        c.modify_pending = false;
        Ok(())
    }

    /// Releases a rescinded channel once the glue has cleaned it up: posts RELID_RELEASED and
    /// forgets the channel and its remaining GPADLs (`hv_process_channel_removal`).
    ///
    /// # Errors
    ///
    /// [`ConnError::UnknownChannel`], [`ConnError::ChannelState`] unless rescinded and not open.
    pub fn release_relid(&mut self, relid: u32, out: &mut impl Outbox) -> Result<(), ConnError> {
        let slot = self
            .channels
            .slots_mut()
            .iter_mut()
            .find(|c| c.is_some_and(|c| c.relid == relid))
            .ok_or(ConnError::UnknownChannel(relid))?;
        if !slot.is_some_and(|c| c.rescinded && c.state == ChannelState::Offered) {
            return Err(ConnError::ChannelState(relid));
        }
        *slot = None;
        for g in self.gpadls.slots_mut().iter_mut() {
            if g.is_some_and(|g| g.relid == relid) {
                *g = None;
            }
        }
        if self.is_connected() {
            self.release(relid, out);
        }
        Ok(())
    }

    /// Gives back an offer the glue cannot take (for example for lack of memory): forgets the
    /// channel and its GPADLs and posts RELID_RELEASED, as the error path of
    /// `vmbus_add_channel_work()` does.
    ///
    /// # Errors
    ///
    /// [`ConnError::UnknownChannel`], or [`ConnError::ChannelState`] unless the channel is
    /// closed.
    pub fn drop_offer(&mut self, relid: u32, out: &mut impl Outbox) -> Result<(), ConnError> {
        let slot = self
            .channels
            .slots_mut()
            .iter_mut()
            .find(|c| c.is_some_and(|c| c.relid == relid))
            .ok_or(ConnError::UnknownChannel(relid))?;
        if !slot.is_some_and(|c| c.state == ChannelState::Offered) {
            return Err(ConnError::ChannelState(relid));
        }
        *slot = None;
        for g in self.gpadls.slots_mut().iter_mut() {
            if g.is_some_and(|g| g.relid == relid) {
                *g = None;
            }
        }
        if self.is_connected() {
            self.release(relid, out);
        }
        Ok(())
    }

    /// Forgets a GPADL still waiting for GPADL_CREATED, when its messages could not be posted
    /// or the glue gives up waiting (the error paths of `__vmbus_establish_gpadl`).
    ///
    /// # Errors
    ///
    /// [`ConnError::UnknownGpadl`] unless `handle` is a GPADL of `relid` being created.
    pub fn cancel_gpadl(&mut self, relid: u32, handle: u32) -> Result<(), ConnError> {
        let slot = self
            .gpadls
            .slots_mut()
            .iter_mut()
            .find(|g| {
                g.is_some_and(|g| {
                    g.handle == handle && g.relid == relid && g.state == GpadlState::Creating
                })
            })
            .ok_or(ConnError::UnknownGpadl(handle))?;
        *slot = None;
        Ok(())
    }

    /// Returns a channel from opening to closed when OPENCHANNEL could not be posted or the
    /// glue gives up waiting (the error paths of `__vmbus_open`).
    ///
    /// # Errors
    ///
    /// [`ConnError::UnknownChannel`], or [`ConnError::ChannelState`] unless opening.
    pub fn cancel_open(&mut self, relid: u32) -> Result<(), ConnError> {
        let c = self
            .channel_mut(relid)
            .ok_or(ConnError::UnknownChannel(relid))?;
        if c.state != ChannelState::Opening {
            return Err(ConnError::ChannelState(relid));
        }
        c.state = ChannelState::Offered;
        Ok(())
    }

    /// Posts TL_CONNECT_REQUEST (a hv_sock connect to a host service).
    ///
    /// # Errors
    ///
    /// [`ConnError::InvalidState`] unless connected.
    pub fn tl_connect_request(
        &mut self,
        guest_endpoint_id: Guid,
        host_service_id: Guid,
        out: &mut impl Outbox,
    ) -> Result<(), ConnError> {
        if !self.is_connected() {
            return Err(ConnError::InvalidState);
        }
        let msg = TlConnectRequest {
            header: MessageHeader::new(MessageType::TL_CONNECT_REQUEST),
            guest_endpoint_id,
            host_service_id,
        };
        self.post(out, &msg);
        Ok(())
    }

    /// Unloads the connection (`vmbus_initiate_unload`).
    ///
    /// From 3.0 on posts UNLOAD and waits for UNLOAD_RESPONSE; older hosts do not support it, so
    /// the connection is dropped at once. [`Action::Unloaded`] follows either way.
    ///
    /// # Errors
    ///
    /// [`ConnError::InvalidState`] unless connected.
    pub fn unload(&mut self, out: &mut impl Outbox) -> Result<(), ConnError> {
        if !self.is_connected() {
            return Err(ConnError::InvalidState);
        }
        if self.version.unwrap_or(Version::WIN8) < Version::WIN8_1 {
            self.reset();
            out.action(Action::Unloaded);
            return Ok(());
        }
        self.post(out, &MessageHeader::new(MessageType::UNLOAD));
        self.state = ConnectionState::Unloading;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
