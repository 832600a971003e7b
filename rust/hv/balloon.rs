// SPDX-License-Identifier: GPL-2.0

//! Balloon pages: memory a balloon driver takes from the guest and gives to the host, and the
//! memory counters it reports.
//!
//! C source: [`drivers/hv/hv_balloon.c`](srctree/drivers/hv/hv_balloon.c)
//! (`alloc_balloon_pages()`, `free_balloon_pages()`, `post_status()`); the C shims are in
//! `drivers/hv/vmbus/balloon_shim.c`.
//!
//! The C driver frees whatever page frame numbers the host names in an unballoon request. Here
//! the pages are owned by a [`BalloonPages`], which records each page it allocated in a bitmap
//! indexed by page frame number (one bit per 4 KiB page, 32 KiB for 1 GiB): only pages it gave
//! out can be given back, each at most once, and whatever is still out when it is dropped goes
//! back to the kernel. So a host that names a wrong range cannot make the guest free memory it
//! does not own.

use kernel::{
    ffi::{c_long, c_uint, c_ulong},
    prelude::*,
    sync::atomic::{Atomic, Relaxed},
};

use super::sync::IrqSpinLock;

extern "C" {
    // drivers/hv/vmbus/balloon_shim.c
    fn hvrs_balloon_alloc_pages(order: c_uint, pfn: *mut c_ulong) -> bool;
    fn hvrs_balloon_free_page(pfn: c_ulong);
    fn hvrs_totalram_pages() -> c_ulong;
    fn hvrs_vm_memory_committed() -> c_ulong;
    fn hvrs_si_mem_available() -> c_long;
    fn hvrs_memory_block_size_bytes() -> c_ulong;
}

/// Pages of RAM the kernel manages (`totalram_pages()`); ballooned pages are not counted.
pub fn total_ram_pages() -> u64 {
    // SAFETY: Reads an atomic counter; no preconditions.
    (unsafe { hvrs_totalram_pages() }) as u64
}

/// Pages committed by the kernel's overcommit accounting (`vm_memory_committed()`).
pub fn vm_memory_committed_pages() -> u64 {
    // SAFETY: Sums per-CPU counters; no preconditions.
    (unsafe { hvrs_vm_memory_committed() }) as u64
}

/// Estimate of the pages available for new allocations without swapping
/// (`si_mem_available()`, the `MemAvailable` of `/proc/meminfo`).
pub fn mem_available_pages() -> i64 {
    // SAFETY: Reads the zone and node counters; no preconditions.
    (unsafe { hvrs_si_mem_available() }) as i64
}

/// Size of a memory block, the unit of memory hot-add (`memory_block_size_bytes()`), or 0 if
/// the kernel has no memory hotplug.
pub fn memory_block_size_bytes() -> u64 {
    // SAFETY: Returns a value fixed at boot; no preconditions.
    (unsafe { hvrs_memory_block_size_bytes() }) as u64
}

/// Bits per bitmap word.
const WORD_BITS: u64 = u64::BITS as u64;

/// The pages of a balloon: allocated for the host, given back on request or on drop.
///
/// # Invariants
///
/// A bit `pfn` set in `bitmap` means that the page at `pfn` was allocated by
/// `hvrs_balloon_alloc_pages()` (taken out of the managed pages and marked offline), has not
/// been freed since, and belongs to this object: only this object frees it, and it clears the
/// bit (under the lock) before it does.
#[pin_data(PinnedDrop)]
pub struct BalloonPages {
    /// One bit per page frame number, grown as pages with higher numbers are allocated.
    #[pin]
    bitmap: IrqSpinLock<KVVec<u64>>,
    /// Pages out (`num_pages_ballooned`).
    count: Atomic<u64>,
}

/// The result of [`BalloonPages::free_range`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Freed {
    /// Pages given back to the kernel.
    pub freed: u64,
    /// Pages of the range that were not in the balloon (left alone).
    pub not_ballooned: u64,
}

impl BalloonPages {
    /// Returns an initializer of an empty balloon.
    pub fn new() -> impl PinInit<Self> {
        // INVARIANT: The bitmap is empty.
        pin_init!(Self {
            bitmap <- crate::new_irq_spinlock!(KVVec::new(), c"BalloonPages::bitmap"),
            count: Atomic::new(0),
        })
    }

    /// Pages out (`num_pages_ballooned`).
    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    /// Allocates `2^order` contiguous pages for the host as `hv_balloon` does
    /// (`GFP_HIGHUSER | __GFP_NORETRY | __GFP_NOMEMALLOC | __GFP_NOWARN`), splits them into
    /// single pages, marks them offline and takes them out of the managed pages
    /// (`MemTotal` drops); returns the first page frame number, or `None` if there is no
    /// memory. May sleep (reclaim).
    pub fn alloc(&self, order: u32) -> Option<u64> {
        if order >= 20 {
            return None;
        }
        let n = 1u64 << order;
        let mut pfn: c_ulong = 0;
        // SAFETY: `pfn` is valid for writes.
        if !unsafe { hvrs_balloon_alloc_pages(order, &mut pfn) } {
            return None;
        }
        let pfn = pfn as u64;
        if self.record(pfn, n).is_err() {
            // No memory for the bitmap: give the pages back at once.
            for p in pfn..pfn + n {
                // SAFETY: The pages were just allocated by `hvrs_balloon_alloc_pages()` and
                // were never recorded, so nobody else frees them.
                unsafe { hvrs_balloon_free_page(p as c_ulong) };
            }
            return None;
        }
        Some(pfn)
    }

    /// Sets the bits of `pfn..pfn + n`, growing the bitmap first if needed.
    fn record(&self, pfn: u64, n: u64) -> Result {
        let end = pfn.checked_add(n).ok_or(EINVAL)?;
        let words = usize::try_from(end.div_ceil(WORD_BITS)).map_err(|_| EINVAL)?;
        if self.bitmap.lock().len() < words {
            // Allocate outside the lock (it may sleep), with room to grow.
            let want = words.checked_next_power_of_two().ok_or(ENOMEM)?;
            let mut new = KVVec::from_elem(0u64, want, GFP_KERNEL)?;
            let old = {
                let mut bitmap = self.bitmap.lock();
                if bitmap.len() < want {
                    if let Some(dst) = new.get_mut(..bitmap.len()) {
                        dst.copy_from_slice(&bitmap);
                    }
                    core::mem::swap(&mut *bitmap, &mut new);
                }
                new
            };
            // Freed outside the lock (`kvfree()` may sleep).
            drop(old);
        }
        let mut bitmap = self.bitmap.lock();
        for p in pfn..end {
            let word = bitmap.get_mut((p / WORD_BITS) as usize).ok_or(EINVAL)?;
            // INVARIANT: The page was allocated by `hvrs_balloon_alloc_pages()` and is ours.
            *word |= 1 << (p % WORD_BITS);
        }
        self.count.add(n, Relaxed);
        Ok(())
    }

    /// Gives the balloon's pages in `start..start + count` back to the kernel (an unballoon
    /// request); pages of the range that are not in the balloon are counted and left alone.
    /// Callable in any context; the lock is held for 64 pages at a time.
    pub fn free_range(&self, start: u64, count: u64) -> Freed {
        let end = start.saturating_add(count);
        let mut freed = 0u64;
        let mut pfn = start;
        while pfn < end {
            let word_index = pfn / WORD_BITS;
            let first = pfn % WORD_BITS;
            let last = (end - word_index * WORD_BITS).min(WORD_BITS);
            let span = last - first;
            let mask = if span == WORD_BITS {
                u64::MAX
            } else {
                ((1u64 << span) - 1) << first
            };
            let taken = {
                let mut bitmap = self.bitmap.lock();
                let Some(word) = usize::try_from(word_index)
                    .ok()
                    .and_then(|i| bitmap.get_mut(i))
                else {
                    // Past the bitmap: nothing from here on is ours.
                    break;
                };
                let taken = *word & mask;
                *word &= !mask;
                taken
            };
            self.release(word_index, taken);
            freed += u64::from(taken.count_ones());
            pfn = (word_index + 1) * WORD_BITS;
        }
        Freed {
            freed,
            not_ballooned: count - freed,
        }
    }

    /// Gives every page of the balloon back to the kernel; returns how many there were.
    pub fn free_all(&self) -> u64 {
        let mut freed = 0u64;
        let mut i = 0usize;
        loop {
            let taken = {
                let mut bitmap = self.bitmap.lock();
                let Some(word) = bitmap.get_mut(i) else {
                    break;
                };
                core::mem::take(word)
            };
            self.release(i as u64, taken);
            freed += u64::from(taken.count_ones());
            i += 1;
        }
        freed
    }

    /// Frees the pages whose bits in word `word_index` are set in `taken`, which the caller
    /// cleared in the bitmap under the lock.
    fn release(&self, word_index: u64, taken: u64) {
        let mut bits = taken;
        while bits != 0 {
            let bit = u64::from(bits.trailing_zeros());
            bits &= bits - 1;
            let pfn = word_index * WORD_BITS + bit;
            // SAFETY: The bit was set, so the page was allocated by
            // `hvrs_balloon_alloc_pages()` and is ours (type invariant); the caller cleared it
            // under the lock, so no one else frees it.
            unsafe { hvrs_balloon_free_page(pfn as c_ulong) };
            self.count.fetch_sub(1, Relaxed);
        }
    }
}

#[pinned_drop]
impl PinnedDrop for BalloonPages {
    fn drop(self: Pin<&mut Self>) {
        self.free_all();
    }
}
