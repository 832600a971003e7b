// SPDX-License-Identifier: GPL-2.0

//! Host-to-guest file copy (FCopy): the messages `hv_fcopy_uio_daemon` reads.
//!
//! C header: [`include/uapi/linux/hyperv.h`](srctree/include/uapi/linux/hyperv.h)
//! (`hv_fcopy_hdr`, `hv_start_fcopy`, `hv_do_fcopy`, `enum hv_fcopy_op`); behaviour:
//! [`tools/hv/hv_fcopy_uio_daemon.c`](srctree/tools/hv/hv_fcopy_uio_daemon.c).
//!
//! In 7.2 no kernel driver speaks FCopy: the channel is bound to `uio_hv_generic` and the
//! daemon parses the IC messages itself (framework 3.0, service [`FCOPY_VERSIONS`] 1.1). These
//! definitions serve the host engine and tests. Every message starts with an [`FcopyHdr`]
//! right after the 28-byte IC header.

use core::mem::size_of;
use zerocopy::FromBytes;
use zerocopy_derive::{
    FromBytes,
    Immutable,
    IntoBytes,
    KnownLayout,
    Unaligned, //
};

/// Errors from parsing FCopy messages.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The message is shorter than its structure (or than the data it announces).
    Truncated {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// A write announces more than [`DATA_FRAGMENT`] bytes (the daemon does not check this and
    /// would read past its message).
    DataTooLarge(u32),
}

/// `W_MAX_PATH`: UTF-16 units of a file or path name, including the terminator.
pub const W_MAX_PATH: usize = 260;
/// `DATA_FRAGMENT`: the most file bytes one write message carries.
pub const DATA_FRAGMENT: usize = 6 * 1024;
/// `OVER_WRITE`: [`StartFcopy::copy_flags`] bit; replace an existing file.
pub const OVER_WRITE: u32 = 0x1;
/// `CREATE_PATH`: [`StartFcopy::copy_flags`] bit; create missing directories.
pub const CREATE_PATH: u32 = 0x2;
/// `FCOPY_VERSION_0`.
pub const FCOPY_VERSION_0: u32 = 0;
/// `FCOPY_VERSION_1` (`FCOPY_CURRENT_VERSION`).
pub const FCOPY_VERSION_1: u32 = 1;
/// The FCopy service versions the daemon accepts (1.1, "WIN8_SRV_VERSION" in the daemon).
pub const FCOPY_VERSIONS: [super::ic::IcVersion; 1] = [super::ic::IcVersion::new(1, 1)];
/// The framework versions the daemon accepts (3.0 only).
pub const FCOPY_FW_VERSIONS: [super::ic::IcVersion; 1] = [super::ic::UTIL_FW_VERSION];
/// Instance GUID of the FCopy channel on Hyper-V (hard-coded in the daemon's sysfs paths).
pub const FCOPY_INSTANCE_GUID: &str = "eb765408-105f-49b6-b4aa-c123b64d17d4";

open_enum! {
    /// An FCopy operation (`enum hv_fcopy_op`).
    pub struct FcopyOp(u32) {
        /// `START_FILE_COPY`: create the file ([`StartFcopy`]).
        START_FILE_COPY = 0,
        /// `WRITE_TO_FILE`: write a fragment ([`DoFcopy`]).
        WRITE_TO_FILE = 1,
        /// `COMPLETE_FCOPY`: close the file.
        COMPLETE_FCOPY = 2,
        /// `CANCEL_FCOPY`: abandon the copy (the daemon answers `HV_E_FAIL`).
        CANCEL_FCOPY = 3,
    }
}

/// The FCopy message header.
///
/// Mirrors `struct hv_fcopy_hdr` (`include/uapi/linux/hyperv.h`, 36 bytes, packed).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct FcopyHdr {
    /// Operation.
    pub operation: FcopyOp,
    /// Unused.
    pub service_id0: [u8; 16],
    /// Unused.
    pub service_id1: [u8; 16],
}
const _: () = assert!(size_of::<FcopyHdr>() == 36);

/// The start-copy message.
///
/// Mirrors `struct hv_start_fcopy` (`include/uapi/linux/hyperv.h`, 1088 bytes, packed).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct StartFcopy {
    /// Header.
    pub hdr: FcopyHdr,
    /// File name, UTF-16LE, NUL-terminated (`__u16[W_MAX_PATH]`).
    pub file_name: [u8; W_MAX_PATH * 2],
    /// Directory, UTF-16LE, NUL-terminated (`__u16[W_MAX_PATH]`).
    pub path_name: [u8; W_MAX_PATH * 2],
    /// [`OVER_WRITE`] | [`CREATE_PATH`].
    pub copy_flags: u32,
    /// File size in bytes.
    pub file_size: u64,
}
const _: () = assert!(size_of::<StartFcopy>() == 1088);

/// The write message.
///
/// Mirrors `struct hv_do_fcopy` (`include/uapi/linux/hyperv.h`, 6196 bytes, packed).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(C, packed)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct DoFcopy {
    /// Header.
    pub hdr: FcopyHdr,
    /// Padding.
    pub pad: u32,
    /// File offset in bytes.
    pub offset: u64,
    /// Bytes of `data` that are valid.
    pub size: u32,
    /// The data.
    pub data: [u8; DATA_FRAGMENT],
}
const _: () = assert!(size_of::<DoFcopy>() == 6196);

/// Byte offset of [`DoFcopy::offset`].
const DO_FCOPY_OFFSET: usize = core::mem::offset_of!(DoFcopy, offset);
/// Byte offset of [`DoFcopy::size`].
const DO_FCOPY_SIZE: usize = core::mem::offset_of!(DoFcopy, size);
/// Byte offset of [`DoFcopy::data`].
const DO_FCOPY_DATA: usize = core::mem::offset_of!(DoFcopy, data);

/// A parsed FCopy message.
#[derive(Copy, Clone, Debug)]
pub enum FcopyMessage<'a> {
    /// Start a copy.
    Start(&'a StartFcopy),
    /// Write `data` at `offset`.
    Write {
        /// File offset in bytes.
        offset: u64,
        /// The bytes to write (`size` bytes of the message).
        data: &'a [u8],
    },
    /// Close the file.
    Complete,
    /// Abandon the copy.
    Cancel,
    /// An operation this code does not know (the daemon answers `HV_E_FAIL`).
    Unknown(FcopyOp),
}

/// Parses an FCopy message (the bytes after the IC header).
///
/// # Errors
///
/// [`Error::Truncated`] if the message is shorter than the header (the daemon's only check),
/// than [`StartFcopy`] for a start, or than the write header plus `size` bytes for a write;
/// [`Error::DataTooLarge`] if a write's `size` exceeds [`DATA_FRAGMENT`].
pub fn parse(payload: &[u8]) -> Result<FcopyMessage<'_>, Error> {
    let have = payload.len();
    let (hdr, _) = FcopyHdr::read_from_prefix(payload).map_err(|_| Error::Truncated {
        need: size_of::<FcopyHdr>(),
        have,
    })?;
    Ok(match hdr.operation {
        FcopyOp::START_FILE_COPY => {
            let (m, _) = StartFcopy::ref_from_prefix(payload).map_err(|_| Error::Truncated {
                need: size_of::<StartFcopy>(),
                have,
            })?;
            FcopyMessage::Start(m)
        }
        FcopyOp::WRITE_TO_FILE => {
            let fixed = payload.get(..DO_FCOPY_DATA).ok_or(Error::Truncated {
                need: DO_FCOPY_DATA,
                have,
            })?;
            let offset = fixed
                .get(DO_FCOPY_OFFSET..DO_FCOPY_OFFSET + 8)
                .and_then(|b| u64::read_from_bytes(b).ok())
                .unwrap_or(0);
            let size = fixed
                .get(DO_FCOPY_SIZE..DO_FCOPY_SIZE + 4)
                .and_then(|b| u32::read_from_bytes(b).ok())
                .unwrap_or(0);
            if size as usize > DATA_FRAGMENT {
                return Err(Error::DataTooLarge(size));
            }
            let end = DO_FCOPY_DATA + size as usize;
            let data = payload
                .get(DO_FCOPY_DATA..end)
                .ok_or(Error::Truncated { need: end, have })?;
            FcopyMessage::Write { offset, data }
        }
        FcopyOp::COMPLETE_FCOPY => FcopyMessage::Complete,
        FcopyOp::CANCEL_FCOPY => FcopyMessage::Cancel,
        op => FcopyMessage::Unknown(op),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;
    use zerocopy::{
        FromZeros,
        IntoBytes, //
    };

    /// Sizes, offsets and constants printed by `rust/hv_proto/layout/extract.sh` (gcc 12,
    /// x86-64) for the Linux 7.2.13 C definitions.
    #[test]
    fn c_layout() {
        assert_eq!(size_of::<FcopyHdr>(), 36); // sizeof(struct hv_fcopy_hdr)
        assert_eq!(offset_of!(FcopyHdr, operation), 0); // offsetof(struct hv_fcopy_hdr, operation)
        assert_eq!(offset_of!(FcopyHdr, service_id0), 4); // offsetof(struct hv_fcopy_hdr, service_id0)
        assert_eq!(offset_of!(FcopyHdr, service_id1), 20); // offsetof(struct hv_fcopy_hdr, service_id1)
        assert_eq!(size_of::<StartFcopy>(), 1088); // sizeof(struct hv_start_fcopy)
        assert_eq!(offset_of!(StartFcopy, hdr), 0); // offsetof(struct hv_start_fcopy, hdr)
        assert_eq!(offset_of!(StartFcopy, file_name), 36); // offsetof(struct hv_start_fcopy, file_name)
        assert_eq!(offset_of!(StartFcopy, path_name), 556); // offsetof(struct hv_start_fcopy, path_name)
        assert_eq!(offset_of!(StartFcopy, copy_flags), 1076); // offsetof(struct hv_start_fcopy, copy_flags)
        assert_eq!(offset_of!(StartFcopy, file_size), 1080); // offsetof(struct hv_start_fcopy, file_size)
        assert_eq!(size_of::<DoFcopy>(), 6196); // sizeof(struct hv_do_fcopy)
        assert_eq!(offset_of!(DoFcopy, hdr), 0); // offsetof(struct hv_do_fcopy, hdr)
        assert_eq!(offset_of!(DoFcopy, pad), 36); // offsetof(struct hv_do_fcopy, pad)
        assert_eq!(offset_of!(DoFcopy, offset), 40); // offsetof(struct hv_do_fcopy, offset)
        assert_eq!(offset_of!(DoFcopy, size), 48); // offsetof(struct hv_do_fcopy, size)
        assert_eq!(offset_of!(DoFcopy, data), 52); // offsetof(struct hv_do_fcopy, data)
        assert_eq!(W_MAX_PATH, 260); // W_MAX_PATH
        assert_eq!(DATA_FRAGMENT, 6144); // DATA_FRAGMENT
        assert_eq!(OVER_WRITE, 1); // OVER_WRITE
        assert_eq!(CREATE_PATH, 2); // CREATE_PATH
        assert_eq!(FcopyOp::CANCEL_FCOPY.0, 3); // CANCEL_FCOPY
    }

    #[test]
    fn parse_messages() {
        let mut start = StartFcopy::new_zeroed();
        start.copy_flags = OVER_WRITE | CREATE_PATH;
        start.file_size = 1234;
        start.file_name[0] = b'a';
        match parse(start.as_bytes()).unwrap() {
            FcopyMessage::Start(m) => {
                assert_eq!({ m.copy_flags }, 3);
                assert_eq!({ m.file_size }, 1234);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(&start.as_bytes()[..1087]),
            Err(Error::Truncated { need: 1088, .. })
        ));

        let mut w = DoFcopy::new_zeroed();
        w.hdr.operation = FcopyOp::WRITE_TO_FILE;
        w.offset = 4096;
        w.size = 3;
        w.data[..3].copy_from_slice(b"xyz");
        match parse(w.as_bytes()).unwrap() {
            FcopyMessage::Write { offset, data } => {
                assert_eq!(offset, 4096);
                assert_eq!(data, b"xyz");
            }
            other => panic!("{other:?}"),
        }
        // Only the announced data is required.
        assert!(parse(&w.as_bytes()[..55]).is_ok());
        assert!(matches!(
            parse(&w.as_bytes()[..54]),
            Err(Error::Truncated { need: 55, have: 54 })
        ));
        w.size = DATA_FRAGMENT as u32 + 1;
        assert_eq!(parse(w.as_bytes()).unwrap_err(), Error::DataTooLarge(6145));

        let mut h = FcopyHdr::new_zeroed();
        h.operation = FcopyOp::COMPLETE_FCOPY;
        assert!(matches!(parse(h.as_bytes()), Ok(FcopyMessage::Complete)));
        h.operation = FcopyOp::CANCEL_FCOPY;
        assert!(matches!(parse(h.as_bytes()), Ok(FcopyMessage::Cancel)));
        h.operation = FcopyOp(77);
        assert!(matches!(
            parse(h.as_bytes()),
            Ok(FcopyMessage::Unknown(FcopyOp(77)))
        ));
        assert!(matches!(
            parse(&h.as_bytes()[..35]),
            Err(Error::Truncated { need: 36, have: 35 })
        ));
    }

    use super::super::test_rng::Rng;

    #[test]
    fn fuzz_smoke() {
        let mut rng = Rng(0x4242_4242_1111_2222);
        let mut buf = [0u8; 6300];
        for _ in 0..3_000 {
            let len = rng.below(buf.len() + 1);
            rng.fill(&mut buf[..len]);
            if len >= 4 {
                buf[..4].copy_from_slice(&(rng.below(5) as u32).to_le_bytes());
            }
            if len >= 52 && rng.below(2) == 0 {
                buf[48..52].copy_from_slice(&(rng.below(7000) as u32).to_le_bytes());
            }
            let _ = parse(&buf[..len]);
        }
    }
}
