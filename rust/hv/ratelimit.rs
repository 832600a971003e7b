// SPDX-License-Identifier: GPL-2.0

//! Rate-limited kernel messages, for what a host can make us print at will.
//!
//! C header: [`include/linux/ratelimit.h`](srctree/include/linux/ratelimit.h). The kernel
//! crate (7.2) has no `pr_err_ratelimited!`; [`Ratelimit`] is the default policy of
//! `DEFINE_RATELIMIT_STATE` (at most 10 messages every 5 seconds), as a `static` per call site.

use kernel::{
    bindings,
    sync::atomic::{Atomic, Relaxed},
};

/// The interval of the default policy (`DEFAULT_RATELIMIT_INTERVAL`), in nanoseconds.
const INTERVAL_NS: i64 = 5_000_000_000;
/// Messages allowed per interval (`DEFAULT_RATELIMIT_BURST`).
const BURST: u32 = 10;

/// The state of one rate-limited call site.
pub struct Ratelimit {
    /// Monotonic time at which the current interval began.
    begin: Atomic<i64>,
    /// Messages printed in the current interval.
    printed: Atomic<u32>,
}

impl Ratelimit {
    /// A call site that printed nothing yet.
    pub const fn new() -> Self {
        Self {
            begin: Atomic::new(i64::MIN),
            printed: Atomic::new(0),
        }
    }

    /// Returns `true` if a message may be printed now (`__ratelimit()`). Lock-free: under a
    /// race a few more messages than the burst may pass.
    pub fn allow(&self) -> bool {
        // SAFETY: `ktime_get()` has no preconditions.
        let now = unsafe { bindings::ktime_get() };
        let begin = self.begin.load(Relaxed);
        if now.saturating_sub(begin) >= INTERVAL_NS {
            self.begin.store(now, Relaxed);
            self.printed.store(0, Relaxed);
        }
        self.printed.fetch_add(1, Relaxed) < BURST
    }
}

impl Default for Ratelimit {
    fn default() -> Self {
        Self::new()
    }
}

/// Prints an error message unless this call site printed too many recently
/// (`pr_err_ratelimited()`).
#[macro_export]
macro_rules! pr_err_ratelimited {
    ($($arg:tt)*) => {{
        static LIMIT: $crate::hv::ratelimit::Ratelimit = $crate::hv::ratelimit::Ratelimit::new();
        if LIMIT.allow() {
            ::kernel::pr_err!($($arg)*);
        }
    }};
}
