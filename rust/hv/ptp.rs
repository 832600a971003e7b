// SPDX-License-Identifier: GPL-2.0

//! A read-only PTP clock: `/dev/ptpN` whose time comes from a driver's callback.
//!
//! C header: [`include/linux/ptp_clock_kernel.h`](srctree/include/linux/ptp_clock_kernel.h).
//!
//! Time sync registers the `hyperv` clock this way (`ptp_hyperv_info` in `hv_util.c`): only
//! reading it is supported; setting or adjusting it answers `EOPNOTSUPP`. `struct
//! ptp_clock_info` is not in the kernel's Rust bindings, so a C shim
//! (`drivers/hv/vmbus/vmbus_shim.c`) fills it in and calls back through [`PtpSource`].

use core::ptr::NonNull;

use kernel::{
    bindings,
    ffi::{c_int, c_void},
    prelude::*,
    sync::Arc,
};

use super::ffi;

/// Where a [`PtpClock`] takes its time from.
pub trait PtpSource: Send + Sync {
    /// Returns the clock's time in nanoseconds since 1970 (`gettime64`), or an error for the
    /// reader, e.g. [`ESTALE`] when the source is too old to be trusted.
    ///
    /// Called in process context, possibly concurrently.
    fn gettime_ns(&self) -> Result<i64>;
}

/// A registered PTP clock; unregistered on drop.
///
/// # Invariants
///
/// `ptp` is a clock registered by `hvrs_ptp_register()` with the address of `*source` as its
/// callback context; `source` is neither moved nor freed before the clock is unregistered.
pub struct PtpClock {
    ptp: NonNull<c_void>,
    source: KBox<Arc<dyn PtpSource>>,
}

// SAFETY: The clock may be unregistered from any thread; the source is `Send + Sync`.
unsafe impl Send for PtpClock {}

// SAFETY: `&PtpClock` only reads the clock's index.
unsafe impl Sync for PtpClock {}

impl PtpClock {
    /// Registers a PTP clock named `name` (at most 31 bytes are kept) owned by `module`, whose
    /// time is read from `source` (`ptp_clock_register()`).
    ///
    /// # Errors
    ///
    /// [`ENOMEM`], or the PTP core's error ([`EOPNOTSUPP`] without PTP support).
    pub fn register(
        name: &'static CStr,
        module: &'static ThisModule,
        source: Arc<dyn PtpSource>,
    ) -> Result<Self> {
        let source = KBox::new(source, GFP_KERNEL)?;
        let context: *const Arc<dyn PtpSource> = &*source;
        // SAFETY: `name` is NUL-terminated; `module` is the caller's module; `gettime` has the
        // shim's signature and `context` stays valid until `hvrs_ptp_unregister()` (`drop`).
        let ptp = unsafe {
            ffi::hvrs_ptp_register(
                name.as_char_ptr(),
                module.as_ptr().cast(),
                Self::gettime,
                context.cast(),
            )
        };
        let ptp = kernel::error::from_err_ptr(ptp)?;
        // INVARIANT: registered with the address of `*source`, which the box keeps in place.
        Ok(Self {
            ptp: NonNull::new(ptp).ok_or(EINVAL)?,
            source,
        })
    }

    /// Returns the clock's index N (`/dev/ptpN`, `ptp_clock_index()`).
    pub fn index(&self) -> i32 {
        // SAFETY: `ptp` is registered (type invariant).
        unsafe { ffi::hvrs_ptp_index(self.ptp.as_ptr()) }
    }

    /// The shim's `gettime64`.
    ///
    /// # Safety
    ///
    /// `ctx` is the context of a registered [`PtpClock`] and `ts` a valid `timespec64`.
    unsafe extern "C" fn gettime(ctx: *const c_void, ts: *mut bindings::timespec64) -> c_int {
        // SAFETY: By the safety requirements `ctx` points at the clock's `source`, which stays
        // valid until the clock is unregistered; unregistering waits for this call.
        let source = unsafe { &*ctx.cast::<Arc<dyn PtpSource>>() };
        let ns = match source.gettime_ns() {
            Ok(ns) => ns,
            Err(e) => return e.to_errno(),
        };
        // SAFETY: `ts` is valid for writes by the safety requirements.
        unsafe { *ts = super::system::ns_to_timespec(ns) };
        0
    }
}

impl Drop for PtpClock {
    fn drop(&mut self) {
        // SAFETY: `ptp` is registered (type invariant); after this no callback runs, so
        // `source` may be freed with `self`.
        unsafe { ffi::hvrs_ptp_unregister(self.ptp.as_ptr()) };
        let _ = &self.source;
    }
}
