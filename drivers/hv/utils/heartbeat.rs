// SPDX-License-Identifier: GPL-2.0

//! The heartbeat service: the host checks that the guest is alive by sending a sequence
//! number, which the guest answers incremented.
//!
//! C source: `heartbeat_onchannelcallback()` in
//! [`drivers/hv/hv_util.c`](srctree/drivers/hv/hv_util.c).

use kernel::{
    prelude::*,
    sync::{atomic::Atomic, Arc, SpinLock},
};
use vmbus::{
    hv::channel::{ChannelHandler, ChannelIo},
    pr_err_ratelimited,
    proto::ic::{self, IcMsgType, HB_VERSIONS},
};

use super::{answer_ic_packets, invalid_type, payload, Answer, IcNames, UTIL_RECV_SIZE};

const NAMES: IcNames = IcNames {
    ic: "Heartbeat",
    request: "Heartbeat",
};

/// The channel handler of the heartbeat service.
#[pin_data]
pub(crate) struct Heartbeat {
    #[pin]
    buf: SpinLock<KVec<u8>>,
    /// The negotiated service version (`hb_srv_version`).
    version: Atomic<u32>,
}

impl Heartbeat {
    /// Creates the handler.
    pub(crate) fn new() -> Result<Arc<Self>> {
        let buf = KVec::from_elem(0u8, UTIL_RECV_SIZE, GFP_KERNEL)?;
        Arc::pin_init(
            pin_init!(Self {
                buf <- kernel::new_spinlock!(buf),
                version: Atomic::new(0),
            }),
            GFP_KERNEL,
        )
    }
}

impl ChannelHandler for Heartbeat {
    fn on_channel_event(&self, io: &ChannelIo<'_>) {
        let mut buf = self.buf.lock();
        answer_ic_packets(
            io,
            &mut buf,
            &NAMES,
            &HB_VERSIONS,
            &self.version,
            |t, msg| {
                if t != IcMsgType::HEARTBEAT {
                    return invalid_type(&NAMES, t, msg);
                }
                // Only the sequence number must be there: the host may leave out the rest.
                if ic::answer_heartbeat(payload(msg)).is_err() {
                    pr_err_ratelimited!(
                        "Invalid heartbeat msg data. Length too small: {}\n",
                        msg.len()
                    );
                    return Answer::Stop;
                }
                Answer::Reply
            },
        );
    }
}
