// SPDX-License-Identifier: GPL-2.0

//! A sample VMBus driver, and the in-VM test of the bus's driver API.
//!
//! It opens the channel of the device it is bound to and talks to the host:
//!
//! - the Dynamic Memory (balloon) device of QEMU's VMBus host: it sends the first message of the
//!   protocol (a version request for 2.0, as `hv_balloon` does) and waits for the answer;
//! - the echo device of the project's host engine (`tools/hv-host`, class
//!   `ec40ec40-5e1f-4c0c-9a11-b0b0b0b0ec40`): it sends [`ECHO_PACKETS`] in-band packets asking
//!   for completions, more than the ring holds, and checks that each comes back once with its
//!   payload.
//!
//! The host's answers arrive through the channel's interrupt, its handler and the inbound ring.
//! Unbinding closes the channel.
//!
//! Its id table is empty on purpose, so that it never binds by itself (it would take the device
//! from `hv_balloon`): tests bind it through `new_id` or `driver_override`.
//!
//! ```text
//! echo 525074dc-8985-46e2-8057-a307dc18a502 > /sys/bus/vmbus/drivers/vmbus_sample/new_id
//! ```

#![forbid(unsafe_code)]

use kernel::{
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc,
    },
    time::{delay::fsleep, Delta, Instant, Monotonic},
};
use vmbus::{
    hv::{
        channel::{ChannelHandler, ChannelIo, OpenChannel, OpenParams},
        device::Device,
        driver,
        sync::Completion,
    },
    proto::{
        dm::{
            dynmem_major_version, dynmem_minor_version, parse_host_message, DmHostMessage,
            DmVersionNegotiation, DM_RECV_BUFFER_SIZE, DM_RING_SIZE,
        },
        guid::{Guid, HV_DM},
        ring::PacketType,
    },
};
use zerocopy::IntoBytes;

/// The echo device class of the host engine.
const ECHO_CLASS: Guid = Guid::new("ec40ec40-5e1f-4c0c-9a11-b0b0b0b0ec40");

/// Packets sent to the echo device.
const ECHO_PACKETS: u32 = 512;

/// Payload bytes of each echo packet.
const ECHO_SIZE: usize = 100;

/// Ring size for the echo device: 4 pages, smaller than the packets sent, so the ring fills.
const ECHO_RING_SIZE: usize = 4 * 4096;

/// The transaction id of the version request.
const VERSION_TRANS_ID: u32 = 1;

/// How long to wait for the host's answers.
const ANSWER_TIMEOUT: Delta = Delta::from_secs(20);

/// The payload of echo packet `trans_id`.
fn echo_payload(trans_id: u64) -> [u8; ECHO_SIZE] {
    let mut p = [0u8; ECHO_SIZE];
    for (i, b) in p.iter_mut().enumerate() {
        *b = (trans_id as usize).wrapping_add(i) as u8;
    }
    p
}

/// Receives the host's messages.
#[pin_data]
struct Handler {
    /// Whether the host accepted the DM version (valid once `answered`).
    accepted: Atomic<bool>,
    /// Echo completions received with the right payload.
    echoed: Atomic<u32>,
    /// Echo packets that were wrong (type, transaction id, payload).
    bad: Atomic<u32>,
    /// One bit per echo transaction id seen, to catch duplicates.
    #[pin]
    seen: kernel::sync::SpinLock<[u64; (ECHO_PACKETS as usize).div_ceil(64)]>,
    #[pin]
    answered: Completion,
}

impl Handler {
    fn echo(&self, packet_type: PacketType, trans_id: u64, payload: &[u8]) {
        let ok = packet_type == PacketType::COMP
            && (1..=u64::from(ECHO_PACKETS)).contains(&trans_id)
            && payload.get(..ECHO_SIZE) == Some(&echo_payload(trans_id)[..]);
        let fresh = ok && {
            let i = (trans_id - 1) as usize;
            let mut seen = self.seen.lock();
            match seen.get_mut(i / 64) {
                Some(word) if *word & (1 << (i % 64)) == 0 => {
                    *word |= 1 << (i % 64);
                    true
                }
                _ => false,
            }
        };
        if !fresh {
            self.bad.add(1, Relaxed);
            return;
        }
        if self.echoed.fetch_add(1, Relaxed) + 1 == ECHO_PACKETS {
            self.answered.complete_all();
        }
    }
}

impl ChannelHandler for Handler {
    fn on_channel_event(&self, io: &ChannelIo<'_>) {
        let mut buf = [0u8; DM_RECV_BUFFER_SIZE];
        let echo = io.channel().class_id() == ECHO_CLASS;
        loop {
            let packet = match io.recv(&mut buf) {
                Ok(Some(p)) => p,
                Ok(None) => return,
                Err(e) => {
                    pr_err!(
                        "channel {}: receive failed: {:?}\n",
                        io.channel().relid(),
                        e
                    );
                    return;
                }
            };
            let Some(bytes) = buf.get(..packet.len) else {
                return;
            };
            if echo {
                self.echo(packet.packet_type, packet.trans_id, bytes);
            } else if let Ok((_, DmHostMessage::VersionResponse { accepted })) =
                parse_host_message(bytes)
            {
                self.accepted.store(accepted, Relaxed);
                self.answered.complete_all();
            }
        }
    }
}

/// A bound device: its channel stays open until unbind.
struct SampleData<'bound> {
    _channel: OpenChannel<'bound>,
}

struct Sample;

vmbus::vmbus_device_table!(
    VMBUS_TABLE,
    MODULE_VMBUS_TABLE,
    (),
    [] as [(vmbus::hv::driver::DeviceId, ()); 0]
);

impl driver::Driver for Sample {
    type IdInfo = ();
    type Data<'bound> = SampleData<'bound>;
    const ID_TABLE: driver::IdTable<()> = &VMBUS_TABLE;

    fn probe<'bound>(
        dev: &'bound Device<kernel::device::Core<'_>>,
        _id_info: Option<&'bound ()>,
    ) -> impl PinInit<SampleData<'bound>, Error> + 'bound {
        Self::start(dev)
    }
}

impl Sample {
    /// Opens the channel and runs the exchange of the device's class.
    fn start<'bound>(dev: &'bound Device<kernel::device::Core<'_>>) -> Result<SampleData<'bound>> {
        let class = dev.channel().class_id();
        let handler = Arc::pin_init(
            pin_init!(Handler {
                accepted: Atomic::new(false),
                echoed: Atomic::new(0),
                bad: Atomic::new(0),
                seen <- kernel::new_spinlock!([0; (ECHO_PACKETS as usize).div_ceil(64)]),
                answered <- Completion::new(),
            }),
            GFP_KERNEL,
        )?;
        let channel = if class == HV_DM {
            Self::dm(dev, &handler)?
        } else if class == ECHO_CLASS {
            Self::echo(dev, &handler)?
        } else {
            dev_err!(dev.as_ref(), "no exchange for class {}\n", class);
            return Err(ENODEV);
        };
        Ok(SampleData { _channel: channel })
    }

    /// Negotiates the Dynamic Memory protocol version.
    fn dm<'bound>(
        dev: &'bound Device<kernel::device::Core<'_>>,
        handler: &Arc<Handler>,
    ) -> Result<OpenChannel<'bound>> {
        let params = OpenParams {
            send_ring_size: DM_RING_SIZE,
            recv_ring_size: DM_RING_SIZE,
            userdata: &[],
        };
        let channel = dev.open_channel(&params, handler.clone())?;
        let (_, request) = DmVersionNegotiation::start(VERSION_TRANS_ID);
        channel.send_inband(&[request.as_bytes()], VERSION_TRANS_ID.into(), false)?;
        if !handler.answered.wait_timeout(ANSWER_TIMEOUT) {
            dev_err!(dev.as_ref(), "no answer to the version request\n");
            return Err(ETIMEDOUT);
        }
        let version = { request.version };
        dev_info!(
            dev.as_ref(),
            "channel {} open, Dynamic Memory protocol version {}.{} {}\n",
            channel.channel().relid(),
            dynmem_major_version(version),
            dynmem_minor_version(version),
            if handler.accepted.load(Relaxed) {
                "accepted"
            } else {
                "refused"
            }
        );
        Ok(channel)
    }

    /// Sends the echo packets, waiting for room when the ring is full, and checks the echoes.
    fn echo<'bound>(
        dev: &'bound Device<kernel::device::Core<'_>>,
        handler: &Arc<Handler>,
    ) -> Result<OpenChannel<'bound>> {
        let params = OpenParams {
            send_ring_size: ECHO_RING_SIZE,
            recv_ring_size: ECHO_RING_SIZE,
            userdata: &[],
        };
        let channel = dev.open_channel(&params, handler.clone())?;
        let start = Instant::<Monotonic>::now();
        let mut full = 0u32;
        for trans_id in 1..=u64::from(ECHO_PACKETS) {
            let payload = echo_payload(trans_id);
            loop {
                match channel.send_inband(&[&payload[..]], trans_id, true) {
                    Ok(()) => break,
                    Err(e) if e == EAGAIN => {
                        full += 1;
                        if start.elapsed() > ANSWER_TIMEOUT {
                            dev_err!(dev.as_ref(), "echo: the ring stays full\n");
                            return Err(ETIMEDOUT);
                        }
                        fsleep(Delta::from_micros(500));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        if !handler.answered.wait_timeout(ANSWER_TIMEOUT) {
            dev_err!(
                dev.as_ref(),
                "echo: {} of {} packets came back ({} bad)\n",
                handler.echoed.load(Relaxed),
                ECHO_PACKETS,
                handler.bad.load(Relaxed)
            );
            return Err(ETIMEDOUT);
        }
        let stats = &channel.channel().stats;
        dev_info!(
            dev.as_ref(),
            "echo: {} packets of {} bytes echoed, {} bad, ring full {} times, {} signals, {} interrupts\n",
            handler.echoed.load(Relaxed),
            ECHO_SIZE,
            handler.bad.load(Relaxed),
            full,
            stats.sig_events.load(Relaxed),
            stats.interrupts.load(Relaxed)
        );
        Ok(channel)
    }
}

vmbus::module_vmbus_driver! {
    type: Sample,
    name: "vmbus_sample",
    authors: ["hv-rs developers"],
    description: "Sample VMBus driver (Rust): opens a channel and talks to the host",
    license: "GPL",
}
