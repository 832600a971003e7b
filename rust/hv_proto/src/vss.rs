// SPDX-License-Identifier: GPL-2.0

//! Volume shadow copy (VSS, backup): the host message and the `hv_vss_daemon` ABI.
//!
//! C header: [`include/uapi/linux/hyperv.h`](srctree/include/uapi/linux/hyperv.h) (`hv_vss_msg`,
//! `enum hv_vss_op`, `VSS_HBU_NO_AUTO_RECOVERY`); behaviour:
//! [`drivers/hv/hv_snapshot.c`](srctree/drivers/hv/hv_snapshot.c).
//!
//! The host and the daemon (`/dev/vmbus/hv_vss`) use the same 12-byte [`VssMsg`]. Host FREEZE
//! messages carry LUN information after it (up to 6260 bytes in all, [`VSS_MAX_PKT_SIZE`] is
//! the receive size), which Linux ignores. The daemon registers with [`VssOp::REGISTER1`] and
//! then expects a bare 4-byte version ([`VSS_REGISTER1_REPLY`]) as its first read.

use core::mem::size_of;
use zerocopy::FromBytes;
use zerocopy_derive::{
    FromBytes,
    Immutable,
    IntoBytes,
    KnownLayout,
    Unaligned, //
};

/// Errors from parsing VSS messages.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The message is shorter than [`VssMsg`].
    Truncated {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// A daemon message whose length is not exactly 12 bytes (C: `-EINVAL`).
    BadLength(usize),
}

open_enum! {
    /// A VSS operation (`enum hv_vss_op`, plus the daemon registration codes).
    pub struct VssOp(u8) {
        /// `VSS_OP_CREATE`: acknowledged by the kernel.
        CREATE = 0,
        /// `VSS_OP_DELETE`: acknowledged by the kernel.
        DELETE = 1,
        /// `VSS_OP_HOT_BACKUP`: asks whether hot backup is possible (daemon).
        HOT_BACKUP = 2,
        /// `VSS_OP_GET_DM_INFO`: answered by the kernel with flags 0.
        GET_DM_INFO = 3,
        /// `VSS_OP_BU_COMPLETE`: acknowledged by the kernel.
        BU_COMPLETE = 4,
        /// `VSS_OP_FREEZE`: freeze the file systems (daemon; service 5.0+).
        FREEZE = 5,
        /// `VSS_OP_THAW`: thaw the file systems (daemon; service 5.0+).
        THAW = 6,
        /// `VSS_OP_AUTO_RECOVER`: not supported by Linux (acknowledged).
        AUTO_RECOVER = 7,
        /// `VSS_OP_REGISTER`: registration of a daemon that expects no reply.
        REGISTER = 128,
        /// `VSS_OP_REGISTER1`: registration of a daemon that expects [`VSS_REGISTER1_REPLY`].
        REGISTER1 = 129,
    }
}

/// `VSS_HBU_NO_AUTO_RECOVERY`: the only hot-backup feature flag Linux reports.
pub const VSS_HBU_NO_AUTO_RECOVERY: u32 = 0x0000_0005;
/// The VSS service versions Linux accepts (`vss_versions[]`: 5.0).
pub const VSS_VERSIONS: [super::ic::IcVersion; 1] = [super::ic::IcVersion::new(5, 0)];
/// The framework versions the VSS driver accepts (`fw_versions[]`: 3.0 only).
pub const VSS_FW_VERSIONS: [super::ic::IcVersion; 1] = [super::ic::UTIL_FW_VERSION];
/// `VSS_MAX_PKT_SIZE`: receive buffer and maximum packet size (2 pages).
pub const VSS_MAX_PKT_SIZE: usize = 2 * 4096;
/// `VSS_FREEZE_TIMEOUT`: seconds the kernel waits for the daemon to freeze.
pub const VSS_FREEZE_TIMEOUT_SECS: u32 = 15 * 60;
/// The 4-byte answer (`u32` 129, native endian) to a [`VssOp::REGISTER1`] registration.
pub const VSS_REGISTER1_REPLY: [u8; 4] = (VssOp::REGISTER1.0 as u32).to_le_bytes();

/// The VSS message header.
///
/// Mirrors `struct hv_vss_hdr` (`include/uapi/linux/hyperv.h`, 8 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct VssHdr {
    /// Operation.
    pub operation: VssOp,
    /// Reserved.
    pub reserved: [u8; 7],
}
const _: () = assert!(size_of::<VssHdr>() == 8);

/// Hot-backup feature flags (`struct hv_vss_check_feature`, 4 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct VssCheckFeature {
    /// Flags ([`VSS_HBU_NO_AUTO_RECOVERY`]).
    pub flags: u32,
}
const _: () = assert!(size_of::<VssCheckFeature>() == 4);

/// Dynamic-disk information flags (`struct hv_vss_check_dm_info`, 4 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct VssCheckDmInfo {
    /// Flags (Linux answers 0).
    pub flags: u32,
}
const _: () = assert!(size_of::<VssCheckDmInfo>() == 4);

/// A VSS message, from the host (after the IC header) or to/from the daemon.
///
/// Mirrors `struct hv_vss_msg` (`include/uapi/linux/hyperv.h`, 12 bytes, packed): the first
/// union (`vss_hdr` / `int error`) is [`VssMsg::vss_hdr`] with [`VssMsg::error`]; the second
/// (`vss_cf` / `dm_info`) is [`VssMsg::flags`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct VssMsg {
    /// Header, or the daemon's error code (first 4 bytes) in a reply.
    pub vss_hdr: VssHdr,
    /// `vss_cf.flags` or `dm_info.flags`.
    pub flags: u32,
}
const _: () = assert!(size_of::<VssMsg>() == 12);

impl VssMsg {
    /// Returns a message for the daemon with operation `op` and everything else zero (what
    /// `vss_send_op` sends).
    pub fn for_daemon(op: VssOp) -> Self {
        Self {
            vss_hdr: VssHdr {
                operation: op,
                reserved: [0; 7],
            },
            flags: 0,
        }
    }

    /// Returns the `int error` view of the header (the daemon's status).
    pub fn error(&self) -> super::ic::HvStatus {
        let VssHdr {
            operation,
            reserved: [a, b, c, ..],
        } = self.vss_hdr;
        super::ic::HvStatus(u32::from_le_bytes([operation.0, a, b, c]))
    }
}

/// What the kernel does with a host request (`vss_handle_request`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum VssAction {
    /// Freeze, thaw, hot backup: forward to the daemon (or fail with `HV_E_FAIL` if none is
    /// registered). On the daemon's answer to [`VssOp::HOT_BACKUP`], the kernel sets
    /// [`VSS_HBU_NO_AUTO_RECOVERY`] in the host message's flags before replying.
    ToDaemon,
    /// Get DM info: set the host message's flags to 0 and answer success.
    DmInfo,
    /// Anything else: answer success without changes.
    Ack,
}

impl VssAction {
    /// Classifies a host operation.
    pub const fn for_op(op: VssOp) -> Self {
        match op {
            VssOp::THAW | VssOp::FREEZE | VssOp::HOT_BACKUP => Self::ToDaemon,
            VssOp::GET_DM_INFO => Self::DmInfo,
            _ => Self::Ack,
        }
    }
}

/// Parses the host's VSS message (the bytes after the IC header).
///
/// # Errors
///
/// [`Error::Truncated`] if it is shorter than [`VssMsg`] (C drops the packet unanswered).
pub fn parse_host(payload: &[u8]) -> Result<VssMsg, Error> {
    VssMsg::read_from_prefix(payload)
        .map(|(m, _)| m)
        .map_err(|_| Error::Truncated {
            need: size_of::<VssMsg>(),
            have: payload.len(),
        })
}

/// Parses a message written by the daemon (`vss_on_msg`).
///
/// # Errors
///
/// [`Error::BadLength`] unless it is exactly 12 bytes (C: `-EINVAL`).
pub fn parse_daemon(bytes: &[u8]) -> Result<VssMsg, Error> {
    VssMsg::read_from_bytes(bytes).map_err(|_| Error::BadLength(bytes.len()))
}

/// Sets the flags of the host message in place (bytes 8..12 of the payload), as the kernel
/// does for hot backup ([`VSS_HBU_NO_AUTO_RECOVERY`]) and DM info (0).
///
/// # Errors
///
/// [`Error::Truncated`] if the payload is shorter than [`VssMsg`].
pub fn set_host_flags(payload: &mut [u8], flags: u32) -> Result<(), Error> {
    let have = payload.len();
    let m = VssMsg::mut_from_prefix(payload)
        .map(|(m, _)| m)
        .map_err(|_| Error::Truncated {
            need: size_of::<VssMsg>(),
            have,
        })?;
    m.flags = flags;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerocopy::IntoBytes;

    /// Sizes, offsets and constants printed by `rust/hv_proto/layout/extract.sh` (gcc 12,
    /// x86-64) for the Linux 7.2.13 C definitions.
    #[test]
    fn c_layout() {
        use core::mem::offset_of;
        assert_eq!(size_of::<VssHdr>(), 8); // sizeof(struct hv_vss_hdr)
        assert_eq!(offset_of!(VssHdr, operation), 0); // offsetof(struct hv_vss_hdr, operation)
        assert_eq!(offset_of!(VssHdr, reserved), 1); // offsetof(struct hv_vss_hdr, reserved)
        assert_eq!(size_of::<VssCheckFeature>(), 4); // sizeof(struct hv_vss_check_feature)
        assert_eq!(offset_of!(VssCheckFeature, flags), 0); // offsetof(struct hv_vss_check_feature, flags)
        assert_eq!(size_of::<VssCheckDmInfo>(), 4); // sizeof(struct hv_vss_check_dm_info)
        assert_eq!(offset_of!(VssCheckDmInfo, flags), 0); // offsetof(struct hv_vss_check_dm_info, flags)
        assert_eq!(size_of::<VssMsg>(), 12); // sizeof(struct hv_vss_msg)
        assert_eq!(offset_of!(VssMsg, vss_hdr), 0); // offsetof(struct hv_vss_msg, vss_hdr)
        assert_eq!(offset_of!(VssMsg, vss_hdr), 0); // offsetof(struct hv_vss_msg, error)
        assert_eq!(offset_of!(VssMsg, flags), 8); // offsetof(struct hv_vss_msg, vss_cf)
        assert_eq!(offset_of!(VssMsg, flags), 8); // offsetof(struct hv_vss_msg, dm_info)
        assert_eq!(VSS_HBU_NO_AUTO_RECOVERY, 5); // VSS_HBU_NO_AUTO_RECOVERY
        assert_eq!(VssOp::REGISTER.0, 128); // VSS_OP_REGISTER
        assert_eq!(VssOp::REGISTER1.0, 129); // VSS_OP_REGISTER1
        assert_eq!(VssOp::FREEZE.0, 5); // VSS_OP_FREEZE
        assert_eq!(VssOp::THAW.0, 6); // VSS_OP_THAW
        assert_eq!(VssOp::AUTO_RECOVER.0, 7); // VSS_OP_AUTO_RECOVER
        assert_eq!(VssOp::HOT_BACKUP.0, 2); // VSS_OP_HOT_BACKUP
        assert_eq!(VssOp::GET_DM_INFO.0, 3); // VSS_OP_GET_DM_INFO
    }

    #[test]
    fn host_and_daemon() {
        let mut payload = [0u8; 64];
        payload[0] = VssOp::HOT_BACKUP.0;
        let m = parse_host(&payload).unwrap();
        assert_eq!({ m.vss_hdr.operation }, VssOp::HOT_BACKUP);
        assert_eq!(VssAction::for_op(VssOp::HOT_BACKUP), VssAction::ToDaemon);
        assert_eq!(VssAction::for_op(VssOp::GET_DM_INFO), VssAction::DmInfo);
        assert_eq!(VssAction::for_op(VssOp::BU_COMPLETE), VssAction::Ack);
        assert_eq!(VssAction::for_op(VssOp(200)), VssAction::Ack);
        set_host_flags(&mut payload, VSS_HBU_NO_AUTO_RECOVERY).unwrap();
        assert_eq!(&payload[8..12], &[5, 0, 0, 0]);
        assert!(matches!(
            parse_host(&payload[..11]),
            Err(Error::Truncated { need: 12, have: 11 })
        ));
        assert!(set_host_flags(&mut payload[..4], 0).is_err());

        let d = VssMsg::for_daemon(VssOp::FREEZE);
        assert_eq!(d.as_bytes(), &[5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let mut reply = d;
        reply.vss_hdr = VssHdr::read_from_bytes(&[0x05, 0x40, 0x00, 0x80, 0, 0, 0, 0]).unwrap();
        let parsed = parse_daemon(reply.as_bytes()).unwrap();
        assert_eq!(parsed.error(), super::super::ic::HvStatus::E_FAIL);
        assert_eq!(parse_daemon(&[0; 13]), Err(Error::BadLength(13)));
        assert_eq!(parse_daemon(&[0; 11]), Err(Error::BadLength(11)));
        assert_eq!(VSS_REGISTER1_REPLY, [129, 0, 0, 0]);
        assert_eq!(VssOp(9).name(), None);
    }

    use super::super::test_rng::Rng;

    #[test]
    fn fuzz_smoke() {
        let mut rng = Rng(0x7777_8888_9999_aaaa);
        let mut buf = [0u8; 32];
        for _ in 0..20_000 {
            let len = rng.below(buf.len() + 1);
            rng.fill(&mut buf[..len]);
            if let Ok(m) = parse_host(&buf[..len]) {
                let _ = VssAction::for_op(m.vss_hdr.operation);
            }
            if let Ok(m) = parse_daemon(&buf[..len]) {
                let _ = m.error();
            }
            let _ = set_host_flags(&mut buf[..len], 5);
        }
    }
}
