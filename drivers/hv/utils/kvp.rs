// SPDX-License-Identifier: GPL-2.0

//! The key-value pair exchange (KVP) service, answered by the `hv_kvp_daemon` user-space daemon
//! through `/dev/vmbus/hv_kvp`.
//!
//! C source: [`drivers/hv/hv_kvp.c`](srctree/drivers/hv/hv_kvp.c).
//!
//! The host's requests (get, set, delete, enumerate a pool; get or set an interface's IP
//! configuration) are converted from the host's UTF-16 to the daemon's UTF-8 message, handed to
//! the daemon one at a time, and its answer converted back. The states follow the C driver's
//! `hvutil_device_state`:
//!
//! - no daemon ([`State::DeviceInit`]): the host's messages stay in the ring, even the version
//!   negotiation, which the C driver defers until a daemon registers (it then re-reads the
//!   channel; a 55 s timer re-reads it too);
//! - a daemon wrote its registration (`KVP_OP_REGISTER1`, or the legacy `KVP_OP_REGISTER`) and
//!   read our answer (version "3.1"): [`State::Ready`], the ring is read;
//! - a host request was read ([`State::HostMsgReceived`]), handed to the daemon
//!   ([`State::UserspaceReq`]) and answered ([`State::UserspaceRecv`]) or timed out after 30 s:
//!   the host gets the answer or `HV_E_FAIL`, and the ring is read again.
//!
//! When the daemon closes the device, a request it still had fails with `HV_E_FAIL` and the
//! service waits for a new daemon.

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
        ic::{self, HvStatus, IcMsgType, HV_UTIL_NEGO_TIMEOUT_SECS, HV_UTIL_TIMEOUT_SECS},
        kvp::{self, KvpDaemonVersion, KvpMsg, KvpOp, KVP_MAX_PKT_SIZE, KVP_VERSIONS},
    },
};
use zerocopy::FromBytes;

use super::{
    answer_negotiate, next_request,
    transport::{Sender, Service, Transport},
    IcNames, Incoming, State,
};

/// The names in the service's messages.
const NAMES: IcNames = IcNames {
    ic: "KVP",
    request: "KVP",
};

/// The work items of [`Kvp`].
const SEND_KEY: u64 = 0;
const TIMEOUT: u64 = 1;
const HANDSHAKE: u64 = 2;

/// Where the host's version negotiation stands (`host_negotiatied`).
#[derive(Copy, Clone, PartialEq, Eq)]
enum Negotiation {
    NotStarted,
    InProgress,
    Finished,
}

/// The state shared by the channel handler (softirq) and the daemon's side (process context).
struct Inner {
    state: State,
    negotiation: Negotiation,
    /// The protocol of the registered daemon (`dm_reg_value`).
    daemon: KvpDaemonVersion,
    /// The receive buffer, which holds the host request in flight until it is answered.
    buf: KVec<u8>,
    /// Length of the request in `buf` (`recv_len`).
    recv_len: usize,
    /// Its transaction id (`recv_req_id`).
    req_id: u64,
}

/// The KVP service of one channel.
#[pin_data]
pub(crate) struct Kvp {
    channel: Arc<Channel>,
    #[pin]
    inner: IrqSpinLock<Inner>,
    /// The daemon's message queue, set once the character device exists.
    #[pin]
    sender: Mutex<Option<Arc<Sender<Kvp>>>>,
    /// Hands the request to the daemon (`kvp_sendkey_work`).
    #[pin]
    send_key_work: Work<Kvp, SEND_KEY>,
    /// Fails the request when the daemon does not answer (`kvp_timeout_work`).
    #[pin]
    timeout_work: DelayedWork<Kvp, TIMEOUT>,
    /// Re-reads the channel while the negotiation waits for a daemon
    /// (`kvp_host_handshake_work`).
    #[pin]
    handshake_work: DelayedWork<Kvp, HANDSHAKE>,
}

impl_has_work! {
    impl HasWork<Self, SEND_KEY> for Kvp { self.send_key_work }
}

impl_has_delayed_work! {
    impl HasDelayedWork<Self, TIMEOUT> for Kvp { self.timeout_work }
    impl HasDelayedWork<Self, HANDSHAKE> for Kvp { self.handshake_work }
}

/// Returns the jiffies of `secs` seconds.
fn secs(secs: u32) -> kernel::time::Jiffies {
    msecs_to_jiffies(secs.saturating_mul(1000))
}

impl WorkItem<SEND_KEY> for Kvp {
    type Pointer = Arc<Kvp>;

    /// Converts the host request and hands it to the daemon (`kvp_send_key()`).
    fn run(this: Arc<Kvp>) {
        let Ok(mut message) = KVec::from_elem(0u8, size_of::<KvpMsg>(), GFP_KERNEL) else {
            return;
        };
        {
            let mut inner = this.inner.lock();
            if inner.state != State::HostMsgReceived {
                return;
            }
            let Ok(msg) = KvpMsg::mut_from_bytes(&mut message) else {
                return;
            };
            let len = inner.recv_len;
            let host = inner.buf.get(ic::ICMSG_HDR..len).unwrap_or_default();
            // The header is there: the handler checked the length.
            let _ = kvp::host_to_daemon(host, msg);
            inner.state = State::UserspaceReq;
        }
        if let Err(e) = this.send_to_daemon(&message, None) {
            pr_debug!("KVP: failed to communicate to the daemon: {:?}\n", e);
            if cancel_delayed_work_sync::<_, TIMEOUT>(&this) {
                this.respond_to_host(None, HvStatus::E_FAIL);
                this.inner.lock().state = State::Ready;
            }
        }
    }
}

impl WorkItem<TIMEOUT> for Kvp {
    type Pointer = Arc<Kvp>;

    /// The daemon did not answer in time: fail the request (`kvp_timeout_func()`).
    fn run(this: Arc<Kvp>) {
        this.respond_to_host(None, HvStatus::E_FAIL);
        this.poll_channel();
    }
}

impl WorkItem<HANDSHAKE> for Kvp {
    type Pointer = Arc<Kvp>;

    /// Re-reads the channel (`kvp_host_handshake_func()`).
    fn run(this: Arc<Kvp>) {
        this.channel.schedule_event();
    }
}

impl Kvp {
    /// Queues `msg` for the daemon.
    fn send_to_daemon(&self, msg: &[u8], on_read: Option<fn(&Kvp)>) -> Result {
        let sender = self.sender.lock().clone().ok_or(EINVAL)?;
        sender.send(msg, on_read)
    }

    /// The transaction is over: read the channel again (`kvp_poll_wrapper()`).
    fn poll_channel(&self) {
        self.inner.lock().state = State::Ready;
        self.channel.schedule_event();
    }

    /// The daemon read our registration answer (`kvp_register_done()`): the negotiation may
    /// go on. (C also cancels the handshake timer here; left running, it only re-reads the
    /// channel once more, and teardown cancels it.)
    fn register_done(&self) {
        pr_debug!("KVP: userspace daemon registered\n");
        self.poll_channel();
    }

    /// Answers the host request in flight with the daemon's `reply` and `status`
    /// (`kvp_respond_to_host()`).
    fn respond_to_host(&self, reply: Option<&KvpMsg>, status: HvStatus) {
        let mut inner = self.inner.lock();
        let (len, req_id) = (inner.recv_len, inner.req_id);
        let Some(packet) = inner.buf.get_mut(..len) else {
            return;
        };
        let op = packet
            .get(ic::ICMSG_HDR)
            .map_or(KvpOp::GET, |&op| KvpOp(op));
        if kvp::daemon_to_host(op, reply, status, packet).is_err() {
            return;
        }
        match self.channel.send_inband(&[&*packet], req_id, false) {
            // A closed channel: nobody to tell (C checks `onchannel_callback`).
            Ok(()) | Err(ENODEV) => {}
            Err(e) => pr_err_ratelimited!("KVP: cannot send the response: {:?}\n", e),
        }
    }

    /// Handles the daemon's registration (`kvp_handle_handshake()`).
    fn handshake(&self, msg: &KvpMsg, tx: &Sender<Self>) -> Result {
        let version = match kvp::parse_daemon_register(msg) {
            Ok(v) => v,
            Err(_) => {
                pr_info!("KVP: incompatible daemon\n");
                pr_info!(
                    "KVP: KVP version: {}, Daemon version: {}\n",
                    KvpOp::REGISTER1.0,
                    { msg.hdr.operation }.0
                );
                return Err(EINVAL);
            }
        };
        if version == KvpDaemonVersion::Legacy {
            pr_info!("KVP: IP injection functionality not available\n");
            pr_info!("KVP: Upgrade the KVP daemon\n");
        }
        self.inner.lock().daemon = version;
        let mut reply = KVec::from_elem(0u8, size_of::<KvpMsg>(), GFP_KERNEL)?;
        let out = KvpMsg::mut_from_bytes(&mut reply).map_err(|_| EINVAL)?;
        kvp::build_register_reply(out, version);
        tx.send(&reply, Some(Self::register_done))
    }

    /// Reads the ring while no request is in flight (`hv_kvp_onchannelcallback()`).
    fn on_channel(self: &Arc<Self>, io: &ChannelIo<'_>) {
        let mut inner = self.inner.lock();
        if inner.state < State::Ready {
            // No daemon: leave everything in the ring, and re-read it after a while.
            if inner.negotiation == Negotiation::NotStarted {
                inner.negotiation = Negotiation::InProgress;
                drop(system_percpu().enqueue_delayed::<_, HANDSHAKE>(
                    self.clone(),
                    secs(HV_UTIL_NEGO_TIMEOUT_SECS),
                ));
            }
            return;
        }
        while inner.state == State::Ready {
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
                    let _ = answer_negotiate(io, msg, trans_id, &NAMES, &KVP_VERSIONS);
                    inner.negotiation = Negotiation::Finished;
                }
                IcMsgType::KVP_EXCHANGE => {
                    inner.recv_len = len;
                    inner.req_id = trans_id;
                    inner.state = State::HostMsgReceived;
                    drop(system_percpu().enqueue::<_, SEND_KEY>(self.clone()));
                    drop(
                        system_percpu().enqueue_delayed::<_, TIMEOUT>(
                            self.clone(),
                            secs(HV_UTIL_TIMEOUT_SECS),
                        ),
                    );
                    return;
                }
                t => {
                    // Dropped unanswered, as in C.
                    pr_err_ratelimited!("KVP request received. Invalid msg type: {}\n", t.0);
                    return;
                }
            }
        }
    }
}

impl Service for Kvp {
    /// A message from the daemon: its registration or its answer (`kvp_on_msg()`).
    fn on_msg(self: ArcBorrow<'_, Self>, bytes: &[u8], tx: &Sender<Self>) -> Result {
        let msg = kvp::parse_daemon_msg(bytes).map_err(|_| EINVAL)?;
        let status = {
            let mut inner = self.inner.lock();
            if inner.state < State::Ready {
                drop(inner);
                return self.handshake(msg, tx);
            }
            // Nothing was sent to the daemon: the reply is spurious.
            if inner.state < State::UserspaceReq {
                return Err(EINVAL);
            }
            inner.state = State::UserspaceRecv;
            kvp::daemon_status(msg, inner.daemon)
        };
        // Unless the timeout already answered the host.
        if cancel_delayed_work_sync::<_, TIMEOUT>(&self.into()) {
            self.respond_to_host(Some(msg), status);
            self.poll_channel();
        }
        Ok(())
    }

    /// The daemon closed the device (`kvp_on_reset()`).
    fn on_reset(self: ArcBorrow<'_, Self>) {
        if cancel_delayed_work_sync::<_, TIMEOUT>(&self.into()) {
            self.respond_to_host(None, HvStatus::E_FAIL);
        }
        self.inner.lock().state = State::DeviceInit;
    }
}

/// The channel handler: requests need the `Arc` for the work items.
struct Handler(Arc<Kvp>);

impl ChannelHandler for Handler {
    fn on_channel_event(&self, io: &ChannelIo<'_>) {
        self.0.on_channel(io);
    }
}

/// The bound KVP service: its character device and pending work go on drop.
pub(crate) struct Registration {
    service: Arc<Kvp>,
    /// The character device, created once the channel is open.
    transport: Option<Pin<KBox<Transport<Kvp>>>>,
}

impl Registration {
    /// Sets the service up for `channel` (`hv_kvp_init()`); returns the channel handler.
    /// [`Registration::start`] then creates the device (`hv_kvp_init_transport()`).
    pub(crate) fn new(channel: Arc<Channel>) -> Result<(Arc<dyn ChannelHandler>, Self)> {
        let buf = KVec::from_elem(0u8, KVP_MAX_PKT_SIZE, GFP_KERNEL)?;
        let kvp = Arc::pin_init(
            pin_init!(Kvp {
                channel,
                inner <- new_irq_spinlock!(
                    Inner {
                        state: State::DeviceInit,
                        negotiation: Negotiation::NotStarted,
                        daemon: KvpDaemonVersion::Register1,
                        buf,
                        recv_len: 0,
                        req_id: 0,
                    },
                    c"hv_utils::Kvp::inner"
                ),
                sender <- kernel::new_mutex!(None),
                send_key_work <- new_work!("hv_utils::Kvp::send_key_work"),
                timeout_work <- new_delayed_work!("hv_utils::Kvp::timeout_work"),
                handshake_work <- new_delayed_work!("hv_utils::Kvp::handshake_work"),
            }),
            GFP_KERNEL,
        )?;
        let handler = Arc::new(Handler(kvp.clone()), GFP_KERNEL)?;
        Ok((
            handler,
            Self {
                service: kvp,
                transport: None,
            },
        ))
    }

    /// Creates `/dev/vmbus/hv_kvp`, once the channel is open.
    pub(crate) fn start(&mut self) -> Result {
        let transport = KBox::pin_init(
            Transport::new(c"vmbus/hv_kvp", self.service.clone()),
            GFP_KERNEL,
        )?;
        *self.service.sender.lock() = Some(transport.sender());
        self.transport = Some(transport);
        Ok(())
    }
}

impl Drop for Registration {
    /// Stops the service after its channel was closed (`hv_kvp_deinit()`).
    fn drop(&mut self) {
        let kvp = &self.service;
        kvp.inner.lock().state = State::Dying;
        let _ = cancel_delayed_work_sync::<_, HANDSHAKE>(kvp);
        let _ = cancel_delayed_work_sync::<_, TIMEOUT>(kvp);
        let _ = cancel_work_sync::<_, SEND_KEY>(kvp);
        // Revokes the device: a daemon that has it open is reset and woken.
        drop(self.transport.take());
        drop(kvp.sender.lock().take());
    }
}
