// SPDX-License-Identifier: GPL-2.0

//! The guest-wide actions of the utility services: power off, reboot, hibernation support,
//! and the wall clock.
//!
//! C headers: [`include/linux/reboot.h`](srctree/include/linux/reboot.h),
//! [`include/linux/timekeeping.h`](srctree/include/linux/timekeeping.h),
//! [`include/clocksource/hyperv_timer.h`](srctree/include/clocksource/hyperv_timer.h).

use kernel::{bindings, prelude::*};

use super::ffi;

/// Starts an orderly power-off (`orderly_poweroff(true)`): user space's `poweroff` is run from
/// a work item, and the kernel powers off by force if it fails. Callable in atomic context.
pub fn orderly_poweroff() {
    // SAFETY: `orderly_poweroff()` only schedules a work item; it has no preconditions.
    unsafe { ffi::orderly_poweroff(true) };
}

/// Starts an orderly reboot (`orderly_reboot()`), like [`orderly_poweroff`].
pub fn orderly_reboot() {
    // SAFETY: `orderly_reboot()` only schedules a work item; it has no preconditions.
    unsafe { ffi::orderly_reboot() };
}

/// Returns `true` if the guest can hibernate (ACPI S4 and not the root partition,
/// `hv_is_hibernation_supported()`).
pub fn hibernation_supported() -> bool {
    // SAFETY: A query without preconditions.
    unsafe { ffi::hv_is_hibernation_supported() }
}

/// Returns the Hyper-V reference counter (100 ns units since the partition started,
/// `hv_read_reference_counter()`).
pub fn reference_counter() -> u64 {
    // SAFETY: The Hyper-V clocksource sets the function pointer at boot, before any module
    // loads; reading the counter has no preconditions.
    unsafe { ffi::hvrs_read_reference_counter() }
}

/// Converts nanoseconds since 1970 to a `timespec64` (`ns_to_timespec64()`).
pub(crate) fn ns_to_timespec(ns: i64) -> bindings::timespec64 {
    bindings::timespec64 {
        tv_sec: ns.div_euclid(1_000_000_000),
        // Below 10^9: fits any `long`.
        tv_nsec: ns.rem_euclid(1_000_000_000) as kernel::ffi::c_long,
    }
}

/// Returns `CLOCK_REALTIME` in nanoseconds since 1970 (`ktime_get_real_ts64()`).
pub fn realtime_ns() -> i64 {
    let mut ts = bindings::timespec64::default();
    // SAFETY: `ts` is valid for writes.
    unsafe { bindings::ktime_get_real_ts64(&mut ts) };
    ts.tv_sec
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as i64)
}

/// Steps `CLOCK_REALTIME` to `ns` nanoseconds since 1970 (`do_settimeofday64()`). May sleep.
///
/// # Errors
///
/// [`EINVAL`] for a time the kernel refuses.
pub fn set_realtime_ns(ns: i64) -> Result {
    let ts = ns_to_timespec(ns);
    // SAFETY: `ts` is a valid `timespec64`.
    kernel::error::to_result(unsafe { bindings::do_settimeofday64(&ts) })
}
