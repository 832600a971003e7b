// SPDX-License-Identifier: GPL-2.0

//! The synthetic interrupt controller (SynIC) as VMBus uses it: per-CPU message and event pages,
//! SINT2, the VMBus interrupt and CPU hotplug.
//!
//! C source: [`drivers/hv/hv.c`](srctree/drivers/hv/hv.c) (`hv_synic_alloc()`,
//! `hv_hyp_synic_enable_regs()`, `hv_synic_init()`, `hv_hyp_synic_disable_regs()`,
//! `hv_synic_cleanup()`), [`drivers/hv/vmbus_drv.c`](srctree/drivers/hv/vmbus_drv.c)
//! (`vmbus_isr()`, `vmbus_chan_sched()`, `vmbus_message_sched()`, `vmbus_on_msg_dpc()`),
//! `vmbus_signal_eom()` in [`drivers/hv/hyperv_vmbus.h`](srctree/drivers/hv/hyperv_vmbus.h).
//!
//! # Design
//!
//! The SynIC belongs to the whole partition and its interrupt (`HYPERVISOR_CALLBACK_VECTOR`
//! through `hv_setup_vmbus_handler()`) takes no context argument, so there is at most one
//! [`Synic`]: creating it publishes it in a global pointer that the interrupt handler and the
//! CPU-hotplug callbacks read. Its lifetime brackets both: the pointer is published before the
//! handler is installed and the hotplug state registered, and cleared after both are gone and an
//! RCU grace period has passed (the interrupt handler runs in hard-IRQ context, an RCU read-side
//! critical section).
//!
//! The interrupt handler, on the CPU the hypervisor interrupted:
//! - consumes SINT2's event flags with one atomic exchange per 64-bit word and reports each set
//!   flag but the first (flag `n` is channel relid `n`; flag 0 is not a channel) to
//!   [`Handler::channel_event`], in hard-IRQ context;
//! - forwards a timer message (`HVMSG_TIMER_EXPIRED`, legacy stimer mode) to `hv_stimer0_isr()`
//!   and frees the slot;
//! - for any other message, queues this CPU's message work on the BH workqueue (the C driver's
//!   `msg_dpc` tasklet), which copies the 256-byte slot once into private memory and hands the
//!   copy to [`Handler::message`], then frees the slot and writes EOM if the hypervisor has more.
//!
//! Only the plain path exists (no paravisor, no confidential VMBus, not the root partition): the
//! bus refuses to start otherwise.

use core::ptr;

use kernel::{
    bindings,
    cpu::{nr_cpu_ids, CpuId},
    ffi::{c_int, c_uint},
    new_work,
    prelude::*,
    sync::{
        atomic::{Acquire, Atomic, Full, Relaxed, Release},
        Arc, ArcBorrow,
    },
    time::{delay::fsleep, Delta},
    workqueue::{self, impl_has_work, Work, WorkItem},
};
use zerocopy::FromBytes;

use super::{ffi, hypervisor, page::SharedPage};
use crate::proto::synic::{
    event_flags_offset, message_slot_offset, HvMessage, HvMessageFlags, HvMessageType,
    SynicPageMsr, SynicScontrol, SynicSint, HV_EVENT_FLAGS_BYTE_COUNT, HV_MESSAGE_SIZE,
    HV_X64_MSR_EOM, HV_X64_MSR_SCONTROL, HV_X64_MSR_SIEFP, HV_X64_MSR_SIMP, HV_X64_MSR_SINT0,
    VMBUS_MESSAGE_SINT,
};

/// What the VMBus interrupt delivers, implemented by the bus.
pub trait Handler: Send + Sync {
    /// Channel `relid` (at least 1) was signalled on this CPU.
    ///
    /// Called in hard-IRQ context with interrupts off: must not sleep or take a lock that is
    /// not a raw spinlock (under `PROVE_RAW_LOCK_NESTING` a `spinlock_t` is invalid here).
    fn channel_event(self: ArcBorrow<'_, Self>, relid: u32);

    /// A VMBus message arrived on this CPU; `message` is a private copy of the SynIC slot whose
    /// type is neither `HVMSG_NONE` nor `HVMSG_TIMER_EXPIRED`, not validated any further.
    ///
    /// Called in softirq (BH workqueue) context: must not sleep. Returns `true` if the message
    /// was taken, which frees the slot for the next one; `false` leaves it in the slot (for
    /// example when memory is short) and it is offered again at the next VMBus interrupt of
    /// this CPU, as the C driver does.
    fn message(self: ArcBorrow<'_, Self>, message: &HvMessage) -> bool;

    /// `cpu` is about to go offline; an error vetoes it (`hv_synic_cleanup()` returns `-EBUSY`
    /// for the CPU that receives the VMBus messages while connected). `events` looks at the
    /// channel events still pending on that CPU. Called in process context on that CPU, and
    /// never while the [`Synic`] is being dropped.
    fn cpu_offline(self: ArcBorrow<'_, Self>, cpu: CpuId, events: &PendingEvents<'_>) -> Result {
        let _ = (cpu, events);
        Ok(())
    }
}

/// The channel event flags of a CPU that is going offline (see [`Handler::cpu_offline`]).
pub struct PendingEvents<'a> {
    ctx: &'a CpuContext,
}

impl PendingEvents<'_> {
    /// Tries of [`PendingEvents::wait`] (`HV_MAX_TRIES`).
    const TRIES: u32 = 3;

    /// Returns `true` if a channel event is still pending on the CPU after waiting a little
    /// for the interrupt handler to take it (`hv_synic_event_pending()`): once the SynIC of the
    /// CPU is disabled, such an event would be lost, so the caller then vetoes the offlining.
    /// The flag of the message connection (bit 0) does not count. Sleeps.
    pub fn wait(&self) -> bool {
        let mut tries = 0;
        loop {
            if !self.ctx.channel_event_pending() {
                return false;
            }
            if tries == Self::TRIES {
                return true;
            }
            tries += 1;
            // `usleep_range(10000, 20000)`.
            fsleep(Delta::from_millis(15));
        }
    }
}

/// Byte offset of SINT2's message slot in the message page.
const SLOT: usize = message_slot_offset(VMBUS_MESSAGE_SINT);
/// Byte offset of SINT2's event flags in the event-flags page.
const FLAGS: usize = event_flags_offset(VMBUS_MESSAGE_SINT);
/// Byte offset of `message_flags` in a message slot (`struct hv_message_header`).
const MESSAGE_FLAGS: usize = 5;

/// The SynIC state of one CPU (`struct hv_per_cpu_context`).
#[pin_data]
struct CpuContext {
    /// The CPU.
    cpu: CpuId,
    /// The page the SIMP MSR points at: one 256-byte message slot per SINT.
    message_page: SharedPage,
    /// The page the SIEFP MSR points at: 256 bytes of event flags per SINT.
    event_page: SharedPage,
    /// Where messages and channel events go.
    handler: Arc<dyn Handler>,
    /// Takes a message out of the slot in BH context (the C driver's `msg_dpc`).
    #[pin]
    message_work: Work<CpuContext>,
}

impl_has_work! {
    impl HasWork<Self> for CpuContext { self.message_work }
}

impl WorkItem for CpuContext {
    type Pointer = Arc<CpuContext>;

    fn run(this: Arc<CpuContext>) {
        this.take_message();
    }
}

/// Reads and writes a SynIC MSR of the current CPU.
fn get_msr(msr: u32) -> u64 {
    // SAFETY: `hv_get_msr()` reads a Hyper-V synthetic MSR of the current CPU; the SynIC MSRs
    // exist whenever Hyper-V was detected, which the bus checks before creating a `Synic`.
    unsafe { ffi::hv_get_msr(msr) }
}

fn set_msr(msr: u32, value: u64) {
    // SAFETY: As for `get_msr`; the values written are built from the values read, with only
    // the architectural fields changed.
    unsafe { ffi::hv_set_msr(msr, value) }
}

const SINT2_MSR: u32 = HV_X64_MSR_SINT0 + VMBUS_MESSAGE_SINT as u32;

impl CpuContext {
    fn new(cpu: CpuId, handler: Arc<dyn Handler>) -> Result<Arc<Self>> {
        Arc::pin_init(
            try_pin_init!(Self {
                cpu,
                message_page: SharedPage::new()?,
                event_page: SharedPage::new()?,
                handler,
                message_work <- new_work!("hv_vmbus::synic::message_work"),
            }),
            GFP_KERNEL,
        )
    }

    /// Points the SynIC of this CPU at our pages and unmasks SINT2 on the callback vector
    /// (`hv_hyp_synic_enable_regs()` + `hv_hyp_synic_enable_interrupts()`). Runs on `self.cpu`.
    fn enable(&self) {
        let simp =
            SynicPageMsr(get_msr(HV_X64_MSR_SIMP)).with_page(self.message_page.hv_pfn(), true);
        set_msr(HV_X64_MSR_SIMP, simp.0);

        let siefp =
            SynicPageMsr(get_msr(HV_X64_MSR_SIEFP)).with_page(self.event_page.hv_pfn(), true);
        set_msr(HV_X64_MSR_SIEFP, siefp.0);

        let sint = SynicSint(get_msr(SINT2_MSR))
            .with_vector(hypervisor::callback_vector())
            .with_masked(false)
            .with_auto_eoi(hypervisor::recommend_using_aeoi());
        set_msr(SINT2_MSR, sint.0);

        let scontrol = SynicScontrol(get_msr(HV_X64_MSR_SCONTROL)).with_enabled(true);
        set_msr(HV_X64_MSR_SCONTROL, scontrol.0);

        // SAFETY: Called on the CPU being set up, whose SynIC now delivers SINT2, as
        // `hv_synic_init()` does.
        unsafe { ffi::hv_stimer_legacy_init(self.cpu.as_u32(), VMBUS_MESSAGE_SINT.into()) };
    }

    /// Masks SINT2, takes a message still pending, then disables the pages and the SynIC
    /// (`hv_synic_cleanup()` after its checks). Runs on `self.cpu`.
    fn disable(&self) {
        // SAFETY: Called on the CPU being torn down, as `hv_synic_cleanup()` does.
        unsafe { ffi::hv_stimer_legacy_cleanup(self.cpu.as_u32()) };

        let sint = SynicSint(get_msr(SINT2_MSR)).with_masked(true);
        set_msr(SINT2_MSR, sint.0);

        // No new VMBus interrupt on this CPU from now on; let a queued message work finish while
        // the page is still the SynIC's, so the slot is freed properly.
        // SAFETY: `message_work` is an initialized work item that lives as long as `self`;
        // flushing from process context is allowed for BH work items.
        unsafe { bindings::flush_work(Work::raw_get(&self.message_work)) };

        let simp = SynicPageMsr(get_msr(HV_X64_MSR_SIMP)).with_page(0, false);
        set_msr(HV_X64_MSR_SIMP, simp.0);
        let siefp = SynicPageMsr(get_msr(HV_X64_MSR_SIEFP)).with_page(0, false);
        set_msr(HV_X64_MSR_SIEFP, siefp.0);

        let scontrol = SynicScontrol(get_msr(HV_X64_MSR_SCONTROL)).with_enabled(false);
        set_msr(HV_X64_MSR_SCONTROL, scontrol.0);
    }

    /// Consumes SINT2's event flags and reports the channels (`vmbus_chan_sched()`). Hard IRQ.
    fn scan_events(&self) {
        for word in 0..HV_EVENT_FLAGS_BYTE_COUNT / 8 {
            let offset = FLAGS + word * 8;
            // A plain read first: most words are zero, and the exchange dirties the line.
            if self.event_page.read_u64(offset).unwrap_or(0) == 0 {
                continue;
            }
            let mut bits = self.event_page.xchg_u64(offset, 0).unwrap_or(0);
            while bits != 0 {
                let bit = bits.trailing_zeros();
                bits &= bits - 1;
                // `word < 32` and `bit < 64`: the relid is below 2048.
                let relid = (word as u32) * 64 + bit;
                // Flag 0 stands for the channel-message connection, not a channel.
                if relid != 0 {
                    self.handler.as_arc_borrow().channel_event(relid);
                }
            }
        }
    }

    /// Returns `true` if SINT2's event flags hold a channel's bit (any but bit 0).
    fn channel_event_pending(&self) -> bool {
        (0..HV_EVENT_FLAGS_BYTE_COUNT / 8).any(|word| {
            let bits = self.event_page.read_u64(FLAGS + word * 8).unwrap_or(0);
            // Flag 0 stands for the channel-message connection, not a channel.
            if word == 0 {
                bits & !1 != 0
            } else {
                bits != 0
            }
        })
    }

    /// Returns the type of the message in SINT2's slot (`HVMSG_NONE` if it is free).
    fn slot_type(&self) -> HvMessageType {
        HvMessageType(self.message_page.read_u32(SLOT).unwrap_or(0))
    }

    /// Frees SINT2's slot if it still holds a message of type `old`, and asks the hypervisor for
    /// the next message if one is pending (`vmbus_signal_eom()`).
    fn signal_eom(&self, old: HvMessageType) {
        // The exchange orders the slot's release before the read of `msg_pending`: otherwise
        // the EOM could find the slot still busy and deliver nothing.
        if !self
            .message_page
            .cmpxchg_u32(SLOT, old.0, HvMessageType::NONE.0)
        {
            return;
        }
        let flags = HvMessageFlags(self.message_page.read_u8(SLOT + MESSAGE_FLAGS).unwrap_or(0));
        if flags.msg_pending() {
            set_msr(HV_X64_MSR_EOM, 0);
        }
    }

    /// Looks at SINT2's slot (`vmbus_message_sched()`). Hard IRQ.
    fn check_message(self: &Arc<Self>) {
        match self.slot_type() {
            HvMessageType::NONE => {}
            HvMessageType::TIMER_EXPIRED => {
                // SAFETY: Called from the VMBus interrupt, as the C driver does; the stimer code
                // handles a CPU whose stimer is not set up.
                unsafe { ffi::hv_stimer0_isr() };
                self.signal_eom(HvMessageType::TIMER_EXPIRED);
            }
            // Already queued means it will look at the slot anyway.
            _ => drop(workqueue::system_bh().enqueue(self.clone())),
        }
    }

    /// Copies the message out of SINT2's slot and hands it on (`__vmbus_on_msg_dpc()`). BH.
    fn take_message(&self) {
        let mut raw = [0u8; HV_MESSAGE_SIZE];
        for (i, chunk) in raw.chunks_exact_mut(8).enumerate() {
            let word = self.message_page.read_u64(SLOT + i * 8).unwrap_or(0);
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        let Ok(message) = HvMessage::read_from_bytes(&raw[..]) else {
            return;
        };
        let kind = message.header.message_type;
        // A free slot, or a timer message that arrived after the one this work was queued for:
        // the interrupt that announced it takes care of it.
        if kind == HvMessageType::NONE || kind == HvMessageType::TIMER_EXPIRED {
            return;
        }
        if self.handler.as_arc_borrow().message(&message) {
            self.signal_eom(kind);
        }
    }
}

/// Stops the synthetic timers for good (`hv_stimer_global_cleanup()`), as `vmbus_exit()` does
/// before tearing the bus down: in legacy mode they deliver through SINT2, which goes away.
/// The clock events fall back to the LAPIC timer; the timers are not set up again later.
pub fn stimer_global_cleanup() {
    // SAFETY: No preconditions; it stops the stimer clock events of every CPU.
    unsafe { ffi::hv_stimer_global_cleanup() };
}

/// What the interrupt handler and the hotplug callbacks reach through [`ACTIVE`].
struct SynicInner {
    /// One context per possible CPU, indexed by CPU number (`0..nr_cpu_ids`).
    cpus: KVec<Arc<CpuContext>>,
    /// Set while the [`Synic`] is dropped: CPU teardown must not be vetoed then.
    removing: Atomic<bool>,
}

impl SynicInner {
    fn cpu(&self, cpu: CpuId) -> Option<&Arc<CpuContext>> {
        self.cpus.get(usize::try_from(cpu.as_u32()).ok()?)
    }
}

/// The one [`SynicInner`], or NULL.
///
/// # Invariants
///
/// When non-NULL it points at the `SynicInner` of a live [`Synic`], which keeps it valid until
/// after it has cleared this pointer, removed the interrupt handler and the hotplug state, and
/// waited for an RCU grace period.
static ACTIVE: Atomic<*const SynicInner> = Atomic::new(ptr::null());

/// Returns the active SynIC.
///
/// # Safety
///
/// The caller runs in the VMBus interrupt handler (an RCU read-side critical section) or in a
/// callback of the hotplug state the active [`Synic`] registered; the reference must not
/// outlive that call.
unsafe fn active<'a>() -> Option<&'a SynicInner> {
    let p = ACTIVE.load(Acquire);
    // SAFETY: By the invariant of `ACTIVE`, a non-NULL pointer is valid until the `Synic` has
    // removed the handler and the hotplug state and waited for RCU; the caller runs within one
    // of those, so it stays valid for the call.
    unsafe { p.as_ref() }
}

/// The VMBus interrupt handler (`vmbus_isr()`), called by the arch code's
/// `HYPERVISOR_CALLBACK_VECTOR` handler in hard-IRQ context.
extern "C" fn vmbus_isr() {
    // SAFETY: We are the VMBus interrupt handler.
    let Some(inner) = (unsafe { active() }) else {
        return;
    };
    let Some(ctx) = inner.cpu(CpuId::current()) else {
        return;
    };
    // SAFETY: Lockdep annotations without preconditions; `end` follows `begin` on this CPU.
    unsafe { ffi::hvrs_isr_wait_override_begin() };
    ctx.scan_events();
    ctx.check_message();
    // SAFETY: As above.
    unsafe { ffi::hvrs_isr_wait_override_end() };
}

/// CPU hotplug startup: enables the SynIC of `cpu` (`hv_synic_init()`); runs on `cpu`.
extern "C" fn cpu_startup(cpu: c_uint) -> c_int {
    // SAFETY: We are a callback of the hotplug state of the active `Synic`.
    let inner = unsafe { active() };
    if let Some(ctx) = inner.zip(CpuId::from_u32(cpu)).and_then(|(i, c)| i.cpu(c)) {
        ctx.enable();
    }
    0
}

/// CPU hotplug teardown: disables the SynIC of `cpu` unless the handler vetoes it
/// (`hv_synic_cleanup()`); runs on `cpu`.
extern "C" fn cpu_teardown(cpu: c_uint) -> c_int {
    // SAFETY: We are a callback of the hotplug state of the active `Synic`.
    let Some(inner) = (unsafe { active() }) else {
        return 0;
    };
    let Some(ctx) = CpuId::from_u32(cpu).and_then(|c| inner.cpu(c)) else {
        return 0;
    };
    if !inner.removing.load(Relaxed) {
        let events = PendingEvents { ctx };
        if let Err(e) = ctx.handler.as_arc_borrow().cpu_offline(ctx.cpu, &events) {
            return e.to_errno();
        }
    }
    ctx.disable();
    0
}

/// The SynIC, set up on every online CPU and wired to the VMBus interrupt.
///
/// Dropping it disables the SynIC on every CPU and removes the interrupt handler; stop the
/// VMBus connection (UNLOAD) before.
///
/// # Invariants
///
/// `inner` is published in [`ACTIVE`], the VMBus interrupt handler is installed, and
/// `cpuhp_state` is the registered hotplug state.
pub struct Synic {
    inner: KBox<SynicInner>,
    cpuhp_state: c_int,
}

impl Synic {
    /// Allocates the per-CPU pages, installs the VMBus interrupt handler and enables the SynIC
    /// on every online CPU and every CPU that comes online later (`hv_synic_alloc()`,
    /// `hv_setup_vmbus_handler()`, `cpuhp_setup_state(..., hv_synic_init, hv_synic_cleanup)`).
    ///
    /// # Errors
    ///
    /// [`ENOMEM`], [`EBUSY`] if a `Synic` exists already, or the hotplug registration's error.
    pub fn new(handler: Arc<dyn Handler>) -> Result<Self> {
        let count = usize::try_from(nr_cpu_ids()).map_err(|_| EINVAL)?;
        let mut cpus = KVec::with_capacity(count, GFP_KERNEL)?;
        for id in 0..nr_cpu_ids() {
            let cpu = CpuId::from_u32(id).ok_or(EINVAL)?;
            cpus.push(CpuContext::new(cpu, handler.clone())?, GFP_KERNEL)?;
        }
        let inner = KBox::new(
            SynicInner {
                cpus,
                removing: Atomic::new(false),
            },
            GFP_KERNEL,
        )?;
        let p: *const SynicInner = &*inner;
        if ACTIVE.cmpxchg(ptr::null(), p, Full).is_err() {
            return Err(EBUSY);
        }
        // SAFETY: `vmbus_isr` is a valid handler for the whole time it is installed: until it
        // is removed in `Drop` (or below) it only reaches `inner` through `ACTIVE`.
        unsafe { ffi::hv_setup_vmbus_handler(vmbus_isr) };
        // SAFETY: The name is a static C string; both callbacks are valid until the state is
        // removed in `Drop` (or right here on failure).
        let state = unsafe {
            ffi::hvrs_cpuhp_setup(
                c"hyperv/vmbus:online".as_char_ptr(),
                cpu_startup,
                cpu_teardown,
            )
        };
        if state < 0 {
            // A failed setup has already torn down the CPUs it had set up.
            Self::unpublish();
            return Err(Error::from_errno(state));
        }
        // INVARIANT: `inner` is published, the handler installed and the state registered.
        Ok(Self {
            inner,
            cpuhp_state: state,
        })
    }

    /// Removes the interrupt handler and unpublishes [`ACTIVE`], then waits until no interrupt
    /// handler can still see it.
    fn unpublish() {
        // SAFETY: The handler was installed by `new`; no VMBus interrupt arrives any more (every
        // CPU's SINT2 is masked), and one still running finishes within the grace period below.
        unsafe { ffi::hv_remove_vmbus_handler() };
        ACTIVE.store(ptr::null(), Release);
        // SAFETY: Called in process context without RCU read-side locks held.
        unsafe { bindings::synchronize_rcu() };
    }
}

impl Drop for Synic {
    fn drop(&mut self) {
        self.inner.removing.store(true, Relaxed);
        // SAFETY: `cpuhp_state` was registered by `new` (type invariant). The teardown callback
        // disables the SynIC of every online CPU and flushes its message work; CPUs that are
        // offline were torn down when they went offline.
        unsafe { ffi::hvrs_cpuhp_remove(self.cpuhp_state) };
        Self::unpublish();
        // Now nothing can queue a message work any more; wait for any still queued, so that
        // the last references to the contexts are ours.
        for ctx in self.inner.cpus.iter() {
            // SAFETY: `message_work` is an initialized work item that lives as long as `ctx`.
            unsafe { bindings::flush_work(Work::raw_get(&ctx.message_work)) };
        }
    }
}
