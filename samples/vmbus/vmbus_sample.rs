// SPDX-License-Identifier: GPL-2.0

//! A sample VMBus driver, and the in-VM test of the bus's driver API.
//!
//! It opens the channel of the device it is bound to and talks to the host:
//!
//! - the Dynamic Memory (balloon) device of QEMU's VMBus host: it sends the first message of the
//!   protocol (a version request for 2.0, as `hv_balloon` does) and waits for the answer;
//! - the echo device of the project's host engine (`tools/hv-host`, class
//!   `ec40ec40-5e1f-4c0c-9a11-b0b0b0b0ec40`): it sends [`ECHO_PACKETS`] in-band packets asking
//!   for completions, more than the ring holds (waiting for room with `pending_send_sz`),
//!   under transaction ids from a [`RequestTable`], and checks that each comes back once with
//!   its payload. Then it shares a buffer with the host
//!   through a GPADL of its own and asks for [`XFER_RANGES`] ranges of it in a transfer-page
//!   packet, as netvsc receives frames: it checks every range against the buffer, reads the
//!   host's pattern from it and sends the completion. It also takes every subchannel the
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
            Channel, ChannelHandler, ChannelIo, Gpadl, OpenChannel, OpenParams, OpenSubchannel,
            RawPacket, SubchannelHandler, SubchannelOffer,
        },
        device::Device,
        driver,
        request::RequestTable,
        sync::{Completion, IrqSpinLock},
    },
    proto::{
        dm::{
            dynmem_major_version, dynmem_minor_version, parse_host_message, DmHostMessage,
            DmVersionNegotiation, DM_RECV_BUFFER_SIZE, DM_RING_SIZE,
        },
        guid::{Guid, HV_DM},
        ring::{PacketType, TransferPages},
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

/// The transfer-page request of the echo device (its payload's first 8 bytes).
const XFER_MAGIC: &[u8; 8] = b"HVXFERPG";

/// The buffer shared for the transfer-page exchange.
const XFER_BUFFER_SIZE: usize = 64 * 1024;

/// Ranges asked for.
const XFER_RANGES: u32 = 16;

/// The transfer page set id the echo device names (netvsc's receive buffer's).
const XFER_PAGESET_ID: u16 = 0xcafe;

/// The transaction id of the transfer-page request (no echo uses it).
const XFER_REQUEST_ID: u64 = 0x7846_0000;

/// Range `i` of the echo device's answer into a buffer of `size` bytes: (offset, length).
fn xfer_range(i: u32, size: u32) -> (u32, u32) {
    (i * 4099 % (size - 2048), 1 + i * 97 % 2000)
}

/// Byte `j` of range `i` of the echo device's answer.
fn xfer_byte(i: u32, j: u32) -> u8 {
    i.wrapping_mul(31).wrapping_add(j) as u8
}

/// How long to wait for the host's answers.
const ANSWER_TIMEOUT: Delta = Delta::from_secs(20);

/// The payload of echo packet `seq`.
fn echo_payload(seq: u64) -> [u8; ECHO_SIZE] {
    let mut p = [0u8; ECHO_SIZE];
    for (i, b) in p.iter_mut().enumerate() {
        *b = (seq as usize).wrapping_add(i) as u8;
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
    /// The echo packets in flight by transaction id (their sequence numbers): an echo with
    /// an id not in flight, or one that came back already, is bad.
    #[pin]
    requests: RequestTable<u64>,
    #[pin]
    answered: Completion,
    /// The buffer the transfer-page packet names, while the exchange runs; taken by the
    /// handler (softirq) and by the driver (process context).
    #[pin]
    xfer: IrqSpinLock<Option<Arc<Gpadl>>>,
    /// Bytes of transfer-page ranges read back right, ranges wrong.
    xfer_bytes: Atomic<u32>,
    xfer_bad: Atomic<u32>,
    /// Ranges in the transfer-page packet.
    xfer_ranges: Atomic<u32>,
    #[pin]
    xfer_done: Completion,
}

impl Handler {
    /// Returns a handler expecting `expected` echoes on channel `channel`.
    fn new(expected: u32, channel: &Channel) -> Result<Arc<Self>> {
        let requests = RequestTable::new(expected as usize)?;
        Arc::pin_init(
            pin_init!(Handler {
                expected,
                relid: channel.relid(),
                sub_index: channel.sub_channel_index(),
                accepted: Atomic::new(false),
                echoed: Atomic::new(0),
                bad: Atomic::new(0),
                requests <- requests,
                answered <- Completion::new(),
                xfer <- vmbus::new_irq_spinlock!(None, c"vmbus_sample::xfer"),
                xfer_bytes: Atomic::new(0),
                xfer_bad: Atomic::new(0),
                xfer_ranges: Atomic::new(0),
                xfer_done <- Completion::new(),
            }),
            GFP_KERNEL,
        )
    }

    fn echo(&self, packet_type: PacketType, trans_id: u64, payload: &[u8]) {
        let seq = (packet_type == PacketType::COMP)
            .then(|| self.requests.take(trans_id))
            .flatten();
        let ok = seq.is_some_and(|seq| payload.get(..ECHO_SIZE) == Some(&echo_payload(seq)[..]));
        if !ok {
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

impl Handler {
    /// Checks a transfer-page packet against the shared buffer and completes it.
    fn transfer_pages(&self, io: &ChannelIo<'_>, raw: &RawPacket, bytes: &[u8]) {
        let verified = self.check_transfer_pages(raw, bytes);
        match verified {
            Ok((ranges, n)) => {
                self.xfer_ranges.store(ranges, Relaxed);
                self.xfer_bytes.store(n, Relaxed);
            }
            Err(ranges) => {
                self.xfer_ranges.store(ranges, Relaxed);
                self.xfer_bad.add(1, Relaxed);
            }
        }
        // The host may reuse the ranges once it has the completion.
        if let Err(e) = io.send_completion(&[b"XFERDONE"], raw.trans_id) {
            pr_err!("transfer pages: completion not sent: {:?}\n", e);
        }
        self.xfer_done.complete_all();
    }

    /// Returns the ranges and the bytes read back right, or `Err(ranges)`.
    fn check_transfer_pages(
        &self,
        raw: &RawPacket,
        bytes: &[u8],
    ) -> core::result::Result<(u32, u32), u32> {
        let header = bytes.get(..raw.header_len).ok_or(0u32)?;
        let tp = TransferPages::parse(header).map_err(|e| {
            pr_err!("transfer pages: bad header: {:?}\n", e);
            0u32
        })?;
        let ranges = tp.range_count;
        // Checked under the lock: the buffer is torn down in process context only, by
        // `Sample::transfer_pages`, never here.
        let xfer = self.xfer.lock();
        let Some(gpadl) = xfer.as_ref() else {
            pr_err!("transfer pages: no buffer shared\n");
            return Err(ranges);
        };
        let size = u32::try_from(gpadl.len()).map_err(|_| ranges)?;
        if tp.xfer_pageset_id != XFER_PAGESET_ID || !tp.check_ranges(size) {
            pr_err!(
                "transfer pages: page set {:#x} or ranges outside the buffer\n",
                tp.xfer_pageset_id
            );
            return Err(ranges);
        }
        if !bytes
            .get(raw.header_len..)
            .is_some_and(|p| p.starts_with(b"XFERDATA"))
        {
            pr_err!("transfer pages: wrong payload\n");
            return Err(ranges);
        }
        let mut good = 0u32;
        let mut data = [0u8; 2048];
        for (i, r) in (0u32..).zip(tp.ranges()) {
            let (offset, len) = xfer_range(i, size);
            let Some(dst) = data.get_mut(..r.byte_count as usize) else {
                return Err(ranges);
            };
            if (r.byte_offset, r.byte_count) != (offset, len)
                || !gpadl.buffer().read_bytes(r.byte_offset as usize, dst)
                || (0u32..).zip(dst.iter()).any(|(j, b)| *b != xfer_byte(i, j))
            {
                pr_err!("transfer pages: range {} is wrong\n", i);
                return Err(ranges);
            }
            good += r.byte_count;
        }
        Ok((ranges, good))
    }
}

impl ChannelHandler for Handler {
    fn on_channel_event(&self, io: &ChannelIo<'_>) {
        let mut buf = [0u8; DM_RECV_BUFFER_SIZE];
        let echo = io.channel().class_id() == ECHO_CLASS;
        // Whole packets: a transfer-page packet's ranges are in its header.
        loop {
            let raw = match io.recv_raw(&mut buf) {
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
            let Some(bytes) = buf.get(..raw.len) else {
                return;
            };
            if echo && raw.packet_type == PacketType::DATA_USING_XFER_PAGES {
                self.transfer_pages(io, &raw, bytes);
                continue;
            }
            let Some(payload) = bytes.get(raw.header_len..) else {
                return;
            };
            if echo {
                self.echo(raw.packet_type, raw.trans_id, payload);
            } else if let Ok((_, DmHostMessage::VersionResponse { accepted })) =
                parse_host_message(payload)
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
        for seq in 1..=u64::from(SUB_PACKETS) {
            let payload = echo_payload(seq);
            let trans_id = handler.requests.insert(seq).map_err(|_| EBUSY)?;
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
        Self::transfer_pages(dev, &channel, &handler)?;
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

    /// Shares a buffer through a GPADL of its own, asks the echo device for a transfer-page
    /// packet naming ranges of it, and waits until the handler checked and completed it.
    fn transfer_pages(
        dev: &Device<kernel::device::Core<'_>>,
        channel: &OpenChannel<'_>,
        handler: &Arc<Handler>,
    ) -> Result {
        let gpadl = Arc::new(dev.channel().establish_gpadl(XFER_BUFFER_SIZE)?, GFP_KERNEL)?;
        let handle = gpadl.handle();
        *handler.xfer.lock() = Some(gpadl);
        let mut request = [0u8; 16];
        request[..8].copy_from_slice(XFER_MAGIC);
        request[8..12].copy_from_slice(&handle.to_le_bytes());
        request[12..].copy_from_slice(&XFER_RANGES.to_le_bytes());
        let sent = channel.send_inband(&[&request[..]], XFER_REQUEST_ID, false);
        let done = sent.is_ok() && handler.xfer_done.wait_timeout(ANSWER_TIMEOUT);
        // Torn down here, in process context (the host has let go of the ranges).
        let gpadl = handler.xfer.lock().take();
        drop(gpadl);
        sent?;
        if !done {
            dev_err!(dev.as_ref(), "transfer pages: no packet from the host\n");
            return Err(ETIMEDOUT);
        }
        dev_info!(
            dev.as_ref(),
            "transfer pages: {} ranges of GPADL {:#x}, {} bytes verified, {} bad\n",
            handler.xfer_ranges.load(Relaxed),
            handle,
            handler.xfer_bytes.load(Relaxed),
            handler.xfer_bad.load(Relaxed)
        );
        Ok(())
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
        for seq in 1..=u64::from(ECHO_PACKETS) {
            let payload = echo_payload(seq);
            // The transaction id comes from the table (reused as echoes come back); the
            // payload follows the sequence number.
            let trans_id = handler.requests.insert(seq).map_err(|_| EBUSY)?;
            if let Err(e) =
                channel.send_inband_wait(&[&payload[..]], trans_id, true, ANSWER_TIMEOUT)
            {
                dev_err!(dev.as_ref(), "echo: send {} failed: {:?}\n", seq, e);
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
