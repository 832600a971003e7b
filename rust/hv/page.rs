// SPDX-License-Identifier: GPL-2.0

//! Pages shared with the hypervisor or the host.
//!
//! The SynIC message and event-flags pages, the VMBus monitor pages and the interrupt page are
//! single zeroed pages whose guest-physical address is handed to the other side, which then
//! reads and writes them at any time. Such memory is never accessed through a Rust reference:
//! [`SharedPage`] hands out its address and the accessors below read and write it one
//! naturally aligned word at a time, with volatile or LKMM atomic accesses.

use core::ptr::NonNull;

use kernel::{
    bindings,
    ffi::c_void,
    mm::virt::VmaNew,
    page::BorrowedPage,
    prelude::*,
    sync::atomic::{Acquire, Atomic, Full, Relaxed}, //
};

use super::ffi;

/// Size of a [`SharedPage`] in bytes (`HV_HYP_PAGE_SIZE`; the shim asserts it is `PAGE_SIZE`).
pub const SHARED_PAGE_SIZE: usize = 4096;

/// A zeroed, page-aligned page of the kernel's direct map, shared with the hypervisor.
///
/// # Invariants
///
/// `addr` is the address of a page returned by `get_zeroed_page()`, owned by this object and
/// freed on drop; it is [`SHARED_PAGE_SIZE`] bytes long and page-aligned.
pub struct SharedPage {
    addr: NonNull<u8>,
}

// SAFETY: The page is plain memory owned by the object; it can be freed from any thread.
unsafe impl Send for SharedPage {}

// SAFETY: `&SharedPage` only gives the page's addresses and word accessors whose accesses are
// volatile or atomic, which are sound under concurrent access from several CPUs and the
// hypervisor.
unsafe impl Sync for SharedPage {}

impl SharedPage {
    /// Allocates a zeroed page.
    ///
    /// # Errors
    ///
    /// [`ENOMEM`].
    pub fn new() -> Result<Self> {
        // SAFETY: The shim has no preconditions; it returns a zeroed page or NULL.
        let addr = unsafe { ffi::hvrs_alloc_zeroed_page() };
        let addr = NonNull::new(addr.cast::<u8>()).ok_or(ENOMEM)?;
        // INVARIANT: `addr` is a freshly allocated zeroed page, owned from now on.
        Ok(Self { addr })
    }

    /// Returns the page's kernel virtual address.
    pub fn as_ptr(&self) -> *mut u8 {
        self.addr.as_ptr()
    }

    /// Returns the page's guest-physical address.
    pub fn phys_addr(&self) -> u64 {
        // SAFETY: `addr` is a valid direct-map address by the type invariant.
        unsafe { ffi::hvrs_virt_to_phys(self.addr.as_ptr().cast::<c_void>()) }
    }

    /// Returns the page's frame number in Hyper-V (4 KiB) pages.
    pub fn hv_pfn(&self) -> u64 {
        self.phys_addr() >> 12
    }

    /// Returns a pointer to the `T` at byte offset `offset`, if it is in the page and aligned.
    fn field<T>(&self, offset: usize) -> Option<*mut T> {
        let end = offset.checked_add(size_of::<T>())?;
        if end > SHARED_PAGE_SIZE || offset % align_of::<T>() != 0 {
            return None;
        }
        // SAFETY: `offset + size_of::<T>() <= SHARED_PAGE_SIZE`, so the result is within the
        // page by the type invariant.
        Some(unsafe { self.addr.as_ptr().add(offset) }.cast::<T>())
    }

    /// Reads the `u8` at `offset` once (`READ_ONCE()`); `None` if out of the page.
    pub fn read_u8(&self, offset: usize) -> Option<u8> {
        let p = self.field::<u8>(offset)?;
        // SAFETY: `p` is in the page and aligned (`field`); the page is valid for reads.
        Some(unsafe { p.read_volatile() })
    }

    /// Reads the `u32` at `offset` once (`READ_ONCE()`); `None` if out of the page or
    /// misaligned.
    pub fn read_u32(&self, offset: usize) -> Option<u32> {
        let p = self.field::<u32>(offset)?;
        // SAFETY: `p` is in the page and aligned (`field`); the page is valid for reads.
        Some(unsafe { p.read_volatile() })
    }

    /// Reads the `u64` at `offset` once (`READ_ONCE()`); `None` if out of the page or
    /// misaligned.
    pub fn read_u64(&self, offset: usize) -> Option<u64> {
        let p = self.field::<u64>(offset)?;
        // SAFETY: `p` is in the page and aligned (`field`); the page is valid for reads.
        Some(unsafe { p.read_volatile() })
    }

    /// Writes the `u32` at `offset` once (`WRITE_ONCE()`); does nothing if out of the page or
    /// misaligned.
    pub fn write_u32(&self, offset: usize, value: u32) {
        if let Some(p) = self.field::<u32>(offset) {
            // SAFETY: `p` is in the page and aligned (`field`); the page is valid for writes.
            unsafe { p.write_volatile(value) };
        }
    }

    /// Atomically replaces the `u64` at `offset` with `value`, returning the old value
    /// (`xchg()`, fully ordered); `None` if out of the page or misaligned.
    pub fn xchg_u64(&self, offset: usize, value: u64) -> Option<u64> {
        let p = self.field::<u64>(offset)?;
        // SAFETY: `p` is in the page, aligned and valid for the page's lifetime, which outlives
        // the returned reference's use here; every access to shared words is volatile or
        // atomic, so there is no data race in the LKMM sense.
        let a = unsafe { Atomic::<u64>::from_ptr(p) };
        Some(a.xchg(value, Full))
    }

    /// Atomically sets bit `bit` of the `u32` at `offset` (`sync_set_bit()` on a 32-bit word);
    /// does nothing if out of the page or misaligned.
    pub fn set_bit_u32(&self, offset: usize, bit: u32) {
        let Some(p) = self.field::<u32>(offset) else {
            return;
        };
        // SAFETY: As in `xchg_u64`.
        let a = unsafe { Atomic::<u32>::from_ptr(p) };
        let mask = 1u32.checked_shl(bit).unwrap_or(0);
        let mut old = a.load(Relaxed);
        while old & mask == 0 {
            match a.cmpxchg(old, old | mask, Full) {
                Ok(_) => break,
                Err(cur) => old = cur,
            }
        }
    }

    /// Atomically replaces the `u32` at `offset` with `new` if it holds `old`
    /// (`try_cmpxchg()`, fully ordered); returns whether it did. `false` if out of the page or
    /// misaligned.
    pub fn cmpxchg_u32(&self, offset: usize, old: u32, new: u32) -> bool {
        let Some(p) = self.field::<u32>(offset) else {
            return false;
        };
        // SAFETY: As in `xchg_u64`.
        let a = unsafe { Atomic::<u32>::from_ptr(p) };
        a.cmpxchg(old, new, Full).is_ok()
    }
}

impl Drop for SharedPage {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the page came from `get_zeroed_page()` and is owned by
        // `self`; whoever shared it has stopped using it before dropping the last owner.
        unsafe { ffi::hvrs_free_page(self.addr.as_ptr().cast::<c_void>()) };
    }
}

/// A zeroed, page-aligned buffer of whole pages shared with the host (ring buffers).
///
/// Virtually contiguous (`vzalloc()`), physically scattered: the host is given the frame number
/// of each page in a GPADL. Like [`SharedPage`], it is only accessed word by word through
/// volatile or atomic accessors, never through references.
///
/// # Invariants
///
/// `ptr` is a `vzalloc()` allocation of `len` bytes, `len` a non-zero multiple of
/// [`SHARED_PAGE_SIZE`], owned by this object and freed on drop.
pub struct SharedBuffer {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: Plain memory owned by the object; it can be freed from any thread.
unsafe impl Send for SharedBuffer {}

// SAFETY: `&SharedBuffer` only gives volatile or atomic accessors, sound under concurrent use.
unsafe impl Sync for SharedBuffer {}

impl SharedBuffer {
    /// Allocates `len` zeroed bytes, a non-zero multiple of the page size.
    ///
    /// # Errors
    ///
    /// [`EINVAL`] for a bad size, [`ENOMEM`].
    pub fn new(len: usize) -> Result<Self> {
        if len == 0 || len % SHARED_PAGE_SIZE != 0 {
            return Err(EINVAL);
        }
        // SAFETY: The shim has no preconditions; it returns zeroed memory or NULL.
        let ptr = unsafe { ffi::hvrs_vzalloc(len) };
        // INVARIANT: A non-NULL result is a fresh allocation of `len` bytes.
        Ok(Self {
            ptr: NonNull::new(ptr.cast::<u8>()).ok_or(ENOMEM)?,
            len,
        })
    }

    /// Returns the size in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Returns `false`: a buffer is never empty (for the `len` convention).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Returns the buffer's kernel (vmalloc) address.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Maps pages of the buffer into `vma`, from page `vm_pgoff` of the buffer, for an `mmap`
    /// handler. Each mapped page holds a reference, so the pages outlive the buffer while they
    /// are mapped.
    ///
    /// # Errors
    ///
    /// [`EINVAL`] if the range is not inside the buffer, or what `vm_insert_page()` returns.
    pub fn map_into(&self, vma: &VmaNew) -> Result {
        let len = vma.end().checked_sub(vma.start()).ok_or(EINVAL)?;
        // SAFETY: `vm_pgoff` is set before `mmap` handlers run and not changed during setup.
        let pgoff = unsafe { (*vma.as_ptr()).vm_pgoff };
        let first = pgoff.checked_mul(SHARED_PAGE_SIZE).ok_or(EINVAL)?;
        match first.checked_add(len) {
            Some(end) if end <= self.len => {}
            _ => return Err(EINVAL),
        }
        vma.set_dontexpand();
        let mixed = vma.set_mixedmap();
        for offset in (0..len).step_by(SHARED_PAGE_SIZE) {
            // SAFETY: `first + offset < len` (checked above), so the address is inside the
            // allocation.
            let addr = unsafe { self.ptr.as_ptr().add(first + offset) };
            // SAFETY: `addr` is a vmalloc address of the live allocation.
            let page = unsafe { bindings::vmalloc_to_page(addr.cast::<c_void>()) };
            let page = NonNull::new(page).ok_or(EINVAL)?;
            // SAFETY: `page` is an order-0 page of the allocation, valid while `self` lives,
            // which outlives this borrow.
            let page = unsafe { BorrowedPage::from_raw(page) };
            mixed.vm_insert_page(vma.start() + offset, &page)?;
        }
        Ok(())
    }

    /// Returns the frame numbers (in Linux pages) of the pages, in order.
    ///
    /// # Errors
    ///
    /// [`ENOMEM`].
    pub fn pfns(&self) -> Result<KVec<u64>> {
        let mut pfns = KVec::with_capacity(self.len / SHARED_PAGE_SIZE, GFP_KERNEL)?;
        for offset in (0..self.len).step_by(SHARED_PAGE_SIZE) {
            // SAFETY: `offset < len`, so the address is inside the allocation.
            let addr = unsafe { self.ptr.as_ptr().add(offset) };
            // SAFETY: `addr` is a vmalloc address of the live allocation.
            let pfn = unsafe { bindings::vmalloc_to_pfn(addr.cast::<c_void>()) };
            pfns.push(u64::try_from(pfn).map_err(|_| EINVAL)?, GFP_KERNEL)?;
        }
        Ok(pfns)
    }

    /// Returns a pointer to the `T` at `offset`, if it is inside and aligned.
    fn field<T>(&self, offset: usize) -> Option<*mut T> {
        let end = offset.checked_add(size_of::<T>())?;
        if end > self.len || offset % align_of::<T>() != 0 {
            return None;
        }
        // SAFETY: `offset + size_of::<T>() <= len`: inside the allocation.
        Some(unsafe { self.ptr.as_ptr().add(offset) }.cast::<T>())
    }

    /// Reads the `u32` at `offset` once (`READ_ONCE()`); 0 if out of range.
    pub fn read_u32(&self, offset: usize) -> u32 {
        match self.field::<u32>(offset) {
            // SAFETY: `p` is inside and aligned; the memory is valid for reads.
            Some(p) => unsafe { p.read_volatile() },
            None => 0,
        }
    }

    /// Writes the `u32` at `offset` once (`WRITE_ONCE()`); nothing if out of range.
    pub fn write_u32(&self, offset: usize, value: u32) {
        if let Some(p) = self.field::<u32>(offset) {
            // SAFETY: `p` is inside and aligned; the memory is valid for writes.
            unsafe { p.write_volatile(value) };
        }
    }

    /// Reads the `u32` at `offset` with acquire ordering (`smp_load_acquire()`); 0 if out of
    /// range.
    pub fn load_acquire_u32(&self, offset: usize) -> u32 {
        let Some(p) = self.field::<u32>(offset) else {
            return 0;
        };
        // SAFETY: `p` is inside, aligned and valid while `self` lives; every access to the
        // shared words is volatile or atomic.
        unsafe { Atomic::<u32>::from_ptr(p) }.load(Acquire)
    }

    /// Copies `buf.len()` bytes from `offset` into `buf`; returns `false` (copying nothing) if
    /// out of range.
    pub fn read_bytes(&self, offset: usize, buf: &mut [u8]) -> bool {
        let Some(end) = offset.checked_add(buf.len()) else {
            return false;
        };
        if end > self.len {
            return false;
        }
        // SAFETY: `offset..end` is inside the allocation.
        let src = unsafe { self.ptr.as_ptr().add(offset) };
        for (i, b) in buf.iter_mut().enumerate() {
            // SAFETY: `src + i` is inside the checked range; a volatile byte read of shared
            // memory is always sound.
            *b = unsafe { src.add(i).read_volatile() };
        }
        true
    }

    /// Copies `buf` to `offset`; returns `false` (copying nothing) if out of range.
    pub fn write_bytes(&self, offset: usize, buf: &[u8]) -> bool {
        let Some(end) = offset.checked_add(buf.len()) else {
            return false;
        };
        if end > self.len {
            return false;
        }
        // SAFETY: `offset..end` is inside the allocation.
        let dst = unsafe { self.ptr.as_ptr().add(offset) };
        for (i, b) in buf.iter().enumerate() {
            // SAFETY: `dst + i` is inside the checked range.
            unsafe { dst.add(i).write_volatile(*b) };
        }
        true
    }
}

impl Drop for SharedBuffer {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `vzalloc()` (`kvfree()` frees vmalloc memory) and is owned by
        // `self`; whoever shared it has
        // revoked the host's access first (or leaks the buffer instead of dropping it).
        unsafe { bindings::kvfree(self.ptr.as_ptr().cast::<c_void>()) };
    }
}
