// SPDX-License-Identifier: GPL-2.0

//! Guest memory as the host sees it, and rings laid over GPADL pages.
//!
//! The host reaches guest RAM by guest physical address (GPA) only: QEMU maps the guest's RAM
//! into the engine ([`vmbus_minihost::qemu_link::GuestMemory`]); the in-process tests use an
//! [`ArenaMemory`]. A channel's rings live in the pages of its ring GPADL, which need not be
//! contiguous in guest physical memory: [`GpaRingMem`] implements the protocol core's
//! [`RingMem`] over such a page list, so the same ring algorithm (`hv_proto::ring`) serves the
//! host role.
//!
//! Everything read from guest memory is untrusted and may change under us; nothing here forms
//! a reference into it (bytes are copied in and out).

use std::sync::{Arc, Mutex};

use hv_proto::ring::{ControlField, RingMem, HV_PAGE_SIZE};

/// Size of a Hyper-V page in bytes (the unit of PFNs).
pub const PAGE_SIZE: u64 = HV_PAGE_SIZE as u64;

/// A guest physical access that is not backed by guest RAM.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MemError {
    /// The first guest physical address of the access that is not RAM.
    pub gpa: u64,
}

impl std::fmt::Display for MemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "guest physical address {:#x} is not RAM", self.gpa)
    }
}

impl std::error::Error for MemError {}

/// Byte access to guest RAM by guest physical address.
pub trait GuestMemory: Send + Sync {
    /// Copies guest memory at `gpa` into `buf`.
    ///
    /// # Errors
    ///
    /// [`MemError`] if a byte of the range is not RAM; `buf` is then unspecified.
    fn read(&self, gpa: u64, buf: &mut [u8]) -> Result<(), MemError>;

    /// Copies `data` into guest memory at `gpa`.
    ///
    /// # Errors
    ///
    /// [`MemError`] if a byte of the range is not RAM; nothing is written then.
    fn write(&self, gpa: u64, data: &[u8]) -> Result<(), MemError>;

    /// Returns the RAM ranges as (GPA, size), in address order.
    fn ranges(&self) -> Vec<(u64, u64)>;

    /// Returns `true` if every byte of `[gpa, gpa + len)` is RAM.
    fn contains(&self, gpa: u64, len: u64) -> bool {
        let Some(end) = gpa.checked_add(len) else {
            return false;
        };
        let mut at = gpa;
        for (start, size) in self.ranges() {
            if at >= end {
                break;
            }
            if at >= start && at < start + size {
                at = (start + size).min(end);
            }
        }
        at >= end
    }

    /// Reads a little-endian `u32` at `gpa`.
    ///
    /// # Errors
    ///
    /// [`MemError`] if it is not RAM.
    fn read_u32(&self, gpa: u64) -> Result<u32, MemError> {
        let mut b = [0u8; 4];
        self.read(gpa, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// Writes a little-endian `u32` at `gpa`.
    ///
    /// # Errors
    ///
    /// [`MemError`] if it is not RAM.
    fn write_u32(&self, gpa: u64, v: u32) -> Result<(), MemError> {
        self.write(gpa, &v.to_le_bytes())
    }
}

impl GuestMemory for vmbus_minihost::qemu_link::GuestMemory {
    fn read(&self, gpa: u64, buf: &mut [u8]) -> Result<(), MemError> {
        vmbus_minihost::qemu_link::GuestMemory::read(self, gpa, buf)
            .map_err(|e| MemError { gpa: e.gpa })
    }

    fn write(&self, gpa: u64, data: &[u8]) -> Result<(), MemError> {
        vmbus_minihost::qemu_link::GuestMemory::write(self, gpa, data)
            .map_err(|e| MemError { gpa: e.gpa })
    }

    fn ranges(&self) -> Vec<(u64, u64)> {
        vmbus_minihost::qemu_link::GuestMemory::ranges(self).collect()
    }
}

/// Guest RAM for in-process tests: one flat byte arena starting at GPA 0.
///
/// The guest half of a test (the protocol core's state machines and rings) and the engine share
/// it through an [`Arc`]; a page allocator hands out guest pages for rings and buffers.
#[derive(Debug)]
pub struct ArenaMemory {
    bytes: Mutex<Vec<u8>>,
    next_page: Mutex<u64>,
}

impl ArenaMemory {
    /// Returns an arena of `size` bytes (rounded up to whole pages), all zero.
    ///
    /// Page 0 is never handed out by [`ArenaMemory::alloc_pages`], so GPA 0 stays unused.
    pub fn new(size: u64) -> Arc<ArenaMemory> {
        let size = size.div_ceil(PAGE_SIZE) * PAGE_SIZE;
        Arc::new(ArenaMemory {
            bytes: Mutex::new(vec![0; usize::try_from(size).unwrap_or(0)]),
            next_page: Mutex::new(1),
        })
    }

    /// Allocates `count` contiguous zeroed pages and returns the GPA of the first.
    ///
    /// # Panics
    ///
    /// If the arena is exhausted (a test sizing error).
    pub fn alloc_pages(&self, count: u64) -> u64 {
        let mut next = self.next_page.lock().unwrap_or_else(|e| e.into_inner());
        let first = *next;
        *next += count;
        let size = self.bytes.lock().map(|b| b.len() as u64).unwrap_or(0);
        assert!(*next * PAGE_SIZE <= size, "test arena exhausted");
        first * PAGE_SIZE
    }

    fn range(&self, gpa: u64, len: usize) -> Result<std::ops::Range<usize>, MemError> {
        let size = self.bytes.lock().map(|b| b.len()).unwrap_or(0);
        let start = usize::try_from(gpa).map_err(|_| MemError { gpa })?;
        match start.checked_add(len) {
            Some(end) if end <= size => Ok(start..end),
            _ => Err(MemError {
                gpa: gpa.max(size as u64),
            }),
        }
    }
}

impl GuestMemory for ArenaMemory {
    fn read(&self, gpa: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let r = self.range(gpa, buf.len())?;
        let bytes = self.bytes.lock().unwrap_or_else(|e| e.into_inner());
        buf.copy_from_slice(&bytes[r]);
        Ok(())
    }

    fn write(&self, gpa: u64, data: &[u8]) -> Result<(), MemError> {
        let r = self.range(gpa, data.len())?;
        let mut bytes = self.bytes.lock().unwrap_or_else(|e| e.into_inner());
        bytes[r].copy_from_slice(data);
        Ok(())
    }

    fn ranges(&self) -> Vec<(u64, u64)> {
        let size = self.bytes.lock().map(|b| b.len() as u64).unwrap_or(0);
        vec![(0, size)]
    }
}

/// One ring (control page and data pages) laid over guest pages, for the protocol core's ring
/// algorithm.
///
/// `pages` are the GPAs of the ring's pages in ring order: the control page first, then the
/// data pages. Every page was checked to be RAM when the GPADL was created; should an access
/// fail anyway (the memory layout changed), reads return zeros and the failure is remembered
/// ([`GpaRingMem::failed`]).
pub struct GpaRingMem {
    mem: Arc<dyn GuestMemory>,
    pages: Vec<u64>,
    data_len: u32,
    failed: std::cell::Cell<Option<MemError>>,
}

impl GpaRingMem {
    /// Lays a ring over `pages` (control page first).
    ///
    /// Returns `None` with fewer than two pages or a data area of 1 GiB or more.
    pub fn new(mem: Arc<dyn GuestMemory>, pages: Vec<u64>) -> Option<GpaRingMem> {
        let data_pages = u32::try_from(pages.len().checked_sub(1)?).ok()?;
        if data_pages == 0 {
            return None;
        }
        let data_len = data_pages.checked_mul(HV_PAGE_SIZE)?;
        Some(GpaRingMem {
            mem,
            pages,
            data_len,
            failed: std::cell::Cell::new(None),
        })
    }

    /// Returns the first failed access, if any.
    pub fn failed(&self) -> Option<MemError> {
        self.failed.get()
    }

    /// Returns the GPA of the control page.
    pub fn control_gpa(&self) -> u64 {
        self.pages.first().copied().unwrap_or(0)
    }

    fn note(&self, r: Result<(), MemError>) {
        if let Err(e) = r {
            if self.failed.get().is_none() {
                self.failed.set(Some(e));
            }
        }
    }

    /// Calls `f(gpa, range in the buffer)` for each page piece of data-area bytes
    /// `[offset, offset + len)`.
    fn pieces(&self, offset: u32, len: usize, mut f: impl FnMut(u64, std::ops::Range<usize>)) {
        let mut done = 0usize;
        while done < len {
            let at = offset as usize + done;
            let page = at / HV_PAGE_SIZE as usize;
            let in_page = at % HV_PAGE_SIZE as usize;
            let n = (len - done).min(HV_PAGE_SIZE as usize - in_page);
            let Some(gpa) = self.pages.get(1 + page) else {
                return;
            };
            f(gpa + in_page as u64, done..done + n);
            done += n;
        }
    }
}

impl RingMem for GpaRingMem {
    fn read_control(&self, field: ControlField) -> u32 {
        match self
            .mem
            .read_u32(self.control_gpa() + field.offset() as u64)
        {
            Ok(v) => v,
            Err(e) => {
                self.note(Err(e));
                0
            }
        }
    }

    fn write_control(&self, field: ControlField, value: u32) {
        self.note(
            self.mem
                .write_u32(self.control_gpa() + field.offset() as u64, value),
        );
    }

    fn data_len(&self) -> u32 {
        self.data_len
    }

    fn read_data(&self, offset: u32, buf: &mut [u8]) {
        let len = buf.len();
        self.pieces(offset, len, |gpa, r| {
            let piece = &mut buf[r];
            let res = self.mem.read(gpa, piece);
            if res.is_err() {
                piece.fill(0);
            }
            self.note(res);
        });
    }

    fn write_data(&self, offset: u32, buf: &[u8]) {
        self.pieces(offset, buf.len(), |gpa, r| {
            self.note(self.mem.write(gpa, &buf[r]));
        });
    }

    fn mb(&self) {
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
    }

    fn rmb(&self) {
        std::sync::atomic::fence(std::sync::atomic::Ordering::Acquire);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hv_proto::ring::{init_ring, IncomingRing, OutgoingPacket, OutgoingRing};

    #[test]
    fn ring_over_scattered_pages_wraps() {
        let arena = ArenaMemory::new(64 * PAGE_SIZE);
        // Control page, then three data pages in reverse GPA order.
        let base = arena.alloc_pages(6);
        let pages = vec![
            base,
            base + 5 * PAGE_SIZE,
            base + 3 * PAGE_SIZE,
            base + PAGE_SIZE,
        ];
        let mem: Arc<dyn GuestMemory> = arena.clone();
        let ring = GpaRingMem::new(mem, pages).unwrap();
        assert_eq!(ring.data_len(), 3 * 4096);
        init_ring(&ring);
        let mut tx = OutgoingRing::new(&ring).unwrap();
        let mut rx = IncomingRing::new(&ring).unwrap();
        let payload = [0xa5u8; 3000];
        let mut buf = [0u8; 4096];
        for i in 0..40u64 {
            tx.write_packet(&OutgoingPacket::inband(i, false), &[&payload])
                .unwrap();
            let (info, n) = rx.read_packet(&mut buf).unwrap();
            rx.commit_read();
            assert_eq!(info.trans_id, i);
            assert_eq!(&buf[..3000], &payload[..]);
            assert_eq!(n, 3000);
        }
        assert!(ring.failed().is_none());
    }

    #[test]
    fn arena_bounds_and_contains() {
        let arena = ArenaMemory::new(4 * PAGE_SIZE);
        assert!(arena.contains(0, 4 * PAGE_SIZE));
        assert!(!arena.contains(PAGE_SIZE, 4 * PAGE_SIZE));
        assert!(arena.write(4 * PAGE_SIZE - 2, &[1, 2, 3]).is_err());
        arena.write_u32(8, 0xdead_beef).unwrap();
        assert_eq!(arena.read_u32(8).unwrap(), 0xdead_beef);
    }
}
