// SPDX-License-Identifier: GPL-2.0

//! Channels: what the host offered, and the driver API to open one and exchange packets.
//!
//! C header: [`include/linux/hyperv.h`](srctree/include/linux/hyperv.h) (`struct
//! vmbus_channel`); C source: [`drivers/hv/channel.c`](srctree/drivers/hv/channel.c)
//! (`vmbus_open()`, `vmbus_close()`, `vmbus_sendpacket()`, `vmbus_recvpacket()`,
//! `vmbus_setevent()`), [`drivers/hv/connection.c`](srctree/drivers/hv/connection.c)
//! (`vmbus_on_event()`, `vmbus_set_event()`), `vmbus_chan_sched()` in
//! [`drivers/hv/vmbus_drv.c`](srctree/drivers/hv/vmbus_drv.c).
//!
//! A [`Channel`] is created for each offer and shared by the bus's relid table
//! ([`ChannelTable`]), the bus device of a primary channel and the channel's sysfs directory.
//! The offer is copied once; what changes (state, target CPU, counters) is atomic.
//!
//! A driver opens the channel of its device with [`OpenChannel::open`], which allocates the
//! rings, describes them to the host in a GPADL and sends OPENCHANNEL; it closes it by dropping
//! the [`OpenChannel`]. While open, host interrupts for the channel run the driver's
//! [`ChannelHandler`] in softirq context, with the host's signals masked while it drains the
//! inbound ring (the C driver's `HV_CALL_BATCHED` mode).
//!
//! Subchannels (`sub_channel_index != 0`, the instance GUID of a primary channel) belong to the
//! device of their primary channel. A driver that wants them sets a [`SubchannelHandler`] on its
//! device ([`Device::set_subchannel_handler`]); the bus passes each subchannel to it in process
//! context as a [`SubchannelOffer`], which opens it into an [`OpenSubchannel`]. The bus closes
//! open subchannels before the primary channel (`vmbus_close()`), on unbind and on rescind.
//!
//! A send that finds the outbound ring full fails with `EAGAIN`; in process context,
//! [`OpenChannel::send_inband_wait`] waits instead for the host to make room, with the ring's
//! `pending_send_sz`.
//!
//! A driver whose rings user space reads and writes (`uio_hv_generic`) allocates them ahead with
//! [`RingBuffer::new`] (`vmbus_alloc_ring()`) and opens the channel over them with
//! [`OpenChannel::open_user`] (`vmbus_connect_ring()` in `HV_CALL_ISR` mode): the kernel then
//! never reads or writes the rings, a host signal only runs the driver's
//! [`ChannelIsrHandler`] in hard-IRQ context, and user space maps the pages (the UIO map and
//! the channel's binary `ring` sysfs file, see [`Device::show_ring_file`]).
//!
//! Everything read from the rings is untrusted: the protocol core validates every index and
//! descriptor, and a corrupt ring fails the channel (with one message), not the kernel.

use core::ptr;

mod gpa;
mod gpadl;
mod recv;
pub use gpa::MpbRange;
pub use gpadl::Gpadl;
pub use recv::RawPacket;

use kernel::{
    bindings,
    cpu::CpuId,
    device,
    mm::virt::VmaNew,
    new_mutex, new_spinlock, new_work, pr_warn_once,
    prelude::*,
    sync::{
        atomic::{Acquire, Atomic, Full, Relaxed, Release},
        rcu, Arc, ArcBorrow, Mutex, SpinLock,
    },
    time::{Delta, Instant, Monotonic},
    workqueue::{self, impl_has_work, Work, WorkItem},
};

use super::{
    device::{ChannelDir, ChannelKset, Device},
    hypercall, hypervisor,
    monitor::{MonitorPage, MonitorPages},
    page::{SharedBuffer, SHARED_PAGE_SIZE},
    ring::PageRing,
    sync::{Completion, IrqSpinLock},
};
use crate::proto::{
    devclass::{self, DevType},
    gpadl::GpadlType,
    guid::Guid,
    ring::{
        init_ring, IncomingRing, OutgoingPacket, OutgoingRing, PacketType, RingError,
        RING_HEADER_SIZE, VMBUS_PKT_TRAILER,
    },
    vmbus::{OfferChannel, OfferFlags, Version, MAX_CHANNEL_RELIDS, MAX_USER_DEFINED_BYTES},
};

/// The direction of one of a channel's two rings.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RingDirection {
    /// Guest to host (`outbound`).
    Out,
    /// Host to guest (`inbound`).
    In,
}

/// A snapshot of a ring for sysfs (`struct hv_ring_buffer_debug_info`).
#[derive(Copy, Clone, Debug, Default)]
pub struct RingDebugInfo {
    /// `interrupt_mask` of the ring.
    pub interrupt_mask: u32,
    /// `read_index` of the ring.
    pub read_index: u32,
    /// `write_index` of the ring.
    pub write_index: u32,
    /// Bytes written and not read.
    pub bytes_avail_toread: u32,
    /// Bytes free for the writer.
    pub bytes_avail_towrite: u32,
}

/// The state of a channel as the C driver numbers it for sysfs (`enum vmbus_channel_state`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ChannelState {
    /// Offered, no device yet (`CHANNEL_OFFER_STATE`).
    Offer = 0,
    /// OPENCHANNEL sent (`CHANNEL_OPENING_STATE`).
    Opening = 1,
    /// Closed, with a device (`CHANNEL_OPEN_STATE`; the C name is misleading).
    Open = 2,
    /// Opened (`CHANNEL_OPENED_STATE`).
    Opened = 3,
}

/// Counters of a channel, shown in its sysfs directory.
pub struct ChannelStats {
    /// Interrupts from the host for this channel while it had a handler (`interrupts`).
    pub interrupts: Atomic<u64>,
    /// Signals to the host (`sig_events`, sysfs `events`).
    pub sig_events: Atomic<u64>,
    /// Signals to the host because the inbound ring had been full (`intr_in_full`).
    pub intr_in_full: Atomic<u64>,
    /// Signals to the host because the outbound ring had been empty (`intr_out_empty`).
    pub intr_out_empty: Atomic<u64>,
    /// Times a send found the outbound ring full, counted once per full period
    /// (`out_full_first`).
    pub out_full_first: Atomic<u64>,
    /// Sends that found the outbound ring full (`out_full_total`).
    pub out_full_total: Atomic<u64>,
    /// Sends that waited for room with `pending_send_sz` set (no sysfs file; C has none).
    pub send_waits: Atomic<u64>,
}

impl ChannelStats {
    const fn new() -> Self {
        Self {
            interrupts: Atomic::new(0),
            sig_events: Atomic::new(0),
            intr_in_full: Atomic::new(0),
            intr_out_empty: Atomic::new(0),
            out_full_first: Atomic::new(0),
            out_full_total: Atomic::new(0),
            send_waits: Atomic::new(0),
        }
    }

    fn inc(counter: &Atomic<u64>) {
        counter.add(1, Relaxed);
    }
}

/// The control-path requests a channel needs from the bus's connection.
///
/// Implemented by the bus; every wait for the host is bounded.
pub trait ChannelControl: Send + Sync {
    /// Creates a GPADL of `channel` of type `kind` over the pages `pfns` (Linux pages) of
    /// `size` bytes, and waits for GPADL_CREATED. Returns the GPADL handle.
    ///
    /// # Errors
    ///
    /// [`ETIMEDOUT`] if the host did not answer: it may still use the pages, which must then
    /// be leaked; any other error means the host does not know them.
    fn create_gpadl(
        self: ArcBorrow<'_, Self>,
        channel: &Channel,
        pfns: &[u64],
        kind: GpadlType,
        size: u32,
    ) -> Result<u32>;

    /// Tears GPADL `gpadl` down and waits for GPADL_TORNDOWN (at once if rescinded).
    ///
    /// # Errors
    ///
    /// [`ETIMEDOUT`] as for `create_gpadl`: the pages must then be leaked.
    fn teardown_gpadl(self: ArcBorrow<'_, Self>, channel: &Channel, gpadl: u32) -> Result;

    /// Sends OPENCHANNEL and waits for OPENCHANNEL_RESULT.
    ///
    /// # Errors
    ///
    /// [`EIO`] if the host refused, [`ENODEV`] if the channel was rescinded, [`ETIMEDOUT`].
    fn open(
        self: ArcBorrow<'_, Self>,
        channel: &Channel,
        gpadl: u32,
        target_vp: u32,
        downstream_pageoffset: u32,
        userdata: &[u8],
    ) -> Result;

    /// Sends CLOSECHANNEL (no answer comes; nothing if rescinded).
    fn close(self: ArcBorrow<'_, Self>, channel: &Channel);

    /// Sends MODIFYCHANNEL to move the open channel's interrupts from `from_cpu` to `to_cpu`
    /// (virtual processor `target_vp`) and, on 5.3+, waits for MODIFYCHANNEL_RESPONSE; then
    /// accounts the move in the bus's CPU allocation (`vmbus_send_modifychannel()`,
    /// `hv_update_allocated_cpus()`).
    ///
    /// # Errors
    ///
    /// [`EAGAIN`] if the host refused, [`ETIMEDOUT`] if it did not answer, [`EIO`] if the
    /// channel is not open or the request could not be sent.
    fn modify(
        self: ArcBorrow<'_, Self>,
        channel: &Channel,
        from_cpu: u32,
        to_cpu: u32,
        target_vp: u32,
    ) -> Result;

    /// Has the bus offer the subchannels of `primary` to the bound driver's handler soon
    /// ([`Channel::deliver_subchannels`] on its subchannel worker, in process context).
    fn schedule_subchannels(self: ArcBorrow<'_, Self>, primary: &Arc<Channel>);
}

/// A channel offered by the host (`struct vmbus_channel`).
///
/// A subchannel (an offer with a non-zero `sub_channel_index` and the instance GUID of a
/// primary channel) refers to its primary channel ([`Channel::primary`]); the primary channel
/// lists its subchannels ([`Channel::for_each_channel`]) and holds the bound driver's
/// [`SubchannelHandler`].
///
/// # Invariants
///
/// `open` is NULL or comes from `Arc::into_raw()` of the channel's [`OpenState`]; it is
/// published before OPENCHANNEL and unpublished (then an RCU grace period passes) before the
/// reference is given back.
#[pin_data]
pub struct Channel {
    offer: OfferChannel,
    version: Version,
    dev_type: DevType,
    state: Atomic<u32>,
    target_cpu: Atomic<u32>,
    rescinded: Atomic<bool>,
    low_latency: Atomic<bool>,
    pages: Arc<MonitorPages>,
    control: Arc<dyn ChannelControl>,
    open: Atomic<*const OpenState>,
    /// Size in bytes of the binary `ring` file of the channel's sysfs directory, 0 while the
    /// file is hidden (`ring_sysfs_visible`, `ringbuffer_pagecount`).
    ring_file_size: Atomic<usize>,
    /// The kobject of the channel's sysfs directory, NULL while it does not exist.
    dir: Atomic<*mut bindings::kobject>,
    /// The primary channel of a subchannel (`primary_channel`), `None` for a primary channel.
    primary: Option<Arc<Channel>>,
    /// The subchannels of a primary channel and the driver's handler for them (`sc_list`,
    /// `sc_creation_callback`); empty for a subchannel.
    #[pin]
    subs: Mutex<Subchannels>,
    /// Serializes opening and closing: a subchannel may be closed by its driver, by the bus
    /// (unbind, rescind) and by the close of its primary channel.
    #[pin]
    open_lock: Mutex<()>,
    /// The counters of sysfs.
    pub stats: ChannelStats,
    /// The fault-test knobs of debugfs; a subchannel follows its primary channel's.
    pub(crate) fuzz: FuzzTest,
}

/// The bus's fault-test knobs of a channel, in debugfs as `hyperv/<device>/fuzz_test_state`
/// and `hyperv/<device>/delay/*` (C: `fuzz_testing_state`, `fuzz_testing_interrupt_delay`,
/// `fuzz_testing_message_delay`, `hv_debug_delay_test()`): while the state is 1, each event
/// of the channel's handler waits the interrupt delay and each packet read the message delay,
/// in microseconds (at most 1000), to shake out races with the host.
pub(crate) struct FuzzTest {
    /// 0 or 1.
    pub(crate) state: Atomic<u32>,
    pub(crate) interrupt_delay: Atomic<u32>,
    pub(crate) message_delay: Atomic<u32>,
}

// SAFETY: `open` is an RCU-published pointer to a `Send + Sync` object; `dir` is only passed to
// sysfs functions (see `set_dir`); every other field is `Send` and `Sync`.
unsafe impl Send for Channel {}

// SAFETY: As above; `open` is only read with atomic loads under RCU.
unsafe impl Sync for Channel {}

/// The subchannels of a primary channel, under [`Channel::subs`].
struct Subchannels {
    /// The bound driver's handler (`sc_creation_callback`), `None` while no driver wants them.
    handler: Option<Arc<dyn SubchannelHandler>>,
    /// The subchannels, in offer order (`sc_list`).
    list: KVec<SubEntry>,
    /// The device's `channels` kset while the device exists: subchannel directories go there.
    kset: Option<ChannelKset>,
}

/// A subchannel in [`Subchannels::list`].
struct SubEntry {
    channel: Arc<Channel>,
    /// Its `channels/<relid>/` directory, removed on drop.
    dir: Option<ChannelDir>,
    /// Offered to the current driver's handler already.
    delivered: bool,
}

impl Channel {
    /// Creates the channel of `offer`, received on a connection of `version`, with its
    /// interrupts targeted at `target_cpu`; `control` is the connection; `primary` is the
    /// primary channel of a subchannel.
    ///
    /// # Errors
    ///
    /// [`ENOMEM`].
    pub fn new(
        offer: OfferChannel,
        version: Version,
        pages: Arc<MonitorPages>,
        control: Arc<dyn ChannelControl>,
        target_cpu: u32,
        primary: Option<Arc<Channel>>,
    ) -> Result<Arc<Self>> {
        let hvsock = { offer.offer.chn_flags }.contains(OfferFlags::TLNPI_PROVIDER_OFFER);
        let class_id = offer.offer.if_type;
        Arc::pin_init(
            pin_init!(Self {
                offer,
                version,
                dev_type: devclass::dev_type(&class_id, hvsock),
                state: Atomic::new(ChannelState::Offer as u32),
                target_cpu: Atomic::new(target_cpu),
                rescinded: Atomic::new(false),
                low_latency: Atomic::new(false),
                pages,
                control,
                open: Atomic::new(ptr::null()),
                ring_file_size: Atomic::new(0),
                dir: Atomic::new(ptr::null_mut()),
                primary,
                subs <- new_mutex!(Subchannels {
                    handler: None,
                    list: KVec::new(),
                    kset: None,
                }),
                open_lock <- new_mutex!(()),
                stats: ChannelStats::new(),
                fuzz: FuzzTest {
                    state: Atomic::new(0),
                    interrupt_delay: Atomic::new(0),
                    message_delay: Atomic::new(0),
                },
            }),
            GFP_KERNEL,
        )
    }

    /// Returns the VMBus protocol version of the connection that offered the channel
    /// (`vmbus_proto_version`).
    pub fn vmbus_version(&self) -> Version {
        self.version
    }

    /// Returns the offer as received.
    pub fn offer(&self) -> &OfferChannel {
        &self.offer
    }

    /// Returns the channel's relid (`offermsg.child_relid`).
    pub fn relid(&self) -> u32 {
        self.offer.child_relid
    }

    /// Returns the device class GUID (`offermsg.offer.if_type`).
    pub fn class_id(&self) -> Guid {
        self.offer.offer.if_type
    }

    /// Returns the device instance GUID (`offermsg.offer.if_instance`).
    pub fn instance_id(&self) -> Guid {
        self.offer.offer.if_instance
    }

    /// Returns the device class (`channel->device_id`).
    pub fn dev_type(&self) -> DevType {
        self.dev_type
    }

    /// Returns the subchannel index, 0 for a primary channel.
    pub fn sub_channel_index(&self) -> u16 {
        self.offer.offer.sub_channel_index
    }

    /// Returns the user-defined bytes of the offer.
    pub fn user_defined(&self) -> [u8; MAX_USER_DEFINED_BYTES] {
        self.offer.offer.user_def
    }

    /// Returns `true` for a hv_sock channel (`is_hvsock_channel()`).
    pub fn is_hvsock(&self) -> bool {
        { self.offer.offer.chn_flags }.contains(OfferFlags::TLNPI_PROVIDER_OFFER)
    }

    /// Returns `true` if the host allocated a monitor id (MNF) for the channel.
    pub fn monitor_allocated(&self) -> bool {
        self.offer.monitor_allocated()
    }

    /// Returns the monitor id (`offermsg.monitorid`).
    pub fn monitor_id(&self) -> u8 {
        self.offer.monitorid
    }

    /// Returns the pending bits of the channel's monitor group on page `which`.
    pub fn monitor_pending(&self, which: MonitorPage) -> u32 {
        self.pages.pending(which, self.monitor_id())
    }

    /// Returns the channel's monitor latency on page `which`.
    pub fn monitor_latency(&self, which: MonitorPage) -> u32 {
        self.pages.latency(which, self.monitor_id())
    }

    /// Returns the channel's monitor connection id on page `which`.
    pub fn monitor_conn_id(&self, which: MonitorPage) -> u32 {
        self.pages.conn_id(which, self.monitor_id())
    }

    /// Returns the state as sysfs shows it.
    pub fn state(&self) -> u32 {
        self.state.load(Relaxed)
    }

    /// Sets the state.
    pub fn set_state(&self, state: ChannelState) {
        self.state.store(state as u32, Relaxed);
    }

    /// Returns the CPU the channel's interrupts go to (`target_cpu`).
    pub fn target_cpu(&self) -> u32 {
        self.target_cpu.load(Relaxed)
    }

    /// Sets the CPU the channel's interrupts go to.
    pub fn set_target_cpu(&self, cpu: u32) {
        self.target_cpu.store(cpu, Relaxed);
    }

    /// Marks the channel rescinded by the host.
    pub fn rescind(&self) {
        self.rescinded.store(true, Relaxed);
    }

    /// Returns `true` once the host rescinded the channel.
    pub fn is_rescinded(&self) -> bool {
        self.rescinded.load(Relaxed)
    }

    /// Signals the host directly rather than through the monitor page, for latency-sensitive
    /// channels (`set_channel_low_latency()`; netvsc does this).
    pub fn set_low_latency(&self, on: bool) {
        self.low_latency.store(on, Relaxed);
    }

    /// Returns the primary channel of a subchannel, `None` for a primary channel.
    pub fn primary(&self) -> Option<&Arc<Channel>> {
        self.primary.as_ref()
    }

    /// Calls `f` for the channel and then each of its subchannels, in offer order
    /// (`channel_vp_mapping`). May sleep (it takes the subchannel list's mutex); must not be
    /// called from [`SubchannelHandler::offered`] of the same device.
    pub fn for_each_channel(&self, mut f: impl FnMut(&Channel)) {
        f(self);
        for e in self.subs.lock().list.iter() {
            f(&e.channel);
        }
    }

    /// Returns the kernel (direct-map) address of the connection's interrupt page
    /// (`vmbus_connection.int_page`), for a `UIO_MEM_LOGICAL` map.
    pub fn int_page_addr(&self) -> usize {
        self.pages.int_page_addr()
    }

    /// Returns the kernel (direct-map) address of monitor page `which`
    /// (`vmbus_connection.monitor_pages[]`), for a `UIO_MEM_LOGICAL` map.
    pub fn monitor_page_addr(&self, which: MonitorPage) -> usize {
        self.pages.page_addr(which)
    }

    /// Waits the fault-test delay of an event (`message` false) or of a packet read, if fault
    /// testing is on for the channel's primary channel (`hv_debug_delay_test()`).
    fn fuzz_delay(&self, message: bool) {
        let fuzz = &self.primary.as_deref().unwrap_or(self).fuzz;
        if fuzz.state.load(Relaxed) == 0 {
            return;
        }
        let us = if message {
            fuzz.message_delay.load(Relaxed)
        } else {
            fuzz.interrupt_delay.load(Relaxed)
        };
        kernel::time::delay::udelay(Delta::from_micros(i64::from(us.min(1000))));
    }

    /// Returns the size of the binary `ring` file, 0 while it is hidden.
    pub(crate) fn ring_file_size(&self) -> usize {
        self.ring_file_size.load(Relaxed)
    }

    /// Publishes (or with NULL, unpublishes) the kobject of the channel's sysfs directory.
    ///
    /// # Safety
    ///
    /// A non-NULL `kobj` is the added kobject of the channel's directory, with the channel
    /// attribute group, and stays referenced until after the device of the channel is
    /// unregistered (so until every probe and remove of the device has returned), or, for a
    /// subchannel, until it is unpublished, under the primary channel's subchannel list lock,
    /// under which the `ring` file of a subchannel is shown and hidden; it is unpublished
    /// before it is deleted.
    pub(crate) unsafe fn set_dir(&self, kobj: *mut bindings::kobject) {
        self.dir.xchg(kobj, Full);
        if !kobj.is_null() && self.ring_file_size.load(Relaxed) != 0 {
            // A driver showed the `ring` file while the directory was being created.
            self.update_dir();
        }
    }

    /// Re-evaluates the visibility of the directory's files (`sysfs_update_group()`).
    fn update_dir(&self) {
        let kobj = self.dir.load(Relaxed);
        if kobj.is_null() {
            // No directory yet: its creation shows the file (`set_dir`).
            return;
        }
        // SAFETY: A published `dir` is an added kobject with the channel group that stays
        // referenced while the channel's device can be bound (`set_dir`), and only drivers of
        // the bound device call this; for a subchannel, the callers hold the primary channel's
        // subchannel list lock, under which its directory is removed. A failure (the
        // directory was deleted meanwhile) leaves nothing to update, as in C.
        let _ = unsafe { bindings::sysfs_update_group(kobj, super::sysfs::CHANNEL_GROUP.get()) };
    }

    /// Maps the rings of the channel, opened by [`OpenChannel::open_user`], into `vma`, the
    /// `mmap` of the `ring` sysfs file (`hv_uio_ring_mmap_prepare()`): the file offset picks
    /// the first page.
    ///
    /// # Errors
    ///
    /// [`ENODEV`] unless the channel is open for user space, [`EINVAL`] for a range outside
    /// the rings.
    pub(crate) fn mmap_ring(&self, vma: &VmaNew) -> Result {
        if self.state() != ChannelState::Opened as u32 {
            return Err(ENODEV);
        }
        let buffer = self
            .with_open(|open| open.is_user().then(|| open.buffer.clone()))
            .flatten()
            .ok_or(ENODEV)?;
        buffer.map_into(vma)
    }

    /// Runs `f` on the open state under RCU, if the channel is open.
    fn with_open<R>(&self, f: impl FnOnce(&OpenState) -> R) -> Option<R> {
        let _guard = rcu::read_lock();
        let p = self.open.load(Acquire);
        // SAFETY: A non-NULL `open` points at the published `OpenState`, which stays valid
        // until an RCU grace period after it is unpublished (type invariant); we hold the RCU
        // read lock for the duration of `f`.
        unsafe { p.as_ref() }.map(f)
    }

    /// Returns the state of one of the channel's rings, for sysfs.
    ///
    /// # Errors
    ///
    /// [`EINVAL`] while the channel has no rings (it is not open), as
    /// `hv_ringbuffer_get_debuginfo()`.
    pub fn ring_debug(&self, direction: RingDirection) -> Result<RingDebugInfo> {
        self.with_open(|open| open.ring_debug(direction))
            .ok_or(EINVAL)
    }

    /// Moves the channel's interrupts to `cpu`, on a write to its `cpu` sysfs file
    /// (`target_cpu_store()`); `valid` is `cpu` if it may take channel interrupts.
    ///
    /// # Errors
    ///
    /// As [`Channel::set_cpu`].
    pub fn set_cpu_from_sysfs(&self, cpu: u32, valid: Option<CpuId>) -> Result {
        // No CPU goes offline meanwhile (`cpus_read_lock()`): the bus moves the channels off a
        // CPU that goes offline, and must see this move.
        let _hotplug = CpuHotplugReadGuard::new();
        self.set_cpu(cpu, valid.filter(|_| super::cpu_can_target(cpu)))
    }

    /// Moves the channel's interrupts to `cpu` with MODIFYCHANNEL (`vmbus_channel_set_cpu()`);
    /// `valid` is `cpu` if it may take channel interrupts. CPU hotplug must be held off by the
    /// caller: a `cpus_read_lock()`, or the CPU-offline callback itself.
    ///
    /// # Errors
    ///
    /// As the C driver: [`EIO`] before VMBus 4.1, [`EINVAL`] for an invalid or offline CPU,
    /// [`EIO`] unless the channel is open or if the host refused or did not answer.
    pub fn set_cpu(&self, cpu: u32, valid: Option<CpuId>) -> Result {
        if self.version < Version::WIN10_V4_1 {
            return Err(EIO);
        }
        let Some(target) = valid else {
            return Err(EINVAL);
        };
        if self.state() != ChannelState::Opened as u32 {
            return Err(EIO);
        }
        let origin = self.target_cpu();
        if cpu == origin {
            return Ok(());
        }
        // As C, any failure of the request is `EIO` to the caller.
        self.control
            .as_arc_borrow()
            .modify(self, origin, cpu, hypervisor::vp_index(target))
            .map_err(|_| EIO)?;
        // Before 5.3 the host does not confirm: it may still interrupt the old CPU for a while,
        // which is harmless, as the interrupt handler finds the channel by its relid.
        self.set_target_cpu(cpu);
        Ok(())
    }

    /// The channel was signalled by the host (`vmbus_chan_sched()`), in hard-IRQ context.
    pub fn on_interrupt(&self) {
        // Hard-IRQ context is an RCU read-side critical section.
        let p = self.open.load(Acquire);
        // SAFETY: As in `with_open`; the interrupt handler runs with interrupts off, which
        // holds off the grace period the unpublisher waits for.
        let Some(open) = (unsafe { p.as_ref() }) else {
            return;
        };
        if open.closing.load(Relaxed) || open.failed.load(Relaxed) {
            return;
        }
        ChannelStats::inc(&self.stats.interrupts);
        if let Callback::Isr(handler) = &open.callback {
            // `HV_CALL_ISR`: user space owns the rings, the kernel only passes the signal on.
            handler.on_interrupt();
            return;
        }
        // `hv_begin_read()`: no more signals while the handler drains the ring.
        open.mask_inbound(true);
        // SAFETY: `p` came from `Arc::into_raw()` and is alive (see above).
        let open = unsafe { ArcBorrow::from_raw(p) };
        // Already queued means it will run anyway.
        drop(workqueue::system_bh().enqueue(Arc::from(open)));
    }

    /// Sends an in-band packet on the open channel from outside its handler, e.g. a reply a
    /// user-space daemon produced (`vmbus_sendpacket()`); see [`OpenChannel::send_inband`].
    ///
    /// # Errors
    ///
    /// [`ENODEV`] if the channel is not open (or is closing), else as
    /// [`OpenChannel::send_inband`].
    pub fn send_inband(&self, payload: &[&[u8]], trans_id: u64, completion: bool) -> Result {
        self.with_open(|open| {
            if open.closing.load(Relaxed) {
                return Err(ENODEV);
            }
            open.send(&OutgoingPacket::inband(trans_id, completion), payload)
        })
        .unwrap_or(Err(ENODEV))
    }

    /// Runs the channel's handler again soon, as if the host had signalled it
    /// (`hv_poll_channel()`): a driver that left packets in the ring while it waited for
    /// something else calls this when it can take them. Does nothing if the channel is not
    /// open.
    pub fn schedule_event(&self) {
        let _guard = rcu::read_lock();
        let p = self.open.load(Acquire);
        // SAFETY: A non-NULL `open` points at the published `OpenState`, valid until an RCU
        // grace period after it is unpublished (type invariant); we hold the RCU read lock.
        let Some(open) = (unsafe { p.as_ref() }) else {
            return;
        };
        if open.closing.load(Relaxed) || open.failed.load(Relaxed) || open.is_user() {
            return;
        }
        open.mask_inbound(true);
        // SAFETY: `p` came from `Arc::into_raw()` and is alive (see above).
        let open = unsafe { ArcBorrow::from_raw(p) };
        drop(workqueue::system_bh().enqueue(Arc::from(open)));
    }

    /// Signals the host that the channel has news (`vmbus_setevent()`).
    fn signal_host(&self) {
        if self.monitor_allocated() && !self.low_latency.load(Relaxed) {
            self.pages.send_interrupt(self.relid());
            self.pages.trigger(self.monitor_id());
            return;
        }
        // `vmbus_set_event()`.
        if !self.offer.is_dedicated_interrupt() {
            self.pages.send_interrupt(self.relid());
        }
        ChannelStats::inc(&self.stats.sig_events);
        if let Err(status) = hypercall::signal_event(self.offer.connection_id) {
            pr_warn_once!("HvSignalEvent failed: {:#x}\n", status.0);
        }
    }

    /// Publishes `open` for the interrupt handler.
    fn publish_open(&self, open: &Arc<OpenState>) {
        // INVARIANT: The raw pointer owns one reference until `unpublish_open` takes it back.
        self.open.store(Arc::into_raw(open.clone()), Release);
    }

    /// Unpublishes the open state: after this no interrupt reaches the handler and no handler
    /// runs any more.
    fn unpublish_open(&self) -> Option<Arc<OpenState>> {
        let p = self.open.xchg(ptr::null(), Acquire);
        if p.is_null() {
            return None;
        }
        // SAFETY: Called in process context without RCU read locks: waits until no interrupt
        // handler or `with_open` still uses `p`.
        unsafe { bindings::synchronize_rcu() };
        // SAFETY: `p` came from `Arc::into_raw()` in `publish_open` and was unpublished above,
        // so this takes back the reference it owned.
        let open = unsafe { Arc::from_raw(p) };
        open.closing.store(true, Relaxed);
        // A sender waiting for room gives up.
        open.room.complete_all();
        // A queued handler sees `closing` and returns; a running one finishes.
        // SAFETY: `work` is an initialized work item, alive as long as `open`.
        unsafe { bindings::flush_work(Work::raw_get(&open.work)) };
        Some(open)
    }
}

impl Channel {
    /// Opens the channel over `rings` (`__vmbus_open()`): the ring GPADL, the open state
    /// published for the interrupt handler, OPENCHANNEL.
    fn open_rings(
        self: &Arc<Self>,
        rings: &RingBuffer,
        userdata: &[u8],
        callback: Callback,
    ) -> Result<Arc<OpenState>> {
        let _serial = self.open_lock.lock();
        let channel = self.clone();
        let (send, recv) = (rings.send_size, rings.recv_size);
        if userdata.len() > MAX_USER_DEFINED_BYTES {
            return Err(EINVAL);
        }
        if channel.is_rescinded() {
            return Err(ENODEV);
        }
        if channel.state() != ChannelState::Open as u32 {
            return Err(EBUSY);
        }
        let total = send.checked_add(recv).ok_or(EINVAL)?;
        let total32 = u32::try_from(total).map_err(|_| EINVAL)?;
        let send32 = u32::try_from(send).map_err(|_| EINVAL)?;
        let buffer = rings.buffer.clone();
        let out_mem = PageRing::new(buffer.clone(), 0, send).ok_or(EINVAL)?;
        let in_mem = PageRing::new(buffer.clone(), send, recv).ok_or(EINVAL)?;
        // `hv_ringbuffer_init()`: both rings use `pending_send_sz`.
        init_ring(&out_mem);
        init_ring(&in_mem);
        let outbound = OutgoingRing::new(PageRing::new(buffer.clone(), 0, send).ok_or(EINVAL)?)
            .map_err(|_| EINVAL)?;
        let inbound = IncomingRing::new(PageRing::new(buffer.clone(), send, recv).ok_or(EINVAL)?)
            .map_err(|_| EINVAL)?;
        let pfns = buffer.pfns()?;

        let gpadl = match channel.control.as_arc_borrow().create_gpadl(
            &channel,
            &pfns,
            GpadlType::Ring {
                send_offset: send32,
            },
            total32,
        ) {
            Ok(g) => g,
            Err(e) => {
                if e == ETIMEDOUT {
                    // The host may yet map the pages: they are never given back.
                    core::mem::forget(buffer);
                }
                return Err(e);
            }
        };

        let (open_channel, open_buffer) = (channel.clone(), buffer.clone());
        let open = Arc::pin_init(
            pin_init!(OpenState {
                channel: open_channel,
                buffer: open_buffer,
                out_mem,
                in_mem,
                outbound <- crate::new_irq_spinlock!(
                    Outbound {
                        ring: outbound,
                        full: false
                    },
                    c"vmbus_channel::outbound"
                ),
                inbound <- new_spinlock!(inbound, "vmbus_channel::inbound"),
                gpadl,
                callback,
                closing: Atomic::new(false),
                failed: Atomic::new(false),
                waiting: Atomic::new(false),
                room <- Completion::new(),
                send_wait <- new_mutex!(()),
                work <- new_work!("vmbus_channel::callback"),
            }),
            GFP_KERNEL,
        );
        let open = match open {
            Ok(o) => o,
            Err(e) => {
                teardown(&channel, gpadl, buffer);
                return Err(e);
            }
        };

        // The handler is reachable before OPENCHANNEL: the host may signal at once.
        channel.publish_open(&open);
        channel.set_state(ChannelState::Opening);
        let vp = CpuId::from_u32(channel.target_cpu())
            .map(hypervisor::vp_index)
            .ok_or(EINVAL);
        let result = vp.and_then(|vp| {
            channel.control.as_arc_borrow().open(
                &channel,
                gpadl,
                vp,
                send32 / RING_HEADER_SIZE,
                userdata,
            )
        });
        if let Err(e) = result {
            drop(channel.unpublish_open());
            channel.set_state(ChannelState::Open);
            drop(open);
            teardown(&channel, gpadl, buffer);
            return Err(e);
        }
        channel.set_state(ChannelState::Opened);
        Ok(open)
    }

    /// Closes the channel if it is open (`vmbus_close()`): for a primary channel its open
    /// subchannels first, then the handler is stopped, CLOSECHANNEL sent and the ring GPADL
    /// torn down. With `only`, it closes only if `only` is the open state, so that a stale
    /// handle never closes a later opening.
    fn close_open(&self, only: Option<&Arc<OpenState>>) {
        let stale = |only: Option<&Arc<OpenState>>| {
            only.is_some_and(|o| !ptr::eq(self.open.load(Relaxed), Arc::as_ptr(o)))
        };
        if stale(only) {
            return;
        }
        if self.primary.is_none() {
            // Not under `open_lock`: opening a subchannel takes the subchannel list's lock and
            // then the subchannel's `open_lock`.
            self.close_subchannels(false);
        }
        let _serial = self.open_lock.lock();
        if stale(only) {
            return;
        }
        let Some(open) = self.unpublish_open() else {
            return;
        };
        self.control.as_arc_borrow().close(self);
        self.set_state(ChannelState::Open);
        teardown(self, open.gpadl, open.buffer.clone());
    }

    /// Adds subchannel `sub` to this primary channel (`vmbus_add_channel_work()` for a
    /// subchannel), with its `channels/<relid>/` directory if the device has its `channels`
    /// directory already (else the directory comes with it). Called by the bus in process
    /// context.
    ///
    /// # Errors
    ///
    /// [`ENOMEM`], or the kobject core's error for the directory.
    pub(crate) fn add_subchannel(&self, sub: Arc<Channel>) -> Result {
        let mut subs = self.subs.lock();
        let dir = match &subs.kset {
            Some(kset) => Some(ChannelDir::create(kset, sub.clone())?),
            None => None,
        };
        subs.list.push(
            SubEntry {
                channel: sub,
                dir,
                delivered: false,
            },
            GFP_KERNEL,
        )?;
        Ok(())
    }

    /// Offers the subchannels it has not seen to the bound driver's handler, if it set one.
    /// Called by the bus in process context (its subchannel worker, `hv_sub_chan`).
    pub(crate) fn deliver_subchannels(&self) {
        let mut subs = self.subs.lock();
        let Some(handler) = subs.handler.clone() else {
            return;
        };
        for e in subs.list.iter_mut() {
            if e.delivered || e.channel.is_rescinded() {
                continue;
            }
            e.delivered = true;
            // The lock stays held: the bus cannot close the subchannels (unbind) or remove one
            // (rescind) while the driver opens it.
            handler.offered(&SubchannelOffer {
                channel: &e.channel,
            });
        }
    }

    /// Removes subchannel `sub` of this primary channel after the host rescinded it: its
    /// directory goes, it is closed if open, and the driver's handler is told. Called by the
    /// bus in process context.
    pub(crate) fn remove_subchannel(&self, sub: &Channel) {
        let mut subs = self.subs.lock();
        let i = subs
            .list
            .iter()
            .position(|e| ptr::eq(Arc::as_ptr(&e.channel), sub));
        let entry = i.and_then(|i| subs.list.remove(i).ok());
        sub.close_open(None);
        if let Some(entry) = entry {
            if entry.delivered {
                if let Some(h) = &subs.handler {
                    h.rescinded(sub);
                }
            }
        }
    }

    /// Closes the open subchannels of this primary channel (`vmbus_close()` closes them before
    /// the primary channel). With `unbind`, it also forgets the driver's handler: the next
    /// driver bound is offered every subchannel the host has not rescinded.
    pub(crate) fn close_subchannels(&self, unbind: bool) {
        let mut subs = self.subs.lock();
        if unbind {
            subs.handler = None;
        }
        for e in subs.list.iter_mut() {
            e.channel.close_open(None);
            if unbind {
                e.delivered = false;
                // A `ring` file the driver showed goes with it; the lock held keeps the
                // directory.
                if e.channel.ring_file_size.xchg(0, Full) != 0 {
                    e.channel.update_dir();
                }
            }
        }
    }

    /// Sets the bound driver's subchannel handler and has the bus offer it the subchannels it
    /// has not seen.
    fn set_subchannel_handler(self: &Arc<Self>, handler: Arc<dyn SubchannelHandler>) {
        self.subs.lock().handler = Some(handler);
        self.control.as_arc_borrow().schedule_subchannels(self);
    }

    /// Publishes the device's `channels` kset and creates the directories of the subchannels
    /// added before it existed.
    pub(crate) fn attach_kset(&self, kset: ChannelKset) {
        let mut subs = self.subs.lock();
        for e in subs.list.iter_mut() {
            if e.dir.is_none() {
                match ChannelDir::create(&kset, e.channel.clone()) {
                    Ok(d) => e.dir = Some(d),
                    Err(err) => pr_err!(
                        "channel {}: no sysfs directory: {:?}\n",
                        e.channel.relid(),
                        err
                    ),
                }
            }
        }
        subs.kset = Some(kset);
    }

    /// Removes the subchannel directories and forgets the kset, before it is unregistered.
    pub(crate) fn detach_kset(&self) {
        let mut subs = self.subs.lock();
        subs.kset = None;
        for e in subs.list.iter_mut() {
            e.dir = None;
        }
    }

    /// Forgets the subchannels once the connection is gone, which breaks the reference cycle
    /// between a primary channel and its subchannels.
    pub(crate) fn forget_subchannels(&self) {
        let mut subs = self.subs.lock();
        subs.handler = None;
        subs.list.clear();
    }
}

/// Tears the ring GPADL down and frees the rings, or leaks them if the host may still use them.
fn teardown(channel: &Channel, gpadl: u32, buffer: Arc<SharedBuffer>) {
    match channel
        .control
        .as_arc_borrow()
        .teardown_gpadl(channel, gpadl)
    {
        Err(e) if e == ETIMEDOUT => {
            pr_err!(
                "channel {}: GPADL {:#x} not torn down, leaking its {} bytes\n",
                channel.relid(),
                gpadl,
                buffer.len()
            );
            core::mem::forget(buffer);
        }
        _ => drop(buffer),
    }
}

/// Holds off CPU hotplug while alive (`cpus_read_lock()` / `cpus_read_unlock()`).
struct CpuHotplugReadGuard(());

impl CpuHotplugReadGuard {
    fn new() -> Self {
        // SAFETY: Process context (a sysfs write); released by `drop`.
        unsafe { bindings::cpus_read_lock() };
        Self(())
    }
}

impl Drop for CpuHotplugReadGuard {
    fn drop(&mut self) {
        // SAFETY: Taken in `new`.
        unsafe { bindings::cpus_read_unlock() };
    }
}

/// What a driver does when its channel has packets (`onchannel_callback`).
pub trait ChannelHandler: Send + Sync {
    /// The host signalled the channel: receive its packets with [`ChannelIo::recv`] until it
    /// returns `None`. Runs in softirq context; must not sleep. Packets that arrive while it
    /// runs make it run again.
    fn on_channel_event(&self, io: &ChannelIo<'_>);
}

/// What user space does in a channel's rings when the host signals it, for
/// [`OpenChannel::open_user`].
pub trait ChannelIsrHandler: Send + Sync {
    /// The host signalled the channel (`HV_CALL_ISR`). Runs in hard-IRQ context: it must not
    /// sleep, and it must not read or write the rings, which belong to user space.
    fn on_interrupt(&self);
}

/// How a host signal reaches the driver (`channel->callback_mode`).
enum Callback {
    /// `HV_CALL_BATCHED`: the kernel reads the rings in the handler's BH work.
    Batched(Arc<dyn ChannelHandler>),
    /// `HV_CALL_ISR`: user space owns the rings; the handler runs in the interrupt.
    Isr(Arc<dyn ChannelIsrHandler>),
}

/// The rings and handler of an open channel.
#[pin_data]
struct OpenState {
    channel: Arc<Channel>,
    buffer: Arc<SharedBuffer>,
    /// The ring GPADL.
    gpadl: u32,
    out_mem: PageRing,
    in_mem: PageRing,
    #[pin]
    outbound: IrqSpinLock<Outbound>,
    /// Only the handler reads the inbound ring, in the BH work, which never runs concurrently.
    #[pin]
    inbound: SpinLock<IncomingRing<PageRing>>,
    callback: Callback,
    closing: Atomic<bool>,
    /// Set on the first corrupt ring: the channel is dead.
    failed: Atomic<bool>,
    /// A sender waits for room in the outbound ring ([`OpenChannel::send_inband_wait`]).
    waiting: Atomic<bool>,
    /// Completed by the handler's work after a host signal (or by the close) while a sender
    /// waits for room.
    #[pin]
    room: Completion,
    /// One sender waits for room at a time: they share the ring's `pending_send_sz`.
    #[pin]
    send_wait: Mutex<()>,
    #[pin]
    work: Work<OpenState>,
}

/// The outbound ring and its "was full" flag (`out_full_flag`).
struct Outbound {
    ring: OutgoingRing<PageRing>,
    full: bool,
}

impl_has_work! {
    impl HasWork<Self> for OpenState { self.work }
}

impl WorkItem for OpenState {
    type Pointer = Arc<OpenState>;

    /// Runs the handler (`vmbus_on_event()`).
    fn run(this: Arc<OpenState>) {
        if this.closing.load(Relaxed) || this.failed.load(Relaxed) {
            return;
        }
        if this.waiting.load(Relaxed) {
            // The host signalled: it may have read the outbound ring and found the
            // `pending_send_sz` bytes free, so the waiting sender tries again. (Here, not in the
            // interrupt: `complete_all()` is not for hard-IRQ context on PREEMPT_RT.)
            this.room.complete_all();
        }
        let Callback::Batched(handler) = &this.callback else {
            return;
        };
        this.channel.fuzz_delay(false);
        handler.on_channel_event(&ChannelIo { open: &this });
        if this.closing.load(Relaxed) {
            return;
        }
        // `hv_end_read()`: unmask; if packets came meanwhile, no signal will announce them.
        let pending = this.inbound.lock().end_read();
        match pending {
            Ok(0) => {}
            Ok(_) => {
                this.mask_inbound(true);
                drop(workqueue::system_bh().enqueue(this.clone()));
            }
            Err(e) => this.fail(e),
        }
    }
}

impl OpenState {
    /// Returns `true` if user space owns the rings ([`OpenChannel::open_user`]).
    fn is_user(&self) -> bool {
        matches!(self.callback, Callback::Isr(_))
    }

    /// Sets the inbound ring's `interrupt_mask` (`hv_begin_read()` / the first half of
    /// `hv_end_read()`).
    fn mask_inbound(&self, masked: bool) {
        use crate::proto::ring::{ControlField, RingMem};
        self.in_mem
            .write_control(ControlField::InterruptMask, u32::from(masked));
        self.in_mem.mb();
    }

    fn ring_debug(&self, direction: RingDirection) -> RingDebugInfo {
        use crate::proto::ring::{ControlField, RingMem};
        let mem = match direction {
            RingDirection::Out => &self.out_mem,
            RingDirection::In => &self.in_mem,
        };
        let read_index = mem.read_control(ControlField::ReadIndex);
        let write_index = mem.read_control(ControlField::WriteIndex);
        let size = mem.data_len();
        // `hv_get_ringbuffer_availbytes()`, on whatever the indices say (sysfs shows it as is).
        let to_read = if write_index >= read_index {
            write_index - read_index
        } else {
            size.wrapping_sub(read_index).wrapping_add(write_index)
        };
        RingDebugInfo {
            interrupt_mask: mem.read_control(ControlField::InterruptMask),
            read_index,
            write_index,
            bytes_avail_toread: to_read,
            bytes_avail_towrite: size.wrapping_sub(to_read),
        }
    }

    /// Fails the channel after the host corrupted a ring.
    fn fail(&self, e: RingError) {
        if !self.failed.xchg(true, Relaxed) {
            pr_err!(
                "channel {}: {}; the channel is disabled\n",
                self.channel.relid(),
                e
            );
        }
    }

    /// Unmasks (or masks) the host's interrupts of a channel open for user space, and signals
    /// the host when unmasking without monitored notification (`set_event()` of
    /// `uio_hv_generic`). Does nothing for a channel the kernel reads: its handler owns the
    /// mask.
    fn set_user_interrupt(&self, enabled: bool) {
        if !self.is_user() {
            return;
        }
        self.mask_inbound(!enabled);
        let channel = &self.channel;
        if enabled && !channel.monitor_allocated() {
            // `mask_inbound()` ends with `virt_mb()`: the host sees the mask first.
            channel.signal_host();
        }
    }

    /// Writes a packet and signals the host if needed (`hv_ringbuffer_write()`).
    fn send(&self, pkt: &OutgoingPacket<'_>, payload: &[&[u8]]) -> Result {
        if self.failed.load(Relaxed) {
            return Err(EIO);
        }
        if self.is_user() {
            // The outbound ring's write index belongs to user space.
            return Err(EBUSY);
        }
        if self.channel.is_rescinded() || self.closing.load(Relaxed) {
            return Err(ENODEV);
        }
        let stats = &self.channel.stats;
        let signal = {
            let mut out = self.outbound.lock();
            match out.ring.write_packet(pkt, payload) {
                Ok(signal) => {
                    out.full = false;
                    signal
                }
                Err(RingError::Full) => {
                    ChannelStats::inc(&stats.out_full_total);
                    if !out.full {
                        out.full = true;
                        ChannelStats::inc(&stats.out_full_first);
                    }
                    return Err(EAGAIN);
                }
                Err(RingError::TooLarge | RingError::InvalidArgument) => return Err(EINVAL),
                Err(e) => {
                    drop(out);
                    self.fail(e);
                    return Err(EIO);
                }
            }
        };
        if signal {
            ChannelStats::inc(&stats.intr_out_empty);
            self.channel.signal_host();
        }
        Ok(())
    }
}

impl OpenState {
    /// Writes a packet as [`OpenState::send`], waiting up to `timeout` for room while the
    /// outbound ring is full, with `pending_send_sz` set so that the host signals when it made
    /// room (`hv_ringbuffer_write()` callers that wait, e.g. netvsc's queue wake-up).
    fn send_wait(&self, pkt: &OutgoingPacket<'_>, payload: &[&[u8]], timeout: Delta) -> Result {
        let payload_len = payload
            .iter()
            .fold(0usize, |n, p| n.saturating_add(p.len()));
        // A write of `need` bytes (trailer included) needs strictly more than `need` free.
        let need = OutgoingRing::<PageRing>::packet_len(pkt.ext_header.len(), payload_len)
            .map_err(|_| EINVAL)?
            .saturating_add(VMBUS_PKT_TRAILER);
        let _serial = self.send_wait.lock();
        let start = Instant::<Monotonic>::now();
        let mut waited = false;
        let result = loop {
            match self.send(pkt, payload) {
                Err(e) if e == EAGAIN => {}
                r => break r,
            }
            self.room.reinit();
            self.waiting.store(true, Relaxed);
            // Ask for a signal, then look again: the host may have made room before it could
            // see the request.
            let free = {
                let out = self.outbound.lock();
                out.ring.set_pending_send_size(need);
                out.ring.free_bytes()
            };
            match free {
                Ok(n) if n > need => continue,
                Ok(_) => {}
                Err(e) => {
                    self.fail(e);
                    break Err(EIO);
                }
            }
            if self.closing.load(Relaxed) {
                break Err(ENODEV);
            }
            let left = timeout - start.elapsed();
            if left <= Delta::ZERO {
                break Err(ETIMEDOUT);
            }
            if !waited {
                waited = true;
                ChannelStats::inc(&self.channel.stats.send_waits);
            }
            if let Err(e) = self.room.wait_interruptible_timeout(left) {
                break Err(e);
            }
        };
        self.waiting.store(false, Relaxed);
        self.outbound.lock().ring.clear_pending_send_size();
        result
    }
}

/// `ENOBUFS`, which `kernel::error::code` lacks.
fn enobufs() -> Error {
    Error::from_errno(-(bindings::ENOBUFS as i32))
}

/// A packet received by [`ChannelIo::recv`].
#[derive(Copy, Clone, Debug)]
pub struct RecvPacket {
    /// Packet type (`VM_PKT_*`).
    pub packet_type: PacketType,
    /// Transaction id; echo it in the completion.
    pub trans_id: u64,
    /// The sender asks for a completion.
    pub completion_requested: bool,
    /// Payload bytes copied, padding included.
    pub len: usize,
}

/// Access to an open channel's rings from its handler.
pub struct ChannelIo<'a> {
    open: &'a OpenState,
}

impl ChannelIo<'_> {
    /// Returns the channel.
    pub fn channel(&self) -> &Channel {
        &self.open.channel
    }

    /// Copies the next packet's payload into `buf` and consumes it (`vmbus_recvpacket()`);
    /// `None` if the ring is empty.
    ///
    /// # Errors
    ///
    /// [`ENOBUFS`] if `buf` is too small (the packet stays), [`EIO`] if the host corrupted the
    /// ring (the channel is then disabled).
    pub fn recv(&self, buf: &mut [u8]) -> Result<Option<RecvPacket>> {
        self.read_one(|ring| {
            let (info, len) = ring.read_packet(buf)?;
            Ok(RecvPacket {
                packet_type: info.packet_type,
                trans_id: info.trans_id,
                completion_requested: info.completion_requested(),
                len,
            })
        })
    }

    /// Reads one packet with `read` under the inbound ring's lock and commits the read,
    /// signalling the host if it waits for room (`hv_pkt_iter_close()`); `None` if the ring is
    /// empty. [`RingError::BufferTooSmall`] is [`ENOBUFS`] and leaves the packet; any other
    /// error disables the channel and is [`EIO`].
    fn read_one<T>(
        &self,
        read: impl FnOnce(&mut IncomingRing<PageRing>) -> core::result::Result<T, RingError>,
    ) -> Result<Option<T>> {
        if self.open.failed.load(Relaxed) {
            return Err(EIO);
        }
        self.open.channel.fuzz_delay(true);
        let (result, signal) = {
            let mut ring = self.open.inbound.lock();
            match read(&mut ring) {
                Ok(t) => (Ok(Some(t)), ring.commit_read()),
                Err(RingError::Empty) => (Ok(None), false),
                Err(RingError::BufferTooSmall { .. }) => (Err(enobufs()), false),
                Err(e) => {
                    drop(ring);
                    self.open.fail(e);
                    (Err(EIO), false)
                }
            }
        };
        if signal {
            ChannelStats::inc(&self.open.channel.stats.intr_in_full);
            self.open.channel.signal_host();
        }
        result
    }

    /// Sends an in-band packet (`vmbus_sendpacket()`), see [`OpenChannel::send_inband`].
    ///
    /// # Errors
    ///
    /// As [`OpenChannel::send_inband`].
    pub fn send_inband(&self, payload: &[&[u8]], trans_id: u64, completion: bool) -> Result {
        self.open
            .send(&OutgoingPacket::inband(trans_id, completion), payload)
    }

    /// Sends the completion of request `trans_id` with `payload`.
    ///
    /// # Errors
    ///
    /// As [`OpenChannel::send_inband`].
    pub fn send_completion(&self, payload: &[&[u8]], trans_id: u64) -> Result {
        self.open
            .send(&OutgoingPacket::completion(trans_id), payload)
    }
}

/// What a driver does with the subchannels of its device (`sc_creation_callback`,
/// `chn_rescind_callback` of a subchannel).
///
/// Set by the driver with [`Device::set_subchannel_handler`] (in `probe`, before it asks the
/// host for subchannels, e.g. storvsc's CREATE_SUB_CHANNELS); forgotten by the bus when the
/// driver unbinds.
pub trait SubchannelHandler: Send + Sync {
    /// The host offered a subchannel of the device, or the driver just set its handler and the
    /// subchannel was offered before. Runs in process context on the bus's subchannel worker
    /// (`hv_sub_chan`), once per subchannel and binding; it may sleep, and it opens the
    /// subchannel with [`SubchannelOffer::open`] if it wants it. While it runs, the bus neither
    /// unbinds the driver nor removes a subchannel, so it must not wait for those, nor call
    /// [`Channel::for_each_channel`] on the device's channel.
    fn offered(&self, offer: &SubchannelOffer<'_>);

    /// The host rescinded a subchannel that was offered to this handler. The bus has already
    /// closed it (sends fail with [`ENODEV`]); its relid is released once this returns.
    /// Runs in process context, as [`SubchannelHandler::offered`].
    fn rescinded(&self, channel: &Channel) {
        let _ = channel;
    }
}

/// A subchannel offered to the bound driver, valid during [`SubchannelHandler::offered`].
pub struct SubchannelOffer<'a> {
    channel: &'a Arc<Channel>,
}

impl SubchannelOffer<'_> {
    /// Returns the subchannel.
    pub fn channel(&self) -> &Arc<Channel> {
        self.channel
    }

    /// Opens the subchannel with rings of the given sizes; `handler` runs when the host
    /// signals it (`vmbus_open()` of a subchannel). May sleep.
    ///
    /// # Errors
    ///
    /// As [`OpenChannel::open`].
    pub fn open(
        &self,
        params: &OpenParams<'_>,
        handler: Arc<dyn ChannelHandler>,
    ) -> Result<OpenSubchannel> {
        let rings = RingBuffer::new(params.send_ring_size, params.recv_ring_size)?;
        let open = self
            .channel
            .open_rings(&rings, params.userdata, Callback::Batched(handler))?;
        Ok(OpenSubchannel { open })
    }

    /// Opens the subchannel over `rings` for user space, see [`OpenChannel::open_user`]
    /// (`vmbus_open()` of a subchannel with `HV_CALL_ISR`, as `uio_hv_generic` does). May
    /// sleep.
    ///
    /// # Errors
    ///
    /// As [`OpenChannel::open`].
    pub fn open_user(
        &self,
        rings: &RingBuffer,
        handler: Arc<dyn ChannelIsrHandler>,
    ) -> Result<OpenSubchannel> {
        let open = self
            .channel
            .open_rings(rings, &[], Callback::Isr(handler))?;
        Ok(OpenSubchannel { open })
    }

    /// Shows the binary `ring` file in the subchannel's sysfs directory, see
    /// [`Device::show_ring_file`] (`hv_create_ring_sysfs()` of a subchannel). The bus hides it
    /// again when the driver unbinds.
    pub fn show_ring_file(&self, rings: &RingBuffer) {
        self.channel.ring_file_size.xchg(rings.len(), Full);
        // The caller, `deliver_subchannels`, holds the subchannel list's lock, under which
        // subchannel directories are removed: the directory cannot go meanwhile.
        self.channel.update_dir();
    }
}

/// An open subchannel, closed on drop (`vmbus_open()` / `vmbus_close()` of a subchannel).
///
/// Unlike [`OpenChannel`] it borrows nothing, so a driver can keep it wherever its data
/// reaches it (a per-CPU table of channels, its [`SubchannelHandler`]). The bus guarantees that
/// it does not outlive the binding: it closes every open subchannel when the driver unbinds
/// (before the device's primary channel closes, as `vmbus_close()` does), when the primary
/// channel is closed, and when the host rescinds the subchannel. After that its sends fail
/// with [`ENODEV`] and dropping it does nothing more. Dropping it may sleep; it must not be
/// dropped from its own channel's handler.
pub struct OpenSubchannel {
    open: Arc<OpenState>,
}

impl OpenSubchannel {
    /// Returns the subchannel.
    pub fn channel(&self) -> &Channel {
        &self.open.channel
    }

    /// Sends an in-band packet, see [`OpenChannel::send_inband`].
    ///
    /// # Errors
    ///
    /// As [`OpenChannel::send_inband`]; [`ENODEV`] once closed.
    pub fn send_inband(&self, payload: &[&[u8]], trans_id: u64, completion: bool) -> Result {
        self.open
            .send(&OutgoingPacket::inband(trans_id, completion), payload)
    }

    /// Sends an in-band packet, waiting for room, see [`OpenChannel::send_inband_wait`].
    ///
    /// # Errors
    ///
    /// As [`OpenChannel::send_inband_wait`].
    pub fn send_inband_wait(
        &self,
        payload: &[&[u8]],
        trans_id: u64,
        completion: bool,
        timeout: Delta,
    ) -> Result {
        self.open.send_wait(
            &OutgoingPacket::inband(trans_id, completion),
            payload,
            timeout,
        )
    }

    /// Unmasks or masks the host's interrupts of a subchannel open for user space, see
    /// [`OpenChannel::set_user_interrupt`].
    pub fn set_user_interrupt(&self, enabled: bool) {
        self.open.set_user_interrupt(enabled);
    }
}

impl Drop for OpenSubchannel {
    /// Closes the subchannel unless the bus closed it already.
    fn drop(&mut self) {
        self.open.channel.close_open(Some(&self.open));
    }
}

/// The sizes and user data of [`OpenChannel::open`].
#[derive(Copy, Clone, Debug)]
pub struct OpenParams<'a> {
    /// Size of the outbound ring in bytes, its 4 KiB control page included; a multiple of
    /// 4 KiB, at least two pages.
    pub send_ring_size: usize,
    /// Size of the inbound ring in bytes, as `send_ring_size`.
    pub recv_ring_size: usize,
    /// Bytes for the host's endpoint in OPENCHANNEL, at most 120.
    pub userdata: &'a [u8],
}

/// An open channel, closed on drop (`vmbus_open()` / `vmbus_close()`).
///
/// It borrows the bound device, so it lives in the driver's `Data<'bound>` and is closed at
/// the latest when the driver unbinds.
pub struct OpenChannel<'bound> {
    _dev: &'bound Device<device::Bound>,
    open: Arc<OpenState>,
}

impl<'bound> OpenChannel<'bound> {
    /// Opens the channel of `dev` with rings of the given sizes; `handler` runs when the host
    /// signals the channel (`vmbus_open()`).
    ///
    /// # Errors
    ///
    /// [`EINVAL`] for bad sizes, [`EBUSY`] if already open, [`ENODEV`] if rescinded,
    /// [`ENOMEM`], or what the host answered ([`EIO`], [`ETIMEDOUT`]).
    pub fn open(
        dev: &'bound Device<device::Bound>,
        params: &OpenParams<'_>,
        handler: Arc<dyn ChannelHandler>,
    ) -> Result<Self> {
        let rings = RingBuffer::new(params.send_ring_size, params.recv_ring_size)?;
        Self::open_rings(dev, &rings, params.userdata, Callback::Batched(handler))
    }

    /// Opens the channel of `dev` over `rings` for user space (`vmbus_connect_ring()` with
    /// `set_channel_read_mode(HV_CALL_ISR)`): the rings are reset, the kernel does not read
    /// or write them, and `handler` runs in the interrupt when the host signals the channel.
    /// User space maps the rings ([`RingBuffer::vmalloc_addr`], the `ring` sysfs file) and
    /// signals the host through [`OpenChannel::set_user_interrupt`]. Dropping the
    /// [`OpenChannel`] closes the channel (`vmbus_disconnect_ring()`); `rings` may be opened
    /// again afterwards.
    ///
    /// # Errors
    ///
    /// As [`OpenChannel::open`].
    pub fn open_user(
        dev: &'bound Device<device::Bound>,
        rings: &RingBuffer,
        handler: Arc<dyn ChannelIsrHandler>,
    ) -> Result<Self> {
        Self::open_rings(dev, rings, &[], Callback::Isr(handler))
    }

    fn open_rings(
        dev: &'bound Device<device::Bound>,
        rings: &RingBuffer,
        userdata: &[u8],
        callback: Callback,
    ) -> Result<Self> {
        let open = dev.channel().open_rings(rings, userdata, callback)?;
        Ok(Self { _dev: dev, open })
    }

    /// Returns the channel.
    pub fn channel(&self) -> &Channel {
        &self.open.channel
    }

    /// Sends an in-band packet with `payload` (gathered from the slices), transaction id
    /// `trans_id`, asking for a completion if `completion` (`vmbus_sendpacket()`). Signals the
    /// host only if the ring was empty and the host is not masked. Callable in any context.
    ///
    /// # Errors
    ///
    /// [`EAGAIN`] if the outbound ring is full, [`EINVAL`] for a packet that can never fit,
    /// [`ENODEV`] if rescinded, [`EIO`] if the channel failed.
    pub fn send_inband(&self, payload: &[&[u8]], trans_id: u64, completion: bool) -> Result {
        self.open
            .send(&OutgoingPacket::inband(trans_id, completion), payload)
    }

    /// Sends an in-band packet as [`OpenChannel::send_inband`], but if the outbound ring is
    /// full, waits up to `timeout` for the host to make room: it sets the ring's
    /// `pending_send_sz` to the packet's size, and the host signals the channel once that much
    /// is free (the reader side of `hv_pkt_iter_close()`). Process context only; the wait
    /// sleeps and is interruptible. Senders that wait are served one at a time.
    ///
    /// # Errors
    ///
    /// [`ETIMEDOUT`] if the ring stayed full, [`ERESTARTSYS`] if a signal interrupted the
    /// wait, [`ENODEV`] if the channel was closed or rescinded meanwhile, else as
    /// [`OpenChannel::send_inband`].
    pub fn send_inband_wait(
        &self,
        payload: &[&[u8]],
        trans_id: u64,
        completion: bool,
        timeout: Delta,
    ) -> Result {
        self.open.send_wait(
            &OutgoingPacket::inband(trans_id, completion),
            payload,
            timeout,
        )
    }
}

impl OpenChannel<'_> {
    /// Unmasks (`true`) or masks the host's signals for the inbound ring of a channel opened
    /// for user space, and signals the host when unmasking a channel without monitored
    /// notification (`set_event()` of `uio_hv_generic`: user space wrote 1 or 0 to the UIO
    /// device).
    pub fn set_user_interrupt(&self, enabled: bool) {
        self.open.set_user_interrupt(enabled);
    }
}

/// A channel's two rings allocated ahead of opening (`vmbus_alloc_ring()`), for
/// [`OpenChannel::open_user`]: the outbound ring (guest to host) first, then the inbound ring,
/// each a 4 KiB control page and its data pages, virtually contiguous and zeroed.
pub struct RingBuffer {
    buffer: Arc<SharedBuffer>,
    send_size: usize,
    recv_size: usize,
}

impl RingBuffer {
    /// Allocates rings of `send_size` and `recv_size` bytes, control pages included: each a
    /// multiple of 4 KiB and at least two pages.
    ///
    /// # Errors
    ///
    /// [`EINVAL`] for bad sizes, [`ENOMEM`].
    pub fn new(send_size: usize, recv_size: usize) -> Result<Self> {
        let page = RING_HEADER_SIZE as usize;
        for size in [send_size, recv_size] {
            if size < 2 * page || size % SHARED_PAGE_SIZE != 0 {
                return Err(EINVAL);
            }
        }
        let total = send_size.checked_add(recv_size).ok_or(EINVAL)?;
        Ok(Self {
            buffer: Arc::new(SharedBuffer::new(total)?, GFP_KERNEL)?,
            send_size,
            recv_size,
        })
    }

    /// Returns the size of both rings in bytes (`ringbuffer_pagecount << PAGE_SHIFT`).
    pub fn len(&self) -> usize {
        self.buffer.len()
    }

    /// Returns `false`: rings are never empty (for the `len` convention).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Returns the size of the outbound ring in bytes.
    pub fn send_size(&self) -> usize {
        self.send_size
    }

    /// Returns the kernel (vmalloc) address of the rings, for a `UIO_MEM_VIRTUAL` map, whose
    /// page faults look the pages up with `vmalloc_to_page()` and hold a reference to each.
    pub fn vmalloc_addr(&self) -> usize {
        self.buffer.as_ptr() as usize
    }
}

impl Drop for OpenChannel<'_> {
    /// Closes the open subchannels of the channel, then stops the handler, sends CLOSECHANNEL
    /// and tears the ring GPADL down (`vmbus_close()`).
    fn drop(&mut self) {
        self.open.channel.close_open(Some(&self.open));
    }
}

/// The channels by relid, for the interrupt handler (`vmbus_connection.channels`).
///
/// # Invariants
///
/// Each non-NULL slot comes from `Arc::into_raw()` and owns that reference; a slot is cleared,
/// then an RCU grace period passes, before its reference is given back.
pub struct ChannelTable {
    slots: KVVec<Atomic<*const Channel>>,
}

// SAFETY: The slots are atomic pointers to `Send + Sync` channels.
unsafe impl Send for ChannelTable {}

// SAFETY: As above; readers use RCU.
unsafe impl Sync for ChannelTable {}

impl ChannelTable {
    /// Returns an empty table for relids below [`MAX_CHANNEL_RELIDS`].
    ///
    /// # Errors
    ///
    /// [`ENOMEM`].
    pub fn new() -> Result<Self> {
        let n = MAX_CHANNEL_RELIDS as usize;
        let mut slots = KVVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            slots.push(Atomic::new(ptr::null()), GFP_KERNEL)?;
        }
        Ok(Self { slots })
    }

    fn slot(&self, relid: u32) -> Option<&Atomic<*const Channel>> {
        self.slots.get(usize::try_from(relid).ok()?)
    }

    /// Adds `channel` at its relid. Callers serialize changes of a relid.
    ///
    /// # Errors
    ///
    /// [`EINVAL`] for a relid out of range, [`EEXIST`] if taken.
    pub fn insert(&self, channel: Arc<Channel>) -> Result {
        let slot = self.slot(channel.relid()).ok_or(EINVAL)?;
        if !slot.load(Relaxed).is_null() {
            return Err(EEXIST);
        }
        // INVARIANT: The slot owns the reference from `into_raw()`.
        slot.store(Arc::into_raw(channel), Release);
        Ok(())
    }

    /// Returns the channel of `relid`.
    pub fn get(&self, relid: u32) -> Option<Arc<Channel>> {
        let slot = self.slot(relid)?;
        let _guard = rcu::read_lock();
        let p = slot.load(Acquire);
        if p.is_null() {
            return None;
        }
        // SAFETY: A non-NULL slot's reference stays valid for an RCU grace period after it is
        // cleared (type invariant), and we hold the RCU read lock.
        let c = unsafe { ArcBorrow::from_raw(p) };
        Some(Arc::from(c))
    }

    /// Removes the channel of `relid`; may sleep (an RCU grace period).
    pub fn remove(&self, relid: u32) -> Option<Arc<Channel>> {
        let p = self.slot(relid)?.xchg(ptr::null(), Acquire);
        if p.is_null() {
            return None;
        }
        // SAFETY: Process context without RCU read locks held.
        unsafe { bindings::synchronize_rcu() };
        // SAFETY: `p` came from `into_raw()` in `insert` and the slot no longer has it.
        Some(unsafe { Arc::from_raw(p) })
    }

    /// Delivers a host interrupt for `relid` (`vmbus_chan_sched()`), in hard-IRQ context.
    pub fn interrupt(&self, relid: u32) {
        let Some(slot) = self.slot(relid) else {
            return;
        };
        let p = slot.load(Acquire);
        // SAFETY: Hard-IRQ context is an RCU read-side critical section, so a non-NULL slot's
        // channel lives for the call (type invariant).
        if let Some(channel) = unsafe { p.as_ref() } {
            if !channel.is_rescinded() {
                channel.on_interrupt();
            }
        }
    }

    /// Calls `f` for every channel.
    pub fn for_each(&self, mut f: impl FnMut(&Arc<Channel>)) {
        for relid in 0..MAX_CHANNEL_RELIDS {
            if let Some(c) = self.get(relid) {
                f(&c);
            }
        }
    }
}

impl ChannelTable {
    /// Removes every channel, with one RCU grace period for all; may sleep.
    pub fn clear(&self) {
        let mut taken = KVec::new();
        for slot in self.slots.iter() {
            let p = slot.xchg(ptr::null(), Acquire);
            if p.is_null() {
                continue;
            }
            if taken.push(p, GFP_KERNEL).is_err() {
                // No memory to batch: wait for this one alone.
                // SAFETY: Process context without RCU read locks held.
                unsafe { bindings::synchronize_rcu() };
                // SAFETY: `p` came from `into_raw()` and the slot no longer has it.
                drop(unsafe { Arc::from_raw(p) });
            }
        }
        if taken.is_empty() {
            return;
        }
        // SAFETY: Process context without RCU read locks held.
        unsafe { bindings::synchronize_rcu() };
        for p in taken {
            // SAFETY: `p` came from `into_raw()` and its slot no longer has it.
            drop(unsafe { Arc::from_raw(p) });
        }
    }
}

impl Drop for ChannelTable {
    fn drop(&mut self) {
        // `&mut self`: no reader exists (they all hold `&self`), so no grace period is needed.
        for slot in self.slots.iter() {
            let p = slot.xchg(ptr::null(), Acquire);
            if !p.is_null() {
                // SAFETY: `p` came from `into_raw()` and the slot no longer has it.
                drop(unsafe { Arc::from_raw(p) });
            }
        }
    }
}

impl<'a> Device<device::Core<'a>> {
    /// Shows the binary `ring` file in the sysfs directory of the device's channel, `rings.len()`
    /// bytes, whose `mmap` maps `rings` while they are open for user space
    /// (`hv_create_ring_sysfs()`). If the directory does not exist yet, it is created with
    /// the file.
    pub fn show_ring_file(&self, rings: &RingBuffer) {
        let channel = self.channel();
        channel.ring_file_size.xchg(rings.len(), Full);
        channel.update_dir();
    }

    /// Hides the `ring` file again (`hv_remove_ring_sysfs()`); existing maps stay valid.
    pub fn hide_ring_file(&self) {
        let channel = self.channel();
        channel.ring_file_size.xchg(0, Full);
        channel.update_dir();
    }

    /// Sets the driver's handler of the device's subchannels (`vmbus_set_sc_create_callback()`):
    /// every subchannel the host offers from now on, and each one it offered before, is
    /// passed to `handler` on the bus's subchannel worker. The bus forgets the handler, and
    /// closes the open subchannels, when the driver unbinds.
    pub fn set_subchannel_handler(&self, handler: Arc<dyn SubchannelHandler>) {
        self.channel().set_subchannel_handler(handler);
    }

    /// Opens the device's channel, see [`OpenChannel::open`].
    ///
    /// # Errors
    ///
    /// As [`OpenChannel::open`].
    pub fn open_channel<'bound>(
        &'bound self,
        params: &OpenParams<'_>,
        handler: Arc<dyn ChannelHandler>,
    ) -> Result<OpenChannel<'bound>> {
        OpenChannel::open(self, params, handler)
    }
}
