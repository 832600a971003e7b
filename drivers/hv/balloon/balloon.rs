// SPDX-License-Identifier: GPL-2.0

//! Hyper-V Dynamic Memory: the balloon driver.
//!
//! C source: [`drivers/hv/hv_balloon.c`](srctree/drivers/hv/hv_balloon.c).
//!
//! The driver binds the Dynamic Memory device (class `HV_DM`), opens its channel with 20 KiB
//! rings, negotiates the protocol version (2.0, then 1.0, then 0.3 as the last attempt) and
//! reports its capabilities (ballooning, hot-add, the hot-add alignment), then:
//!
//! - reports the guest's memory pressure to the host every second, once
//!   `pressure_report_delay` reports have been skipped (a delayed work item, where C has a
//!   kernel thread);
//! - answers a balloon request by allocating pages (2 MiB at a time, then 4 KiB ones), down to
//!   the balloon floor, and sending their ranges in one or more balloon responses (a work item);
//! - answers an unballoon request by giving the named pages back (in the channel handler);
//! - answers a hot-add request (a work item) by adding the memory to the kernel a memory block
//!   at a time (`add_memory()`) and onlining, through its online-page callback, only the pages
//!   the host backs; the region bookkeeping is `hv_proto::dm::hot_add`, the kernel side
//!   [`HotAddedMemory`] and [`HotplugRegistration`];
//! - when the hypervisor takes cold-discard hints, reports free memory through the kernel's page
//!   reporting ([`PageReportingRegistration`], `HvExtCallMemoryHeatHint`), falls back to whole
//!   pageblocks when the hypervisor refuses smaller ranges, and stops after repeated hypercall
//!   failures; at unbind it logs the ranges and pages it reported (tested against the project's
//!   QEMU with `hv-ext-hypercalls=on`, the `balloon-fpr` suite).
//!
//! Unlike the C driver, it can be unloaded: every ballooned page goes back to the kernel;
//! hot-added memory stays online (memory is never removed) and the online-page callback is
//! removed at unbind, as C's `balloon_remove()` does. And it gives back only pages it ballooned
//! out ([`BalloonPages`]), whatever ranges the host names.
//!
//! The debugfs file `hv-balloon` shows the C driver's statistics.
//!
//! Not implemented: hibernation (suspend/resume).

// Unsafe code is only in `params`, which reads the C parameters, and `debugfs`.
#![deny(unsafe_code)]

use core::mem::size_of;

use kernel::{
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc, Mutex, SpinLock,
    },
    time::{delay::fsleep, msecs_to_jiffies, Delta, Instant, Monotonic},
    workqueue::{
        impl_has_delayed_work, impl_has_work, new_delayed_work, new_work, DelayedWork, Work,
        WorkItem,
    },
};
use vmbus::{
    hv::{
        balloon::{
            cold_discard_hint, cold_discard_hint_supported, mem_available_pages,
            memory_block_size_bytes, page_reporting_order, page_reporting_order_pageblock,
            pfn_section_online, total_ram_pages, vm_memory_committed_pages, AddMemoryError,
            BalloonPages, FreePageReporter, FreePages, HotAddedMemory, HotplugHandler,
            HotplugRegistration, MemoryEvent, OnlinePages, PageReportingRegistration,
            PAGE_REPORTING_CAPACITY,
        },
        channel::{Channel, ChannelHandler, ChannelIo, OpenChannel, OpenParams},
        device::Device,
        driver,
        sync::{Completion, IrqSpinLock},
        system,
        workqueue::{cancel_delayed_work_sync, cancel_work_sync, system_percpu},
    },
    pr_err_ratelimited,
    proto::{
        dm::{
            balloon_request_pages, balloon_response_header, capabilities_report,
            compute_balloon_floor, dynmem_major_version, dynmem_minor_version,
            heat_hint::{
                gpa_page_range, hv_result, hv_result_success, HV_STATUS_INVALID_PARAMETER,
            },
            hot_add::{hot_add_result, Begin, HotAddRequest, HotAddState},
            hot_add_response, pages_committed, parse_host_message, status_report,
            unballoon_response, BalloonLimit, DmCaps, DmHostMessage, DmInfoType, DmMemPageRange,
            DmNegotiationStep, DmVersionNegotiation, DM_BALLOON_RESPONSE_MAX_RANGES,
            DM_RECV_BUFFER_SIZE, DM_RING_SIZE, PAGES_IN_2M,
        },
        guid::HV_DM,
        ring::PacketType,
    },
};
use zerocopy::IntoBytes;

/// The module parameters, declared in `balloon_params.c`.
#[allow(unsafe_code)]
mod params {
    extern "C" {
        fn hvrs_balloon_hot_add() -> bool;
        fn hvrs_balloon_disable_hot_add();
        fn hvrs_balloon_report_delayed() -> bool;
    }

    /// `hot_add`: try memory hot-add.
    pub(crate) fn hot_add() -> bool {
        // SAFETY: Reads a module parameter with `READ_ONCE()`; no preconditions.
        unsafe { hvrs_balloon_hot_add() }
    }

    /// Clears `hot_add` (hibernation allowed).
    pub(crate) fn disable_hot_add() {
        // SAFETY: Writes a module parameter with `WRITE_ONCE()`; no preconditions.
        unsafe { hvrs_balloon_disable_hot_add() }
    }

    /// Counts `pressure_report_delay` down by one if it is not 0; returns `true` if it was
    /// not, i.e. this report is to be skipped.
    pub(crate) fn report_delayed() -> bool {
        // SAFETY: Reads and writes a module parameter with `READ_ONCE()`/`WRITE_ONCE()`.
        unsafe { hvrs_balloon_report_delayed() }
    }
}

/// The debugfs file `hv-balloon`, made by `balloon_debugfs.c` with the C driver's format.
#[allow(unsafe_code)]
mod debugfs {
    use kernel::{ffi::c_void, sync::Arc};

    use super::Balloon;

    /// The numbers of the file (mirrors `struct hvrs_balloon_stats` in `balloon_debugfs.c`).
    #[repr(C)]
    pub(crate) struct Stats {
        /// Protocol version (`host_version`).
        pub(crate) version: u32,
        /// A `DmState`.
        pub(crate) state: u32,
        /// Pages hot-added.
        pub(crate) pages_added: u32,
        /// Hot-added pages online.
        pub(crate) pages_onlined: u32,
        /// Pages given to the host.
        pub(crate) pages_ballooned: u32,
        /// What the status reports give as committed (`get_pages_committed()`).
        pub(crate) pages_committed: u64,
        /// The host's maximum, in pages.
        pub(crate) max_dynamic_page_count: u64,
        /// Ballooning enabled.
        pub(crate) balloon: bool,
        /// Hot-add announced.
        pub(crate) hot_add: bool,
    }

    extern "C" {
        fn hvrs_balloon_debugfs_create(
            ctx: *const c_void,
            fill: unsafe extern "C" fn(ctx: *const c_void, st: *mut Stats),
        ) -> *mut c_void;
        fn hvrs_balloon_debugfs_remove(d: *mut c_void);
    }

    /// Fills `st` for a read of the file.
    ///
    /// # Safety
    ///
    /// `ctx` is the `Balloon` of a live [`File`]; `st` is valid for writes.
    unsafe extern "C" fn fill(ctx: *const c_void, st: *mut Stats) {
        // SAFETY: `ctx` points at the `Balloon` the `File` holds a reference to, and the file
        // is removed (waiting for reads in progress) before that reference is dropped.
        let balloon = unsafe { &*ctx.cast::<Balloon>() };
        // SAFETY: `st` is valid for writes (the caller's stack).
        unsafe { st.write(balloon.stats()) };
    }

    /// The file; removed on drop.
    ///
    /// # Invariants
    ///
    /// `ptr` is NULL or what `hvrs_balloon_debugfs_create()` returned for `balloon`, not yet
    /// removed.
    pub(crate) struct File {
        ptr: *mut c_void,
        balloon: Arc<Balloon>,
    }

    // SAFETY: The file may be removed from any task.
    unsafe impl Send for File {}

    impl File {
        /// Creates `/sys/kernel/debug/hv-balloon` for `balloon`; without memory for it, there
        /// is no file (as in C, debugfs failures are ignored).
        pub(crate) fn new(balloon: Arc<Balloon>) -> Self {
            let ctx = Arc::as_ptr(&balloon).cast::<c_void>();
            // SAFETY: `ctx` stays valid until `drop` removes the file: `self` keeps `balloon`.
            let ptr = unsafe { hvrs_balloon_debugfs_create(ctx, fill) };
            // INVARIANT: `ptr` is what the shim returned.
            Self { ptr, balloon }
        }
    }

    impl Drop for File {
        fn drop(&mut self) {
            // SAFETY: `ptr` is NULL or a live file (type invariant); removing it waits for the
            // reads in progress, after which `fill` is never called with `balloon` again.
            unsafe { hvrs_balloon_debugfs_remove(self.ptr) };
            let _ = &self.balloon;
        }
    }
}

/// Prints a warning unless this call site printed too many recently
/// (`pr_warn_ratelimited()`).
macro_rules! pr_warn_ratelimited {
    ($($arg:tt)*) => {{
        static LIMIT: vmbus::hv::ratelimit::Ratelimit = vmbus::hv::ratelimit::Ratelimit::new();
        if LIMIT.allow() {
            pr_warn!($($arg)*);
        }
    }};
}

/// `EPROTO`, which `kernel::error::code` lacks: the host refused every version or the
/// capabilities.
fn eproto() -> Error {
    Error::from_errno(-(kernel::bindings::EPROTO as i32))
}

/// How long the probe waits for each answer of the host (5 s, as C).
const HOST_ANSWER_TIMEOUT: Delta = Delta::from_secs(5);

/// The period of the status reports and of their work item (1 s, `HZ`).
const STATUS_PERIOD_MS: u32 = 1000;

/// The hot-add chunk when the kernel has no memory hotplug (128 MiB, as C).
const DEFAULT_HA_CHUNK_BYTES: u64 = 128 << 20;

/// The driver's state (`enum hv_dm_state`; the numbers are C's, shown by its debugfs file).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u32)]
enum DmState {
    Initializing = 0,
    Initialized = 1,
    BalloonUp = 2,
    BalloonDown = 3,
    HotAdd = 4,
    InitError = 5,
}

/// The work items of [`Balloon`].
const BALLOON_UP: u64 = 0;
const STATUS: u64 = 1;
const HOT_ADD: u64 = 2;

/// How long a hot-add waits for each added memory block to be onlined (5 s, as C).
const ONLINE_TIMEOUT_MS: u32 = 5000;

/// The driver's state for one device (`struct hv_dynmem_device`).
#[pin_data]
struct Balloon {
    channel: Arc<Channel>,
    /// A [`DmState`].
    state: Atomic<u32>,
    /// The version of the last request, the negotiated one once accepted.
    version: Atomic<u32>,
    /// The guest's transaction ids (`trans_id`); each message takes the next one.
    trans_id: Atomic<u32>,
    /// Set on unbind: no more work is queued.
    stopping: Atomic<bool>,
    /// Whether hibernation is allowed (`allow_hibernation`): balloon requests are ignored.
    allow_hibernation: bool,
    /// The host's maximum for the guest's memory, in pages (`max_dynamic_page_count`).
    max_dynamic_page_count: Atomic<u64>,
    /// Pages requested by the last balloon request (`balloon_wrk.num_pages`).
    balloon_request: Atomic<u32>,
    /// The pages given to the host.
    #[pin]
    pages: BalloonPages,
    /// Whether hot-add requests are honoured (`do_hot_add`): the `hot_add` parameter at probe,
    /// cleared for good when `add_memory()` says the address map precludes it (`EEXIST`).
    do_hot_add: Atomic<bool>,
    /// Memory blocks added and the pages kept offline in them.
    #[pin]
    hot_added: HotAddedMemory,
    /// The hot-add regions (`ha_region_list` under `ha_lock`).
    #[pin]
    ha: SpinLock<KBox<HotAddState>>,
    /// The request for the hot-add work (`ha_wrk`); the channel handler sets it (softirq).
    #[pin]
    ha_request: IrqSpinLock<Option<HotAddRequest>>,
    /// Memory blocks onlined so far (any memory), which a hot-add waits for (`ol_waitevent`).
    online_events: Atomic<u64>,
    /// Free page reporting, when the hypervisor takes cold-discard hints (`pr_dev_info`).
    /// Taken on unbind, or by the status work after repeated failures.
    #[pin]
    page_reporting: Mutex<Option<PageReportingRegistration<Balloon>>>,
    /// Failed cold-discard hypercalls, counted as C counts `hv_hypercall_multi_failure`.
    hint_failures: Atomic<u32>,
    /// Free ranges reported to the hypervisor (logged on unbind).
    ranges_hinted: Atomic<u64>,
    /// The 4 KiB pages of those ranges (logged on unbind).
    pages_hinted: Atomic<u64>,
    /// Where the version negotiation stands; only the channel handler takes it.
    #[pin]
    negotiation: SpinLock<DmVersionNegotiation>,
    /// Completed when the version negotiation ended (`host_event`, first use).
    #[pin]
    version_event: Completion,
    /// Completed when the host answered the capabilities (`host_event`, second use).
    #[pin]
    caps_event: Completion,
    /// The receive buffer; only the channel handler takes it.
    #[pin]
    recv: SpinLock<KVec<u8>>,
    /// The ranges of one balloon response; only the balloon work takes it.
    #[pin]
    ranges: Mutex<KVec<DmMemPageRange>>,
    /// When the last status report was sent (`last_post_time`); serializes the reports.
    #[pin]
    last_post: Mutex<Option<Instant<Monotonic>>>,
    /// Allocates the pages of a balloon request (`balloon_wrk`).
    #[pin]
    balloon_work: Work<Balloon, BALLOON_UP>,
    /// Posts a status report every second (the C driver's `dm_thread_func` thread).
    #[pin]
    status_work: DelayedWork<Balloon, STATUS>,
    /// Answers a hot-add request (`ha_wrk`).
    #[pin]
    ha_work: Work<Balloon, HOT_ADD>,
}

impl_has_work! {
    impl HasWork<Self, BALLOON_UP> for Balloon { self.balloon_work }
}

impl_has_delayed_work! {
    impl HasDelayedWork<Self, STATUS> for Balloon { self.status_work }
}

impl_has_work! {
    impl HasWork<Self, HOT_ADD> for Balloon { self.ha_work }
}

impl WorkItem<HOT_ADD> for Balloon {
    type Pointer = Arc<Balloon>;

    fn run(this: Arc<Balloon>) {
        this.hot_add();
    }
}

/// The count of `hint_failures` at which page reporting is turned off (`HV_MAX_FAILURES`).
const HV_MAX_FAILURES: u32 = 2;

impl FreePageReporter for Balloon {
    /// Tells the hypervisor that `pages` are free and may be discarded (`hv_free_page_report()`).
    fn report(&self, pages: FreePages<'_>) -> Result {
        let mut ranges = [0u64; PAGE_REPORTING_CAPACITY];
        let mut n = 0;
        let mut bytes = 0u64;
        for ((pfn, len), slot) in pages.iter().zip(ranges.iter_mut()) {
            // Page reporting gives whole, aligned power-of-two blocks; refuse anything else.
            *slot = gpa_page_range(pfn, len).ok_or(EINVAL)?;
            n += 1;
            bytes = bytes.saturating_add(len);
        }
        let status = cold_discard_hint(ranges.get(..n).unwrap_or(&[]))?;
        if hv_result_success(status) {
            self.ranges_hinted.add(n as u64, Relaxed);
            // 4 KiB pages (`HV_HYP_PAGE_SIZE`).
            self.pages_hinted.add(bytes / 4096, Relaxed);
            return Ok(());
        }
        pr_err!(
            "Cold memory discard hypercall failed with status {:x}\n",
            status
        );
        if self.hint_failures.load(Relaxed) > 0 {
            self.hint_failures.add(1, Relaxed);
        }
        if hv_result(status) == HV_STATUS_INVALID_PARAMETER {
            pr_err!("Underlying Hyper-V does not support order less than 9. Hypercall failed\n");
            let order = page_reporting_order_pageblock();
            pr_err!("Defaulting to page_reporting_order {}\n", order);
            self.hint_failures.add(1, Relaxed);
        }
        Err(EINVAL)
    }
}

impl HotplugHandler for Balloon {
    fn hot_added(&self) -> &HotAddedMemory {
        &self.hot_added
    }

    /// Onlines the backed pages of a hot-add region, keeps the others offline
    /// (`hv_online_page()`).
    fn online_pages(&self, pages: OnlinePages<'_>) {
        let mut ha = self.ha.lock();
        let Some(region) = ha.region_of_online(pages.start_pfn(), pages.count()) else {
            // Not in a region (any more): onlined as usual when `pages` drops.
            return;
        };
        let onlined = pages.online_each(|pfn| ha.is_backed(region, pfn));
        ha.pages_onlined += onlined;
    }

    /// Counts the onlined memory blocks and takes offlined pages off the online count
    /// (`hv_memory_notifier()`).
    fn memory_event(&self, event: MemoryEvent) {
        match event {
            MemoryEvent::Online => {
                self.online_events.add(1, Relaxed);
            }
            MemoryEvent::Offline {
                start_pfn,
                nr_pages,
            } => {
                self.ha.lock().pages_offlined(start_pfn, nr_pages);
            }
        }
    }
}

impl WorkItem<BALLOON_UP> for Balloon {
    type Pointer = Arc<Balloon>;

    fn run(this: Arc<Balloon>) {
        this.balloon_up();
    }
}

impl WorkItem<STATUS> for Balloon {
    type Pointer = Arc<Balloon>;

    /// Posts the status, then comes back in a second (`dm_thread_func()`).
    fn run(this: Arc<Balloon>) {
        if this.stopping.load(Relaxed) {
            return;
        }
        this.post_status();
        // Not from the report callback: unregistering waits for it (C's `dm_thread_func()`).
        if this.hint_failures.load(Relaxed) >= HV_MAX_FAILURES {
            pr_err!(
                "Multiple failures in cold memory discard hypercall, disabling page reporting\n"
            );
            drop(this.page_reporting.lock().take());
            this.hint_failures.store(0, Relaxed);
        }
        let period = msecs_to_jiffies(STATUS_PERIOD_MS);
        drop(system_percpu().enqueue_delayed::<_, STATUS>(this, period));
    }
}

impl Balloon {
    fn state(&self) -> u32 {
        self.state.load(Relaxed)
    }

    fn set_state(&self, state: DmState) {
        self.state.store(state as u32, Relaxed);
    }

    /// Takes the next transaction id (`atomic_inc_return(&trans_id)`).
    fn next_trans_id(&self) -> u32 {
        self.trans_id.fetch_add(1, Relaxed).wrapping_add(1)
    }

    /// The committed pages reported to the host (`get_pages_committed()`), with the hot-added
    /// pages that are not online.
    fn pages_committed(&self) -> u64 {
        let (added, onlined) = {
            let ha = self.ha.lock();
            (ha.pages_added, ha.pages_onlined)
        };
        pages_committed(
            vm_memory_committed_pages(),
            self.pages.count(),
            added,
            onlined,
            compute_balloon_floor(total_ram_pages()),
        )
    }

    /// The numbers of the debugfs file (`hv_balloon_debug_show()`).
    fn stats(&self) -> debugfs::Stats {
        let (added, onlined) = {
            let ha = self.ha.lock();
            (ha.pages_added, ha.pages_onlined)
        };
        debugfs::Stats {
            version: self.version.load(Relaxed),
            state: self.state(),
            pages_added: u32::try_from(added).unwrap_or(u32::MAX),
            pages_onlined: u32::try_from(onlined).unwrap_or(u32::MAX),
            pages_ballooned: u32::try_from(self.pages.count()).unwrap_or(u32::MAX),
            pages_committed: self.pages_committed(),
            max_dynamic_page_count: self.max_dynamic_page_count.load(Relaxed),
            balloon: true,
            hot_add: true,
        }
    }

    /// Sends the memory pressure to the host (`post_status()`): available and committed
    /// pages, at most once a second, after `pressure_report_delay` skipped reports. May sleep.
    fn post_status(&self) {
        if params::report_delayed() {
            return;
        }
        let mut last_post = self.last_post.lock();
        let now = Instant::<Monotonic>::now();
        if let Some(last) = *last_post {
            if now - last <= Delta::from_millis(STATUS_PERIOD_MS.into()) {
                return;
            }
        }
        let trans_id = self.next_trans_id();
        let avail = u64::try_from(mem_available_pages()).unwrap_or(0);
        let status = status_report(trans_id, avail, self.pages_committed());
        // As C: another message took a transaction id meanwhile, skip this report.
        if trans_id != self.trans_id.load(Relaxed) {
            return;
        }
        *last_post = Some(Instant::<Monotonic>::now());
        // As C, a report that does not go out is not retried: the next one comes in a second.
        let _ = self.channel.send_inband(&[status.as_bytes()], 0, false);
    }

    /// Answers a balloon request (`balloon_up()`): allocates the pages, 2 MiB at a time while
    /// that works, then 4 KiB ones, never below the balloon floor, and sends their ranges in
    /// balloon responses of at most one page each, the last one without `more_pages`. May
    /// sleep; runs as a work item.
    fn balloon_up(&self) {
        let requested = self.balloon_request.load(Relaxed);
        let floor = compute_balloon_floor(total_ram_pages());
        let (mut num_pages, limit) = balloon_request_pages(mem_available_pages(), requested, floor);
        if let Some(limit) = limit {
            pr_info!(
                "Balloon request will be partially fulfilled. {}\n",
                match limit {
                    BalloonLimit::NotEnoughMemory => "Not enough memory.",
                    BalloonLimit::FloorReached => "Balloon floor reached.",
                }
            );
        }
        let mut alloc_unit = PAGES_IN_2M;
        let mut num_ballooned = 0u32;
        let mut ranges = self.ranges.lock();
        loop {
            num_pages -= num_ballooned;
            let (count, ballooned) = self.alloc_pages(num_pages, alloc_unit, &mut ranges[..]);
            num_ballooned = ballooned;
            if alloc_unit != 1 && num_ballooned == 0 {
                alloc_unit = 1;
                continue;
            }
            let stopping = self.stopping.load(Relaxed);
            let done = num_ballooned == 0 || num_ballooned == num_pages || stopping;
            if done {
                pr_debug!(
                    "Ballooned {} out of {} requested pages.\n",
                    num_pages,
                    requested
                );
                self.set_state(DmState::Initialized);
            }
            let sent = ranges.get(..count).unwrap_or(&[]);
            if let Err(e) = self.send_balloon_response(!done, sent) {
                pr_err!("Balloon response failed: {:?}\n", e);
                for r in sent {
                    self.pages.free_range(r.start_page(), r.page_cnt());
                }
                return;
            }
            if done {
                return;
            }
        }
    }

    /// Allocates up to `num_pages / alloc_unit` chunks of `alloc_unit` pages into `ranges`
    /// (`alloc_balloon_pages()`); returns the ranges filled and the pages allocated.
    fn alloc_pages(
        &self,
        num_pages: u32,
        alloc_unit: u32,
        ranges: &mut [DmMemPageRange],
    ) -> (usize, u32) {
        let order = alloc_unit.trailing_zeros();
        let chunks = (num_pages / alloc_unit) as usize;
        let mut filled = 0usize;
        for slot in ranges.iter_mut().take(chunks) {
            if self.stopping.load(Relaxed) {
                break;
            }
            let Some(pfn) = self.pages.alloc(order) else {
                break;
            };
            *slot = DmMemPageRange::new(pfn, alloc_unit.into());
            filled += 1;
        }
        (filled, (filled as u32).saturating_mul(alloc_unit))
    }

    /// Sends one balloon response, waiting while the ring is full (20 ms at a time, posting
    /// the status meanwhile, as C).
    fn send_balloon_response(&self, more_pages: bool, ranges: &[DmMemPageRange]) -> Result {
        loop {
            let head = balloon_response_header(self.next_trans_id(), more_pages, ranges.len());
            let result = self
                .channel
                .send_inband(&[head.as_bytes(), ranges.as_bytes()], 0, false);
            if result == Err(EAGAIN) {
                fsleep(Delta::from_millis(20));
            }
            self.post_status();
            if result != Err(EAGAIN) || self.stopping.load(Relaxed) {
                return result;
            }
        }
    }

    /// Answers a version response (`version_resp()`): done if accepted, else the next
    /// version, else the negotiation failed.
    fn version_response(&self, io: &ChannelIo<'_>, accepted: bool) {
        let step = self
            .negotiation
            .lock()
            .on_response(accepted, self.next_trans_id());
        match step {
            DmNegotiationStep::Accepted(version) => {
                self.version.store(version, Relaxed);
                self.version_event.complete_all();
            }
            DmNegotiationStep::Retry(request) => {
                self.version.store(request.version, Relaxed);
                if io.send_inband(&[request.as_bytes()], 0, false).is_err() {
                    self.set_state(DmState::InitError);
                    self.version_event.complete_all();
                }
            }
            DmNegotiationStep::Failed => {
                self.set_state(DmState::InitError);
                self.version_event.complete_all();
            }
        }
    }

    /// Gives back the pages of an unballoon request (`balloon_down()`) and answers after the
    /// last request of the transaction. Only pages this driver ballooned are freed.
    fn balloon_down(
        &self,
        io: &ChannelIo<'_>,
        more_pages: bool,
        ranges: impl Iterator<Item = DmMemPageRange>,
    ) {
        let before = self.pages.count();
        for r in ranges {
            let freed = self.pages.free_range(r.start_page(), r.page_cnt());
            if freed.not_ballooned != 0 {
                pr_err_ratelimited!(
                    "Unballoon request for {} pages at pfn {:#x}: {} of them are not ballooned, kept\n",
                    r.page_cnt(),
                    r.start_page(),
                    freed.not_ballooned
                );
            }
        }
        pr_debug!(
            "Freed {} ballooned pages.\n",
            before.saturating_sub(self.pages.count())
        );
        if more_pages {
            return;
        }
        let resp = unballoon_response(self.next_trans_id());
        if let Err(e) = io.send_inband(&[resp.as_bytes()], 0, false) {
            pr_err_ratelimited!("Unballoon response failed: {:?}\n", e);
        }
        self.set_state(DmState::Initialized);
    }

    /// Takes a hot-add request (the `DM_MEM_HOT_ADD_REQUEST` case of
    /// `balloon_onchannelcallback()`): the work item answers it. A request that comes while
    /// one is waiting replaces it, as in C.
    fn hot_add_request(self: &Arc<Self>, request: HotAddRequest) {
        if self.state() == DmState::HotAdd as u32 {
            pr_warn!("Currently hot-adding\n");
        }
        self.set_state(DmState::HotAdd);
        *self.ha_request.lock() = Some(request);
        if !self.stopping.load(Relaxed) {
            // Already queued: it takes the new request.
            drop(system_percpu().enqueue::<_, HOT_ADD>(self.clone()));
        }
    }

    /// Answers a hot-add request (`hot_add_req()`): adds and onlines what it can, then sends
    /// the number of pages added; `result` is success if some were, or if hot-add is off (the
    /// host then stops trying), else a failure the host may retry. May sleep.
    fn hot_add(&self) {
        let Some(request) = self.ha_request.lock().take() else {
            return;
        };
        let pages = if self.do_hot_add.load(Relaxed) {
            self.process_hot_add(request)
        } else {
            0
        };
        // Read again, as C: an `EEXIST` of this request turned hot-add off, which makes a
        // request without pages a permanent failure.
        let on = self.do_hot_add.load(Relaxed);
        let page_count = u32::try_from(pages).unwrap_or(u32::MAX);
        if !on || page_count == 0 {
            if !self.allow_hibernation {
                pr_err!("Memory hot add failed\n");
            } else {
                pr_info!("Ignore hot-add request!\n");
            }
        }
        self.set_state(DmState::Initialized);
        let resp = hot_add_response(self.next_trans_id(), page_count, hot_add_result(pages, on));
        if let Err(e) = self.channel.send_inband(&[resp.as_bytes()], 0, false) {
            pr_err_ratelimited!("Hot-add response failed: {:?}\n", e);
        }
    }

    /// Adds and onlines the memory of a request (`process_hot_add()`, `handle_pg_range()`,
    /// `hv_mem_hot_add()`); returns the pages the host may count as added.
    fn process_hot_add(&self, request: HotAddRequest) -> u64 {
        let range = request.range;
        pr_debug!(
            "Hot adding {} pages starting at pfn {:#x}.\n",
            range.page_cnt(),
            range.start_page()
        );
        let begin = {
            let mut ha = self.ha.lock();
            let begin = ha.begin(request, pfn_section_online);
            if let Begin::Work(work) = &begin {
                if let Some((start, count)) = work.bring_online {
                    // Pages of memory added before that the host backs now.
                    pr_debug!("Online {} pages starting at pfn {:#x}\n", count, start);
                    let mut onlined = 0;
                    for pfn in start..start + count {
                        if ha.is_backed(work.region, pfn) && self.hot_added.online_kept_page(pfn) {
                            onlined += 1;
                        }
                    }
                    ha.pages_onlined += onlined;
                }
            }
            begin
        };
        let mut work = match begin {
            Begin::NoPages(None) => return 0,
            Begin::NoPages(Some(why)) => {
                pr_err_ratelimited!(
                    "Hot-add request for {} pages at pfn {:#x} (region {:?}) refused: {:?}\n",
                    range.page_cnt(),
                    range.start_page(),
                    request.region.map(|r| (r.start_page(), r.page_cnt())),
                    why
                );
                return 0;
            }
            Begin::Work(work) => work,
        };
        let chunk_pages = self.ha.lock().chunk_pages();
        for _ in 0..work.chunks {
            if self.stopping.load(Relaxed) {
                break;
            }
            let Some(chunk) = self.ha.lock().next_chunk(&mut work) else {
                break;
            };
            let onlined_before = self.online_events.load(Relaxed);
            if let Err(AddMemoryError(e)) = self.hot_added.add_memory(chunk.start_pfn, chunk_pages)
            {
                pr_err!("hot_add memory failed error is {}\n", e.to_errno());
                if e == EEXIST {
                    // The guest's address map precludes hot-add: stop for good.
                    self.do_hot_add.store(false, Relaxed);
                }
                self.ha.lock().chunk_failed(&work, chunk);
                break;
            }
            // Wait for the block to be onlined (at once with the kernel's auto-online policy,
            // else by user space), but go on after 5 s: it was added.
            let mut waited = 0;
            while self.online_events.load(Relaxed) == onlined_before && waited < ONLINE_TIMEOUT_MS {
                fsleep(Delta::from_millis(10));
                waited += 10;
            }
            self.post_status();
        }
        self.ha.lock().finish(&work)
    }

    /// Handles one message of the host (`balloon_onchannelcallback()`).
    fn on_message(self: &Arc<Self>, io: &ChannelIo<'_>, msg: &[u8]) {
        let (hdr, parsed) = match parse_host_message(msg) {
            Ok(m) => m,
            Err(e) => {
                pr_err_ratelimited!(
                    "Malformed message of {} bytes from the host, dropped: {:?}\n",
                    msg.len(),
                    e
                );
                return;
            }
        };
        match parsed {
            DmHostMessage::VersionResponse { accepted } => self.version_response(io, accepted),
            DmHostMessage::CapabilitiesResponse { accepted } => {
                if !accepted {
                    pr_err!("Capabilities not accepted by host\n");
                    self.set_state(DmState::InitError);
                }
                self.caps_event.complete_all();
            }
            DmHostMessage::BalloonRequest { num_pages } => {
                if self.allow_hibernation {
                    pr_info!("Ignore balloon-up request!\n");
                    return;
                }
                if self.state() == DmState::BalloonUp as u32 {
                    pr_warn!("Currently ballooning\n");
                }
                self.set_state(DmState::BalloonUp);
                self.balloon_request.store(num_pages, Relaxed);
                if !self.stopping.load(Relaxed) {
                    // Already queued: it reads the new count.
                    drop(system_percpu().enqueue::<_, BALLOON_UP>(self.clone()));
                }
            }
            DmHostMessage::UnballoonRequest { more_pages, ranges } => {
                if self.allow_hibernation {
                    pr_info!("Ignore balloon-down request!\n");
                    return;
                }
                self.set_state(DmState::BalloonDown);
                self.balloon_down(io, more_pages, ranges.iter());
            }
            DmHostMessage::HotAddRequest { range, region } => {
                self.hot_add_request(HotAddRequest { range, region })
            }
            DmHostMessage::Info {
                info_type,
                max_page_count,
            } => {
                if info_type == DmInfoType::MAX_PAGE_CNT {
                    if let Some(max) = max_page_count {
                        pr_info!("Max. dynamic memory size: {} MB\n", max >> (20 - 12));
                        self.max_dynamic_page_count.store(max, Relaxed);
                    }
                } else {
                    pr_warn!("Received Unknown type: {}\n", info_type.0);
                }
            }
            DmHostMessage::Other => {
                pr_warn_ratelimited!("Unhandled message: type: {}\n", { hdr.type_ }.0);
            }
        }
    }
}

/// The channel handler: a newtype so that the driver's state keeps its `Arc`.
struct Handler(Arc<Balloon>);

impl ChannelHandler for Handler {
    fn on_channel_event(&self, io: &ChannelIo<'_>) {
        let balloon = &self.0;
        let mut buf = balloon.recv.lock();
        loop {
            let packet = match io.recv(&mut buf[..]) {
                Ok(Some(p)) => p,
                Ok(None) => return,
                Err(e) => {
                    pr_err_ratelimited!(
                        "Cannot receive from the host (message larger than {} bytes?): {:?}\n",
                        DM_RECV_BUFFER_SIZE,
                        e
                    );
                    return;
                }
            };
            if packet.packet_type != PacketType::DATA_INBAND {
                continue;
            }
            let Some(msg) = buf.get(..packet.len) else {
                return;
            };
            balloon.on_message(io, msg);
        }
    }
}

/// A bound device: the channel, closed first on unbind, then the driver's state.
struct BalloonData<'bound> {
    debugfs: Option<debugfs::File>,
    channel: Option<OpenChannel<'bound>>,
    /// The online-page callback and memory notifier, while hot-add is possible.
    hotplug: Option<HotplugRegistration<Balloon>>,
    balloon: Arc<Balloon>,
}

impl Drop for BalloonData<'_> {
    /// Stops the driver (`balloon_remove()`), then gives every ballooned page back to the
    /// kernel, which the C driver, never unloaded, does not do.
    fn drop(&mut self) {
        let balloon = &self.balloon;
        drop(self.debugfs.take());
        balloon.stopping.store(true, Relaxed);
        // The registration holds a reference to `balloon`: take it, before the channel closes
        // as in C.
        drop(balloon.page_reporting.lock().take());
        let hinted = balloon.ranges_hinted.load(Relaxed);
        if hinted != 0 {
            pr_info!(
                "{} free ranges were reported to the hypervisor ({} pages)\n",
                hinted,
                balloon.pages_hinted.load(Relaxed)
            );
        }
        // No handler runs after this, so no work is queued any more.
        drop(self.channel.take());
        cancel_work_sync::<_, BALLOON_UP>(balloon);
        cancel_work_sync::<_, HOT_ADD>(balloon);
        cancel_delayed_work_sync::<_, STATUS>(balloon);
        // The memory stays; from now on the kernel onlines it as any memory (C's
        // `restore_online_page_callback()` in `balloon_remove()`).
        drop(self.hotplug.take());
        let added = balloon.hot_added.pages();
        if added != 0 {
            pr_info!("{} hot-added pages stay in the kernel\n", added);
        }
        let ballooned = balloon.pages.count();
        if ballooned != 0 {
            pr_warn!("Ballooned pages: {}\n", ballooned);
        }
        let freed = balloon.pages.free_all();
        if freed != 0 {
            pr_info!("{} ballooned pages given back to the kernel\n", freed);
        }
    }
}

struct HvBalloon;

vmbus::vmbus_device_table!(
    VMBUS_TABLE,
    MODULE_VMBUS_TABLE,
    (),
    [(driver::DeviceId::new(HV_DM), ())]
);

impl driver::Driver for HvBalloon {
    type IdInfo = ();
    type Data<'bound> = BalloonData<'bound>;
    const ID_TABLE: driver::IdTable<()> = &VMBUS_TABLE;

    fn probe<'bound>(
        dev: &'bound Device<kernel::device::Core<'_>>,
        _id_info: Option<&'bound ()>,
    ) -> impl PinInit<BalloonData<'bound>, Error> + 'bound {
        Self::start(dev)
    }
}

impl HvBalloon {
    /// Sets the driver up (`balloon_probe()`): opens the channel, negotiates the version,
    /// reports the capabilities, and starts the status reports.
    fn start<'bound>(dev: &'bound Device<kernel::device::Core<'_>>) -> Result<BalloonData<'bound>> {
        let allow_hibernation = system::hibernation_supported();
        if allow_hibernation {
            params::disable_hot_add();
        }
        let block = memory_block_size_bytes();
        let ha_chunk_bytes = if block == 0 {
            DEFAULT_HA_CHUNK_BYTES
        } else {
            block
        };
        // Without memory hotplug no request is honoured (C: `do_hot_add = false`).
        let do_hot_add = params::hot_add() && block != 0;
        let ha = KBox::new(HotAddState::new(ha_chunk_bytes / 4096), GFP_KERNEL)?;
        let (negotiation, request) = DmVersionNegotiation::start(1);
        // The buffers are allocated here, never on the stack (a page each).
        let recv = KVec::from_elem(0u8, DM_RECV_BUFFER_SIZE, GFP_KERNEL)?;
        let ranges = KVec::from_elem(
            DmMemPageRange(0),
            DM_BALLOON_RESPONSE_MAX_RANGES,
            GFP_KERNEL,
        )?;
        let balloon = Arc::pin_init(
            pin_init!(Balloon {
                channel: dev.channel().clone(),
                state: Atomic::new(DmState::Initializing as u32),
                version: Atomic::new(request.version),
                trans_id: Atomic::new(1),
                stopping: Atomic::new(false),
                allow_hibernation,
                max_dynamic_page_count: Atomic::new(0),
                balloon_request: Atomic::new(0),
                pages <- BalloonPages::new(),
                do_hot_add: Atomic::new(do_hot_add),
                hot_added <- HotAddedMemory::new(),
                ha <- kernel::new_spinlock!(ha),
                ha_request <- vmbus::new_irq_spinlock!(None, c"hv_balloon::ha_request"),
                online_events: Atomic::new(0),
                page_reporting <- kernel::new_mutex!(None),
                hint_failures: Atomic::new(0),
                ranges_hinted: Atomic::new(0),
                pages_hinted: Atomic::new(0),
                negotiation <- kernel::new_spinlock!(negotiation),
                version_event <- Completion::new(),
                caps_event <- Completion::new(),
                recv <- kernel::new_spinlock!(recv),
                ranges <- kernel::new_mutex!(ranges),
                last_post <- kernel::new_mutex!(None),
                balloon_work <- new_work!("hv_balloon::balloon_work"),
                status_work <- new_delayed_work!("hv_balloon::status_work"),
                ha_work <- new_work!("hv_balloon::ha_work"),
            }),
            GFP_KERNEL,
        )?;
        let params = OpenParams {
            send_ring_size: DM_RING_SIZE,
            recv_ring_size: DM_RING_SIZE,
            userdata: &[],
        };
        // Before the channel opens, as C's `set_online_page_callback()`: the first hot-add
        // request may come right after the capabilities.
        let hotplug = if do_hot_add {
            match HotplugRegistration::register(balloon.clone()) {
                Ok(r) => Some(r),
                Err(e) => {
                    // Another driver (virtio-mem?) onlines hot-added memory.
                    pr_err!(
                        "Cannot set the online-page callback ({:?}): no hot-add\n",
                        e
                    );
                    balloon.do_hot_add.store(false, Relaxed);
                    None
                }
            }
        } else {
            None
        };
        let handler = Arc::new(Handler(balloon.clone()), GFP_KERNEL)?;
        let channel = dev.open_channel(&params, handler)?;
        let mut data = BalloonData {
            debugfs: None,
            channel: Some(channel),
            hotplug,
            balloon: balloon.clone(),
        };
        // From here on, dropping `data` closes the channel (`vmbus_close()` on the error path).
        balloon.connect(&data, ha_chunk_bytes, &request)?;
        balloon.enable_page_reporting();
        balloon.set_state(DmState::Initialized);
        data.debugfs = Some(debugfs::File::new(balloon.clone()));
        drop(
            system_percpu()
                .enqueue_delayed::<_, STATUS>(balloon.clone(), msecs_to_jiffies(STATUS_PERIOD_MS)),
        );
        Ok(data)
    }
}

impl Balloon {
    /// Registers with free page reporting if the hypervisor takes cold-discard hints
    /// (`enable_page_reporting()`); a failure is logged, as in C, and the driver goes on.
    fn enable_page_reporting(self: &Arc<Self>) {
        if !cold_discard_hint_supported() {
            pr_debug!("Cold memory discard hint not supported by Hyper-V\n");
            return;
        }
        match PageReportingRegistration::register(self.clone()) {
            Ok(r) => {
                *self.page_reporting.lock() = Some(r);
                pr_info!(
                    "Cold memory discard hint enabled with order {}\n",
                    page_reporting_order()
                );
            }
            Err(e) => pr_err!("Failed to enable cold memory discard: {}\n", e.to_errno()),
        }
    }

    /// Negotiates the version and reports the capabilities (`balloon_connect_vsp()`).
    fn connect(
        &self,
        data: &BalloonData<'_>,
        ha_chunk_bytes: u64,
        request: &vmbus::proto::dm::DmVersionRequest,
    ) -> Result {
        let channel = data.channel.as_ref().ok_or(ENODEV)?;
        channel.send_inband(&[request.as_bytes()], 0, false)?;
        if !self.version_event.wait_timeout(HOST_ANSWER_TIMEOUT) {
            return Err(ETIMEDOUT);
        }
        if self.state() == DmState::InitError as u32 {
            return Err(eproto());
        }
        let version = self.version.load(Relaxed);
        pr_info!(
            "Using Dynamic Memory protocol version {}.{}\n",
            dynmem_major_version(version),
            dynmem_minor_version(version)
        );
        // `ilog2(HA_BYTES_IN_CHUNK / SZ_1M)`; the chunk is a power of two of at least 1 MiB.
        let alignment = (ha_chunk_bytes >> 20).max(1).ilog2() as u8;
        // Ballooning needs 4 KiB pages (always on x86); hot-add is announced on x86 as in C,
        // whatever `hot_add` says.
        let caps = DmCaps::new(true, true, alignment);
        let report = capabilities_report(self.next_trans_id(), caps);
        const _: () = assert!(size_of::<vmbus::proto::dm::DmCapabilities>() == 32);
        channel.send_inband(&[report.as_bytes()], 0, false)?;
        if !self.caps_event.wait_timeout(HOST_ANSWER_TIMEOUT) {
            return Err(ETIMEDOUT);
        }
        if self.state() == DmState::InitError as u32 {
            return Err(eproto());
        }
        Ok(())
    }
}

vmbus::module_vmbus_driver! {
    type: HvBalloon,
    name: "hv_balloon",
    authors: ["hv-rs developers"],
    description: "Hyper-V Balloon (Rust)",
    license: "GPL",
}
