// SPDX-License-Identifier: GPL-2.0

//! The network VSP protocol (NVSP) of the synthetic NIC, versions 1 to 6.1.
//!
//! C header: [`drivers/net/hyperv/hyperv_net.h`](srctree/drivers/net/hyperv/hyperv_net.h)
//! (`nvsp_message` and its members); behaviour:
//! [`drivers/net/hyperv/netvsc.c`](srctree/drivers/net/hyperv/netvsc.c)
//! (`negotiate_nvsp_ver`, `netvsc_connect_vsp`, `netvsc_init_buf`, `netvsc_send_completion`,
//! `netvsc_receive`, `netvsc_send_table`, `netvsc_send_vf`).
//!
//! Every message is a [`NvspMessage`]: a 4-byte type and a union. Linux always sends the whole
//! 40-byte message; hosts send 28 bytes (up to NVSP 6.0) or 40 (6.1), so parsers check the
//! length each message type needs, as netvsc does. RNDIS messages ([`super::rndis`]) travel in
//! [`NvspMessageType::SEND_RNDIS_PKT`] messages.

use core::mem::size_of;
use zerocopy::{
    FromBytes,
    FromZeros,
    IntoBytes, //
};
use zerocopy_derive::{
    FromBytes,
    Immutable,
    IntoBytes,
    KnownLayout,
    Unaligned, //
};

/// Errors from parsing NVSP messages.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The message is shorter than its type requires.
    Truncated {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// A message type that is not expected here (C logs "Unknown ... type" and drops it).
    UnexpectedType(NvspMessageType),
    /// A send indirection table whose count is not [`VRSS_SEND_TAB_SIZE`].
    BadIndirectionTableSize(u32),
    /// A send indirection table that lies outside the message.
    IndirectionTableOutOfBounds {
        /// Offset from the start of the message.
        offset: u32,
        /// Message length.
        len: usize,
    },
    /// The host refused or answered a buffer setup inconsistently (`netvsc_init_buf`).
    InvalidBuffer,
}

open_enum! {
    /// An NVSP protocol version (`NVSP_PROTOCOL_VERSION_*`).
    pub struct NvspVersion(u32) {
        /// `NVSP_PROTOCOL_VERSION_1`.
        V1 = 2,
        /// `NVSP_PROTOCOL_VERSION_2`.
        V2 = 0x30002,
        /// `NVSP_PROTOCOL_VERSION_4`.
        V4 = 0x40000,
        /// `NVSP_PROTOCOL_VERSION_5`.
        V5 = 0x50000,
        /// `NVSP_PROTOCOL_VERSION_6`.
        V6 = 0x60000,
        /// `NVSP_PROTOCOL_VERSION_61`.
        V61 = 0x60001,
        /// `NVSP_INVALID_PROTOCOL_VERSION`.
        INVALID = 0xFFFF_FFFF,
    }
}

/// The versions Linux tries, in order, each as min = max (`ver_list[]` walked backwards).
pub const NVSP_VERSIONS: [NvspVersion; 6] = [
    NvspVersion::V61,
    NvspVersion::V6,
    NvspVersion::V5,
    NvspVersion::V4,
    NvspVersion::V2,
    NvspVersion::V1,
];

/// Returns the NDIS version `(major, minor)` Linux announces for a negotiated NVSP version:
/// 6.1 up to NVSP 4, 6.30 after.
pub fn ndis_version_for(nvsp: NvspVersion) -> (u32, u32) {
    if nvsp <= NvspVersion::V4 {
        (6, 1)
    } else {
        (6, 30)
    }
}

open_enum! {
    /// An NVSP message type.
    pub struct NvspMessageType(u32) {
        /// `NVSP_MSG_TYPE_NONE`.
        NONE = 0,
        /// `NVSP_MSG_TYPE_INIT`: [`NvspMessageInit`].
        INIT = 1,
        /// `NVSP_MSG_TYPE_INIT_COMPLETE`: [`NvspMessageInitComplete`].
        INIT_COMPLETE = 2,
        /// `NVSP_MSG1_TYPE_SEND_NDIS_VER`: [`Nvsp1SendNdisVersion`].
        SEND_NDIS_VER = 100,
        /// `NVSP_MSG1_TYPE_SEND_RECV_BUF`: [`Nvsp1SendReceiveBuffer`].
        SEND_RECV_BUF = 101,
        /// `NVSP_MSG1_TYPE_SEND_RECV_BUF_COMPLETE`: [`Nvsp1SendReceiveBufferComplete`].
        SEND_RECV_BUF_COMPLETE = 102,
        /// `NVSP_MSG1_TYPE_REVOKE_RECV_BUF`: [`Nvsp1RevokeReceiveBuffer`].
        REVOKE_RECV_BUF = 103,
        /// `NVSP_MSG1_TYPE_SEND_SEND_BUF`: [`Nvsp1SendSendBuffer`].
        SEND_SEND_BUF = 104,
        /// `NVSP_MSG1_TYPE_SEND_SEND_BUF_COMPLETE`: [`Nvsp1SendSendBufferComplete`].
        SEND_SEND_BUF_COMPLETE = 105,
        /// `NVSP_MSG1_TYPE_REVOKE_SEND_BUF`: [`Nvsp1RevokeSendBuffer`].
        REVOKE_SEND_BUF = 106,
        /// `NVSP_MSG1_TYPE_SEND_RNDIS_PKT`: [`Nvsp1SendRndisPacket`].
        SEND_RNDIS_PKT = 107,
        /// `NVSP_MSG1_TYPE_SEND_RNDIS_PKT_COMPLETE`: [`Nvsp1SendRndisPacketComplete`].
        SEND_RNDIS_PKT_COMPLETE = 108,
        /// `NVSP_MSG2_TYPE_SEND_CHIMNEY_DELEGATED_BUF`.
        SEND_CHIMNEY_DELEGATED_BUF = 109,
        /// `NVSP_MSG2_TYPE_SEND_CHIMNEY_DELEGATED_BUF_COMP`.
        SEND_CHIMNEY_DELEGATED_BUF_COMP = 110,
        /// `NVSP_MSG2_TYPE_REVOKE_CHIMNEY_DELEGATED_BUF`.
        REVOKE_CHIMNEY_DELEGATED_BUF = 111,
        /// `NVSP_MSG2_TYPE_RESUME_CHIMNEY_RX_INDICATION`.
        RESUME_CHIMNEY_RX_INDICATION = 112,
        /// `NVSP_MSG2_TYPE_TERMINATE_CHIMNEY`.
        TERMINATE_CHIMNEY = 113,
        /// `NVSP_MSG2_TYPE_TERMINATE_CHIMNEY_COMP`.
        TERMINATE_CHIMNEY_COMP = 114,
        /// `NVSP_MSG2_TYPE_INDICATE_CHIMNEY_EVENT`.
        INDICATE_CHIMNEY_EVENT = 115,
        /// `NVSP_MSG2_TYPE_SEND_CHIMNEY_PKT`.
        SEND_CHIMNEY_PKT = 116,
        /// `NVSP_MSG2_TYPE_SEND_CHIMNEY_PKT_COMP`.
        SEND_CHIMNEY_PKT_COMP = 117,
        /// `NVSP_MSG2_TYPE_POST_CHIMNEY_RECV_REQ`.
        POST_CHIMNEY_RECV_REQ = 118,
        /// `NVSP_MSG2_TYPE_POST_CHIMNEY_RECV_REQ_COMP`.
        POST_CHIMNEY_RECV_REQ_COMP = 119,
        /// `NVSP_MSG2_TYPE_ALLOC_RXBUF`: [`Nvsp2AllocRxbuf`].
        ALLOC_RXBUF = 120,
        /// `NVSP_MSG2_TYPE_ALLOC_RXBUF_COMP`: [`Nvsp2AllocRxbufComp`].
        ALLOC_RXBUF_COMP = 121,
        /// `NVSP_MSG2_TYPE_FREE_RXBUF`: [`Nvsp2FreeRxbuf`].
        FREE_RXBUF = 122,
        /// `NVSP_MSG2_TYPE_SEND_VMQ_RNDIS_PKT`.
        SEND_VMQ_RNDIS_PKT = 123,
        /// `NVSP_MSG2_TYPE_SEND_VMQ_RNDIS_PKT_COMP`.
        SEND_VMQ_RNDIS_PKT_COMP = 124,
        /// `NVSP_MSG2_TYPE_SEND_NDIS_CONFIG`: [`Nvsp2SendNdisConfig`].
        SEND_NDIS_CONFIG = 125,
        /// `NVSP_MSG2_TYPE_ALLOC_CHIMNEY_HANDLE`.
        ALLOC_CHIMNEY_HANDLE = 126,
        /// `NVSP_MSG2_TYPE_ALLOC_CHIMNEY_HANDLE_COMP`.
        ALLOC_CHIMNEY_HANDLE_COMP = 127,
        /// `NVSP_MSG4_TYPE_SEND_VF_ASSOCIATION`: [`Nvsp4SendVfAssociation`].
        SEND_VF_ASSOCIATION = 128,
        /// `NVSP_MSG4_TYPE_SWITCH_DATA_PATH`: [`Nvsp4SwDatapath`].
        SWITCH_DATA_PATH = 129,
        /// `NVSP_MSG4_TYPE_UPLINK_CONNECT_STATE_DEPRECATED`.
        UPLINK_CONNECT_STATE_DEPRECATED = 130,
        /// `NVSP_MSG5_TYPE_OID_QUERY_EX`.
        OID_QUERY_EX = 131,
        /// `NVSP_MSG5_TYPE_OID_QUERY_EX_COMP`.
        OID_QUERY_EX_COMP = 132,
        /// `NVSP_MSG5_TYPE_SUBCHANNEL`: [`Nvsp5SubchannelRequest`] / [`Nvsp5SubchannelComplete`].
        SUBCHANNEL = 133,
        /// `NVSP_MSG5_TYPE_SEND_INDIRECTION_TABLE`: [`Nvsp5SendIndirectTable`].
        SEND_INDIRECTION_TABLE = 134,
        /// `NVSP_MSG6_TYPE_PD_API` (PacketDirect; unused by Linux).
        PD_API = 135,
        /// `NVSP_MSG6_TYPE_PD_POST_BATCH` (PacketDirect; unused by Linux).
        PD_POST_BATCH = 136,
    }
}

open_enum! {
    /// An NVSP status (`NVSP_STAT_*`).
    pub struct NvspStatus(u32) {
        /// `NVSP_STAT_NONE`.
        NONE = 0,
        /// `NVSP_STAT_SUCCESS`.
        SUCCESS = 1,
        /// `NVSP_STAT_FAIL`.
        FAIL = 2,
        /// `NVSP_STAT_PROTOCOL_TOO_NEW`.
        PROTOCOL_TOO_NEW = 3,
        /// `NVSP_STAT_PROTOCOL_TOO_OLD`.
        PROTOCOL_TOO_OLD = 4,
        /// `NVSP_STAT_INVALID_RNDIS_PKT`.
        INVALID_RNDIS_PKT = 5,
        /// `NVSP_STAT_BUSY`.
        BUSY = 6,
        /// `NVSP_STAT_PROTOCOL_UNSUPPORTED`.
        PROTOCOL_UNSUPPORTED = 7,
    }
}

open_enum! {
    /// The active data path (`enum nvsp_vm_datapath`).
    pub struct NvspVmDatapath(u32) {
        /// `NVSP_DATAPATH_SYNTHETIC`.
        SYNTHETIC = 0,
        /// `NVSP_DATAPATH_VF`.
        VF = 1,
    }
}

open_enum! {
    /// A subchannel operation (`enum nvsp_subchannel_operation`).
    pub struct NvspSubchannelOperation(u32) {
        /// `NVSP_SUBCHANNEL_NONE`.
        NONE = 0,
        /// `NVSP_SUBCHANNEL_ALLOCATE`.
        ALLOCATE = 1,
    }
}

/// [`Nvsp1SendRndisPacket::channel_type`] of data packets (RMC_DATA).
pub const NVSP_RNDIS_CHANNEL_DATA: u32 = 0;
/// [`Nvsp1SendRndisPacket::channel_type`] of control messages (RMC_CONTROL).
pub const NVSP_RNDIS_CHANNEL_CONTROL: u32 = 1;
/// `NETVSC_INVALID_INDEX`: [`Nvsp1SendRndisPacket::send_buf_section_index`] when the send
/// buffer is not used.
pub const NETVSC_INVALID_INDEX: u32 = 0xFFFF_FFFF;
/// `NETVSC_RECEIVE_BUFFER_ID`: id of the receive buffer and of its transfer page set.
pub const NETVSC_RECEIVE_BUFFER_ID: u16 = 0xcafe;
/// `NETVSC_SEND_BUFFER_ID`.
pub const NETVSC_SEND_BUFFER_ID: u16 = 0;
/// `NETVSC_RECEIVE_BUFFER_SIZE`: largest receive buffer (31 MiB).
pub const NETVSC_RECEIVE_BUFFER_SIZE: u32 = 31 * 1024 * 1024;
/// `NETVSC_RECEIVE_BUFFER_SIZE_LEGACY`: largest receive buffer up to NVSP 2 (15 MiB).
pub const NETVSC_RECEIVE_BUFFER_SIZE_LEGACY: u32 = 15 * 1024 * 1024;
/// `NETVSC_RECEIVE_BUFFER_DEFAULT` (16 MiB).
pub const NETVSC_RECEIVE_BUFFER_DEFAULT: u32 = 16 * 1024 * 1024;
/// `NETVSC_SEND_BUFFER_SIZE`: largest send buffer (15 MiB).
pub const NETVSC_SEND_BUFFER_SIZE: u32 = 15 * 1024 * 1024;
/// `NETVSC_SEND_BUFFER_DEFAULT` (1 MiB).
pub const NETVSC_SEND_BUFFER_DEFAULT: u32 = 1024 * 1024;
/// `NETVSC_SEND_SECTION_SIZE`.
pub const NETVSC_SEND_SECTION_SIZE: u32 = 6144;
/// `NETVSC_RECV_SECTION_SIZE`.
pub const NETVSC_RECV_SECTION_SIZE: u32 = 1728;
/// `NETVSC_MTU_MIN` (`ETH_MIN_MTU`): smallest section size netvsc accepts from the host.
pub const NETVSC_MTU_MIN: u32 = 68;
/// `NETVSC_MTU`: largest MTU.
pub const NETVSC_MTU: u32 = 65535;
/// `VRSS_SEND_TAB_SIZE`: entries of the host's send indirection table.
pub const VRSS_SEND_TAB_SIZE: usize = 16;
/// `VRSS_CHANNEL_MAX`: most channels (primary + subchannels).
pub const VRSS_CHANNEL_MAX: u32 = 64;
/// `VRSS_CHANNEL_DEFAULT`.
pub const VRSS_CHANNEL_DEFAULT: u32 = 16;
/// `NVSP_RSC_MAX`: most RSC fragments (transfer-page ranges) in one receive packet.
pub const NVSP_RSC_MAX: usize = 562;
/// Size of `union nvsp_6_message_uber`, used to fix the indirection table offset of hosts up to
/// NVSP 6.0.
pub const NVSP6_MESSAGE_UBER_SIZE: usize = 36;

/// The NVSP message header.
///
/// Mirrors `struct nvsp_message_header` (`hyperv_net.h`, 4 bytes).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct NvspMessageHeader {
    /// Message type.
    pub msg_type: NvspMessageType,
}
const _: () = assert!(size_of::<NvspMessageHeader>() == 4);

/// Version negotiation request.
///
/// Mirrors `struct nvsp_message_init` (`hyperv_net.h`, 8 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct NvspMessageInit {
    /// Lowest version (Linux: the version it tries).
    pub min_protocol_ver: NvspVersion,
    /// Highest version (Linux: the same).
    pub max_protocol_ver: NvspVersion,
}
const _: () = assert!(size_of::<NvspMessageInit>() == 8);

/// Version negotiation answer.
///
/// Mirrors `struct nvsp_message_init_complete` (`hyperv_net.h`, 12 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct NvspMessageInitComplete {
    /// Deprecated.
    pub negotiated_protocol_ver: u32,
    /// Longest MDL chain.
    pub max_mdl_chain_len: u32,
    /// [`NvspStatus::SUCCESS`] if the version is accepted.
    pub status: NvspStatus,
}
const _: () = assert!(size_of::<NvspMessageInitComplete>() == 12);

/// Announces the NDIS version.
///
/// Mirrors `struct nvsp_1_message_send_ndis_version` (`hyperv_net.h`, 8 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct Nvsp1SendNdisVersion {
    /// NDIS major version (6).
    pub ndis_major_ver: u32,
    /// NDIS minor version (1 or 30).
    pub ndis_minor_ver: u32,
}
const _: () = assert!(size_of::<Nvsp1SendNdisVersion>() == 8);

/// Hands the receive buffer to the host.
///
/// Mirrors `struct nvsp_1_message_send_receive_buffer` (`hyperv_net.h`, 6 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct Nvsp1SendReceiveBuffer {
    /// GPADL of the buffer.
    pub gpadl_handle: u32,
    /// Buffer id ([`NETVSC_RECEIVE_BUFFER_ID`]).
    pub id: u16,
}
const _: () = assert!(size_of::<Nvsp1SendReceiveBuffer>() == 6);

/// A section of the receive buffer.
///
/// Mirrors `struct nvsp_1_receive_buffer_section` (`hyperv_net.h`, 16 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct Nvsp1ReceiveBufferSection {
    /// Byte offset of the section (must be 0).
    pub offset: u32,
    /// Bytes per sub-allocation (the receive section size).
    pub sub_alloc_size: u32,
    /// Number of sub-allocations.
    pub num_sub_allocs: u32,
    /// End offset.
    pub end_offset: u32,
}
const _: () = assert!(size_of::<Nvsp1ReceiveBufferSection>() == 16);

/// The host's answer to the receive buffer, without its section array.
///
/// Mirrors the fixed part of `struct nvsp_1_message_send_receive_buffer_complete`
/// (`hyperv_net.h`, 8 bytes, packed); `num_sections` [`Nvsp1ReceiveBufferSection`]s follow.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct Nvsp1SendReceiveBufferComplete {
    /// Status.
    pub status: NvspStatus,
    /// Number of sections (Linux requires 1).
    pub num_sections: u32,
}
const _: () = assert!(size_of::<Nvsp1SendReceiveBufferComplete>() == 8);

/// Revokes the receive buffer.
///
/// Mirrors `struct nvsp_1_message_revoke_receive_buffer` (`hyperv_net.h`, 2 bytes).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct Nvsp1RevokeReceiveBuffer {
    /// Buffer id.
    pub id: u16,
}
const _: () = assert!(size_of::<Nvsp1RevokeReceiveBuffer>() == 2);

/// Hands the send buffer to the host.
///
/// Mirrors `struct nvsp_1_message_send_send_buffer` (`hyperv_net.h`, 6 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct Nvsp1SendSendBuffer {
    /// GPADL of the buffer.
    pub gpadl_handle: u32,
    /// Buffer id ([`NETVSC_SEND_BUFFER_ID`]).
    pub id: u16,
}
const _: () = assert!(size_of::<Nvsp1SendSendBuffer>() == 6);

/// The host's answer to the send buffer.
///
/// Mirrors `struct nvsp_1_message_send_send_buffer_complete` (`hyperv_net.h`, 8 bytes,
/// packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct Nvsp1SendSendBufferComplete {
    /// Status.
    pub status: NvspStatus,
    /// Section size in bytes chosen by the host.
    pub section_size: u32,
}
const _: () = assert!(size_of::<Nvsp1SendSendBufferComplete>() == 8);

/// Revokes the send buffer.
///
/// Mirrors `struct nvsp_1_message_revoke_send_buffer` (`hyperv_net.h`, 2 bytes).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct Nvsp1RevokeSendBuffer {
    /// Buffer id.
    pub id: u16,
}
const _: () = assert!(size_of::<Nvsp1RevokeSendBuffer>() == 2);

/// Carries an RNDIS message.
///
/// Mirrors `struct nvsp_1_message_send_rndis_packet` (`hyperv_net.h`, 12 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct Nvsp1SendRndisPacket {
    /// [`NVSP_RNDIS_CHANNEL_DATA`] or [`NVSP_RNDIS_CHANNEL_CONTROL`].
    pub channel_type: u32,
    /// Send buffer section holding the message, or [`NETVSC_INVALID_INDEX`].
    pub send_buf_section_index: u32,
    /// Bytes used in that section (0 when none).
    pub send_buf_section_size: u32,
}
const _: () = assert!(size_of::<Nvsp1SendRndisPacket>() == 12);

/// Completes an RNDIS message.
///
/// Mirrors `struct nvsp_1_message_send_rndis_packet_complete` (`hyperv_net.h`, 4 bytes).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct Nvsp1SendRndisPacketComplete {
    /// Status.
    pub status: NvspStatus,
}
const _: () = assert!(size_of::<Nvsp1SendRndisPacketComplete>() == 4);

/// Guest capabilities announced in [`Nvsp2SendNdisConfig`].
///
/// Mirrors `struct nvsp_2_vsc_capability` (`hyperv_net.h`, 8 bytes, packed): a `u64` of
/// bits, the `NVSP_CAP_*` constants.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct Nvsp2VscCapability {
    /// The bits.
    pub data: u64,
}
const _: () = assert!(size_of::<Nvsp2VscCapability>() == 8);

/// Capability bit `vmq`.
pub const NVSP_CAP_VMQ: u64 = 1 << 0;
/// Capability bit `chimney`.
pub const NVSP_CAP_CHIMNEY: u64 = 1 << 1;
/// Capability bit `sriov` (Linux sets it from NVSP 5 unless isolated).
pub const NVSP_CAP_SRIOV: u64 = 1 << 2;
/// Capability bit `ieee8021q` (Linux always sets it).
pub const NVSP_CAP_IEEE8021Q: u64 = 1 << 3;
/// Capability bit `correlation_id`.
pub const NVSP_CAP_CORRELATION_ID: u64 = 1 << 4;
/// Capability bit `teaming` (Linux sets it from NVSP 5, for link speed updates).
pub const NVSP_CAP_TEAMING: u64 = 1 << 5;
/// Capability bit `vsubnetid`.
pub const NVSP_CAP_VSUBNETID: u64 = 1 << 6;
/// Capability bit `rsc` (Linux sets it from NVSP 6.1).
pub const NVSP_CAP_RSC: u64 = 1 << 7;

/// Returns the capabilities Linux announces for a negotiated version (`negotiate_nvsp_ver`);
/// `isolated` is `hv_is_isolation_supported()`.
pub fn ndis_config_capabilities(version: NvspVersion, isolated: bool) -> Nvsp2VscCapability {
    let mut data = NVSP_CAP_IEEE8021Q;
    if version >= NvspVersion::V5 {
        if !isolated {
            data |= NVSP_CAP_SRIOV;
        }
        data |= NVSP_CAP_TEAMING;
    }
    if version >= NvspVersion::V61 {
        data |= NVSP_CAP_RSC;
    }
    Nvsp2VscCapability { data }
}

/// Sends the MTU and capabilities (NVSP 2+, no completion).
///
/// Mirrors `struct nvsp_2_send_ndis_config` (`hyperv_net.h`, 16 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct Nvsp2SendNdisConfig {
    /// MTU plus the 14-byte Ethernet header.
    pub mtu: u32,
    /// Reserved.
    pub reserved: u32,
    /// Capabilities.
    pub capability: Nvsp2VscCapability,
}
const _: () = assert!(size_of::<Nvsp2SendNdisConfig>() == 16);

/// Asks for a receive buffer allocation (unused by Linux).
///
/// Mirrors `struct nvsp_2_alloc_rxbuf` (`hyperv_net.h`, 8 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct Nvsp2AllocRxbuf {
    /// Allocation id matching request and response.
    pub alloc_id: u32,
    /// Bytes to allocate.
    pub len: u32,
}
const _: () = assert!(size_of::<Nvsp2AllocRxbuf>() == 8);

/// Answer to [`Nvsp2AllocRxbuf`] (unused by Linux).
///
/// Mirrors `struct nvsp_2_alloc_rxbuf_comp` (`hyperv_net.h`, 20 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct Nvsp2AllocRxbufComp {
    /// NDIS status.
    pub status: u32,
    /// Allocation id.
    pub alloc_id: u32,
    /// GPADL of the buffer.
    pub gpadl_handle: u32,
    /// Buffer id.
    pub recv_buf_id: u64,
}
const _: () = assert!(size_of::<Nvsp2AllocRxbufComp>() == 20);

/// Frees a receive buffer (unused by Linux).
///
/// Mirrors `struct nvsp_2_free_rxbuf` (`hyperv_net.h`, 8 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct Nvsp2FreeRxbuf {
    /// Buffer id.
    pub recv_buf_id: u64,
}
const _: () = assert!(size_of::<Nvsp2FreeRxbuf>() == 8);

/// Associates a VF with this NIC (host to guest).
///
/// Mirrors `struct nvsp_4_send_vf_association` (`hyperv_net.h`, 8 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct Nvsp4SendVfAssociation {
    /// 1: a VF is allocated and `serial` is valid; 0: none.
    pub allocated: u32,
    /// Serial number of the VF (its vPCI slot).
    pub serial: u32,
}
const _: () = assert!(size_of::<Nvsp4SendVfAssociation>() == 8);

/// Switches the data path (guest to host, completion requested).
///
/// Mirrors `struct nvsp_4_sw_datapath` (`hyperv_net.h`, 4 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct Nvsp4SwDatapath {
    /// The data path to use.
    pub active_datapath: NvspVmDatapath,
}
const _: () = assert!(size_of::<Nvsp4SwDatapath>() == 4);

/// Asks for subchannels.
///
/// Mirrors `struct nvsp_5_subchannel_request` (`hyperv_net.h`, 8 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct Nvsp5SubchannelRequest {
    /// Operation.
    pub op: NvspSubchannelOperation,
    /// Subchannels wanted.
    pub num_subchannels: u32,
}
const _: () = assert!(size_of::<Nvsp5SubchannelRequest>() == 8);

/// Answer to [`Nvsp5SubchannelRequest`].
///
/// Mirrors `struct nvsp_5_subchannel_complete` (`hyperv_net.h`, 8 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct Nvsp5SubchannelComplete {
    /// Status.
    pub status: NvspStatus,
    /// Subchannels allocated.
    pub num_subchannels: u32,
}
const _: () = assert!(size_of::<Nvsp5SubchannelComplete>() == 8);

/// The host's send indirection table header; `count` `u32` channel numbers follow at
/// `offset`.
///
/// Mirrors `struct nvsp_5_send_indirect_table` (`hyperv_net.h`, 8 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct Nvsp5SendIndirectTable {
    /// Entries ([`VRSS_SEND_TAB_SIZE`]).
    pub count: u32,
    /// Byte offset of the table from the start of the [`NvspMessage`] (wrong on hosts up to
    /// NVSP 6.0; see [`parse_inband`]).
    pub offset: u32,
}
const _: () = assert!(size_of::<Nvsp5SendIndirectTable>() == 8);

/// Size of the [`NvspMessage`] union.
pub const NVSP_MESSAGE_UNION_SIZE: usize = 36;

/// An NVSP message.
///
/// Mirrors `struct nvsp_message` (`hyperv_net.h`, 40 bytes, packed). The union
/// (`union nvsp_all_messages`) is [`NvspMessage::msg`]; the constructors below fill it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct NvspMessage {
    /// Header.
    pub hdr: NvspMessageHeader,
    /// The union of all message bodies.
    pub msg: [u8; NVSP_MESSAGE_UNION_SIZE],
}
const _: () = assert!(size_of::<NvspMessage>() == 40);

impl NvspMessage {
    /// Returns a message of type `msg_type` with `body` at the start of the union and zeros
    /// after it.
    pub fn new<T: IntoBytes + zerocopy::Immutable>(msg_type: NvspMessageType, body: &T) -> Self {
        const { assert!(size_of::<T>() <= NVSP_MESSAGE_UNION_SIZE) };
        let mut m = Self::new_zeroed();
        m.hdr.msg_type = msg_type;
        if let Some(dst) = m.msg.get_mut(..size_of::<T>()) {
            dst.copy_from_slice(body.as_bytes());
        }
        m
    }

    /// `NVSP_MSG_TYPE_INIT` for one version (min = max), as `negotiate_nvsp_ver` sends it.
    pub fn init(version: NvspVersion) -> Self {
        Self::new(
            NvspMessageType::INIT,
            &NvspMessageInit {
                min_protocol_ver: version,
                max_protocol_ver: version,
            },
        )
    }

    /// `NVSP_MSG2_TYPE_SEND_NDIS_CONFIG` with `mtu` (the interface MTU; 14 is added) and the
    /// capabilities of `version`.
    pub fn send_ndis_config(mtu: u32, version: NvspVersion, isolated: bool) -> Self {
        Self::new(
            NvspMessageType::SEND_NDIS_CONFIG,
            &Nvsp2SendNdisConfig {
                mtu: mtu.wrapping_add(14),
                reserved: 0,
                capability: ndis_config_capabilities(version, isolated),
            },
        )
    }

    /// `NVSP_MSG1_TYPE_SEND_NDIS_VER` for the negotiated NVSP version.
    pub fn send_ndis_version(version: NvspVersion) -> Self {
        let (ndis_major_ver, ndis_minor_ver) = ndis_version_for(version);
        Self::new(
            NvspMessageType::SEND_NDIS_VER,
            &Nvsp1SendNdisVersion {
                ndis_major_ver,
                ndis_minor_ver,
            },
        )
    }

    /// `NVSP_MSG1_TYPE_SEND_RECV_BUF` with [`NETVSC_RECEIVE_BUFFER_ID`].
    pub fn send_recv_buf(gpadl_handle: u32) -> Self {
        Self::new(
            NvspMessageType::SEND_RECV_BUF,
            &Nvsp1SendReceiveBuffer {
                gpadl_handle,
                id: NETVSC_RECEIVE_BUFFER_ID,
            },
        )
    }

    /// `NVSP_MSG1_TYPE_SEND_SEND_BUF` with [`NETVSC_SEND_BUFFER_ID`].
    pub fn send_send_buf(gpadl_handle: u32) -> Self {
        Self::new(
            NvspMessageType::SEND_SEND_BUF,
            &Nvsp1SendSendBuffer {
                gpadl_handle,
                id: NETVSC_SEND_BUFFER_ID,
            },
        )
    }

    /// `NVSP_MSG1_TYPE_REVOKE_RECV_BUF`.
    pub fn revoke_recv_buf() -> Self {
        Self::new(
            NvspMessageType::REVOKE_RECV_BUF,
            &Nvsp1RevokeReceiveBuffer {
                id: NETVSC_RECEIVE_BUFFER_ID,
            },
        )
    }

    /// `NVSP_MSG1_TYPE_REVOKE_SEND_BUF`.
    pub fn revoke_send_buf() -> Self {
        Self::new(
            NvspMessageType::REVOKE_SEND_BUF,
            &Nvsp1RevokeSendBuffer {
                id: NETVSC_SEND_BUFFER_ID,
            },
        )
    }

    /// `NVSP_MSG1_TYPE_SEND_RNDIS_PKT`.
    pub fn send_rndis_pkt(channel_type: u32, section_index: u32, section_size: u32) -> Self {
        Self::new(
            NvspMessageType::SEND_RNDIS_PKT,
            &Nvsp1SendRndisPacket {
                channel_type,
                send_buf_section_index: section_index,
                send_buf_section_size: section_size,
            },
        )
    }

    /// `NVSP_MSG1_TYPE_SEND_RNDIS_PKT_COMPLETE`, the guest's completion of a receive packet.
    pub fn rndis_pkt_complete(status: NvspStatus) -> Self {
        Self::new(
            NvspMessageType::SEND_RNDIS_PKT_COMPLETE,
            &Nvsp1SendRndisPacketComplete { status },
        )
    }

    /// `NVSP_MSG5_TYPE_SUBCHANNEL` allocating `num` subchannels.
    pub fn subchannel_request(num: u32) -> Self {
        Self::new(
            NvspMessageType::SUBCHANNEL,
            &Nvsp5SubchannelRequest {
                op: NvspSubchannelOperation::ALLOCATE,
                num_subchannels: num,
            },
        )
    }

    /// `NVSP_MSG4_TYPE_SWITCH_DATA_PATH`.
    pub fn switch_data_path(datapath: NvspVmDatapath) -> Self {
        Self::new(
            NvspMessageType::SWITCH_DATA_PATH,
            &Nvsp4SwDatapath {
                active_datapath: datapath,
            },
        )
    }
}

/// Reads a `T` from `msg` at byte `off`, or [`Error::Truncated`].
fn read_at<T: FromBytes>(msg: &[u8], off: usize) -> Result<T, Error> {
    let need = off + size_of::<T>();
    msg.get(off..)
        .and_then(|b| T::read_from_prefix(b).ok())
        .map(|(t, _)| t)
        .ok_or(Error::Truncated {
            need,
            have: msg.len(),
        })
}

/// Reads the message type.
///
/// # Errors
///
/// [`Error::Truncated`] if the message is shorter than 4 bytes.
pub fn message_type(msg: &[u8]) -> Result<NvspMessageType, Error> {
    read_at::<NvspMessageHeader>(msg, 0).map(|h| h.msg_type)
}

/// A host completion of a guest request (VMBus completion packet).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NvspCompletion {
    /// Answer to [`NvspMessage::init`].
    InitComplete(NvspMessageInitComplete),
    /// Answer to [`NvspMessage::send_recv_buf`], with its first section.
    RecvBufComplete {
        /// The fixed part.
        complete: Nvsp1SendReceiveBufferComplete,
        /// `sections[0]`.
        section: Nvsp1ReceiveBufferSection,
    },
    /// Answer to [`NvspMessage::send_send_buf`].
    SendBufComplete(Nvsp1SendSendBufferComplete),
    /// Answer to [`NvspMessage::subchannel_request`].
    Subchannel(Nvsp5SubchannelComplete),
    /// Completion of a sent RNDIS message.
    RndisPktComplete(NvspStatus),
}

/// Parses a completion packet from the host like `netvsc_send_completion`.
///
/// Each type must be long enough for its body (the receive-buffer answer for one section).
/// (Completions of `SWITCH_DATA_PATH` are matched by transaction id and carry no data; they are
/// not parsed here.)
///
/// # Errors
///
/// [`Error::Truncated`] or [`Error::UnexpectedType`] (C logs and drops the packet).
pub fn parse_completion(msg: &[u8]) -> Result<NvspCompletion, Error> {
    const H: usize = size_of::<NvspMessageHeader>();
    Ok(match message_type(msg)? {
        NvspMessageType::INIT_COMPLETE => NvspCompletion::InitComplete(read_at(msg, H)?),
        NvspMessageType::SEND_RECV_BUF_COMPLETE => NvspCompletion::RecvBufComplete {
            section: read_at(msg, H + size_of::<Nvsp1SendReceiveBufferComplete>())?,
            complete: read_at(msg, H)?,
        },
        NvspMessageType::SEND_SEND_BUF_COMPLETE => {
            NvspCompletion::SendBufComplete(read_at(msg, H)?)
        }
        NvspMessageType::SUBCHANNEL => NvspCompletion::Subchannel(read_at(msg, H)?),
        NvspMessageType::SEND_RNDIS_PKT_COMPLETE => NvspCompletion::RndisPktComplete(
            read_at::<Nvsp1SendRndisPacketComplete>(msg, H)?.status,
        ),
        t => return Err(Error::UnexpectedType(t)),
    })
}

/// Validates the receive-buffer answer like `netvsc_init_buf` and returns
/// `(section_size, section_count)`.
///
/// # Errors
///
/// [`Error::InvalidBuffer`] unless the status is success, there is exactly one section at
/// offset 0, its size is at least [`NETVSC_MTU_MIN`] and size * count fits in `buf_size`.
pub fn validate_recv_buf(
    complete: &Nvsp1SendReceiveBufferComplete,
    section: &Nvsp1ReceiveBufferSection,
    buf_size: u32,
) -> Result<(u32, u32), Error> {
    let size = section.sub_alloc_size;
    let count = section.num_sub_allocs;
    if { complete.status } != NvspStatus::SUCCESS
        || complete.num_sections != 1
        || section.offset != 0
        || size < NETVSC_MTU_MIN
        || u64::from(size) * u64::from(count) > u64::from(buf_size)
    {
        return Err(Error::InvalidBuffer);
    }
    Ok((size, count))
}

/// Validates the send-buffer answer like `netvsc_init_buf` and returns
/// `(section_size, section_count)` (count = `buf_size / section_size`).
///
/// # Errors
///
/// [`Error::InvalidBuffer`] unless the status is success and the section size is at least
/// [`NETVSC_MTU_MIN`].
pub fn validate_send_buf(
    complete: &Nvsp1SendSendBufferComplete,
    buf_size: u32,
) -> Result<(u32, u32), Error> {
    let size = complete.section_size;
    if { complete.status } != NvspStatus::SUCCESS || size < NETVSC_MTU_MIN {
        return Err(Error::InvalidBuffer);
    }
    Ok((size, buf_size / size))
}

/// A host in-band message (not a completion, not received data).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NvspInband {
    /// The host's send indirection table (channel per hash bucket).
    SendIndirectionTable([u32; VRSS_SEND_TAB_SIZE]),
    /// VF association.
    VfAssociation(Nvsp4SendVfAssociation),
    /// A type netvsc ignores.
    Other(NvspMessageType),
}

/// Parses a host in-band message like `netvsc_receive_inband`.
///
/// For the send indirection table, as `netvsc_send_table`: the count must be
/// [`VRSS_SEND_TAB_SIZE`]; with a negotiated version up to 6.0 and a message long enough, the
/// host's offset is replaced by 40 (header + `union nvsp_6_message_uber`, a host bug); then the
/// table must lie inside the message.
///
/// # Errors
///
/// [`Error::Truncated`], [`Error::BadIndirectionTableSize`] or
/// [`Error::IndirectionTableOutOfBounds`] (C logs and ignores the message).
pub fn parse_inband(msg: &[u8], version: NvspVersion) -> Result<NvspInband, Error> {
    const H: usize = size_of::<NvspMessageHeader>();
    match message_type(msg)? {
        NvspMessageType::SEND_INDIRECTION_TABLE => {
            let t: Nvsp5SendIndirectTable = read_at(msg, H)?;
            if t.count as usize != VRSS_SEND_TAB_SIZE {
                return Err(Error::BadIndirectionTableSize(t.count));
            }
            let table_bytes = VRSS_SEND_TAB_SIZE * 4;
            let mut offset = t.offset as usize;
            if version <= NvspVersion::V6 && msg.len() >= H + NVSP6_MESSAGE_UBER_SIZE + table_bytes
            {
                offset = H + NVSP6_MESSAGE_UBER_SIZE;
            }
            if msg.len() < table_bytes || offset > msg.len() - table_bytes {
                return Err(Error::IndirectionTableOutOfBounds {
                    offset: offset as u32,
                    len: msg.len(),
                });
            }
            let table: [u32; VRSS_SEND_TAB_SIZE] = read_at(msg, offset)?;
            Ok(NvspInband::SendIndirectionTable(table))
        }
        NvspMessageType::SEND_VF_ASSOCIATION => Ok(NvspInband::VfAssociation(read_at(msg, H)?)),
        t => Ok(NvspInband::Other(t)),
    }
}

/// Checks the NVSP message of a host transfer-page (receive) packet like `netvsc_receive`: it
/// must be a [`NvspMessageType::SEND_RNDIS_PKT`].
///
/// # Errors
///
/// [`Error::Truncated`] or [`Error::UnexpectedType`] (C drops the packet).
pub fn check_receive(msg: &[u8]) -> Result<(), Error> {
    match message_type(msg)? {
        NvspMessageType::SEND_RNDIS_PKT => Ok(()),
        t => Err(Error::UnexpectedType(t)),
    }
}

#[cfg(test)]
mod tests;
