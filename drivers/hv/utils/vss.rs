// SPDX-License-Identifier: GPL-2.0

//! The volume shadow copy (VSS) service: live backup, with the file systems frozen by the
//! `hv_vss_daemon` user-space daemon through `/dev/vmbus/hv_vss`.
//!
//! C source: [`drivers/hv/hv_snapshot.c`](srctree/drivers/hv/hv_snapshot.c).
//!
//! Freeze, thaw and hot-backup requests go to the daemon (`HV_E_FAIL` without one), one at a
//! time, with a timeout of 15 min for a freeze and 30 s otherwise; the kernel answers the rest
//! itself. The daemon registers with `VSS_OP_REGISTER1` and gets our version back as a bare
//! 4-byte number; the legacy `VSS_OP_REGISTER` gets no answer (and, as in C, leaves the service
//! waiting for a registration). The service needs VMBus 3.0 (Windows 8.1) or later.

use kernel::{
    prelude::*,
    sync::{Arc, ArcBorrow, Mutex},
    time::msecs_to_jiffies,
    workqueue::{
        impl_has_delayed_work, impl_has_work, new_delayed_work, new_work, DelayedWork, Work,
        WorkItem,
    },
};
use vmbus::{
    hv::{
        channel::{Channel, ChannelHandler, ChannelIo},
        sync::IrqSpinLock,
        workqueue::{cancel_delayed_work_sync, cancel_work_sync, system_percpu},
    },
    new_irq_spinlock, pr_err_ratelimited,
    proto::{
        ic::{self, HvStatus, IcMsgType, HV_UTIL_TIMEOUT_SECS, ICMSG_HDR},
        vmbus::Version,
        vss::{
            self, VssAction, VssMsg, VssOp, VSS_FREEZE_TIMEOUT_SECS, VSS_HBU_NO_AUTO_RECOVERY,
            VSS_MAX_PKT_SIZE, VSS_REGISTER1_REPLY, VSS_VERSIONS,
        },
    },
};
use zerocopy::IntoBytes;

use super::{
    answer_negotiate, next_request,
    transport::{Sender, Service, Transport},
    IcNames, Incoming, State,
};

/// The names in the service's messages.
const NAMES: IcNames = IcNames {
    ic: "VSS",
    request: "VSS",
};

/// The work items of [`Vss`].
const REQUEST: u64 = 0;
const TIMEOUT: u64 = 1;

/// The state shared by the channel handler (softirq) and the daemon's side (process context).
struct Inner {
    state: State,
    /// A host request is in `buf` and not answered yet: the ring is not read meanwhile.
    busy: bool,
    /// The receive buffer, which holds the host request in flight until it is answered.
    buf: KVec<u8>,
    /// Length of the request in `buf` (`recv_len`).
    recv_len: usize,
    /// Its transaction id (`recv_req_id`).
    req_id: u64,
}

/// The VSS service of one channel.
#[pin_data]
pub(crate) struct Vss {
    channel: Arc<Channel>,
    #[pin]
    inner: IrqSpinLock<Inner>,
    /// The daemon's message queue, set once the character device exists.
    #[pin]
    sender: Mutex<Option<Arc<Sender<Vss>>>>,
    /// Handles the host request (`vss_handle_request_work`).
    #[pin]
    request_work: Work<Vss, REQUEST>,
    /// Fails the request when the daemon does not answer (`vss_timeout_work`).
    #[pin]
    timeout_work: DelayedWork<Vss, TIMEOUT>,
}

impl_has_work! {
    impl HasWork<Self, REQUEST> for Vss { self.request_work }
}

impl_has_delayed_work! {
    impl HasDelayedWork<Self, TIMEOUT> for Vss { self.timeout_work }
}

impl WorkItem<REQUEST> for Vss {
    type Pointer = Arc<Vss>;

    /// Answers the host request or hands it to the daemon (`vss_handle_request()`).
    fn run(this: Arc<Vss>) {
        let (op, registered) = {
            let inner = this.inner.lock();
            let payload = inner.buf.get(ICMSG_HDR..inner.recv_len).unwrap_or_default();
            // The handler checked the length.
            let op = vss::parse_host(payload).map_or(VssOp::CREATE, |m| m.vss_hdr.operation);
            (op, inner.state >= State::Ready)
        };
        match VssAction::for_op(op) {
            VssAction::ToDaemon if !registered => {
                pr_debug!("VSS: Not ready for request.\n");
                this.respond_to_host(HvStatus::E_FAIL);
                // Still no daemon: the state stays, the ring is read again.
                this.inner.lock().busy = false;
                this.channel.schedule_event();
            }
            VssAction::ToDaemon => {
                pr_debug!("VSS: Received request for op code: {}\n", op.0);
                this.send_op(op);
            }
            VssAction::DmInfo => {
                {
                    let mut inner = this.inner.lock();
                    let len = inner.recv_len;
                    if let Some(payload) = inner.buf.get_mut(ICMSG_HDR..len) {
                        let _ = vss::set_host_flags(payload, 0);
                    }
                }
                this.respond_to_host(HvStatus::S_OK);
                this.poll_channel();
            }
            VssAction::Ack => {
                this.respond_to_host(HvStatus::S_OK);
                this.poll_channel();
            }
        }
    }
}

impl WorkItem<TIMEOUT> for Vss {
    type Pointer = Arc<Vss>;

    /// The daemon did not answer in time: fail the request (`vss_timeout_func()`).
    fn run(this: Arc<Vss>) {
        pr_warn!("VSS: timeout waiting for daemon to reply\n");
        this.respond_to_host(HvStatus::E_FAIL);
        this.poll_channel();
    }
}

impl Vss {
    /// Queues `msg` for the daemon.
    fn send_to_daemon(&self, msg: &[u8], on_read: Option<fn(&Vss)>) -> Result {
        let sender = self.sender.lock().clone().ok_or(EINVAL)?;
        sender.send(msg, on_read)
    }

    /// The transaction is over: read the channel again (`vss_poll_wrapper()`).
    fn poll_channel(&self) {
        {
            let mut inner = self.inner.lock();
            inner.state = State::Ready;
            inner.busy = false;
        }
        self.channel.schedule_event();
    }

    /// The daemon read our version (`vss_register_done()`).
    fn register_done(&self) {
        self.poll_channel();
        pr_debug!("VSS: userspace daemon registered\n");
    }

    /// Hands `op` to the daemon (`vss_send_op()`).
    fn send_op(self: &Arc<Self>, op: VssOp) {
        {
            let mut inner = self.inner.lock();
            if inner.state != State::Ready {
                pr_debug!("VSS: Unexpected attempt to send to daemon\n");
                return;
            }
            inner.state = State::UserspaceReq;
        }
        let timeout = if op == VssOp::FREEZE {
            VSS_FREEZE_TIMEOUT_SECS
        } else {
            HV_UTIL_TIMEOUT_SECS
        };
        drop(system_percpu().enqueue_delayed::<_, TIMEOUT>(
            self.clone(),
            msecs_to_jiffies(timeout.saturating_mul(1000)),
        ));
        let msg = VssMsg::for_daemon(op);
        if let Err(e) = self.send_to_daemon(msg.as_bytes(), None) {
            pr_warn!(
                "VSS: failed to communicate to the daemon: {}\n",
                e.to_errno()
            );
            if cancel_delayed_work_sync::<_, TIMEOUT>(self) {
                self.respond_to_host(HvStatus::E_FAIL);
                self.poll_channel();
            }
        }
    }

    /// Answers the host request in flight with `status` (`vss_respond_to_host()`).
    fn respond_to_host(&self, status: HvStatus) {
        let mut inner = self.inner.lock();
        let (len, req_id) = (inner.recv_len, inner.req_id);
        let Some(packet) = inner.buf.get_mut(..len) else {
            return;
        };
        if ic::finish_response(packet, Some(status)).is_err() {
            return;
        }
        match self.channel.send_inband(&[&*packet], req_id, false) {
            // A closed channel: nobody to tell (C checks `onchannel_callback`).
            Ok(()) | Err(ENODEV) => {}
            Err(e) => pr_err_ratelimited!("VSS: cannot send the response: {:?}\n", e),
        }
    }

    /// Handles the daemon's registration (`vss_handle_handshake()`).
    fn handshake(&self, op: VssOp, tx: &Sender<Self>) -> Result {
        match op {
            // The daemon expects no answer.
            VssOp::REGISTER => {}
            VssOp::REGISTER1 => tx
                .send(&VSS_REGISTER1_REPLY, Some(Self::register_done))
                .map_err(|_| EFAULT)?,
            _ => return Err(EINVAL),
        }
        pr_info!("VSS: userspace daemon ver. {} connected\n", op.0);
        Ok(())
    }

    /// Reads the ring while no request is in flight (`hv_vss_onchannelcallback()`).
    fn on_channel(self: &Arc<Self>, io: &ChannelIo<'_>) {
        let mut inner = self.inner.lock();
        while inner.state <= State::Ready && !inner.busy {
            let (len, trans_id, msg_type) = match next_request(io, &mut inner.buf, &NAMES) {
                Incoming::Request {
                    len,
                    trans_id,
                    msg_type,
                } => (len, trans_id, msg_type),
                Incoming::Skip => continue,
                Incoming::Stop => return,
            };
            let Some(msg) = inner.buf.get_mut(..len) else {
                return;
            };
            match msg_type {
                IcMsgType::NEGOTIATE => {
                    let _ = answer_negotiate(io, msg, trans_id, &NAMES, &VSS_VERSIONS);
                }
                IcMsgType::VSS => {
                    if len < ICMSG_HDR + size_of::<VssMsg>() {
                        pr_err_ratelimited!("Invalid VSS msg. Packet length too small: {}\n", len);
                        return;
                    }
                    inner.recv_len = len;
                    inner.req_id = trans_id;
                    inner.busy = true;
                    drop(system_percpu().enqueue::<_, REQUEST>(self.clone()));
                    return;
                }
                t => {
                    // Dropped unanswered, as in C.
                    pr_err_ratelimited!("VSS request received. Invalid msg type: {}\n", t.0);
                    return;
                }
            }
        }
    }
}

impl Service for Vss {
    /// A message from the daemon: its registration or its answer (`vss_on_msg()`).
    fn on_msg(self: ArcBorrow<'_, Self>, bytes: &[u8], tx: &Sender<Self>) -> Result {
        let Ok(msg) = vss::parse_daemon(bytes) else {
            pr_debug!("VSS: Message size does not match length\n");
            return Err(EINVAL);
        };
        let op = msg.vss_hdr.operation;
        if op == VssOp::REGISTER || op == VssOp::REGISTER1 {
            // Only a new daemon registers; not while a request is in flight.
            if self.inner.lock().state > State::Ready {
                pr_debug!("VSS: Got unexpected registration request\n");
                return Err(EINVAL);
            }
            return self.handshake(op, tx);
        }
        {
            let mut inner = self.inner.lock();
            if inner.state != State::UserspaceReq {
                pr_debug!("VSS: Transaction not active\n");
                return Err(EINVAL);
            }
            inner.state = State::UserspaceRecv;
            // As C: the answer's first byte is tested as an operation, though the daemon
            // writes its error code there.
            if op == VssOp::HOT_BACKUP {
                let len = inner.recv_len;
                if let Some(payload) = inner.buf.get_mut(ICMSG_HDR..len) {
                    let _ = vss::set_host_flags(payload, VSS_HBU_NO_AUTO_RECOVERY);
                }
            }
        }
        // Unless the timeout already answered the host.
        if cancel_delayed_work_sync::<_, TIMEOUT>(&self.into()) {
            self.respond_to_host(msg.error());
            self.poll_channel();
        }
        Ok(())
    }

    /// The daemon closed the device (`vss_on_reset()`).
    fn on_reset(self: ArcBorrow<'_, Self>) {
        if cancel_delayed_work_sync::<_, TIMEOUT>(&self.into()) {
            self.respond_to_host(HvStatus::E_FAIL);
        }
        let mut inner = self.inner.lock();
        inner.state = State::DeviceInit;
        inner.busy = false;
    }
}

/// The channel handler: requests need the `Arc` for the work items.
struct Handler(Arc<Vss>);

impl ChannelHandler for Handler {
    fn on_channel_event(&self, io: &ChannelIo<'_>) {
        self.0.on_channel(io);
    }
}

/// The bound VSS service: its character device and pending work go on drop.
pub(crate) struct Registration {
    service: Arc<Vss>,
    /// The character device, created once the channel is open.
    transport: Option<Pin<KBox<Transport<Vss>>>>,
}

impl Registration {
    /// Sets the service up for `channel` (`hv_vss_init()`); returns the channel handler.
    ///
    /// # Errors
    ///
    /// `ENOTSUPP` before VMBus 3.0, as the C driver; [`ENOMEM`].
    pub(crate) fn new(channel: Arc<Channel>) -> Result<(Arc<dyn ChannelHandler>, Self)> {
        if channel.vmbus_version() < Version::WIN8_1 {
            pr_warn!(
                "Integration service 'Backup (volume snapshot)' not supported on this host version.\n"
            );
            return Err(Error::from_errno(-(kernel::bindings::ENOTSUPP as i32)));
        }
        let buf = KVec::from_elem(0u8, VSS_MAX_PKT_SIZE, GFP_KERNEL)?;
        let vss = Arc::pin_init(
            pin_init!(Vss {
                channel,
                inner <- new_irq_spinlock!(
                    Inner {
                        state: State::DeviceInit,
                        busy: false,
                        buf,
                        recv_len: 0,
                        req_id: 0,
                    },
                    c"hv_utils::Vss::inner"
                ),
                sender <- kernel::new_mutex!(None),
                request_work <- new_work!("hv_utils::Vss::request_work"),
                timeout_work <- new_delayed_work!("hv_utils::Vss::timeout_work"),
            }),
            GFP_KERNEL,
        )?;
        let handler = Arc::new(Handler(vss.clone()), GFP_KERNEL)?;
        Ok((
            handler,
            Self {
                service: vss,
                transport: None,
            },
        ))
    }

    /// Creates `/dev/vmbus/hv_vss`, once the channel is open (`hv_vss_init_transport()`).
    pub(crate) fn start(&mut self) -> Result {
        let transport = KBox::pin_init(
            Transport::new(c"vmbus/hv_vss", self.service.clone()),
            GFP_KERNEL,
        )
        .inspect_err(|_| pr_warn!("VSS: Failed to initialize transport\n"))?;
        *self.service.sender.lock() = Some(transport.sender());
        self.transport = Some(transport);
        Ok(())
    }
}

impl Drop for Registration {
    /// Stops the service after its channel was closed (`hv_vss_deinit()`).
    fn drop(&mut self) {
        let vss = &self.service;
        vss.inner.lock().state = State::Dying;
        let _ = cancel_delayed_work_sync::<_, TIMEOUT>(vss);
        let _ = cancel_work_sync::<_, REQUEST>(vss);
        // Revokes the device: a daemon that has it open is reset and woken.
        drop(self.transport.take());
        drop(vss.sender.lock().take());
    }
}
