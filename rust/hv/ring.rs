// SPDX-License-Identifier: GPL-2.0

//! The protocol core's [`RingMem`] on a channel's ring buffer pages.
//!
//! C source: [`drivers/hv/ring_buffer.c`](srctree/drivers/hv/ring_buffer.c).
//!
//! A channel's two rings live in one [`SharedBuffer`]: the outbound ring (guest to host) first,
//! then the inbound ring, each a 4 KiB control page followed by its data pages. The C driver maps
//! the data pages twice in a row to read across the wrap point; the protocol core never asks for
//! an access across it, so one mapping is enough.

use kernel::sync::Arc;

use super::{ffi, page::SharedBuffer};
use crate::proto::ring::{ControlField, RingMem, RING_HEADER_SIZE};

/// One ring of a channel's ring buffer.
///
/// # Invariants
///
/// `start + RING_HEADER_SIZE + data_len <= buffer.len()`.
pub struct PageRing {
    buffer: Arc<SharedBuffer>,
    start: usize,
    data_len: u32,
}

impl PageRing {
    /// Returns the ring of `size` bytes (control page included) at `start` in `buffer`, or
    /// `None` if it does not fit.
    pub fn new(buffer: Arc<SharedBuffer>, start: usize, size: usize) -> Option<Self> {
        let data_len = size.checked_sub(RING_HEADER_SIZE as usize)?;
        if start.checked_add(size)? > buffer.len() {
            return None;
        }
        // INVARIANT: Checked just above.
        Some(Self {
            buffer,
            start,
            data_len: u32::try_from(data_len).ok()?,
        })
    }

    fn data_offset(&self, offset: u32) -> usize {
        self.start + RING_HEADER_SIZE as usize + offset as usize
    }
}

impl RingMem for PageRing {
    #[inline]
    fn read_control(&self, field: ControlField) -> u32 {
        self.buffer.read_u32(self.start + field.offset())
    }

    #[inline]
    fn write_control(&self, field: ControlField, value: u32) {
        self.buffer.write_u32(self.start + field.offset(), value)
    }

    #[inline]
    fn load_acquire(&self, field: ControlField) -> u32 {
        self.buffer.load_acquire_u32(self.start + field.offset())
    }

    #[inline]
    fn data_len(&self) -> u32 {
        self.data_len
    }

    #[inline]
    fn read_data(&self, offset: u32, buf: &mut [u8]) {
        // The protocol core never asks past the data area; if it did, nothing is copied.
        self.buffer.read_bytes(self.data_offset(offset), buf);
    }

    #[inline]
    fn write_data(&self, offset: u32, buf: &[u8]) {
        self.buffer.write_bytes(self.data_offset(offset), buf);
    }

    #[inline]
    fn mb(&self) {
        // SAFETY: A barrier has no preconditions.
        unsafe { ffi::hvrs_virt_mb() }
    }

    #[inline]
    fn rmb(&self) {
        // SAFETY: A barrier has no preconditions.
        unsafe { ffi::hvrs_virt_rmb() }
    }
}
