// SPDX-License-Identifier: GPL-2.0

//! RNDIS messages and NDIS objects of the synthetic NIC.
//!
//! C headers: [`include/linux/rndis.h`](srctree/include/linux/rndis.h) (message types, status
//! codes, OIDs) and [`drivers/net/hyperv/hyperv_net.h`](srctree/drivers/net/hyperv/hyperv_net.h)
//! (`rndis_message` and its members, per-packet info, NDIS offload and RSS objects); behaviour:
//! [`drivers/net/hyperv/rndis_filter.c`](srctree/drivers/net/hyperv/rndis_filter.c) and
//! `netvsc_drv.c` (`init_ppi_data`, `netvsc_linkstatus_callback`).
//!
//! An RNDIS message is a [`RndisMessageHeader`] (type and total length) followed by a body
//! whose layout depends on the type. Offsets inside bodies (`data_offset`,
//! `per_pkt_info_offset`, `info_buf_offset`, `status_buf_offset`) count from the start of the
//! body, not of the message. Data packets carry per-packet info (PPI) records: a
//! [`RndisPerPacketInfo`] header and its value.

use core::mem::size_of;
use zerocopy::{
    FromBytes,
    IntoBytes, //
};
use zerocopy_derive::{
    FromBytes,
    Immutable,
    IntoBytes,
    KnownLayout,
    Unaligned, //
};

/// Errors from parsing or building RNDIS messages.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// A buffer is shorter than the structure that must be read or written.
    Truncated {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// `msg_len` is below the header size or beyond the received bytes.
    InvalidLength {
        /// The message's `msg_len`.
        msg_len: u32,
        /// Bytes received.
        have: usize,
    },
    /// A data packet's `data_offset`/`data_len` lie outside the received bytes.
    InvalidDataRange,
    /// A malformed per-packet-info record (C loops forever on these).
    MalformedPpi,
    /// A completion longer than the C response buffer (`sizeof(rndis_message) + RNDIS_EXT_LEN`;
    /// C completes the request with [`RndisStatus::BUFFER_OVERFLOW`]).
    ResponseOverflow(u32),
    /// A query answer that failed or whose information buffer lies outside the message or
    /// exceeds the caller's limit.
    InvalidInfoBuffer,
}

/// `RNDIS_MAJOR_VERSION`.
pub const RNDIS_MAJOR_VERSION: u32 = 1;
/// `RNDIS_MINOR_VERSION`.
pub const RNDIS_MINOR_VERSION: u32 = 0;
/// `max_xfer_size` Linux sends in [`RndisInitializeRequest`].
pub const RNDIS_INIT_MAX_XFER_SIZE: u32 = 0x4000;
/// `RNDIS_EXT_LEN`: room C keeps after a response message (one 4 KiB page).
pub const RNDIS_EXT_LEN: usize = 4096;
/// `RNDIS_HEADER_SIZE`: bytes of [`RndisMessageHeader`].
pub const RNDIS_HEADER_SIZE: usize = 8;
/// `sizeof(struct rndis_message)`: header plus the largest body ([`RndisInitializeComplete`]).
pub const RNDIS_MESSAGE_SIZE: usize = 52;
/// `RNDIS_MAX_PKT_DEFAULT`.
pub const RNDIS_MAX_PKT_DEFAULT: u32 = 8;
/// `RNDIS_PKT_ALIGN_DEFAULT`.
pub const RNDIS_PKT_ALIGN_DEFAULT: u32 = 8;

open_enum! {
    /// An RNDIS message type (`RNDIS_MSG_*`); completions have bit 31 set.
    pub struct RndisMsgType(u32) {
        /// `RNDIS_MSG_PACKET`: [`RndisPacket`].
        PACKET = 0x0000_0001,
        /// `RNDIS_MSG_INIT`: [`RndisInitializeRequest`].
        INIT = 0x0000_0002,
        /// `RNDIS_MSG_INIT_C`: [`RndisInitializeComplete`].
        INIT_C = 0x8000_0002,
        /// `RNDIS_MSG_HALT`: [`RndisHaltRequest`].
        HALT = 0x0000_0003,
        /// `RNDIS_MSG_QUERY`: [`RndisQueryRequest`].
        QUERY = 0x0000_0004,
        /// `RNDIS_MSG_QUERY_C`: [`RndisQueryComplete`].
        QUERY_C = 0x8000_0004,
        /// `RNDIS_MSG_SET`: [`RndisSetRequest`].
        SET = 0x0000_0005,
        /// `RNDIS_MSG_SET_C`: [`RndisSetComplete`].
        SET_C = 0x8000_0005,
        /// `RNDIS_MSG_RESET`: [`RndisResetRequest`].
        RESET = 0x0000_0006,
        /// `RNDIS_MSG_RESET_C`: [`RndisResetComplete`].
        RESET_C = 0x8000_0006,
        /// `RNDIS_MSG_INDICATE`: [`RndisIndicateStatus`].
        INDICATE = 0x0000_0007,
        /// `RNDIS_MSG_KEEPALIVE`: [`RndisKeepaliveRequest`].
        KEEPALIVE = 0x0000_0008,
        /// `RNDIS_MSG_KEEPALIVE_C`: [`RndisKeepaliveComplete`].
        KEEPALIVE_C = 0x8000_0008,
        /// `RNDIS_MSG_BUS`: reserved for the host driver.
        BUS = 0xff00_0001,
    }
}

/// `RNDIS_MSG_COMPLETION`: bit of completion message types.
pub const RNDIS_MSG_COMPLETION: u32 = 0x8000_0000;

open_enum! {
    /// An RNDIS/NDIS status (`RNDIS_STATUS_*`).
    pub struct RndisStatus(u32) {
        /// `RNDIS_STATUS_SUCCESS`.
        SUCCESS = 0x0000_0000,
        /// `RNDIS_STATUS_PENDING`.
        PENDING = 0x0000_0103,
        /// `RNDIS_STATUS_NOT_RECOGNIZED`.
        NOT_RECOGNIZED = 0x0001_0001,
        /// `RNDIS_STATUS_NOT_COPIED`.
        NOT_COPIED = 0x0001_0002,
        /// `RNDIS_STATUS_NOT_ACCEPTED`.
        NOT_ACCEPTED = 0x0001_0003,
        /// `RNDIS_STATUS_CALL_ACTIVE`.
        CALL_ACTIVE = 0x0001_0007,
        /// `RNDIS_STATUS_ONLINE`.
        ONLINE = 0x4001_0003,
        /// `RNDIS_STATUS_RESET_START`.
        RESET_START = 0x4001_0004,
        /// `RNDIS_STATUS_RESET_END`.
        RESET_END = 0x4001_0005,
        /// `RNDIS_STATUS_RING_STATUS`.
        RING_STATUS = 0x4001_0006,
        /// `RNDIS_STATUS_CLOSED`.
        CLOSED = 0x4001_0007,
        /// `RNDIS_STATUS_WAN_LINE_UP`.
        WAN_LINE_UP = 0x4001_0008,
        /// `RNDIS_STATUS_WAN_LINE_DOWN`.
        WAN_LINE_DOWN = 0x4001_0009,
        /// `RNDIS_STATUS_WAN_FRAGMENT`.
        WAN_FRAGMENT = 0x4001_000A,
        /// `RNDIS_STATUS_MEDIA_CONNECT`: link up.
        MEDIA_CONNECT = 0x4001_000B,
        /// `RNDIS_STATUS_MEDIA_DISCONNECT`: link down.
        MEDIA_DISCONNECT = 0x4001_000C,
        /// `RNDIS_STATUS_HARDWARE_LINE_UP`.
        HARDWARE_LINE_UP = 0x4001_000D,
        /// `RNDIS_STATUS_HARDWARE_LINE_DOWN`.
        HARDWARE_LINE_DOWN = 0x4001_000E,
        /// `RNDIS_STATUS_INTERFACE_UP`.
        INTERFACE_UP = 0x4001_000F,
        /// `RNDIS_STATUS_INTERFACE_DOWN`.
        INTERFACE_DOWN = 0x4001_0010,
        /// `RNDIS_STATUS_MEDIA_BUSY`.
        MEDIA_BUSY = 0x4001_0011,
        /// `RNDIS_STATUS_MEDIA_SPECIFIC_INDICATION`.
        MEDIA_SPECIFIC_INDICATION = 0x4001_0012,
        /// `RNDIS_STATUS_LINK_SPEED_CHANGE`: the status buffer holds the speed in 100 bps.
        LINK_SPEED_CHANGE = 0x4001_0013,
        /// `RNDIS_STATUS_NETWORK_CHANGE`: treated as link down then up.
        NETWORK_CHANGE = 0x4001_0018,
        /// `RNDIS_STATUS_NOT_RESETTABLE`.
        NOT_RESETTABLE = 0x8001_0001,
        /// `RNDIS_STATUS_SOFT_ERRORS`.
        SOFT_ERRORS = 0x8001_0003,
        /// `RNDIS_STATUS_HARD_ERRORS`.
        HARD_ERRORS = 0x8001_0004,
        /// `RNDIS_STATUS_BUFFER_OVERFLOW`.
        BUFFER_OVERFLOW = 0x8000_0005,
        /// `RNDIS_STATUS_FAILURE`.
        FAILURE = 0xC000_0001,
        /// `RNDIS_STATUS_RESOURCES`.
        RESOURCES = 0xC000_009A,
        /// `RNDIS_STATUS_NOT_SUPPORTED`.
        NOT_SUPPORTED = 0xC000_00BB,
        /// `RNDIS_STATUS_CLOSING`.
        CLOSING = 0xC001_0002,
        /// `RNDIS_STATUS_BAD_VERSION`.
        BAD_VERSION = 0xC001_0004,
        /// `RNDIS_STATUS_BAD_CHARACTERISTICS`.
        BAD_CHARACTERISTICS = 0xC001_0005,
        /// `RNDIS_STATUS_ADAPTER_NOT_FOUND`.
        ADAPTER_NOT_FOUND = 0xC001_0006,
        /// `RNDIS_STATUS_OPEN_FAILED`.
        OPEN_FAILED = 0xC001_0007,
        /// `RNDIS_STATUS_DEVICE_FAILED`.
        DEVICE_FAILED = 0xC001_0008,
        /// `RNDIS_STATUS_MULTICAST_FULL`.
        MULTICAST_FULL = 0xC001_0009,
        /// `RNDIS_STATUS_MULTICAST_EXISTS`.
        MULTICAST_EXISTS = 0xC001_000A,
        /// `RNDIS_STATUS_MULTICAST_NOT_FOUND`.
        MULTICAST_NOT_FOUND = 0xC001_000B,
        /// `RNDIS_STATUS_REQUEST_ABORTED`.
        REQUEST_ABORTED = 0xC001_000C,
        /// `RNDIS_STATUS_RESET_IN_PROGRESS`.
        RESET_IN_PROGRESS = 0xC001_000D,
        /// `RNDIS_STATUS_CLOSING_INDICATING`.
        CLOSING_INDICATING = 0xC001_000E,
        /// `RNDIS_STATUS_INVALID_PACKET`.
        INVALID_PACKET = 0xC001_000F,
        /// `RNDIS_STATUS_OPEN_LIST_FULL`.
        OPEN_LIST_FULL = 0xC001_0010,
        /// `RNDIS_STATUS_ADAPTER_NOT_READY`.
        ADAPTER_NOT_READY = 0xC001_0011,
        /// `RNDIS_STATUS_ADAPTER_NOT_OPEN`.
        ADAPTER_NOT_OPEN = 0xC001_0012,
        /// `RNDIS_STATUS_NOT_INDICATING`.
        NOT_INDICATING = 0xC001_0013,
        /// `RNDIS_STATUS_INVALID_LENGTH`.
        INVALID_LENGTH = 0xC001_0014,
        /// `RNDIS_STATUS_INVALID_DATA`.
        INVALID_DATA = 0xC001_0015,
        /// `RNDIS_STATUS_BUFFER_TOO_SHORT`.
        BUFFER_TOO_SHORT = 0xC001_0016,
        /// `RNDIS_STATUS_INVALID_OID`.
        INVALID_OID = 0xC001_0017,
        /// `RNDIS_STATUS_ADAPTER_REMOVED`.
        ADAPTER_REMOVED = 0xC001_0018,
        /// `RNDIS_STATUS_UNSUPPORTED_MEDIA`.
        UNSUPPORTED_MEDIA = 0xC001_0019,
        /// `RNDIS_STATUS_GROUP_ADDRESS_IN_USE`.
        GROUP_ADDRESS_IN_USE = 0xC001_001A,
        /// `RNDIS_STATUS_FILE_NOT_FOUND`.
        FILE_NOT_FOUND = 0xC001_001B,
        /// `RNDIS_STATUS_ERROR_READING_FILE`.
        ERROR_READING_FILE = 0xC001_001C,
        /// `RNDIS_STATUS_ALREADY_MAPPED`.
        ALREADY_MAPPED = 0xC001_001D,
        /// `RNDIS_STATUS_RESOURCE_CONFLICT`.
        RESOURCE_CONFLICT = 0xC001_001E,
        /// `RNDIS_STATUS_NO_CABLE`.
        NO_CABLE = 0xC001_001F,
        /// `RNDIS_STATUS_INVALID_SAP`.
        INVALID_SAP = 0xC001_0020,
        /// `RNDIS_STATUS_SAP_IN_USE`.
        SAP_IN_USE = 0xC001_0021,
        /// `RNDIS_STATUS_INVALID_ADDRESS`.
        INVALID_ADDRESS = 0xC001_0022,
        /// `RNDIS_STATUS_VC_NOT_ACTIVATED`.
        VC_NOT_ACTIVATED = 0xC001_0023,
        /// `RNDIS_STATUS_DEST_OUT_OF_ORDER`.
        DEST_OUT_OF_ORDER = 0xC001_0024,
        /// `RNDIS_STATUS_VC_NOT_AVAILABLE`.
        VC_NOT_AVAILABLE = 0xC001_0025,
        /// `RNDIS_STATUS_CELLRATE_NOT_AVAILABLE`.
        CELLRATE_NOT_AVAILABLE = 0xC001_0026,
        /// `RNDIS_STATUS_INCOMPATABLE_QOS`.
        INCOMPATABLE_QOS = 0xC001_0027,
        /// `RNDIS_STATUS_AAL_PARAMS_UNSUPPORTED`.
        AAL_PARAMS_UNSUPPORTED = 0xC001_0028,
        /// `RNDIS_STATUS_NO_ROUTE_TO_DESTINATION`.
        NO_ROUTE_TO_DESTINATION = 0xC001_0029,
        /// `RNDIS_STATUS_TOKEN_RING_OPEN_ERROR`.
        TOKEN_RING_OPEN_ERROR = 0xC001_1000,
    }
}

open_enum! {
    /// An NDIS object identifier: the general and 802.3 OIDs of `include/linux/rndis.h` and
    /// the NDIS 6 offload and RSS OIDs of `hyperv_net.h` (the connection-oriented OIDs, which
    /// reuse the same numbers, are left out).
    pub struct Oid(u32) {
        /// `RNDIS_OID_GEN_SUPPORTED_LIST`.
        GEN_SUPPORTED_LIST = 0x0001_0101,
        /// `RNDIS_OID_GEN_HARDWARE_STATUS`.
        GEN_HARDWARE_STATUS = 0x0001_0102,
        /// `RNDIS_OID_GEN_MEDIA_SUPPORTED`.
        GEN_MEDIA_SUPPORTED = 0x0001_0103,
        /// `RNDIS_OID_GEN_MEDIA_IN_USE`.
        GEN_MEDIA_IN_USE = 0x0001_0104,
        /// `RNDIS_OID_GEN_MAXIMUM_LOOKAHEAD`.
        GEN_MAXIMUM_LOOKAHEAD = 0x0001_0105,
        /// `RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE`: queried at init (MTU).
        GEN_MAXIMUM_FRAME_SIZE = 0x0001_0106,
        /// `RNDIS_OID_GEN_LINK_SPEED`: queried from NVSP 5 (100 bps units).
        GEN_LINK_SPEED = 0x0001_0107,
        /// `RNDIS_OID_GEN_TRANSMIT_BUFFER_SPACE`.
        GEN_TRANSMIT_BUFFER_SPACE = 0x0001_0108,
        /// `RNDIS_OID_GEN_RECEIVE_BUFFER_SPACE`.
        GEN_RECEIVE_BUFFER_SPACE = 0x0001_0109,
        /// `RNDIS_OID_GEN_TRANSMIT_BLOCK_SIZE`.
        GEN_TRANSMIT_BLOCK_SIZE = 0x0001_010A,
        /// `RNDIS_OID_GEN_RECEIVE_BLOCK_SIZE`.
        GEN_RECEIVE_BLOCK_SIZE = 0x0001_010B,
        /// `RNDIS_OID_GEN_VENDOR_ID`.
        GEN_VENDOR_ID = 0x0001_010C,
        /// `RNDIS_OID_GEN_VENDOR_DESCRIPTION`.
        GEN_VENDOR_DESCRIPTION = 0x0001_010D,
        /// `RNDIS_OID_GEN_CURRENT_PACKET_FILTER`: set with the `NDIS_PACKET_TYPE_*` bits.
        GEN_CURRENT_PACKET_FILTER = 0x0001_010E,
        /// `RNDIS_OID_GEN_CURRENT_LOOKAHEAD`.
        GEN_CURRENT_LOOKAHEAD = 0x0001_010F,
        /// `RNDIS_OID_GEN_DRIVER_VERSION`.
        GEN_DRIVER_VERSION = 0x0001_0110,
        /// `RNDIS_OID_GEN_MAXIMUM_TOTAL_SIZE`.
        GEN_MAXIMUM_TOTAL_SIZE = 0x0001_0111,
        /// `RNDIS_OID_GEN_PROTOCOL_OPTIONS`.
        GEN_PROTOCOL_OPTIONS = 0x0001_0112,
        /// `RNDIS_OID_GEN_MAC_OPTIONS`.
        GEN_MAC_OPTIONS = 0x0001_0113,
        /// `RNDIS_OID_GEN_MEDIA_CONNECT_STATUS`: 0 connected, 1 disconnected.
        GEN_MEDIA_CONNECT_STATUS = 0x0001_0114,
        /// `RNDIS_OID_GEN_MAXIMUM_SEND_PACKETS`.
        GEN_MAXIMUM_SEND_PACKETS = 0x0001_0115,
        /// `RNDIS_OID_GEN_VENDOR_DRIVER_VERSION`.
        GEN_VENDOR_DRIVER_VERSION = 0x0001_0116,
        /// `RNDIS_OID_GEN_SUPPORTED_GUIDS`.
        GEN_SUPPORTED_GUIDS = 0x0001_0117,
        /// `RNDIS_OID_GEN_NETWORK_LAYER_ADDRESSES`.
        GEN_NETWORK_LAYER_ADDRESSES = 0x0001_0118,
        /// `RNDIS_OID_GEN_TRANSPORT_HEADER_OFFSET`.
        GEN_TRANSPORT_HEADER_OFFSET = 0x0001_0119,
        /// `RNDIS_OID_GEN_MEDIA_CAPABILITIES`.
        GEN_MEDIA_CAPABILITIES = 0x0001_0201,
        /// `RNDIS_OID_GEN_PHYSICAL_MEDIUM`.
        GEN_PHYSICAL_MEDIUM = 0x0001_0202,
        /// `OID_GEN_RECEIVE_SCALE_CAPABILITIES`: [`NdisRecvScaleCap`].
        GEN_RECEIVE_SCALE_CAPABILITIES = 0x0001_0203,
        /// `OID_GEN_RECEIVE_SCALE_PARAMETERS`: [`NdisRecvScaleParam`].
        GEN_RECEIVE_SCALE_PARAMETERS = 0x0001_0204,
        /// `RNDIS_OID_GEN_MACHINE_NAME`.
        GEN_MACHINE_NAME = 0x0001_021A,
        /// `RNDIS_OID_GEN_RNDIS_CONFIG_PARAMETER`: [`RndisConfigParameterInfo`] (MAC change).
        GEN_RNDIS_CONFIG_PARAMETER = 0x0001_021B,
        /// `RNDIS_OID_GEN_VLAN_ID`.
        GEN_VLAN_ID = 0x0001_021C,
        /// `RNDIS_OID_GEN_XMIT_OK`.
        GEN_XMIT_OK = 0x0002_0101,
        /// `RNDIS_OID_GEN_RCV_OK`.
        GEN_RCV_OK = 0x0002_0102,
        /// `RNDIS_OID_GEN_XMIT_ERROR`.
        GEN_XMIT_ERROR = 0x0002_0103,
        /// `RNDIS_OID_GEN_RCV_ERROR`.
        GEN_RCV_ERROR = 0x0002_0104,
        /// `RNDIS_OID_GEN_RCV_NO_BUFFER`.
        GEN_RCV_NO_BUFFER = 0x0002_0105,
        /// `RNDIS_OID_GEN_FRIENDLY_NAME`: UTF-16 interface alias.
        GEN_FRIENDLY_NAME = 0x0002_0216,
        /// `RNDIS_OID_GEN_MINIPORT_INFO`.
        GEN_MINIPORT_INFO = 0x0002_0217,
        /// `RNDIS_OID_802_3_PERMANENT_ADDRESS`: the MAC address.
        OID_802_3_PERMANENT_ADDRESS = 0x0101_0101,
        /// `RNDIS_OID_802_3_CURRENT_ADDRESS`.
        OID_802_3_CURRENT_ADDRESS = 0x0101_0102,
        /// `RNDIS_OID_802_3_MULTICAST_LIST`.
        OID_802_3_MULTICAST_LIST = 0x0101_0103,
        /// `RNDIS_OID_802_3_MAXIMUM_LIST_SIZE`.
        OID_802_3_MAXIMUM_LIST_SIZE = 0x0101_0104,
        /// `RNDIS_OID_802_3_MAC_OPTIONS`.
        OID_802_3_MAC_OPTIONS = 0x0101_0105,
        /// `OID_OFFLOAD_ENCAPSULATION`.
        OFFLOAD_ENCAPSULATION = 0x0101_010A,
        /// `OID_TCP_OFFLOAD_CURRENT_CONFIG`.
        TCP_OFFLOAD_CURRENT_CONFIG = 0xFC01_020B,
        /// `OID_TCP_OFFLOAD_PARAMETERS`: set with [`NdisOffloadParams`].
        TCP_OFFLOAD_PARAMETERS = 0xFC01_020C,
        /// `OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES`: query for [`NdisOffload`].
        TCP_OFFLOAD_HARDWARE_CAPABILITIES = 0xFC01_020D,
        /// `OID_TCP_CONNECTION_OFFLOAD_CURRENT_CONFIG`.
        TCP_CONNECTION_OFFLOAD_CURRENT_CONFIG = 0xFC01_020E,
        /// `OID_TCP_CONNECTION_OFFLOAD_HARDWARE_CAPABILITIES`.
        TCP_CONNECTION_OFFLOAD_HARDWARE_CAPABILITIES = 0xFC01_020F,
    }
}

/// `NDIS_PACKET_TYPE_DIRECTED`: packet filter bit.
pub const NDIS_PACKET_TYPE_DIRECTED: u32 = 0x0000_0001;
/// `NDIS_PACKET_TYPE_MULTICAST`.
pub const NDIS_PACKET_TYPE_MULTICAST: u32 = 0x0000_0002;
/// `NDIS_PACKET_TYPE_ALL_MULTICAST`.
pub const NDIS_PACKET_TYPE_ALL_MULTICAST: u32 = 0x0000_0004;
/// `NDIS_PACKET_TYPE_BROADCAST`.
pub const NDIS_PACKET_TYPE_BROADCAST: u32 = 0x0000_0008;
/// `NDIS_PACKET_TYPE_SOURCE_ROUTING`.
pub const NDIS_PACKET_TYPE_SOURCE_ROUTING: u32 = 0x0000_0010;
/// `NDIS_PACKET_TYPE_PROMISCUOUS`.
pub const NDIS_PACKET_TYPE_PROMISCUOUS: u32 = 0x0000_0020;
/// `RNDIS_MEDIA_STATE_CONNECTED`: [`Oid::GEN_MEDIA_CONNECT_STATUS`] value.
pub const RNDIS_MEDIA_STATE_CONNECTED: u32 = 0;
/// `RNDIS_MEDIA_STATE_DISCONNECTED`.
pub const RNDIS_MEDIA_STATE_DISCONNECTED: u32 = 1;

/// The header of every RNDIS message (`ndis_msg_type`, `msg_len` of `struct rndis_message`,
/// `hyperv_net.h`; 8 bytes).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct RndisMessageHeader {
    /// Message type.
    pub ndis_msg_type: RndisMsgType,
    /// Total length in bytes, header included.
    pub msg_len: u32,
}
const _: () = assert!(size_of::<RndisMessageHeader>() == RNDIS_HEADER_SIZE);

/// Declares a packed RNDIS body struct with all-`u32` (or open-enum) fields.
macro_rules! rndis_struct {
    (
        $(#[$meta:meta])*
        $name:ident, $size:expr, {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[repr(C, packed)]
        #[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
        #[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }
        const _: () = assert!(size_of::<$name>() == $size);
    };
}

rndis_struct! {
    /// `NdisInitialize` (`struct rndis_initialize_request`, 16 bytes).
    RndisInitializeRequest, 16, {
        /// Request id, echoed in the completion.
        req_id: u32,
        /// [`RNDIS_MAJOR_VERSION`].
        major_ver: u32,
        /// [`RNDIS_MINOR_VERSION`].
        minor_ver: u32,
        /// Largest message the guest accepts ([`RNDIS_INIT_MAX_XFER_SIZE`]).
        max_xfer_size: u32,
    }
}

rndis_struct! {
    /// Response to `NdisInitialize` (`struct rndis_initialize_complete`, 44 bytes).
    RndisInitializeComplete, 44, {
        /// Request id.
        req_id: u32,
        /// Status.
        status: RndisStatus,
        /// Major version.
        major_ver: u32,
        /// Minor version.
        minor_ver: u32,
        /// `RNDIS_DF_*` device flags.
        dev_flags: u32,
        /// Medium (`RNDIS_MEDIUM_802_3` = 0).
        medium: u32,
        /// Most packets per message the host accepts.
        max_pkt_per_msg: u32,
        /// Largest transfer.
        max_xfer_size: u32,
        /// Packet alignment as a power of two.
        pkt_alignment_factor: u32,
        /// Address family list offset (call managers only).
        af_list_offset: u32,
        /// Address family list size.
        af_list_size: u32,
    }
}

rndis_struct! {
    /// Address family of a call manager (`struct rndis_co_address_family`, 12 bytes).
    RndisCoAddressFamily, 12, {
        /// Address family.
        address_family: u32,
        /// Major version.
        major_ver: u32,
        /// Minor version.
        minor_ver: u32,
    }
}

rndis_struct! {
    /// `NdisHalt` (`struct rndis_halt_request`, 4 bytes).
    RndisHaltRequest, 4, {
        /// Request id.
        req_id: u32,
    }
}

rndis_struct! {
    /// `NdisQueryRequest` (`struct rndis_query_request`, 20 bytes); the input buffer follows.
    RndisQueryRequest, 20, {
        /// Request id.
        req_id: u32,
        /// OID.
        oid: Oid,
        /// Input buffer length.
        info_buflen: u32,
        /// Input buffer offset from the start of this struct (20).
        info_buf_offset: u32,
        /// VC handle (0).
        dev_vc_handle: u32,
    }
}

rndis_struct! {
    /// Response to `NdisQueryRequest` (`struct rndis_query_complete`, 16 bytes).
    RndisQueryComplete, 16, {
        /// Request id.
        req_id: u32,
        /// Status.
        status: RndisStatus,
        /// Information buffer length.
        info_buflen: u32,
        /// Information buffer offset from the start of this struct.
        info_buf_offset: u32,
    }
}

rndis_struct! {
    /// `NdisSetRequest` (`struct rndis_set_request`, 20 bytes); the value follows.
    RndisSetRequest, 20, {
        /// Request id.
        req_id: u32,
        /// OID.
        oid: Oid,
        /// Value length.
        info_buflen: u32,
        /// Value offset from the start of this struct (20).
        info_buf_offset: u32,
        /// VC handle (0).
        dev_vc_handle: u32,
    }
}

rndis_struct! {
    /// Response to `NdisSetRequest` (`struct rndis_set_complete`, 8 bytes).
    RndisSetComplete, 8, {
        /// Request id.
        req_id: u32,
        /// Status.
        status: RndisStatus,
    }
}

rndis_struct! {
    /// `NdisReset` (`struct rndis_reset_request`, 4 bytes).
    RndisResetRequest, 4, {
        /// Reserved.
        reserved: u32,
    }
}

rndis_struct! {
    /// Response to `NdisReset` (`struct rndis_reset_complete`, 8 bytes; no request id).
    RndisResetComplete, 8, {
        /// Status.
        status: RndisStatus,
        /// Non-zero if addressing was reset.
        addressing_reset: u32,
    }
}

rndis_struct! {
    /// `NdisMIndicateStatus` (`struct rndis_indicate_status`, 12 bytes).
    RndisIndicateStatus, 12, {
        /// Status being indicated.
        status: RndisStatus,
        /// Status buffer length.
        status_buflen: u32,
        /// Status buffer offset from the start of this struct.
        status_buf_offset: u32,
    }
}

rndis_struct! {
    /// Diagnostic information of an error indication (`struct rndis_diagnostic_info`, 8 bytes).
    RndisDiagnosticInfo, 8, {
        /// Diagnostic status.
        diag_status: u32,
        /// Offset of the error.
        error_offset: u32,
    }
}

rndis_struct! {
    /// `NdisKeepAlive` (`struct rndis_keepalive_request`, 4 bytes).
    RndisKeepaliveRequest, 4, {
        /// Request id.
        req_id: u32,
    }
}

rndis_struct! {
    /// Response to `NdisKeepAlive` (`struct rndis_keepalive_complete`, 8 bytes).
    RndisKeepaliveComplete, 8, {
        /// Request id.
        req_id: u32,
        /// Status.
        status: RndisStatus,
    }
}

rndis_struct! {
    /// A data packet (`struct rndis_packet`, 36 bytes). Offsets count from the start of this
    /// struct; lengths are bytes.
    RndisPacket, 36, {
        /// Offset of the frame.
        data_offset: u32,
        /// Length of the frame.
        data_len: u32,
        /// Offset of out-of-band data (unused).
        oob_data_offset: u32,
        /// Length of out-of-band data.
        oob_data_len: u32,
        /// Number of out-of-band elements.
        num_oob_data_elements: u32,
        /// Offset of the per-packet info records (0: none).
        per_pkt_info_offset: u32,
        /// Total length of the per-packet info records.
        per_pkt_info_len: u32,
        /// VC handle (0 for connectionless data).
        vc_handle: u32,
        /// Reserved.
        reserved: u32,
    }
}

rndis_struct! {
    /// Out-of-band data header (`struct rndis_oobd`, 12 bytes).
    RndisOobd, 12, {
        /// Size.
        size: u32,
        /// Type.
        type_: u32,
        /// Class information offset.
        class_info_offset: u32,
    }
}

rndis_struct! {
    /// `OID_GEN_RNDIS_CONFIG_PARAMETER` value header (`struct rndis_config_parameter_info`,
    /// 20 bytes); name and value (UTF-16) follow.
    RndisConfigParameterInfo, 20, {
        /// Name offset from the start of this struct.
        parameter_name_offset: u32,
        /// Name length in bytes.
        parameter_name_length: u32,
        /// `RNDIS_CONFIG_PARAM_TYPE_*`.
        parameter_type: u32,
        /// Value offset.
        parameter_value_offset: u32,
        /// Value length in bytes.
        parameter_value_length: u32,
    }
}

/// `RNDIS_CONFIG_PARAM_TYPE_INTEGER`.
pub const RNDIS_CONFIG_PARAM_TYPE_INTEGER: u32 = 0;
/// `RNDIS_CONFIG_PARAM_TYPE_STRING`.
pub const RNDIS_CONFIG_PARAM_TYPE_STRING: u32 = 2;

open_enum! {
    /// A per-packet info type (`enum ndis_per_pkt_info_type`; 31 bits on the wire).
    pub struct NdisPerPktInfoType(u32) {
        /// `TCPIP_CHKSUM_PKTINFO`: [`NdisTcpIpChecksumInfo`].
        TCPIP_CHKSUM = 0,
        /// `IPSEC_PKTINFO`.
        IPSEC = 1,
        /// `TCP_LARGESEND_PKTINFO`: [`NdisTcpLsoInfo`].
        TCP_LARGESEND = 2,
        /// `CLASSIFICATION_HANDLE_PKTINFO`.
        CLASSIFICATION_HANDLE = 3,
        /// `NDIS_RESERVED`.
        NDIS_RESERVED = 4,
        /// `SG_LIST_PKTINFO`.
        SG_LIST = 5,
        /// `IEEE_8021Q_INFO`: [`NdisPkt8021qInfo`].
        IEEE_8021Q = 6,
        /// `ORIGINAL_PKTINFO`.
        ORIGINAL = 7,
        /// `NBL_HASH_VALUE` (= `PACKET_CANCEL_ID`): the `u32` RSS hash value.
        NBL_HASH_VALUE = 8,
        /// `ORIGINAL_NET_BUFLIST`, used by hosts as the RSS hash info (`u32`; FreeBSD's
        /// `HN_NDIS_PKTINFO_TYPE_HASHINF`).
        NBL_HASH_INFO = 9,
        /// `CACHED_NET_BUFLIST`.
        CACHED_NET_BUFLIST = 10,
        /// `SHORT_PKT_PADINFO`.
        SHORT_PKT_PADINFO = 11,
    }
}

/// `RNDIS_PKTINFO_ID`: the internal per-packet info type of [`RndisPktinfoId`] (RSC).
pub const RNDIS_PKTINFO_ID: u32 = 1;
/// `RNDIS_PKTINFO_SUBALLOC`: [`RndisPktinfoId::flag`] bit; the packet is an RSC fragment.
pub const RNDIS_PKTINFO_SUBALLOC: u8 = 1 << 0;
/// `RNDIS_PKTINFO_1ST_FRAG`: first RSC fragment.
pub const RNDIS_PKTINFO_1ST_FRAG: u8 = 1 << 1;
/// `RNDIS_PKTINFO_LAST_FRAG`: last RSC fragment.
pub const RNDIS_PKTINFO_LAST_FRAG: u8 = 1 << 2;
/// `RNDIS_PKTINFO_ID_V1`: [`RndisPktinfoId::ver`].
pub const RNDIS_PKTINFO_ID_V1: u8 = 1;

/// A per-packet info record header; the value follows at `ppi_offset`.
///
/// Mirrors `struct rndis_per_packet_info` (`hyperv_net.h`, 12 bytes): `type:31` and
/// `internal:1` share [`RndisPerPacketInfo::type_internal`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct RndisPerPacketInfo {
    /// Size of the record in bytes, header included.
    pub size: u32,
    /// Bits 0..31: the type; bit 31: internal (RNDIS-private type space).
    pub type_internal: u32,
    /// Offset of the value from the start of the record (12).
    pub ppi_offset: u32,
}
const _: () = assert!(size_of::<RndisPerPacketInfo>() == 12);

impl RndisPerPacketInfo {
    /// Returns a record header for a `value_len`-byte value of `ty`.
    pub fn new(ty: u32, internal: bool, value_len: usize) -> Self {
        Self {
            size: (size_of::<Self>() + value_len) as u32,
            type_internal: (ty & 0x7fff_ffff) | (u32::from(internal) << 31),
            ppi_offset: size_of::<Self>() as u32,
        }
    }

    /// The 31-bit type.
    pub fn ty(&self) -> u32 {
        self.type_internal & 0x7fff_ffff
    }

    /// The internal bit.
    pub fn internal(&self) -> bool {
        self.type_internal >> 31 != 0
    }
}

/// The RSC packet-info value (internal type [`RNDIS_PKTINFO_ID`]).
///
/// Mirrors `struct rndis_pktinfo_id` (`hyperv_net.h`, 4 bytes).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct RndisPktinfoId {
    /// Version ([`RNDIS_PKTINFO_ID_V1`]).
    pub ver: u8,
    /// `RNDIS_PKTINFO_*` flags.
    pub flag: u8,
    /// Packet id.
    pub pkt_id: u16,
}
const _: () = assert!(size_of::<RndisPktinfoId>() == 4);

/// Declares a `u32` bitfield newtype with getter/setter pairs for its fields.
macro_rules! bitfield_u32 {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$fmeta:meta])* $get:ident / $set:ident : $shift:expr, $width:expr; )*
        }
    ) => {
        $(#[$meta])*
        #[repr(transparent)]
        #[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
        #[derive(FromBytes, IntoBytes, Immutable, KnownLayout)]
        pub struct $name(pub u32);
        const _: () = assert!(size_of::<$name>() == 4);

        impl $name {
            $(
                $(#[$fmeta])*
                pub const fn $get(self) -> u32 {
                    (self.0 >> $shift) & ((1u32 << $width) - 1)
                }

                /// Sets the field of the same name (the value is truncated to its width).
                pub const fn $set(self, v: u32) -> Self {
                    let mask = ((1u32 << $width) - 1) << $shift;
                    Self((self.0 & !mask) | ((v << $shift) & mask))
                }
            )*
        }
    };
}

bitfield_u32! {
    /// The checksum per-packet info (`struct ndis_tcp_ip_checksum_info`, `hyperv_net.h`,
    /// 4 bytes): transmit requests and receive results share the bits.
    NdisTcpIpChecksumInfo {
        /// Transmit: the packet is IPv4 (bit 0).
        tx_is_ipv4 / set_tx_is_ipv4: 0, 1;
        /// Transmit: the packet is IPv6 (bit 1).
        tx_is_ipv6 / set_tx_is_ipv6: 1, 1;
        /// Transmit: compute the TCP checksum (bit 2).
        tx_tcp_checksum / set_tx_tcp_checksum: 2, 1;
        /// Transmit: compute the UDP checksum (bit 3).
        tx_udp_checksum / set_tx_udp_checksum: 3, 1;
        /// Transmit: compute the IP header checksum (bit 4).
        tx_ip_header_checksum / set_tx_ip_header_checksum: 4, 1;
        /// Transmit: offset of the TCP header (bits 16..26).
        tx_tcp_header_offset / set_tx_tcp_header_offset: 16, 10;
        /// Receive: TCP checksum failed (bit 0).
        rx_tcp_checksum_failed / set_rx_tcp_checksum_failed: 0, 1;
        /// Receive: UDP checksum failed (bit 1).
        rx_udp_checksum_failed / set_rx_udp_checksum_failed: 1, 1;
        /// Receive: IP checksum failed (bit 2).
        rx_ip_checksum_failed / set_rx_ip_checksum_failed: 2, 1;
        /// Receive: TCP checksum succeeded (bit 3).
        rx_tcp_checksum_succeeded / set_rx_tcp_checksum_succeeded: 3, 1;
        /// Receive: UDP checksum succeeded (bit 4).
        rx_udp_checksum_succeeded / set_rx_udp_checksum_succeeded: 4, 1;
        /// Receive: IP checksum succeeded (bit 5).
        rx_ip_checksum_succeeded / set_rx_ip_checksum_succeeded: 5, 1;
        /// Receive: loopback (bit 6).
        rx_loopback / set_rx_loopback: 6, 1;
        /// Receive: TCP checksum value invalid (bit 7).
        rx_tcp_checksum_value_invalid / set_rx_tcp_checksum_value_invalid: 7, 1;
        /// Receive: IP checksum value invalid (bit 8).
        rx_ip_checksum_value_invalid / set_rx_ip_checksum_value_invalid: 8, 1;
    }
}

bitfield_u32! {
    /// The 802.1Q per-packet info (`struct ndis_pkt_8021q_info`, `hyperv_net.h`, 4 bytes).
    NdisPkt8021qInfo {
        /// User priority (bits 0..3).
        pri / set_pri: 0, 3;
        /// Canonical format id (bit 3).
        cfi / set_cfi: 3, 1;
        /// VLAN id (bits 4..16).
        vlanid / set_vlanid: 4, 12;
    }
}

bitfield_u32! {
    /// The large-send per-packet info (`struct ndis_tcp_lso_info`, `hyperv_net.h`, 4 bytes),
    /// LSOv2 transmit layout (the other union views share `type`).
    NdisTcpLsoInfo {
        /// MSS (bits 0..20).
        mss / set_mss: 0, 20;
        /// Offset of the TCP header (bits 20..30).
        tcp_header_offset / set_tcp_header_offset: 20, 10;
        /// [`NDIS_TCP_LARGE_SEND_OFFLOAD_V2_TYPE`] (bit 30).
        lso_type / set_lso_type: 30, 1;
        /// [`NDIS_TCP_LARGE_SEND_OFFLOAD_IPV4`] or `_IPV6` (bit 31).
        ip_version / set_ip_version: 31, 1;
        /// LSOv1 completion: TCP payload bytes sent (bits 0..30).
        tcp_payload / set_tcp_payload: 0, 30;
    }
}

/// `NDIS_TCP_LARGE_SEND_OFFLOAD_V2_TYPE`.
pub const NDIS_TCP_LARGE_SEND_OFFLOAD_V2_TYPE: u32 = 1;
/// `NDIS_TCP_LARGE_SEND_OFFLOAD_IPV4`.
pub const NDIS_TCP_LARGE_SEND_OFFLOAD_IPV4: u32 = 0;
/// `NDIS_TCP_LARGE_SEND_OFFLOAD_IPV6`.
pub const NDIS_TCP_LARGE_SEND_OFFLOAD_IPV6: u32 = 1;

/// `NDIS_VLAN_PPI_SIZE`: record size of a VLAN per-packet info.
pub const NDIS_VLAN_PPI_SIZE: usize = 12 + 4;
/// `NDIS_CSUM_PPI_SIZE`.
pub const NDIS_CSUM_PPI_SIZE: usize = 12 + 4;
/// `NDIS_LSO_PPI_SIZE`.
pub const NDIS_LSO_PPI_SIZE: usize = 12 + 4;
/// `NDIS_HASH_PPI_SIZE`.
pub const NDIS_HASH_PPI_SIZE: usize = 12 + 4;
/// `NDIS_ALL_PPI_SIZE`.
pub const NDIS_ALL_PPI_SIZE: usize =
    NDIS_VLAN_PPI_SIZE + NDIS_CSUM_PPI_SIZE + NDIS_LSO_PPI_SIZE + NDIS_HASH_PPI_SIZE;

/// An NDIS object header.
///
/// Mirrors `struct ndis_object_header` and `struct ndis_obj_header` (`hyperv_net.h`, 4 bytes).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct NdisObjectHeader {
    /// `NDIS_OBJECT_TYPE_*`.
    pub type_: u8,
    /// Revision.
    pub revision: u8,
    /// Size of the object in bytes.
    pub size: u16,
}
const _: () = assert!(size_of::<NdisObjectHeader>() == 4);

/// `NDIS_OBJECT_TYPE_DEFAULT` (offload parameters).
pub const NDIS_OBJECT_TYPE_DEFAULT: u8 = 0x80;
/// `NDIS_OBJECT_TYPE_RSS_CAPABILITIES`.
pub const NDIS_OBJECT_TYPE_RSS_CAPABILITIES: u8 = 0x88;
/// `NDIS_OBJECT_TYPE_RSS_PARAMETERS`.
pub const NDIS_OBJECT_TYPE_RSS_PARAMETERS: u8 = 0x89;
/// `NDIS_OBJECT_TYPE_OFFLOAD` (offload capabilities).
pub const NDIS_OBJECT_TYPE_OFFLOAD: u8 = 0xa7;
/// `NDIS_OFFLOAD_PARAMETERS_REVISION_1`.
pub const NDIS_OFFLOAD_PARAMETERS_REVISION_1: u8 = 1;
/// `NDIS_OFFLOAD_PARAMETERS_REVISION_2`.
pub const NDIS_OFFLOAD_PARAMETERS_REVISION_2: u8 = 2;
/// `NDIS_OFFLOAD_PARAMETERS_REVISION_3`.
pub const NDIS_OFFLOAD_PARAMETERS_REVISION_3: u8 = 3;
/// `NDIS_RECEIVE_SCALE_CAPABILITIES_REVISION_2`.
pub const NDIS_RECEIVE_SCALE_CAPABILITIES_REVISION_2: u8 = 2;
/// `NDIS_RECEIVE_SCALE_PARAMETERS_REVISION_2`.
pub const NDIS_RECEIVE_SCALE_PARAMETERS_REVISION_2: u8 = 2;
/// `NDIS_OFFLOAD_PARAMETERS_NO_CHANGE`.
pub const NDIS_OFFLOAD_PARAMETERS_NO_CHANGE: u8 = 0;
/// `NDIS_OFFLOAD_PARAMETERS_LSOV2_DISABLED`.
pub const NDIS_OFFLOAD_PARAMETERS_LSOV2_DISABLED: u8 = 1;
/// `NDIS_OFFLOAD_PARAMETERS_LSOV2_ENABLED`.
pub const NDIS_OFFLOAD_PARAMETERS_LSOV2_ENABLED: u8 = 2;
/// `NDIS_OFFLOAD_PARAMETERS_LSOV1_ENABLED`.
pub const NDIS_OFFLOAD_PARAMETERS_LSOV1_ENABLED: u8 = 2;
/// `NDIS_OFFLOAD_PARAMETERS_RSC_DISABLED`.
pub const NDIS_OFFLOAD_PARAMETERS_RSC_DISABLED: u8 = 1;
/// `NDIS_OFFLOAD_PARAMETERS_RSC_ENABLED`.
pub const NDIS_OFFLOAD_PARAMETERS_RSC_ENABLED: u8 = 2;
/// `NDIS_OFFLOAD_PARAMETERS_TX_RX_DISABLED`.
pub const NDIS_OFFLOAD_PARAMETERS_TX_RX_DISABLED: u8 = 1;
/// `NDIS_OFFLOAD_PARAMETERS_TX_ENABLED_RX_DISABLED`.
pub const NDIS_OFFLOAD_PARAMETERS_TX_ENABLED_RX_DISABLED: u8 = 2;
/// `NDIS_OFFLOAD_PARAMETERS_RX_ENABLED_TX_DISABLED`.
pub const NDIS_OFFLOAD_PARAMETERS_RX_ENABLED_TX_DISABLED: u8 = 3;
/// `NDIS_OFFLOAD_PARAMETERS_TX_RX_ENABLED`.
pub const NDIS_OFFLOAD_PARAMETERS_TX_RX_ENABLED: u8 = 4;
/// `VERSION_4_OFFLOAD_SIZE`: bytes of [`NdisOffloadParams`] sent up to NVSP 4 (no RSC or
/// encapsulation fields).
pub const VERSION_4_OFFLOAD_SIZE: usize = 22;
/// `NDIS_OFFLOAD_ENCAP_8023`.
pub const NDIS_OFFLOAD_ENCAP_8023: u32 = 0x0002;
/// `NDIS_TXCSUM_CAP_IP4` (and the other `NDIS_{TX,RX}CSUM_CAP_*4` bits of the same values).
pub const NDIS_TXCSUM_CAP_IP4: u32 = 0x100;
/// `NDIS_TXCSUM_CAP_TCP4` (also `NDIS_TXCSUM_CAP_TCP6`).
pub const NDIS_TXCSUM_CAP_TCP4: u32 = 0x010;
/// `NDIS_TXCSUM_CAP_TCP4OPT` (also `NDIS_TXCSUM_CAP_TCP6OPT`).
pub const NDIS_TXCSUM_CAP_TCP4OPT: u32 = 0x004;
/// `NDIS_TXCSUM_CAP_IP4OPT` (also `NDIS_TXCSUM_CAP_IP6EXT`).
pub const NDIS_TXCSUM_CAP_IP4OPT: u32 = 0x001;
/// `NDIS_TXCSUM_CAP_UDP4` (also `NDIS_TXCSUM_CAP_UDP6`).
pub const NDIS_TXCSUM_CAP_UDP4: u32 = 0x040;
/// `NDIS_TXCSUM_ALL_TCP4`.
pub const NDIS_TXCSUM_ALL_TCP4: u32 = NDIS_TXCSUM_CAP_TCP4 | NDIS_TXCSUM_CAP_TCP4OPT;
/// `NDIS_TXCSUM_ALL_TCP6`.
pub const NDIS_TXCSUM_ALL_TCP6: u32 =
    NDIS_TXCSUM_CAP_TCP4 | NDIS_TXCSUM_CAP_TCP4OPT | NDIS_TXCSUM_CAP_IP4OPT;
/// `NDIS_LSOV2_CAP_IP6`.
pub const NDIS_LSOV2_CAP_IP6: u32 = 0x001 | 0x004;

rndis_struct! {
    /// Checksum offload capabilities (`struct ndis_csum_offload`, 32 bytes).
    NdisCsumOffload, 32, {
        /// IPv4 transmit encapsulations.
        ip4_txenc: u32,
        /// IPv4 transmit checksum capabilities (`NDIS_TXCSUM_CAP_*`).
        ip4_txcsum: u32,
        /// IPv4 receive encapsulations.
        ip4_rxenc: u32,
        /// IPv4 receive checksum capabilities.
        ip4_rxcsum: u32,
        /// IPv6 transmit encapsulations.
        ip6_txenc: u32,
        /// IPv6 transmit checksum capabilities.
        ip6_txcsum: u32,
        /// IPv6 receive encapsulations.
        ip6_rxenc: u32,
        /// IPv6 receive checksum capabilities.
        ip6_rxcsum: u32,
    }
}

rndis_struct! {
    /// LSOv1 capabilities (`struct ndis_lsov1_offload`, 16 bytes).
    NdisLsov1Offload, 16, {
        /// Encapsulations.
        encap: u32,
        /// Largest segment-offload size.
        maxsize: u32,
        /// Fewest segments.
        minsegs: u32,
        /// Options.
        opts: u32,
    }
}

rndis_struct! {
    /// IPsec v1 capabilities (`struct ndis_ipsecv1_offload`, 28 bytes).
    NdisIpsecv1Offload, 28, {
        /// Encapsulations.
        encap: u32,
        /// AH/ESP.
        ah_esp: u32,
        /// Transport/tunnel.
        xport_tun: u32,
        /// IPv4 options.
        ip4_opts: u32,
        /// Flags.
        flags: u32,
        /// IPv4 AH.
        ip4_ah: u32,
        /// IPv4 ESP.
        ip4_esp: u32,
    }
}

rndis_struct! {
    /// LSOv2 capabilities (`struct ndis_lsov2_offload`, 28 bytes).
    NdisLsov2Offload, 28, {
        /// IPv4 encapsulations.
        ip4_encap: u32,
        /// IPv4 largest offload size.
        ip4_maxsz: u32,
        /// IPv4 fewest segments.
        ip4_minsg: u32,
        /// IPv6 encapsulations.
        ip6_encap: u32,
        /// IPv6 largest offload size.
        ip6_maxsz: u32,
        /// IPv6 fewest segments.
        ip6_minsg: u32,
        /// IPv6 options ([`NDIS_LSOV2_CAP_IP6`]).
        ip6_opts: u32,
    }
}

/// IPsec v2 capabilities.
///
/// Mirrors `struct ndis_ipsecv2_offload` (`hyperv_net.h`, 32 bytes; the padding byte at 15 is
/// explicit).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct NdisIpsecv2Offload {
    /// Encapsulations.
    pub encap: u32,
    /// IPv6.
    pub ip6: u8,
    /// IPv4 options.
    pub ip4opt: u8,
    /// IPv6 extension headers.
    pub ip6ext: u8,
    /// AH.
    pub ah: u8,
    /// ESP.
    pub esp: u8,
    /// AH and ESP.
    pub ah_esp: u8,
    /// Transport.
    pub xport: u8,
    /// Tunnel.
    pub tun: u8,
    /// Transport and tunnel.
    pub xport_tun: u8,
    /// LSO.
    pub lso: u8,
    /// Extended sequence numbers.
    pub extseq: u8,
    /// C padding.
    pub _pad: u8,
    /// UDP ESP.
    pub udp_esp: u32,
    /// Authentication algorithms.
    pub auth: u32,
    /// Encryption algorithms.
    pub crypto: u32,
    /// SA capabilities.
    pub sa_caps: u32,
}
const _: () = assert!(size_of::<NdisIpsecv2Offload>() == 32);

/// RSC capabilities (`struct ndis_rsc_offload`, `hyperv_net.h`, 2 bytes).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct NdisRscOffload {
    /// IPv4 RSC supported.
    pub ip4: u8,
    /// IPv6 RSC supported.
    pub ip6: u8,
}
const _: () = assert!(size_of::<NdisRscOffload>() == 2);

rndis_struct! {
    /// Encapsulation offload capabilities (`struct ndis_encap_offload`, 8 bytes).
    NdisEncapOffload, 8, {
        /// Flags.
        flags: u32,
        /// Largest header.
        maxhdr: u32,
    }
}

/// Offload hardware capabilities (answer to [`Oid::TCP_OFFLOAD_HARDWARE_CAPABILITIES`]).
///
/// Mirrors `struct ndis_offload` (`hyperv_net.h`, 156 bytes; the padding before `encap_gre` is
/// explicit).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct NdisOffload {
    /// Header ([`NDIS_OBJECT_TYPE_OFFLOAD`]).
    pub header: NdisObjectHeader,
    /// Checksum capabilities.
    pub csum: NdisCsumOffload,
    /// LSOv1 capabilities.
    pub lsov1: NdisLsov1Offload,
    /// IPsec v1 capabilities.
    pub ipsecv1: NdisIpsecv1Offload,
    /// LSOv2 capabilities.
    pub lsov2: NdisLsov2Offload,
    /// Flags.
    pub flags: u32,
    /// IPsec v2 capabilities (NDIS 6.1+).
    pub ipsecv2: NdisIpsecv2Offload,
    /// RSC capabilities (NDIS 6.30+).
    pub rsc: NdisRscOffload,
    /// C padding.
    pub _pad: [u8; 2],
    /// GRE encapsulation capabilities.
    pub encap_gre: NdisEncapOffload,
}
const _: () = assert!(size_of::<NdisOffload>() == 156);

/// `NDIS_OFFLOAD_SIZE_6_0`: bytes of [`NdisOffload`] before `ipsecv2`.
pub const NDIS_OFFLOAD_SIZE_6_0: usize = core::mem::offset_of!(NdisOffload, ipsecv2);
/// `NDIS_OFFLOAD_SIZE_6_1`: bytes of [`NdisOffload`] before `rsc`.
pub const NDIS_OFFLOAD_SIZE_6_1: usize = core::mem::offset_of!(NdisOffload, rsc);
/// `NDIS_OFFLOAD_SIZE`.
pub const NDIS_OFFLOAD_SIZE: usize = size_of::<NdisOffload>();

/// Offload settings (value of [`Oid::TCP_OFFLOAD_PARAMETERS`]).
///
/// Mirrors `struct ndis_offload_params` (`hyperv_net.h`, 28 bytes; padding explicit). Up to
/// NVSP 4 only the first [`VERSION_4_OFFLOAD_SIZE`] bytes are sent.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct NdisOffloadParams {
    /// Header ([`NDIS_OBJECT_TYPE_DEFAULT`], revision 3, size = bytes sent).
    pub header: NdisObjectHeader,
    /// IPv4 header checksum (`NDIS_OFFLOAD_PARAMETERS_TX_*`).
    pub ip_v4_csum: u8,
    /// TCP/IPv4 checksum.
    pub tcp_ip_v4_csum: u8,
    /// UDP/IPv4 checksum.
    pub udp_ip_v4_csum: u8,
    /// TCP/IPv6 checksum.
    pub tcp_ip_v6_csum: u8,
    /// UDP/IPv6 checksum.
    pub udp_ip_v6_csum: u8,
    /// LSOv1.
    pub lso_v1: u8,
    /// IPsec v1.
    pub ip_sec_v1: u8,
    /// LSOv2 IPv4 (`NDIS_OFFLOAD_PARAMETERS_LSOV2_*`).
    pub lso_v2_ipv4: u8,
    /// LSOv2 IPv6.
    pub lso_v2_ipv6: u8,
    /// TCP connection offload IPv4.
    pub tcp_connection_ip_v4: u8,
    /// TCP connection offload IPv6.
    pub tcp_connection_ip_v6: u8,
    /// C padding.
    pub _pad0: u8,
    /// Flags.
    pub flags: u32,
    /// IPsec v2.
    pub ip_sec_v2: u8,
    /// IPsec v2 IPv4.
    pub ip_sec_v2_ip_v4: u8,
    /// RSC IPv4 (`NDIS_OFFLOAD_PARAMETERS_RSC_*`).
    pub rsc_ip_v4: u8,
    /// RSC IPv6.
    pub rsc_ip_v6: u8,
    /// Encapsulated packet task offload.
    pub encapsulated_packet_task_offload: u8,
    /// Encapsulation types.
    pub encapsulation_types: u8,
    /// C padding.
    pub _pad1: [u8; 2],
}
const _: () = assert!(size_of::<NdisOffloadParams>() == 28);

/// `NDIS_RSS_CAPS_MESSAGE_SIGNALED_INTERRUPTS`.
pub const NDIS_RSS_CAPS_MESSAGE_SIGNALED_INTERRUPTS: u32 = 0x0100_0000;
/// `NDIS_RSS_CAPS_CLASSIFICATION_AT_ISR`.
pub const NDIS_RSS_CAPS_CLASSIFICATION_AT_ISR: u32 = 0x0200_0000;
/// `NDIS_RSS_CAPS_CLASSIFICATION_AT_DPC`.
pub const NDIS_RSS_CAPS_CLASSIFICATION_AT_DPC: u32 = 0x0400_0000;
/// `NDIS_RSS_CAPS_USING_MSI_X`.
pub const NDIS_RSS_CAPS_USING_MSI_X: u32 = 0x0800_0000;
/// `NDIS_RSS_CAPS_RSS_AVAILABLE_ON_PORTS`.
pub const NDIS_RSS_CAPS_RSS_AVAILABLE_ON_PORTS: u32 = 0x1000_0000;
/// `NDIS_RSS_CAPS_SUPPORTS_MSI_X`.
pub const NDIS_RSS_CAPS_SUPPORTS_MSI_X: u32 = 0x2000_0000;
/// `NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV4`.
pub const NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV4: u32 = 0x0000_0100;
/// `NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV6`.
pub const NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV6: u32 = 0x0000_0200;
/// `NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV6_EX`.
pub const NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV6_EX: u32 = 0x0000_0400;
/// `NDIS_RSS_PARAM_FLAG_BASE_CPU_UNCHANGED`.
pub const NDIS_RSS_PARAM_FLAG_BASE_CPU_UNCHANGED: u16 = 0x0001;
/// `NDIS_RSS_PARAM_FLAG_HASH_INFO_UNCHANGED`.
pub const NDIS_RSS_PARAM_FLAG_HASH_INFO_UNCHANGED: u16 = 0x0002;
/// `NDIS_RSS_PARAM_FLAG_ITABLE_UNCHANGED`.
pub const NDIS_RSS_PARAM_FLAG_ITABLE_UNCHANGED: u16 = 0x0004;
/// `NDIS_RSS_PARAM_FLAG_HASH_KEY_UNCHANGED`.
pub const NDIS_RSS_PARAM_FLAG_HASH_KEY_UNCHANGED: u16 = 0x0008;
/// `NDIS_RSS_PARAM_FLAG_DISABLE_RSS`.
pub const NDIS_RSS_PARAM_FLAG_DISABLE_RSS: u16 = 0x0010;
/// `NDIS_HASH_FUNC_TOEPLITZ`.
pub const NDIS_HASH_FUNC_TOEPLITZ: u32 = 0x0000_0001;
/// `NDIS_HASH_IPV4`.
pub const NDIS_HASH_IPV4: u32 = 0x0000_0100;
/// `NDIS_HASH_TCP_IPV4`.
pub const NDIS_HASH_TCP_IPV4: u32 = 0x0000_0200;
/// `NDIS_HASH_IPV6`.
pub const NDIS_HASH_IPV6: u32 = 0x0000_0400;
/// `NDIS_HASH_IPV6_EX`.
pub const NDIS_HASH_IPV6_EX: u32 = 0x0000_0800;
/// `NDIS_HASH_TCP_IPV6`.
pub const NDIS_HASH_TCP_IPV6: u32 = 0x0000_1000;
/// `NDIS_HASH_TCP_IPV6_EX`.
pub const NDIS_HASH_TCP_IPV6_EX: u32 = 0x0000_2000;
/// `NDIS_RSS_INDIRECTION_TABLE_MAX_SIZE_REVISION_2`: bytes.
pub const NDIS_RSS_INDIRECTION_TABLE_MAX_SIZE_REVISION_2: usize = 128 * 4;
/// `NDIS_RSS_HASH_SECRET_KEY_MAX_SIZE_REVISION_2`: bytes.
pub const NDIS_RSS_HASH_SECRET_KEY_MAX_SIZE_REVISION_2: usize = 40;
/// `ITAB_NUM`: default indirection table entries.
pub const ITAB_NUM: usize = 128;
/// `ITAB_NUM_MAX`: most indirection table entries.
pub const ITAB_NUM_MAX: usize = 256;
/// `NETVSC_HASH_KEYLEN`: Toeplitz key bytes.
pub const NETVSC_HASH_KEYLEN: usize = 40;

/// RSS capabilities (answer to [`Oid::GEN_RECEIVE_SCALE_CAPABILITIES`]).
///
/// Mirrors `struct ndis_recv_scale_cap` (`hyperv_net.h`, 18 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct NdisRecvScaleCap {
    /// Header ([`NDIS_OBJECT_TYPE_RSS_CAPABILITIES`]).
    pub hdr: NdisObjectHeader,
    /// `NDIS_RSS_CAPS_*`.
    pub cap_flag: u32,
    /// Interrupt messages.
    pub num_int_msg: u32,
    /// Receive queues (Linux uses it as the most channels).
    pub num_recv_que: u32,
    /// Indirection table entries.
    pub num_indirect_tabent: u16,
}
const _: () = assert!(size_of::<NdisRecvScaleCap>() == 18);

/// RSS parameters (value of [`Oid::GEN_RECEIVE_SCALE_PARAMETERS`]); the indirection table and
/// key follow at their offsets.
///
/// Mirrors `struct ndis_recv_scale_param` (`hyperv_net.h`, 40 bytes; not packed in C, the
/// padding is explicit here).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct NdisRecvScaleParam {
    /// Header ([`NDIS_OBJECT_TYPE_RSS_PARAMETERS`], revision 2, size 40).
    pub hdr: NdisObjectHeader,
    /// `NDIS_RSS_PARAM_FLAG_*`.
    pub flag: u16,
    /// Base CPU (unused).
    pub base_cpu_number: u16,
    /// Hash function and types (`NDIS_HASH_*`).
    pub hashinfo: u32,
    /// Indirection table size in bytes.
    pub indirect_tabsize: u16,
    /// C padding.
    pub _pad0: u16,
    /// Indirection table offset from the start of this struct.
    pub indirect_taboffset: u32,
    /// Key size in bytes.
    pub hashkey_size: u16,
    /// C padding.
    pub _pad1: u16,
    /// Key offset from the start of this struct.
    pub hashkey_offset: u32,
    /// Processor masks offset.
    pub processor_masks_offset: u32,
    /// Number of processor masks.
    pub num_processor_masks: u32,
    /// Size of one processor mask.
    pub processor_masks_entry_size: u32,
}
const _: () = assert!(size_of::<NdisRecvScaleParam>() == 40);

/// `TRANSPORT_INFO_NOT_IP`.
pub const TRANSPORT_INFO_NOT_IP: u32 = 0;
/// `TRANSPORT_INFO_IPV4_TCP`.
pub const TRANSPORT_INFO_IPV4_TCP: u32 = 0x01;
/// `TRANSPORT_INFO_IPV4_UDP`.
pub const TRANSPORT_INFO_IPV4_UDP: u32 = 0x02;
/// `TRANSPORT_INFO_IPV6_TCP`.
pub const TRANSPORT_INFO_IPV6_TCP: u32 = 0x10;
/// `TRANSPORT_INFO_IPV6_UDP`.
pub const TRANSPORT_INFO_IPV6_UDP: u32 = 0x20;

/// Reads a `T` at byte `off` of `buf`, or [`Error::Truncated`].
fn read_at<T: FromBytes>(buf: &[u8], off: usize) -> Result<T, Error> {
    let need = off.saturating_add(size_of::<T>());
    buf.get(off..)
        .and_then(|b| T::read_from_prefix(b).ok())
        .map(|(t, _)| t)
        .ok_or(Error::Truncated {
            need,
            have: buf.len(),
        })
}

/// Reads a `T` at byte `off` of `buf`; bytes past the end read as zero.
fn read_zero_extended<T: FromBytes + IntoBytes>(buf: &[u8], off: usize) -> T {
    let mut t = T::new_zeroed();
    let src = buf.get(off..).unwrap_or(&[]);
    let n = src.len().min(size_of::<T>());
    if let (Some(dst), Some(src)) = (t.as_mut_bytes().get_mut(..n), src.get(..n)) {
        dst.copy_from_slice(src);
    }
    t
}

/// A received RNDIS message, split at its header.
#[derive(Copy, Clone, Debug)]
pub struct RndisMessage<'a> {
    /// The header.
    pub header: RndisMessageHeader,
    /// The body: `msg_len - 8` bytes.
    pub body: &'a [u8],
    /// Everything received after the header (at least `body`; some hosts place a status buffer
    /// past `msg_len`).
    pub received: &'a [u8],
}

/// Splits a received RNDIS message (one receive range or a completion) like
/// `rndis_filter_receive`.
///
/// # Errors
///
/// [`Error::Truncated`] if the buffer is shorter than the header, [`Error::InvalidLength`] if
/// `msg_len` is below 8 or beyond the buffer.
pub fn parse_message(buf: &[u8]) -> Result<RndisMessage<'_>, Error> {
    let header: RndisMessageHeader = read_at(buf, 0)?;
    let msg_len = header.msg_len;
    let len = msg_len as usize;
    if len < RNDIS_HEADER_SIZE || buf.len() < len {
        return Err(Error::InvalidLength {
            msg_len,
            have: buf.len(),
        });
    }
    let body = buf.get(RNDIS_HEADER_SIZE..len).unwrap_or(&[]);
    let received = buf.get(RNDIS_HEADER_SIZE..).unwrap_or(&[]);
    Ok(RndisMessage {
        header,
        body,
        received,
    })
}

/// A received data packet and the per-packet info netvsc uses.
#[derive(Copy, Clone, Debug)]
pub struct RndisDataPacket<'a> {
    /// The frame (`data_len` bytes at `data_offset`).
    pub data: &'a [u8],
    /// VLAN tag.
    pub vlan: Option<NdisPkt8021qInfo>,
    /// Receive checksum results.
    pub csum: Option<NdisTcpIpChecksumInfo>,
    /// RSS hash value ([`NdisPerPktInfoType::NBL_HASH_VALUE`]).
    pub hash: Option<u32>,
    /// RSC fragment information (internal [`RNDIS_PKTINFO_ID`]).
    pub pktinfo_id: Option<RndisPktinfoId>,
}

/// Finds a per-packet info value like `rndis_get_ppi`.
///
/// `rpkt` is the packet body (from the start of the [`RndisPacket`] to the end of the received
/// range), `pkt` its header. Returns the first `size_of::<T>()` bytes of the value of the first
/// record of type `ty` and `internal`. As in C, a missing or out-of-range info area means no
/// value.
///
/// # Errors
///
/// [`Error::MalformedPpi`] for a record that overruns the area, whose value offset is not
/// inside it, or too small for `T` (C spins forever on these), or a header that does not fit
/// in the area.
pub fn find_ppi<T: FromBytes>(
    rpkt: &[u8],
    pkt: &RndisPacket,
    ty: u32,
    internal: bool,
) -> Result<Option<T>, Error> {
    let off = pkt.per_pkt_info_offset as usize;
    let len = pkt.per_pkt_info_len as usize;
    if off == 0 {
        return Ok(None);
    }
    if off < size_of::<RndisPacket>() || off > rpkt.len() {
        return Ok(None);
    }
    if len < size_of::<RndisPerPacketInfo>() || len > rpkt.len() - off {
        return Ok(None);
    }
    let mut area = rpkt.get(off..off + len).unwrap_or(&[]);
    while !area.is_empty() {
        let ppi: RndisPerPacketInfo = read_at(area, 0).map_err(|_| Error::MalformedPpi)?;
        let size = ppi.size as usize;
        let value_off = ppi.ppi_offset as usize;
        if size > area.len() || value_off >= size {
            return Err(Error::MalformedPpi);
        }
        if ppi.ty() == ty && ppi.internal() == internal {
            if size - value_off < size_of::<T>() {
                return Err(Error::MalformedPpi);
            }
            return read_at(area, value_off)
                .map(Some)
                .map_err(|_| Error::MalformedPpi);
        }
        // `size > value_off >= 0`, so the walk always advances.
        area = area.get(size..).unwrap_or(&[]);
    }
    Ok(None)
}

/// Parses a received data packet like `rndis_filter_receive_data`.
///
/// `buf` is the whole receive range, already accepted by [`parse_message`] (as in C, the
/// checks here use the range length, not `msg_len`).
///
/// # Errors
///
/// [`Error::Truncated`] if the range cannot hold the header and [`RndisPacket`],
/// [`Error::InvalidDataRange`] if the frame lies outside it, [`Error::MalformedPpi`] (see
/// [`find_ppi`]). C answers the host `NVSP_STAT_FAIL` for the first two.
pub fn parse_data_packet(buf: &[u8]) -> Result<RndisDataPacket<'_>, Error> {
    let pkt: RndisPacket = read_at(buf, RNDIS_HEADER_SIZE)?;
    let rpkt = buf.get(RNDIS_HEADER_SIZE..).unwrap_or(&[]);
    let data_offset = pkt.data_offset as usize;
    if data_offset >= rpkt.len() {
        return Err(Error::InvalidDataRange);
    }
    let data = rpkt
        .get(data_offset..)
        .and_then(|d| d.get(..pkt.data_len as usize))
        .ok_or(Error::InvalidDataRange)?;
    Ok(RndisDataPacket {
        data,
        vlan: find_ppi(rpkt, &pkt, NdisPerPktInfoType::IEEE_8021Q.0, false)?,
        csum: find_ppi(rpkt, &pkt, NdisPerPktInfoType::TCPIP_CHKSUM.0, false)?,
        hash: find_ppi(rpkt, &pkt, NdisPerPktInfoType::NBL_HASH_VALUE.0, false)?,
        pktinfo_id: find_ppi(rpkt, &pkt, RNDIS_PKTINFO_ID, true)?,
    })
}

/// A completion of a guest request.
#[derive(Copy, Clone, Debug)]
pub struct RndisCompletion<'a> {
    /// The completion type.
    pub msg_type: RndisMsgType,
    /// The request id (first `u32` of every completion but reset's).
    pub req_id: u32,
    /// The body.
    pub body: &'a [u8],
}

impl RndisCompletion<'_> {
    /// Reads the body as `T`, zero-extended like C's zeroed response buffer.
    pub fn fixed<T: FromBytes + IntoBytes>(&self) -> T {
        read_zero_extended(self.body, 0)
    }

    /// Returns the status of an init, query, set or keepalive completion (the second `u32`).
    pub fn status(&self) -> RndisStatus {
        RndisStatus(read_zero_extended(self.body, 4))
    }

    /// Returns the information buffer of a query completion, validated like
    /// `rndis_filter_query_device`: success status, offset at least 16, buffer inside the
    /// message and at most `max_len` bytes.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInfoBuffer`] otherwise (C returns -1).
    pub fn query_info(&self, max_len: usize) -> Result<&[u8], Error> {
        let qc: RndisQueryComplete = read_at(self.body, 0).map_err(|_| Error::InvalidInfoBuffer)?;
        let len = qc.info_buflen as usize;
        let off = qc.info_buf_offset as usize;
        if { qc.status } != RndisStatus::SUCCESS
            || len > max_len
            || off < size_of::<RndisQueryComplete>()
            || off > self.body.len()
            || self.body.len() - off < len
        {
            return Err(Error::InvalidInfoBuffer);
        }
        self.body
            .get(off..off + len)
            .ok_or(Error::InvalidInfoBuffer)
    }
}

/// Parses a completion (`INIT_C`, `QUERY_C`, `SET_C`, `KEEPALIVE_C`, `RESET_C`) like
/// `rndis_filter_receive_response`.
///
/// # Errors
///
/// [`Error::Truncated`] if the body has no request id, [`Error::ResponseOverflow`] if the
/// message is larger than C's response buffer.
pub fn parse_completion<'a>(msg: &RndisMessage<'a>) -> Result<RndisCompletion<'a>, Error> {
    let req_id: u32 = read_at(msg.body, 0)?;
    let msg_len = msg.header.msg_len;
    if msg_len as usize > RNDIS_MESSAGE_SIZE + RNDIS_EXT_LEN {
        return Err(Error::ResponseOverflow(msg_len));
    }
    Ok(RndisCompletion {
        msg_type: msg.header.ndis_msg_type,
        req_id,
        body: msg.body,
    })
}

/// A status indication, as `netvsc_linkstatus_callback` reads it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct IndicateStatus {
    /// The status.
    pub status: RndisStatus,
    /// For [`RndisStatus::LINK_SPEED_CHANGE`], the new speed in 100 bps units (C divides by
    /// 10000 for Mbps).
    pub link_speed: Option<u32>,
}

/// Parses an `INDICATE` message like `netvsc_linkstatus_callback`.
///
/// # Errors
///
/// [`Error::Truncated`] if the body is shorter than [`RndisIndicateStatus`];
/// [`Error::InvalidInfoBuffer`] if a link-speed change carries no valid 4-byte buffer (checked
/// against the received bytes, since some hosts leave it out of `msg_len`).
pub fn parse_indicate_status(msg: &RndisMessage<'_>) -> Result<IndicateStatus, Error> {
    let ind: RndisIndicateStatus = read_at(msg.body, 0)?;
    let mut link_speed = None;
    if { ind.status } == RndisStatus::LINK_SPEED_CHANGE {
        let len = ind.status_buflen as usize;
        let off = ind.status_buf_offset as usize;
        let have = msg.received.len();
        if len < 4 || off < size_of::<RndisIndicateStatus>() || have < off || have - off < len {
            return Err(Error::InvalidInfoBuffer);
        }
        link_speed = Some(read_at(msg.received, off).map_err(|_| Error::InvalidInfoBuffer)?);
    }
    Ok(IndicateStatus {
        status: ind.status,
        link_speed,
    })
}

/// Writes `header` then `body` then `extra` into `buf`; returns the message length.
fn write_message<T: IntoBytes + zerocopy::Immutable>(
    buf: &mut [u8],
    msg_type: RndisMsgType,
    body: &T,
    extra: &[u8],
) -> Result<usize, Error> {
    let len = RNDIS_HEADER_SIZE + size_of::<T>() + extra.len();
    let have = buf.len();
    let dst = buf
        .get_mut(..len)
        .ok_or(Error::Truncated { need: len, have })?;
    let header = RndisMessageHeader {
        ndis_msg_type: msg_type,
        msg_len: len as u32,
    };
    let (h, rest) = dst.split_at_mut(RNDIS_HEADER_SIZE);
    h.copy_from_slice(header.as_bytes());
    let (b, e) = rest.split_at_mut(size_of::<T>());
    b.copy_from_slice(body.as_bytes());
    e.copy_from_slice(extra);
    Ok(len)
}

/// Builds `NdisInitialize` (version 1.0, `max_xfer_size` 0x4000) into `buf`; returns its
/// length.
///
/// # Errors
///
/// [`Error::Truncated`] if `buf` is too small.
pub fn build_init(buf: &mut [u8], req_id: u32) -> Result<usize, Error> {
    let body = RndisInitializeRequest {
        req_id,
        major_ver: RNDIS_MAJOR_VERSION,
        minor_ver: RNDIS_MINOR_VERSION,
        max_xfer_size: RNDIS_INIT_MAX_XFER_SIZE,
    };
    write_message(buf, RndisMsgType::INIT, &body, &[])
}

/// Builds `NdisQueryRequest` for `oid` with input buffer `info` (offset 20); returns its
/// length.
///
/// # Errors
///
/// [`Error::Truncated`] if `buf` is too small.
pub fn build_query(buf: &mut [u8], req_id: u32, oid: Oid, info: &[u8]) -> Result<usize, Error> {
    let body = RndisQueryRequest {
        req_id,
        oid,
        info_buflen: info.len() as u32,
        info_buf_offset: size_of::<RndisQueryRequest>() as u32,
        dev_vc_handle: 0,
    };
    write_message(buf, RndisMsgType::QUERY, &body, info)
}

/// Builds `NdisSetRequest` for `oid` with value `info` (offset 20); returns its length.
///
/// # Errors
///
/// [`Error::Truncated`] if `buf` is too small.
pub fn build_set(buf: &mut [u8], req_id: u32, oid: Oid, info: &[u8]) -> Result<usize, Error> {
    let body = RndisSetRequest {
        req_id,
        oid,
        info_buflen: info.len() as u32,
        info_buf_offset: size_of::<RndisSetRequest>() as u32,
        dev_vc_handle: 0,
    };
    write_message(buf, RndisMsgType::SET, &body, info)
}

/// Builds `NdisHalt`; returns its length.
///
/// # Errors
///
/// [`Error::Truncated`] if `buf` is too small.
pub fn build_halt(buf: &mut [u8], req_id: u32) -> Result<usize, Error> {
    write_message(buf, RndisMsgType::HALT, &RndisHaltRequest { req_id }, &[])
}

/// Builds `NdisKeepAlive`; returns its length.
///
/// # Errors
///
/// [`Error::Truncated`] if `buf` is too small.
pub fn build_keepalive(buf: &mut [u8], req_id: u32) -> Result<usize, Error> {
    write_message(
        buf,
        RndisMsgType::KEEPALIVE,
        &RndisKeepaliveRequest { req_id },
        &[],
    )
}

/// A per-packet info value to attach to a transmitted packet.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TxPpi {
    /// [`NdisPerPktInfoType::NBL_HASH_VALUE`].
    Hash(u32),
    /// [`NdisPerPktInfoType::IEEE_8021Q`].
    Vlan(NdisPkt8021qInfo),
    /// [`NdisPerPktInfoType::TCP_LARGESEND`].
    Lso(NdisTcpLsoInfo),
    /// [`NdisPerPktInfoType::TCPIP_CHKSUM`].
    Checksum(NdisTcpIpChecksumInfo),
}

/// Builds the RNDIS header of a transmitted frame like `netvsc_xmit`/`init_ppi_data`: the
/// message header (`msg_len` = header + packet + records + `data_len`), the [`RndisPacket`]
/// (`data_offset` after the records) and one 16-byte record per `ppis` entry, in order. The
/// frame itself is not copied; it must follow the returned number of bytes.
///
/// # Errors
///
/// [`Error::Truncated`] if `buf` cannot hold the header and records.
pub fn build_data_packet(buf: &mut [u8], data_len: u32, ppis: &[TxPpi]) -> Result<usize, Error> {
    const REC: usize = size_of::<RndisPerPacketInfo>() + 4;
    let ppi_len = ppis.len() * REC;
    let head_len = RNDIS_HEADER_SIZE + size_of::<RndisPacket>() + ppi_len;
    let have = buf.len();
    let dst = buf.get_mut(..head_len).ok_or(Error::Truncated {
        need: head_len,
        have,
    })?;
    let pkt = RndisPacket {
        data_offset: (size_of::<RndisPacket>() + ppi_len) as u32,
        data_len,
        per_pkt_info_offset: size_of::<RndisPacket>() as u32,
        per_pkt_info_len: ppi_len as u32,
        ..Default::default()
    };
    let header = RndisMessageHeader {
        ndis_msg_type: RndisMsgType::PACKET,
        msg_len: (head_len as u32).wrapping_add(data_len),
    };
    let (h, rest) = dst.split_at_mut(RNDIS_HEADER_SIZE);
    h.copy_from_slice(header.as_bytes());
    let (p, mut rest) = rest.split_at_mut(size_of::<RndisPacket>());
    p.copy_from_slice(pkt.as_bytes());
    for ppi in ppis {
        let (ty, value) = match *ppi {
            TxPpi::Hash(v) => (NdisPerPktInfoType::NBL_HASH_VALUE, v),
            TxPpi::Vlan(v) => (NdisPerPktInfoType::IEEE_8021Q, v.0),
            TxPpi::Lso(v) => (NdisPerPktInfoType::TCP_LARGESEND, v.0),
            TxPpi::Checksum(v) => (NdisPerPktInfoType::TCPIP_CHKSUM, v.0),
        };
        let rec = RndisPerPacketInfo::new(ty.0, false, 4);
        let (r, tail) = rest.split_at_mut(REC);
        let (rh, rv) = r.split_at_mut(size_of::<RndisPerPacketInfo>());
        rh.copy_from_slice(rec.as_bytes());
        rv.copy_from_slice(&value.to_le_bytes());
        rest = tail;
    }
    Ok(head_len)
}

#[cfg(test)]
mod tests;
