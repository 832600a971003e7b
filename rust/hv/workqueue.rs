// SPDX-License-Identifier: GPL-2.0

//! Workqueue additions: an ordered workqueue owned by the bus, and cancelling work items.
//!
//! C header: [`include/linux/workqueue.h`](srctree/include/linux/workqueue.h)
//!
//! The C driver processes the host's channel messages on its own workqueues (`hv_vmbus_con`,
//! `hv_pri_chan`, ...); `kernel::workqueue` (7.2) can only use the system queues, so this adds
//! an `alloc_ordered_workqueue()` that is destroyed (after draining) on drop. It can neither
//! cancel a work item, which a driver must do before its module goes away (timeouts armed with
//! `enqueue_delayed`): [`cancel_work_sync`] and [`cancel_delayed_work_sync`] do.

use core::{ops::Deref, ptr::NonNull};

use kernel::{
    bindings, container_of,
    prelude::*,
    sync::Arc,
    workqueue::{HasDelayedWork, HasWork, Queue, Work, WorkItem},
};

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

/// Cancels the work item of `this` if it is queued and waits until a running instance has
/// finished (`cancel_work_sync()`). The reference that the queued item held is given back.
/// Returns `true` if the item was queued (and now will not run).
///
/// May sleep; must not be called from the work item itself.
pub fn cancel_work_sync<T, const ID: u64>(this: &Arc<T>) -> bool
where
    T: HasWork<T, ID> + WorkItem<ID, Pointer = Arc<T>>,
{
    let ptr = Arc::as_ptr(this).cast_mut();
    // SAFETY: `ptr` points at a live `T`; `raw_get_work` only offsets it.
    let work = unsafe { Work::raw_get(T::raw_get_work(ptr)) };
    // SAFETY: `work` is the initialized work item of a live `T`.
    if unsafe { bindings::cancel_work_sync(work) } {
        // SAFETY: The item was queued, which for an `Arc` pointer means `Arc::into_raw()` of a
        // reference to `*this` (`RawWorkItem for Arc<T>`); cancelled, it will never run, so its
        // reference is ours to give back.
        drop(unsafe { Arc::from_raw(ptr.cast_const()) });
        return true;
    }
    false
}

/// As [`cancel_work_sync`] for a delayed work item (`cancel_delayed_work_sync()`): a pending
/// timer is stopped too.
pub fn cancel_delayed_work_sync<T, const ID: u64>(this: &Arc<T>) -> bool
where
    T: HasDelayedWork<T, ID> + WorkItem<ID, Pointer = Arc<T>>,
{
    let ptr = Arc::as_ptr(this).cast_mut();
    // SAFETY: `ptr` points at a live `T`; `raw_get_work` only offsets it.
    let work = unsafe { Work::raw_get(T::raw_get_work(ptr)) };
    // SAFETY: `HasDelayedWork` promises that the work item is the `work` field of a
    // `delayed_work`.
    let dwork = unsafe { container_of!(work, bindings::delayed_work, work) };
    // SAFETY: `dwork` is the initialized delayed work item of a live `T`.
    if unsafe { bindings::cancel_delayed_work_sync(dwork) } {
        // SAFETY: As in `cancel_work_sync`.
        drop(unsafe { Arc::from_raw(ptr.cast_const()) });
        return true;
    }
    false
}

/// Returns the per-CPU system workqueue (`system_percpu_wq`), the one `schedule_work()` uses.
///
/// The kernel crate's `workqueue::system()` (7.2) still returns `system_wq`, which the kernel
/// now warns about as deprecated when work is queued on it.
pub fn system_percpu() -> &'static Queue {
    // SAFETY: `system_percpu_wq` is a C global, set up before any module loads and never freed.
    unsafe { Queue::from_raw(bindings::system_percpu_wq) }
}
