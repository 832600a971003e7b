// SPDX-License-Identifier: GPL-2.0

//! Test module of the util transport (`drivers/hv/utils/transport.rs` on `rust/hv/chardev.rs`).
//!
//! `/dev/vmbus/hv_test` echoes each message written to it as the next read (a message starting
//! with `!` fails with `-EIO`); writing `ping` to `/dev/vmbus/hv_test_ctl` sends a message to
//! `hv_test` from a kept [`Sender`], as a work item does, and writing `drop` drops the
//! `hv_test` transport, as a device removal would, while its file may be open. The in-VM suite
//! `chardev` drives it with `tests/chardev/hvt_chardev.c`.

#![forbid(unsafe_code)]

use kernel::{
    new_mutex,
    prelude::*,
    sync::{Arc, ArcBorrow, Mutex},
};

#[path = "../../drivers/hv/utils/transport.rs"]
mod transport;

use transport::{Sender, Service, Transport};

/// The echo service of `hv_test`.
struct Echo;

impl Echo {
    fn read_done(&self) {
        pr_info!("hv_test: read done\n");
    }
}

impl Service for Echo {
    fn on_msg(self: ArcBorrow<'_, Self>, msg: &[u8], tx: &Sender<Self>) -> Result {
        if msg.first() == Some(&b'!') {
            return Err(EIO);
        }
        tx.send(msg, Some(Self::read_done))
    }

    fn on_reset(self: ArcBorrow<'_, Self>) {
        pr_info!("hv_test: reset\n");
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        pr_info!("hv_test: service dropped\n");
    }
}

/// The transport under test, until `ctl` drops it.
#[pin_data]
struct Holder {
    #[pin]
    dut: Mutex<Option<Pin<KBox<Transport<Echo>>>>>,
}

/// The control service of `hv_test_ctl`.
struct Ctl(Arc<Holder>);

impl Service for Ctl {
    fn on_msg(self: ArcBorrow<'_, Self>, msg: &[u8], _tx: &Sender<Self>) -> Result {
        let msg = msg.strip_suffix(b"\n").unwrap_or(msg);
        if msg == b"ping" {
            // What a work item does: send through a `Sender` kept from the transport.
            let sender = self
                .0
                .dut
                .lock()
                .as_ref()
                .map(|t| t.sender())
                .ok_or(ENODEV)?;
            return sender.send(b"ping from the kernel", None);
        }
        if msg != b"drop" {
            return Err(EINVAL);
        }
        let dut = self.0.dut.lock().take();
        pr_info!("hv_test: dropping the transport\n");
        drop(dut);
        pr_info!("hv_test: transport dropped\n");
        Ok(())
    }

    fn on_reset(self: ArcBorrow<'_, Self>) {}
}

#[pin_data]
struct ChardevTest {
    #[pin]
    ctl: Transport<Ctl>,
    holder: Arc<Holder>,
}

impl kernel::InPlaceModule for ChardevTest {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        pin_init::pin_init_scope(|| {
            let dut = KBox::pin_init(
                Transport::new(c"vmbus/hv_test", Arc::new(Echo, GFP_KERNEL)?),
                GFP_KERNEL,
            )?;
            // No daemon yet: `send` fails like `hvutil_transport_send()` in INIT mode.
            if dut.sender().send(b"boot", None) != Err(EINVAL) {
                return Err(EIO);
            }
            let holder = Arc::pin_init(
                pin_init!(Holder {
                    dut <- new_mutex!(Some(dut)),
                }),
                GFP_KERNEL,
            )?;
            let ctl = Arc::new(Ctl(holder.clone()), GFP_KERNEL)?;
            Ok(try_pin_init!(Self {
                ctl <- Transport::new(c"vmbus/hv_test_ctl", ctl),
                holder,
            }))
        })
    }
}

module! {
    type: ChardevTest,
    name: "hv_chardev_test",
    authors: ["hv-rs"],
    description: "Test module of the Hyper-V util transport",
    license: "GPL",
}
