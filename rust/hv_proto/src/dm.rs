// SPDX-License-Identifier: GPL-2.0

//! The dynamic memory (balloon and hot-add) protocol.
//!
//! C source: [`drivers/hv/hv_balloon.c`](srctree/drivers/hv/hv_balloon.c) (`dm_header`,
//! `dm_version_request`, `dm_capabilities`, `dm_status`, `dm_balloon`, `dm_balloon_response`,
//! `dm_unballoon_request`, `dm_hot_add`, `dm_info_msg`, `union dm_mem_page_range` ...).
//!
//! Every message starts with a [`DmHeader`] whose `size` includes the header and whose
//! `trans_id` the guest chooses; all travel as in-band packets without completions. The guest
//! negotiates a version ([`DmVersionNegotiation`]: 2.0, then 1.0, then 0.3 as last attempt),
//! reports its capabilities, then answers host balloon, unballoon and hot-add requests and
//! sends a [`DmStatus`] every second. Page numbers and counts are in 4 KiB pages.

pub mod heat_hint;
pub mod hot_add;

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

/// Errors from parsing or building dynamic memory messages.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// A buffer is shorter than the header or than the structure to write.
    Truncated {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// An unballoon request whose `range_count` ranges do not fit in the message (C reads past
    /// its 4 KiB buffer).
    TooManyRanges(u32),
}

open_enum! {
    /// A dynamic memory message type (`enum dm_message_type`, 16 bits on the wire).
    pub struct DmMessageType(u16) {
        /// `DM_ERROR`.
        ERROR = 0,
        /// `DM_VERSION_REQUEST`: [`DmVersionRequest`] (guest to host).
        VERSION_REQUEST = 1,
        /// `DM_VERSION_RESPONSE`: [`DmVersionResponse`].
        VERSION_RESPONSE = 2,
        /// `DM_CAPABILITIES_REPORT`: [`DmCapabilities`] (guest to host).
        CAPABILITIES_REPORT = 3,
        /// `DM_CAPABILITIES_RESPONSE`: [`DmCapabilitiesResp`].
        CAPABILITIES_RESPONSE = 4,
        /// `DM_STATUS_REPORT`: [`DmStatus`] (guest to host).
        STATUS_REPORT = 5,
        /// `DM_BALLOON_REQUEST`: [`DmBalloon`].
        BALLOON_REQUEST = 6,
        /// `DM_BALLOON_RESPONSE`: [`DmBalloonResponse`] (guest to host).
        BALLOON_RESPONSE = 7,
        /// `DM_UNBALLOON_REQUEST`: [`DmUnballoonRequest`].
        UNBALLOON_REQUEST = 8,
        /// `DM_UNBALLOON_RESPONSE`: [`DmUnballoonResponse`] (guest to host).
        UNBALLOON_RESPONSE = 9,
        /// `DM_MEM_HOT_ADD_REQUEST`: [`DmHotAdd`].
        MEM_HOT_ADD_REQUEST = 10,
        /// `DM_MEM_HOT_ADD_RESPONSE`: [`DmHotAddResponse`] (guest to host).
        MEM_HOT_ADD_RESPONSE = 11,
        /// `DM_INFO_MESSAGE`: [`DmInfoMsg`] (version 1.0+).
        INFO_MESSAGE = 12,
    }
}

/// `DYNMEM_MAKE_VERSION(major, minor)`: `(major << 16) | minor`.
pub const fn dynmem_make_version(major: u16, minor: u16) -> u32 {
    ((major as u32) << 16) | minor as u32
}

/// `DYNMEM_MAJOR_VERSION(version)`.
pub const fn dynmem_major_version(version: u32) -> u32 {
    version >> 16
}

/// `DYNMEM_MINOR_VERSION(version)`: note that C masks only 8 bits.
pub const fn dynmem_minor_version(version: u32) -> u32 {
    version & 0xff
}

/// `DYNMEM_PROTOCOL_VERSION_WIN7` (0.3).
pub const DYNMEM_PROTOCOL_VERSION_WIN7: u32 = dynmem_make_version(0, 3);
/// `DYNMEM_PROTOCOL_VERSION_WIN8` (1.0).
pub const DYNMEM_PROTOCOL_VERSION_WIN8: u32 = dynmem_make_version(1, 0);
/// `DYNMEM_PROTOCOL_VERSION_WIN10` (2.0).
pub const DYNMEM_PROTOCOL_VERSION_WIN10: u32 = dynmem_make_version(2, 0);
/// Ring size per direction Linux opens the channel with (`dm_ring_size`, 20 KiB).
pub const DM_RING_SIZE: usize = 20 * 1024;
/// `max_pkt_size` of the channel (2 pages).
pub const DM_MAX_PKT_SIZE: usize = 2 * 4096;
/// Size of the C receive buffer (`HV_HYP_PAGE_SIZE`): the longest host message.
pub const DM_RECV_BUFFER_SIZE: usize = 4096;

/// The header of every message.
///
/// Mirrors `struct dm_header` (`hv_balloon.c`, 8 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct DmHeader {
    /// Message type (C: `type`).
    pub type_: DmMessageType,
    /// Size of the message in bytes, header included.
    pub size: u16,
    /// Transaction id, chosen by the guest.
    pub trans_id: u32,
}
const _: () = assert!(size_of::<DmHeader>() == 8);

impl DmHeader {
    /// Returns the header of a `T` message.
    pub fn for_message<T>(type_: DmMessageType, trans_id: u32) -> Self {
        Self {
            type_,
            size: size_of::<T>() as u16,
            trans_id,
        }
    }
}

/// A range of 4 KiB pages.
///
/// Mirrors `union dm_mem_page_range` (`hv_balloon.c`, 8 bytes): `start_page:40`,
/// `page_cnt:24` of a `u64`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(transparent)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct DmMemPageRange(pub u64);
const _: () = assert!(size_of::<DmMemPageRange>() == 8);

impl DmMemPageRange {
    /// Largest `start_page` (40 bits).
    pub const MAX_START_PAGE: u64 = (1 << 40) - 1;
    /// Largest `page_cnt` (24 bits).
    pub const MAX_PAGE_CNT: u64 = (1 << 24) - 1;

    /// Returns the range; both values are truncated to their widths.
    pub const fn new(start_page: u64, page_cnt: u64) -> Self {
        Self((start_page & Self::MAX_START_PAGE) | ((page_cnt & Self::MAX_PAGE_CNT) << 40))
    }

    /// The first page frame number.
    pub const fn start_page(self) -> u64 {
        self.0 & Self::MAX_START_PAGE
    }

    /// The number of pages.
    pub const fn page_cnt(self) -> u64 {
        self.0 >> 40
    }
}

/// Guest capabilities.
///
/// Mirrors `union dm_caps` (`hv_balloon.c`, 8 bytes): `balloon:1`, `hot_add:1`,
/// `hot_add_alignment:4` of a `u64`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(transparent)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct DmCaps(pub u64);
const _: () = assert!(size_of::<DmCaps>() == 8);

impl DmCaps {
    /// Returns capabilities; `hot_add_alignment` is log2 of the hot-add chunk in MiB (4 bits).
    pub const fn new(balloon: bool, hot_add: bool, hot_add_alignment: u8) -> Self {
        Self(balloon as u64 | (hot_add as u64) << 1 | ((hot_add_alignment as u64 & 0xf) << 2))
    }

    /// Ballooning supported.
    pub const fn balloon(self) -> bool {
        self.0 & 1 != 0
    }

    /// Hot-add supported.
    pub const fn hot_add(self) -> bool {
        self.0 & 2 != 0
    }

    /// Hot-add alignment: log2 of the chunk size in MiB.
    pub const fn hot_add_alignment(self) -> u8 {
        ((self.0 >> 2) & 0xf) as u8
    }
}

/// Version negotiation request (guest to host).
///
/// Mirrors `struct dm_version_request` (`hv_balloon.c`, 16 bytes, packed); `is_last_attempt:1`
/// is bit 0 of [`DmVersionRequest::flags`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct DmVersionRequest {
    /// Header.
    pub hdr: DmHeader,
    /// Requested version (`union dm_version`: minor in bits 0..16, major in 16..32).
    pub version: u32,
    /// Bit 0: `is_last_attempt`.
    pub flags: u32,
}
const _: () = assert!(size_of::<DmVersionRequest>() == 16);

/// Version negotiation answer (host to guest).
///
/// Mirrors `struct dm_version_response` (`hv_balloon.c`, 16 bytes, packed); `is_accepted:1` is
/// bit 0 of [`DmVersionResponse::flags`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct DmVersionResponse {
    /// Header.
    pub hdr: DmHeader,
    /// Bit 0: `is_accepted`.
    pub flags: u64,
}
const _: () = assert!(size_of::<DmVersionResponse>() == 16);

/// Capabilities report (guest to host).
///
/// Mirrors `struct dm_capabilities` (`hv_balloon.c`, 32 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct DmCapabilities {
    /// Header.
    pub hdr: DmHeader,
    /// Capabilities.
    pub caps: DmCaps,
    /// Fewest pages (Linux: 0).
    pub min_page_cnt: u64,
    /// Highest page number (Linux: `u64::MAX`).
    pub max_page_number: u64,
}
const _: () = assert!(size_of::<DmCapabilities>() == 32);

/// Capabilities answer (host to guest; the guest must stop if not accepted).
///
/// Mirrors `struct dm_capabilities_resp_msg` (`hv_balloon.c`, 16 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct DmCapabilitiesResp {
    /// Header.
    pub hdr: DmHeader,
    /// Bit 0: `is_accepted`.
    pub flags: u64,
}
const _: () = assert!(size_of::<DmCapabilitiesResp>() == 16);

/// Memory pressure report (guest to host, every second; no answer).
///
/// Mirrors `struct dm_status` (`hv_balloon.c`, 48 bytes, packed). Only `num_committed` is used
/// by the host.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct DmStatus {
    /// Header.
    pub hdr: DmHeader,
    /// Available memory in pages.
    pub num_avail: u64,
    /// Committed memory in pages.
    pub num_committed: u64,
    /// Page file size in pages.
    pub page_file_size: u64,
    /// Zero and free pages.
    pub zero_free: u64,
    /// Page file writes in pages.
    pub page_file_writes: u32,
    /// File cache efficiency indicator in pages.
    pub io_diff: u32,
}
const _: () = assert!(size_of::<DmStatus>() == 48);

/// Balloon (inflate) request (host to guest).
///
/// Mirrors `struct dm_balloon` (`hv_balloon.c`, 16 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct DmBalloon {
    /// Header.
    pub hdr: DmHeader,
    /// Pages to give back to the host.
    pub num_pages: u32,
    /// Reserved.
    pub reservedz: u32,
}
const _: () = assert!(size_of::<DmBalloon>() == 16);

/// Balloon answer without its ranges (guest to host); `range_count` [`DmMemPageRange`]s follow.
///
/// Mirrors `struct dm_balloon_response` (`hv_balloon.c`, 16 bytes, packed): `more_pages:1` and
/// `range_count:31` share [`DmBalloonResponse::more_count`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct DmBalloonResponse {
    /// Header (`size` includes the ranges).
    pub hdr: DmHeader,
    /// Reserved.
    pub reservedz: u32,
    /// Bit 0: more responses follow; bits 1..32: number of ranges.
    pub more_count: u32,
}
const _: () = assert!(size_of::<DmBalloonResponse>() == 16);

/// Unballoon (deflate) request without its ranges (host to guest).
///
/// Mirrors `struct dm_unballoon_request` (`hv_balloon.c`, 16 bytes, packed): `more_pages:1`
/// is bit 0 of [`DmUnballoonRequest::flags`]; `range_count` [`DmMemPageRange`]s follow.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct DmUnballoonRequest {
    /// Header.
    pub hdr: DmHeader,
    /// Bit 0: more requests follow.
    pub flags: u32,
    /// Number of ranges.
    pub range_count: u32,
}
const _: () = assert!(size_of::<DmUnballoonRequest>() == 16);

/// Unballoon answer (guest to host, after the last request of a transaction).
///
/// Mirrors `struct dm_unballoon_response` (`hv_balloon.c`, 8 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct DmUnballoonResponse {
    /// Header.
    pub hdr: DmHeader,
}
const _: () = assert!(size_of::<DmUnballoonResponse>() == 8);

/// Hot-add request (host to guest); when `hdr.size` is not 16, a second range (the region to
/// add, of which `range` is populated) follows.
///
/// Mirrors `struct dm_hot_add` (`hv_balloon.c`, 16 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct DmHotAdd {
    /// Header.
    pub hdr: DmHeader,
    /// Pages to add.
    pub range: DmMemPageRange,
}
const _: () = assert!(size_of::<DmHotAdd>() == 16);

/// Hot-add answer (guest to host).
///
/// Mirrors `struct dm_hot_add_response` (`hv_balloon.c`, 16 bytes, packed). A `page_count`
/// below the request tells the host not to hot-add again.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct DmHotAddResponse {
    /// Header.
    pub hdr: DmHeader,
    /// Pages added.
    pub page_count: u32,
    /// 1 success, 0 failure.
    pub result: u32,
}
const _: () = assert!(size_of::<DmHotAddResponse>() == 16);

open_enum! {
    /// Type of an information record (`enum dm_info_type`).
    pub struct DmInfoType(u32) {
        /// `INFO_TYPE_MAX_PAGE_CNT`: a `u64` page count.
        MAX_PAGE_CNT = 0,
    }
}

/// Header of an information record.
///
/// Mirrors `struct dm_info_header` (`hv_balloon.c`, 8 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct DmInfoHeader {
    /// Type (C: `type`).
    pub type_: DmInfoType,
    /// Bytes of data after this header.
    pub data_size: u32,
}
const _: () = assert!(size_of::<DmInfoHeader>() == 8);

/// Information message without its blob (host to guest); the first [`DmInfoHeader`] follows.
///
/// Mirrors `struct dm_info_msg` (`hv_balloon.c`, 16 bytes; not packed, but naturally without
/// padding).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct DmInfoMsg {
    /// Header.
    pub hdr: DmHeader,
    /// Reserved.
    pub reserved: u32,
    /// Size of the information blob.
    pub info_size: u32,
}
const _: () = assert!(size_of::<DmInfoMsg>() == 16);

/// Reads a `T` at `off`, zero-extended past the end of `buf` (C zeroes its receive buffer
/// before each packet).
fn read_zx<T: FromBytes + IntoBytes>(buf: &[u8], off: usize) -> T {
    let mut t = T::new_zeroed();
    let src = buf.get(off..).unwrap_or(&[]);
    let n = src.len().min(size_of::<T>());
    if let (Some(dst), Some(src)) = (t.as_mut_bytes().get_mut(..n), src.get(..n)) {
        dst.copy_from_slice(src);
    }
    t
}

/// The page ranges of an unballoon request.
#[derive(Copy, Clone, Debug)]
pub struct PageRanges<'a>(&'a [u8]);

impl<'a> PageRanges<'a> {
    /// Number of ranges.
    pub fn len(&self) -> usize {
        self.0.len() / size_of::<DmMemPageRange>()
    }

    /// Whether there are no ranges.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Iterates over the ranges.
    pub fn iter(&self) -> impl Iterator<Item = DmMemPageRange> + 'a {
        self.0
            .chunks_exact(size_of::<DmMemPageRange>())
            .map(|c| DmMemPageRange(u64::read_from_bytes(c).unwrap_or(0)))
    }
}

/// A message from the host, as `balloon_onchannelcallback` dispatches it.
#[derive(Copy, Clone, Debug)]
pub enum DmHostMessage<'a> {
    /// Answer to a version request.
    VersionResponse {
        /// The host accepts the version.
        accepted: bool,
    },
    /// Answer to the capabilities report.
    CapabilitiesResponse {
        /// The host accepts the capabilities.
        accepted: bool,
    },
    /// Give `num_pages` pages back to the host.
    BalloonRequest {
        /// Pages to free.
        num_pages: u32,
    },
    /// Take back the pages of `ranges`.
    UnballoonRequest {
        /// More requests follow in this transaction.
        more_pages: bool,
        /// The ranges.
        ranges: PageRanges<'a>,
    },
    /// Hot-add memory.
    HotAddRequest {
        /// Pages to bring online.
        range: DmMemPageRange,
        /// The region to add first when the host specifies one (`hdr.size` != 16).
        region: Option<DmMemPageRange>,
    },
    /// Information record.
    Info {
        /// Its type.
        info_type: DmInfoType,
        /// The maximum dynamic memory in pages, for [`DmInfoType::MAX_PAGE_CNT`] records with
        /// an 8-byte value.
        max_page_count: Option<u64>,
    },
    /// A type the guest does not handle.
    Other,
}

/// Parses a message from the host like `balloon_onchannelcallback` and its handlers.
///
/// Fixed fields past the end of the packet read as zero, as in C (whose receive buffer is
/// cleared before each packet).
///
/// # Errors
///
/// [`Error::Truncated`] if the packet is shorter than the header; [`Error::TooManyRanges`] if
/// an unballoon request announces more ranges than it carries.
pub fn parse_host_message(buf: &[u8]) -> Result<(DmHeader, DmHostMessage<'_>), Error> {
    let (hdr, _) = DmHeader::read_from_prefix(buf).map_err(|_| Error::Truncated {
        need: size_of::<DmHeader>(),
        have: buf.len(),
    })?;
    let msg = match hdr.type_ {
        DmMessageType::VERSION_RESPONSE => {
            let m: DmVersionResponse = read_zx(buf, 0);
            DmHostMessage::VersionResponse {
                accepted: m.flags & 1 != 0,
            }
        }
        DmMessageType::CAPABILITIES_RESPONSE => {
            let m: DmCapabilitiesResp = read_zx(buf, 0);
            DmHostMessage::CapabilitiesResponse {
                accepted: m.flags & 1 != 0,
            }
        }
        DmMessageType::BALLOON_REQUEST => {
            let m: DmBalloon = read_zx(buf, 0);
            DmHostMessage::BalloonRequest {
                num_pages: m.num_pages,
            }
        }
        DmMessageType::UNBALLOON_REQUEST => {
            let m: DmUnballoonRequest = read_zx(buf, 0);
            let count = m.range_count;
            let start = size_of::<DmUnballoonRequest>();
            let ranges = (count as usize)
                .checked_mul(size_of::<DmMemPageRange>())
                .and_then(|n| buf.get(start..start.checked_add(n)?))
                .ok_or(Error::TooManyRanges(count))?;
            DmHostMessage::UnballoonRequest {
                more_pages: m.flags & 1 != 0,
                ranges: PageRanges(ranges),
            }
        }
        DmMessageType::MEM_HOT_ADD_REQUEST => {
            let m: DmHotAdd = read_zx(buf, 0);
            let region = if usize::from(hdr.size) == size_of::<DmHotAdd>() {
                None
            } else {
                Some(read_zx::<DmMemPageRange>(buf, size_of::<DmHotAdd>()))
            };
            DmHostMessage::HotAddRequest {
                range: m.range,
                region,
            }
        }
        DmMessageType::INFO_MESSAGE => {
            let info: DmInfoHeader = read_zx(buf, size_of::<DmInfoMsg>());
            let value_off = size_of::<DmInfoMsg>() + size_of::<DmInfoHeader>();
            let max_page_count = ({ info.type_ } == DmInfoType::MAX_PAGE_CNT
                && info.data_size as usize == size_of::<u64>())
            .then(|| read_zx::<u64>(buf, value_off));
            DmHostMessage::Info {
                info_type: info.type_,
                max_page_count,
            }
        }
        _ => DmHostMessage::Other,
    };
    Ok((hdr, msg))
}

/// One step of the version negotiation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DmNegotiationStep {
    /// The host accepted this version.
    Accepted(u32),
    /// Send this request next.
    Retry(DmVersionRequest),
    /// The host refused the last attempt (C: probe fails with `-EPROTO`).
    Failed,
}

/// The guest's version negotiation (`balloon_connect_vsp` and `version_resp`): 2.0, then 1.0,
/// then 0.3 with `is_last_attempt`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DmVersionNegotiation {
    /// Version of the outstanding request.
    current: u32,
    /// Version to try after a refusal (0: none).
    next: u32,
}

impl DmVersionNegotiation {
    /// Starts the negotiation; returns the state and the first request (2.0, not last).
    pub fn start(trans_id: u32) -> (Self, DmVersionRequest) {
        let state = Self {
            current: DYNMEM_PROTOCOL_VERSION_WIN10,
            next: DYNMEM_PROTOCOL_VERSION_WIN8,
        };
        (
            state,
            version_request(trans_id, DYNMEM_PROTOCOL_VERSION_WIN10, false),
        )
    }

    /// Advances on the host's answer; `trans_id` is used for a retry.
    pub fn on_response(&mut self, accepted: bool, trans_id: u32) -> DmNegotiationStep {
        if accepted {
            return DmNegotiationStep::Accepted(self.current);
        }
        if self.next == 0 {
            return DmNegotiationStep::Failed;
        }
        let version = self.next;
        self.current = version;
        let last = if version == DYNMEM_PROTOCOL_VERSION_WIN8 {
            self.next = DYNMEM_PROTOCOL_VERSION_WIN7;
            false
        } else {
            self.next = 0;
            true
        };
        DmNegotiationStep::Retry(version_request(trans_id, version, last))
    }
}

/// Returns a version request.
pub fn version_request(trans_id: u32, version: u32, is_last_attempt: bool) -> DmVersionRequest {
    DmVersionRequest {
        hdr: DmHeader::for_message::<DmVersionRequest>(DmMessageType::VERSION_REQUEST, trans_id),
        version,
        flags: u32::from(is_last_attempt),
    }
}

/// Returns the capabilities report Linux sends (`min_page_cnt` 0, `max_page_number`
/// `u64::MAX`).
pub fn capabilities_report(trans_id: u32, caps: DmCaps) -> DmCapabilities {
    DmCapabilities {
        hdr: DmHeader::for_message::<DmCapabilities>(DmMessageType::CAPABILITIES_REPORT, trans_id),
        caps,
        min_page_cnt: 0,
        max_page_number: u64::MAX,
    }
}

/// Returns an unballoon answer.
pub fn unballoon_response(trans_id: u32) -> DmUnballoonResponse {
    DmUnballoonResponse {
        hdr: DmHeader::for_message::<DmUnballoonResponse>(
            DmMessageType::UNBALLOON_RESPONSE,
            trans_id,
        ),
    }
}

/// Returns a hot-add answer (`result` 1 on success).
pub fn hot_add_response(trans_id: u32, page_count: u32, success: bool) -> DmHotAddResponse {
    DmHotAddResponse {
        hdr: DmHeader::for_message::<DmHotAddResponse>(
            DmMessageType::MEM_HOT_ADD_RESPONSE,
            trans_id,
        ),
        page_count,
        result: u32::from(success),
    }
}

/// Returns the header of a balloon answer that `range_count` [`DmMemPageRange`]s follow, to
/// send as one packet with them (`hdr.size` counts them; `range_count` is truncated to 31 bits).
pub fn balloon_response_header(
    trans_id: u32,
    more_pages: bool,
    range_count: usize,
) -> DmBalloonResponse {
    let len = size_of::<DmBalloonResponse>()
        .saturating_add(range_count.saturating_mul(size_of::<DmMemPageRange>()));
    DmBalloonResponse {
        hdr: DmHeader {
            type_: DmMessageType::BALLOON_RESPONSE,
            size: u16::try_from(len).unwrap_or(u16::MAX),
            trans_id,
        },
        reservedz: 0,
        more_count: u32::from(more_pages) | ((range_count as u32) << 1),
    }
}

/// Builds a balloon answer with `ranges` into `buf`; returns its length (`hdr.size`).
///
/// # Errors
///
/// [`Error::Truncated`] if `buf` is too small or the message would exceed `u16::MAX` bytes
/// (the header's size field; C sends at most one page).
pub fn build_balloon_response(
    buf: &mut [u8],
    trans_id: u32,
    more_pages: bool,
    ranges: &[DmMemPageRange],
) -> Result<usize, Error> {
    let len = size_of::<DmBalloonResponse>() + core::mem::size_of_val(ranges);
    let have = buf.len();
    if len > usize::from(u16::MAX) {
        return Err(Error::Truncated { need: len, have });
    }
    let dst = buf
        .get_mut(..len)
        .ok_or(Error::Truncated { need: len, have })?;
    let head = DmBalloonResponse {
        hdr: DmHeader {
            type_: DmMessageType::BALLOON_RESPONSE,
            size: len as u16,
            trans_id,
        },
        reservedz: 0,
        more_count: u32::from(more_pages) | ((ranges.len() as u32) << 1),
    };
    let (h, mut rest) = dst.split_at_mut(size_of::<DmBalloonResponse>());
    h.copy_from_slice(head.as_bytes());
    for r in ranges {
        let (d, tail) = rest.split_at_mut(size_of::<DmMemPageRange>());
        d.copy_from_slice(r.as_bytes());
        rest = tail;
    }
    Ok(len)
}

/// Largest number of ranges in one balloon answer: the C driver fills one page
/// (`HV_HYP_PAGE_SIZE`) with the header and the ranges (`alloc_balloon_pages()`), 510 ranges.
pub const DM_BALLOON_RESPONSE_MAX_RANGES: usize =
    (DM_RECV_BUFFER_SIZE - size_of::<DmBalloonResponse>()) / size_of::<DmMemPageRange>();

/// Pages in a 2 MiB balloon allocation (`PAGES_IN_2M`), the unit the guest tries first.
pub const PAGES_IN_2M: u32 = 2 * 1024 * 1024 / 4096;

/// `MB2PAGES(mb)` for 4 KiB pages.
const fn mb2pages(mb: u64) -> u64 {
    mb << (20 - 12)
}

/// The least memory the guest keeps, in 4 KiB pages, for `nr_pages` pages of RAM
/// (`compute_balloon_floor()`, a continuous piecewise linear function of `totalram_pages()`).
///
/// ```
/// use hv_proto::dm::compute_balloon_floor;
/// // 1 GiB: 104 MiB + 1/8 of it = 232 MiB.
/// assert_eq!(compute_balloon_floor(262_144), 232 << 8);
/// ```
pub const fn compute_balloon_floor(nr_pages: u64) -> u64 {
    if nr_pages < mb2pages(128) {
        mb2pages(8) + (nr_pages >> 1)
    } else if nr_pages < mb2pages(512) {
        mb2pages(40) + (nr_pages >> 2)
    } else if nr_pages < mb2pages(2048) {
        mb2pages(104) + (nr_pages >> 3)
    } else if nr_pages < mb2pages(8192) {
        mb2pages(232) + (nr_pages >> 4)
    } else {
        mb2pages(488) + (nr_pages >> 5)
    }
}

/// The memory the guest reports as committed, in 4 KiB pages (`get_pages_committed()`): the
/// kernel's committed memory (`vm_memory_committed()`), the ballooned-out pages, the hot-added
/// pages not yet online, and the balloon floor. Saturates instead of overflowing.
pub const fn pages_committed(
    vm_committed: u64,
    ballooned: u64,
    added: u64,
    onlined: u64,
    floor: u64,
) -> u64 {
    vm_committed
        .saturating_add(ballooned)
        .saturating_add(added.saturating_sub(onlined))
        .saturating_add(floor)
}

/// Why a balloon request is only partly fulfilled (`balloon_up()`'s message).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BalloonLimit {
    /// The request exceeds the available memory ("Not enough memory.").
    NotEnoughMemory,
    /// Fulfilling it would go below the floor ("Balloon floor reached.").
    FloorReached,
}

/// How many of the `num_pages` requested pages the guest may balloon out with `avail_pages`
/// available (`si_mem_available()`, which can be negative) and `floor` pages to keep
/// (`balloon_up()`): all of them, or what lies above the floor, with the reason.
///
/// ```
/// use hv_proto::dm::{balloon_request_pages, BalloonLimit};
/// assert_eq!(balloon_request_pages(1000, 100, 500), (100, None));
/// assert_eq!(balloon_request_pages(1000, 600, 500), (500, Some(BalloonLimit::FloorReached)));
/// assert_eq!(balloon_request_pages(-5, 600, 500), (0, Some(BalloonLimit::NotEnoughMemory)));
/// ```
pub fn balloon_request_pages(
    avail_pages: i64,
    num_pages: u32,
    floor: u64,
) -> (u32, Option<BalloonLimit>) {
    let want = i64::from(num_pages);
    let floor = i64::try_from(floor).unwrap_or(i64::MAX);
    if avail_pages >= want && avail_pages - want >= floor {
        return (num_pages, None);
    }
    let reason = if avail_pages < want {
        BalloonLimit::NotEnoughMemory
    } else {
        BalloonLimit::FloorReached
    };
    let allowed = if avail_pages > floor {
        avail_pages - floor
    } else {
        0
    };
    // C stores `avail_pages - floor` in the `unsigned int` request; it is below `num_pages`.
    (
        u32::try_from(allowed).unwrap_or(num_pages).min(num_pages),
        Some(reason),
    )
}

/// Returns a status report with `num_avail` and `num_committed` in 4 KiB pages; the other
/// fields are zero, as Linux sends them (`post_status()`).
pub fn status_report(trans_id: u32, num_avail: u64, num_committed: u64) -> DmStatus {
    DmStatus {
        hdr: DmHeader::for_message::<DmStatus>(DmMessageType::STATUS_REPORT, trans_id),
        num_avail,
        num_committed,
        ..DmStatus::default()
    }
}

#[cfg(test)]
mod tests;
