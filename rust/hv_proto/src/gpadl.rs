// SPDX-License-Identifier: GPL-2.0

//! GPADLs: describing guest memory to the host as PFN lists in GPADL_HEADER/BODY messages.
//!
//! C source: `drivers/hv/channel.c` (`create_gpadl_header`, `__vmbus_establish_gpadl`,
//! `hv_gpadl_size`, `hv_gpadl_hvpfn`, `hv_ring_gpadl_send_hvpgoffset`).
//!
//! The guest side ([`GpadlBuilder`]) turns the guest pages of a buffer into one GPADL_HEADER
//! (at most [`GPADL_HEADER_MAX_PFNS`] PFNs) and as many GPADL_BODY messages as needed (at most
//! [`GPADL_BODY_MAX_PFNS`] each), written into caller-provided message buffers. The host side
//! ([`GpadlAssembler`]) collects them into a caller-provided PFN array and validates the ranges.
//!
//! PFNs are always in 4 KiB Hyper-V pages. On guests with larger pages, a ring-buffer GPADL
//! ([`GpadlType::Ring`]) skips the unused tail of each ring's first (header) page, because
//! Hyper-V uses only 4 KiB of it; a plain buffer ([`GpadlType::Buffer`]) maps every 4 KiB.

use core::mem::size_of;

use zerocopy::IntoBytes;

use super::vmbus::{
    GpaRange, GpadlBody, GpadlHeader, MessageHeader, MessageType, MAX_SIZE_CHANNEL_MESSAGE,
};

/// Size of a Hyper-V page (`HV_HYP_PAGE_SIZE`).
const HV_PAGE: u64 = 4096;
/// `log2(HV_HYP_PAGE_SIZE)`.
const HV_PAGE_SHIFT: u32 = 12;

/// PFNs that fit in a GPADL_HEADER after its one range head (26, as `create_gpadl_header`).
pub const GPADL_HEADER_MAX_PFNS: usize =
    (MAX_SIZE_CHANNEL_MESSAGE - size_of::<GpadlHeader>() - size_of::<GpaRange>()) / 8;
/// PFNs that fit in one GPADL_BODY (28, as `create_gpadl_header`).
pub const GPADL_BODY_MAX_PFNS: usize = (MAX_SIZE_CHANNEL_MESSAGE - size_of::<GpadlBody>()) / 8;
/// The first GPADL handle the C driver allocates (`next_gpadl_handle` starts at 0xE1E10).
pub const FIRST_GPADL_HANDLE: u32 = 0xE1E10;

const _: () = assert!(GPADL_HEADER_MAX_PFNS == 26);
const _: () = assert!(GPADL_BODY_MAX_PFNS == 28);

/// The kind of memory a GPADL describes (`enum hv_gpadl_type`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum GpadlType {
    /// A plain buffer (`HV_GPADL_BUFFER`): every 4 KiB of it is mapped.
    Buffer,
    /// The two rings of a channel (`HV_GPADL_RING`): outgoing ring first, incoming ring at
    /// `send_offset` bytes (guest layout); each ring's first guest page is its header.
    Ring {
        /// Size in bytes of the outgoing ring in the guest's memory, a page multiple.
        send_offset: u32,
    },
}

/// Why a GPADL could not be built or assembled.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum GpadlError {
    /// Size, page size or ring split is not valid.
    InvalidLayout,
    /// Fewer guest pages given than the size covers.
    NotEnoughPages {
        /// Pages needed.
        needed: usize,
    },
    /// The PFN list does not fit the 16-bit `range_buflen`.
    TooLarge,
    /// A message's length or `range_buflen` is not a multiple of 8, or describes no range.
    Malformed,
    /// The caller's PFN array is too small for `range_buflen`.
    BufferTooSmall {
        /// u64 entries needed.
        needed: usize,
    },
    /// A message carries more PFNs than `range_buflen` announced.
    TooManyPfns,
    /// A GPADL_BODY for another GPADL handle.
    WrongGpadl(u32),
    /// Not all PFNs have arrived yet.
    Incomplete,
    /// A range has `byte_count == 0`.
    EmptyRange,
    /// A range's `byte_offset` is not within its first page.
    RangeOffset(u32),
    /// The ranges do not use exactly the announced entries, or there are not `rangecount` of
    /// them.
    RangeMismatch,
}

impl core::fmt::Display for GpadlError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "GPADL error: {self:?}")
    }
}

/// Returns the size Hyper-V sees for a GPADL of `size` guest bytes (`hv_gpadl_size()`).
///
/// `page_shift` is the guest's `PAGE_SHIFT`.
pub fn gpadl_size(kind: GpadlType, size: u32, page_shift: u32) -> Result<u32, GpadlError> {
    let page = 1u32
        .checked_shl(page_shift)
        .ok_or(GpadlError::InvalidLayout)?;
    match kind {
        GpadlType::Buffer => Ok(size),
        GpadlType::Ring { .. } => {
            if size % page != 0 {
                return Err(GpadlError::InvalidLayout);
            }
            size.checked_sub(2 * (page - HV_PAGE as u32))
                .ok_or(GpadlError::InvalidLayout)
        }
    }
}

/// Returns OPENCHANNEL's `downstream_ringbuffer_pageoffset` for a ring GPADL whose outgoing
/// ring is `send_offset` guest bytes (`hv_ring_gpadl_send_hvpgoffset()`), in 4 KiB pages.
pub fn downstream_ringbuffer_pageoffset(
    send_offset: u32,
    page_shift: u32,
) -> Result<u32, GpadlError> {
    let page = 1u32
        .checked_shl(page_shift)
        .ok_or(GpadlError::InvalidLayout)?;
    let gap = page - HV_PAGE as u32;
    Ok(send_offset
        .checked_sub(gap)
        .ok_or(GpadlError::InvalidLayout)?
        >> HV_PAGE_SHIFT)
}

/// Builds the GPADL_HEADER and GPADL_BODY messages of one GPADL.
///
/// # Examples
///
/// ```
/// use hv_proto::gpadl::{GpadlBuilder, GpadlType};
/// use hv_proto::vmbus::{Message, MAX_SIZE_CHANNEL_MESSAGE};
///
/// let pages: [u64; 30] = core::array::from_fn(|i| 0x1000 + i as u64);
/// let mut b = GpadlBuilder::new(5, 0xE1E10, GpadlType::Buffer, &pages, 12, 30 * 4096).unwrap();
/// assert_eq!(b.message_count(), 2);
/// let mut msg = [0u8; MAX_SIZE_CHANNEL_MESSAGE];
/// let n = b.write_next(&mut msg).unwrap();
/// assert_eq!(n, 20 + 8 + 26 * 8);
/// assert!(matches!(Message::parse(&msg[..n]), Ok(Message::GpadlHeader(..))));
/// let n = b.write_next(&mut msg).unwrap();
/// assert_eq!(n, 16 + 4 * 8);
/// assert!(b.write_next(&mut msg).is_none());
/// ```
#[derive(Clone, Debug)]
pub struct GpadlBuilder<'a> {
    child_relid: u32,
    gpadl: u32,
    kind: GpadlType,
    pages: &'a [u64],
    page_shift: u32,
    /// Size Hyper-V sees, in bytes.
    hv_size: u32,
    /// Number of 4 KiB PFNs.
    pfn_count: usize,
    /// PFNs written so far; `None` before the header.
    written: Option<usize>,
}

impl<'a> GpadlBuilder<'a> {
    /// Prepares the messages for GPADL `gpadl` of channel `child_relid`.
    ///
    /// `pages` are the guest page frame numbers of the buffer in order, in units of the guest's
    /// page size `1 << page_shift` (12 for 4 KiB pages); `size` is the buffer size in bytes, a
    /// multiple of 4 KiB (of the guest page for rings).
    ///
    /// # Errors
    ///
    /// [`GpadlError::InvalidLayout`], [`GpadlError::NotEnoughPages`] or
    /// [`GpadlError::TooLarge`] (more than 8190 PFNs).
    pub fn new(
        child_relid: u32,
        gpadl: u32,
        kind: GpadlType,
        pages: &'a [u64],
        page_shift: u32,
        size: u32,
    ) -> Result<GpadlBuilder<'a>, GpadlError> {
        if !(HV_PAGE_SHIFT..=20).contains(&page_shift) {
            return Err(GpadlError::InvalidLayout);
        }
        let page = 1u32 << page_shift;
        if size == 0 || size % HV_PAGE as u32 != 0 {
            return Err(GpadlError::InvalidLayout);
        }
        if let GpadlType::Ring { send_offset } = kind {
            if send_offset % page != 0
                || send_offset < page
                || send_offset >= size
                || size - send_offset < page
            {
                return Err(GpadlError::InvalidLayout);
            }
        }
        let hv_size = gpadl_size(kind, size, page_shift)?;
        let pfn_count = (hv_size >> HV_PAGE_SHIFT) as usize;
        let needed = size.div_ceil(page) as usize;
        if pages.len() < needed {
            return Err(GpadlError::NotEnoughPages { needed });
        }
        // range_buflen is a u16 holding the range head and every PFN.
        if size_of::<GpaRange>() + pfn_count * 8 > u16::MAX as usize {
            return Err(GpadlError::TooLarge);
        }
        Ok(GpadlBuilder {
            child_relid,
            gpadl,
            kind,
            pages,
            page_shift,
            hv_size,
            pfn_count,
            written: None,
        })
    }

    /// Returns the number of 4 KiB PFNs of the GPADL.
    pub fn pfn_count(&self) -> usize {
        self.pfn_count
    }

    /// Returns the number of messages: one header and the bodies.
    pub fn message_count(&self) -> usize {
        1 + self
            .pfn_count
            .saturating_sub(GPADL_HEADER_MAX_PFNS)
            .div_ceil(GPADL_BODY_MAX_PFNS)
    }

    /// Returns the 4 KiB PFN number `i` of the GPADL (`hv_gpadl_hvpfn()`).
    pub fn hv_pfn(&self, i: usize) -> u64 {
        let page = 1u64 << self.page_shift;
        let gap = page - HV_PAGE;
        let delta = match self.kind {
            GpadlType::Buffer => 0,
            GpadlType::Ring { send_offset } => {
                // Checked in `new`: send_offset >= page.
                let send_idx = ((u64::from(send_offset) - gap) >> HV_PAGE_SHIFT) as usize;
                if i == 0 {
                    0
                } else if i <= send_idx {
                    gap
                } else {
                    2 * gap
                }
            }
        };
        let addr = delta + HV_PAGE * i as u64;
        let guest_page = (addr >> self.page_shift) as usize;
        let sub = (addr >> HV_PAGE_SHIFT) & ((1 << (self.page_shift - HV_PAGE_SHIFT)) - 1);
        // `guest_page` is below `pages.len()` for `i < pfn_count` (checked in `new`).
        let pfn = self.pages.get(guest_page).copied().unwrap_or(0);
        (pfn << (self.page_shift - HV_PAGE_SHIFT)) | sub
    }

    /// Writes the PFNs `from..from + n` at the start of `out`.
    fn put_pfns(&self, out: &mut [u8], from: usize, n: usize) {
        for (i, chunk) in out.chunks_exact_mut(8).take(n).enumerate() {
            chunk.copy_from_slice(&self.hv_pfn(from + i).to_le_bytes());
        }
    }

    /// Writes the next message into `out` and returns its length, or `None` when all are written.
    ///
    /// The first message is the GPADL_HEADER with one range (`byte_offset` 0, `byte_count` the
    /// GPADL size) and the first PFNs; then GPADL_BODY messages with `msgnumber` 0, as the C
    /// driver sends them.
    pub fn write_next(&mut self, out: &mut [u8; MAX_SIZE_CHANNEL_MESSAGE]) -> Option<usize> {
        match self.written {
            None => {
                let n = self.pfn_count.min(GPADL_HEADER_MAX_PFNS);
                let header = GpadlHeader {
                    header: MessageHeader::new(MessageType::GPADL_HEADER),
                    child_relid: self.child_relid,
                    gpadl: self.gpadl,
                    // Checked in `new`.
                    range_buflen: (size_of::<GpaRange>() + self.pfn_count * 8) as u16,
                    rangecount: 1,
                };
                let range = GpaRange {
                    byte_count: self.hv_size,
                    byte_offset: 0,
                };
                let (h, rest) = out.split_at_mut(size_of::<GpadlHeader>());
                h.copy_from_slice(header.as_bytes());
                let (r, pfns) = rest.split_at_mut(size_of::<GpaRange>());
                r.copy_from_slice(range.as_bytes());
                self.put_pfns(pfns, 0, n);
                self.written = Some(n);
                Some(size_of::<GpadlHeader>() + size_of::<GpaRange>() + n * 8)
            }
            Some(done) if done < self.pfn_count => {
                let n = (self.pfn_count - done).min(GPADL_BODY_MAX_PFNS);
                let body = GpadlBody {
                    header: MessageHeader::new(MessageType::GPADL_BODY),
                    msgnumber: 0,
                    gpadl: self.gpadl,
                };
                let (h, pfns) = out.split_at_mut(size_of::<GpadlBody>());
                h.copy_from_slice(body.as_bytes());
                self.put_pfns(pfns, done, n);
                self.written = Some(done + n);
                Some(size_of::<GpadlBody>() + n * 8)
            }
            Some(_) => None,
        }
    }
}

/// Collects a GPADL's messages on the host side into a caller-provided array.
///
/// The array receives the raw range data as u64 entries: for each range, its head
/// (`byte_count | byte_offset << 32`) followed by its PFNs.
#[derive(Debug)]
pub struct GpadlAssembler<'a> {
    child_relid: u32,
    gpadl: u32,
    rangecount: u16,
    buf: &'a mut [u64],
    total: usize,
    filled: usize,
}

/// Copies the u64 entries of `tail` into `dst`; `tail.len()` is `8 * dst.len()`.
///
/// (Indexing by offset rather than `zip(chunks_exact(8))`: that pair leaves a division-by-zero
/// panic path in `Zip::new` at `opt-level=s`, which the kernel's objtool does not recognise as
/// `noreturn` and reports as a fall-through.)
fn copy_entries(dst: &mut [u64], tail: &[u8]) {
    let mut off = 0;
    for d in dst.iter_mut() {
        let Some(Ok(v)) = tail.get(off..off + 8).map(<[u8; 8]>::try_from) else {
            break;
        };
        *d = u64::from_le_bytes(v);
        off += 8;
    }
}

impl<'a> GpadlAssembler<'a> {
    /// Starts assembling from a GPADL_HEADER and the bytes after its fixed part.
    ///
    /// # Errors
    ///
    /// [`GpadlError::Malformed`] (lengths not multiples of 8, no range),
    /// [`GpadlError::BufferTooSmall`], or [`GpadlError::TooManyPfns`].
    pub fn new(
        header: &GpadlHeader,
        tail: &[u8],
        buf: &'a mut [u64],
    ) -> Result<GpadlAssembler<'a>, GpadlError> {
        let range_buflen = usize::from(header.range_buflen);
        let rangecount = header.rangecount;
        if range_buflen % 8 != 0 || tail.len() % 8 != 0 || rangecount == 0 {
            return Err(GpadlError::Malformed);
        }
        let total = range_buflen / 8;
        // Every range needs its head and at least one PFN.
        if total < 2 * usize::from(rangecount) {
            return Err(GpadlError::Malformed);
        }
        if buf.len() < total {
            return Err(GpadlError::BufferTooSmall { needed: total });
        }
        let n = tail.len() / 8;
        let dst = buf
            .get_mut(..total)
            .and_then(|b| b.get_mut(..n))
            .ok_or(GpadlError::TooManyPfns)?;
        copy_entries(dst, tail);
        Ok(GpadlAssembler {
            child_relid: header.child_relid,
            gpadl: header.gpadl,
            rangecount,
            buf,
            total,
            filled: n,
        })
    }

    /// Returns the GPADL handle.
    pub fn gpadl(&self) -> u32 {
        self.gpadl
    }

    /// Returns the channel the GPADL belongs to.
    pub fn child_relid(&self) -> u32 {
        self.child_relid
    }

    /// Returns `true` once every announced entry has arrived.
    pub fn is_complete(&self) -> bool {
        self.filled == self.total
    }

    /// Adds a GPADL_BODY; returns `true` if the GPADL is now complete.
    ///
    /// # Errors
    ///
    /// [`GpadlError::WrongGpadl`], [`GpadlError::Malformed`] or [`GpadlError::TooManyPfns`]
    /// (also for a body after completion).
    pub fn add_body(&mut self, body: &GpadlBody, tail: &[u8]) -> Result<bool, GpadlError> {
        if body.gpadl != self.gpadl {
            return Err(GpadlError::WrongGpadl(body.gpadl));
        }
        if tail.len() % 8 != 0 {
            return Err(GpadlError::Malformed);
        }
        let n = tail.len() / 8;
        let end = self
            .filled
            .checked_add(n)
            .filter(|e| *e <= self.total)
            .ok_or(GpadlError::TooManyPfns)?;
        let dst = self
            .buf
            .get_mut(self.filled..end)
            .ok_or(GpadlError::TooManyPfns)?;
        copy_entries(dst, tail);
        self.filled = end;
        Ok(self.is_complete())
    }

    /// Validates the ranges and returns the finished GPADL.
    ///
    /// There must be exactly `rangecount` ranges, each non-empty, starting within its first
    /// page, with `ceil((byte_offset + byte_count) / 4096)` PFNs, using all entries.
    ///
    /// # Errors
    ///
    /// [`GpadlError::Incomplete`], [`GpadlError::EmptyRange`], [`GpadlError::RangeOffset`] or
    /// [`GpadlError::RangeMismatch`].
    pub fn finish(self) -> Result<Gpadl<'a>, GpadlError> {
        if !self.is_complete() {
            return Err(GpadlError::Incomplete);
        }
        let entries: &'a [u64] = self.buf.get(..self.total).ok_or(GpadlError::Incomplete)?;
        let mut rest = entries;
        for _ in 0..self.rangecount {
            rest = split_range(rest)?.1;
        }
        if !rest.is_empty() {
            return Err(GpadlError::RangeMismatch);
        }
        Ok(Gpadl {
            child_relid: self.child_relid,
            gpadl: self.gpadl,
            range_count: self.rangecount,
            entries,
        })
    }
}

/// One range of a GPADL: a byte range over 4 KiB pages.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct GpadlRange<'a> {
    /// Length in bytes.
    pub byte_count: u32,
    /// Offset in the first page, below 4096.
    pub byte_offset: u32,
    /// The 4 KiB PFNs.
    pub pfns: &'a [u64],
}

/// Splits the first range off `entries`.
fn split_range(entries: &[u64]) -> Result<(GpadlRange<'_>, &[u64]), GpadlError> {
    let (head, rest) = entries.split_first().ok_or(GpadlError::RangeMismatch)?;
    let byte_count = *head as u32;
    let byte_offset = (*head >> 32) as u32;
    if byte_count == 0 {
        return Err(GpadlError::EmptyRange);
    }
    if u64::from(byte_offset) >= HV_PAGE {
        return Err(GpadlError::RangeOffset(byte_offset));
    }
    let pages = (u64::from(byte_offset) + u64::from(byte_count)).div_ceil(HV_PAGE);
    let pages = usize::try_from(pages).map_err(|_| GpadlError::RangeMismatch)?;
    let (pfns, rest) = rest
        .split_at_checked(pages)
        .ok_or(GpadlError::RangeMismatch)?;
    Ok((
        GpadlRange {
            byte_count,
            byte_offset,
            pfns,
        },
        rest,
    ))
}

/// A complete, validated GPADL as the host received it.
#[derive(Copy, Clone, Debug)]
pub struct Gpadl<'a> {
    /// The channel it belongs to.
    pub child_relid: u32,
    /// Its handle.
    pub gpadl: u32,
    /// Number of ranges.
    pub range_count: u16,
    entries: &'a [u64],
}

impl<'a> Gpadl<'a> {
    /// Returns an iterator over the ranges.
    pub fn ranges(&self) -> impl Iterator<Item = GpadlRange<'a>> + 'a {
        let mut rest = self.entries;
        (0..self.range_count).map_while(move |_| {
            let (r, tail) = split_range(rest).ok()?;
            rest = tail;
            Some(r)
        })
    }

    /// Returns the single range of a GPADL with one range (what Linux creates), or `None`.
    pub fn single_range(&self) -> Option<GpadlRange<'a>> {
        if self.range_count != 1 {
            return None;
        }
        self.ranges().next()
    }
}

#[cfg(test)]
mod tests;
