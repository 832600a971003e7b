// SPDX-License-Identifier: GPL-2.0

//! The synthetic storage (VMSTOR/storvsc) protocol.
//!
//! C source: [`drivers/scsi/storvsc_drv.c`](srctree/drivers/scsi/storvsc_drv.c) (`vstor_packet`,
//! `vmscsi_request`, `vmstorage_channel_properties`, `vmstorage_protocol_version`,
//! `hv_fc_wwn_packet`, operations, SRB status codes and flags).
//!
//! Every message is a 64-byte [`VstorPacket`] (operation, flags, NT status and a 52-byte union)
//! in an in-band or GPA-direct VMBus packet. The guest initializes with
//! [`VstorOperation::BEGIN_INITIALIZATION`], [`VstorOperation::QUERY_PROTOCOL_VERSION`] (trying
//! [`VMSTOR_PROTOCOL_VERSIONS`] in order), [`VstorOperation::QUERY_PROPERTIES`],
//! (FC: [`VstorOperation::FCHBA_DATA`]), [`VstorOperation::END_INITIALIZATION`], then I/O with
//! [`VstorOperation::EXECUTE_SRB`]. Hosts before Windows 8 (protocol < 5.1) use a 16-byte shorter
//! SCSI request ([`VMSCSI_WIN8_EXTENSION_SIZE`]) and an 18-byte sense buffer; Linux 7.2 no
//! longer speaks to them.

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

/// Errors from parsing storage packets.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The packet is shorter than required (`minlen` in `storvsc_on_channel_callback`: the whole
    /// [`VstorPacket`] for replies to a request, the operation for unsolicited packets).
    Truncated {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// An unsolicited packet (transaction id 0) with an operation that needs a request
    /// ([`VstorOperation::COMPLETE_IO`]) or a full payload ([`VstorOperation::FCHBA_DATA`]);
    /// C rejects it ("Invalid packet with ID of 0").
    UnsolicitedOperation(VstorOperation),
}

/// `VMSTOR_PROTO_VERSION(major, minor)`: `((major & 0xff) << 8) | (minor & 0xff)`.
pub const fn vmstor_proto_version(major: u8, minor: u8) -> u16 {
    ((major as u16) << 8) | minor as u16
}

open_enum! {
    /// A VMSTOR protocol version ([`VmstorageProtocolVersion::major_minor`]).
    pub struct VmstorProtocolVersion(u16) {
        /// `VMSTOR_PROTO_VERSION_WIN6`: 2.0.
        WIN6 = 0x0200,
        /// `VMSTOR_PROTO_VERSION_WIN7`: 4.2.
        WIN7 = 0x0402,
        /// `VMSTOR_PROTO_VERSION_WIN8`: 5.1.
        WIN8 = 0x0501,
        /// `VMSTOR_PROTO_VERSION_WIN8_1`: 6.0.
        WIN8_1 = 0x0600,
        /// `VMSTOR_PROTO_VERSION_WIN10`: 6.2.
        WIN10 = 0x0602,
    }
}

/// The versions Linux tries, in order (`protocol_version[]`).
pub const VMSTOR_PROTOCOL_VERSIONS: [VmstorProtocolVersion; 3] = [
    VmstorProtocolVersion::WIN10,
    VmstorProtocolVersion::WIN8_1,
    VmstorProtocolVersion::WIN8,
];

open_enum! {
    /// A storage operation (`enum vstor_packet_operation`).
    pub struct VstorOperation(u32) {
        /// `VSTOR_OPERATION_COMPLETE_IO`: completion of a request.
        COMPLETE_IO = 1,
        /// `VSTOR_OPERATION_REMOVE_DEVICE`: unsolicited; the guest rescans.
        REMOVE_DEVICE = 2,
        /// `VSTOR_OPERATION_EXECUTE_SRB`: a SCSI request.
        EXECUTE_SRB = 3,
        /// `VSTOR_OPERATION_RESET_LUN`.
        RESET_LUN = 4,
        /// `VSTOR_OPERATION_RESET_ADAPTER`.
        RESET_ADAPTER = 5,
        /// `VSTOR_OPERATION_RESET_BUS`: what the guest's host reset sends.
        RESET_BUS = 6,
        /// `VSTOR_OPERATION_BEGIN_INITIALIZATION`.
        BEGIN_INITIALIZATION = 7,
        /// `VSTOR_OPERATION_END_INITIALIZATION`.
        END_INITIALIZATION = 8,
        /// `VSTOR_OPERATION_QUERY_PROTOCOL_VERSION`.
        QUERY_PROTOCOL_VERSION = 9,
        /// `VSTOR_OPERATION_QUERY_PROPERTIES`.
        QUERY_PROPERTIES = 10,
        /// `VSTOR_OPERATION_ENUMERATE_BUS`: unsolicited; the guest rescans.
        ENUMERATE_BUS = 11,
        /// `VSTOR_OPERATION_FCHBA_DATA`: Fibre Channel WWNs.
        FCHBA_DATA = 12,
        /// `VSTOR_OPERATION_CREATE_SUB_CHANNELS`.
        CREATE_SUB_CHANNELS = 13,
        /// Event notification (sent by OpenVMM's host; not in Linux).
        EVENT_NOTIFICATION = 14,
    }
}

/// `REQUEST_COMPLETION_FLAG`: [`VstorPacket::flags`] bit asking the host for a completion.
pub const REQUEST_COMPLETION_FLAG: u32 = 0x1;

/// `SRB_FLAGS_QUEUE_ACTION_ENABLE`.
pub const SRB_FLAGS_QUEUE_ACTION_ENABLE: u32 = 0x0000_0002;
/// `SRB_FLAGS_DISABLE_DISCONNECT`.
pub const SRB_FLAGS_DISABLE_DISCONNECT: u32 = 0x0000_0004;
/// `SRB_FLAGS_DISABLE_SYNCH_TRANSFER`.
pub const SRB_FLAGS_DISABLE_SYNCH_TRANSFER: u32 = 0x0000_0008;
/// `SRB_FLAGS_BYPASS_FROZEN_QUEUE`.
pub const SRB_FLAGS_BYPASS_FROZEN_QUEUE: u32 = 0x0000_0010;
/// `SRB_FLAGS_DISABLE_AUTOSENSE`.
pub const SRB_FLAGS_DISABLE_AUTOSENSE: u32 = 0x0000_0020;
/// `SRB_FLAGS_DATA_IN`: data moves from the device to the guest.
pub const SRB_FLAGS_DATA_IN: u32 = 0x0000_0040;
/// `SRB_FLAGS_DATA_OUT`: data moves from the guest to the device.
pub const SRB_FLAGS_DATA_OUT: u32 = 0x0000_0080;
/// `SRB_FLAGS_NO_DATA_TRANSFER`.
pub const SRB_FLAGS_NO_DATA_TRANSFER: u32 = 0x0000_0000;
/// `SRB_FLAGS_UNSPECIFIED_DIRECTION`.
pub const SRB_FLAGS_UNSPECIFIED_DIRECTION: u32 = SRB_FLAGS_DATA_IN | SRB_FLAGS_DATA_OUT;
/// `SRB_FLAGS_NO_QUEUE_FREEZE`.
pub const SRB_FLAGS_NO_QUEUE_FREEZE: u32 = 0x0000_0100;
/// `SRB_FLAGS_ADAPTER_CACHE_ENABLE`.
pub const SRB_FLAGS_ADAPTER_CACHE_ENABLE: u32 = 0x0000_0200;
/// `SRB_FLAGS_FREE_SENSE_BUFFER`.
pub const SRB_FLAGS_FREE_SENSE_BUFFER: u32 = 0x0000_0400;
/// `SRB_FLAGS_D3_PROCESSING`.
pub const SRB_FLAGS_D3_PROCESSING: u32 = 0x0000_0800;
/// `SRB_FLAGS_IS_ACTIVE`.
pub const SRB_FLAGS_IS_ACTIVE: u32 = 0x0001_0000;
/// `SRB_FLAGS_ALLOCATED_FROM_ZONE`.
pub const SRB_FLAGS_ALLOCATED_FROM_ZONE: u32 = 0x0002_0000;
/// `SRB_FLAGS_SGLIST_FROM_POOL`.
pub const SRB_FLAGS_SGLIST_FROM_POOL: u32 = 0x0004_0000;
/// `SRB_FLAGS_BYPASS_LOCKED_QUEUE`.
pub const SRB_FLAGS_BYPASS_LOCKED_QUEUE: u32 = 0x0008_0000;
/// `SRB_FLAGS_NO_KEEP_AWAKE`.
pub const SRB_FLAGS_NO_KEEP_AWAKE: u32 = 0x0010_0000;
/// `SRB_FLAGS_PORT_DRIVER_ALLOCSENSE`.
pub const SRB_FLAGS_PORT_DRIVER_ALLOCSENSE: u32 = 0x0020_0000;
/// `SRB_FLAGS_PORT_DRIVER_SENSEHASPORT`.
pub const SRB_FLAGS_PORT_DRIVER_SENSEHASPORT: u32 = 0x0040_0000;
/// `SRB_FLAGS_DONT_START_NEXT_PACKET`.
pub const SRB_FLAGS_DONT_START_NEXT_PACKET: u32 = 0x0080_0000;
/// `SRB_FLAGS_PORT_DRIVER_RESERVED`.
pub const SRB_FLAGS_PORT_DRIVER_RESERVED: u32 = 0x0F00_0000;
/// `SRB_FLAGS_CLASS_DRIVER_RESERVED`.
pub const SRB_FLAGS_CLASS_DRIVER_RESERVED: u32 = 0xF000_0000;

/// `SP_UNTAGGED`: [`VmscsiRequest::queue_tag`] of an untagged request.
pub const SP_UNTAGGED: u8 = 0xff;
/// `SRB_SIMPLE_TAG_REQUEST`: [`VmscsiRequest::queue_action`] of a simple-tagged request.
pub const SRB_SIMPLE_TAG_REQUEST: u8 = 0x20;

/// `STORVSC_MAX_CMD_LEN`: bytes of a CDB.
pub const STORVSC_MAX_CMD_LEN: usize = 0x10;
/// `STORVSC_SENSE_BUFFER_SIZE`: bytes of sense data (Windows 8 and later).
pub const STORVSC_SENSE_BUFFER_SIZE: usize = 0x14;
/// `STORVSC_MAX_BUF_LEN_WITH_PADDING`: size of the CDB/sense union.
pub const STORVSC_MAX_BUF_LEN_WITH_PADDING: usize = 0x14;
/// `PRE_WIN8_STORVSC_SENSE_BUFFER_SIZE` (removed from 7.2): sense bytes before Windows 8.
pub const PRE_WIN8_STORVSC_SENSE_BUFFER_SIZE: usize = 0x12;
/// `sizeof(struct vmscsi_win8_extension)` (removed from 7.2): the bytes Windows 8 appended to
/// the SCSI request (`reserve` .. `queue_sort_key`); C's former `vmscsi_size_delta`.
pub const VMSCSI_WIN8_EXTENSION_SIZE: usize = 16;
/// Size of the pre-Windows 8 SCSI request (0x24 bytes).
pub const VMSCSI_REQUEST_PRE_WIN8_SIZE: usize =
    size_of::<VmscsiRequest>() - VMSCSI_WIN8_EXTENSION_SIZE;
/// Size of a pre-Windows 8 storage packet.
pub const VSTOR_PACKET_PRE_WIN8_SIZE: usize = size_of::<VstorPacket>() - VMSCSI_WIN8_EXTENSION_SIZE;

/// Transaction id of the initialization requests (`VMBUS_RQST_INIT`, `U64_MAX - 2`).
pub const VMBUS_RQST_INIT: u64 = u64::MAX - 2;
/// Transaction id of the bus reset request (`VMBUS_RQST_RESET`, `U64_MAX - 3`).
pub const VMBUS_RQST_RESET: u64 = u64::MAX - 3;
/// `STORVSC_FC_MAX_XFER_SIZE`: transfer limit of synthetic FC (512 KiB).
pub const STORVSC_FC_MAX_XFER_SIZE: u32 = 512 * 1024;
/// Default ring size per direction (`storvsc_ringbuffer_size`, 128 KiB).
pub const STORVSC_RINGBUFFER_SIZE: usize = 128 * 1024;
/// Seconds before a request times out (`storvsc_timeout`).
pub const STORVSC_TIMEOUT_SECS: u32 = 180;

/// `SRB_STATUS_AUTOSENSE_VALID`: flag in [`VmscsiRequest::srb_status`]; sense data is valid.
pub const SRB_STATUS_AUTOSENSE_VALID: u8 = 0x80;
/// `SRB_STATUS_QUEUE_FROZEN`: flag in [`VmscsiRequest::srb_status`].
pub const SRB_STATUS_QUEUE_FROZEN: u8 = 0x40;

open_enum! {
    /// The status code part of [`VmscsiRequest::srb_status`] (`SRB_STATUS(status)`: the byte
    /// without [`SRB_STATUS_AUTOSENSE_VALID`] and [`SRB_STATUS_QUEUE_FROZEN`]).
    pub struct SrbStatus(u8) {
        /// `SRB_STATUS_SUCCESS`.
        SUCCESS = 0x01,
        /// `SRB_STATUS_ABORTED`.
        ABORTED = 0x02,
        /// `SRB_STATUS_ERROR`.
        ERROR = 0x04,
        /// `SRB_STATUS_INVALID_REQUEST`.
        INVALID_REQUEST = 0x06,
        /// `SRB_STATUS_TIMEOUT`.
        TIMEOUT = 0x09,
        /// `SRB_STATUS_SELECTION_TIMEOUT`.
        SELECTION_TIMEOUT = 0x0A,
        /// `SRB_STATUS_BUS_RESET`.
        BUS_RESET = 0x0E,
        /// `SRB_STATUS_DATA_OVERRUN`: `data_transfer_length` holds the real length.
        DATA_OVERRUN = 0x12,
        /// `SRB_STATUS_INVALID_LUN`: the guest removes the LUN.
        INVALID_LUN = 0x20,
        /// `SRB_STATUS_INTERNAL_ERROR`.
        INTERNAL_ERROR = 0x30,
    }
}

impl SrbStatus {
    /// `SRB_STATUS(status)`: strips the two flag bits of a raw `srb_status` byte.
    pub const fn from_raw(status: u8) -> Self {
        Self(status & !(SRB_STATUS_AUTOSENSE_VALID | SRB_STATUS_QUEUE_FROZEN))
    }
}

open_enum! {
    /// Data direction of a request ([`VmscsiRequest::data_in`], `enum storvsc_request_type`).
    pub struct DataDirection(u8) {
        /// `WRITE_TYPE`.
        WRITE = 0,
        /// `READ_TYPE`.
        READ = 1,
        /// `UNKNOWN_TYPE`: no data.
        UNKNOWN = 2,
    }
}

/// `STORAGE_CHANNEL_SUPPORTS_MULTI_CHANNEL`: [`VmstorageChannelProperties::flags`] bit.
pub const STORAGE_CHANNEL_SUPPORTS_MULTI_CHANNEL: u32 = 0x1;
/// `STORAGE_CHANNEL_REMOVABLE_FLAG`.
pub const STORAGE_CHANNEL_REMOVABLE_FLAG: u32 = 0x1;
/// `STORAGE_CHANNEL_EMULATED_IDE_FLAG`.
pub const STORAGE_CHANNEL_EMULATED_IDE_FLAG: u32 = 0x2;

/// Fibre Channel port and node names.
///
/// Mirrors `struct hv_fc_wwn_packet` (`drivers/scsi/storvsc_drv.c`, 36 bytes).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct HvFcWwnPacket {
    /// Non-zero if the primary port is active.
    pub primary_active: u8,
    /// Reserved.
    pub reserved1: [u8; 3],
    /// Primary port WWN (big-endian bytes).
    pub primary_port_wwn: [u8; 8],
    /// Primary node WWN.
    pub primary_node_wwn: [u8; 8],
    /// Secondary port WWN.
    pub secondary_port_wwn: [u8; 8],
    /// Secondary node WWN.
    pub secondary_node_wwn: [u8; 8],
}
const _: () = assert!(size_of::<HvFcWwnPacket>() == 36);

/// A SCSI request block in the Windows 8 layout.
///
/// Mirrors `struct vmscsi_request` (`drivers/scsi/storvsc_drv.c`, 52 bytes, packed); the
/// `cdb`/`sense_data`/`reserved_array` union is [`VmscsiRequest::cdb`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct VmscsiRequest {
    /// Size of this structure (52).
    pub length: u16,
    /// SRB status byte: [`SrbStatus`] plus the `SRB_STATUS_*` flags.
    pub srb_status: u8,
    /// SCSI status (SAM).
    pub scsi_status: u8,
    /// Port (the guest's SCSI host number).
    pub port_number: u8,
    /// Path (channel).
    pub path_id: u8,
    /// Target.
    pub target_id: u8,
    /// LUN.
    pub lun: u8,
    /// Bytes of the CDB.
    pub cdb_length: u8,
    /// Bytes of sense data requested, and returned by the host (at most
    /// [`STORVSC_SENSE_BUFFER_SIZE`]).
    pub sense_info_length: u8,
    /// Data direction.
    pub data_in: DataDirection,
    /// Reserved.
    pub reserved: u8,
    /// Bytes to transfer; bytes transferred in the completion.
    pub data_transfer_length: u32,
    /// The CDB in a request, sense data in a completion.
    pub cdb: [u8; STORVSC_MAX_BUF_LEN_WITH_PADDING],
    /// Windows 8 extension: reserved.
    pub reserve: u16,
    /// Windows 8 extension: queue tag ([`SP_UNTAGGED`]).
    pub queue_tag: u8,
    /// Windows 8 extension: queue action ([`SRB_SIMPLE_TAG_REQUEST`]).
    pub queue_action: u8,
    /// Windows 8 extension: `SRB_FLAGS_*`.
    pub srb_flags: u32,
    /// Windows 8 extension: timeout in seconds.
    pub time_out_value: u32,
    /// Windows 8 extension: queue sort key (C: `queue_sort_ey`).
    pub queue_sort_key: u32,
}
const _: () = assert!(size_of::<VmscsiRequest>() == 52);

impl VmscsiRequest {
    /// Returns the valid sense bytes of a completion: `sense_info_length` clamped to
    /// [`STORVSC_SENSE_BUFFER_SIZE`], as `storvsc_on_io_completion` does.
    pub fn sense(&self) -> &[u8] {
        let len = usize::from(self.sense_info_length).min(STORVSC_SENSE_BUFFER_SIZE);
        self.cdb.get(..len).unwrap_or(&[])
    }

    /// Returns the status code part of [`VmscsiRequest::srb_status`].
    pub fn status(&self) -> SrbStatus {
        SrbStatus::from_raw(self.srb_status)
    }
}

/// The host's answer to [`VstorOperation::QUERY_PROPERTIES`].
///
/// Mirrors `struct vmstorage_channel_properties` (`drivers/scsi/storvsc_drv.c`, 24 bytes,
/// packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct VmstorageChannelProperties {
    /// Reserved.
    pub reserved: u32,
    /// Most subchannels the host allows.
    pub max_channel_cnt: u16,
    /// Reserved.
    pub reserved1: u16,
    /// [`STORAGE_CHANNEL_SUPPORTS_MULTI_CHANNEL`].
    pub flags: u32,
    /// Largest transfer in bytes (Linux rounds it down to 4 KiB).
    pub max_transfer_bytes: u32,
    /// Reserved.
    pub reserved2: u64,
}
const _: () = assert!(size_of::<VmstorageChannelProperties>() == 24);

/// The payload of [`VstorOperation::QUERY_PROTOCOL_VERSION`].
///
/// Mirrors `struct vmstorage_protocol_version` (`drivers/scsi/storvsc_drv.c`, 4 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct VmstorageProtocolVersion {
    /// `(major << 8) | minor`.
    pub major_minor: VmstorProtocolVersion,
    /// Revision (Linux sends 0).
    pub revision: u16,
}
const _: () = assert!(size_of::<VmstorageProtocolVersion>() == 4);

/// Size of the [`VstorPacket`] payload union.
pub const VSTOR_PAYLOAD_SIZE: usize = 0x34;

/// A storage packet.
///
/// Mirrors `struct vstor_packet` (`drivers/scsi/storvsc_drv.c`, 64 bytes, packed). The payload
/// union is [`VstorPacket::payload`]; read its members with [`VstorPacket::srb`],
/// [`VstorPacket::properties`], [`VstorPacket::version`], [`VstorPacket::wwn`] and
/// [`VstorPacket::sub_channel_count`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct VstorPacket {
    /// Operation.
    pub operation: VstorOperation,
    /// [`REQUEST_COMPLETION_FLAG`].
    pub flags: u32,
    /// NT status of the request (0 = success; e.g. 0xC0000059 revision mismatch).
    pub status: u32,
    /// The payload union (`vm_srb`, `storage_channel_properties`, `version`, `wwn_packet`,
    /// `sub_channel_count`, `buffer[0x34]`).
    pub payload: [u8; VSTOR_PAYLOAD_SIZE],
}
const _: () = assert!(size_of::<VstorPacket>() == 64);

/// Reads a `T` from the start of a fixed-size array that is statically at least as large.
fn read_prefix<T: FromBytes, const N: usize>(bytes: &[u8; N]) -> T {
    const { assert!(size_of::<T>() <= N) };
    match T::read_from_prefix(bytes) {
        Ok((t, _)) => t,
        Err(_) => T::new_zeroed(),
    }
}

/// Writes `v` at the start of a fixed-size array that is statically at least as large.
fn write_prefix<T: IntoBytes + zerocopy::Immutable, const N: usize>(bytes: &mut [u8; N], v: &T) {
    const { assert!(size_of::<T>() <= N) };
    if let Some(dst) = bytes.get_mut(..size_of::<T>()) {
        dst.copy_from_slice(v.as_bytes());
    }
}

impl VstorPacket {
    /// Returns a packet with `operation`, `flags` = [`REQUEST_COMPLETION_FLAG`] and a zero
    /// payload, as storvsc builds its requests.
    pub fn request(operation: VstorOperation) -> Self {
        Self {
            operation,
            flags: REQUEST_COMPLETION_FLAG,
            status: 0,
            payload: [0; VSTOR_PAYLOAD_SIZE],
        }
    }

    /// Returns a [`VstorOperation::QUERY_PROTOCOL_VERSION`] request for `version`.
    pub fn query_protocol_version(version: VmstorProtocolVersion) -> Self {
        let mut p = Self::request(VstorOperation::QUERY_PROTOCOL_VERSION);
        p.set_version(VmstorageProtocolVersion {
            major_minor: version,
            revision: 0,
        });
        p
    }

    /// Returns a [`VstorOperation::CREATE_SUB_CHANNELS`] request for `count` subchannels.
    pub fn create_sub_channels(count: u16) -> Self {
        let mut p = Self::request(VstorOperation::CREATE_SUB_CHANNELS);
        write_prefix(&mut p.payload, &count);
        p
    }

    /// Returns an [`VstorOperation::EXECUTE_SRB`] request carrying `srb`.
    pub fn execute_srb(srb: &VmscsiRequest) -> Self {
        let mut p = Self::request(VstorOperation::EXECUTE_SRB);
        p.set_srb(srb);
        p
    }

    /// Reads the payload as `vm_srb`.
    pub fn srb(&self) -> VmscsiRequest {
        read_prefix(&self.payload)
    }

    /// Writes `vm_srb` into the payload.
    pub fn set_srb(&mut self, srb: &VmscsiRequest) {
        write_prefix(&mut self.payload, srb);
    }

    /// Reads the payload as `storage_channel_properties`.
    pub fn properties(&self) -> VmstorageChannelProperties {
        read_prefix(&self.payload)
    }

    /// Reads the payload as `version`.
    pub fn version(&self) -> VmstorageProtocolVersion {
        read_prefix(&self.payload)
    }

    /// Writes `version` into the payload.
    pub fn set_version(&mut self, v: VmstorageProtocolVersion) {
        write_prefix(&mut self.payload, &v);
    }

    /// Reads the payload as `wwn_packet`.
    pub fn wwn(&self) -> HvFcWwnPacket {
        read_prefix(&self.payload)
    }

    /// Writes `wwn_packet` into the payload (a host's FCHBA_DATA).
    pub fn set_wwn(&mut self, wwn: &HvFcWwnPacket) {
        write_prefix(&mut self.payload, wwn);
    }

    /// Reads the payload as `sub_channel_count`.
    pub fn sub_channel_count(&self) -> u16 {
        read_prefix(&self.payload)
    }
}

/// `SCSI_SENSE_BUFFERSIZE`: bytes of the midlayer's sense buffer of a command.
pub const SCSI_SENSE_BUFFERSIZE: usize = 96;

/// `SAM_STAT_CHECK_CONDITION`: the SCSI status that comes with sense data.
pub const SAM_STAT_CHECK_CONDITION: u8 = 0x02;

/// SCSI operation codes the driver looks at (`include/scsi/scsi_proto.h`).
pub mod opcode {
    /// `TEST_UNIT_READY`.
    pub const TEST_UNIT_READY: u8 = 0x00;
    /// `INQUIRY`.
    pub const INQUIRY: u8 = 0x12;
    /// `MODE_SENSE`.
    pub const MODE_SENSE: u8 = 0x1a;
    /// `SET_WINDOW`.
    pub const SET_WINDOW: u8 = 0x24;
    /// `WRITE_SAME`.
    pub const WRITE_SAME: u8 = 0x41;
    /// `MODE_SENSE_10`.
    pub const MODE_SENSE_10: u8 = 0x5a;
    /// `PERSISTENT_RESERVE_IN`.
    pub const PERSISTENT_RESERVE_IN: u8 = 0x5e;
    /// `ATA_16`.
    pub const ATA_16: u8 = 0x85;
    /// `MAINTENANCE_IN`.
    pub const MAINTENANCE_IN: u8 = 0xa3;
    /// `ATA_12`.
    pub const ATA_12: u8 = 0xa1;
}

open_enum! {
    /// The host byte of a SCSI command's result (`enum scsi_host_status`,
    /// `include/scsi/scsi_status.h`): bits 16..23 of `scmd->result`.
    pub struct HostByte(u8) {
        /// `DID_OK`.
        OK = 0x00,
        /// `DID_NO_CONNECT`: the LUN is gone.
        NO_CONNECT = 0x01,
        /// `DID_BAD_TARGET`.
        BAD_TARGET = 0x04,
        /// `DID_ERROR`: an internal error; the midlayer retries, then fails the I/O.
        ERROR = 0x07,
        /// `DID_PASSTHROUGH`: the error goes to the issuer of an ATA pass-through as is.
        PASSTHROUGH = 0x0a,
        /// `DID_REQUEUE`: requeue the command without counting a retry.
        REQUEUE = 0x0d,
    }
}

/// Returns `result` with its host byte replaced by `host` (`set_host_byte()`).
pub const fn set_host_byte(result: u32, host: HostByte) -> u32 {
    (result & 0xff00_ffff) | ((host.0 as u32) << 16)
}

/// Returns the additional sense code and qualifier of `sense` if it is valid fixed or descriptor
/// format sense data (`scsi_normalize_sense()`), else `None`.
pub fn sense_asc_ascq(sense: &[u8]) -> Option<(u8, u8)> {
    let code = *sense.first()? & 0x7f;
    if code & 0x70 != 0x70 {
        return None;
    }
    if code >= 0x72 {
        // Descriptor format: ASC and ASCQ at bytes 2 and 3.
        Some((sense.get(2).copied()?, sense.get(3).copied().unwrap_or(0)))
    } else {
        // Fixed format: bytes 12 and 13, if the additional length covers them (byte 7); the
        // midlayer reads zeroes for what is short.
        let add_len = usize::from(sense.get(7).copied().unwrap_or(0));
        let len = sense.len().min(add_len + 8);
        let at = |i: usize| {
            if i < len {
                sense.get(i).copied().unwrap_or(0)
            } else {
                0
            }
        };
        Some((at(12), at(13)))
    }
}

/// Returns `true` for the commands whose failures the host is known to report wrongly and that
/// the driver therefore completes as successful (`storvsc_host_mishandles_cmd()`): INQUIRY,
/// MODE SENSE (6 and 10), and on synthetic FC also MAINTENANCE IN and PERSISTENT RESERVE IN.
pub fn host_mishandles_cmd(op: u8, is_fc: bool) -> bool {
    match op {
        opcode::INQUIRY | opcode::MODE_SENSE | opcode::MODE_SENSE_10 => true,
        opcode::MAINTENANCE_IN | opcode::PERSISTENT_RESERVE_IN => is_fc,
        _ => false,
    }
}

/// Returns `false` for the commands that hosts of protocol 5.1 and older do not implement and
/// that the driver therefore fails itself with `DID_ERROR` (`storvsc_scsi_cmd_ok()`).
pub fn legacy_host_cmd_ok(op: u8) -> bool {
    !matches!(op, opcode::WRITE_SAME | opcode::SET_WINDOW)
}

/// Deferred work a completion asks the driver to queue (`storvsc_handle_error()`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ErrorWork {
    /// Rescan the device of the command (`storvsc_device_scan()`): its capacity or operating
    /// parameters changed.
    RescanDevice,
    /// Remove the LUN of the command (`storvsc_remove_lun()`): the host says it is gone.
    RemoveLun,
}

/// What the driver does with a command that the host completed, as
/// `storvsc_on_io_completion()` and `storvsc_command_completion()` decide it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SrbOutcome {
    /// The command's result (`scmd->result`): host byte and SCSI status.
    pub result: u32,
    /// Bytes of the host's sense data to copy into the command's sense buffer (0: none).
    pub sense_len: usize,
    /// Bytes of the data buffer that the host did not transfer (`scsi_set_resid()`).
    pub resid: u32,
    /// Work to queue; if that fails, the host byte becomes [`HostByte::BAD_TARGET`].
    pub work: Option<ErrorWork>,
    /// The host reported an error: log it (at warning level for TEST UNIT READY).
    pub log: bool,
}

/// Decides the outcome of a command with operation code `op` and a data buffer of
/// `buffer_len` bytes that the host completed with `reply`, on a controller that is synthetic
/// FC if `is_fc`.
///
/// Every field of `reply` is untrusted: the sense length is clamped to
/// [`STORVSC_SENSE_BUFFER_SIZE`] and the transferred length to `buffer_len`.
pub fn srb_outcome(op: u8, is_fc: bool, reply: &VmscsiRequest, buffer_len: u32) -> SrbOutcome {
    let (mut scsi_status, mut srb_status) = (reply.scsi_status, reply.srb_status);
    if host_mishandles_cmd(op, is_fc) {
        scsi_status = 0;
        srb_status = SrbStatus::SUCCESS.0;
    }
    let log = scsi_status != 0 || srb_status != SrbStatus::SUCCESS.0;
    let clamped = usize::from(reply.sense_info_length).min(STORVSC_SENSE_BUFFER_SIZE);
    let autosense = srb_status & SRB_STATUS_AUTOSENSE_VALID != 0;
    let sense_len = if scsi_status == SAM_STAT_CHECK_CONDITION && autosense {
        clamped
    } else {
        0
    };
    let sense = reply.cdb.get(..sense_len).unwrap_or(&[]);
    let mut result = u32::from(scsi_status);
    let mut transferred = reply.data_transfer_length;
    let mut work = None;
    // As C, compare the whole byte: success with flags set is handled as an error status with
    // nothing to do, and the transfer length is then not trusted.
    if srb_status != SrbStatus::SUCCESS.0 {
        match SrbStatus::from_raw(srb_status) {
            SrbStatus::ERROR
            | SrbStatus::ABORTED
            | SrbStatus::INVALID_REQUEST
            | SrbStatus::INTERNAL_ERROR
            | SrbStatus::TIMEOUT
            | SrbStatus::SELECTION_TIMEOUT
            | SrbStatus::BUS_RESET
            | SrbStatus::DATA_OVERRUN => {
                if autosense {
                    // The midlayer handles errors with sense data, except these two, which
                    // mean the device must be rescanned and the command retried.
                    let (asc, ascq) = sense_asc_ascq(sense).unwrap_or((0, 0));
                    let capacity_changed = asc == 0x2a && ascq == 0x09;
                    let params_changed = asc == 0x3f && ascq != 0x03 && ascq != 0x0e;
                    if capacity_changed || params_changed {
                        result = set_host_byte(result, HostByte::REQUEUE);
                        work = Some(ErrorWork::RescanDevice);
                    }
                } else {
                    match op {
                        opcode::ATA_16 | opcode::ATA_12 => {
                            result = set_host_byte(result, HostByte::PASSTHROUGH)
                        }
                        // Some hosts fail TEST UNIT READY so; the midlayer decides.
                        opcode::TEST_UNIT_READY => {}
                        _ => result = set_host_byte(result, HostByte::ERROR),
                    }
                }
            }
            SrbStatus::INVALID_LUN => {
                result = set_host_byte(result, HostByte::NO_CONNECT);
                work = Some(ErrorWork::RemoveLun);
            }
            _ => {}
        }
        // The host sets the length only on a data overrun; otherwise it is left as sent.
        if srb_status != SrbStatus::DATA_OVERRUN.0 {
            transferred = 0;
        }
    }
    let transferred = transferred.min(buffer_len);
    SrbOutcome {
        result,
        sense_len,
        resid: buffer_len - transferred,
        work,
        log,
    }
}

/// Errors of [`hv_pfns`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PfnError {
    /// The segments need more PFNs than the array holds.
    TooMany,
    /// A segment is empty, or one other than the first does not start on a page boundary, or
    /// one other than the last does not end on one: the list has a gap, which one GPA range
    /// cannot describe.
    Gap,
    /// A segment's address plus length overflows.
    Overflow,
}

/// Size of a Hyper-V page in bytes (`HV_HYP_PAGE_SIZE`).
const HV_HYP_PAGE_SIZE: u64 = 4096;

/// Fills `pfns` with the Hyper-V page numbers (4 KiB) of a scatter-gather list given as
/// `(bus address, length)` segments, as `storvsc_queuecommand()` builds its one GPA range, and
/// returns how many it wrote and the offset of the data in the first page.
///
/// # Errors
///
/// [`PfnError`]; the driver's virtual boundary mask (4 KiB) makes the block layer send only
/// lists without gaps.
pub fn hv_pfns(
    segments: impl Iterator<Item = (u64, u32)>,
    pfns: &mut [u64],
) -> Result<(usize, u32), PfnError> {
    let mut n = 0usize;
    let mut offset = 0u32;
    let mut prev_end: Option<u64> = None;
    for (addr, len) in segments {
        if len == 0 {
            return Err(PfnError::Gap);
        }
        let end = addr.checked_add(u64::from(len)).ok_or(PfnError::Overflow)?;
        match prev_end {
            None => offset = (addr % HV_HYP_PAGE_SIZE) as u32,
            Some(pe) => {
                if pe % HV_HYP_PAGE_SIZE != 0 || addr % HV_HYP_PAGE_SIZE != 0 {
                    return Err(PfnError::Gap);
                }
            }
        }
        let first = addr / HV_HYP_PAGE_SIZE;
        let last = end.div_ceil(HV_HYP_PAGE_SIZE);
        for pfn in first..last {
            *pfns.get_mut(n).ok_or(PfnError::TooMany)? = pfn;
            n += 1;
        }
        prev_end = Some(end);
    }
    Ok((n, offset))
}

/// Parses a packet from the host (the data of a VMBus packet) like
/// `storvsc_on_channel_callback`.
///
/// A reply to a request (`trans_id` != 0) must hold a whole [`VstorPacket`]; an unsolicited
/// packet (`trans_id` 0) needs only the operation, the rest reads as zero, and may not be
/// [`VstorOperation::COMPLETE_IO`] or [`VstorOperation::FCHBA_DATA`]. Bytes beyond 64 are
/// ignored.
///
/// # Errors
///
/// [`Error::Truncated`] or [`Error::UnsolicitedOperation`], for which C logs and skips the
/// packet.
pub fn parse_host_packet(data: &[u8], trans_id: u64) -> Result<VstorPacket, Error> {
    let need = if trans_id != 0 {
        size_of::<VstorPacket>()
    } else {
        size_of::<VstorOperation>()
    };
    if data.len() < need {
        return Err(Error::Truncated {
            need,
            have: data.len(),
        });
    }
    let mut pkt = VstorPacket::new_zeroed();
    let n = data.len().min(size_of::<VstorPacket>());
    if let (Some(dst), Some(src)) = (pkt.as_mut_bytes().get_mut(..n), data.get(..n)) {
        dst.copy_from_slice(src);
    }
    if trans_id == 0 {
        let op = pkt.operation;
        if op == VstorOperation::COMPLETE_IO || op == VstorOperation::FCHBA_DATA {
            return Err(Error::UnsolicitedOperation(op));
        }
    }
    Ok(pkt)
}

#[cfg(test)]
mod tests;
