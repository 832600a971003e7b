// SPDX-License-Identifier: GPL-2.0

//! Synchronization primitives the kernel crate (7.2) lacks: a completion with a bounded wait,
//! and a spinlock that disables interrupts.
//!
//! C headers: [`include/linux/completion.h`](srctree/include/linux/completion.h),
//! [`include/linux/spinlock.h`](srctree/include/linux/spinlock.h)
//!
//! `kernel::sync::Completion` can only wait forever; every wait of the bus on the host is
//! bounded, so [`Completion`] adds `wait_for_completion_timeout()`.

use super::ffi;
use kernel::{
    bindings,
    prelude::*,
    time::{msecs_to_jiffies, Delta},
    types::Opaque, //
};

/// A one-shot event: once completed, every current and future wait returns at once.
///
/// # Invariants
///
/// `inner` is an initialized `struct completion`.
#[pin_data]
pub struct Completion {
    #[pin]
    inner: Opaque<bindings::completion>,
}

// SAFETY: A `struct completion` may be completed and waited on from any task.
unsafe impl Send for Completion {}

// SAFETY: The C completion API is safe for concurrent use; it has its own lock.
unsafe impl Sync for Completion {}

impl Completion {
    /// Returns an initializer for a completion that is not done.
    pub fn new() -> impl PinInit<Self> {
        // INVARIANT: `init_completion()` initializes `inner`.
        pin_init!(Self {
            inner <- Opaque::ffi_init(|slot: *mut bindings::completion| {
                // SAFETY: `slot` is valid for writes of an uninitialized `struct completion`.
                unsafe { bindings::init_completion(slot) };
            }),
        })
    }

    /// Completes it: wakes every waiter, and every later wait returns at once
    /// (`complete_all()`). Callable in any context.
    pub fn complete_all(&self) {
        // SAFETY: `inner` is an initialized completion by the type invariant.
        unsafe { bindings::complete_all(self.inner.get()) };
    }

    /// Returns `true` if it was completed (`completion_done()`).
    pub fn is_done(&self) -> bool {
        // SAFETY: `inner` is an initialized completion by the type invariant.
        unsafe { bindings::completion_done(self.inner.get()) }
    }

    /// Waits, uninterruptibly, until it is completed or `timeout` has passed
    /// (`wait_for_completion_timeout()`); returns `true` if it was completed. May sleep.
    pub fn wait_timeout(&self, timeout: Delta) -> bool {
        let ms = u32::try_from(timeout.as_millis().max(0)).unwrap_or(u32::MAX);
        // SAFETY: `inner` is an initialized completion by the type invariant.
        let left = unsafe {
            bindings::wait_for_completion_timeout(self.inner.get(), msecs_to_jiffies(ms))
        };
        left != 0
    }

    /// Makes it not done again (`reinit_completion()`), before the condition a later wait is
    /// for is checked; nobody may wait on it meanwhile.
    pub fn reinit(&self) {
        // SAFETY: `inner` is an initialized completion by the type invariant.
        unsafe { ffi::hvrs_reinit_completion(self.inner.get().cast()) };
    }

    /// Waits until it is completed, `timeout` has passed or a signal arrives
    /// (`wait_for_completion_interruptible_timeout()`); returns `true` if it was completed.
    /// May sleep.
    ///
    /// # Errors
    ///
    /// [`ERESTARTSYS`] if a signal interrupted the wait.
    pub fn wait_interruptible_timeout(&self, timeout: Delta) -> Result<bool> {
        let ms = u32::try_from(timeout.as_millis().max(0)).unwrap_or(u32::MAX);
        // SAFETY: `inner` is an initialized completion by the type invariant.
        let left = unsafe {
            bindings::wait_for_completion_interruptible_timeout(
                self.inner.get(),
                msecs_to_jiffies(ms),
            )
        };
        if left < 0 {
            return Err(ERESTARTSYS);
        }
        Ok(left != 0)
    }
}

/// A spinlock taken with interrupts disabled (`spin_lock_irqsave()`), for data used from process,
/// softirq and hard-IRQ context alike: the outbound ring of a channel.
///
/// `kernel::sync::SpinLock` (7.2) only has the plain `spin_lock()`.
///
/// # Invariants
///
/// `lock` is an initialized `spinlock_t` that protects `data`.
#[pin_data]
pub struct IrqSpinLock<T> {
    #[pin]
    lock: Opaque<bindings::spinlock_t>,
    data: core::cell::UnsafeCell<T>,
}

// SAFETY: The lock hands `data` to one thread at a time; `T: Send` may move between threads.
unsafe impl<T: Send> Send for IrqSpinLock<T> {}

// SAFETY: As above: shared access only gives exclusive access under the lock.
unsafe impl<T: Send> Sync for IrqSpinLock<T> {}

impl<T> IrqSpinLock<T> {
    /// Returns an initializer of a lock around `data`; `name` and `key` are for lockdep.
    pub fn new(
        data: T,
        name: &'static CStr,
        key: Pin<&'static kernel::sync::LockClassKey>,
    ) -> impl PinInit<Self> {
        // INVARIANT: `__spin_lock_init()` initializes `lock`.
        pin_init!(Self {
            lock <- Opaque::ffi_init(|slot: *mut bindings::spinlock_t| {
                // SAFETY: `slot` is valid for writes; `name` and `key` live forever.
                unsafe { bindings::__spin_lock_init(slot, name.as_char_ptr(), key.as_ptr()) };
            }),
            data: core::cell::UnsafeCell::new(data),
        })
    }

    /// Disables interrupts and takes the lock.
    pub fn lock(&self) -> IrqSpinLockGuard<'_, T> {
        // SAFETY: `lock` is initialized (type invariant).
        let flags = unsafe { ffi::hvrs_spin_lock_irqsave(self.lock.get().cast()) };
        IrqSpinLockGuard { lock: self, flags }
    }
}

/// The lock of an [`IrqSpinLock`], released (interrupts restored) on drop.
///
/// # Invariants
///
/// The guard holds `lock.lock`, taken with the interrupt state `flags` saved.
pub struct IrqSpinLockGuard<'a, T> {
    lock: &'a IrqSpinLock<T>,
    flags: kernel::ffi::c_ulong,
}

impl<T> core::ops::Deref for IrqSpinLockGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: The lock is held (type invariant), so no one else accesses `data`.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> core::ops::DerefMut for IrqSpinLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: As in `deref`, and `&mut self` makes this the only reference.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for IrqSpinLockGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: The lock is held with `flags` saved (type invariant).
        unsafe { ffi::hvrs_spin_unlock_irqrestore(self.lock.lock.get().cast(), self.flags) };
    }
}

/// Returns an initializer of an [`IrqSpinLock`] with a lockdep class of its own.
#[macro_export]
macro_rules! new_irq_spinlock {
    ($inner:expr, $name:literal $(,)?) => {
        $crate::hv::sync::IrqSpinLock::new($inner, $name, ::kernel::static_lock_class!())
    };
}
