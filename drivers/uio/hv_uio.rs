// SPDX-License-Identifier: GPL-2.0

//! The generic UIO driver for VMBus devices: user space drives a channel's rings itself.
//!
//! C source: [`drivers/uio/uio_hv_generic.c`](srctree/drivers/uio/uio_hv_generic.c); user:
//! [`tools/hv/hv_fcopy_uio_daemon.c`](srctree/tools/hv/hv_fcopy_uio_daemon.c).
//!
//! The driver binds the FCopy class by its id table (so udev loads it for the host's file-copy
//! device) and any other device through `new_id` or `driver_override`:
//!
//! ```text
//! echo <class-guid> > /sys/bus/vmbus/drivers/uio_hv_generic/new_id
//! ```
//!
//! For each device it allocates the two rings (the class's preferred size, else 2 MiB each; plus
//! the control page below 32 KiB) and registers a UIO device `uio_hv_generic`, version `0.02.1`,
//! whose maps are the rings (`txrx_rings`), the connection's interrupt page (`int_page`) and the
//! child-to-parent monitor page (`monitor_page`); it shows the binary `ring` file in the channel's
//! sysfs directory. The first open of `/dev/uioN` opens the channel with the kernel out of the
//! rings' way (`HV_CALL_ISR`), the last close closes it. A host signal counts one UIO event (a
//! blocking `read()` of `/dev/uioN` returns the count); writing 1 to `/dev/uioN` unmasks the
//! inbound ring and signals the host, writing 0 masks it. When the host rescinds the device, the
//! bus removes it: the channel is closed, the UIO device unregistered (a blocked `read()` returns
//! `EIO`) and the rings freed once nothing maps them.
//!
//! For a NIC it also allocates the receive (31 MiB) and send (16 MiB) buffers, each described to
//! the host by a GPADL of its own at probe, and maps them as `recv:<gpadl>` and `send:<gpadl>`
//! (DPDK's netvsc driver finds the handles in the names). They are torn down and freed after the
//! UIO device is unregistered.
//!
//! Subchannels the host offers (user space asks for them in the device's own protocol, as DPDK's
//! netvsc driver does) are opened for user space at once, with 2 MiB rings each, and get their
//! own `ring` file; a host signal on any of them counts on the one UIO device, and interrupt
//! control applies to all (`hv_uio_new_channel()`, `hv_uio_irqcontrol()`). They close with the
//! primary channel on the last close of `/dev/uioN`.

use core::{ffi::c_void, ptr::NonNull};

use kernel::{
    ffi::c_int,
    new_mutex,
    prelude::*,
    sync::{Arc, Mutex},
};
use vmbus::{
    hv::{
        channel::{
            Channel, ChannelIsrHandler, Gpadl, OpenChannel, OpenSubchannel, RingBuffer,
            SubchannelHandler, SubchannelOffer,
        },
        device::Device,
        driver,
        monitor::MonitorPage,
    },
    proto::guid::{HV_FCOPY, HV_NIC},
};

/// Ring size when the class has no preferred one (`SZ_2M`).
const DEFAULT_RING_SIZE: usize = 2 << 20;

/// The NIC's send buffer (`SEND_BUFFER_SIZE`).
const SEND_BUFFER_SIZE: usize = 16 << 20;

/// The NIC's receive buffer (`RECV_BUFFER_SIZE`).
const RECV_BUFFER_SIZE: usize = 31 << 20;

/// Each ring of a subchannel, control page included (`hv_uio_new_channel()`: `SZ_2M`).
const SUBCHANNEL_RING_SIZE: usize = 2 << 20;

/// Size of a ring's control page (`sizeof(struct hv_ring_buffer)`).
const RING_HEADER_SIZE: usize = 4096;

/// Linux page size, which ring sizes are rounded up to.
const PAGE_SIZE: usize = kernel::page::PAGE_SIZE;

/// `VMBUS_RING_SIZE()`: `payload` bytes, plus the control page unless the payload is at least
/// eight times its size (`VMBUS_HEADER_ADJ()`), page aligned.
fn vmbus_ring_size(payload: usize) -> Option<usize> {
    let header = if payload >= 8 * RING_HEADER_SIZE {
        0
    } else {
        RING_HEADER_SIZE
    };
    payload
        .checked_add(header)?
        .checked_next_multiple_of(PAGE_SIZE)
}

mod shim {
    //! `hv_uio_shim.c`.
    use super::*;

    /// A NIC buffer map (`struct hvrs_uio_buf`).
    #[repr(C)]
    pub(super) struct UioBuf {
        pub(super) addr: usize,
        pub(super) size: usize,
        pub(super) gpadl: u32,
    }

    extern "C" {
        pub(super) fn hvrs_uio_register(
            parent: *mut c_void,
            drv: *const c_void,
            rings: usize,
            rings_size: usize,
            int_page: usize,
            monitor_page: usize,
            recv: *const UioBuf,
            send: *const UioBuf,
            out: *mut *mut c_void,
        ) -> c_int;
        pub(super) fn hvrs_uio_unregister(uio: *mut c_void);
        pub(super) fn hvrs_uio_notify(uio: *mut c_void);
    }
}

/// A registered UIO device (`struct hvrs_uio` of the shim).
///
/// # Invariants
///
/// The pointer comes from `hvrs_uio_register()` and is not unregistered yet.
#[derive(Copy, Clone)]
struct Uio(NonNull<c_void>);

// SAFETY: The UIO device may be notified and unregistered from any thread.
unsafe impl Send for Uio {}

// SAFETY: `uio_event_notify()` is safe to call concurrently from any context.
unsafe impl Sync for Uio {}

/// What a host signal does: one UIO event (`hv_uio_channel_cb()`).
struct UioIrq(Uio);

impl ChannelIsrHandler for UioIrq {
    fn on_interrupt(&self) {
        // SAFETY: The handler runs only while its channel (the primary channel or a
        // subchannel) is open; a handler exists only once the UIO device is registered, and
        // the driver closes every channel (which waits for running handlers) and stops
        // opening subchannels before it unregisters the UIO device (`HvUio::shutdown`), so
        // the device is registered (type invariant of `Uio`).
        unsafe { shim::hvrs_uio_notify(self.0 .0.as_ptr()) };
    }
}

/// The subchannels open for user space (`hv_uio_new_channel()`).
struct SubState {
    /// Where their signals go, once the UIO device is registered.
    irq: Option<Arc<UioIrq>>,
    /// The subchannels opened; the bus closes them with the primary channel.
    open: KVec<OpenSubchannel>,
    /// Set when the driver unbinds: no more are opened.
    dead: bool,
}

/// The subchannel handler, shared with the driver.
#[pin_data]
struct Subchannels {
    #[pin]
    state: Mutex<SubState>,
}

impl Subchannels {
    /// Takes the subchannels out, to drop them outside the lock (dropping one may sleep).
    fn take(&self) -> KVec<OpenSubchannel> {
        core::mem::take(&mut self.state.lock().open)
    }

    /// Unmasks or masks the host's interrupts of every open subchannel.
    fn set_user_interrupt(&self, enabled: bool) {
        for open in self.state.lock().open.iter() {
            open.set_user_interrupt(enabled);
        }
    }
}

impl SubchannelHandler for Subchannels {
    /// Opens the new subchannel for user space and shows its `ring` file.
    fn offered(&self, offer: &SubchannelOffer<'_>) {
        let channel = offer.channel();
        // The lock is held while opening, so that unbind finds every subchannel opened.
        let mut state = self.state.lock();
        let Some(irq) = state.irq.clone().filter(|_| !state.dead) else {
            return;
        };
        let result =
            RingBuffer::new(SUBCHANNEL_RING_SIZE, SUBCHANNEL_RING_SIZE).and_then(|rings| {
                state.open.reserve(1, GFP_KERNEL)?;
                let open = offer.open_user(&rings, irq)?;
                offer.show_ring_file(&rings);
                state.open.push_within_capacity(open).map_err(|_| ENOMEM)
            });
        if let Err(e) = result {
            pr_err!(
                "vmbus_open subchannel {} (relid {}) failed: {:?}\n",
                channel.sub_channel_index(),
                channel.relid(),
                e
            );
        }
    }

    /// Forgets a rescinded subchannel, which the bus closed.
    fn rescinded(&self, channel: &Channel) {
        let gone = {
            let mut state = self.state.lock();
            let i = state
                .open
                .iter()
                .position(|o| core::ptr::eq(o.channel(), channel));
            i.and_then(|i| state.open.remove(i).ok())
        };
        drop(gone);
    }
}

/// The channel state shared with the UIO callbacks.
struct State<'bound> {
    /// The channel, open while `/dev/uioN` is.
    open: Option<OpenChannel<'bound>>,
    /// Open files of `/dev/uioN` (`refcnt`).
    users: u32,
    /// The UIO device, once registered.
    uio: Option<Uio>,
    /// Set when the driver unbinds: the channel stays closed.
    dead: bool,
}

/// What the UIO callbacks reach, through the pointer the shim hands back.
#[pin_data]
struct Inner<'bound> {
    dev: &'bound Device<kernel::device::Bound>,
    rings: RingBuffer,
    /// A NIC's receive and send buffers (`recv_gpadl`, `send_gpadl`), mapped while the UIO
    /// device is registered; dropped (torn down) with the driver's data, after it.
    nic: Option<(Gpadl, Gpadl)>,
    /// The subchannels.
    subs: Arc<Subchannels>,
    #[pin]
    state: Mutex<State<'bound>>,
}

impl Inner<'_> {
    /// The first open of `/dev/uioN` opens the channel (`hv_uio_open()`).
    fn open(&self, uio: Uio) -> Result {
        let mut state = self.state.lock();
        if state.dead {
            return Err(ENODEV);
        }
        if state.users > 0 {
            state.users += 1;
            return Ok(());
        }
        let handler = Arc::new(UioIrq(uio), GFP_KERNEL)?;
        state.open = Some(OpenChannel::open_user(self.dev, &self.rings, handler)?);
        state.users = 1;
        Ok(())
    }

    /// The last close of `/dev/uioN` closes the channel (`hv_uio_release()`).
    fn release(&self) {
        let mut state = self.state.lock();
        state.users = state.users.saturating_sub(1);
        if state.users == 0 {
            let open = state.open.take();
            drop(state);
            // The primary channel closes its subchannels first (`vmbus_disconnect_ring()`).
            drop(open);
            drop(self.subs.take());
        }
    }

    /// User space wrote `irq_state` to `/dev/uioN` (`hv_uio_irqcontrol()`).
    fn irqcontrol(&self, irq_state: i32) -> Result {
        let state = self.state.lock();
        if state.dead {
            // As C after a rescind (`info.irq = 0`).
            return Err(EIO);
        }
        if let Some(open) = &state.open {
            open.set_user_interrupt(irq_state != 0);
        }
        self.subs.set_user_interrupt(irq_state != 0);
        Ok(())
    }
}

/// Recovers the driver state from the pointer the shim hands back.
///
/// # Safety
///
/// `drv` is the pointer `HvUio::probe` registered, and the UIO device is still registered: the
/// UIO core calls back only under its `info_lock` and not after `uio_unregister_device()`,
/// which `HvUio::shutdown` calls before the last reference to `Inner` can go.
unsafe fn inner<'a>(drv: *const c_void) -> &'a Inner<'a> {
    // SAFETY: By the caller's guarantee `drv` is `Arc::as_ptr()` of a live `Inner`.
    unsafe { &*drv.cast::<Inner<'a>>() }
}

/// `open` of the UIO device.
#[no_mangle]
extern "C" fn hvrs_uio_open(drv: *const c_void, uio: *mut c_void) -> c_int {
    let Some(uio) = NonNull::new(uio) else {
        return EINVAL.to_errno();
    };
    // SAFETY: Called by the shim for the registered device `uio` with its `drv`.
    let inner = unsafe { inner(drv) };
    // INVARIANT: The shim passes its registered device.
    match inner.open(Uio(uio)) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `release` of the UIO device.
#[no_mangle]
extern "C" fn hvrs_uio_release(drv: *const c_void) -> c_int {
    // SAFETY: As in `hvrs_uio_open`.
    unsafe { inner(drv) }.release();
    0
}

/// `irqcontrol` of the UIO device.
#[no_mangle]
extern "C" fn hvrs_uio_irqcontrol(drv: *const c_void, irq_state: i32) -> c_int {
    // SAFETY: As in `hvrs_uio_open`.
    match unsafe { inner(drv) }.irqcontrol(irq_state) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// The driver's data of a bound device.
struct HvUio<'bound> {
    inner: Arc<Inner<'bound>>,
}

impl HvUio<'_> {
    /// Closes the channel and unregisters the UIO device, once (`hv_uio_remove()`, and
    /// `hv_uio_rescind()` whose work the bus does by removing the device).
    fn shutdown(&self) {
        let (open, uio) = {
            let mut state = self.inner.state.lock();
            state.dead = true;
            (state.open.take(), state.uio.take())
        };
        // Closing first: no interrupt reaches the UIO device once it is unregistered. No
        // subchannel opens after `dead` is set, and the ones open are closed with the primary
        // channel or here.
        self.inner.subs.state.lock().dead = true;
        drop(open);
        drop(self.inner.subs.take());
        if let Some(uio) = uio {
            // SAFETY: `uio` was registered (type invariant) and taken out of the state, so it
            // is unregistered once; the channels are closed, so `UioIrq` no longer uses it.
            unsafe { shim::hvrs_uio_unregister(uio.0.as_ptr()) };
        }
    }
}

impl Drop for HvUio<'_> {
    fn drop(&mut self) {
        // After `unbind` this finds nothing left to do.
        self.shutdown();
    }
}

/// The driver.
struct HvUioDriver;

vmbus::vmbus_device_table!(
    VMBUS_TABLE,
    MODULE_VMBUS_TABLE,
    <HvUioDriver as driver::Driver>::IdInfo,
    [(driver::DeviceId::new(HV_FCOPY), ())]
);

impl driver::Driver for HvUioDriver {
    type IdInfo = ();
    type Data<'bound> = HvUio<'bound>;
    const ID_TABLE: driver::IdTable<()> = &VMBUS_TABLE;

    fn probe<'bound>(
        dev: &'bound Device<kernel::device::Core<'_>>,
        _id_info: Option<&'bound ()>,
    ) -> impl PinInit<HvUio<'bound>, Error> + 'bound {
        Self::start(dev)
    }

    fn unbind<'bound>(dev: &'bound Device<kernel::device::Core<'_>>, this: Pin<&HvUio<'bound>>) {
        dev.hide_ring_file();
        this.shutdown();
    }
}

impl HvUioDriver {
    /// Allocates the rings and registers the UIO device (`hv_uio_probe()`).
    fn start<'bound>(dev: &'bound Device<kernel::device::Core<'_>>) -> Result<HvUio<'bound>> {
        let channel = dev.channel();
        let preferred = usize::try_from(channel.dev_type().pref_ring_size()).map_err(|_| EINVAL)?;
        let payload = if preferred == 0 {
            DEFAULT_RING_SIZE
        } else {
            preferred
        };
        let size = vmbus_ring_size(payload).ok_or(EINVAL)?;
        let rings = RingBuffer::new(size, size)?;
        let nic = if channel.class_id() == HV_NIC {
            // As C, a failure fails the probe, which the driver core logs.
            let recv = channel.establish_gpadl(RECV_BUFFER_SIZE)?;
            let send = channel.establish_gpadl(SEND_BUFFER_SIZE)?;
            Some((recv, send))
        } else {
            None
        };
        let subs = Arc::pin_init(
            pin_init!(Subchannels {
                state <- new_mutex!(SubState {
                    irq: None,
                    open: KVec::new(),
                    dead: false,
                }),
            }),
            GFP_KERNEL,
        )?;
        let bound: &'bound Device<kernel::device::Bound> = dev;
        let shared = subs.clone();
        let inner = Arc::pin_init(
            pin_init!(Inner {
                dev: bound,
                rings,
                nic,
                subs: shared,
                state <- new_mutex!(State {
                    open: None,
                    users: 0,
                    uio: None,
                    dead: false,
                }),
            }),
            GFP_KERNEL,
        )?;
        let buf = |g: &Gpadl| shim::UioBuf {
            addr: g.vmalloc_addr(),
            size: g.len(),
            gpadl: g.handle(),
        };
        let bufs = inner.nic.as_ref().map(|(r, s)| (buf(r), buf(s)));
        let (recv, send) = bufs
            .as_ref()
            .map_or((core::ptr::null(), core::ptr::null()), |(r, s)| {
                (core::ptr::from_ref(r), core::ptr::from_ref(s))
            });
        let mut out: *mut c_void = core::ptr::null_mut();
        // CAST: `kernel::device::Device` is a transparent wrapper of `struct device`.
        let parent = core::ptr::from_ref::<kernel::device::Device>(dev.as_ref())
            .cast::<c_void>()
            .cast_mut();
        // SAFETY: The parent is the live device being probed; `drv` points at `inner`, which
        // the returned data keeps alive until `shutdown` unregisters the UIO device; the
        // addresses are those of memory that outlives the registration (the rings and the NIC
        // buffers, in `inner`, and the connection's pages, which outlive every device); `recv`
        // and `send` are NULL or point at `bufs`, read during the call; `out` is valid.
        let ret = unsafe {
            shim::hvrs_uio_register(
                parent,
                Arc::as_ptr(&inner).cast::<c_void>(),
                inner.rings.vmalloc_addr(),
                inner.rings.len(),
                channel.int_page_addr(),
                channel.monitor_page_addr(MonitorPage::ChildToParent),
                recv,
                send,
                &mut out,
            )
        };
        if ret != 0 {
            dev_err!(dev.as_ref(), "hv_uio register failed\n");
            return Err(Error::from_errno(ret));
        }
        let uio = NonNull::new(out).ok_or(EINVAL)?;
        // INVARIANT: `hvrs_uio_register()` succeeded.
        inner.state.lock().uio = Some(Uio(uio));
        // INVARIANT: As above.
        subs.state.lock().irq = Some(Arc::new(UioIrq(Uio(uio)), GFP_KERNEL)?);
        dev.set_subchannel_handler(subs);
        let data = HvUio { inner };
        dev.show_ring_file(&data.inner.rings);
        Ok(data)
    }
}

vmbus::module_vmbus_driver! {
    type: HvUioDriver,
    name: "uio_hv_generic",
    authors: ["hv-rs developers"],
    description: "Generic UIO driver for VMBus devices (Rust)",
    license: "GPL v2",
}
