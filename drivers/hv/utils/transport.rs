// SPDX-License-Identifier: GPL-2.0

//! The transport between a util service (KVP, VSS) and its user-space daemon: one misc device.
//!
//! C source: [`drivers/hv/hv_utils_transport.c`](srctree/drivers/hv/hv_utils_transport.c)
//!
//! This is the C transport's character-device mode only. Its netlink (connector) mode, for
//! daemons older than Linux 4.6 (`CN_KVP_IDX`, `CN_VSS_IDX`), is not ported: the daemons
//! shipped since then (`hv_kvp_daemon`, `hv_vss_daemon`) open `/dev/vmbus/hv_kvp` and
//! `/dev/vmbus/hv_vss` and never fall back to netlink while the device exists.
//!
//! The daemon's side, as in C (`PROTOCOL-FACTS.md` 2.5):
//! - one opener at a time: a second `open()` fails with `-EBUSY`;
//! - `read()` blocks (interruptibly, even with `O_NONBLOCK`) until the service queued a message
//!   with [`Transport::send`], then returns it whole: `-EINVAL` if `count` is smaller (the
//!   message stays queued), `-EBADF` once the transport is dropped, `-EINTR` on a signal;
//! - `write()` hands the whole buffer, whatever its size, to [`Service::on_msg`] and returns
//!   `count` or the service's error (`-EFAULT`/`-ENOMEM` if it cannot be copied);
//! - `poll()` returns `EPOLLIN | EPOLLRDNORM` while a message is queued, `EPOLLERR | EPOLLHUP`
//!   once the transport is dropped, and no event otherwise;
//! - the last `close()` (or the daemon's death) drops the queued message and calls
//!   [`Service::on_reset`]; the next `open()` starts afresh;
//! - `lseek()` fails with `-ESPIPE`.
//!
//! Dropping the [`Transport`] (module unload, or device removal while the daemon holds the
//! device open) wakes a blocked reader, makes every later operation of the open file fail
//! (`-EBADF`, `EPOLLERR | EPOLLHUP`) and deregisters the device without waiting for the daemon:
//! the open file keeps the shared state (and the [`Service`]) alive, and the module loaded,
//! until it is closed (see [`vmbus::hv::chardev`]).

use kernel::{
    alloc::flags::{
        __GFP_NOWARN,
        GFP_KERNEL, //
    },
    new_mutex,
    new_poll_condvar,
    prelude::*,
    sync::{
        poll::PollCondVar,
        Arc,
        ArcBorrow,
        Mutex, //
    },
    uaccess::{
        UserSliceReader,
        UserSliceWriter, //
    },
    ThisModule, //
};
use vmbus::hv::chardev::{
    self,
    PollMask,
    PollWait,
    Registration, //
};

/// What a service (KVP, VSS) does with its daemon's messages.
///
/// The transport calls [`Service::on_reset`] and the `on_read` callbacks of [`Sender::send`]
/// with its lock held, as C does: they must not call [`Sender::send`] (it would deadlock; it
/// would fail with `-EINVAL` anyway), nor wait for anything that does.
pub(crate) trait Service: Send + Sync + Sized + 'static {
    /// A message the daemon wrote (the whole write buffer); `tx` sends the answers (the
    /// registration reply). `Ok` makes `write()` return its length; an error is returned to the
    /// daemon.
    fn on_msg(self: ArcBorrow<'_, Self>, msg: &[u8], tx: &Sender<Self>) -> Result;

    /// The daemon closed the device (or died), or the transport is dropped while the daemon
    /// has it open: fail what is in flight, wait for a new daemon.
    fn on_reset(self: ArcBorrow<'_, Self>);
}

/// The state of a transport (`enum hvutil_transport_mode` without `NETLINK`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// No daemon has the device open.
    Init,
    /// A daemon has the device open.
    Chardev,
    /// The transport is dropped; the open file, if any, only fails.
    Destroy,
}

/// What the lock of a transport protects.
struct State<S> {
    mode: Mode,
    /// The service; `None` once the transport is dropped, which breaks the cycle when the
    /// service keeps a [`Sender`].
    service: Option<Arc<S>>,
    /// The message waiting for the daemon's `read()` (C: `outmsg`, `outmsg_len`), never empty.
    outmsg: Option<KVec<u8>>,
    /// Called once the daemon has read `outmsg`.
    on_read: Option<fn(&S)>,
}

/// The message queue of a transport, shared by the [`Transport`], the open file of the device
/// and the service's work items: the C `struct hvutil_transport`.
///
/// A service may keep an `Arc<Sender>` (from [`Transport::sender`]) to send from its work
/// items; the transport drops its reference to the service when it is dropped, so that cycle
/// does not leak.
#[pin_data]
pub(crate) struct Sender<S: Service> {
    #[pin]
    state: Mutex<State<S>>,
    /// Woken when a message is queued or the transport is dropped (C: `outmsg_q`).
    #[pin]
    outmsg_q: PollCondVar,
}

impl<S: Service> Sender<S> {
    /// Queues `msg` for the daemon (`hvutil_transport_send()`); `on_read` runs (with the lock
    /// held, see [`Service`]) once the daemon has read it.
    ///
    /// # Errors
    ///
    /// - `-EINVAL` when no daemon has the device open, or `msg` is empty (C would queue an
    ///   empty message that no `read()` returns and that blocks every later send);
    /// - `-EFAULT` while the previous message is still unread;
    /// - `-ENOMEM`.
    pub(crate) fn send(&self, msg: &[u8], on_read: Option<fn(&S)>) -> Result {
        let mut state = self.state.lock();
        if state.mode != Mode::Chardev || msg.is_empty() {
            return Err(EINVAL);
        }
        if state.outmsg.is_some() {
            return Err(EFAULT);
        }
        let mut copy = KVec::with_capacity(msg.len(), GFP_KERNEL)?;
        copy.extend_from_slice(msg, GFP_KERNEL)?;
        state.outmsg = Some(copy);
        state.on_read = on_read;
        self.outmsg_q.notify_all();
        Ok(())
    }

    /// Drops the queued message and tells the service (C: `hvt_reset()`).
    fn reset(state: &mut State<S>) {
        state.outmsg = None;
        state.on_read = None;
        if let Some(service) = &state.service {
            service.as_arc_borrow().on_reset();
        }
    }
}

#[vtable]
impl<S: Service> chardev::Operations for Sender<S> {
    const OWNER: &'static ThisModule = &crate::THIS_MODULE;

    fn open(&self) -> Result {
        let mut state = self.state.lock();
        match state.mode {
            Mode::Init => {
                state.mode = Mode::Chardev;
                Ok(())
            }
            Mode::Chardev => Err(EBUSY),
            Mode::Destroy => Err(EBADF),
        }
    }

    fn release(&self) {
        let mut state = self.state.lock();
        // After `revoke` there is nothing left to reset: it did so while the device was open
        // (C resets here, from the release its `hvutil_transport_destroy()` waits for).
        if state.mode != Mode::Destroy {
            state.mode = Mode::Init;
            // Under the lock, as C: a new daemon cannot open before the service is reset.
            Self::reset(&mut state);
        }
    }

    fn read(&self, mut buf: UserSliceWriter) -> Result<usize> {
        let ready = |s: &State<S>| s.outmsg.is_some() || s.mode != Mode::Chardev;
        let mut state = self.state.lock();
        while !ready(&state) {
            if self.outmsg_q.wait_interruptible(&mut state) && !ready(&state) {
                return Err(EINTR);
            }
        }
        if state.mode == Mode::Destroy {
            return Err(EBADF);
        }
        let Some(msg) = state.outmsg.as_ref() else {
            return Err(EAGAIN);
        };
        if buf.len() < msg.len() {
            return Err(EINVAL);
        }
        // As in C, the message is consumed (and `on_read` called) even if the copy faults.
        let copied = buf.write_slice(msg).map(|()| msg.len());
        state.outmsg = None;
        if let (Some(on_read), Some(service)) = (state.on_read.take(), &state.service) {
            on_read(service);
        }
        copied
    }

    fn write(&self, buf: UserSliceReader) -> Result<usize> {
        let count = buf.len();
        // C: `memdup_user(buf, count)`, limited only by what kmalloc can allocate.
        let mut msg = KVec::new();
        buf.read_all(&mut msg, GFP_KERNEL | __GFP_NOWARN)?;
        let service = self.state.lock().service.clone().ok_or(EBADF)?;
        // Without the lock: the service answers through `send`.
        service.as_arc_borrow().on_msg(&msg, self)?;
        Ok(count)
    }

    fn revoke(&self) {
        // C: `hvutil_transport_destroy()`, without waiting for the daemon to close the device.
        let mut state = self.state.lock();
        let old = state.mode;
        state.mode = Mode::Destroy;
        if old == Mode::Chardev {
            // C calls this from the release it waits for; the open file will not.
            Self::reset(&mut state);
        }
        let service = state.service.take();
        self.outmsg_q.notify_all();
        drop(state);
        // Outside the lock: the service may hold a `Sender` (whose drop cannot free `self`,
        // the registration still holds one) or sleep in its drop.
        drop(service);
    }

    fn poll(&self, wait: &PollWait<'_>) -> PollMask {
        wait.register(&self.outmsg_q);
        let state = self.state.lock();
        if state.mode == Mode::Destroy {
            PollMask::ERR | PollMask::HUP
        } else if state.outmsg.is_some() {
            PollMask::IN | PollMask::RDNORM
        } else {
            PollMask::NONE
        }
    }
}

/// The transport of one service: its misc device and the one message waiting for the daemon.
///
/// Dropping it revokes the device ([`chardev::Operations::revoke`]): the state becomes
/// `Destroy`, a daemon that has it open is reset ([`Service::on_reset`]) and its blocked
/// `read()`/`poll()` woken, the transport lets go of the service, and the device is
/// deregistered.
#[pin_data]
pub(crate) struct Transport<S: Service> {
    #[pin]
    reg: Registration<Sender<S>>,
}

impl<S: Service> Transport<S> {
    /// Registers the misc device `name` (e.g. `c"vmbus/hv_kvp"`, which appears as
    /// `/dev/vmbus/hv_kvp`) whose daemon talks to `service`.
    ///
    /// # Errors
    ///
    /// `-ENOMEM`, or the error of `misc_register()` (`-EBUSY` if `name` is taken).
    pub(crate) fn new(name: &'static CStr, service: Arc<S>) -> impl PinInit<Self, Error> {
        pin_init::pin_init_scope(move || {
            let shared = Arc::pin_init(
                pin_init!(Sender {
                    state <- new_mutex!(State {
                        mode: Mode::Init,
                        service: Some(service),
                        outmsg: None,
                        on_read: None,
                    }),
                    outmsg_q <- new_poll_condvar!("hv_utils_transport::outmsg_q"),
                }),
                GFP_KERNEL,
            )?;
            Ok(try_pin_init!(Self {
                reg <- Registration::new(name, shared),
            }))
        })
    }

    /// Returns the message queue, for the service's work items to [`Sender::send`] with.
    pub(crate) fn sender(&self) -> Arc<Sender<S>> {
        self.reg.data().clone()
    }
}
