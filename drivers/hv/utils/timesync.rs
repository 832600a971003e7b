// SPDX-License-Identifier: GPL-2.0

//! The time-sync service: the host's wall clock, for stepping the guest's clock and for the
//! `hyperv` PTP clock.
//!
//! C source: `timesync_onchannelcallback()`, `adj_guesttime()`, `hv_get_adj_host_time()` and
//! `hv_timesync_init()` in [`drivers/hv/hv_util.c`](srctree/drivers/hv/hv_util.c).
//!
//! Each host message carries the host time; from version 4.0 also the guest's reference
//! counter when the host sampled it, which corrects for the delay until the guest reads it.
//! The latest sample, moved to "now" on the reference counter, is what the PTP clock reads; a
//! SYNC message (after boot or resume; with `timesync_implicit` also a SAMPLE when the guest is
//! 5 s or more behind) steps `CLOCK_REALTIME` to it. A sample older than 600 s (the
//! `timesync_stale_secs` test knob) makes the PTP clock answer `ESTALE`.

use kernel::{
    bindings, pr_warn_once,
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc, SpinLock,
    },
    workqueue::{impl_has_work, new_work, Work, WorkItem},
};
use vmbus::{
    hv::{
        channel::{ChannelHandler, ChannelIo},
        ptp::{PtpClock, PtpSource},
        sync::IrqSpinLock,
        system,
        workqueue::{cancel_work_sync, system_percpu},
    },
    new_irq_spinlock, pr_err_ratelimited,
    proto::ic::{
        self, host_time_to_unix_ns, IcMsgType, IcVersion, ICTIMESYNCFLAG_SYNC, TS_VERSIONS,
    },
};

use super::{answer_ic_packets, invalid_type, params, payload, Answer, IcNames, UTIL_RECV_SIZE};

const NAMES: IcNames = IcNames {
    ic: "TimeSync",
    request: "Timesync",
};

/// How far behind the host the guest must be for `timesync_implicit` to step the clock.
const IMPLICIT_SYNC_NS: i64 = 5_000_000_000;

/// The latest host sample (`host_ts`).
#[derive(Copy, Clone, Default)]
struct HostTime {
    /// Host time (100 ns units since 1601) at `ref_time`.
    host_time: u64,
    /// The reference counter when the sample was stored.
    ref_time: u64,
}

/// The time-sync service.
#[pin_data]
pub(crate) struct TimeSync {
    #[pin]
    buf: SpinLock<KVec<u8>>,
    /// The negotiated service version (`ts_srv_version`).
    version: Atomic<u32>,
    /// Read by the PTP clock in process context, written by the handler.
    #[pin]
    host: IrqSpinLock<HostTime>,
    /// Steps the clock (`adj_time_work`).
    #[pin]
    adj_time_work: Work<TimeSync>,
}

impl_has_work! {
    impl HasWork<Self> for TimeSync { self.adj_time_work }
}

impl WorkItem for TimeSync {
    type Pointer = Arc<TimeSync>;

    /// Steps `CLOCK_REALTIME` to the host's time (`hv_set_host_time()`).
    fn run(this: Arc<TimeSync>) {
        if let Ok(ns) = this.adjusted_host_time() {
            if let Err(e) = system::set_realtime_ns(ns) {
                pr_err!("cannot set the time: {:?}\n", e);
            }
        }
    }
}

impl TimeSync {
    /// Returns the host's time now, in ns since 1970 (`hv_get_adj_host_time()`).
    ///
    /// # Errors
    ///
    /// `ESTALE` if the latest sample is too old.
    fn adjusted_host_time(&self) -> Result<i64> {
        let (ns, age) = {
            let host = self.host.lock();
            let now = system::reference_counter();
            let age = now.wrapping_sub(host.ref_time);
            (
                host_time_to_unix_ns(host.host_time.wrapping_add(age)) as i64,
                age,
            )
        };
        let stale_ns = u64::from(params::timesync_stale_secs()) * 1_000_000_000;
        if age.saturating_mul(100) > stale_ns {
            pr_warn_once!(
                "TIMESYNC IC: Stale time stamp, {} nsecs old\n",
                age.saturating_mul(100)
            );
            return Err(Error::from_errno(-(bindings::ESTALE as i32)));
        }
        Ok(ns)
    }

    /// Stores a sample taken at reference time `reftime` and steps the clock if asked
    /// (`adj_guesttime()`).
    fn adjust(self: &Arc<Self>, host_time: u64, reftime: Option<u64>, flags: u8) {
        let host_time = {
            let mut host = self.host.lock();
            let now = system::reference_counter();
            // From 4.0 the sample is moved forward by the time it spent in the ring.
            host.host_time = host_time.wrapping_add(now.wrapping_sub(reftime.unwrap_or(now)));
            host.ref_time = now;
            host.host_time
        };
        if flags & ICTIMESYNCFLAG_SYNC != 0
            || (params::timesync_implicit() && Self::behind(host_time))
        {
            drop(system_percpu().enqueue(self.clone()));
        }
    }

    /// Returns `true` if the guest is 5 s or more behind `host_time` (`hv_implicit_sync()`).
    fn behind(host_time: u64) -> bool {
        let host_ns = host_time_to_unix_ns(host_time) as i64;
        host_ns >= system::realtime_ns().saturating_add(IMPLICIT_SYNC_NS)
    }

    /// Handles one time-sync request.
    fn request(self: &Arc<Self>, msg_type: IcMsgType, msg: &mut [u8]) -> Answer {
        if msg_type != IcMsgType::TIMESYNC {
            return invalid_type(&NAMES, msg_type, msg);
        }
        let version = IcVersion::from_u32(self.version.load(Relaxed));
        let len = msg.len();
        match ic::parse_timesync(payload(msg), version) {
            Ok(sample) => {
                self.adjust(sample.parent_time, sample.vm_reference_time, sample.flags);
                Answer::Reply
            }
            Err(_) => {
                // The C driver names the structure it expected.
                if version.to_u32() > IcVersion::new(3, 0).to_u32() {
                    pr_err_ratelimited!("Invalid ictimesync ref data. Length too small: {}\n", len);
                } else {
                    pr_err_ratelimited!("Invalid ictimesync data. Length too small: {}\n", len);
                }
                Answer::Stop
            }
        }
    }
}

impl PtpSource for TimeSync {
    fn gettime_ns(&self) -> Result<i64> {
        self.adjusted_host_time()
    }
}

/// The handler's view of the service: requests need the `Arc` for the work item.
struct Handler(Arc<TimeSync>);

impl ChannelHandler for Handler {
    fn on_channel_event(&self, io: &ChannelIo<'_>) {
        let this = &self.0;
        let mut buf = this.buf.lock();
        answer_ic_packets(
            io,
            &mut buf,
            &NAMES,
            &TS_VERSIONS,
            &this.version,
            |t, msg| this.request(t, msg),
        );
    }
}

/// The bound time-sync service and its PTP clock.
pub(crate) struct Registration {
    /// Unregistered first on drop, so that no reader is left.
    ptp: Option<PtpClock>,
    timesync: Arc<TimeSync>,
}

impl Registration {
    /// Sets the service up and registers the PTP clock (`hv_timesync_init()`); returns the
    /// channel handler. Without a PTP clock the service still steps the clock, as in C.
    pub(crate) fn new() -> Result<(Arc<dyn ChannelHandler>, Self)> {
        let buf = KVec::from_elem(0u8, UTIL_RECV_SIZE, GFP_KERNEL)?;
        let timesync = Arc::pin_init(
            pin_init!(TimeSync {
                buf <- kernel::new_spinlock!(buf),
                version: Atomic::new(0),
                host <- new_irq_spinlock!(HostTime::default(), c"hv_utils::TimeSync::host"),
                adj_time_work <- new_work!("hv_utils::TimeSync::adj_time_work"),
            }),
            GFP_KERNEL,
        )?;
        let ptp = match PtpClock::register(c"hyperv", &crate::THIS_MODULE, timesync.clone()) {
            Ok(ptp) => Some(ptp),
            Err(e) => {
                pr_err!("cannot register PTP clock: {}\n", e.to_errno());
                None
            }
        };
        let handler = Arc::new(Handler(timesync.clone()), GFP_KERNEL)?;
        Ok((handler, Self { ptp, timesync }))
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // `ptp` is still registered here; unregister it before waiting for the work.
        drop(self.ptp.take());
        let _ = cancel_work_sync(&self.timesync);
    }
}
