// SPDX-License-Identifier: GPL-2.0

//! VMBus channel (control) messages: versions, message types, wire structs and the parser.
//!
//! C header: `include/linux/hyperv.h` (`vmbus_channel_*` structs, `enum vmbus_channel_message_type`,
//! `VERSION_*`), dispatch rules from `drivers/hv/vmbus_drv.c` (`__vmbus_on_msg_dpc`) and
//! `drivers/hv/channel_mgmt.c` (`channel_message_table`). Copper (6.0) extensions that Linux
//! does not use are included for the host role; their layouts are from the Hyper-V protocol
//! as documented by OpenVMM's `vmbus_core` (facts only).
//!
//! Every struct is a `#[repr(C, packed)]` mirror of the C struct (the C side is `__packed`),
//! including the 8-byte [`MessageHeader`], so field offsets equal the C `offsetof()`s.
//! Parse with [`Message::parse`] (a byte slice) or [`Message::parse_synic`] (a SynIC slot);
//! both copy the fixed part out by value and never panic.

use core::mem::size_of;

use zerocopy::FromBytes;
use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::guid::Guid;
use super::synic::{HvMessage, HvMessageType, HV_MESSAGE_PAYLOAD_BYTE_COUNT};

/// Largest channel message in bytes: one SynIC payload (`MAX_SIZE_CHANNEL_MESSAGE`).
pub const MAX_SIZE_CHANNEL_MESSAGE: usize = HV_MESSAGE_PAYLOAD_BYTE_COUNT;
/// Size of the user-defined bytes of a non-pipe offer and of OPENCHANNEL (`MAX_USER_DEFINED_BYTES`).
pub const MAX_USER_DEFINED_BYTES: usize = 120;
/// Size of the user-defined bytes of a pipe offer (`MAX_PIPE_USER_DEFINED_BYTES`).
pub const MAX_PIPE_USER_DEFINED_BYTES: usize = 116;
/// Relids are below this (`MAX_CHANNEL_RELIDS` = max(256, `HV_EVENT_FLAGS_COUNT`)).
pub const MAX_CHANNEL_RELIDS: u32 = 2048;
/// The relid value that means "none" (`INVALID_RELID`).
pub const INVALID_RELID: u32 = u32::MAX;
/// Target VP value that disables interrupts for a channel (Hyper-V; unused by Linux).
pub const VP_INDEX_DISABLE_INTERRUPT: u32 = u32::MAX;

/// Builds a version number from its halves (`VMBUS_MAKE_VERSION`).
pub const fn make_version(major: u16, minor: u16) -> u32 {
    ((major as u32) << 16) | minor as u32
}

open_enum! {
    /// A VMBus protocol version, `major << 16 | minor` (`VERSION_*` in `hyperv.h`).
    pub struct Version(u32) {
        /// 0.13, Windows Server 2008 (`VERSION_WS2008`; no longer negotiated by Linux).
        WS2008 = make_version(0, 13),
        /// 1.1, Windows 7 / WS2008 R2 (`VERSION_WIN7`; no longer negotiated by Linux).
        WIN7 = make_version(1, 1),
        /// 2.4, Windows 8 / WS2012 (`VERSION_WIN8`).
        WIN8 = make_version(2, 4),
        /// 3.0, Windows 8.1 / WS2012 R2 (`VERSION_WIN8_1`).
        WIN8_1 = make_version(3, 0),
        /// 4.0, Windows 10 (`VERSION_WIN10`).
        WIN10 = make_version(4, 0),
        /// 4.1, Windows 10 RS3 (`VERSION_WIN10_V4_1`): MODIFYCHANNEL.
        WIN10_V4_1 = make_version(4, 1),
        /// 5.0 (`VERSION_WIN10_V5`): message connection id 4, `msg_sint`/`msg_vtl`.
        WIN10_V5 = make_version(5, 0),
        /// 5.1, Windows 10 RS4 (`VERSION_WIN10_V5_1`).
        WIN10_V5_1 = make_version(5, 1),
        /// 5.2, Windows Server 2019 (`VERSION_WIN10_V5_2`); minimum for isolated VMs.
        WIN10_V5_2 = make_version(5, 2),
        /// 5.3, Windows Server 2022 (`VERSION_WIN10_V5_3`): MODIFYCHANNEL_RESPONSE.
        WIN10_V5_3 = make_version(5, 3),
        /// 6.0, "Copper" (`VERSION_WIN10_V6_0`): feature flags.
        WIN10_V6_0 = make_version(6, 0),
    }
}

impl Version {
    /// Returns the major half.
    pub const fn major(self) -> u16 {
        (self.0 >> 16) as u16
    }

    /// Returns the minor half.
    pub const fn minor(self) -> u16 {
        self.0 as u16
    }
}

impl core::fmt::Display for Version {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}.{}", self.major(), self.minor())
    }
}

/// The versions Linux 7.2 tries, newest first (`vmbus_versions[]` in `drivers/hv/connection.c`).
pub const VERSIONS: [Version; 9] = [
    Version::WIN10_V6_0,
    Version::WIN10_V5_3,
    Version::WIN10_V5_2,
    Version::WIN10_V5_1,
    Version::WIN10_V5,
    Version::WIN10_V4_1,
    Version::WIN10,
    Version::WIN8_1,
    Version::WIN8,
];

open_enum! {
    /// Channel message type (`enum vmbus_channel_message_type`).
    pub struct MessageType(u32) {
        /// `CHANNELMSG_INVALID`.
        INVALID = 0,
        /// `CHANNELMSG_OFFERCHANNEL`, host to guest: [`OfferChannel`].
        OFFERCHANNEL = 1,
        /// `CHANNELMSG_RESCIND_CHANNELOFFER`, host to guest: [`RescindOffer`].
        RESCIND_CHANNELOFFER = 2,
        /// `CHANNELMSG_REQUESTOFFERS`, guest to host: header only.
        REQUESTOFFERS = 3,
        /// `CHANNELMSG_ALLOFFERS_DELIVERED`, host to guest: header only.
        ALLOFFERS_DELIVERED = 4,
        /// `CHANNELMSG_OPENCHANNEL`, guest to host: [`OpenChannel`] / [`OpenChannel2`].
        OPENCHANNEL = 5,
        /// `CHANNELMSG_OPENCHANNEL_RESULT`, host to guest: [`OpenResult`].
        OPENCHANNEL_RESULT = 6,
        /// `CHANNELMSG_CLOSECHANNEL`, guest to host: [`CloseChannel`].
        CLOSECHANNEL = 7,
        /// `CHANNELMSG_GPADL_HEADER`, guest to host: [`GpadlHeader`] + ranges.
        GPADL_HEADER = 8,
        /// `CHANNELMSG_GPADL_BODY`, guest to host: [`GpadlBody`] + PFNs.
        GPADL_BODY = 9,
        /// `CHANNELMSG_GPADL_CREATED`, host to guest: [`GpadlCreated`].
        GPADL_CREATED = 10,
        /// `CHANNELMSG_GPADL_TEARDOWN`, guest to host: [`GpadlTeardown`].
        GPADL_TEARDOWN = 11,
        /// `CHANNELMSG_GPADL_TORNDOWN`, host to guest: [`GpadlTorndown`].
        GPADL_TORNDOWN = 12,
        /// `CHANNELMSG_RELID_RELEASED`, guest to host: [`RelidReleased`].
        RELID_RELEASED = 13,
        /// `CHANNELMSG_INITIATE_CONTACT`, guest to host: [`InitiateContact`].
        INITIATE_CONTACT = 14,
        /// `CHANNELMSG_VERSION_RESPONSE`, host to guest: [`VersionResponse`].
        VERSION_RESPONSE = 15,
        /// `CHANNELMSG_UNLOAD`, guest to host: header only.
        UNLOAD = 16,
        /// `CHANNELMSG_UNLOAD_RESPONSE`, host to guest: header only.
        UNLOAD_RESPONSE = 17,
        /// `CHANNELMSG_18`: open reserved channel (Windows KDNET; unused by Linux).
        OPEN_RESERVED_CHANNEL = 18,
        /// `CHANNELMSG_19`: close reserved channel (unused by Linux).
        CLOSE_RESERVED_CHANNEL = 19,
        /// `CHANNELMSG_20`: close reserved channel response (unused by Linux).
        CLOSE_RESERVED_RESPONSE = 20,
        /// `CHANNELMSG_TL_CONNECT_REQUEST`, guest to host: [`TlConnectRequest`].
        TL_CONNECT_REQUEST = 21,
        /// `CHANNELMSG_MODIFYCHANNEL`, guest to host: [`ModifyChannel`] (4.1+).
        MODIFYCHANNEL = 22,
        /// `CHANNELMSG_TL_CONNECT_RESULT`, host to guest: [`TlConnectResult`] (ignored by Linux).
        TL_CONNECT_RESULT = 23,
        /// `CHANNELMSG_MODIFYCHANNEL_RESPONSE`, host to guest: [`ModifyChannelResponse`] (5.3+).
        MODIFYCHANNEL_RESPONSE = 24,
        /// Copper modify connection (not in Linux).
        MODIFY_CONNECTION = 25,
        /// Copper modify connection response (not in Linux).
        MODIFY_CONNECTION_RESPONSE = 26,
        /// Copper pause (not in Linux).
        PAUSE = 27,
        /// Copper pause response (not in Linux).
        PAUSE_RESPONSE = 28,
        /// Copper resume (not in Linux).
        RESUME = 29,
    }
}

/// Number of message types Linux knows (`CHANNELMSG_COUNT`); larger types are dropped.
pub const CHANNELMSG_COUNT: u32 = 25;

/// Declares a transparent bit-set newtype over an integer with named bits.
macro_rules! bit_flags {
    (
        $(#[$meta:meta])*
        pub struct $name:ident($repr:ty) {
            $(
                $(#[$vmeta:meta])*
                $flag:ident = $value:expr,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Copy, Clone, PartialEq, Eq, Hash, Default, Debug,
            FromBytes, IntoBytes, Immutable, KnownLayout,
        )]
        #[repr(transparent)]
        pub struct $name(pub $repr);

        impl $name {
            $(
                $(#[$vmeta])*
                pub const $flag: $name = $name($value);
            )*

            /// Returns `true` if every bit of `other` is set in `self`.
            pub const fn contains(self, other: $name) -> bool {
                self.0 & other.0 == other.0
            }

            /// Returns the union of both sets.
            pub const fn union(self, other: $name) -> $name {
                $name(self.0 | other.0)
            }

            /// Returns the intersection of both sets.
            pub const fn intersection(self, other: $name) -> $name {
                $name(self.0 & other.0)
            }
        }

        impl core::ops::BitOr for $name {
            type Output = $name;

            fn bitor(self, rhs: $name) -> $name {
                self.union(rhs)
            }
        }
    };
}

bit_flags! {
    /// VMBus 6.0 feature flags of INITIATE_CONTACT and VERSION_RESPONSE.
    pub struct FeatureFlags(u32) {
        /// The guest may choose the event flag and connection id when opening a channel.
        GUEST_SPECIFIED_SIGNAL_PARAMETERS = 0x1,
        /// OPENCHANNEL may carry [`OpenChannelFlags::REDIRECT_INTERRUPT`].
        CHANNEL_INTERRUPT_REDIRECTION = 0x2,
        /// MODIFY_CONNECTION messages are supported.
        MODIFY_CONNECTION = 0x4,
        /// INITIATE_CONTACT carries a client id ([`InitiateContact2`]).
        CLIENT_ID = 0x8,
        /// Confidential ring buffers and external memory
        /// (`VMBUS_FEATURE_FLAG_CONFIDENTIAL_CHANNELS`).
        CONFIDENTIAL_CHANNELS = 0x10,
        /// PAUSE/RESUME messages are supported.
        PAUSE_RESUME = 0x20,
    }
}

bit_flags! {
    /// Offer flags, `chn_flags` of [`ChannelOffer`] ("Server Flags" in `hyperv.h`).
    pub struct OfferFlags(u16) {
        /// `VMBUS_CHANNEL_ENUMERATE_DEVICE_INTERFACE`.
        ENUMERATE_DEVICE_INTERFACE = 0x0001,
        /// `VMBUS_CHANNEL_CONFIDENTIAL_RING_BUFFER`: offered by the paravisor, encrypted ring.
        CONFIDENTIAL_RING_BUFFER = 0x0002,
        /// `VMBUS_CHANNEL_CONFIDENTIAL_EXTERNAL_MEMORY`: encrypted GPA-direct and extra GPADLs.
        CONFIDENTIAL_EXTERNAL_MEMORY = 0x0004,
        /// `VMBUS_CHANNEL_NAMED_PIPE_MODE`: the user-defined bytes are [`PipeUserDefined`].
        NAMED_PIPE_MODE = 0x0010,
        /// `VMBUS_CHANNEL_LOOPBACK_OFFER`.
        LOOPBACK_OFFER = 0x0100,
        /// `VMBUS_CHANNEL_PARENT_OFFER`.
        PARENT_OFFER = 0x0200,
        /// `VMBUS_CHANNEL_REQUEST_MONITORED_NOTIFICATION`.
        REQUEST_MONITORED_NOTIFICATION = 0x0400,
        /// `VMBUS_CHANNEL_TLNPI_PROVIDER_OFFER`: a hv_sock channel.
        TLNPI_PROVIDER_OFFER = 0x2000,
    }
}

bit_flags! {
    /// Flags of the Copper [`OpenChannel2`] message.
    pub struct OpenChannelFlags(u16) {
        /// Deliver host-to-guest interrupts to the redirected VTL and SINT.
        REDIRECT_INTERRUPT = 0x1,
    }
}

open_enum! {
    /// Pipe mode in the user-defined bytes of a pipe offer (`VMBUS_PIPE_TYPE_*`).
    pub struct PipeMode(u32) {
        /// `VMBUS_PIPE_TYPE_BYTE`.
        BYTE = 0,
        /// `VMBUS_PIPE_TYPE_MESSAGE`.
        MESSAGE = 4,
    }
}

open_enum! {
    /// `connection_state` of VERSION_RESPONSE (Hyper-V; Linux ignores it).
    pub struct ConnectionState(u8) {
        /// Connected.
        SUCCESSFUL = 0,
        /// Refused for lack of resources.
        FAILED_LOW_RESOURCES = 1,
        /// Refused for another reason.
        FAILED_UNKNOWN_FAILURE = 2,
    }
}

/// A channel message struct: its fixed layout and its message type.
pub trait ChannelMessage: FromBytes + zerocopy::IntoBytes + zerocopy::Immutable + Copy {
    /// The message type of this struct.
    const MESSAGE_TYPE: MessageType;
    /// The size in bytes of the fixed part, header included.
    const SIZE: usize = size_of::<Self>();
}

/// Header of every channel message (`struct vmbus_channel_message_header`, 8 bytes).
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C, packed)]
pub struct MessageHeader {
    /// Message type (`msgtype`, @0).
    pub msgtype: MessageType,
    /// Padding, zero (`padding`, @4).
    pub padding: u32,
}

impl MessageHeader {
    /// Returns the header of a message of type `msgtype`.
    pub const fn new(msgtype: MessageType) -> MessageHeader {
        MessageHeader {
            msgtype,
            padding: 0,
        }
    }
}

/// The fixed part of an offer (`struct vmbus_channel_offer`, 176 bytes).
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct ChannelOffer {
    /// Device class (`if_type`, @0 of the offer).
    pub if_type: Guid,
    /// Device instance (`if_instance`, @16).
    pub if_instance: Guid,
    /// Unused (`reserved1`, @32).
    pub reserved1: u64,
    /// Unused (`reserved2`, @40).
    pub reserved2: u64,
    /// Offer flags (`chn_flags`, @48).
    pub chn_flags: OfferFlags,
    /// MMIO space the device needs, in MiB (`mmio_megabytes`, @50).
    pub mmio_megabytes: u16,
    /// User-defined bytes (`u.std.user_def`, @52); a pipe offer overlays [`PipeUserDefined`].
    pub user_def: [u8; MAX_USER_DEFINED_BYTES],
    /// 0 for a primary channel, else the subchannel's index (`sub_channel_index`, @172).
    pub sub_channel_index: u16,
    /// Reserved (`reserved3`, @174).
    pub reserved3: u16,
}

/// The pipe view of an offer's user-defined bytes (`vmbus_channel_offer.u.pipe`, 120 bytes).
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct PipeUserDefined {
    /// Pipe mode (`pipe_mode`, @0).
    pub pipe_mode: PipeMode,
    /// The pipe client's own bytes (`user_def`, @4).
    pub user_def: [u8; MAX_PIPE_USER_DEFINED_BYTES],
}

impl ChannelOffer {
    /// Returns the user-defined bytes read as a pipe offer's ([`OfferFlags::NAMED_PIPE_MODE`]).
    pub fn pipe(&self) -> PipeUserDefined {
        let [a, b, c, d, rest @ ..] = self.user_def;
        PipeUserDefined {
            pipe_mode: PipeMode(u32::from_le_bytes([a, b, c, d])),
            user_def: rest,
        }
    }

    /// Returns `true` for a subchannel offer (`sub_channel_index != 0`).
    pub fn is_subchannel(&self) -> bool {
        self.sub_channel_index != 0
    }
}

/// CHANNELMSG_OFFERCHANNEL (`struct vmbus_channel_offer_channel`, 196 bytes).
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct OfferChannel {
    /// Header (`header`, @0).
    pub header: MessageHeader,
    /// The offer (`offer`, @8).
    pub offer: ChannelOffer,
    /// Relid the channel is known by from now on (`child_relid`, @184).
    pub child_relid: u32,
    /// Monitor id for MNF signalling (`monitorid`, @188).
    pub monitorid: u8,
    /// Bit 0: `monitor_allocated` (@189).
    pub monitor_allocated: u8,
    /// Bit 0: `is_dedicated_interrupt` (@190).
    pub is_dedicated_interrupt: u16,
    /// Event connection id to signal the host with (`connection_id`, @192).
    pub connection_id: u32,
}

impl OfferChannel {
    /// Returns the `monitor_allocated` bit.
    pub fn monitor_allocated(&self) -> bool {
        self.monitor_allocated & 1 != 0
    }

    /// Returns the `is_dedicated_interrupt` bit.
    pub fn is_dedicated_interrupt(&self) -> bool {
        self.is_dedicated_interrupt & 1 != 0
    }

    /// Returns the monitor trigger group (`monitorid / 32`).
    pub fn monitor_group(&self) -> u8 {
        self.monitorid / 32
    }

    /// Returns the bit in the monitor trigger group (`monitorid % 32`).
    pub fn monitor_bit(&self) -> u8 {
        self.monitorid % 32
    }
}

/// CHANNELMSG_RESCIND_CHANNELOFFER (`struct vmbus_channel_rescind_offer`, 12 bytes).
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct RescindOffer {
    /// Header (`header`, @0).
    pub header: MessageHeader,
    /// The rescinded channel (`child_relid`, @8).
    pub child_relid: u32,
}

/// CHANNELMSG_OPENCHANNEL (`struct vmbus_channel_open_channel`, 148 bytes).
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct OpenChannel {
    /// Header (`header`, @0).
    pub header: MessageHeader,
    /// The channel to open (`child_relid`, @8).
    pub child_relid: u32,
    /// Id making this open request unique; Linux uses the relid (`openid`, @12).
    pub openid: u32,
    /// GPADL of both rings (`ringbuffer_gpadlhandle`, @16).
    pub ringbuffer_gpadlhandle: u32,
    /// VP index that receives the channel's interrupts (`target_vp`, @20).
    pub target_vp: u32,
    /// Offset of the host-to-guest ring in the GPADL, in 4 KiB pages
    /// (`downstream_ringbuffer_pageoffset`, @24).
    pub downstream_ringbuffer_pageoffset: u32,
    /// Bytes passed to the host endpoint (`userdata`, @28).
    pub userdata: [u8; MAX_USER_DEFINED_BYTES],
}

/// Copper OPENCHANNEL with guest-chosen signal parameters (156 bytes; not used by Linux).
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct OpenChannel2 {
    /// The 5.x message (@0).
    pub open_channel: OpenChannel,
    /// Event connection id chosen by the guest (@148), with
    /// [`FeatureFlags::GUEST_SPECIFIED_SIGNAL_PARAMETERS`].
    pub connection_id: u32,
    /// Event flag chosen by the guest (@152), same feature.
    pub event_flag: u16,
    /// Open flags (@154), with [`FeatureFlags::CHANNEL_INTERRUPT_REDIRECTION`].
    pub flags: OpenChannelFlags,
}

/// CHANNELMSG_OPENCHANNEL_RESULT (`struct vmbus_channel_open_result`, 20 bytes).
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct OpenResult {
    /// Header (`header`, @0).
    pub header: MessageHeader,
    /// The channel (`child_relid`, @8).
    pub child_relid: u32,
    /// The open request's id (`openid`, @12).
    pub openid: u32,
    /// 0 on success, else an NTSTATUS (`status`, @16).
    pub status: u32,
}

/// CHANNELMSG_CLOSECHANNEL (`struct vmbus_channel_close_channel`, 12 bytes; no reply).
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct CloseChannel {
    /// Header (`header`, @0).
    pub header: MessageHeader,
    /// The channel (`child_relid`, @8).
    pub child_relid: u32,
}

/// Head of a GPA range (`struct gpa_range` without its flexible `pfn_array`, 8 bytes).
///
/// It is followed by `ceil((byte_offset + byte_count) / 4096)` u64 PFNs.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C, packed)]
pub struct GpaRange {
    /// Length of the range in bytes (`byte_count`, @0).
    pub byte_count: u32,
    /// Offset of the range in its first page, in bytes (`byte_offset`, @4).
    pub byte_offset: u32,
}

/// CHANNELMSG_GPADL_HEADER (`struct vmbus_channel_gpadl_header` without `range[]`, 20 bytes).
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct GpadlHeader {
    /// Header (`header`, @0).
    pub header: MessageHeader,
    /// The channel the GPADL belongs to (`child_relid`, @8).
    pub child_relid: u32,
    /// Guest-chosen GPADL handle (`gpadl`, @12).
    pub gpadl: u32,
    /// Bytes of all ranges with their PFNs, over header and bodies (`range_buflen`, @16).
    pub range_buflen: u16,
    /// Number of ranges; Linux sends 1 (`rangecount`, @18).
    pub rangecount: u16,
}

/// CHANNELMSG_GPADL_BODY (`struct vmbus_channel_gpadl_body` without `pfn[]`, 16 bytes).
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct GpadlBody {
    /// Header (`header`, @0).
    pub header: MessageHeader,
    /// Sequence number; Linux leaves it 0 and hosts ignore it (`msgnumber`, @8).
    pub msgnumber: u32,
    /// The GPADL handle (`gpadl`, @12).
    pub gpadl: u32,
}

/// CHANNELMSG_GPADL_CREATED (`struct vmbus_channel_gpadl_created`, 20 bytes).
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct GpadlCreated {
    /// Header (`header`, @0).
    pub header: MessageHeader,
    /// The channel (`child_relid`, @8).
    pub child_relid: u32,
    /// The GPADL handle (`gpadl`, @12).
    pub gpadl: u32,
    /// 0 on success (`creation_status`, @16).
    pub creation_status: u32,
}

/// CHANNELMSG_GPADL_TEARDOWN (`struct vmbus_channel_gpadl_teardown`, 16 bytes).
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct GpadlTeardown {
    /// Header (`header`, @0).
    pub header: MessageHeader,
    /// The channel (`child_relid`, @8).
    pub child_relid: u32,
    /// The GPADL handle (`gpadl`, @12).
    pub gpadl: u32,
}

/// CHANNELMSG_GPADL_TORNDOWN (`struct vmbus_channel_gpadl_torndown`, 12 bytes).
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct GpadlTorndown {
    /// Header (`header`, @0).
    pub header: MessageHeader,
    /// The GPADL handle (`gpadl`, @8).
    pub gpadl: u32,
}

/// CHANNELMSG_RELID_RELEASED (`struct vmbus_channel_relid_released`, 12 bytes).
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct RelidReleased {
    /// Header (`header`, @0).
    pub header: MessageHeader,
    /// The released relid (`child_relid`, @8).
    pub child_relid: u32,
}

/// CHANNELMSG_INITIATE_CONTACT (`struct vmbus_channel_initiate_contact`, 40 bytes).
///
/// Bytes 16..24 are a union: before 5.0 the GPA of the interrupt page (see
/// [`InitiateContact::interrupt_page`]), from 5.0 on `msg_sint`, `msg_vtl`, `reserved` and
/// (6.0) `feature_flags`, which is the layout of the fields here.
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct InitiateContact {
    /// Header (`header`, @0).
    pub header: MessageHeader,
    /// Requested version (`vmbus_version_requested`, @8).
    pub vmbus_version_requested: Version,
    /// VP index the host sends channel messages to (`target_vcpu`, @12).
    pub target_vcpu: u32,
    /// SINT for channel messages, 2 (`msg_sint`, @16; 5.0+).
    pub msg_sint: u8,
    /// VTL of the guest (`msg_vtl`, @17; 5.0+).
    pub msg_vtl: u8,
    /// Reserved (`reserved[2]`, @18).
    pub reserved: [u8; 2],
    /// Requested features (`feature_flags`, @20; 6.0+).
    pub feature_flags: FeatureFlags,
    /// GPA of the parent-to-child monitor page (`monitor_page1`, @24).
    pub monitor_page1: u64,
    /// GPA of the child-to-parent monitor page (`monitor_page2`, @32).
    pub monitor_page2: u64,
}

impl InitiateContact {
    /// Returns bytes 16..24 read as the pre-5.0 `interrupt_page` GPA.
    pub fn interrupt_page(&self) -> u64 {
        let [a, b] = self.reserved;
        let [c, d, e, f] = self.feature_flags.0.to_le_bytes();
        u64::from_le_bytes([self.msg_sint, self.msg_vtl, a, b, c, d, e, f])
    }

    /// Stores `gpa` in bytes 16..24 as the pre-5.0 `interrupt_page`.
    pub fn set_interrupt_page(&mut self, gpa: u64) {
        let [a, b, c, d, e, f, g, h] = gpa.to_le_bytes();
        self.msg_sint = a;
        self.msg_vtl = b;
        self.reserved = [c, d];
        self.feature_flags = FeatureFlags(u32::from_le_bytes([e, f, g, h]));
    }
}

/// Copper INITIATE_CONTACT with a client id (56 bytes; not used by Linux).
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct InitiateContact2 {
    /// The 5.x message (@0).
    pub initiate_contact: InitiateContact,
    /// Well-known id of the client (@40), with [`FeatureFlags::CLIENT_ID`].
    pub client_id: Guid,
}

/// CHANNELMSG_VERSION_RESPONSE (`struct vmbus_channel_version_response`, 16 bytes).
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct VersionResponse {
    /// Header (`header`, @0).
    pub header: MessageHeader,
    /// Non-zero if the requested version is accepted (`version_supported`, @8).
    pub version_supported: u8,
    /// Connection state (`connection_state`, @9).
    pub connection_state: ConnectionState,
    /// Padding (`padding`, @10).
    pub padding: u16,
    /// Connection id for every later message, from 5.0 on (`msg_conn_id`, @12).
    pub msg_conn_id: u32,
}

/// Copper VERSION_RESPONSE with the host's features (20 bytes).
///
/// Sent only when a version >= 6.0 is accepted; Linux reads the 16-byte prefix.
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct VersionResponse2 {
    /// The 16-byte message (@0).
    pub version_response: VersionResponse,
    /// Features the host supports (@16).
    pub supported_features: FeatureFlags,
}

/// CHANNELMSG_TL_CONNECT_REQUEST (`struct vmbus_channel_tl_connect_request`, 40 bytes).
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct TlConnectRequest {
    /// Header (`header`, @0).
    pub header: MessageHeader,
    /// The guest's endpoint (`guest_endpoint_id`, @8).
    pub guest_endpoint_id: Guid,
    /// The host service (`host_service_id`, @24).
    pub host_service_id: Guid,
}

/// TL_CONNECT_REQUEST with a silo id, RS5+ hosts (56 bytes; not used by Linux).
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct TlConnectRequest2 {
    /// The 40-byte message (@0).
    pub request: TlConnectRequest,
    /// Silo (container) id (@40).
    pub silo_id: Guid,
}

/// CHANNELMSG_TL_CONNECT_RESULT (44 bytes; Linux ignores it).
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct TlConnectResult {
    /// Header (@0).
    pub header: MessageHeader,
    /// The guest's endpoint (@8).
    pub guest_endpoint_id: Guid,
    /// The host service (@24).
    pub host_service_id: Guid,
    /// NTSTATUS (@40).
    pub status: u32,
}

/// CHANNELMSG_MODIFYCHANNEL (`struct vmbus_channel_modifychannel`, 16 bytes; 4.1+).
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct ModifyChannel {
    /// Header (`header`, @0).
    pub header: MessageHeader,
    /// The channel (`child_relid`, @8).
    pub child_relid: u32,
    /// New VP index for the channel's interrupts (`target_vp`, @12).
    pub target_vp: u32,
}

/// CHANNELMSG_MODIFYCHANNEL_RESPONSE (`struct vmbus_channel_modifychannel_response`, 16 bytes;
/// 5.3+).
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct ModifyChannelResponse {
    /// Header (`header`, @0).
    pub header: MessageHeader,
    /// The channel (`child_relid`, @8).
    pub child_relid: u32,
    /// 0 on success (`status`, @12).
    pub status: u32,
}

macro_rules! impl_channel_message {
    ($($t:ty => $mt:ident,)*) => {
        $(
            impl ChannelMessage for $t {
                const MESSAGE_TYPE: MessageType = MessageType::$mt;
            }
        )*
    };
}

impl_channel_message! {
    OfferChannel => OFFERCHANNEL,
    RescindOffer => RESCIND_CHANNELOFFER,
    OpenChannel => OPENCHANNEL,
    OpenChannel2 => OPENCHANNEL,
    OpenResult => OPENCHANNEL_RESULT,
    CloseChannel => CLOSECHANNEL,
    GpadlHeader => GPADL_HEADER,
    GpadlBody => GPADL_BODY,
    GpadlCreated => GPADL_CREATED,
    GpadlTeardown => GPADL_TEARDOWN,
    GpadlTorndown => GPADL_TORNDOWN,
    RelidReleased => RELID_RELEASED,
    InitiateContact => INITIATE_CONTACT,
    InitiateContact2 => INITIATE_CONTACT,
    VersionResponse => VERSION_RESPONSE,
    VersionResponse2 => VERSION_RESPONSE,
    TlConnectRequest => TL_CONNECT_REQUEST,
    TlConnectRequest2 => TL_CONNECT_REQUEST,
    TlConnectResult => TL_CONNECT_RESULT,
    ModifyChannel => MODIFYCHANNEL,
    ModifyChannelResponse => MODIFYCHANNEL_RESPONSE,
}

const _: () = assert!(size_of::<MessageHeader>() == 8);
const _: () = assert!(size_of::<ChannelOffer>() == 176);
const _: () = assert!(size_of::<PipeUserDefined>() == MAX_USER_DEFINED_BYTES);
const _: () = assert!(size_of::<OfferChannel>() == 196);
const _: () = assert!(size_of::<RescindOffer>() == 12);
const _: () = assert!(size_of::<OpenChannel>() == 148);
const _: () = assert!(size_of::<OpenChannel2>() == 156);
const _: () = assert!(size_of::<OpenResult>() == 20);
const _: () = assert!(size_of::<CloseChannel>() == 12);
const _: () = assert!(size_of::<GpaRange>() == 8);
const _: () = assert!(size_of::<GpadlHeader>() == 20);
const _: () = assert!(size_of::<GpadlBody>() == 16);
const _: () = assert!(size_of::<GpadlCreated>() == 20);
const _: () = assert!(size_of::<GpadlTeardown>() == 16);
const _: () = assert!(size_of::<GpadlTorndown>() == 12);
const _: () = assert!(size_of::<RelidReleased>() == 12);
const _: () = assert!(size_of::<InitiateContact>() == 40);
const _: () = assert!(size_of::<InitiateContact2>() == 56);
const _: () = assert!(size_of::<VersionResponse>() == 16);
const _: () = assert!(size_of::<VersionResponse2>() == 20);
const _: () = assert!(size_of::<TlConnectRequest>() == 40);
const _: () = assert!(size_of::<TlConnectRequest2>() == 56);
const _: () = assert!(size_of::<TlConnectResult>() == 44);
const _: () = assert!(size_of::<ModifyChannel>() == 16);
const _: () = assert!(size_of::<ModifyChannelResponse>() == 16);

/// Returns the `min_payload_len` of `channel_message_table` for a message Linux handles.
///
/// `None` means the C driver has no handler for the type and drops the message (it is a
/// guest-to-host message, reserved, or unknown). The values are `sizeof()` of the C struct,
/// and 0 for ALLOFFERS_DELIVERED and UNLOAD_RESPONSE.
pub const fn linux_min_payload_len(msgtype: MessageType) -> Option<usize> {
    match msgtype {
        MessageType::OFFERCHANNEL => Some(size_of::<OfferChannel>()),
        MessageType::RESCIND_CHANNELOFFER => Some(size_of::<RescindOffer>()),
        MessageType::ALLOFFERS_DELIVERED => Some(0),
        MessageType::OPENCHANNEL_RESULT => Some(size_of::<OpenResult>()),
        MessageType::GPADL_CREATED => Some(size_of::<GpadlCreated>()),
        MessageType::GPADL_TORNDOWN => Some(size_of::<GpadlTorndown>()),
        MessageType::VERSION_RESPONSE => Some(size_of::<VersionResponse>()),
        MessageType::UNLOAD_RESPONSE => Some(0),
        MessageType::MODIFYCHANNEL_RESPONSE => Some(size_of::<ModifyChannelResponse>()),
        _ => None,
    }
}

/// Returns the size of the fixed part of a message of type `msgtype`, header included.
///
/// This is the minimum [`Message::parse`] requires. `None` for [`MessageType::INVALID`] and
/// types above [`MessageType::RESUME`].
pub const fn min_message_len(msgtype: MessageType) -> Option<usize> {
    Some(match msgtype {
        MessageType::OFFERCHANNEL => size_of::<OfferChannel>(),
        MessageType::RESCIND_CHANNELOFFER => size_of::<RescindOffer>(),
        MessageType::OPENCHANNEL => size_of::<OpenChannel>(),
        MessageType::OPENCHANNEL_RESULT => size_of::<OpenResult>(),
        MessageType::CLOSECHANNEL => size_of::<CloseChannel>(),
        MessageType::GPADL_HEADER => size_of::<GpadlHeader>(),
        MessageType::GPADL_BODY => size_of::<GpadlBody>(),
        MessageType::GPADL_CREATED => size_of::<GpadlCreated>(),
        MessageType::GPADL_TEARDOWN => size_of::<GpadlTeardown>(),
        MessageType::GPADL_TORNDOWN => size_of::<GpadlTorndown>(),
        MessageType::RELID_RELEASED => size_of::<RelidReleased>(),
        MessageType::INITIATE_CONTACT => size_of::<InitiateContact>(),
        MessageType::VERSION_RESPONSE => size_of::<VersionResponse>(),
        MessageType::TL_CONNECT_REQUEST => size_of::<TlConnectRequest>(),
        MessageType::MODIFYCHANNEL => size_of::<ModifyChannel>(),
        MessageType::TL_CONNECT_RESULT => size_of::<TlConnectResult>(),
        MessageType::MODIFYCHANNEL_RESPONSE => size_of::<ModifyChannelResponse>(),
        MessageType::REQUESTOFFERS
        | MessageType::ALLOFFERS_DELIVERED
        | MessageType::UNLOAD
        | MessageType::UNLOAD_RESPONSE
        | MessageType::OPEN_RESERVED_CHANNEL
        | MessageType::CLOSE_RESERVED_CHANNEL
        | MessageType::CLOSE_RESERVED_RESPONSE
        | MessageType::MODIFY_CONNECTION
        | MessageType::MODIFY_CONNECTION_RESPONSE
        | MessageType::PAUSE
        | MessageType::PAUSE_RESPONSE
        | MessageType::RESUME => size_of::<MessageHeader>(),
        _ => return None,
    })
}

/// Why a channel message was rejected.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Fewer bytes than a message header (8).
    NoHeader {
        /// Bytes available.
        len: usize,
    },
    /// The message type is 0 or unknown.
    UnknownType(MessageType),
    /// The message is shorter than its type requires.
    TooShort {
        /// The message type.
        msgtype: MessageType,
        /// Bytes available.
        len: usize,
        /// Bytes required.
        min: usize,
    },
    /// A SynIC slot with `payload_size` above 240.
    PayloadTooLarge(u8),
    /// A SynIC slot that is free (`HVMSG_NONE`).
    EmptySlot,
    /// A SynIC slot holding a hypervisor message, not a VMBus one (e.g. a timer message).
    NotVmbus(HvMessageType),
}

impl core::fmt::Display for ParseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ParseError::NoHeader { len } => {
                write!(f, "channel message of {len} bytes has no header")
            }
            ParseError::UnknownType(t) => write!(f, "unknown channel message type {:#x}", t.0),
            ParseError::TooShort { msgtype, len, min } => {
                write!(f, "{msgtype:?} message too short: {len} < {min}")
            }
            ParseError::PayloadTooLarge(n) => write!(f, "SynIC payload size {n} > 240"),
            ParseError::EmptySlot => f.write_str("empty SynIC slot"),
            ParseError::NotVmbus(t) => write!(f, "not a VMBus message: {t:?}"),
        }
    }
}

/// A parsed channel message.
///
/// The fixed part is a copy; only the variable-length tails of the GPADL messages and the
/// bodies of message types this crate does not model borrow from the parsed buffer, which must
/// be a private copy of the host's message (the C driver copies the SynIC slot first, too).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// CHANNELMSG_OFFERCHANNEL.
    OfferChannel(OfferChannel),
    /// CHANNELMSG_RESCIND_CHANNELOFFER.
    RescindChannelOffer(RescindOffer),
    /// CHANNELMSG_REQUESTOFFERS.
    RequestOffers,
    /// CHANNELMSG_ALLOFFERS_DELIVERED.
    AllOffersDelivered,
    /// CHANNELMSG_OPENCHANNEL, 148 to 155 bytes.
    OpenChannel(OpenChannel),
    /// CHANNELMSG_OPENCHANNEL of at least 156 bytes (Copper).
    OpenChannel2(OpenChannel2),
    /// CHANNELMSG_OPENCHANNEL_RESULT.
    OpenResult(OpenResult),
    /// CHANNELMSG_CLOSECHANNEL.
    CloseChannel(CloseChannel),
    /// CHANNELMSG_GPADL_HEADER and the bytes after its fixed part (ranges and PFNs).
    GpadlHeader(GpadlHeader, &'a [u8]),
    /// CHANNELMSG_GPADL_BODY and the bytes after its fixed part (PFNs).
    GpadlBody(GpadlBody, &'a [u8]),
    /// CHANNELMSG_GPADL_CREATED.
    GpadlCreated(GpadlCreated),
    /// CHANNELMSG_GPADL_TEARDOWN.
    GpadlTeardown(GpadlTeardown),
    /// CHANNELMSG_GPADL_TORNDOWN.
    GpadlTorndown(GpadlTorndown),
    /// CHANNELMSG_RELID_RELEASED.
    RelidReleased(RelidReleased),
    /// CHANNELMSG_INITIATE_CONTACT, 40 to 55 bytes.
    InitiateContact(InitiateContact),
    /// CHANNELMSG_INITIATE_CONTACT of at least 56 bytes (Copper client id).
    InitiateContact2(InitiateContact2),
    /// CHANNELMSG_VERSION_RESPONSE, 16 to 19 bytes.
    VersionResponse(VersionResponse),
    /// CHANNELMSG_VERSION_RESPONSE of at least 20 bytes (Copper features).
    VersionResponse2(VersionResponse2),
    /// CHANNELMSG_UNLOAD.
    Unload,
    /// CHANNELMSG_UNLOAD_RESPONSE.
    UnloadResponse,
    /// CHANNELMSG_TL_CONNECT_REQUEST, 40 to 55 bytes.
    TlConnectRequest(TlConnectRequest),
    /// CHANNELMSG_TL_CONNECT_REQUEST of at least 56 bytes (silo id).
    TlConnectRequest2(TlConnectRequest2),
    /// CHANNELMSG_TL_CONNECT_RESULT.
    TlConnectResult(TlConnectResult),
    /// CHANNELMSG_MODIFYCHANNEL.
    ModifyChannel(ModifyChannel),
    /// CHANNELMSG_MODIFYCHANNEL_RESPONSE.
    ModifyChannelResponse(ModifyChannelResponse),
    /// A known type this crate does not model (reserved channels 18-20, Copper 25-29), with
    /// the bytes after the header.
    Other(MessageType, &'a [u8]),
}

/// Copies a `T` out of the front of `bytes` (length already checked by the caller).
fn read<T: FromBytes>(msgtype: MessageType, bytes: &[u8]) -> Result<(T, &[u8]), ParseError> {
    T::read_from_prefix(bytes).map_err(|_| ParseError::TooShort {
        msgtype,
        len: bytes.len(),
        min: size_of::<T>(),
    })
}

impl<'a> Message<'a> {
    /// Parses a channel message from `bytes`, which must hold exactly the valid payload.
    ///
    /// Checks that a header is present, that the type is known and that the message is at least
    /// as long as its fixed part ([`min_message_len`]); for messages with an optional extension
    /// the longer form is chosen when the bytes are there.
    ///
    /// # Errors
    ///
    /// [`ParseError::NoHeader`], [`ParseError::UnknownType`] or [`ParseError::TooShort`].
    pub fn parse(bytes: &'a [u8]) -> Result<Message<'a>, ParseError> {
        let (header, _) = MessageHeader::read_from_prefix(bytes)
            .map_err(|_| ParseError::NoHeader { len: bytes.len() })?;
        let msgtype = header.msgtype;
        let min = min_message_len(msgtype).ok_or(ParseError::UnknownType(msgtype))?;
        if bytes.len() < min {
            return Err(ParseError::TooShort {
                msgtype,
                len: bytes.len(),
                min,
            });
        }
        Self::parse_checked(msgtype, bytes)
    }

    /// Parses the VMBus message in a private copy of a SynIC slot, as the C driver's
    /// `__vmbus_on_msg_dpc()` does.
    ///
    /// The type is read from the payload whatever `payload_size` says; `payload_size` must be at
    /// most 240 and at least the C table's `min_payload_len` (so ALLOFFERS_DELIVERED and
    /// UNLOAD_RESPONSE are accepted with any size). Message types the C driver has no handler
    /// for are rejected with [`ParseError::UnknownType`], as it drops them. The caller handles
    /// [`HvMessageType::TIMER_EXPIRED`] first; unlike the C driver, which treats every other
    /// non-empty slot as a channel message, hypervisor message types (bit 31 set) are rejected
    /// with [`ParseError::NotVmbus`].
    ///
    /// # Errors
    ///
    /// [`ParseError::EmptySlot`], [`ParseError::NotVmbus`], [`ParseError::PayloadTooLarge`],
    /// [`ParseError::UnknownType`] or [`ParseError::TooShort`].
    pub fn parse_synic(slot: &'a HvMessage) -> Result<Message<'a>, ParseError> {
        let message_type = slot.header.message_type;
        if message_type == HvMessageType::NONE {
            return Err(ParseError::EmptySlot);
        }
        if message_type.0 & 0x8000_0000 != 0 {
            return Err(ParseError::NotVmbus(message_type));
        }
        let payload_size = slot.header.payload_size;
        if usize::from(payload_size) > HV_MESSAGE_PAYLOAD_BYTE_COUNT {
            return Err(ParseError::PayloadTooLarge(payload_size));
        }
        let (header, _) = MessageHeader::read_from_prefix(&slot.payload[..])
            .map_err(|_| ParseError::NoHeader { len: 0 })?;
        let msgtype = header.msgtype;
        let min = linux_min_payload_len(msgtype).ok_or(ParseError::UnknownType(msgtype))?;
        if usize::from(payload_size) < min {
            return Err(ParseError::TooShort {
                msgtype,
                len: payload_size.into(),
                min,
            });
        }
        // Header-only messages may have a `payload_size` below 8; the slot always has the bytes.
        let len = usize::from(payload_size).max(size_of::<MessageHeader>());
        let bytes = slot
            .payload
            .get(..len)
            .ok_or(ParseError::PayloadTooLarge(payload_size))?;
        Self::parse_checked(msgtype, bytes)
    }

    /// Parses `bytes` as `msgtype` once the minimum length is known to be met.
    fn parse_checked(msgtype: MessageType, bytes: &'a [u8]) -> Result<Message<'a>, ParseError> {
        let len = bytes.len();
        let rest = bytes.get(size_of::<MessageHeader>()..).unwrap_or(&[]);
        Ok(match msgtype {
            MessageType::OFFERCHANNEL => Message::OfferChannel(read(msgtype, bytes)?.0),
            MessageType::RESCIND_CHANNELOFFER => {
                Message::RescindChannelOffer(read(msgtype, bytes)?.0)
            }
            MessageType::REQUESTOFFERS => Message::RequestOffers,
            MessageType::ALLOFFERS_DELIVERED => Message::AllOffersDelivered,
            MessageType::OPENCHANNEL if len >= size_of::<OpenChannel2>() => {
                Message::OpenChannel2(read(msgtype, bytes)?.0)
            }
            MessageType::OPENCHANNEL => Message::OpenChannel(read(msgtype, bytes)?.0),
            MessageType::OPENCHANNEL_RESULT => Message::OpenResult(read(msgtype, bytes)?.0),
            MessageType::CLOSECHANNEL => Message::CloseChannel(read(msgtype, bytes)?.0),
            MessageType::GPADL_HEADER => {
                let (h, tail) = read(msgtype, bytes)?;
                Message::GpadlHeader(h, tail)
            }
            MessageType::GPADL_BODY => {
                let (b, tail) = read(msgtype, bytes)?;
                Message::GpadlBody(b, tail)
            }
            MessageType::GPADL_CREATED => Message::GpadlCreated(read(msgtype, bytes)?.0),
            MessageType::GPADL_TEARDOWN => Message::GpadlTeardown(read(msgtype, bytes)?.0),
            MessageType::GPADL_TORNDOWN => Message::GpadlTorndown(read(msgtype, bytes)?.0),
            MessageType::RELID_RELEASED => Message::RelidReleased(read(msgtype, bytes)?.0),
            MessageType::INITIATE_CONTACT if len >= size_of::<InitiateContact2>() => {
                Message::InitiateContact2(read(msgtype, bytes)?.0)
            }
            MessageType::INITIATE_CONTACT => Message::InitiateContact(read(msgtype, bytes)?.0),
            MessageType::VERSION_RESPONSE if len >= size_of::<VersionResponse2>() => {
                Message::VersionResponse2(read(msgtype, bytes)?.0)
            }
            MessageType::VERSION_RESPONSE => Message::VersionResponse(read(msgtype, bytes)?.0),
            MessageType::UNLOAD => Message::Unload,
            MessageType::UNLOAD_RESPONSE => Message::UnloadResponse,
            MessageType::TL_CONNECT_REQUEST if len >= size_of::<TlConnectRequest2>() => {
                Message::TlConnectRequest2(read(msgtype, bytes)?.0)
            }
            MessageType::TL_CONNECT_REQUEST => Message::TlConnectRequest(read(msgtype, bytes)?.0),
            MessageType::TL_CONNECT_RESULT => Message::TlConnectResult(read(msgtype, bytes)?.0),
            MessageType::MODIFYCHANNEL => Message::ModifyChannel(read(msgtype, bytes)?.0),
            MessageType::MODIFYCHANNEL_RESPONSE => {
                Message::ModifyChannelResponse(read(msgtype, bytes)?.0)
            }
            MessageType::OPEN_RESERVED_CHANNEL
            | MessageType::CLOSE_RESERVED_CHANNEL
            | MessageType::CLOSE_RESERVED_RESPONSE
            | MessageType::MODIFY_CONNECTION
            | MessageType::MODIFY_CONNECTION_RESPONSE
            | MessageType::PAUSE
            | MessageType::PAUSE_RESPONSE
            | MessageType::RESUME => Message::Other(msgtype, rest),
            _ => return Err(ParseError::UnknownType(msgtype)),
        })
    }

    /// Returns the message type.
    pub fn message_type(&self) -> MessageType {
        match self {
            Message::OfferChannel(_) => MessageType::OFFERCHANNEL,
            Message::RescindChannelOffer(_) => MessageType::RESCIND_CHANNELOFFER,
            Message::RequestOffers => MessageType::REQUESTOFFERS,
            Message::AllOffersDelivered => MessageType::ALLOFFERS_DELIVERED,
            Message::OpenChannel(_) | Message::OpenChannel2(_) => MessageType::OPENCHANNEL,
            Message::OpenResult(_) => MessageType::OPENCHANNEL_RESULT,
            Message::CloseChannel(_) => MessageType::CLOSECHANNEL,
            Message::GpadlHeader(..) => MessageType::GPADL_HEADER,
            Message::GpadlBody(..) => MessageType::GPADL_BODY,
            Message::GpadlCreated(_) => MessageType::GPADL_CREATED,
            Message::GpadlTeardown(_) => MessageType::GPADL_TEARDOWN,
            Message::GpadlTorndown(_) => MessageType::GPADL_TORNDOWN,
            Message::RelidReleased(_) => MessageType::RELID_RELEASED,
            Message::InitiateContact(_) | Message::InitiateContact2(_) => {
                MessageType::INITIATE_CONTACT
            }
            Message::VersionResponse(_) | Message::VersionResponse2(_) => {
                MessageType::VERSION_RESPONSE
            }
            Message::Unload => MessageType::UNLOAD,
            Message::UnloadResponse => MessageType::UNLOAD_RESPONSE,
            Message::TlConnectRequest(_) | Message::TlConnectRequest2(_) => {
                MessageType::TL_CONNECT_REQUEST
            }
            Message::TlConnectResult(_) => MessageType::TL_CONNECT_RESULT,
            Message::ModifyChannel(_) => MessageType::MODIFYCHANNEL,
            Message::ModifyChannelResponse(_) => MessageType::MODIFYCHANNEL_RESPONSE,
            Message::Other(t, _) => *t,
        }
    }
}

#[cfg(test)]
mod tests;
