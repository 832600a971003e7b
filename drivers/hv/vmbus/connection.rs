// SPDX-License-Identifier: GPL-2.0

//! The VMBus connection: version negotiation, the host's channel messages, offers, the
//! control-path requests of channels, unload.
//!
//! C source: `drivers/hv/connection.c` (`vmbus_connect()`, `vmbus_negotiate_version()`,
//! `vmbus_post_msg()`), `drivers/hv/channel_mgmt.c` (`vmbus_request_offers()`,
//! `vmbus_initiate_unload()`, the message handlers), `drivers/hv/channel.c`
//! (`__vmbus_establish_gpadl()`, `__vmbus_open()`, `vmbus_teardown_gpadl()`,
//! `vmbus_close_internal()`), `drivers/hv/vmbus_drv.c` (`vmbus_on_msg_dpc()`,
//! `vmbus_onmessage_work()`).
//!
//! The protocol itself is [`crate::proto::connection::Connection`], a sans-I/O state machine;
//! this file drives it. Messages from the host arrive in BH context ([`synic::Handler`]), are
//! copied into a work item and processed in order on the `hv_vmbus_con` workqueue under
//! [`Vmbus::state`]'s mutex; what the state machine posts goes out with `HvPostMessage` right
//! away, and what it reports wakes the waiters. Nothing here blocks in the interrupt handler,
//! and the message worker never waits for the host.
//!
//! Every wait on the host is bounded; a host that does not answer makes the operation fail
//! with a message instead of hanging (and memory the host may still use is leaked, not freed).

#![forbid(unsafe_code)]

use kernel::{
    alloc::KVVec,
    cpu::{nr_cpu_ids, CpuId},
    device, new_mutex, new_work,
    page::PAGE_SHIFT,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{Atomic, Relaxed},
        Arc, ArcBorrow, Mutex,
    },
    time::Delta,
    workqueue::{impl_has_work, Work, WorkItem},
};
use zerocopy::FromBytes;

use crate::channel_mgmt::{CpuSpread, DeviceEntry, DeviceOp, DeviceWork};
use crate::hv::{
    channel::{Channel, ChannelControl, ChannelTable},
    hypercall, hypervisor,
    monitor::{MonitorPage, MonitorPages},
    sync::Completion,
    synic,
    workqueue::OrderedQueue,
};
use crate::proto::{
    connection::{
        Action, Channel as ChannelSlot, ConnError, ConnectParams, Connection, ConnectionState,
        GpadlEntry, OpenParams, Outbox, Table,
    },
    gpadl::GpadlType,
    synic::{HvMessage, HvStatus},
    vmbus::{
        FeatureFlags, MessageHeader, MessageType, OfferChannel, ParseError, Version,
        CHANNELMSG_COUNT, MAX_CHANNEL_RELIDS,
    },
};

/// The CPU that receives the channel messages (`VMBUS_CONNECT_CPU`): the host is told its VP in
/// INITIATE_CONTACT and it cannot be changed while connected.
pub(crate) const CONNECT_CPU: u32 = 0;

/// Most GPADLs at once: a ring per possible channel, and the few data buffers (netvsc's send
/// and receive buffers, uio's) of the channels that have them.
const MAX_GPADLS: usize = 2 * MAX_CHANNEL_RELIDS as usize;

/// How long version negotiation may take in all. The C driver waits forever for each answer;
/// Hyper-V answers at once, so a host silent for this long is broken.
const CONTACT_TIMEOUT: Delta = Delta::from_secs(30);
/// How long to wait for ALLOFFERS_DELIVERED (`vmbus_request_offers()`: 60 s, then go on).
const OFFERS_TIMEOUT: Delta = Delta::from_secs(60);
/// How long to wait for UNLOAD_RESPONSE. The C driver waits forever on module exit (and up to
/// 100 s when crashing); a host may take tens of seconds to flush its disk caches first.
const UNLOAD_TIMEOUT: Delta = Delta::from_secs(60);
/// How long to wait for the answer to a channel request (GPADL, open). The C driver waits
/// forever unless the channel is rescinded.
const REQUEST_TIMEOUT: Delta = Delta::from_secs(30);
/// How many host protocol errors are logged per connection before the rest are only counted.
const LOGGED_HOST_ERRORS: u32 = 32;

/// A connection table on the heap (`kvmalloc`), so its thousands of slots never touch the stack.
pub(crate) struct Slots<T>(KVVec<Option<T>>);

impl<T: Clone> Slots<T> {
    fn new(n: usize) -> Result<Self> {
        Ok(Self(KVVec::from_elem(None, n, GFP_KERNEL)?))
    }
}

impl<T> Table<T> for Slots<T> {
    fn slots(&self) -> &[Option<T>] {
        &self.0
    }

    fn slots_mut(&mut self) -> &mut [Option<T>] {
        &mut self.0
    }
}

/// The protocol state machine with its heap tables.
pub(crate) type Conn = Connection<Slots<ChannelSlot>, Slots<GpadlEntry>>;

/// What a waiting channel request waits for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum RequestKind {
    /// GPADL_CREATED for this handle.
    GpadlCreated(u32),
    /// GPADL_TORNDOWN for this handle.
    GpadlTorndown(u32),
    /// OPENCHANNEL_RESULT.
    OpenResult,
    /// MODIFYCHANNEL_RESPONSE (5.3+).
    ModifyResult,
}

/// A channel request waiting for the host (`struct vmbus_channel_msginfo`).
#[pin_data]
struct Request {
    #[pin]
    done: Completion,
    /// 0, or the negative errno it failed with.
    result: Atomic<i32>,
}

impl Request {
    fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                done <- Completion::new(),
                result: Atomic::new(0),
            }),
            GFP_KERNEL,
        )
    }

    fn complete(&self, result: Result) {
        self.result
            .store(result.err().map_or(0, |e| e.to_errno()), Relaxed);
        self.done.complete_all();
    }
}

/// A [`Request`] in [`State::pending`].
struct Pending {
    relid: u32,
    kind: RequestKind,
    request: Arc<Request>,
}

/// The state under [`Vmbus::state`].
pub(crate) struct State {
    /// The protocol state machine.
    pub(crate) conn: Conn,
    /// The CPUs holding a performance channel, by CPU number (`hv_numa_map`, one node).
    pub(crate) perf_cpus: CpuSpread,
    /// The channel requests waiting for the host (`chn_msg_list`).
    pending: KVec<Pending>,
    /// Set while the bus is torn down: no device is created or removed any more.
    pub(crate) removing: bool,
}

/// The VMBus connection of the guest (`struct vmbus_connection`).
#[pin_data]
pub(crate) struct Vmbus {
    /// The protocol state; the message worker and the bus's requests take it in turn.
    #[pin]
    pub(crate) state: Mutex<State>,
    /// The channels by relid; changed under [`Vmbus::state`], read by the interrupt handler.
    pub(crate) channels: ChannelTable,
    /// The devices of the primary channels; only the device worker and teardown change it.
    #[pin]
    pub(crate) devices: Mutex<KVec<DeviceEntry>>,
    /// Negotiation ended: connected, or every version refused.
    #[pin]
    negotiated: Completion,
    /// ALLOFFERS_DELIVERED arrived (`all_offers_delivered_event`).
    #[pin]
    offers_delivered: Completion,
    /// UNLOAD_RESPONSE arrived, or the version has no UNLOAD (`unload_event`).
    #[pin]
    unloaded: Completion,
    /// The negotiated version (`vmbus_proto_version`), 0 until connected.
    version: Atomic<u32>,
    /// Host protocol errors seen, for rate-limiting their messages.
    host_errors: Atomic<u32>,
    /// Processes the host's messages in order (`hv_vmbus_con`).
    messages: OrderedQueue,
    /// Adds and removes the devices of primary channels, in order (`hv_pri_chan`).
    pub(crate) device_queue: OrderedQueue,
    /// Adds and removes subchannels and offers them to drivers, in order (`hv_sub_chan`): a
    /// driver's probe on `hv_pri_chan` may wait for its subchannels.
    pub(crate) sub_queue: OrderedQueue,
    /// The VMBus root device, parent of the channel devices.
    pub(crate) parent: ARef<device::Device>,
    /// The interrupt and monitor pages (`int_page`, `monitor_pages`).
    pub(crate) pages: Arc<MonitorPages>,
}

/// Maps an error of the state machine on a request of ours.
fn request_error(e: ConnError) -> Error {
    match e {
        ConnError::Rescinded(_) => ENODEV,
        ConnError::TooManyGpadls => ENOSPC,
        ConnError::InvalidState | ConnError::UnknownChannel(_) => ENODEV,
        ConnError::Busy | ConnError::ChannelState(_) => EBUSY,
        _ => EINVAL,
    }
}

impl Vmbus {
    /// Allocates the connection's memory; nothing is sent yet. `parent` is the VMBus root
    /// device, under which the channel devices appear.
    pub(crate) fn new(parent: ARef<device::Device>) -> Result<Arc<Self>> {
        let pages = MonitorPages::new()?;
        let connect_cpu = CpuId::from_u32(CONNECT_CPU).ok_or(EINVAL)?;
        let params = ConnectParams {
            max_version: Version(crate::max_version()),
            min_version: Version::WIN8,
            target_vcpu: hypervisor::vp_index(connect_cpu),
            vtl: hypervisor::vtl(),
            interrupt_page: pages.int_page_phys_addr(),
            monitor_page1: pages.phys_addr(MonitorPage::ParentToChild),
            monitor_page2: pages.phys_addr(MonitorPage::ChildToParent),
            feature_flags: FeatureFlags(0),
        };
        let conn = Connection::with_tables(
            params,
            Slots::new(MAX_CHANNEL_RELIDS as usize)?,
            Slots::new(MAX_GPADLS)?,
        );
        let cpus = usize::try_from(nr_cpu_ids()).map_err(|_| EINVAL)?;
        let perf_cpus = CpuSpread::new(cpus)?;
        Arc::pin_init(
            try_pin_init!(Self {
                state <- new_mutex!(State {
                    conn,
                    perf_cpus,
                    pending: KVec::new(),
                    removing: false,
                }),
                channels: ChannelTable::new()?,
                devices <- new_mutex!(KVec::new()),
                negotiated <- Completion::new(),
                offers_delivered <- Completion::new(),
                unloaded <- Completion::new(),
                version: Atomic::new(0),
                host_errors: Atomic::new(0),
                messages: OrderedQueue::new(c"hv_vmbus_con")?,
                device_queue: OrderedQueue::new(c"hv_pri_chan")?,
                sub_queue: OrderedQueue::new(c"hv_sub_chan")?,
                parent,
                pages,
            }),
            GFP_KERNEL,
        )
    }

    /// Returns the negotiated version, if connected.
    pub(crate) fn version(&self) -> Option<Version> {
        match self.version.load(Relaxed) {
            0 => None,
            v => Some(Version(v)),
        }
    }

    /// Runs `f` on the state machine with an outbox, then finishes what it asked for: the next
    /// INITIATE_CONTACT after a failed post, RELID_RELEASED for an offer that could not be
    /// taken.
    pub(crate) fn with_conn<R>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Conn, &mut Out<'_>) -> R,
    ) -> R {
        let mut guard = self.state.lock();
        let State {
            conn,
            perf_cpus,
            pending,
            removing,
        } = &mut *guard;
        let mut out = Out {
            vmbus: self,
            perf_cpus,
            pending,
            removing: *removing,
            contact_failed: None,
            post_failed: false,
            dropped: None,
        };
        let r = f(conn, &mut out);
        // A failed INITIATE_CONTACT post moves on to the next connection id or version, which
        // may fail again; each round consumes a version, so this ends.
        while let Some(status) = out.contact_failed.take() {
            if let Err(e) = conn.post_failed(status, &mut out) {
                pr_err!(
                    "INITIATE_CONTACT post failed in state {:?}: {}\n",
                    conn.state(),
                    e
                );
            }
        }
        if let Some(relid) = out.dropped.take() {
            if let Err(e) = conn.drop_offer(relid, &mut out) {
                pr_err!("cannot give back the offer of relid {}: {}\n", relid, e);
            }
        }
        r
    }

    /// Negotiates the version, then asks for the offers and waits for the boot-time ones
    /// (`vmbus_connect()`, `vmbus_request_offers()`).
    ///
    /// # Errors
    ///
    /// [`ENODEV`] if no version is accepted or the host does not answer.
    pub(crate) fn connect(self: &Arc<Self>) -> Result {
        self.with_conn(|conn, out| conn.start(out))
            .map_err(|_| EINVAL)?;
        if !self.negotiated.wait_timeout(CONTACT_TIMEOUT) {
            pr_err!("no answer to INITIATE_CONTACT from the host\n");
            pr_err!("Unable to connect to host\n");
            return Err(ENODEV);
        }
        if self.version().is_none() {
            pr_err!("Unable to connect to host\n");
            return Err(ENODEV);
        }
        // REQUESTOFFERS went out with the VERSION_RESPONSE; the host sends ALLOFFERS_DELIVERED
        // after the boot-time offers. Best effort, as in C: go on after the timeout.
        if !self.offers_delivered.wait_timeout(OFFERS_TIMEOUT) {
            pr_warn!("timed out waiting for all boot-time offers to be delivered.\n");
        }
        // The offers are processed (the message queue is ordered); let their devices appear
        // before probe returns, as the C driver flushes `hv_pri_chan`.
        self.device_queue.drain();
        Ok(())
    }

    /// Unloads the connection and waits (bounded) for the host's answer
    /// (`vmbus_initiate_unload()`). Does nothing if not connected.
    pub(crate) fn unload(self: &Arc<Self>) {
        match self.with_conn(|conn, out| conn.unload(out)) {
            Ok(()) => {
                if !self.unloaded.wait_timeout(UNLOAD_TIMEOUT) {
                    pr_err!("no UNLOAD_RESPONSE from the host, continuing\n");
                }
            }
            Err(ConnError::InvalidState) => {}
            Err(e) => pr_err!("cannot unload: {}\n", e),
        }
        self.version.store(0, Relaxed);
        // Requests still waiting will not be answered any more.
        let pending = core::mem::take(&mut self.state.lock().pending);
        for p in pending {
            p.request.complete(Err(ENODEV));
        }
    }

    /// Queues `op` on its worker: devices on `hv_pri_chan`, subchannels on `hv_sub_chan`.
    ///
    /// # Errors
    ///
    /// [`ENOMEM`].
    pub(crate) fn queue_device_op(self: &Arc<Self>, op: DeviceOp) -> Result {
        let sub = op.is_subchannel_op();
        let work = KBox::pin_init(
            pin_init!(DeviceWork {
                vmbus: self.clone(),
                op,
                work <- new_work!("hv_vmbus::DeviceWork"),
            }),
            GFP_KERNEL,
        )?;
        if sub {
            self.sub_queue.enqueue(work);
        } else {
            self.device_queue.enqueue(work);
        }
        Ok(())
    }

    /// Returns the primary channel of a subchannel offer: the live primary channel of the same
    /// class and instance (`vmbus_process_offer()`).
    fn find_primary(&self, offer: &OfferChannel) -> Option<Arc<Channel>> {
        let (class, instance) = (offer.offer.if_type, offer.offer.if_instance);
        let mut found = None;
        self.channels.for_each(|c| {
            if found.is_none()
                && c.primary().is_none()
                && !c.is_rescinded()
                && c.class_id() == class
                && c.instance_id() == instance
            {
                found = Some(c.clone());
            }
        });
        found
    }

    /// Waits until every queued host message has been processed.
    ///
    /// Call it once the SynIC is gone, before dropping the last reference: no message can be
    /// queued any more then, and the work items' references are released.
    pub(crate) fn drain(&self) {
        self.messages.drain();
    }

    /// Handles one host message in the message worker (`vmbus_onmessage()`).
    fn handle(self: &Arc<Self>, message: &HvMessage) {
        let result = self.with_conn(|conn, out| {
            // Not connected (yet, or any more): drop it, as `vmbus_onmessage_work()` does.
            if conn.state() == ConnectionState::Disconnected {
                return Ok(());
            }
            conn.handle_synic(message, out)
        });
        match result {
            Ok(()) => {}
            // A type of the protocol that the guest has no handler for (guest-to-host types,
            // reserved channels): dropped silently, as `vmbus_on_msg_dpc()` does.
            Err(ConnError::Parse(ParseError::UnknownType(t))) if t.0 < CHANNELMSG_COUNT => {}
            Err(e) => self.host_error(format_args!("bad message from the host: {}", e)),
        }
    }

    /// Logs a protocol error caused by the host, rate-limited per connection.
    pub(crate) fn host_error(&self, what: core::fmt::Arguments<'_>) {
        let n = self.host_errors.fetch_add(1, Relaxed);
        if n < LOGGED_HOST_ERRORS {
            pr_warn!("{}\n", what);
        } else if n == LOGGED_HOST_ERRORS {
            pr_warn!("too many host protocol errors, no longer logging them\n");
        }
    }

    /// Returns the number of channels offered and not released.
    pub(crate) fn channel_count(&self) -> usize {
        let mut n = 0;
        self.channels.for_each(|_| n += 1);
        n
    }

    /// Registers a request, runs `post` (which posts its messages under the state lock), then
    /// waits for the host's answer.
    ///
    /// `post` returns `Ok(Some(kind))` to wait for `kind`, `Ok(None)` if nothing was posted and
    /// there is nothing to wait for. On timeout `cancel` undoes the state machine's side.
    fn request(
        self: &Arc<Self>,
        relid: u32,
        post: impl FnOnce(&mut Conn, &mut Out<'_>) -> Result<Option<RequestKind>>,
        cancel: impl Fn(&mut Conn, RequestKind),
    ) -> Result {
        let request = Request::new()?;
        let kind = self.with_conn(|conn, out| -> Result<Option<RequestKind>> {
            out.pending.reserve(1, GFP_KERNEL)?;
            let Some(kind) = post(conn, out)? else {
                return Ok(None);
            };
            if out.post_failed {
                cancel(conn, kind);
                return Err(EIO);
            }
            out.pending.push(
                Pending {
                    relid,
                    kind,
                    request: request.clone(),
                },
                GFP_KERNEL,
            )?;
            Ok(Some(kind))
        })?;
        let Some(kind) = kind else {
            return Ok(());
        };
        if request.done.wait_timeout(REQUEST_TIMEOUT) {
            return match request.result.load(Relaxed) {
                0 => Ok(()),
                e => Err(Error::from_errno(e)),
            };
        }
        // No answer: forget the request, unless the answer came in meanwhile.
        let timed_out = self.with_conn(|conn, out| {
            let Some(i) = out
                .pending
                .iter()
                .position(|p| p.relid == relid && p.kind == kind)
            else {
                return false;
            };
            drop(out.pending.remove(i));
            cancel(conn, kind);
            true
        });
        if timed_out {
            pr_err!("channel {}: no answer from the host to {:?}\n", relid, kind);
            return Err(ETIMEDOUT);
        }
        match request.result.load(Relaxed) {
            0 => Ok(()),
            e => Err(Error::from_errno(e)),
        }
    }
}

impl ChannelControl for Vmbus {
    fn create_gpadl(
        self: ArcBorrow<'_, Self>,
        channel: &Channel,
        pfns: &[u64],
        kind: GpadlType,
        size: u32,
    ) -> Result<u32> {
        let this: Arc<Self> = self.into();
        let relid = channel.relid();
        let mut handle = 0;
        this.request(
            relid,
            |conn, out| {
                let shift = u32::try_from(PAGE_SHIFT).map_err(|_| EINVAL)?;
                handle = conn
                    .create_gpadl(relid, kind, pfns, shift, size, out)
                    .map_err(request_error)?;
                Ok(Some(RequestKind::GpadlCreated(handle)))
            },
            |conn, kind| {
                if let RequestKind::GpadlCreated(h) = kind {
                    let _ = conn.cancel_gpadl(relid, h);
                }
            },
        )?;
        Ok(handle)
    }

    fn teardown_gpadl(self: ArcBorrow<'_, Self>, channel: &Channel, gpadl: u32) -> Result {
        let this: Arc<Self> = self.into();
        let relid = channel.relid();
        this.request(
            relid,
            |conn, out| match conn.teardown_gpadl(relid, gpadl, out) {
                Ok(true) => Ok(Some(RequestKind::GpadlTorndown(gpadl))),
                // Rescinded, or the connection is gone: the host has let go of it.
                Ok(false) | Err(ConnError::InvalidState) => Ok(None),
                Err(e) => Err(request_error(e)),
            },
            // The state machine keeps it as tearing down; the pages are leaked.
            |_, _| {},
        )
    }

    fn open(
        self: ArcBorrow<'_, Self>,
        channel: &Channel,
        gpadl: u32,
        target_vp: u32,
        downstream_pageoffset: u32,
        userdata: &[u8],
    ) -> Result {
        let this: Arc<Self> = self.into();
        let relid = channel.relid();
        let params = OpenParams {
            ring_gpadl: gpadl,
            target_vp,
            downstream_ringbuffer_pageoffset: downstream_pageoffset,
            userdata,
        };
        this.request(
            relid,
            |conn, out| {
                conn.open_channel(relid, &params, out)
                    .map_err(request_error)?;
                Ok(Some(RequestKind::OpenResult))
            },
            |conn, _| {
                let _ = conn.cancel_open(relid);
            },
        )
    }

    fn close(self: ArcBorrow<'_, Self>, channel: &Channel) {
        let this: Arc<Self> = self.into();
        let relid = channel.relid();
        this.with_conn(|conn, out| match conn.close_channel(relid, out) {
            Ok(()) | Err(ConnError::InvalidState) => {}
            Err(e) => pr_err!("channel {}: cannot close: {}\n", relid, e),
        });
    }

    fn modify(
        self: ArcBorrow<'_, Self>,
        channel: &Channel,
        from_cpu: u32,
        to_cpu: u32,
        target_vp: u32,
    ) -> Result {
        let this: Arc<Self> = self.into();
        let relid = channel.relid();
        this.request(
            relid,
            |conn, out| {
                let ack = conn
                    .modify_channel(relid, target_vp, out)
                    .map_err(|_| EIO)?;
                Ok(ack.then_some(RequestKind::ModifyResult))
            },
            |conn, _| {
                let _ = conn.cancel_modify(relid);
            },
        )?;
        if channel.dev_type().is_perf() {
            // `hv_update_allocated_cpus()`: the old CPU is free unless another performance
            // channel still targets it.
            this.with_conn(|_, out| {
                let mut others = false;
                this.channels.for_each(|c| {
                    others |=
                        c.relid() != relid && c.dev_type().is_perf() && c.target_cpu() == from_cpu;
                });
                for (cpu, used) in [(from_cpu, others), (to_cpu, true)] {
                    if let Some(slot) = usize::try_from(cpu)
                        .ok()
                        .and_then(|i| out.perf_cpus.allocated.get_mut(i))
                    {
                        *slot = used;
                    }
                }
            });
        }
        Ok(())
    }

    fn schedule_subchannels(self: ArcBorrow<'_, Self>, primary: &Arc<Channel>) {
        let this: Arc<Self> = self.into();
        if this.state.lock().removing {
            return;
        }
        if this
            .queue_device_op(DeviceOp::Deliver(primary.clone()))
            .is_err()
        {
            pr_err!(
                "channel {}: cannot offer its subchannels: out of memory\n",
                primary.relid()
            );
        }
    }
}

/// Carries the state machine's output out while [`Vmbus::state`] is held.
pub(crate) struct Out<'a> {
    pub(crate) vmbus: &'a Arc<Vmbus>,
    /// [`State::perf_cpus`].
    pub(crate) perf_cpus: &'a mut CpuSpread,
    /// [`State::pending`].
    pending: &'a mut KVec<Pending>,
    /// [`State::removing`].
    removing: bool,
    /// A post of INITIATE_CONTACT failed with this status.
    contact_failed: Option<HvStatus>,
    /// Another post failed.
    post_failed: bool,
    /// This offer could not be taken and is to be given back (a message offers at most one).
    dropped: Option<u32>,
}

impl Out<'_> {
    /// Queues `op` on its worker.
    fn queue_device_op(&mut self, op: DeviceOp) -> Result {
        self.vmbus.queue_device_op(op)
    }

    /// Completes the request of `relid` waiting for `kind`.
    fn complete(&mut self, relid: u32, kind: RequestKind, result: Result) {
        if let Some(i) = self
            .pending
            .iter()
            .position(|p| p.relid == relid && p.kind == kind)
        {
            if let Ok(p) = self.pending.remove(i) {
                p.request.complete(result);
            }
        }
    }

    /// Takes a new offer (`vmbus_onoffer()`, `vmbus_process_offer()`): creates its channel and
    /// queues the creation of its device (a primary channel) or its addition to its primary
    /// channel (a subchannel).
    ///
    /// A subchannel whose primary channel is unknown or rescinded is given back with a message
    /// (the C driver would make a device of it), and so is a second primary channel of an
    /// instance.
    fn offer(&mut self, offer: OfferChannel) {
        let relid = offer.child_relid;
        let sub_index = offer.offer.sub_channel_index;
        let primary = if sub_index != 0 {
            let primary = self.vmbus.find_primary(&offer);
            if primary.is_none() {
                pr_warn!(
                    "subchannel {} (relid {}) of {} offered without its primary channel; released\n",
                    sub_index,
                    relid,
                    { offer.offer.if_instance }
                );
                self.dropped = Some(relid);
                return;
            }
            primary
        } else {
            if self.vmbus.find_primary(&offer).is_some() {
                // A second primary channel for one instance would be a second device of the
                // same name (C: WARN and drop).
                pr_err!(
                    "duplicate offer of {} (relid {}); released\n",
                    { offer.offer.if_instance },
                    relid
                );
                self.dropped = Some(relid);
                return;
            }
            None
        };
        let version = self.vmbus.version().unwrap_or(Version::WIN8);
        let control: Arc<dyn ChannelControl> = self.vmbus.clone();
        let channel = match Channel::new(
            offer,
            version,
            self.vmbus.pages.clone(),
            control,
            CONNECT_CPU,
            primary,
        ) {
            Ok(c) => c,
            Err(_) => {
                pr_err!("Unable to allocate channel object\n");
                self.dropped = Some(relid);
                return;
            }
        };
        if channel.dev_type() == crate::proto::devclass::DevType::Unknown && !channel.is_hvsock() {
            pr_info!("Unknown GUID: {}\n", channel.class_id());
        }
        // `hv_cpuself_used()`: the CPUs of the primary channel and its subchannels so far (the
        // table, not the primary's list, whose lock a driver may hold while it waits for us).
        let family_uses = |cpu: u32| {
            let Some(primary) = channel.primary() else {
                return false;
            };
            let mut used = primary.target_cpu() == cpu;
            self.vmbus.channels.for_each(|c| {
                used |=
                    c.target_cpu() == cpu && c.primary().is_some_and(|p| Arc::ptr_eq(p, primary));
            });
            used
        };
        let cpu = crate::channel_mgmt::init_vp_index(&channel, self.perf_cpus, family_uses);
        channel.set_target_cpu(cpu);
        if self.vmbus.channels.insert(channel.clone()).is_err() {
            // The state machine only accepts free relids below `MAX_CHANNEL_RELIDS`.
            self.dropped = Some(relid);
            return;
        }
        if self.removing {
            return;
        }
        let op = if channel.primary().is_some() {
            // Subchannels have no device of their own.
            DeviceOp::AddSub(channel)
        } else {
            DeviceOp::Add(channel)
        };
        if self.queue_device_op(op).is_err() {
            pr_err!("unable to add child device object (relid {})\n", relid);
            crate::channel_mgmt::forget(self, relid);
            self.dropped = Some(relid);
        }
    }

    /// Handles a rescind (`vmbus_onoffer_rescind()`): waiters on the channel fail, its device
    /// goes away, and the relid is released once nothing uses the channel any more.
    fn rescind(&mut self, relid: u32) {
        let channel = self.vmbus.channels.get(relid);
        if let Some(c) = &channel {
            c.rescind();
        }
        // `vmbus_rescind_cleanup()`: nobody waits for an answer that will not come.
        let mut i = 0;
        while i < self.pending.len() {
            if self.pending.get(i).is_some_and(|p| p.relid == relid) {
                if let Ok(p) = self.pending.remove(i) {
                    p.request.complete(Err(ENODEV));
                }
            } else {
                i += 1;
            }
        }
        if self.removing {
            return;
        }
        let op = match channel {
            // A subchannel goes alone; its primary channel and device stay.
            Some(c) if c.primary().is_some() => DeviceOp::RemoveSub(c),
            _ => DeviceOp::Remove(relid),
        };
        if self.queue_device_op(op).is_err() {
            pr_err!(
                "cannot handle the rescind of relid {}: out of memory\n",
                relid
            );
        }
    }
}

impl Outbox for Out<'_> {
    fn post(&mut self, connection_id: u32, message: &[u8]) {
        let initiate = MessageHeader::read_from_prefix(message)
            .is_ok_and(|(h, _)| { h.msgtype } == MessageType::INITIATE_CONTACT);
        match hypercall::post_message_retry(connection_id, message, initiate) {
            Ok(()) => {}
            Err(status) if initiate => self.contact_failed = Some(status),
            Err(status) => {
                self.post_failed = true;
                pr_err!("hv_post_msg() failed; error code:{}\n", status.0);
            }
        }
    }

    fn action(&mut self, action: Action) {
        match action {
            Action::Connected { version, .. } => {
                pr_info!("Vmbus version:{}.{}\n", version.major(), version.minor());
                self.vmbus.version.store(version.0, Relaxed);
                self.vmbus.negotiated.complete_all();
            }
            Action::ConnectFailed => self.vmbus.negotiated.complete_all(),
            Action::Offer { offer, .. } => self.offer(offer),
            Action::AllOffersDelivered => self.vmbus.offers_delivered.complete_all(),
            Action::Rescind { relid } => self.rescind(relid),
            Action::OpenAborted { relid } => {
                self.complete(relid, RequestKind::OpenResult, Err(ENODEV))
            }
            Action::OpenResult { relid, status } => {
                let result = if status == 0 { Ok(()) } else { Err(EIO) };
                if status != 0 {
                    pr_err!(
                        "channel {}: the host refused to open it ({:#x})\n",
                        relid,
                        status
                    );
                }
                self.complete(relid, RequestKind::OpenResult, result);
            }
            Action::GpadlCreated {
                relid,
                gpadl,
                status,
            } => {
                let result = if status == 0 { Ok(()) } else { Err(EIO) };
                if status != 0 {
                    pr_err!(
                        "channel {}: the host refused GPADL {:#x} ({:#x})\n",
                        relid,
                        gpadl,
                        status
                    );
                }
                self.complete(relid, RequestKind::GpadlCreated(gpadl), result);
            }
            Action::GpadlTorndown { relid, gpadl } => {
                self.complete(relid, RequestKind::GpadlTorndown(gpadl), Ok(()))
            }
            Action::ModifyResult { relid, status } => {
                let result = if status == 0 { Ok(()) } else { Err(EAGAIN) };
                self.complete(relid, RequestKind::ModifyResult, result);
            }
            Action::Unloaded => self.vmbus.unloaded.complete_all(),
        }
    }
}

/// One host message on its way from the SynIC to the message worker
/// (`struct onmessage_work_context`).
#[pin_data]
struct MessageWork {
    vmbus: Arc<Vmbus>,
    message: HvMessage,
    #[pin]
    work: Work<MessageWork>,
}

impl_has_work! {
    impl HasWork<Self> for MessageWork { self.work }
}

impl WorkItem for MessageWork {
    type Pointer = Pin<KBox<MessageWork>>;

    fn run(this: Pin<KBox<MessageWork>>) {
        this.vmbus.handle(&this.message);
    }
}

impl synic::Handler for Vmbus {
    fn channel_event(self: ArcBorrow<'_, Self>, relid: u32) {
        self.channels.interrupt(relid);
    }

    fn message(self: ArcBorrow<'_, Self>, message: &HvMessage) -> bool {
        let work = KBox::pin_init(
            pin_init!(MessageWork {
                vmbus: self.into(),
                message: *message,
                work <- new_work!("hv_vmbus::MessageWork"),
            }),
            GFP_ATOMIC,
        );
        match work {
            Ok(work) => {
                self.messages.enqueue(work);
                true
            }
            Err(_) => false,
        }
    }

    fn cpu_offline(
        self: ArcBorrow<'_, Self>,
        cpu: CpuId,
        events: &synic::PendingEvents<'_>,
    ) -> Result {
        // Disconnected (unload, panic, kexec): the CPU may go (`always_cleanup`).
        let Some(version) = self.version() else {
            return Ok(());
        };
        // The host sends every channel message to the CPU named in INITIATE_CONTACT.
        if cpu.as_u32() == CONNECT_CPU {
            return Err(EBUSY);
        }
        // Move the channels targeting it elsewhere (`hv_synic_cleanup()`); collected first, as
        // moving one waits for the host.
        let mut targeted = KVec::new();
        let mut collected = Ok(());
        self.channels.for_each(|c| {
            if c.target_cpu() == cpu.as_u32() && collected.is_ok() {
                collected = targeted.push(c.clone(), GFP_KERNEL).map_err(Error::from);
            }
        });
        collected?;
        for channel in &targeted {
            Self::pick_new_cpu(channel, cpu.as_u32(), version)?;
        }
        // An event the host raised on this CPU before it took the move into account would be
        // lost with the SynIC: wait for the handler to take it, else keep the CPU (from 4.1,
        // as C; older hosts may interrupt the old CPU for a while anyway, see `Channel::set_cpu`).
        if version >= Version::WIN10_V4_1 && events.wait() {
            return Err(EBUSY);
        }
        Ok(())
    }
}

impl Vmbus {
    /// Moves `channel` off `dying`, which goes offline, to another online CPU, else to the
    /// connect CPU (`hv_pick_new_cpu()`). The C driver starts the search at a random CPU; this
    /// starts at the next one.
    ///
    /// # Errors
    ///
    /// [`EBUSY`] before VMBus 5.3 (the host might still interrupt the dying CPU), or the error
    /// of the last move tried (a channel that is not open cannot move: [`EIO`]).
    fn pick_new_cpu(channel: &Channel, dying: u32, version: Version) -> Result {
        if version < Version::WIN10_V5_3 {
            return Err(EBUSY);
        }
        let n = nr_cpu_ids();
        let mut result = Err(EBUSY);
        // C skips every candidate of a channel on the connect CPU (it cannot be `dying`).
        if channel.target_cpu() != CONNECT_CPU {
            for candidate in Iterator::chain(dying + 1..n, 0..dying) {
                if !crate::hv::cpu_can_target(candidate) {
                    continue;
                }
                result = channel.set_cpu(candidate, CpuId::from_u32(candidate));
                if result.is_ok() {
                    return result;
                }
            }
        }
        if result.is_err() {
            result = channel.set_cpu(CONNECT_CPU, CpuId::from_u32(CONNECT_CPU));
        }
        result
    }
}
