// SPDX-License-Identifier: GPL-2.0

//! Balloon pages: memory a balloon driver takes from the guest and gives to the host, the memory
//! counters it reports, memory it hot-adds ([`HotAddedMemory`], [`HotplugRegistration`]) and
//! free memory it reports to the hypervisor ([`PageReportingRegistration`]).
//!
//! C source: [`drivers/hv/hv_balloon.c`](srctree/drivers/hv/hv_balloon.c)
//! (`alloc_balloon_pages()`, `free_balloon_pages()`, `post_status()`, `hv_mem_hot_add()`,
//! `hv_online_page()`, `hv_memory_notifier()`, `hv_free_page_report()`); the C shims are in
//! `drivers/hv/vmbus/balloon_shim.c`.
//!
//! The C driver frees whatever page frame numbers the host names in an unballoon request. Here
//! the pages are owned by a [`BalloonPages`], which records each page it allocated in a bitmap
//! indexed by page frame number (one bit per 4 KiB page, 32 KiB for 1 GiB): only pages it gave
//! out can be given back, each at most once, and whatever is still out when it is dropped goes
//! back to the kernel. So a host that names a wrong range cannot make the guest free memory it
//! does not own.

use kernel::{
    error::to_result,
    ffi::{c_int, c_long, c_uint, c_ulong, c_void},
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc,
    },
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

// drivers/hv/vmbus/balloon_shim.c, memory hot-add.
extern "C" {
    fn hvrs_hotplug_register(
        ctx: *const c_void,
        online: unsafe extern "C" fn(ctx: *const c_void, pfn: c_ulong, order: c_uint),
        event: unsafe extern "C" fn(ctx: *const c_void, event: c_int, pfn: c_ulong, nr: c_ulong),
    ) -> c_int;
    fn hvrs_hotplug_unregister();
    fn hvrs_add_memory(start_pfn: c_ulong, nr_pages: c_ulong) -> c_int;
    fn hvrs_online_pages(pfn: c_ulong, order: c_uint);
    fn hvrs_online_offline_page(pfn: c_ulong) -> bool;
    fn hvrs_keep_page_offline(pfn: c_ulong);
    fn hvrs_pfn_section_online(pfn: c_ulong) -> bool;
}

/// `HVRS_MEM_ONLINE` of the shim: `MEM_ONLINE`.
const HVRS_MEM_ONLINE: c_int = 1;
/// `HVRS_MEM_OFFLINE` of the shim: `MEM_OFFLINE`.
const HVRS_MEM_OFFLINE: c_int = 2;
/// `HVRS_MEM_CANCEL_ONLINE` of the shim: `MEM_CANCEL_ONLINE`.
const HVRS_MEM_CANCEL_ONLINE: c_int = 3;

/// Whether the memory section of `pfn` is online (`online_section_nr(pfn_to_section_nr())`).
pub fn pfn_section_online(pfn: u64) -> bool {
    let Ok(pfn) = c_ulong::try_from(pfn) else {
        return false;
    };
    // SAFETY: Looks the section up by number, bounds-checked by `__nr_to_section()`.
    unsafe { hvrs_pfn_section_online(pfn) }
}

/// Memory this driver added to the kernel (`add_memory()`), one memory block at a time, and
/// which of its pages it keeps offline because the host does not back them.
///
/// # Invariants
///
/// Each [`AddedBlock`] in `blocks` describes memory that `add_memory()` added for this object
/// (or is about to: the block is recorded before the call and removed if it fails); a bit set
/// in its `kept` map means the page is present, was handed to the online-page callback and kept
/// offline ([`OnlinePages::online_each`]), so it is in no allocator and no one else owns it.
#[pin_data]
pub struct HotAddedMemory {
    #[pin]
    blocks: IrqSpinLock<KVec<AddedBlock>>,
}

/// One block of [`HotAddedMemory`].
struct AddedBlock {
    /// First page.
    start_pfn: u64,
    /// Pages.
    nr_pages: u64,
    /// One bit per page: kept offline by the online-page callback.
    kept: KVec<u64>,
}

impl AddedBlock {
    fn contains(&self, pfn: u64) -> bool {
        pfn >= self.start_pfn && pfn - self.start_pfn < self.nr_pages
    }

    /// The word and the bit of `pfn`, which the block contains.
    fn bit(&self, pfn: u64) -> (usize, u64) {
        let i = pfn - self.start_pfn;
        ((i / WORD_BITS) as usize, 1 << (i % WORD_BITS))
    }
}

/// Errors of [`HotAddedMemory::add_memory`]: the kernel's errno, kept so that the caller can
/// tell `EEXIST` (the guest's address map precludes it: stop hot-adding, as C) from the rest.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct AddMemoryError(pub Error);

impl HotAddedMemory {
    /// Returns an initializer of an empty record.
    pub fn new() -> impl PinInit<Self> {
        // INVARIANT: Nothing is recorded.
        pin_init!(Self {
            blocks <- crate::new_irq_spinlock!(KVec::new(), c"HotAddedMemory::blocks"),
        })
    }

    /// Adds `nr_pages` pages at `start_pfn` to the kernel (`add_memory()` with
    /// `MHP_MERGE_RESOURCE` on the node of the address), which onlines them at once if the
    /// kernel's policy says so: the pages then go through the online-page callback of the
    /// [`HotplugRegistration`] whose handler owns this object. May sleep.
    ///
    /// # Errors
    ///
    /// The kernel's: `EEXIST` if the range overlaps a resource, `EINVAL` if it is not made of
    /// whole memory blocks, `E2BIG`/`ERANGE` beyond the addressable memory, `ENOMEM`.
    pub fn add_memory(&self, start_pfn: u64, nr_pages: u64) -> Result<(), AddMemoryError> {
        let err = |e| AddMemoryError(e);
        let (Ok(start), Ok(nr)) = (c_ulong::try_from(start_pfn), c_ulong::try_from(nr_pages))
        else {
            return Err(err(ERANGE));
        };
        if start_pfn.checked_add(nr_pages).is_none() || nr_pages == 0 {
            return Err(err(EINVAL));
        }
        let words = usize::try_from(nr_pages.div_ceil(WORD_BITS)).map_err(|_| err(ENOMEM))?;
        let kept = KVec::from_elem(0u64, words, GFP_KERNEL).map_err(|_| err(ENOMEM))?;
        let block = AddedBlock {
            start_pfn,
            nr_pages,
            kept,
        };
        {
            let mut blocks = self.blocks.lock();
            if blocks
                .iter()
                .any(|b| b.start_pfn < start_pfn + nr_pages && start_pfn < b.start_pfn + b.nr_pages)
            {
                // Ours already: the kernel would say the same.
                return Err(err(EEXIST));
            }
            // Under a spinlock: no sleeping allocation.
            blocks.push(block, GFP_ATOMIC).map_err(|_| err(ENOMEM))?;
        }
        // SAFETY: Plain call; the memory is recorded above, so that the online-page callback
        // knows it is ours.
        let ret = unsafe { hvrs_add_memory(start, nr) };
        if ret == 0 {
            return Ok(());
        }
        // Not added: forget the record (no page of it was onlined).
        let old = {
            let mut blocks = self.blocks.lock();
            blocks
                .iter()
                .position(|b| b.start_pfn == start_pfn)
                .and_then(|i| blocks.remove(i).ok())
        };
        drop(old);
        Err(err(Error::from_errno(ret)))
    }

    /// Pages added so far.
    pub fn pages(&self) -> u64 {
        self.blocks.lock().iter().map(|b| b.nr_pages).sum()
    }

    /// Gives page `pfn` to the page allocator if it is a page of this memory that the
    /// online-page callback kept offline and its section is online now (`hv_page_online_one()`
    /// from `handle_pg_range()`, when the host backs pages it had not). Returns whether it did.
    pub fn online_kept_page(&self, pfn: u64) -> bool {
        let Ok(cpfn) = c_ulong::try_from(pfn) else {
            return false;
        };
        let mut blocks = self.blocks.lock();
        let Some(b) = blocks.iter_mut().find(|b| b.contains(pfn)) else {
            return false;
        };
        let (w, bit) = b.bit(pfn);
        let Some(word) = b.kept.get_mut(w) else {
            return false;
        };
        if *word & bit == 0 || !pfn_section_online(pfn) {
            return false;
        }
        *word &= !bit;
        // SAFETY: The page is present and offline and no one owns it (type invariant: its bit
        // was set); its section is online, so giving it to the allocator is what onlining it
        // would have done. The bit is cleared under the lock, so this happens once.
        unsafe { hvrs_online_offline_page(cpfn) }
    }

    /// Forgets the kept pages of `start..start + nr` (the kernel took them offline).
    fn forget_kept(&self, start: u64, nr: u64) {
        let end = start.saturating_add(nr);
        let mut blocks = self.blocks.lock();
        for b in blocks.iter_mut() {
            let s = start.max(b.start_pfn);
            let e = end.min(b.start_pfn + b.nr_pages);
            for pfn in s..e {
                let (w, bit) = b.bit(pfn);
                if let Some(word) = b.kept.get_mut(w) {
                    *word &= !bit;
                }
            }
        }
    }

    /// Whether all of `pfn..pfn + nr` is in one recorded block.
    fn holds(&self, pfn: u64, nr: u64) -> bool {
        let Some(last) = pfn.checked_add(nr.saturating_sub(1)) else {
            return false;
        };
        self.blocks
            .lock()
            .iter()
            .any(|b| b.contains(pfn) && b.contains(last))
    }

    /// Forgets that `pfn` was kept offline.
    fn unkeep(&self, pfn: u64) {
        self.forget_kept(pfn, 1);
    }

    /// Records `pfn` as kept offline.
    fn keep(&self, pfn: u64) {
        let mut blocks = self.blocks.lock();
        if let Some(b) = blocks.iter_mut().find(|b| b.contains(pfn)) {
            let (w, bit) = b.bit(pfn);
            if let Some(word) = b.kept.get_mut(w) {
                // INVARIANT: The caller keeps the page offline; it is present (being onlined).
                *word |= bit;
            }
        }
    }
}

/// Pages of [`HotAddedMemory`] the kernel is onlining, given to
/// [`HotplugHandler::online_pages`] (`online_page_callback_t`). If the handler does not call
/// [`OnlinePages::online_each`], they are all onlined as the kernel would (on drop).
pub struct OnlinePages<'a> {
    start_pfn: u64,
    order: u32,
    memory: &'a HotAddedMemory,
    done: bool,
}

impl OnlinePages<'_> {
    /// The first page.
    pub fn start_pfn(&self) -> u64 {
        self.start_pfn
    }

    /// The number of pages.
    pub fn count(&self) -> u64 {
        1 << self.order
    }

    /// Onlines the pages one by one (`hv_bring_pgs_online()`): a page for which `backed`
    /// returns `true` goes to the page allocator, the others stay offline until
    /// [`HotAddedMemory::online_kept_page`]. Returns the number onlined.
    pub fn online_each(mut self, mut backed: impl FnMut(u64) -> bool) -> u64 {
        self.done = true;
        let mut onlined = 0;
        for pfn in self.start_pfn..self.start_pfn + self.count() {
            // `pfn` came from the kernel as a `c_ulong`.
            let cpfn = pfn as c_ulong;
            if backed(pfn) {
                // Kept offline by an onlining that was cancelled, maybe: not any more.
                self.memory.unkeep(pfn);
                // SAFETY: The kernel is onlining the page (it passed it to the callback): it
                // is present, offline and ours to give to the allocator.
                if unsafe { hvrs_online_offline_page(cpfn) } {
                    onlined += 1;
                }
            } else {
                // SAFETY: As above; the page stays offline and is recorded as such.
                unsafe { hvrs_keep_page_offline(cpfn) };
                self.memory.keep(pfn);
            }
        }
        onlined
    }
}

impl Drop for OnlinePages<'_> {
    fn drop(&mut self) {
        if !self.done {
            // SAFETY: The kernel is onlining these pages; this is its default onlining.
            unsafe { hvrs_online_pages(self.start_pfn as c_ulong, self.order) };
        }
    }
}

/// A memory hotplug event ([`HotplugHandler::memory_event`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MemoryEvent {
    /// A memory block was onlined or its onlining cancelled (`MEM_ONLINE`,
    /// `MEM_CANCEL_ONLINE`).
    Online,
    /// A memory block was taken offline (`MEM_OFFLINE`).
    Offline {
        /// First page.
        start_pfn: u64,
        /// Pages.
        nr_pages: u64,
    },
}

/// The hot-add side of a balloon driver: what to do with the pages of memory it added when the
/// kernel onlines them, and the memory events.
pub trait HotplugHandler: Send + Sync {
    /// The memory this handler added.
    fn hot_added(&self) -> &HotAddedMemory;

    /// The kernel onlines pages of [`HotplugHandler::hot_added`] (memory added by others is
    /// onlined as usual without this call). Called in process context with memory hotplug
    /// locked: do not add memory from here.
    fn online_pages(&self, pages: OnlinePages<'_>);

    /// A memory block of any memory changed state. Process context.
    fn memory_event(&self, event: MemoryEvent);
}

/// The online-page callback and memory notifier of a [`HotplugHandler`]
/// (`set_online_page_callback()`, `register_memory_notifier()`); removed on drop, after which
/// neither callback runs. There is one at a time in the system.
///
/// # Invariants
///
/// The shim holds `Arc::as_ptr(&handler)` as the context of its callbacks until drop.
pub struct HotplugRegistration<T: HotplugHandler> {
    handler: Arc<T>,
}

impl<T: HotplugHandler> HotplugRegistration<T> {
    /// Installs the callbacks of `handler`.
    ///
    /// # Errors
    ///
    /// `EBUSY` if a registration exists; `EINVAL` if another driver set an online-page
    /// callback; the notifier's errors.
    pub fn register(handler: Arc<T>) -> Result<Self> {
        let ctx = Arc::as_ptr(&handler).cast::<c_void>();
        // SAFETY: `ctx` stays valid until `drop` unregisters: `Self` holds the `Arc`.
        to_result(unsafe {
            hvrs_hotplug_register(ctx, Self::online_trampoline, Self::event_trampoline)
        })?;
        // INVARIANT: The shim holds `ctx`.
        Ok(Self { handler })
    }

    /// The handler.
    pub fn handler(&self) -> &Arc<T> {
        &self.handler
    }

    /// # Safety
    ///
    /// `ctx` is the context of a live registration of `T`; the kernel is onlining
    /// `2^order` pages at `pfn`.
    unsafe extern "C" fn online_trampoline(ctx: *const c_void, pfn: c_ulong, order: c_uint) {
        // SAFETY: `ctx` points at the `T` the registration holds (the caller's guarantee).
        let handler = unsafe { &*ctx.cast::<T>() };
        let pfn = pfn as u64;
        let memory = handler.hot_added();
        let pages = OnlinePages {
            start_pfn: pfn,
            order,
            memory,
            done: false,
        };
        if memory.holds(pfn, pages.count()) {
            handler.online_pages(pages);
        }
        // Else dropped: onlined as the kernel does.
    }

    /// # Safety
    ///
    /// `ctx` is the context of a live registration of `T`.
    unsafe extern "C" fn event_trampoline(
        ctx: *const c_void,
        event: c_int,
        pfn: c_ulong,
        nr: c_ulong,
    ) {
        // SAFETY: `ctx` points at the `T` the registration holds (the caller's guarantee).
        let handler = unsafe { &*ctx.cast::<T>() };
        match event {
            HVRS_MEM_ONLINE => handler.memory_event(MemoryEvent::Online),
            HVRS_MEM_CANCEL_ONLINE => {
                // The pages are offline memory again: none is kept by the callback any more.
                handler.hot_added().forget_kept(pfn as u64, nr as u64);
                handler.memory_event(MemoryEvent::Online);
            }
            HVRS_MEM_OFFLINE => {
                handler.hot_added().forget_kept(pfn as u64, nr as u64);
                handler.memory_event(MemoryEvent::Offline {
                    start_pfn: pfn as u64,
                    nr_pages: nr as u64,
                });
            }
            _ => {}
        }
    }
}

impl<T: HotplugHandler> Drop for HotplugRegistration<T> {
    fn drop(&mut self) {
        // SAFETY: Removes the callbacks (type invariant: they are ours), waiting for those in
        // progress; `handler` is dropped after.
        unsafe { hvrs_hotplug_unregister() };
    }
}

// drivers/hv/vmbus/balloon_shim.c, free page reporting.
extern "C" {
    fn hvrs_cold_discard_hint_supported() -> bool;
    fn hvrs_page_reporting_register(
        ctx: *const c_void,
        report: unsafe extern "C" fn(
            ctx: *const c_void,
            pfns: *const c_ulong,
            lens: *const c_ulong,
            n: c_uint,
        ) -> c_int,
    ) -> c_int;
    fn hvrs_page_reporting_unregister();
    fn hvrs_page_reporting_order() -> c_uint;
    fn hvrs_page_reporting_order_pageblock() -> c_uint;
    fn hvrs_cold_discard_hint(ranges: *const u64, n: c_uint, status: *mut u64) -> c_int;
}

/// Most ranges the kernel reports at once (`PAGE_REPORTING_CAPACITY`).
pub const PAGE_REPORTING_CAPACITY: usize = 32;

/// Whether the hypervisor takes cold-discard memory hints
/// (`hv_query_ext_cap(HV_EXT_CAPABILITY_MEMORY_COLD_DISCARD_HINT)`, an extended hypercall
/// that is only made if the partition may make extended hypercalls).
pub fn cold_discard_hint_supported() -> bool {
    // SAFETY: Plain call; `hv_query_ext_cap()` caches its answer.
    unsafe { hvrs_cold_discard_hint_supported() }
}

/// The order of the free blocks page reporting reports (`page_reporting_order`).
pub fn page_reporting_order() -> u32 {
    // SAFETY: Reads a variable with `READ_ONCE()`.
    unsafe { hvrs_page_reporting_order() }
}

/// Makes page reporting report whole pageblocks only (`page_reporting_order =
/// pageblock_order`); returns that order.
pub fn page_reporting_order_pageblock() -> u32 {
    // SAFETY: Writes a variable with `WRITE_ONCE()`; page reporting reads it each time.
    unsafe { hvrs_page_reporting_order_pageblock() }
}

/// Sends a cold-discard hint for `ranges` (`union hv_gpa_page_range`s, see
/// `hv_proto::dm::heat_hint`) with `HvExtCallMemoryHeatHint`; returns the hypercall status.
///
/// # Errors
///
/// `EINVAL` for more ranges than an input page holds, `ENOSPC` if this CPU has no hypercall
/// input page.
pub fn cold_discard_hint(ranges: &[u64]) -> Result<u64> {
    let n = c_uint::try_from(ranges.len()).map_err(|_| EINVAL)?;
    let mut status = 0u64;
    // SAFETY: `ranges` is valid for reads of `n` values and `status` for a write; the shim
    // bounds `n` by the input page.
    to_result(unsafe { hvrs_cold_discard_hint(ranges.as_ptr(), n, &mut status) })?;
    Ok(status)
}

/// Free memory the kernel's page reporting hands to [`FreePageReporter::report`]: at most
/// [`PAGE_REPORTING_CAPACITY`] ranges of `(page frame number, bytes)`, free and isolated while
/// the report runs.
pub struct FreePages<'a> {
    pfns: &'a [c_ulong],
    lens: &'a [c_ulong],
}

impl FreePages<'_> {
    /// The number of ranges.
    pub fn len(&self) -> usize {
        self.pfns.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.pfns.is_empty()
    }

    /// The ranges, `(page frame number, bytes)`.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.pfns
            .iter()
            .zip(self.lens.iter())
            .map(|(p, l)| (*p as u64, *l as u64))
    }
}

/// A driver that reports free memory to the hypervisor.
pub trait FreePageReporter: Send + Sync {
    /// Reports `pages` (`page_reporting_dev_info.report`); an error makes the kernel try them
    /// again later. Process context (a work item of page reporting).
    fn report(&self, pages: FreePages<'_>) -> Result;
}

/// A registration with the kernel's free page reporting (`page_reporting_register()`), removed
/// on drop (`page_reporting_unregister()`, which waits for a report in progress). There is one
/// at a time in the system.
///
/// # Invariants
///
/// The shim holds `Arc::as_ptr(&reporter)` as the context of its callback until drop.
pub struct PageReportingRegistration<T: FreePageReporter> {
    reporter: Arc<T>,
}

impl<T: FreePageReporter> PageReportingRegistration<T> {
    /// Registers `reporter`, with the order left to the `page_reporting.page_reporting_order`
    /// parameter (`PAGE_REPORTING_ORDER_UNSPECIFIED`).
    ///
    /// # Errors
    ///
    /// `EBUSY` if a page reporting device exists.
    pub fn register(reporter: Arc<T>) -> Result<Self> {
        let ctx = Arc::as_ptr(&reporter).cast::<c_void>();
        // SAFETY: `ctx` stays valid until `drop` unregisters: `Self` holds the `Arc`.
        to_result(unsafe { hvrs_page_reporting_register(ctx, Self::report_trampoline) })?;
        // INVARIANT: The shim holds `ctx`.
        Ok(Self { reporter })
    }

    /// # Safety
    ///
    /// `ctx` is the context of a live registration of `T`; `pfns` and `lens` are valid for
    /// reads of `n` values each.
    unsafe extern "C" fn report_trampoline(
        ctx: *const c_void,
        pfns: *const c_ulong,
        lens: *const c_ulong,
        n: c_uint,
    ) -> c_int {
        // SAFETY: `ctx` points at the `T` the registration holds (the caller's guarantee).
        let reporter = unsafe { &*ctx.cast::<T>() };
        let n = (n as usize).min(PAGE_REPORTING_CAPACITY);
        // SAFETY: Valid for reads of `n` values for the call (the caller's guarantee).
        let pfns = unsafe { core::slice::from_raw_parts(pfns, n) };
        // SAFETY: As above.
        let lens = unsafe { core::slice::from_raw_parts(lens, n) };
        match reporter.report(FreePages { pfns, lens }) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }
}

impl<T: FreePageReporter> Drop for PageReportingRegistration<T> {
    fn drop(&mut self) {
        // SAFETY: Unregisters (type invariant: the registration is ours), waiting for the report
        // in progress; `reporter` is dropped after.
        unsafe { hvrs_page_reporting_unregister() };
        let _ = &self.reporter;
    }
}
