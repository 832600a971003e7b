// SPDX-License-Identifier: GPL-2.0

//! The VMBus ring buffer: packet format, reader and writer over a memory-access trait.
//!
//! C source: `drivers/hv/ring_buffer.c` (`hv_ringbuffer_write`, `hv_signal_on_write`,
//! `hv_pkt_iter_first`, `hv_pkt_iter_close`), `include/linux/hyperv.h` (`struct hv_ring_buffer`,
//! `hv_begin_read`, `hv_end_read`, `struct vmpacket_descriptor` and the packet headers).
//!
//! A channel has two rings, one per direction; each ring is a 4 KiB control page
//! ([`RingBufferHeader`]) followed by the data area. The side that writes a ring owns its
//! `write_index`, the side that reads it owns `read_index` and `interrupt_mask`. Both guest and
//! host have an [`OutgoingRing`] and an [`IncomingRing`]; the algorithm is the same for both
//! roles.
//!
//! # Definitions
//!
//! - *Packet*: a [`PacketDescriptor`], an optional extended header, the payload, padding to 8
//!   bytes, then an 8-byte trailer holding `(start write_index) << 32`.
//! - *Free bytes* of a ring: what the writer may use; a writer never fills a ring completely
//!   (it needs strictly more free bytes than it writes), so equal indices always mean empty.
//!
//! # Memory and trust
//!
//! The ring memory is shared with the peer and may change at any time. Nothing here forms a
//! reference into it: every access goes through [`RingMem`], every index and length read from
//! it is copied once, validated and never re-read, and payloads are copied out in at most two
//! slices (split at the wrap point). Invalid values from the peer are reported as
//! [`RingError::Corrupt`], distinct from [`RingError::Empty`] and [`RingError::Full`].

use core::cell::Cell;
use core::mem::{offset_of, size_of};

use zerocopy::{FromBytes, IntoBytes};
use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Size of the control page at the start of each ring (`sizeof(struct hv_ring_buffer)` on 4 KiB
/// pages); the data area starts at this offset.
pub const RING_HEADER_SIZE: u32 = 4096;
/// Size of the trailer after every packet (`VMBUS_PKT_TRAILER`).
pub const VMBUS_PKT_TRAILER: u32 = 8;
/// Size of a packet descriptor.
pub const PACKET_DESCRIPTOR_SIZE: u32 = 16;
/// Bit 0 of `feature_bits`: `feat_pending_send_sz`, the writer uses `pending_send_sz`.
pub const FEAT_PENDING_SEND_SZ: u32 = 1;
/// Descriptor flag: the receiver must send a completion (`VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED`).
pub const VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED: u16 = 1;
/// Largest packet (descriptor to padding) `len8` can describe, in bytes.
pub const MAX_PACKET_LEN: u32 = u16::MAX as u32 * 8;
/// Smallest data area a ring may have, in bytes.
pub const MIN_DATA_SIZE: u32 = 64;
/// Largest data area a ring may have, in bytes (keeps every index sum below `u32::MAX`).
pub const MAX_DATA_SIZE: u32 = 1 << 30;
/// Size of a Hyper-V page, the unit of PFNs in GPA ranges.
pub const HV_PAGE_SIZE: u32 = 4096;

/// The control page of a ring (`struct hv_ring_buffer` up to `buffer[]`, 4096 bytes).
///
/// Documents the layout and pins the offsets used by [`ControlField`]; the page itself is only
/// ever accessed field by field through [`RingMem`].
#[derive(Copy, Clone, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct RingBufferHeader {
    /// Byte offset in the data area where the writer writes next (`write_index`, @0).
    pub write_index: u32,
    /// Byte offset in the data area where the reader reads next (`read_index`, @4).
    pub read_index: u32,
    /// Non-zero while the reader drains and does not want signals (`interrupt_mask`, @8).
    pub interrupt_mask: u32,
    /// Free bytes the blocked writer waits for, 0 if not blocked (`pending_send_sz`, @12).
    pub pending_send_sz: u32,
    /// Reserved (`reserved1[12]`, @16).
    pub reserved1: [u32; 12],
    /// Feature bits, bit 0 [`FEAT_PENDING_SEND_SZ`] (`feature_bits`, @64).
    pub feature_bits: u32,
    /// Padding to 4096 (`reserved2`, @68).
    pub reserved2: [u8; 4096 - 68],
}

const _: () = assert!(size_of::<RingBufferHeader>() == RING_HEADER_SIZE as usize);

/// A control word of the ring's control page.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ControlField {
    /// `write_index`, owned by the writer.
    WriteIndex,
    /// `read_index`, owned by the reader.
    ReadIndex,
    /// `interrupt_mask`, owned by the reader.
    InterruptMask,
    /// `pending_send_sz`, owned by the writer.
    PendingSendSize,
    /// `feature_bits`, set by the writer.
    FeatureBits,
}

impl ControlField {
    /// Returns the field's byte offset in the control page.
    pub const fn offset(self) -> usize {
        match self {
            ControlField::WriteIndex => offset_of!(RingBufferHeader, write_index),
            ControlField::ReadIndex => offset_of!(RingBufferHeader, read_index),
            ControlField::InterruptMask => offset_of!(RingBufferHeader, interrupt_mask),
            ControlField::PendingSendSize => offset_of!(RingBufferHeader, pending_send_sz),
            ControlField::FeatureBits => offset_of!(RingBufferHeader, feature_bits),
        }
    }
}

/// Access to the memory of one ring, shared with the peer.
///
/// The kernel implements it on the ring's pages with `READ_ONCE`/`WRITE_ONCE`-style volatile
/// accesses and the `virt_*` barriers; tests use [`FlatRingMem`]. All methods take `&self`: the
/// memory is shared and changes under us anyway.
///
/// The algorithm calls the barriers exactly where `ring_buffer.c` has `virt_mb()`,
/// `virt_rmb()` and `virt_load_acquire()`.
pub trait RingMem {
    /// Reads a control word once (`READ_ONCE`).
    fn read_control(&self, field: ControlField) -> u32;

    /// Writes a control word once (`WRITE_ONCE`).
    fn write_control(&self, field: ControlField, value: u32);

    /// Reads a control word with acquire semantics (`virt_load_acquire()`): later loads of the
    /// data area are not reordered before it.
    ///
    /// The default is [`RingMem::read_control`] followed by [`RingMem::rmb`].
    fn load_acquire(&self, field: ControlField) -> u32 {
        let v = self.read_control(field);
        self.rmb();
        v
    }

    /// Returns the size of the data area in bytes (the ring minus its control page).
    fn data_len(&self) -> u32;

    /// Copies `buf.len()` bytes from data-area offset `offset` into `buf`.
    ///
    /// The caller guarantees `offset + buf.len() <= data_len()` (it never asks across the end).
    fn read_data(&self, offset: u32, buf: &mut [u8]);

    /// Copies `buf` to data-area offset `offset`, same guarantee as [`RingMem::read_data`].
    fn write_data(&self, offset: u32, buf: &[u8]);

    /// Full memory barrier between this side and the peer (`virt_mb()`).
    fn mb(&self);

    /// Read memory barrier (`virt_rmb()`).
    fn rmb(&self);
}

impl<T: RingMem + ?Sized> RingMem for &T {
    #[inline]
    fn read_control(&self, field: ControlField) -> u32 {
        (**self).read_control(field)
    }

    #[inline]
    fn write_control(&self, field: ControlField, value: u32) {
        (**self).write_control(field, value)
    }

    #[inline]
    fn load_acquire(&self, field: ControlField) -> u32 {
        (**self).load_acquire(field)
    }

    #[inline]
    fn data_len(&self) -> u32 {
        (**self).data_len()
    }

    #[inline]
    fn read_data(&self, offset: u32, buf: &mut [u8]) {
        (**self).read_data(offset, buf)
    }

    #[inline]
    fn write_data(&self, offset: u32, buf: &[u8]) {
        (**self).write_data(offset, buf)
    }

    #[inline]
    fn mb(&self) {
        (**self).mb()
    }

    #[inline]
    fn rmb(&self) {
        (**self).rmb()
    }
}

/// A ring in one flat byte buffer laid out like the real thing: control page, then data.
///
/// For tests, fuzzers, benchmarks and the user-space host engine; needs no allocation. Not
/// `Sync`: both ends of a test ring run on one thread.
///
/// # Examples
///
/// ```
/// use core::cell::Cell;
/// use hv_proto::ring::{init_ring, FlatRingMem, IncomingRing, OutgoingPacket, OutgoingRing, PacketType};
///
/// let mut storage = [0u8; 4096 + 4096];
/// let cells = Cell::from_mut(&mut storage[..]).as_slice_of_cells();
/// let mem = FlatRingMem::new(cells).unwrap();
/// init_ring(&mem);
/// let mut tx = OutgoingRing::new(&mem).unwrap();
/// let mut rx = IncomingRing::new(&mem).unwrap();
///
/// let pkt = OutgoingPacket::inband(7, false);
/// let signal = tx.write_packet(&pkt, &[b"hello"]).unwrap();
/// assert!(signal); // the ring was empty and the reader is not masked
///
/// let mut buf = [0u8; 64];
/// let (info, n) = rx.read_packet(&mut buf).unwrap();
/// assert_eq!(info.packet_type, PacketType::DATA_INBAND);
/// assert_eq!(info.trans_id, 7);
/// assert_eq!(&buf[..5], b"hello");
/// assert_eq!(n, 8); // padded to 8 bytes
/// assert!(!rx.commit_read()); // nobody waits for space
/// ```
pub struct FlatRingMem<'a> {
    bytes: &'a [Cell<u8>],
    data_len: u32,
}

impl<'a> FlatRingMem<'a> {
    /// Uses `bytes` as a ring: 4096 bytes of control page, the rest data.
    ///
    /// Returns `None` if the data area is not a multiple of 8 or outside
    /// [`MIN_DATA_SIZE`]..=[`MAX_DATA_SIZE`].
    pub fn new(bytes: &'a [Cell<u8>]) -> Option<FlatRingMem<'a>> {
        let data_len = u32::try_from(bytes.len().checked_sub(RING_HEADER_SIZE as usize)?).ok()?;
        if data_len % 8 != 0 || !(MIN_DATA_SIZE..=MAX_DATA_SIZE).contains(&data_len) {
            return None;
        }
        Some(FlatRingMem { bytes, data_len })
    }

    /// Returns the cells of `len` bytes at absolute offset `at`, or an empty slice.
    fn cells(&self, at: usize, len: usize) -> &'a [Cell<u8>] {
        let end = at.saturating_add(len);
        let cells = self.bytes.get(at..end);
        debug_assert!(cells.is_some(), "FlatRingMem access out of bounds");
        cells.unwrap_or(&[])
    }
}

impl RingMem for FlatRingMem<'_> {
    #[inline]
    fn read_control(&self, field: ControlField) -> u32 {
        let mut v = [0u8; 4];
        for (d, s) in v.iter_mut().zip(self.cells(field.offset(), 4)) {
            *d = s.get();
        }
        u32::from_le_bytes(v)
    }

    #[inline]
    fn write_control(&self, field: ControlField, value: u32) {
        for (d, s) in self
            .cells(field.offset(), 4)
            .iter()
            .zip(value.to_le_bytes())
        {
            d.set(s);
        }
    }

    #[inline]
    fn data_len(&self) -> u32 {
        self.data_len
    }

    #[inline]
    fn read_data(&self, offset: u32, buf: &mut [u8]) {
        let at = RING_HEADER_SIZE as usize + offset as usize;
        let cells = self.cells(at, buf.len());
        for (d, s) in buf.iter_mut().zip(cells) {
            *d = s.get();
        }
    }

    #[inline]
    fn write_data(&self, offset: u32, buf: &[u8]) {
        let at = RING_HEADER_SIZE as usize + offset as usize;
        for (d, s) in self.cells(at, buf.len()).iter().zip(buf) {
            d.set(*s);
        }
    }

    #[inline]
    fn mb(&self) {
        core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
    }

    #[inline]
    fn rmb(&self) {
        core::sync::atomic::fence(core::sync::atomic::Ordering::Acquire);
    }
}

/// Initializes a ring's control page for first use, like `hv_ringbuffer_init()`.
///
/// Both indices, the interrupt mask and `pending_send_sz` become 0 and `feature_bits` becomes
/// [`FEAT_PENDING_SEND_SZ`]. The side that allocates the rings (the guest) does this for both
/// rings before creating the GPADL; the rest of the page must already be zero.
pub fn init_ring<M: RingMem + ?Sized>(mem: &M) {
    mem.write_control(ControlField::WriteIndex, 0);
    mem.write_control(ControlField::ReadIndex, 0);
    mem.write_control(ControlField::InterruptMask, 0);
    mem.write_control(ControlField::PendingSendSize, 0);
    mem.write_control(ControlField::FeatureBits, FEAT_PENDING_SEND_SZ);
}

/// What is wrong with a value the peer wrote into the ring.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Corruption {
    /// `write_index` is outside the data area or not a multiple of 8.
    WriteIndex(u32),
    /// `read_index` is outside the data area or not a multiple of 8.
    ReadIndex(u32),
    /// Fewer bytes than a descriptor and trailer are available, but not zero.
    Truncated {
        /// Bytes available to read.
        available: u32,
    },
    /// `len8` is smaller than a descriptor, or the packet and trailer exceed the available bytes.
    PacketLength {
        /// The descriptor's `len8`.
        len8: u16,
        /// Bytes available to read.
        available: u32,
    },
    /// `offset8` is smaller than a descriptor or larger than `len8`.
    PacketOffset {
        /// The descriptor's `offset8`.
        offset8: u16,
        /// The descriptor's `len8`.
        len8: u16,
    },
}

/// A ring operation failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RingError {
    /// Nothing to read.
    Empty,
    /// Not enough free space for the packet now (retry after the reader made room).
    Full,
    /// The packet can never fit: larger than `len8` can describe or than the ring.
    TooLarge,
    /// The caller's buffer is smaller than what was to be copied out; nothing was consumed.
    BufferTooSmall {
        /// Bytes needed.
        needed: u32,
    },
    /// A caller-side argument was invalid (e.g. an extended header not a multiple of 8, or a
    /// [`PacketInfo`] that is not the next packet).
    InvalidArgument,
    /// The data area size is not a multiple of 8 or out of bounds.
    InvalidSize(u32),
    /// The peer wrote an invalid index or descriptor.
    Corrupt(Corruption),
}

impl core::fmt::Display for RingError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RingError::Empty => f.write_str("ring empty"),
            RingError::Full => f.write_str("ring full"),
            RingError::TooLarge => f.write_str("packet too large for the ring"),
            RingError::BufferTooSmall { needed } => write!(f, "buffer too small, need {needed}"),
            RingError::InvalidArgument => f.write_str("invalid argument"),
            RingError::InvalidSize(s) => write!(f, "invalid ring data size {s}"),
            RingError::Corrupt(c) => write!(f, "ring corrupted by peer: {c:?}"),
        }
    }
}

open_enum! {
    /// Packet type in a descriptor (`enum vmbus_packet_type`).
    pub struct PacketType(u16) {
        /// `VM_PKT_INVALID`.
        INVALID = 0x0,
        /// `VM_PKT_SYNCH`.
        SYNCH = 0x1,
        /// `VM_PKT_ADD_XFER_PAGESET`.
        ADD_XFER_PAGESET = 0x2,
        /// `VM_PKT_RM_XFER_PAGESET`.
        RM_XFER_PAGESET = 0x3,
        /// `VM_PKT_ESTABLISH_GPADL`.
        ESTABLISH_GPADL = 0x4,
        /// `VM_PKT_TEARDOWN_GPADL`.
        TEARDOWN_GPADL = 0x5,
        /// `VM_PKT_DATA_INBAND`: payload in the ring.
        DATA_INBAND = 0x6,
        /// `VM_PKT_DATA_USING_XFER_PAGES`: ranges of a transfer page set ([`TransferPageHeader`]).
        DATA_USING_XFER_PAGES = 0x7,
        /// `VM_PKT_DATA_USING_GPADL`.
        DATA_USING_GPADL = 0x8,
        /// `VM_PKT_DATA_USING_GPA_DIRECT`: guest physical ranges ([`GpaDirectHeader`]).
        DATA_USING_GPA_DIRECT = 0x9,
        /// `VM_PKT_CANCEL_REQUEST`.
        CANCEL_REQUEST = 0xa,
        /// `VM_PKT_COMP`: completion of the request with the same `trans_id`.
        COMP = 0xb,
        /// `VM_PKT_DATA_USING_ADDITIONAL_PKT`.
        DATA_USING_ADDITIONAL_PKT = 0xc,
        /// `VM_PKT_ADDITIONAL_DATA`.
        ADDITIONAL_DATA = 0xd,
    }
}

/// Packet descriptor at the start of every packet (`struct vmpacket_descriptor`, 16 bytes).
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct PacketDescriptor {
    /// Packet type (`type`, @0).
    pub packet_type: PacketType,
    /// Header length (descriptor and extended header) in 8-byte units (`offset8`, @2).
    pub offset8: u16,
    /// Packet length without the trailer, in 8-byte units (`len8`, @4).
    pub len8: u16,
    /// Flags, bit 0 [`VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED`] (`flags`, @6).
    pub flags: u16,
    /// Transaction id, echoed in the completion (`trans_id`, @8).
    pub trans_id: u64,
}

/// One range of a transfer-page packet (`struct vmtransfer_page_range`, 8 bytes).
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C, packed)]
pub struct TransferPageRange {
    /// Length in bytes (`byte_count`, @0).
    pub byte_count: u32,
    /// Offset in the transfer page set, in bytes (`byte_offset`, @4).
    pub byte_offset: u32,
}

/// Extended header of a transfer-page packet (`struct vmtransfer_page_packet_header` without
/// `ranges[]`, 24 bytes).
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct TransferPageHeader {
    /// The descriptor (`d`, @0).
    pub d: PacketDescriptor,
    /// Transfer page set id; netvsc's receive buffer is 0xCAFE (`xfer_pageset_id`, @16).
    pub xfer_pageset_id: u16,
    /// Non-zero if the sender owns the set (`sender_owns_set`, @18).
    pub sender_owns_set: u8,
    /// Reserved (`reserved`, @19).
    pub reserved: u8,
    /// Number of [`TransferPageRange`]s that follow (`range_cnt`, @20).
    pub range_cnt: u32,
}

/// Extended header of a GPA-direct packet (`struct vmdata_gpa_direct` without `range[]`,
/// 24 bytes).
///
/// It is followed by `range_cnt` ranges, each a [`super::vmbus::GpaRange`] and its PFNs.
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct GpaDirectHeader {
    /// The descriptor (`d`, @0).
    pub d: PacketDescriptor,
    /// Reserved (`reserved`, @16).
    pub reserved: u32,
    /// Number of ranges (`range_cnt`, @20).
    pub range_cnt: u32,
}

const _: () = assert!(size_of::<PacketDescriptor>() == PACKET_DESCRIPTOR_SIZE as usize);
const _: () = assert!(size_of::<TransferPageRange>() == 8);
const _: () = assert!(size_of::<TransferPageHeader>() == 24);
const _: () = assert!(size_of::<GpaDirectHeader>() == 24);

/// Checks a data-area size and returns it.
fn check_size(size: u32) -> Result<u32, RingError> {
    if size % 8 != 0 || !(MIN_DATA_SIZE..=MAX_DATA_SIZE).contains(&size) {
        return Err(RingError::InvalidSize(size));
    }
    Ok(size)
}

/// Returns `true` if `index` is a valid ring offset for a data area of `size` bytes.
#[inline]
fn index_ok(index: u32, size: u32) -> bool {
    index < size && index % 8 == 0
}

/// Free bytes for the writer (`hv_get_bytes_to_write()`), indices already validated.
#[inline]
fn bytes_to_write(write: u32, read: u32, size: u32) -> u32 {
    if write >= read {
        size - (write - read)
    } else {
        read - write
    }
}

/// Bytes written and not yet read (`hv_get_bytes_to_read()`), indices already validated.
#[inline]
fn bytes_to_read(write: u32, read: u32, size: u32) -> u32 {
    if write >= read {
        write - read
    } else {
        size - read + write
    }
}

/// Returns `offset + len` wrapped into the data area; `offset < size`, `len <= size`.
#[inline]
fn wrap_add(offset: u32, len: u32, size: u32) -> u32 {
    let n = offset + len;
    if n >= size {
        n - size
    } else {
        n
    }
}

/// A packet to write: the descriptor fields the caller chooses and the extended header.
///
/// `offset8` and `len8` are computed by [`OutgoingRing::write_packet`].
#[derive(Copy, Clone, Debug)]
pub struct OutgoingPacket<'a> {
    /// Packet type.
    pub packet_type: PacketType,
    /// Descriptor flags.
    pub flags: u16,
    /// Transaction id.
    pub trans_id: u64,
    /// Extended header after the descriptor (e.g. GPA ranges); a multiple of 8 bytes.
    pub ext_header: &'a [u8],
}

impl OutgoingPacket<'_> {
    /// Returns an in-band data packet, optionally asking for a completion.
    pub const fn inband(trans_id: u64, completion_requested: bool) -> OutgoingPacket<'static> {
        OutgoingPacket {
            packet_type: PacketType::DATA_INBAND,
            flags: if completion_requested {
                VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED
            } else {
                0
            },
            trans_id,
            ext_header: &[],
        }
    }

    /// Returns a completion packet for the request `trans_id`.
    pub const fn completion(trans_id: u64) -> OutgoingPacket<'static> {
        OutgoingPacket {
            packet_type: PacketType::COMP,
            flags: 0,
            trans_id,
            ext_header: &[],
        }
    }

    /// Returns a GPA-direct packet (`VM_PKT_DATA_USING_GPA_DIRECT`) whose extended header
    /// `ext_header` was built by [`encode_gpa_direct`], asking for a completion
    /// (`vmbus_sendpacket_mpb_desc()` always does).
    pub const fn gpa_direct(trans_id: u64, ext_header: &[u8]) -> OutgoingPacket<'_> {
        OutgoingPacket {
            packet_type: PacketType::DATA_USING_GPA_DIRECT,
            flags: VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED,
            trans_id,
            ext_header,
        }
    }
}

/// Returns the size in bytes of the extended header of a GPA-direct packet with one range of
/// `pfn_count` pages: `reserved` and `range_cnt`, the range's `len` and `offset`, its PFNs.
pub const fn gpa_direct_header_len(pfn_count: usize) -> usize {
    8 + 8 + 8 * pfn_count
}

/// Writes the extended header of a GPA-direct packet with one range into `out`
/// (`struct vmbus_packet_mpb_array` after the descriptor, as `vmbus_sendpacket_mpb_desc()`
/// sends it): `byte_count` bytes starting `byte_offset` bytes into the first of the 4 KiB
/// pages `pfns`. Returns the bytes written, [`gpa_direct_header_len`] of `pfns.len()`.
///
/// # Errors
///
/// [`RingError::InvalidArgument`] for an empty range, an offset of a page or more, a PFN count
/// other than the pages the range spans, or an `out` too small.
pub fn encode_gpa_direct(
    byte_offset: u32,
    byte_count: u32,
    pfns: &[u64],
    out: &mut [u8],
) -> Result<usize, RingError> {
    if byte_count == 0 || byte_offset >= HV_PAGE_SIZE {
        return Err(RingError::InvalidArgument);
    }
    let pages = (u64::from(byte_offset) + u64::from(byte_count)).div_ceil(u64::from(HV_PAGE_SIZE));
    if u64::try_from(pfns.len()).ok() != Some(pages) {
        return Err(RingError::InvalidArgument);
    }
    let len = gpa_direct_header_len(pfns.len());
    let out = out.get_mut(..len).ok_or(RingError::InvalidArgument)?;
    let (head, tail) = out.split_at_mut(16);
    // `reserved` (0) and `range_cnt` (1), then the range's `len` and `offset`.
    head[..4].copy_from_slice(&0u32.to_le_bytes());
    head[4..8].copy_from_slice(&1u32.to_le_bytes());
    head[8..12].copy_from_slice(&byte_count.to_le_bytes());
    head[12..16].copy_from_slice(&byte_offset.to_le_bytes());
    for (i, pfn) in pfns.iter().enumerate() {
        // In range: `tail` holds 8 bytes per PFN.
        if let Some(dst) = tail.get_mut(i * 8..i * 8 + 8) {
            dst.copy_from_slice(&pfn.to_le_bytes());
        }
    }
    Ok(len)
}

/// The writing end of a ring.
///
/// # Invariants
///
/// `size` is a valid data size and `write_index` a valid index for it; `write_index` is the
/// authoritative copy (the one in shared memory is only ever written).
pub struct OutgoingRing<M> {
    mem: M,
    size: u32,
    write_index: u32,
}

impl<M: RingMem> OutgoingRing<M> {
    /// Attaches to a ring as its writer, reading the current `write_index` once.
    ///
    /// # Errors
    ///
    /// [`RingError::InvalidSize`] for a bad data size, [`RingError::Corrupt`] for a bad index.
    pub fn new(mem: M) -> Result<OutgoingRing<M>, RingError> {
        let size = check_size(mem.data_len())?;
        let write_index = mem.read_control(ControlField::WriteIndex);
        if !index_ok(write_index, size) {
            return Err(RingError::Corrupt(Corruption::WriteIndex(write_index)));
        }
        Ok(OutgoingRing {
            mem,
            size,
            write_index,
        })
    }

    /// Returns the ring memory.
    pub fn mem(&self) -> &M {
        &self.mem
    }

    /// Returns the size of the data area in bytes.
    pub fn data_size(&self) -> u32 {
        self.size
    }

    /// Returns the private write index.
    pub fn write_index(&self) -> u32 {
        self.write_index
    }

    /// Reads and validates the reader's `read_index`.
    #[inline]
    fn read_index(&self) -> Result<u32, RingError> {
        let read = self.mem.read_control(ControlField::ReadIndex);
        if !index_ok(read, self.size) {
            return Err(RingError::Corrupt(Corruption::ReadIndex(read)));
        }
        Ok(read)
    }

    /// Returns the free bytes (`hv_get_bytes_to_write()`); a write of `n` bytes including the
    /// trailer needs strictly more than `n`.
    ///
    /// # Errors
    ///
    /// [`RingError::Corrupt`] if the reader's `read_index` is invalid.
    pub fn free_bytes(&self) -> Result<u32, RingError> {
        Ok(bytes_to_write(
            self.write_index,
            self.read_index()?,
            self.size,
        ))
    }

    /// Returns the packet length (without trailer) that `write_packet` would produce.
    ///
    /// # Errors
    ///
    /// [`RingError::InvalidArgument`] if `ext_header_len` is not a multiple of 8,
    /// [`RingError::TooLarge`] if the packet does not fit in `len8`.
    pub fn packet_len(ext_header_len: usize, payload_len: usize) -> Result<u32, RingError> {
        if ext_header_len % 8 != 0 {
            return Err(RingError::InvalidArgument);
        }
        // Saturating: an overflow is far beyond `MAX_PACKET_LEN` anyway. `MAX_PACKET_LEN` is a
        // multiple of 8, so the unpadded length fits exactly when the padded one does.
        let len = (PACKET_DESCRIPTOR_SIZE as usize)
            .saturating_add(ext_header_len)
            .saturating_add(payload_len);
        if len > MAX_PACKET_LEN as usize {
            return Err(RingError::TooLarge);
        }
        // At most `MAX_PACKET_LEN`, so the cast is lossless and the rounding cannot overflow.
        Ok((len as u32 + 7) & !7)
    }

    /// Copies `src` into the data area at `offset`, in at most two pieces; returns the offset
    /// after it. `offset` is valid and `src` no longer than the data area.
    #[inline]
    fn copy_in(&self, offset: u32, src: &[u8]) -> u32 {
        if src.is_empty() {
            return offset;
        }
        let room = (self.size - offset) as usize;
        match src.split_at_checked(room) {
            Some((first, second)) => {
                self.mem.write_data(offset, first);
                self.mem.write_data(0, second);
                // `second` is shorter than the data area here.
                second.len() as u32
            }
            None => {
                self.mem.write_data(offset, src);
                // `src` is shorter than the room left.
                wrap_add(offset, src.len() as u32, self.size)
            }
        }
    }

    /// Checks that `total` bytes (trailer included) fit now.
    #[inline]
    fn reserve(&self, total: u32) -> Result<(), RingError> {
        if total >= self.size {
            return Err(RingError::TooLarge);
        }
        let read = self.mem.read_control(ControlField::ReadIndex);
        if !index_ok(read, self.size) {
            return Err(RingError::Corrupt(Corruption::ReadIndex(read)));
        }
        // A ring is never filled completely: equal indices mean empty.
        if bytes_to_write(self.write_index, read, self.size) <= total {
            return Err(RingError::Full);
        }
        Ok(())
    }

    /// Writes `pad` (at most 7) zero bytes and the trailer, publishes the new write index and
    /// decides whether to signal.
    ///
    /// `next + pad` is the packet's end, a multiple of 8 not beyond the data area, so neither
    /// write crosses the end of the ring and the trailer is one aligned 8-byte store.
    #[inline]
    fn finish(&mut self, old_write: u32, next: u32, pad: usize) -> bool {
        let mut at = next;
        if pad != 0 {
            let zeros = [0u8; 8];
            self.mem.write_data(at, zeros.get(..pad).unwrap_or(&[]));
            // `pad < 8`.
            at = wrap_add(at, pad as u32, self.size);
        }
        // The trailer: `(start write_index) << 32`, little-endian.
        let trailer = u64::from(old_write) << 32;
        self.mem.write_data(at, &trailer.to_le_bytes());
        let next = wrap_add(at, VMBUS_PKT_TRAILER, self.size);
        // Full barrier before updating the write index (hv_ringbuffer_write).
        self.mem.mb();
        self.mem.write_control(ControlField::WriteIndex, next);
        self.write_index = next;
        self.signal_on_write(old_write)
    }

    /// The `hv_signal_on_write()` decision: signal only if the ring was empty before this write,
    /// as seen now, and the reader has not masked interrupts.
    #[inline]
    fn signal_on_write(&self, old_write: u32) -> bool {
        self.mem.mb();
        if self.mem.read_control(ControlField::InterruptMask) != 0 {
            return false;
        }
        // Check interrupt_mask before read_index.
        self.mem.rmb();
        old_write == self.mem.read_control(ControlField::ReadIndex)
    }

    /// Writes a raw packet gathered from `parts`, then the trailer, like `hv_ringbuffer_write()`.
    ///
    /// The parts must form a whole packet (descriptor first, a multiple of 8 bytes); this is the
    /// C driver's `kvec` interface. Returns whether the peer must be signalled.
    ///
    /// # Errors
    ///
    /// [`RingError::Full`] (nothing written), [`RingError::TooLarge`],
    /// [`RingError::InvalidArgument`] if the length is not a multiple of 8,
    /// [`RingError::Corrupt`] if the reader's index is invalid.
    pub fn write_raw(&mut self, parts: &[&[u8]]) -> Result<bool, RingError> {
        let mut len = 0usize;
        for p in parts {
            len = len.checked_add(p.len()).ok_or(RingError::TooLarge)?;
        }
        if len % 8 != 0 {
            return Err(RingError::InvalidArgument);
        }
        let total = u32::try_from(len)
            .ok()
            .and_then(|l| l.checked_add(VMBUS_PKT_TRAILER))
            .ok_or(RingError::TooLarge)?;
        self.reserve(total)?;
        let old_write = self.write_index;
        let mut next = old_write;
        for p in parts {
            next = self.copy_in(next, p);
        }
        Ok(self.finish(old_write, next, 0))
    }

    /// Writes a packet: a descriptor built from `pkt`, its extended header, the `payload`
    /// slices, zero padding to 8 bytes and the trailer. Returns whether to signal the peer.
    ///
    /// # Errors
    ///
    /// As [`OutgoingRing::write_raw`].
    pub fn write_packet(
        &mut self,
        pkt: &OutgoingPacket<'_>,
        payload: &[&[u8]],
    ) -> Result<bool, RingError> {
        // Saturating: a sum that overflows is `TooLarge` below anyway.
        let payload_len = payload
            .iter()
            .fold(0usize, |n, p| n.saturating_add(p.len()));
        let len = Self::packet_len(pkt.ext_header.len(), payload_len)?;
        let header_len = PACKET_DESCRIPTOR_SIZE as usize + pkt.ext_header.len();
        let desc = PacketDescriptor {
            packet_type: pkt.packet_type,
            // Both fit: `header_len <= len <= MAX_PACKET_LEN`.
            offset8: (header_len / 8) as u16,
            len8: (len / 8) as u16,
            flags: pkt.flags,
            trans_id: pkt.trans_id,
        };
        self.reserve(len + VMBUS_PKT_TRAILER)?;
        let old_write = self.write_index;
        let pad = len as usize - header_len - payload_len;
        if self.size - old_write >= len + VMBUS_PKT_TRAILER {
            // The usual case: the packet and its trailer do not wrap, so the pieces go one after
            // the other without wrap checks (offsets stay within the data area).
            let mut at = old_write;
            self.mem.write_data(at, desc.as_bytes());
            at += PACKET_DESCRIPTOR_SIZE;
            if !pkt.ext_header.is_empty() {
                self.mem.write_data(at, pkt.ext_header);
                at += pkt.ext_header.len() as u32;
            }
            for p in payload {
                if !p.is_empty() {
                    self.mem.write_data(at, p);
                    // Each piece is part of a packet of at most `MAX_PACKET_LEN` bytes.
                    at += p.len() as u32;
                }
            }
            return Ok(self.finish(old_write, at, pad));
        }
        let mut next = self.copy_in(old_write, desc.as_bytes());
        next = self.copy_in(next, pkt.ext_header);
        for p in payload {
            next = self.copy_in(next, p);
        }
        Ok(self.finish(old_write, next, pad))
    }

    /// Sets `pending_send_sz`: ask the reader to signal once more than `bytes` are free.
    ///
    /// Call it after [`RingError::Full`], then check [`OutgoingRing::free_bytes`] again before
    /// sleeping (the reader may have freed space before it saw the value).
    pub fn set_pending_send_size(&self, bytes: u32) {
        self.mem.write_control(ControlField::PendingSendSize, bytes);
        self.mem.mb();
    }

    /// Clears `pending_send_sz`.
    pub fn clear_pending_send_size(&self) {
        self.mem.write_control(ControlField::PendingSendSize, 0);
    }

    /// Announces that this writer uses `pending_send_sz` (sets [`FEAT_PENDING_SEND_SZ`]).
    pub fn set_pending_send_feature(&self) {
        self.mem
            .write_control(ControlField::FeatureBits, FEAT_PENDING_SEND_SZ);
    }
}

/// A validated packet found by [`IncomingRing::peek`].
///
/// All fields are private copies; `offset8` and `len8` are consistent and the whole packet is
/// in the available bytes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PacketInfo {
    /// Packet type.
    pub packet_type: PacketType,
    /// Descriptor flags.
    pub flags: u16,
    /// Transaction id.
    pub trans_id: u64,
    /// Header length in 8-byte units, at least 2 and at most `len8`.
    pub offset8: u16,
    /// Packet length in 8-byte units, at least 2.
    pub len8: u16,
    /// Ring offset of the descriptor.
    start: u32,
    /// Ring offset after the trailer.
    next: u32,
}

impl PacketInfo {
    /// Returns the packet length in bytes, without the trailer (`hv_pkt_len()`).
    pub fn len(&self) -> u32 {
        u32::from(self.len8) * 8
    }

    /// Returns `false`: a valid packet is never empty (kept for the `len` convention).
    pub fn is_empty(&self) -> bool {
        self.len8 == 0
    }

    /// Returns the header length in bytes, descriptor included.
    pub fn header_len(&self) -> u32 {
        u32::from(self.offset8) * 8
    }

    /// Returns the payload length in bytes, padding included (`hv_pkt_datalen()`).
    pub fn payload_len(&self) -> u32 {
        self.len() - self.header_len()
    }

    /// Returns `true` if the sender asked for a completion.
    pub fn completion_requested(&self) -> bool {
        self.flags & VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED != 0
    }
}

/// The reading end of a ring.
///
/// Reading is two-phase, like the C `hv_pkt_iter_*` API: [`IncomingRing::peek`] and
/// [`IncomingRing::advance`] move a private read position; [`IncomingRing::commit_read`]
/// publishes it to the writer and decides whether the writer waits for a signal.
///
/// # Invariants
///
/// `size` is a valid data size; `read_index` (last committed) and `priv_read_index` are valid
/// indices for it.
pub struct IncomingRing<M> {
    mem: M,
    size: u32,
    read_index: u32,
    priv_read_index: u32,
}

impl<M: RingMem> IncomingRing<M> {
    /// Attaches to a ring as its reader, reading the current `read_index` once.
    ///
    /// # Errors
    ///
    /// [`RingError::InvalidSize`] for a bad data size, [`RingError::Corrupt`] for a bad index.
    pub fn new(mem: M) -> Result<IncomingRing<M>, RingError> {
        let size = check_size(mem.data_len())?;
        let read_index = mem.read_control(ControlField::ReadIndex);
        if !index_ok(read_index, size) {
            return Err(RingError::Corrupt(Corruption::ReadIndex(read_index)));
        }
        Ok(IncomingRing {
            mem,
            size,
            read_index,
            priv_read_index: read_index,
        })
    }

    /// Returns the ring memory.
    pub fn mem(&self) -> &M {
        &self.mem
    }

    /// Returns the size of the data area in bytes.
    pub fn data_size(&self) -> u32 {
        self.size
    }

    /// Returns the last committed read index.
    pub fn read_index(&self) -> u32 {
        self.read_index
    }

    /// Reads (with acquire) and validates the writer's `write_index`.
    #[inline]
    fn write_index(&self) -> Result<u32, RingError> {
        let write = self.mem.load_acquire(ControlField::WriteIndex);
        if !index_ok(write, self.size) {
            return Err(RingError::Corrupt(Corruption::WriteIndex(write)));
        }
        Ok(write)
    }

    /// Returns the bytes after the private read position (`hv_pkt_iter_avail()`).
    ///
    /// # Errors
    ///
    /// [`RingError::Corrupt`] if the writer's index is invalid.
    pub fn bytes_available(&self) -> Result<u32, RingError> {
        Ok(bytes_to_read(
            self.write_index()?,
            self.priv_read_index,
            self.size,
        ))
    }

    /// Copies `buf.len()` bytes starting at ring offset `offset` (valid), in at most two pieces.
    #[inline]
    fn copy_out(&self, offset: u32, buf: &mut [u8]) {
        if buf.is_empty() {
            return;
        }
        let room = (self.size - offset) as usize;
        match buf.split_at_mut_checked(room) {
            Some((first, second)) => {
                self.mem.read_data(offset, first);
                self.mem.read_data(0, second);
            }
            None => self.mem.read_data(offset, buf),
        }
    }

    /// Returns the next packet without consuming it (`hv_pkt_iter_first()`).
    ///
    /// The descriptor is read once and validated: at least a descriptor and a trailer must be
    /// available, `len8 * 8` must hold a descriptor and, with the trailer, fit in the available
    /// bytes, and `offset8` must be within `[2, len8]`. Unlike the C code, which clamps bad
    /// values, a bad descriptor is an error; the ring is unusable after it.
    ///
    /// # Errors
    ///
    /// [`RingError::Empty`], or [`RingError::Corrupt`].
    pub fn peek(&self) -> Result<PacketInfo, RingError> {
        let available = self.bytes_available()?;
        if available == 0 {
            return Err(RingError::Empty);
        }
        if available < PACKET_DESCRIPTOR_SIZE + VMBUS_PKT_TRAILER {
            return Err(RingError::Corrupt(Corruption::Truncated { available }));
        }
        let mut raw = [0u8; PACKET_DESCRIPTOR_SIZE as usize];
        if self.size - self.priv_read_index >= PACKET_DESCRIPTOR_SIZE {
            // The usual case, one fixed-size copy.
            self.mem.read_data(self.priv_read_index, &mut raw);
        } else {
            self.copy_out(self.priv_read_index, &mut raw);
        }
        // The fields of `PacketDescriptor`, little-endian.
        let [t0, t1, o0, o1, l0, l1, f0, f1, i0, i1, i2, i3, i4, i5, i6, i7] = raw;
        let offset8 = u16::from_le_bytes([o0, o1]);
        let len8 = u16::from_le_bytes([l0, l1]);
        let len = u32::from(len8) * 8;
        if len < PACKET_DESCRIPTOR_SIZE || len + VMBUS_PKT_TRAILER > available {
            return Err(RingError::Corrupt(Corruption::PacketLength {
                len8,
                available,
            }));
        }
        let header_len = u32::from(offset8) * 8;
        if header_len < PACKET_DESCRIPTOR_SIZE || offset8 > len8 {
            return Err(RingError::Corrupt(Corruption::PacketOffset {
                offset8,
                len8,
            }));
        }
        Ok(PacketInfo {
            packet_type: PacketType(u16::from_le_bytes([t0, t1])),
            flags: u16::from_le_bytes([f0, f1]),
            trans_id: u64::from_le_bytes([i0, i1, i2, i3, i4, i5, i6, i7]),
            offset8,
            len8,
            start: self.priv_read_index,
            next: wrap_add(self.priv_read_index, len + VMBUS_PKT_TRAILER, self.size),
        })
    }

    /// Copies bytes `offset..offset + buf.len()` of packet `pkt` (descriptor at 0) into `buf`.
    ///
    /// # Errors
    ///
    /// [`RingError::InvalidArgument`] if the range is outside the packet.
    pub fn read_at(&self, pkt: &PacketInfo, offset: u32, buf: &mut [u8]) -> Result<(), RingError> {
        let end = u32::try_from(buf.len())
            .ok()
            .and_then(|n| n.checked_add(offset))
            .ok_or(RingError::InvalidArgument)?;
        if end > pkt.len() {
            return Err(RingError::InvalidArgument);
        }
        self.copy_out(wrap_add(pkt.start, offset, self.size), buf);
        Ok(())
    }

    /// Copies the header of `pkt` (descriptor and extended header) into `buf` and returns it.
    ///
    /// Use it with [`GpaDirect::parse`] and [`TransferPages::parse`].
    ///
    /// # Errors
    ///
    /// [`RingError::BufferTooSmall`].
    pub fn read_header<'b>(
        &self,
        pkt: &PacketInfo,
        buf: &'b mut [u8],
    ) -> Result<&'b [u8], RingError> {
        let needed = pkt.header_len();
        let out = buf
            .get_mut(..needed as usize)
            .ok_or(RingError::BufferTooSmall { needed })?;
        self.copy_out(pkt.start, out);
        Ok(out)
    }

    /// Copies the payload of `pkt` (padding included) into the front of `buf`; returns its length.
    ///
    /// # Errors
    ///
    /// [`RingError::BufferTooSmall`].
    pub fn read_payload(&self, pkt: &PacketInfo, buf: &mut [u8]) -> Result<usize, RingError> {
        let needed = pkt.payload_len();
        let out = buf
            .get_mut(..needed as usize)
            .ok_or(RingError::BufferTooSmall { needed })?;
        let at = wrap_add(pkt.start, pkt.header_len(), self.size);
        if out.is_empty() {
            // Nothing to copy.
        } else if self.size - at >= needed {
            // The usual case: the payload does not wrap.
            self.mem.read_data(at, out);
        } else {
            self.copy_out(at, out);
        }
        Ok(out.len())
    }

    /// Moves the private read position past `pkt` (`__hv_pkt_iter_next()`).
    ///
    /// # Errors
    ///
    /// [`RingError::InvalidArgument`] if `pkt` is not the packet at the private read position.
    pub fn advance(&mut self, pkt: &PacketInfo) -> Result<(), RingError> {
        if pkt.start != self.priv_read_index {
            return Err(RingError::InvalidArgument);
        }
        self.priv_read_index = pkt.next;
        Ok(())
    }

    /// Reads the next packet's payload into `buf` and moves past it, without committing
    /// (the C `hv_ringbuffer_read()` without its final `hv_pkt_iter_close()`).
    ///
    /// # Errors
    ///
    /// As [`IncomingRing::peek`] and [`IncomingRing::read_payload`]; on error nothing is
    /// consumed.
    pub fn read_packet(&mut self, buf: &mut [u8]) -> Result<(PacketInfo, usize), RingError> {
        let pkt = self.peek()?;
        let n = self.read_payload(&pkt, buf)?;
        self.priv_read_index = pkt.next;
        Ok((pkt, n))
    }

    /// Forgets packets passed since the last commit.
    pub fn rewind(&mut self) {
        self.priv_read_index = self.read_index;
    }

    /// Publishes the private read position and returns whether the writer must be signalled
    /// (`hv_pkt_iter_close()`).
    ///
    /// Signals only if the writer uses `pending_send_sz` (feature bit), is waiting
    /// (`pending_send_sz != 0`), had not enough room before this batch and has enough now
    /// (free bytes `> pending_send_sz`). An invalid writer index means no signal; the next
    /// [`IncomingRing::peek`] reports it.
    pub fn commit_read(&mut self) -> bool {
        // All reads of packet data are done before the writer may reuse the space.
        self.mem.rmb();
        let start_read_index = self.read_index;
        self.mem
            .write_control(ControlField::ReadIndex, self.priv_read_index);
        self.read_index = self.priv_read_index;

        if self.mem.read_control(ControlField::FeatureBits) & FEAT_PENDING_SEND_SZ == 0 {
            return false;
        }
        // Commit the read index before sampling pending_send_sz.
        self.mem.mb();
        let pending_sz = self.mem.read_control(ControlField::PendingSendSize);
        if pending_sz == 0 {
            return false;
        }
        // Read write_index after pending_send_sz.
        self.mem.rmb();
        let write = self.mem.read_control(ControlField::WriteIndex);
        if !index_ok(write, self.size) {
            return false;
        }
        let curr_write_sz = bytes_to_write(write, self.read_index, self.size);
        let bytes_read = bytes_to_read(self.read_index, start_read_index, self.size);
        // The writer was not blocked before this batch: no transition, no signal.
        if curr_write_sz.wrapping_sub(bytes_read) > pending_sz {
            return false;
        }
        // Still not enough room: no signal either.
        if curr_write_sz <= pending_sz {
            return false;
        }
        true
    }

    /// Masks the writer's signals while draining (`hv_begin_read()`).
    pub fn begin_read(&self) {
        self.mem.write_control(ControlField::InterruptMask, 1);
        self.mem.mb();
    }

    /// Unmasks signals and returns the bytes still unread (`hv_end_read()`).
    ///
    /// A non-zero result means a packet arrived while masked, for which no signal will come:
    /// drain again.
    ///
    /// # Errors
    ///
    /// [`RingError::Corrupt`] if the writer's index is invalid.
    pub fn end_read(&self) -> Result<u32, RingError> {
        self.mem.write_control(ControlField::InterruptMask, 0);
        self.mem.mb();
        let write = self.mem.read_control(ControlField::WriteIndex);
        if !index_ok(write, self.size) {
            return Err(RingError::Corrupt(Corruption::WriteIndex(write)));
        }
        Ok(bytes_to_read(write, self.read_index, self.size))
    }

    /// Drains the ring with signals masked, the C driver's `HV_CALL_BATCHED` mode.
    ///
    /// For each packet, copies the payload into `buf` and calls `f`; commits after each pass and
    /// repeats while [`IncomingRing::end_read`] finds more data. Returns the number of packets
    /// and whether the writer must be signalled.
    ///
    /// # Errors
    ///
    /// Stops at the first error of [`IncomingRing::peek`] (other than `Empty`) or
    /// [`IncomingRing::read_payload`]; packets handled before it are committed, and signals
    /// are unmasked.
    pub fn drain<F>(&mut self, buf: &mut [u8], mut f: F) -> Result<(usize, bool), RingError>
    where
        F: FnMut(&PacketInfo, &[u8]),
    {
        let mut count = 0;
        let mut signal = false;
        loop {
            self.begin_read();
            let mut err = None;
            loop {
                match self.read_packet(buf) {
                    Ok((pkt, n)) => {
                        count += 1;
                        f(&pkt, buf.get(..n).unwrap_or(&[]));
                    }
                    Err(RingError::Empty) => break,
                    Err(e) => {
                        err = Some(e);
                        break;
                    }
                }
            }
            signal |= self.commit_read();
            let left = self.end_read();
            if let Some(e) = err {
                return Err(e);
            }
            if left? == 0 {
                return Ok((count, signal));
            }
        }
    }
}

/// Why a GPA-direct or transfer-page header was rejected.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PacketHeaderError {
    /// The header is shorter than its fixed part.
    Truncated,
    /// The packet type does not match the parser.
    WrongType(PacketType),
    /// `range_cnt` ranges do not fit in the header.
    RangeCount(u32),
    /// A GPA range has `byte_count == 0`.
    EmptyRange,
    /// A GPA range's `byte_offset` is not within its first page.
    RangeOffset(u32),
    /// A GPA range needs more PFNs than the header holds.
    RangeTooLong,
}

/// Reads a little-endian u32 at `at` of `b`.
fn le32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    let mut v = [0u8; 4];
    v.copy_from_slice(s);
    Some(u32::from_le_bytes(v))
}

/// Reads a little-endian u64 at `at` of `b`.
fn le64(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(8)?)?;
    let mut v = [0u8; 8];
    v.copy_from_slice(s);
    Some(u64::from_le_bytes(v))
}

/// A parsed GPA-direct header (packet type 9): the ranges of guest memory the packet refers to.
#[derive(Copy, Clone, Debug)]
pub struct GpaDirect<'a> {
    /// Number of ranges.
    pub range_count: u32,
    ranges: &'a [u8],
}

/// One range of a GPA-direct packet or GPADL: a byte range over 4 KiB pages.
#[derive(Copy, Clone, Debug)]
pub struct GpaRangeRef<'a> {
    /// Length in bytes (non-zero).
    pub byte_count: u32,
    /// Offset in the first page, below 4096.
    pub byte_offset: u32,
    pfns: &'a [u8],
}

impl<'a> GpaRangeRef<'a> {
    /// Returns the number of PFNs, `ceil((byte_offset + byte_count) / 4096)`.
    pub fn pfn_count(&self) -> usize {
        self.pfns.len() / 8
    }

    /// Returns PFN `i`, or `None` past the end.
    pub fn pfn(&self, i: usize) -> Option<u64> {
        le64(self.pfns, i.checked_mul(8)?)
    }

    /// Returns an iterator over the PFNs.
    pub fn pfns(&self) -> impl Iterator<Item = u64> + 'a {
        self.pfns.chunks_exact(8).map(|c| {
            let mut v = [0u8; 8];
            v.copy_from_slice(c);
            u64::from_le_bytes(v)
        })
    }
}

/// Parses one GPA range with its PFNs from the front of `b`; returns it and the rest.
pub(crate) fn parse_gpa_range(b: &[u8]) -> Result<(GpaRangeRef<'_>, &[u8]), PacketHeaderError> {
    let byte_count = le32(b, 0).ok_or(PacketHeaderError::RangeTooLong)?;
    let byte_offset = le32(b, 4).ok_or(PacketHeaderError::RangeTooLong)?;
    if byte_count == 0 {
        return Err(PacketHeaderError::EmptyRange);
    }
    if byte_offset >= HV_PAGE_SIZE {
        return Err(PacketHeaderError::RangeOffset(byte_offset));
    }
    // byte_offset < 4096, so this cannot overflow a u64.
    let pages = (u64::from(byte_offset) + u64::from(byte_count)).div_ceil(u64::from(HV_PAGE_SIZE));
    let pfn_bytes = usize::try_from(pages)
        .ok()
        .and_then(|p| p.checked_mul(8))
        .ok_or(PacketHeaderError::RangeTooLong)?;
    let rest = b.get(8..).ok_or(PacketHeaderError::RangeTooLong)?;
    let (pfns, rest) = rest
        .split_at_checked(pfn_bytes)
        .ok_or(PacketHeaderError::RangeTooLong)?;
    Ok((
        GpaRangeRef {
            byte_count,
            byte_offset,
            pfns,
        },
        rest,
    ))
}

impl<'a> GpaDirect<'a> {
    /// Parses the header of a GPA-direct packet, as copied by [`IncomingRing::read_header`].
    ///
    /// Every range must be non-empty, start within its first page and have all its PFNs inside
    /// the header; `range_cnt` may not claim more ranges than fit. Bytes after the last range
    /// (up to `offset8 * 8`) are ignored.
    ///
    /// # Errors
    ///
    /// A [`PacketHeaderError`].
    pub fn parse(header: &'a [u8]) -> Result<GpaDirect<'a>, PacketHeaderError> {
        let (h, ranges) =
            GpaDirectHeader::read_from_prefix(header).map_err(|_| PacketHeaderError::Truncated)?;
        let packet_type = h.d.packet_type;
        if packet_type != PacketType::DATA_USING_GPA_DIRECT {
            return Err(PacketHeaderError::WrongType(packet_type));
        }
        let range_count = h.range_cnt;
        // Each range takes at least 16 bytes (its head and one PFN).
        if range_count as usize > ranges.len() / 16 {
            return Err(PacketHeaderError::RangeCount(range_count));
        }
        let mut rest = ranges;
        for _ in 0..range_count {
            rest = parse_gpa_range(rest)?.1;
        }
        let used = ranges.len() - rest.len();
        Ok(GpaDirect {
            range_count,
            ranges: ranges.get(..used).unwrap_or(&[]),
        })
    }

    /// Returns an iterator over the validated ranges.
    pub fn ranges(&self) -> impl Iterator<Item = GpaRangeRef<'a>> + 'a {
        let mut rest = self.ranges;
        (0..self.range_count).map_while(move |_| {
            let (r, tail) = parse_gpa_range(rest).ok()?;
            rest = tail;
            Some(r)
        })
    }
}

/// A parsed transfer-page header (packet type 7).
#[derive(Copy, Clone, Debug)]
pub struct TransferPages<'a> {
    /// Transfer page set id.
    pub xfer_pageset_id: u16,
    /// Non-zero if the sender owns the set.
    pub sender_owns_set: u8,
    /// Number of ranges.
    pub range_count: u32,
    ranges: &'a [u8],
}

impl<'a> TransferPages<'a> {
    /// Parses the header of a transfer-page packet, as copied by [`IncomingRing::read_header`].
    ///
    /// `range_cnt` ranges must fit in the header. Checking each range against the transfer
    /// page set (netvsc's receive buffer) is the caller's job, see
    /// [`TransferPages::check_ranges`].
    ///
    /// # Errors
    ///
    /// A [`PacketHeaderError`].
    pub fn parse(header: &'a [u8]) -> Result<TransferPages<'a>, PacketHeaderError> {
        let (h, ranges) = TransferPageHeader::read_from_prefix(header)
            .map_err(|_| PacketHeaderError::Truncated)?;
        let packet_type = h.d.packet_type;
        if packet_type != PacketType::DATA_USING_XFER_PAGES {
            return Err(PacketHeaderError::WrongType(packet_type));
        }
        let range_count = h.range_cnt;
        let bytes = (range_count as usize)
            .checked_mul(size_of::<TransferPageRange>())
            .ok_or(PacketHeaderError::RangeCount(range_count))?;
        let ranges = ranges
            .get(..bytes)
            .ok_or(PacketHeaderError::RangeCount(range_count))?;
        Ok(TransferPages {
            xfer_pageset_id: h.xfer_pageset_id,
            sender_owns_set: h.sender_owns_set,
            range_count,
            ranges,
        })
    }

    /// Returns range `i`, or `None` past the end.
    pub fn range(&self, i: usize) -> Option<TransferPageRange> {
        let at = i.checked_mul(8)?;
        Some(TransferPageRange {
            byte_count: le32(self.ranges, at)?,
            byte_offset: le32(self.ranges, at + 4)?,
        })
    }

    /// Returns an iterator over the ranges.
    pub fn ranges(&self) -> impl Iterator<Item = TransferPageRange> + 'a {
        self.ranges.chunks_exact(8).map(|c| {
            let (count, offset) = c.split_at(4);
            let mut a = [0u8; 4];
            let mut b = [0u8; 4];
            a.copy_from_slice(count);
            b.copy_from_slice(offset);
            TransferPageRange {
                byte_count: u32::from_le_bytes(a),
                byte_offset: u32::from_le_bytes(b),
            }
        })
    }

    /// Returns `true` if every range lies within a transfer page set of `set_len` bytes.
    pub fn check_ranges(&self, set_len: u32) -> bool {
        self.ranges().all(|r| {
            r.byte_offset
                .checked_add(r.byte_count)
                .is_some_and(|end| end <= set_len)
        })
    }
}

#[cfg(test)]
mod tests;
