// SPDX-License-Identifier: GPL-2.0

//! The integration-component (IC) framework shared by the util services.
//!
//! C header: [`include/linux/hyperv.h`](srctree/include/linux/hyperv.h) (`vmbuspipe_hdr`,
//! `ic_version`, `icmsg_hdr`, `icmsg_negotiate`, `shutdown_msg_data`, `heartbeat_msg_data`,
//! `ictimesync_data`, `ictimesync_ref_data`), [`include/uapi/linux/hyperv.h`](srctree/include/uapi/linux/hyperv.h)
//! (framework versions, `HV_S_*`/`HV_E_*` status codes) and
//! [`drivers/hv/channel_mgmt.c`](srctree/drivers/hv/channel_mgmt.c) (`vmbus_prep_negotiate_resp`).
//!
//! Every IC packet (the data of a VMBus in-band packet) is laid out as a [`VmbusPipeHdr`]
//! (8 bytes), an [`IcMsgHdr`] (20 bytes) and the service payload at byte [`ICMSG_HDR`] (28).
//! The host always starts with an [`IcMsgType::NEGOTIATE`] request after the channel is
//! opened; the guest answers every request by rewriting the header (status and flags) in place
//! and sending the same number of bytes back ([`finish_response`]).
//!
//! # Examples
//!
//! ```
//! use hv_proto::ic::{self, IcVersion};
//!
//! // The host offers framework 3.0 and time-sync 3.0 and 4.0.
//! let mut pkt = [0u8; 64];
//! let len = ic::build_negotiate_request(
//!     &mut pkt,
//!     &[IcVersion::new(3, 0)],
//!     &[IcVersion::new(3, 0), IcVersion::new(4, 0)],
//!     7,
//! )
//! .unwrap();
//! let out = ic::prep_negotiate_resp(&mut pkt[..len], &ic::FW_VERSIONS, &ic::TS_VERSIONS).unwrap();
//! assert!(out.matched);
//! assert_eq!(out.service, IcVersion::new(4, 0));
//! ```

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

/// Errors from parsing or building IC packets.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The buffer is shorter than the structure that must be read or written.
    Truncated {
        /// Bytes needed, counted from the start of the buffer given to the function.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// A negotiate request lists more than [`IC_VERSION_NEGOTIATION_MAX_VER_COUNT`] versions,
    /// or more versions than the caller's buffer holds (building a request).
    TooManyVersions,
}

/// Returns `Ok(())` if `have >= need`, else [`Error::Truncated`].
fn check_len(need: usize, have: usize) -> Result<(), Error> {
    if have < need {
        Err(Error::Truncated { need, have })
    } else {
        Ok(())
    }
}

/// Maps a zerocopy size error (the only one possible for unaligned types) to [`Error::Truncated`].
fn truncated<T>(need: usize, have: usize) -> impl FnOnce(T) -> Error {
    move |_| Error::Truncated { need, have }
}

/// Header of a VMBus pipe message, in front of every IC message.
///
/// Mirrors `struct vmbuspipe_hdr` (`include/linux/hyperv.h`, 8 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct VmbusPipeHdr {
    /// Pipe message type; hosts write 1 ("data"). Linux never reads it.
    pub flags: u32,
    /// Size in bytes of the message that follows this header.
    pub msgsize: u32,
}
const _: () = assert!(core::mem::size_of::<VmbusPipeHdr>() == 8);

/// An IC framework or service version.
///
/// Mirrors `struct ic_version` (`include/linux/hyperv.h`, 4 bytes, packed). The C drivers pass
/// versions around as `int`s `(major << 16) | minor` ([`IcVersion::to_u32`]).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct IcVersion {
    /// Major version.
    pub major: u16,
    /// Minor version.
    pub minor: u16,
}
const _: () = assert!(core::mem::size_of::<IcVersion>() == 4);

impl IcVersion {
    /// Returns the version `major.minor`.
    pub const fn new(major: u16, minor: u16) -> Self {
        Self { major, minor }
    }

    /// Returns the C encoding `(major << 16) | minor`.
    pub const fn to_u32(self) -> u32 {
        ((self.major as u32) << 16) | self.minor as u32
    }

    /// Decodes the C encoding `(major << 16) | minor`.
    pub const fn from_u32(v: u32) -> Self {
        Self {
            major: (v >> 16) as u16,
            minor: v as u16,
        }
    }
}

open_enum! {
    /// The `icmsgtype` of an [`IcMsgHdr`] (`ICMSGTYPE_*` in `include/linux/hyperv.h`).
    pub struct IcMsgType(u16) {
        /// `ICMSGTYPE_NEGOTIATE`: framework and service version negotiation.
        NEGOTIATE = 0,
        /// `ICMSGTYPE_HEARTBEAT`.
        HEARTBEAT = 1,
        /// `ICMSGTYPE_KVPEXCHANGE`: key-value pair exchange.
        KVP_EXCHANGE = 2,
        /// `ICMSGTYPE_SHUTDOWN`.
        SHUTDOWN = 3,
        /// `ICMSGTYPE_TIMESYNC`.
        TIMESYNC = 4,
        /// `ICMSGTYPE_VSS`: volume shadow copy (backup).
        VSS = 5,
        /// `ICMSGTYPE_FCOPY`: host-to-guest file copy.
        FCOPY = 7,
    }
}

open_enum! {
    /// A Hyper-V status code as carried in [`IcMsgHdr::status`] and in the KVP/VSS daemon
    /// messages (`HV_S_OK` etc., `include/uapi/linux/hyperv.h`).
    pub struct HvStatus(u32) {
        /// `HV_S_OK`: success.
        S_OK = 0x0000_0000,
        /// `HV_E_FAIL`: generic failure.
        E_FAIL = 0x8000_4005,
        /// `HV_S_CONT`: "no more items" (ends a KVP enumeration) or a failed KVP operation.
        S_CONT = 0x8007_0103,
        /// `HV_ERROR_NOT_SUPPORTED`.
        ERROR_NOT_SUPPORTED = 0x8007_0032,
        /// `HV_ERROR_MACHINE_LOCKED`.
        ERROR_MACHINE_LOCKED = 0x8007_04F7,
        /// `HV_ERROR_DEVICE_NOT_CONNECTED`.
        ERROR_DEVICE_NOT_CONNECTED = 0x8007_048F,
        /// `HV_INVALIDARG`.
        INVALIDARG = 0x8007_0057,
        /// `HV_GUID_NOTFOUND`.
        GUID_NOTFOUND = 0x8004_1002,
        /// `HV_ERROR_ALREADY_EXISTS`.
        ERROR_ALREADY_EXISTS = 0x8007_0050,
        /// `HV_ERROR_DISK_FULL`.
        ERROR_DISK_FULL = 0x8007_0070,
    }
}

/// `ICMSGHDRFLAG_TRANSACTION`: bit of [`IcMsgHdr::icflags`].
pub const ICMSGHDRFLAG_TRANSACTION: u8 = 1;
/// `ICMSGHDRFLAG_REQUEST`: bit of [`IcMsgHdr::icflags`], set by the host on requests.
pub const ICMSGHDRFLAG_REQUEST: u8 = 2;
/// `ICMSGHDRFLAG_RESPONSE`: bit of [`IcMsgHdr::icflags`], set by the guest on responses.
pub const ICMSGHDRFLAG_RESPONSE: u8 = 4;

/// The IC message header.
///
/// Mirrors `struct icmsg_hdr` (`include/linux/hyperv.h`, 20 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct IcMsgHdr {
    /// Framework version of this message.
    pub icverframe: IcVersion,
    /// Message type.
    pub icmsgtype: IcMsgType,
    /// Service (message) version of this message.
    pub icvermsg: IcVersion,
    /// Size in bytes of the payload after the 28-byte header (the guest sets 0x10 in negotiate
    /// responses; otherwise informational).
    pub icmsgsize: u16,
    /// Status; the guest writes the result of a request here.
    pub status: HvStatus,
    /// Transaction id; the guest echoes it.
    pub ictransaction_id: u8,
    /// `ICMSGHDRFLAG_*` bits.
    pub icflags: u8,
    /// Reserved.
    pub reserved: [u8; 2],
}
const _: () = assert!(core::mem::size_of::<IcMsgHdr>() == 20);

/// `ICMSG_HDR`: bytes in front of every IC payload (`sizeof(vmbuspipe_hdr) + sizeof(icmsg_hdr)`).
pub const ICMSG_HDR: usize = 28;
const _: () =
    assert!(ICMSG_HDR == core::mem::size_of::<VmbusPipeHdr>() + core::mem::size_of::<IcMsgHdr>());

/// Byte offset of [`IcMsgHdr::icmsgsize`] in a packet.
const OFF_ICMSGSIZE: usize = 8 + 10;
/// Byte offset of [`IcMsgHdr::status`] in a packet.
const OFF_STATUS: usize = 8 + 12;
/// Byte offset of [`IcMsgHdr::icflags`] in a packet.
const OFF_ICFLAGS: usize = 8 + 17;

/// `IC_VERSION_NEGOTIATION_MAX_VER_COUNT`: the most framework or service versions a negotiate
/// request may list.
pub const IC_VERSION_NEGOTIATION_MAX_VER_COUNT: u16 = 100;

/// The fixed part of a negotiate payload; `icframe_vercnt + icmsg_vercnt` [`IcVersion`]s follow
/// (framework versions first).
///
/// Mirrors `struct icmsg_negotiate` without its flexible array (`include/linux/hyperv.h`, 8 bytes,
/// packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct IcMsgNegotiate {
    /// Number of framework versions listed.
    pub icframe_vercnt: u16,
    /// Number of service (message) versions listed after the framework versions.
    pub icmsg_vercnt: u16,
    /// Reserved.
    pub reserved: u32,
}
const _: () = assert!(core::mem::size_of::<IcMsgNegotiate>() == 8);

/// `UTIL_FW_VERSION`: IC framework 3.0.
pub const UTIL_FW_VERSION: IcVersion = IcVersion::new(3, 0);
/// `UTIL_WS2K8_FW_VERSION`: IC framework 1.0 (Windows Server 2008).
pub const UTIL_WS2K8_FW_VERSION: IcVersion = IcVersion::new(1, 0);
/// Framework versions the shutdown, time-sync, heartbeat and KVP drivers accept, in order of
/// preference (`fw_versions[]` in `hv_util.c` and `hv_kvp.c`).
pub const FW_VERSIONS: [IcVersion; 2] = [UTIL_FW_VERSION, UTIL_WS2K8_FW_VERSION];
/// Shutdown service versions Linux accepts, in order of preference (`sd_versions[]`).
pub const SD_VERSIONS: [IcVersion; 4] = [
    IcVersion::new(3, 2),
    IcVersion::new(3, 1),
    IcVersion::new(3, 0),
    IcVersion::new(1, 0),
];
/// Time-sync service versions Linux accepts, in order of preference (`ts_versions[]`).
pub const TS_VERSIONS: [IcVersion; 3] = [
    IcVersion::new(4, 0),
    IcVersion::new(3, 0),
    IcVersion::new(1, 0),
];
/// Heartbeat service versions Linux accepts, in order of preference (`hb_versions[]`).
pub const HB_VERSIONS: [IcVersion; 2] = [IcVersion::new(3, 0), IcVersion::new(1, 0)];

/// `HV_UTIL_TIMEOUT`: seconds the KVP/VSS drivers wait for the user-space daemon.
pub const HV_UTIL_TIMEOUT_SECS: u32 = 30;
/// `HV_UTIL_NEGO_TIMEOUT`: seconds the KVP driver defers host negotiation while no daemon is
/// registered.
pub const HV_UTIL_NEGO_TIMEOUT_SECS: u32 = 55;

/// The result of [`prep_negotiate_resp`], mirroring the C function's outputs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct NegotiateOutcome {
    /// Whether both a framework and a service version matched (the C return value). The
    /// response written into the packet lists one version of each when `true`, none otherwise.
    pub matched: bool,
    /// What C stores in `*nego_fw_version`: the chosen framework version. When nothing matched
    /// this is, as in C, `(host framework count).0`: not a version; do not use it then.
    pub framework: IcVersion,
    /// What C stores in `*nego_srv_version`: the chosen service version. When nothing matched it
    /// is `(host service count).0`, or the host's count with a matched framework; the C util
    /// drivers still store it in their `*_srv_version` (time sync then picks the pre-4.0 sample
    /// layout for any value not above 3.0).
    pub service: IcVersion,
}

/// Reads the `index`-th [`IcVersion`] of a negotiate payload (after the 8-byte fixed part).
fn negotiate_version(packet: &[u8], index: usize) -> Option<IcVersion> {
    let off = ICMSG_HDR + 8 + index.checked_mul(4)?;
    IcVersion::read_from_prefix(packet.get(off..)?)
        .ok()
        .map(|(v, _)| v)
}

/// Writes the `index`-th [`IcVersion`] of a negotiate payload if it lies inside `packet`.
fn put_negotiate_version(packet: &mut [u8], index: usize, v: IcVersion) {
    let off = ICMSG_HDR + 8 + index * 4;
    if let Some(dst) = packet.get_mut(off..off + 4) {
        dst.copy_from_slice(v.as_bytes());
    }
}

/// Reads a little-endian `u16` at `off`.
fn get_u16(buf: &[u8], off: usize) -> Option<u16> {
    let b = buf.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([*b.first()?, *b.get(1)?]))
}

/// Writes a little-endian `u16` at `off` if it fits.
fn put_u16(buf: &mut [u8], off: usize, v: u16) {
    if let Some(dst) = buf.get_mut(off..off + 2) {
        dst.copy_from_slice(&v.to_le_bytes());
    }
}

/// Answers a host negotiate request in place, exactly like Linux's `vmbus_prep_negotiate_resp`.
///
/// `packet` is the whole received IC packet (pipe header, IC header, negotiate payload), of the
/// received length; the caller then sends it back with the same length after
/// [`finish_response`]. `fw_versions` and `srv_versions` are the driver's versions in order of
/// preference (e.g. [`FW_VERSIONS`] and [`TS_VERSIONS`]).
///
/// Semantics, as in C:
/// - `icmsgsize` is set to 0x10;
/// - if a count exceeds [`IC_VERSION_NEGOTIATION_MAX_VER_COUNT`] or the listed versions do not
///   fit in `packet`, nothing matches;
/// - the first of `fw_versions` (in the driver's order) that the host lists among its framework
///   versions is chosen, then likewise the first of `srv_versions` among the host's service
///   versions;
/// - the counts are rewritten to 1/1 on a match, 0/0 otherwise, and version slots 0 and 1 receive
///   the framework and service values of [`NegotiateOutcome`] (slots beyond the end of `packet`
///   are not written; C writes them into its larger receive buffer, past what it sends).
///
/// # Errors
///
/// [`Error::Truncated`] if `packet` cannot hold the two counts (C returns `false` without
/// touching anything); the packet is then left unchanged.
pub fn prep_negotiate_resp(
    packet: &mut [u8],
    fw_versions: &[IcVersion],
    srv_versions: &[IcVersion],
) -> Result<NegotiateOutcome, Error> {
    check_len(ICMSG_HDR + 4, packet.len())?;
    put_u16(packet, OFF_ICMSGSIZE, 0x10);

    let fw_cnt = get_u16(packet, ICMSG_HDR).unwrap_or(0);
    let msg_cnt = get_u16(packet, ICMSG_HDR + 2).unwrap_or(0);

    let mut framework = IcVersion::new(fw_cnt, 0);
    let mut service = IcVersion::new(msg_cnt, 0);
    let mut found = false;

    let listed = usize::from(fw_cnt) + usize::from(msg_cnt);
    let valid = fw_cnt <= IC_VERSION_NEGOTIATION_MAX_VER_COUNT
        && msg_cnt <= IC_VERSION_NEGOTIATION_MAX_VER_COUNT
        && ICMSG_HDR + 8 + listed * 4 <= packet.len();

    if valid {
        let host_fw = 0..usize::from(fw_cnt);
        if let Some(v) = first_common(packet, fw_versions, host_fw) {
            framework = v;
            let host_srv = usize::from(fw_cnt)..listed;
            if let Some(v) = first_common(packet, srv_versions, host_srv) {
                service = v;
                found = true;
            }
        }
    }

    let cnt = u16::from(found);
    put_u16(packet, ICMSG_HDR, cnt);
    put_u16(packet, ICMSG_HDR + 2, cnt);
    put_negotiate_version(packet, 0, framework);
    put_negotiate_version(packet, 1, service);

    Ok(NegotiateOutcome {
        matched: found,
        framework,
        service,
    })
}

/// Returns the first of `ours` that the host lists in slots `host` of the negotiate payload.
fn first_common(
    packet: &[u8],
    ours: &[IcVersion],
    host: core::ops::Range<usize>,
) -> Option<IcVersion> {
    ours.iter().copied().find(|v| {
        host.clone()
            .any(|j| negotiate_version(packet, j) == Some(*v))
    })
}

/// Builds a host negotiate request into `buf` and returns its length in bytes.
///
/// This is the host side of the exchange (for the host engine and tests): pipe header
/// (`flags` 1), an [`IcMsgHdr`] of type [`IcMsgType::NEGOTIATE`] with the first listed versions,
/// `icflags` TRANSACTION|REQUEST and transaction id `trans_id`, then the version lists.
///
/// # Errors
///
/// [`Error::TooManyVersions`] if a list has more than
/// [`IC_VERSION_NEGOTIATION_MAX_VER_COUNT`] entries, [`Error::Truncated`] if `buf` is too small.
pub fn build_negotiate_request(
    buf: &mut [u8],
    fw_versions: &[IcVersion],
    srv_versions: &[IcVersion],
    trans_id: u8,
) -> Result<usize, Error> {
    let max = usize::from(IC_VERSION_NEGOTIATION_MAX_VER_COUNT);
    if fw_versions.len() > max || srv_versions.len() > max {
        return Err(Error::TooManyVersions);
    }
    let listed = fw_versions.len() + srv_versions.len();
    let len = ICMSG_HDR + 8 + listed * 4;
    check_len(len, buf.len())?;
    let buf = buf
        .get_mut(..len)
        .ok_or(Error::Truncated { need: len, have: 0 })?;
    buf.fill(0);

    let pipe = VmbusPipeHdr {
        flags: 1,
        msgsize: (len - 8) as u32,
    };
    let hdr = IcMsgHdr {
        icverframe: fw_versions.first().copied().unwrap_or_default(),
        icmsgtype: IcMsgType::NEGOTIATE,
        icvermsg: srv_versions.first().copied().unwrap_or_default(),
        icmsgsize: (len - ICMSG_HDR) as u16,
        status: HvStatus::S_OK,
        ictransaction_id: trans_id,
        icflags: ICMSGHDRFLAG_TRANSACTION | ICMSGHDRFLAG_REQUEST,
        reserved: [0; 2],
    };
    let neg = IcMsgNegotiate {
        icframe_vercnt: fw_versions.len() as u16,
        icmsg_vercnt: srv_versions.len() as u16,
        reserved: 0,
    };
    let (head, rest) = buf.split_at_mut(8);
    head.copy_from_slice(pipe.as_bytes());
    let (head, rest) = rest.split_at_mut(20);
    head.copy_from_slice(hdr.as_bytes());
    let (head, mut rest) = rest.split_at_mut(8);
    head.copy_from_slice(neg.as_bytes());
    for v in fw_versions.iter().chain(srv_versions) {
        let (head, tail) = rest.split_at_mut(4);
        head.copy_from_slice(v.as_bytes());
        rest = tail;
    }
    Ok(len)
}

/// Reads the versions a guest chose from its negotiate response (host side).
///
/// Returns `Some((framework, service))` if the response lists one version of each and `None` if
/// it lists none (no common version).
///
/// # Errors
///
/// [`Error::Truncated`] if the packet is too short for what its counts announce,
/// [`Error::TooManyVersions`] if the counts are neither 0/0 nor 1/1.
pub fn parse_negotiate_response(packet: &[u8]) -> Result<Option<(IcVersion, IcVersion)>, Error> {
    check_len(ICMSG_HDR + 8, packet.len())?;
    let fw_cnt = get_u16(packet, ICMSG_HDR).unwrap_or(0);
    let msg_cnt = get_u16(packet, ICMSG_HDR + 2).unwrap_or(0);
    match (fw_cnt, msg_cnt) {
        (0, 0) => Ok(None),
        (1, 1) => {
            check_len(ICMSG_HDR + 16, packet.len())?;
            match (negotiate_version(packet, 0), negotiate_version(packet, 1)) {
                (Some(fw), Some(srv)) => Ok(Some((fw, srv))),
                _ => Err(Error::Truncated {
                    need: ICMSG_HDR + 16,
                    have: packet.len(),
                }),
            }
        }
        _ => Err(Error::TooManyVersions),
    }
}

/// A received IC packet split into its headers and payload.
#[derive(Copy, Clone, Debug)]
pub struct IcMessage<'a> {
    /// The pipe header.
    pub pipe: VmbusPipeHdr,
    /// The IC header.
    pub hdr: IcMsgHdr,
    /// The bytes after the 28-byte header, up to the end of the packet.
    pub payload: &'a [u8],
}

/// Splits a received IC packet into its headers and payload.
///
/// # Errors
///
/// [`Error::Truncated`] if the packet is shorter than [`ICMSG_HDR`] (the C drivers drop such
/// packets without answering).
pub fn parse_ic_message(packet: &[u8]) -> Result<IcMessage<'_>, Error> {
    let have = packet.len();
    let (pipe, rest) =
        VmbusPipeHdr::read_from_prefix(packet).map_err(truncated(ICMSG_HDR, have))?;
    let (hdr, payload) = IcMsgHdr::read_from_prefix(rest).map_err(truncated(ICMSG_HDR, have))?;
    Ok(IcMessage { pipe, hdr, payload })
}

/// Returns a mutable view of the [`IcMsgHdr`] of a received packet.
///
/// # Errors
///
/// [`Error::Truncated`] if the packet is shorter than [`ICMSG_HDR`].
pub fn icmsg_hdr_mut(packet: &mut [u8]) -> Result<&mut IcMsgHdr, Error> {
    let have = packet.len();
    let rest = packet.get_mut(8..).ok_or(Error::Truncated {
        need: ICMSG_HDR,
        have,
    })?;
    IcMsgHdr::mut_from_prefix(rest)
        .map(|(h, _)| h)
        .map_err(truncated(ICMSG_HDR, have))
}

/// Turns a received request into its response in place: sets `status` (unless `None`, as for
/// negotiate answers, where C leaves the host's value) and `icflags` = TRANSACTION|RESPONSE.
///
/// # Errors
///
/// [`Error::Truncated`] if the packet is shorter than [`ICMSG_HDR`].
pub fn finish_response(packet: &mut [u8], status: Option<HvStatus>) -> Result<(), Error> {
    check_len(ICMSG_HDR, packet.len())?;
    if let Some(s) = status {
        if let Some(dst) = packet.get_mut(OFF_STATUS..OFF_STATUS + 4) {
            dst.copy_from_slice(&s.0.to_le_bytes());
        }
    }
    if let Some(f) = packet.get_mut(OFF_ICFLAGS) {
        *f = ICMSGHDRFLAG_TRANSACTION | ICMSGHDRFLAG_RESPONSE;
    }
    Ok(())
}

/// `flags` bit of [`ShutdownMsgData`]: perform the request by force (Linux always does).
pub const SHUTDOWN_FLAG_FORCE: u32 = 1;
/// `flags` bit of [`ShutdownMsgData`]: restart instead of power off.
pub const SHUTDOWN_FLAG_RESTART: u32 = 2;
/// `flags` bit of [`ShutdownMsgData`]: hibernate instead of power off.
pub const SHUTDOWN_FLAG_HIBERNATE: u32 = 4;

/// The shutdown request payload.
///
/// Mirrors `struct shutdown_msg_data` (`include/linux/hyperv.h`, 2060 bytes, packed).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct ShutdownMsgData {
    /// Reason code (informational).
    pub reason_code: u32,
    /// Timeout in seconds (informational; Linux ignores it).
    pub timeout_seconds: u32,
    /// `SHUTDOWN_FLAG_*` bits.
    pub flags: u32,
    /// Message to display (UTF-16LE, unused by Linux).
    pub display_message: [u8; 2048],
}
const _: () = assert!(core::mem::size_of::<ShutdownMsgData>() == 2060);

/// What a shutdown request asks for, decoded exactly like `shutdown_onchannelcallback`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ShutdownAction {
    /// Flags 0 or 1: power off (`orderly_poweroff`); answer `HV_S_OK`.
    PowerOff,
    /// Flags 2 or 3: reboot (`orderly_reboot`); answer `HV_S_OK`.
    Restart,
    /// Flags 4 or 5: hibernate (uevent `EVENT=hibernate`); answer `HV_S_OK` if the guest supports
    /// hibernation, else `HV_E_FAIL`.
    Hibernate,
    /// Any other flags: answer `HV_E_FAIL` and do nothing.
    Invalid,
}

impl ShutdownAction {
    /// Decodes [`ShutdownMsgData::flags`].
    pub const fn from_flags(flags: u32) -> Self {
        match flags {
            0 | 1 => Self::PowerOff,
            2 | 3 => Self::Restart,
            4 | 5 => Self::Hibernate,
            _ => Self::Invalid,
        }
    }
}

/// Parses the payload of an [`IcMsgType::SHUTDOWN`] request.
///
/// # Errors
///
/// [`Error::Truncated`] if the payload is shorter than [`ShutdownMsgData`] (C drops the packet
/// without answering).
pub fn parse_shutdown(payload: &[u8]) -> Result<ShutdownMsgData, Error> {
    ShutdownMsgData::read_from_prefix(payload)
        .map(|(m, _)| m)
        .map_err(truncated(
            core::mem::size_of::<ShutdownMsgData>(),
            payload.len(),
        ))
}

/// The heartbeat payload.
///
/// Mirrors `struct heartbeat_msg_data` (`include/linux/hyperv.h`, 40 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct HeartbeatMsgData {
    /// Sequence number; the guest answers with `seq_num + 1`.
    pub seq_num: u64,
    /// Reserved; the host may not send it (Linux only requires `seq_num`).
    pub reserved: [u32; 8],
}
const _: () = assert!(core::mem::size_of::<HeartbeatMsgData>() == 40);

/// Answers an [`IcMsgType::HEARTBEAT`] request in place: `seq_num += 1` (wrapping), and returns
/// the new value.
///
/// # Errors
///
/// [`Error::Truncated`] if the payload is shorter than 8 bytes (C drops the packet).
pub fn answer_heartbeat(payload: &mut [u8]) -> Result<u64, Error> {
    let have = payload.len();
    let bytes = payload
        .get_mut(..8)
        .ok_or(Error::Truncated { need: 8, have })?;
    let mut raw = [0u8; 8];
    raw.copy_from_slice(bytes);
    let next = u64::from_le_bytes(raw).wrapping_add(1);
    bytes.copy_from_slice(&next.to_le_bytes());
    Ok(next)
}

/// `ICTIMESYNCFLAG_PROBE`: a probe (no flag bits set).
pub const ICTIMESYNCFLAG_PROBE: u8 = 0;
/// `ICTIMESYNCFLAG_SYNC`: bit of the time-sync flags; step the clock (after boot or resume).
pub const ICTIMESYNCFLAG_SYNC: u8 = 1;
/// `ICTIMESYNCFLAG_SAMPLE`: bit of the time-sync flags; a sample the guest may use (PTP).
pub const ICTIMESYNCFLAG_SAMPLE: u8 = 2;
/// `WLTIMEDELTA`: 100 ns units between 1601-01-01 (Windows epoch) and 1970-01-01.
pub const WLTIMEDELTA: u64 = 116_444_736_000_000_000;

/// The time-sync payload of service versions below 4.0.
///
/// Mirrors `struct ictimesync_data` (`include/linux/hyperv.h`, 25 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct IcTimesyncData {
    /// Host time in 100 ns units since 1601-01-01 UTC.
    pub parenttime: u64,
    /// Child time (unused by Linux).
    pub childtime: u64,
    /// Round-trip time (unused by Linux).
    pub roundtriptime: u64,
    /// `ICTIMESYNCFLAG_*` bits.
    pub flags: u8,
}
const _: () = assert!(core::mem::size_of::<IcTimesyncData>() == 25);

/// The time-sync payload of service version 4.0, with the reference-time sample.
///
/// Mirrors `struct ictimesync_ref_data` (`include/linux/hyperv.h`, 22 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct IcTimesyncRefData {
    /// Host time in 100 ns units since 1601-01-01 UTC.
    pub parenttime: u64,
    /// The guest's Hyper-V reference counter (100 ns units) when the host took the sample.
    pub vmreferencetime: u64,
    /// `ICTIMESYNCFLAG_*` bits.
    pub flags: u8,
    /// Leap-second flags (unused by Linux).
    pub leapflags: u8,
    /// Clock stratum (unused by Linux).
    pub stratum: u8,
    /// Reserved.
    pub reserved: [u8; 3],
}
const _: () = assert!(core::mem::size_of::<IcTimesyncRefData>() == 22);

/// A time sample decoded from an [`IcMsgType::TIMESYNC`] request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TimeSample {
    /// Host time in 100 ns units since 1601-01-01 UTC.
    pub parent_time: u64,
    /// The reference counter value of the sample (service 4.0 only). For older versions C uses
    /// the reference counter read when the message is processed.
    pub vm_reference_time: Option<u64>,
    /// `ICTIMESYNCFLAG_*` bits.
    pub flags: u8,
}

/// Parses the payload of an [`IcMsgType::TIMESYNC`] request for the negotiated service version.
///
/// As in `timesync_onchannelcallback`, a version above 3.0 (compared as `(major << 16) | minor`)
/// selects [`IcTimesyncRefData`], anything else [`IcTimesyncData`].
///
/// # Errors
///
/// [`Error::Truncated`] if the payload is shorter than the selected structure (C stops reading
/// the channel without answering).
pub fn parse_timesync(payload: &[u8], service_version: IcVersion) -> Result<TimeSample, Error> {
    let have = payload.len();
    if service_version.to_u32() > IcVersion::new(3, 0).to_u32() {
        let need = core::mem::size_of::<IcTimesyncRefData>();
        let (d, _) = IcTimesyncRefData::read_from_prefix(payload).map_err(truncated(need, have))?;
        Ok(TimeSample {
            parent_time: d.parenttime,
            vm_reference_time: Some(d.vmreferencetime),
            flags: d.flags,
        })
    } else {
        let need = core::mem::size_of::<IcTimesyncData>();
        let (d, _) = IcTimesyncData::read_from_prefix(payload).map_err(truncated(need, have))?;
        Ok(TimeSample {
            parent_time: d.parenttime,
            vm_reference_time: None,
            flags: d.flags,
        })
    }
}

/// Converts a host time (100 ns units since 1601) to nanoseconds since 1970, as
/// `reftime_to_ns()` in `hv_util.c` does (wrapping arithmetic like the C `u64` math).
pub const fn host_time_to_unix_ns(host_time: u64) -> u64 {
    host_time.wrapping_sub(WLTIMEDELTA).wrapping_mul(100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{
        offset_of,
        size_of, //
    };

    /// Sizes, offsets and constants printed by `rust/hv_proto/layout/extract.sh` (gcc 12,
    /// x86-64) for the Linux 7.2.13 C definitions.
    #[test]
    fn c_layout() {
        assert_eq!(size_of::<VmbusPipeHdr>(), 8); // sizeof(struct vmbuspipe_hdr)
        assert_eq!(offset_of!(VmbusPipeHdr, flags), 0); // offsetof(struct vmbuspipe_hdr, flags)
        assert_eq!(offset_of!(VmbusPipeHdr, msgsize), 4); // offsetof(struct vmbuspipe_hdr, msgsize)
        assert_eq!(size_of::<IcVersion>(), 4); // sizeof(struct ic_version)
        assert_eq!(offset_of!(IcVersion, major), 0); // offsetof(struct ic_version, major)
        assert_eq!(offset_of!(IcVersion, minor), 2); // offsetof(struct ic_version, minor)
        assert_eq!(size_of::<IcMsgHdr>(), 20); // sizeof(struct icmsg_hdr)
        assert_eq!(offset_of!(IcMsgHdr, icverframe), 0); // offsetof(struct icmsg_hdr, icverframe)
        assert_eq!(offset_of!(IcMsgHdr, icmsgtype), 4); // offsetof(struct icmsg_hdr, icmsgtype)
        assert_eq!(offset_of!(IcMsgHdr, icvermsg), 6); // offsetof(struct icmsg_hdr, icvermsg)
        assert_eq!(offset_of!(IcMsgHdr, icmsgsize), 10); // offsetof(struct icmsg_hdr, icmsgsize)
        assert_eq!(offset_of!(IcMsgHdr, status), 12); // offsetof(struct icmsg_hdr, status)
        assert_eq!(offset_of!(IcMsgHdr, ictransaction_id), 16); // offsetof(struct icmsg_hdr, ictransaction_id)
        assert_eq!(offset_of!(IcMsgHdr, icflags), 17); // offsetof(struct icmsg_hdr, icflags)
        assert_eq!(offset_of!(IcMsgHdr, reserved), 18); // offsetof(struct icmsg_hdr, reserved)
        assert_eq!(size_of::<IcMsgNegotiate>(), 8); // sizeof(struct icmsg_negotiate)
        assert_eq!(offset_of!(IcMsgNegotiate, icframe_vercnt), 0); // offsetof(struct icmsg_negotiate, icframe_vercnt)
        assert_eq!(offset_of!(IcMsgNegotiate, icmsg_vercnt), 2); // offsetof(struct icmsg_negotiate, icmsg_vercnt)
        assert_eq!(offset_of!(IcMsgNegotiate, reserved), 4); // offsetof(struct icmsg_negotiate, reserved)
        assert_eq!(size_of::<IcMsgNegotiate>(), 8); // offsetof(struct icmsg_negotiate, icversion_data)
        assert_eq!(ICMSG_HDR, 28); // ICMSG_HDR
        assert_eq!(ICMSG_HDR + 4, 32); // ICMSG_HDR + offsetof(struct icmsg_negotiate, reserved)
        assert_eq!(ICMSG_HDR + 8 + 3 * 4, 48); // ICMSG_NEGOTIATE_PKT_SIZE(1, 2)
        assert_eq!(size_of::<ShutdownMsgData>(), 2060); // sizeof(struct shutdown_msg_data)
        assert_eq!(offset_of!(ShutdownMsgData, reason_code), 0); // offsetof(struct shutdown_msg_data, reason_code)
        assert_eq!(offset_of!(ShutdownMsgData, timeout_seconds), 4); // offsetof(struct shutdown_msg_data, timeout_seconds)
        assert_eq!(offset_of!(ShutdownMsgData, flags), 8); // offsetof(struct shutdown_msg_data, flags)
        assert_eq!(offset_of!(ShutdownMsgData, display_message), 12); // offsetof(struct shutdown_msg_data, display_message)
        assert_eq!(size_of::<HeartbeatMsgData>(), 40); // sizeof(struct heartbeat_msg_data)
        assert_eq!(offset_of!(HeartbeatMsgData, seq_num), 0); // offsetof(struct heartbeat_msg_data, seq_num)
        assert_eq!(offset_of!(HeartbeatMsgData, reserved), 8); // offsetof(struct heartbeat_msg_data, reserved)
        assert_eq!(size_of::<IcTimesyncData>(), 25); // sizeof(struct ictimesync_data)
        assert_eq!(offset_of!(IcTimesyncData, parenttime), 0); // offsetof(struct ictimesync_data, parenttime)
        assert_eq!(offset_of!(IcTimesyncData, childtime), 8); // offsetof(struct ictimesync_data, childtime)
        assert_eq!(offset_of!(IcTimesyncData, roundtriptime), 16); // offsetof(struct ictimesync_data, roundtriptime)
        assert_eq!(offset_of!(IcTimesyncData, flags), 24); // offsetof(struct ictimesync_data, flags)
        assert_eq!(size_of::<IcTimesyncRefData>(), 22); // sizeof(struct ictimesync_ref_data)
        assert_eq!(offset_of!(IcTimesyncRefData, parenttime), 0); // offsetof(struct ictimesync_ref_data, parenttime)
        assert_eq!(offset_of!(IcTimesyncRefData, vmreferencetime), 8); // offsetof(struct ictimesync_ref_data, vmreferencetime)
        assert_eq!(offset_of!(IcTimesyncRefData, flags), 16); // offsetof(struct ictimesync_ref_data, flags)
        assert_eq!(offset_of!(IcTimesyncRefData, leapflags), 17); // offsetof(struct ictimesync_ref_data, leapflags)
        assert_eq!(offset_of!(IcTimesyncRefData, stratum), 18); // offsetof(struct ictimesync_ref_data, stratum)
        assert_eq!(offset_of!(IcTimesyncRefData, reserved), 19); // offsetof(struct ictimesync_ref_data, reserved)
        assert_eq!(WLTIMEDELTA, 116444736000000000); // WLTIMEDELTA
        assert_eq!(UTIL_FW_VERSION.to_u32(), 196608); // UTIL_FW_VERSION
        assert_eq!(UTIL_WS2K8_FW_VERSION.to_u32(), 65536); // UTIL_WS2K8_FW_VERSION
        assert_eq!(HvStatus::S_OK.0, 0); // HV_S_OK
        assert_eq!(HvStatus::E_FAIL.0, 2147500037); // HV_E_FAIL
        assert_eq!(HvStatus::S_CONT.0, 2147942659); // HV_S_CONT
        assert_eq!(HvStatus::ERROR_NOT_SUPPORTED.0, 2147942450); // HV_ERROR_NOT_SUPPORTED
        assert_eq!(HvStatus::ERROR_MACHINE_LOCKED.0, 2147943671); // HV_ERROR_MACHINE_LOCKED
        assert_eq!(HvStatus::ERROR_DEVICE_NOT_CONNECTED.0, 2147943567); // HV_ERROR_DEVICE_NOT_CONNECTED
        assert_eq!(HvStatus::INVALIDARG.0, 2147942487); // HV_INVALIDARG
        assert_eq!(HvStatus::GUID_NOTFOUND.0, 2147749890); // HV_GUID_NOTFOUND
        assert_eq!(HvStatus::ERROR_ALREADY_EXISTS.0, 2147942480); // HV_ERROR_ALREADY_EXISTS
        assert_eq!(HvStatus::ERROR_DISK_FULL.0, 2147942512); // HV_ERROR_DISK_FULL
    }

    /// Builds a host negotiate packet.
    fn request(fw: &[IcVersion], srv: &[IcVersion]) -> ([u8; 1024], usize) {
        let mut buf = [0u8; 1024];
        let len = build_negotiate_request(&mut buf, fw, srv, 3).unwrap();
        (buf, len)
    }

    const V10: IcVersion = IcVersion::new(1, 0);
    const V30: IcVersion = IcVersion::new(3, 0);
    const V40: IcVersion = IcVersion::new(4, 0);

    #[test]
    fn negotiate_timesync_picks_highest_common() {
        // Host offers framework 3.0 and service 3.0/4.0.
        let (mut buf, len) = request(&[V30], &[V30, V40]);
        let pkt = &mut buf[..len];
        let out = prep_negotiate_resp(pkt, &FW_VERSIONS, &TS_VERSIONS).unwrap();
        assert_eq!(
            out,
            NegotiateOutcome {
                matched: true,
                framework: V30,
                service: V40
            }
        );
        assert_eq!(parse_negotiate_response(pkt).unwrap(), Some((V30, V40)));
        let msg = parse_ic_message(pkt).unwrap();
        assert_eq!({ msg.hdr.icmsgsize }, 0x10);
        // The driver's order decides, not the host's.
        let (mut buf, len) = request(&[V10, V30], &[V40, V30]);
        let out = prep_negotiate_resp(&mut buf[..len], &FW_VERSIONS, &TS_VERSIONS).unwrap();
        assert_eq!((out.framework, out.service), (V30, V40));
    }

    #[test]
    fn negotiate_shutdown_and_old_framework() {
        let (mut buf, len) = request(&[V10], &[IcVersion::new(3, 1), V10]);
        let out = prep_negotiate_resp(&mut buf[..len], &FW_VERSIONS, &SD_VERSIONS).unwrap();
        assert!(out.matched);
        assert_eq!((out.framework, out.service), (V10, IcVersion::new(3, 1)));
    }

    #[test]
    fn negotiate_no_common_service() {
        // Framework matches, service does not: counts 0/0, C's nego values.
        let (mut buf, len) = request(&[V30], &[IcVersion::new(9, 9), IcVersion::new(8, 0)]);
        let pkt = &mut buf[..len];
        let out = prep_negotiate_resp(pkt, &FW_VERSIONS, &HB_VERSIONS).unwrap();
        assert!(!out.matched);
        assert_eq!(out.framework, V30);
        assert_eq!(out.service, IcVersion::new(2, 0));
        assert_eq!(parse_negotiate_response(pkt).unwrap(), None);
        assert_eq!(&pkt[ICMSG_HDR..ICMSG_HDR + 4], &[0, 0, 0, 0]);
        assert_eq!(&pkt[36..44], &[3, 0, 0, 0, 2, 0, 0, 0]);
    }

    #[test]
    fn negotiate_no_common_framework() {
        let (mut buf, len) = request(&[IcVersion::new(2, 0)], &[V30]);
        let out = prep_negotiate_resp(&mut buf[..len], &FW_VERSIONS, &HB_VERSIONS).unwrap();
        assert!(!out.matched);
        assert_eq!(out.framework, IcVersion::new(1, 0)); // The host's framework count.
        assert_eq!(out.service, IcVersion::new(1, 0)); // The host's service count.
        assert_eq!(parse_negotiate_response(&buf[..len]).unwrap(), None);
    }

    #[test]
    fn negotiate_vss_needs_framework_3() {
        let (mut buf, len) = request(&[V10], &[IcVersion::new(5, 0)]);
        let out = prep_negotiate_resp(&mut buf[..len], &[UTIL_FW_VERSION], &[IcVersion::new(5, 0)])
            .unwrap();
        assert!(!out.matched);
    }

    #[test]
    fn negotiate_invalid_counts() {
        // Counts above 100 are refused even if the buffer is large.
        let mut buf = [0u8; 1024];
        let len = ICMSG_HDR + 8 + 4 * 2;
        buf[ICMSG_HDR..ICMSG_HDR + 2].copy_from_slice(&101u16.to_le_bytes());
        buf[ICMSG_HDR + 2..ICMSG_HDR + 4].copy_from_slice(&1u16.to_le_bytes());
        let out = prep_negotiate_resp(&mut buf[..len], &FW_VERSIONS, &HB_VERSIONS).unwrap();
        assert!(!out.matched);
        assert_eq!(out.framework, IcVersion::new(101, 0));
        // Counts that overrun the packet are refused.
        let (mut buf, len) = request(&[V30], &[V30]);
        buf[ICMSG_HDR + 2..ICMSG_HDR + 4].copy_from_slice(&2u16.to_le_bytes());
        let out = prep_negotiate_resp(&mut buf[..len], &FW_VERSIONS, &HB_VERSIONS).unwrap();
        assert!(!out.matched);
    }

    #[test]
    fn negotiate_truncated_untouched() {
        let mut pkt = [0xAAu8; ICMSG_HDR + 3];
        assert_eq!(
            prep_negotiate_resp(&mut pkt, &FW_VERSIONS, &HB_VERSIONS),
            Err(Error::Truncated { need: 32, have: 31 })
        );
        assert!(pkt.iter().all(|&b| b == 0xAA));
        // Exactly the counts: version slots are beyond the packet and not written.
        let mut pkt = [0u8; ICMSG_HDR + 4];
        let out = prep_negotiate_resp(&mut pkt, &FW_VERSIONS, &HB_VERSIONS).unwrap();
        assert!(!out.matched);
    }

    #[test]
    fn negotiate_one_version_each_short_packet() {
        // fw=1, srv=0: the packet ends after slot 0; slot 1 is not written.
        let (mut buf, len) = request(&[V30], &[]);
        let out = prep_negotiate_resp(&mut buf[..len], &FW_VERSIONS, &HB_VERSIONS).unwrap();
        assert!(!out.matched);
        assert_eq!(len, 40);
        assert_eq!(&buf[40..44], &[0, 0, 0, 0]);
    }

    #[test]
    fn build_rejects() {
        let mut small = [0u8; 30];
        assert!(matches!(
            build_negotiate_request(&mut small, &[V30], &[V30], 0),
            Err(Error::Truncated { .. })
        ));
        let many = [V30; 101];
        let mut buf = [0u8; 2048];
        assert_eq!(
            build_negotiate_request(&mut buf, &many, &[], 0),
            Err(Error::TooManyVersions)
        );
    }

    #[test]
    fn header_and_response() {
        let (mut buf, len) = request(&[V30], &[V30]);
        let pkt = &mut buf[..len];
        let msg = parse_ic_message(pkt).unwrap();
        assert_eq!({ msg.hdr.icmsgtype }, IcMsgType::NEGOTIATE);
        assert_eq!(msg.hdr.ictransaction_id, 3);
        assert_eq!(msg.payload.len(), len - ICMSG_HDR);
        finish_response(pkt, Some(HvStatus::E_FAIL)).unwrap();
        let hdr = *icmsg_hdr_mut(pkt).unwrap();
        assert_eq!({ hdr.status }, HvStatus::E_FAIL);
        assert_eq!(
            hdr.icflags,
            ICMSGHDRFLAG_TRANSACTION | ICMSGHDRFLAG_RESPONSE
        );
        assert!(matches!(
            parse_ic_message(&pkt[..27]),
            Err(Error::Truncated { need: 28, have: 27 })
        ));
        assert!(finish_response(&mut [0u8; 10], None).is_err());
        assert!(icmsg_hdr_mut(&mut [0u8; 4]).is_err());
        // Unknown types are representable.
        let mut raw = [0u8; ICMSG_HDR];
        raw[12] = 0x42;
        let msg = parse_ic_message(&raw).unwrap();
        assert_eq!({ msg.hdr.icmsgtype }, IcMsgType(0x42));
        assert!(!msg.hdr.icmsgtype.is_known());
    }

    #[test]
    fn shutdown() {
        assert_eq!(ShutdownAction::from_flags(0), ShutdownAction::PowerOff);
        assert_eq!(ShutdownAction::from_flags(1), ShutdownAction::PowerOff);
        assert_eq!(ShutdownAction::from_flags(3), ShutdownAction::Restart);
        assert_eq!(ShutdownAction::from_flags(5), ShutdownAction::Hibernate);
        assert_eq!(ShutdownAction::from_flags(6), ShutdownAction::Invalid);
        let mut p = [0u8; 2060];
        p[8] = 2;
        assert_eq!({ parse_shutdown(&p).unwrap().flags }, 2);
        assert!(matches!(
            parse_shutdown(&p[..2059]),
            Err(Error::Truncated {
                need: 2060,
                have: 2059
            })
        ));
    }

    #[test]
    fn heartbeat() {
        let mut p = 41u64.to_le_bytes();
        assert_eq!(answer_heartbeat(&mut p).unwrap(), 42);
        assert_eq!(u64::from_le_bytes(p), 42);
        let mut p = u64::MAX.to_le_bytes();
        assert_eq!(answer_heartbeat(&mut p).unwrap(), 0);
        assert!(answer_heartbeat(&mut [0u8; 7]).is_err());
    }

    #[test]
    fn timesync() {
        let d = IcTimesyncRefData {
            parenttime: WLTIMEDELTA + 10,
            vmreferencetime: 77,
            flags: ICTIMESYNCFLAG_SYNC,
            ..Default::default()
        };
        let s = parse_timesync(d.as_bytes(), V40).unwrap();
        assert_eq!(s.vm_reference_time, Some(77));
        assert_eq!(host_time_to_unix_ns(s.parent_time), 1000);
        // 3.0 and the C "garbage" versions use the old layout.
        assert!(matches!(
            parse_timesync(d.as_bytes(), V30),
            Err(Error::Truncated { need: 25, have: 22 })
        ));
        let old = IcTimesyncData {
            parenttime: 5,
            flags: ICTIMESYNCFLAG_SAMPLE,
            ..Default::default()
        };
        let s = parse_timesync(old.as_bytes(), IcVersion::new(2, 0)).unwrap();
        assert_eq!((s.parent_time, s.vm_reference_time, s.flags), (5, None, 2));
        assert!(parse_timesync(&old.as_bytes()[..21], V40).is_err());
        // 3.1 would be "above 3.0".
        assert!(parse_timesync(&[0; 22], IcVersion::new(3, 1)).is_ok());
    }

    #[test]
    fn version_encoding() {
        assert_eq!(IcVersion::new(3, 2).to_u32(), 0x30002);
        assert_eq!(IcVersion::from_u32(0x40000), V40);
        assert_eq!(HvStatus::S_CONT.0, 0x8007_0103);
        assert_eq!(HvStatus(7).name(), None);
    }

    use super::super::test_rng::Rng;

    #[test]
    fn fuzz_smoke() {
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        let mut buf = [0u8; 600];
        for _ in 0..20_000 {
            let len = rng.below(buf.len() + 1);
            rng.fill(&mut buf[..len]);
            if len >= 32 && rng.below(2) == 0 {
                // Small counts so that matches happen.
                buf[28] = rng.below(4) as u8;
                buf[29] = 0;
                buf[30] = rng.below(4) as u8;
                buf[31] = 0;
            }
            let _ = parse_ic_message(&buf[..len]);
            let _ = parse_negotiate_response(&buf[..len]);
            let mut copy = buf;
            let _ = prep_negotiate_resp(&mut copy[..len], &FW_VERSIONS, &TS_VERSIONS);
            let _ = parse_shutdown(&buf[..len]);
            let _ = parse_timesync(&buf[..len], V40);
            let _ = parse_timesync(&buf[..len], V30);
            let _ = answer_heartbeat(&mut copy[..len]);
            let _ = finish_response(&mut copy[..len], Some(HvStatus::S_OK));
            let _ = icmsg_hdr_mut(&mut copy[..len]);
        }
    }
}
