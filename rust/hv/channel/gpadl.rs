// SPDX-License-Identifier: GPL-2.0

//! Buffers a driver shares with the host through a GPADL of their own, beside the channel's
//! rings: netvsc's receive and send buffers, uio_hv_generic's NIC maps.
//!
//! C source: [`drivers/hv/channel.c`](srctree/drivers/hv/channel.c)
//! (`vmbus_establish_gpadl()`, `vmbus_teardown_gpadl()`).
//!
//! The buffer is zeroed vmalloc memory; the host learns its pages in GPADL_HEADER/GPADL_BODY
//! messages (`HV_GPADL_BUFFER`) and answers GPADL_CREATED with the handle the driver then names
//! in its own protocol. Dropping the [`Gpadl`] tears it down and frees the pages, or leaks them
//! if the host did not confirm the teardown (it may still write them).

use kernel::{prelude::*, sync::Arc};

use super::super::page::SharedBuffer;
use super::{teardown, Channel};
use crate::proto::gpadl::GpadlType;

/// A buffer shared with the host through its own GPADL (`struct vmbus_gpadl`).
pub struct Gpadl {
    channel: Arc<Channel>,
    handle: u32,
    buffer: Arc<SharedBuffer>,
}

impl Channel {
    /// Allocates a zeroed buffer of `size` bytes (a multiple of the page size) and describes it
    /// to the host as a GPADL of this channel, waiting for GPADL_CREATED
    /// (`vmbus_establish_gpadl()`). The channel need not be open.
    ///
    /// # Errors
    ///
    /// [`EINVAL`] for a bad size, [`ENOMEM`], [`ENODEV`] if the channel was rescinded,
    /// [`ETIMEDOUT`] if the host did not answer (the pages are then leaked: the host may use
    /// them).
    pub fn establish_gpadl(self: &Arc<Self>, size: usize) -> Result<Gpadl> {
        let size32 = u32::try_from(size).map_err(|_| EINVAL)?;
        let buffer = Arc::new(SharedBuffer::new(size)?, GFP_KERNEL)?;
        let pfns = buffer.pfns()?;
        match self
            .control
            .as_arc_borrow()
            .create_gpadl(self, &pfns, GpadlType::Buffer, size32)
        {
            Ok(handle) => Ok(Gpadl {
                channel: self.clone(),
                handle,
                buffer,
            }),
            Err(e) => {
                if e == ETIMEDOUT {
                    core::mem::forget(buffer);
                }
                Err(e)
            }
        }
    }
}

impl Gpadl {
    /// Returns the handle the host gave the GPADL (`gpadl_handle`).
    pub fn handle(&self) -> u32 {
        self.handle
    }

    /// Returns the size of the buffer in bytes.
    pub fn len(&self) -> usize {
        self.buffer.len()
    }

    /// Returns `false`: a GPADL buffer is never empty.
    pub fn is_empty(&self) -> bool {
        self.buffer.is_empty()
    }

    /// Returns the buffer.
    pub fn buffer(&self) -> &SharedBuffer {
        &self.buffer
    }

    /// Returns the kernel (vmalloc) address of the buffer, for a `UIO_MEM_VIRTUAL` map, whose
    /// page faults look the pages up with `vmalloc_to_page()` and hold a reference to each.
    pub fn vmalloc_addr(&self) -> usize {
        self.buffer.as_ptr() as usize
    }
}

impl Drop for Gpadl {
    /// Tears the GPADL down and frees the buffer (`vmbus_teardown_gpadl()`).
    fn drop(&mut self) {
        teardown(&self.channel, self.handle, self.buffer.clone());
    }
}
