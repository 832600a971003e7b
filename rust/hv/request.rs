// SPDX-License-Identifier: GPL-2.0

//! Transaction ids for a driver's requests in flight, never kernel pointers.
//!
//! C source: [`drivers/hv/channel.c`](srctree/drivers/hv/channel.c) (`struct vmbus_requestor`,
//! `vmbus_next_request_id()`, `vmbus_request_addr()`).
//!
//! [`RequestTable`] keeps what a driver needs to finish each request it sent (a command, a
//! waiter) under the transaction id the host echoes in the completion; the slot logic is
//! `hv_proto::request` (cargo-tested). A completion whose id was never handed out, or was
//! taken back already, finds nothing: the driver logs it and drops the packet.

use kernel::prelude::*;

use super::sync::IrqSpinLock;
use crate::proto::request::{RequestIds, Slot};

/// Requests in flight by transaction id, usable from any context (an interrupt-safe lock).
#[pin_data]
pub struct RequestTable<T> {
    #[pin]
    inner: IrqSpinLock<(RequestIds, KVVec<Slot<T>>)>,
}

impl<T: Send> RequestTable<T> {
    /// Returns an initializer of a table of `size` slots (C: `rqstor_size`, the ring's
    /// packet capacity), allocated now.
    ///
    /// # Errors
    ///
    /// [`ENOMEM`], [`EINVAL`] for more than `u32::MAX - 1` slots.
    pub fn new(size: usize) -> Result<impl PinInit<Self>> {
        if u32::try_from(size).map_or(true, |n| n == u32::MAX) {
            return Err(EINVAL);
        }
        let mut slots = KVVec::with_capacity(size, GFP_KERNEL)?;
        for _ in 0..size {
            slots.push(Slot::Free(0), GFP_KERNEL)?;
        }
        let ids = RequestIds::new(&mut slots);
        Ok(pin_init!(Self {
            inner <- crate::new_irq_spinlock!((ids, slots), c"vmbus_requestor"),
        }))
    }

    /// Keeps `value` and returns the transaction id to send it under
    /// (`vmbus_next_request_id()`).
    ///
    /// # Errors
    ///
    /// Gives `value` back if every slot is in use.
    pub fn insert(&self, value: T) -> core::result::Result<u64, T> {
        let mut inner = self.inner.lock();
        let (ids, slots) = &mut *inner;
        ids.insert(slots, value)
    }

    /// Takes back the request of transaction id `id` (`vmbus_request_addr()`); `None` if the
    /// id is not in flight.
    pub fn take(&self, id: u64) -> Option<T> {
        let mut inner = self.inner.lock();
        let (ids, slots) = &mut *inner;
        ids.take(slots, id)
    }

    /// Returns the number of requests in flight.
    pub fn len(&self) -> u32 {
        self.inner.lock().0.len()
    }

    /// Returns `true` if no request is in flight.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
