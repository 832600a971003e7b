// SPDX-License-Identifier: GPL-2.0

//! A sample VMBus driver, and the in-VM test of the bus's driver API.
//!
//! It opens the channel of the device it is bound to and talks to the host:
//!
//! - the Dynamic Memory (balloon) device of QEMU's VMBus host: it sends the first message of the
//!   protocol (a version request for 2.0, as `hv_balloon` does) and waits for the answer;
//! - the echo device of the project's host engine (`tools/hv-host`, class
//!   `ec40ec40-5e1f-4c0c-9a11-b0b0b0b0ec40`): it sends [`ECHO_PACKETS`] in-band packets asking
//!   for completions, more than the ring holds (waiting for room with `pending_send_sz`), and
//!   checks that each comes back once with its payload. It also takes every subchannel the
//!   host offers for the device (the engine's `offer echo --sub N`): it opens each one from its
//!   [`SubchannelHandler`], sends [`SUB_PACKETS`] packets on it and logs when all came back;
//!   the open subchannels live in the driver's data until the host rescinds one or the driver
//!   unbinds.
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
    time::Delta,
};
use vmbus::{
    hv::{
        channel::{
            Channel, ChannelHandler, ChannelIo, OpenChannel, OpenParams, OpenSubchannel,
            SubchannelHandler, SubchannelOffer,
        },
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

/// Packets sent on each subchannel of the echo device.
const SUB_PACKETS: u32 = 256;

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

/// Receives the host's messages on one channel.
#[pin_data]
struct Handler {
    /// Echo packets sent on the channel.
    expected: u32,
    /// The channel's relid and subchannel index, for messages.
    relid: u32,
    sub_index: u16,
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
    /// Returns a handler expecting `expected` echoes on channel `channel`.
    fn new(expected: u32, channel: &Channel) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Handler {
                expected,
                relid: channel.relid(),
                sub_index: channel.sub_channel_index(),
                accepted: Atomic::new(false),
                echoed: Atomic::new(0),
                bad: Atomic::new(0),
                seen <- kernel::new_spinlock!([0; (ECHO_PACKETS as usize).div_ceil(64)]),
                answered <- Completion::new(),
            }),
            GFP_KERNEL,
        )
    }

    fn echo(&self, packet_type: PacketType, trans_id: u64, payload: &[u8]) {
        let ok = packet_type == PacketType::COMP
            && (1..=u64::from(self.expected)).contains(&trans_id)
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
        if self.echoed.fetch_add(1, Relaxed) + 1 == self.expected {
            if self.sub_index != 0 {
                pr_info!(
                    "subchannel {} (relid {}): {} packets of {} bytes echoed, {} bad\n",
                    self.sub_index,
                    self.relid,
                    self.expected,
                    ECHO_SIZE,
                    self.bad.load(Relaxed)
                );
            }
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

/// An open subchannel of the echo device and its handler.
struct SubOpen {
    open: OpenSubchannel,
    handler: Arc<Handler>,
}

/// Opens the subchannels of the echo device and keeps them open.
#[pin_data]
struct Subchannels {
    #[pin]
    open: kernel::sync::Mutex<KVec<SubOpen>>,
}

impl Subchannels {
    /// Opens the subchannel of `offer` and sends [`SUB_PACKETS`] echo packets on it, waiting
    /// for room when its ring is full; the handler checks the echoes.
    fn open_and_send(&self, offer: &SubchannelOffer<'_>) -> Result {
        let channel = offer.channel();
        let handler = Handler::new(SUB_PACKETS, channel)?;
        let params = OpenParams {
            send_ring_size: ECHO_RING_SIZE,
            recv_ring_size: ECHO_RING_SIZE,
            userdata: &[],
        };
        let open = offer.open(&params, handler.clone())?;
        for trans_id in 1..=u64::from(SUB_PACKETS) {
            let payload = echo_payload(trans_id);
            open.send_inband_wait(&[&payload[..]], trans_id, true, ANSWER_TIMEOUT)?;
        }
        pr_info!(
            "subchannel {} (relid {}) open on CPU {}: {} packets sent, waited for room {} times\n",
            channel.sub_channel_index(),
            channel.relid(),
            channel.target_cpu(),
            SUB_PACKETS,
            channel.stats.send_waits.load(Relaxed)
        );
        self.open
            .lock()
            .push(SubOpen { open, handler }, GFP_KERNEL)?;
        Ok(())
    }
}

impl SubchannelHandler for Subchannels {
    fn offered(&self, offer: &SubchannelOffer<'_>) {
        if let Err(e) = self.open_and_send(offer) {
            pr_err!(
                "subchannel {} (relid {}): {:?}\n",
                offer.channel().sub_channel_index(),
                offer.channel().relid(),
                e
            );
        }
    }

    fn rescinded(&self, channel: &Channel) {
        let mut open = self.open.lock();
        let Some(i) = open
            .iter()
            .position(|s| s.open.channel().relid() == channel.relid())
        else {
            return;
        };
        if let Ok(sub) = open.remove(i) {
            pr_info!(
                "subchannel {} (relid {}) rescinded: {} of {} packets echoed\n",
                channel.sub_channel_index(),
                channel.relid(),
                sub.handler.echoed.load(Relaxed),
                SUB_PACKETS
            );
        }
    }
}

/// A bound device: its channel stays open until unbind, and so do the subchannels it opened.
struct SampleData<'bound> {
    _channel: OpenChannel<'bound>,
    _subchannels: Option<Arc<Subchannels>>,
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
        let handler = Handler::new(ECHO_PACKETS, dev.channel())?;
        if class == HV_DM {
            return Ok(SampleData {
                _channel: Self::dm(dev, &handler)?,
                _subchannels: None,
            });
        }
        if class != ECHO_CLASS {
            dev_err!(dev.as_ref(), "no exchange for class {}\n", class);
            return Err(ENODEV);
        }
        let channel = Self::echo(dev, &handler)?;
        // The subchannels offered before (and from now on) come to the handler.
        let subchannels = Arc::pin_init(
            pin_init!(Subchannels {
                open <- kernel::new_mutex!(KVec::new()),
            }),
            GFP_KERNEL,
        )?;
        dev.set_subchannel_handler(subchannels.clone());
        Ok(SampleData {
            _channel: channel,
            _subchannels: Some(subchannels),
        })
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

    /// Sends the echo packets, waiting for room when the ring is full (`pending_send_sz`), and
    /// checks the echoes.
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
        for trans_id in 1..=u64::from(ECHO_PACKETS) {
            let payload = echo_payload(trans_id);
            if let Err(e) =
                channel.send_inband_wait(&[&payload[..]], trans_id, true, ANSWER_TIMEOUT)
            {
                dev_err!(dev.as_ref(), "echo: send {} failed: {:?}\n", trans_id, e);
                return Err(e);
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
            "echo: {} packets of {} bytes echoed, {} bad, waited for room {} times, {} signals, {} interrupts\n",
            handler.echoed.load(Relaxed),
            ECHO_SIZE,
            handler.bad.load(Relaxed),
            stats.send_waits.load(Relaxed),
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
