// SPDX-License-Identifier: GPL-2.0

//! The shutdown service: the host asks the guest to power off, reboot or hibernate.
//!
//! C source: `shutdown_onchannelcallback()` in
//! [`drivers/hv/hv_util.c`](srctree/drivers/hv/hv_util.c).
//!
//! Power off and reboot start the orderly paths (user space's `poweroff`/`reboot`); hibernation
//! is left to user space too, through a `KOBJ_CHANGE` uevent with `EVENT=hibernate` on the
//! device, and is refused (`HV_E_FAIL`) when the guest cannot hibernate. The answer is sent
//! before the action starts.

use kernel::{
    prelude::*,
    sync::{aref::ARef, atomic::Atomic, Arc},
    workqueue::{impl_has_work, new_work, Work, WorkItem},
};
use vmbus::{
    hv::{
        channel::{ChannelHandler, ChannelIo},
        device::Device,
        system,
        workqueue::{cancel_work_sync, system_percpu},
    },
    pr_err_ratelimited,
    proto::ic::{self, HvStatus, IcMsgType, ShutdownAction, SD_VERSIONS},
};

use super::{
    answer_ic_packets, invalid_type, payload, set_status, Answer, IcNames, UTIL_RECV_SIZE,
};

const NAMES: IcNames = IcNames {
    ic: "Shutdown",
    request: "Shutdown",
};

/// What to do once the answer is sent.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Action {
    None,
    PowerOff,
    Restart,
    Hibernate,
}

/// The channel handler of the shutdown service.
#[pin_data]
pub(crate) struct Shutdown {
    #[pin]
    buf: kernel::sync::SpinLock<KVec<u8>>,
    /// The negotiated service version (`sd_srv_version`).
    version: Atomic<u32>,
    /// Whether the guest can hibernate (`hibernation_supported`), read at probe.
    hibernation_supported: bool,
    /// The device that the hibernation uevent is sent for.
    device: ARef<Device>,
    #[pin]
    hibernate_work: Work<Shutdown>,
}

impl_has_work! {
    impl HasWork<Self> for Shutdown { self.hibernate_work }
}

impl WorkItem for Shutdown {
    type Pointer = Arc<Shutdown>;

    /// Sends the hibernation uevent (`send_hibernate_uevent()`).
    fn run(this: Arc<Shutdown>) {
        match this.device.uevent_change(c"EVENT=hibernate") {
            Ok(()) => pr_info!("Sent hibernation uevent\n"),
            Err(e) => pr_err!("cannot send the hibernation uevent: {:?}\n", e),
        }
    }
}

impl Shutdown {
    /// Decides the answer to one request and the action that follows it.
    fn request(&self, msg_type: IcMsgType, msg: &mut [u8], action: &mut Action) -> Answer {
        if msg_type != IcMsgType::SHUTDOWN {
            return invalid_type(&NAMES, msg_type, msg);
        }
        let Ok(data) = ic::parse_shutdown(payload(msg)) else {
            pr_err_ratelimited!(
                "Invalid shutdown msg data. Packet length too small: {}\n",
                msg.len()
            );
            return Answer::Stop;
        };
        let (status, next) = match ShutdownAction::from_flags(data.flags) {
            ShutdownAction::PowerOff => {
                pr_info!("Shutdown request received - graceful shutdown initiated\n");
                (HvStatus::S_OK, Action::PowerOff)
            }
            ShutdownAction::Restart => {
                pr_info!("Restart request received - graceful restart initiated\n");
                (HvStatus::S_OK, Action::Restart)
            }
            ShutdownAction::Hibernate => {
                pr_info!("Hibernation request received\n");
                if self.hibernation_supported {
                    (HvStatus::S_OK, Action::Hibernate)
                } else {
                    (HvStatus::E_FAIL, Action::None)
                }
            }
            ShutdownAction::Invalid => {
                pr_info!("Shutdown request received - Invalid request\n");
                (HvStatus::E_FAIL, Action::None)
            }
        };
        *action = next;
        set_status(msg, status)
    }
}

/// The handler's view of itself: the work item needs the `Arc`.
struct Handler(Arc<Shutdown>);

impl ChannelHandler for Handler {
    fn on_channel_event(&self, io: &ChannelIo<'_>) {
        let this = &self.0;
        let mut action = Action::None;
        {
            let mut buf = this.buf.lock();
            answer_ic_packets(
                io,
                &mut buf,
                &NAMES,
                &SD_VERSIONS,
                &this.version,
                |t, msg| this.request(t, msg, &mut action),
            );
        }
        // The C driver answers one request per callback and then acts; acting after the
        // whole batch is the same for the one request a host sends at a time.
        match action {
            Action::None => {}
            Action::PowerOff => system::orderly_poweroff(),
            Action::Restart => system::orderly_reboot(),
            Action::Hibernate => drop(system_percpu().enqueue(this.clone())),
        }
    }
}

/// The bound shutdown service: cancels a pending hibernation uevent on drop.
pub(crate) struct Registration(Arc<Shutdown>);

impl Registration {
    /// Sets the service up for `device` (`hv_shutdown_init()`); returns the channel handler.
    pub(crate) fn new(device: ARef<Device>) -> Result<(Arc<dyn ChannelHandler>, Self)> {
        let buf = KVec::from_elem(0u8, UTIL_RECV_SIZE, GFP_KERNEL)?;
        let shutdown = Arc::pin_init(
            pin_init!(Shutdown {
                buf <- kernel::new_spinlock!(buf),
                version: Atomic::new(0),
                hibernation_supported: system::hibernation_supported(),
                device,
                hibernate_work <- new_work!("hv_utils::Shutdown::hibernate_work"),
            }),
            GFP_KERNEL,
        )?;
        let handler = Arc::new(Handler(shutdown.clone()), GFP_KERNEL)?;
        Ok((handler, Self(shutdown)))
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let _ = cancel_work_sync(&self.0);
    }
}
