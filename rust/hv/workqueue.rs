// SPDX-License-Identifier: GPL-2.0

//! An ordered workqueue owned by the bus.
//!
//! C header: [`include/linux/workqueue.h`](srctree/include/linux/workqueue.h)
//!
//! The C driver processes the host's channel messages on its own workqueues (`hv_vmbus_con`,
//! `hv_pri_chan`, ...); `kernel::workqueue` (7.2) can only use the system queues, so this adds
//! an `alloc_ordered_workqueue()` that is destroyed (after draining) on drop.

use core::{ops::Deref, ptr::NonNull};

use kernel::{bindings, prelude::*, workqueue::Queue};

use super::ffi;

/// An ordered workqueue: its work items run one at a time, in the order they were queued.
///
/// # Invariants
///
/// `ptr` is a workqueue allocated by `alloc_ordered_workqueue()` and owned by this object.
pub struct OrderedQueue {
    ptr: NonNull<bindings::workqueue_struct>,
}

// SAFETY: A workqueue may be used and destroyed from any thread.
unsafe impl Send for OrderedQueue {}

// SAFETY: Queueing work is safe from any thread concurrently.
unsafe impl Sync for OrderedQueue {}

impl OrderedQueue {
    /// Allocates an ordered workqueue named `name` (`WQ_MEM_RECLAIM`, like the C driver's).
    ///
    /// # Errors
    ///
    /// [`ENOMEM`].
    pub fn new(name: &'static CStr) -> Result<Self> {
        // SAFETY: `name` is a valid NUL-terminated string that lives forever.
        let ptr = unsafe { ffi::hvrs_alloc_ordered_workqueue(name.as_char_ptr()) };
        // INVARIANT: A non-NULL result is a new workqueue, owned from now on.
        Ok(Self {
            ptr: NonNull::new(ptr).ok_or(ENOMEM)?,
        })
    }
}

impl OrderedQueue {
    /// Waits until the queue is empty, including work that queued work on it meanwhile
    /// (`drain_workqueue()`). May sleep; must not be called from a work item of this queue.
    pub fn drain(&self) {
        // SAFETY: `ptr` is a valid workqueue by the type invariant. While draining, queueing
        // from outside the queue's own work items triggers a warning but is not unsound.
        unsafe { bindings::drain_workqueue(self.ptr.as_ptr()) };
    }
}

impl Deref for OrderedQueue {
    type Target = Queue;

    fn deref(&self) -> &Queue {
        // SAFETY: `ptr` is a valid workqueue by the type invariant, and stays valid while
        // `self` is borrowed.
        unsafe { Queue::from_raw(self.ptr.as_ptr()) }
    }
}

impl Drop for OrderedQueue {
    fn drop(&mut self) {
        // SAFETY: `ptr` is a workqueue owned by `self` (type invariant); `destroy_workqueue()`
        // runs every queued item before freeing it. Nobody queues work on it any more: queueing
        // needs a `&self`, and we have `&mut self`.
        unsafe { bindings::destroy_workqueue(self.ptr.as_ptr()) };
    }
}
