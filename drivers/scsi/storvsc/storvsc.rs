// SPDX-License-Identifier: GPL-2.0

//! Hyper-V synthetic SCSI: the storvsc host bus adapter driver.
//!
//! C source: [`drivers/scsi/storvsc_drv.c`](srctree/drivers/scsi/storvsc_drv.c).
//!
//! The driver binds the synthetic SCSI controller, the IDE accelerator and the synthetic Fibre
//! Channel adapter, opens the device's channel (128 KiB rings by default), and initializes the
//! VMSTOR protocol (BEGIN_INITIALIZATION; QUERY_PROTOCOL_VERSION 6.2, 6.0, then 5.1;
//! QUERY_PROPERTIES; FCHBA_DATA for FC; END_INITIALIZATION). It then registers a SCSI host
//! whose limits come from the host's properties, and sends each SCSI command as an
//! EXECUTE_SRB request: in-band without data, else as a GPA-direct packet naming the pages of
//! the data buffer. The host's completions carry the SRB and SCSI status, sense data and the
//! bytes transferred, which become the command's result as in the C driver
//! ([`srb_outcome`]); unsolicited ENUMERATE_BUS and REMOVE_DEVICE rescan the host. A host
//! reset sends RESET_BUS.
//!
//! Request ids are the blk-mq unique tag plus one (as in C), never kernel pointers; the
//! commands in flight live in a table by id, so a completion with an unknown, stale or
//! repeated id is logged and dropped. Everything from the host is validated; a bad packet
//! fails at most the one command.
//!
//! Multi-channel I/O as in C: with more than one online CPU the driver asks for
//! `min(online CPUs - 1, max_channel_cnt)` subchannels (CREATE_SUB_CHANNELS), opens each one
//! the host offers (at most that many) with the primary's ring sizes and the same handler,
//! and sends each request on the channel whose interrupts go to the issuing CPU, else one
//! spread by CPU number, spilling to another channel while that ring is not more than
//! `ring_avail_percent_lowater` % free ([`Channels::outgoing`]). A rescinded subchannel's
//! commands in flight are sent again on another channel.
//!
//! The synthetic FC adapter is a host of the FC transport class, as in C: the module attaches
//! the class (`fc_attach_transport()`, with the `fc_host` node and port name attributes) before
//! the driver registers and releases it after; an FC host gets C's FC limits (255 LUNs, 128
//! targets, 8 channels, transfers of at most 512 KiB), the node and port WWNs of the active
//! port from FCHBA_DATA as its `fc_host` names, and one remote port (a dummy initiator),
//! deleted with the `fc_host` before the host is removed. An IDE controller has one channel
//! and one disk, added at the target that bytes 4 and 5 of the instance GUID name.
//!
//! Not implemented yet: hibernation, NUMA locality of the channel choice.

// Unsafe code is only in `scsi`, the wrapper of the SCSI midlayer.
#![deny(unsafe_code)]

#[allow(unsafe_code)]
mod scsi;

use kernel::{
    cpu::CpuId,
    device::{Core, Device as KDevice},
    new_mutex,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{Atomic, Relaxed},
        Arc, Mutex,
    },
    time::{Delta, Instant, Monotonic},
};
use vmbus::{
    hv::{
        channel::{
            Channel, ChannelHandler, ChannelIo, MpbRange, OpenChannel, OpenParams, OpenSubchannel,
            RingDirection, SubchannelHandler, SubchannelOffer,
        },
        device::Device,
        driver,
        ratelimit::Ratelimit,
        sync::{Completion, IrqSpinLock},
    },
    proto::{
        guid::{HV_IDE, HV_SCSI, HV_SYNTHFC},
        vstor::{
            hv_pfns, legacy_host_cmd_ok, opcode, parse_host_packet, set_host_byte, srb_outcome,
            DataDirection, Error as VstorError, HostByte, VmscsiRequest, VmstorProtocolVersion,
            VstorOperation, VstorPacket, SP_UNTAGGED, SRB_FLAGS_DATA_IN, SRB_FLAGS_DATA_OUT,
            SRB_FLAGS_DISABLE_SYNCH_TRANSFER, SRB_FLAGS_NO_DATA_TRANSFER,
            SRB_FLAGS_NO_QUEUE_FREEZE, SRB_FLAGS_QUEUE_ACTION_ENABLE, SRB_SIMPLE_TAG_REQUEST,
            STORAGE_CHANNEL_SUPPORTS_MULTI_CHANNEL, STORVSC_FC_MAX_XFER_SIZE, STORVSC_MAX_CMD_LEN,
            STORVSC_SENSE_BUFFER_SIZE, STORVSC_TIMEOUT_SECS, VMBUS_RQST_INIT, VMBUS_RQST_RESET,
            VMSTOR_PROTOCOL_VERSIONS,
        },
    },
};
use zerocopy::IntoBytes;

use scsi::{
    dma_dir, params, AddedHost, CmdInfo, FcTransport, HostDriver, HostLimits, Inflight,
    QueueStatus, ResetStatus, ScsiCmnd, ScsiDevice, ScsiHost,
};

/// `STORVSC_LOGGING_ERROR`: [`params::logging_level`] of error messages.
const LOGGING_ERROR: i32 = 1;
/// `STORVSC_LOGGING_WARN`: [`params::logging_level`] of warnings.
const LOGGING_WARN: i32 = 2;

/// Size of a Hyper-V page (`HV_HYP_PAGE_SIZE`).
const HV_PAGE: u32 = 4096;

/// Upper bound of a request in the ring, for the queue depth: the largest multi-page packet
/// header (`MAX_MULTIPAGE_BUFFER_PACKET`, 0x18 + 8 + 32 PFNs), a [`VstorPacket`] and a `u64`,
/// 8-byte aligned, as `storvsc_drv_init()` computes it.
const MAX_REQUEST_IN_RING: u32 = (0x18 + 8 + 32 * 8 + 64 + 8 + 7) & !7;

/// Largest transfer the driver accepts from QUERY_PROPERTIES: 8 MiB keeps a request's PFN
/// list (2049 PFNs) well inside the ring. The C driver takes any value; Hyper-V offers
/// 256 KiB to 2 MiB.
const MAX_TRANSFER_CAP: u32 = 8 << 20;

/// Returns `true` if messages of `level` are on (`do_logging()`).
fn do_logging(level: i32) -> bool {
    params::logging_level() >= level
}

/// The kind of controller, from the id table (`driver_data`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// Synthetic SCSI (`SCSI_GUID`).
    Scsi,
    /// IDE accelerator (`IDE_GUID`): one disk, no multi-channel.
    Ide,
    /// Synthetic Fibre Channel (`SFC_GUID`).
    Fc,
}

impl Kind {
    /// The host limits of the controller kind: `max_lun`, `max_id` and `max_channel` from
    /// `STORVSC_*MAX_LUNS_PER_TARGET`, `*MAX_TARGETS` and `*MAX_CHANNELS - 1`.
    fn limits(self) -> (u32, u32, u32) {
        match self {
            Kind::Scsi => (255, 2, 8 - 1),
            Kind::Fc => (255, 128, 8 - 1),
            Kind::Ide => (64, 1, 0),
        }
    }
}

/// A request of the driver itself (initialization or reset) waiting for its completion.
#[pin_data]
struct Waiter {
    /// Completed by the channel handler when the reply came.
    #[pin]
    done: Completion,
    /// The reply, put there before `done` is completed.
    #[pin]
    reply: IrqSpinLock<Option<VstorPacket>>,
}

impl Waiter {
    fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                done <- Completion::new(),
                reply <- vmbus::new_irq_spinlock!(None, c"storvsc::waiter"),
            }),
            GFP_KERNEL,
        )
    }
}

/// The channels that I/O goes out on (C: `stor_chns[]`, `alloced_cpus` and `get_og_chn()`).
///
/// The primary channel and the open subchannels. A request goes out on the channel whose
/// interrupts go to the issuing CPU (read at each request, so a channel moved through its
/// `cpu` sysfs file is followed: C's `change_target_cpu_callback`), else on one chosen by CPU
/// number among all of them; if that ring is not more than `ring_avail_percent_lowater` %
/// free, on the next one that is (`storvsc_do_io()`). Unlike C, NUMA nodes are not looked at.
#[pin_data]
struct Channels {
    /// The device's channel.
    primary: Arc<Channel>,
    /// Bytes of data of an outbound ring (`ring_datasize`), for the free percentage.
    ring_data: u32,
    /// `ring_avail_percent_lowater`.
    lowater: u32,
    /// The open subchannels that I/O may go out on, in offer order.
    #[pin]
    out: IrqSpinLock<KVec<Arc<Channel>>>,
    /// The open subchannels (closed when dropped); `None` once the driver unbinds, when no
    /// subchannel is opened any more.
    #[pin]
    subs: Mutex<Option<KVec<OpenSubchannel>>>,
    /// Subchannels taken out of `out` after a rescind, kept until unbind so that the last
    /// reference is never dropped in the queueing path.
    #[pin]
    retired: Mutex<KVec<Arc<Channel>>>,
    /// The number of subchannels asked for (`num_sc`); offers beyond it are not opened.
    wanted: Atomic<u32>,
}

impl Channels {
    /// Returns the free percentage of `channel`'s outbound ring
    /// (`hv_get_avail_to_write_percent()`), 0 if it is not open.
    fn free_percent(&self, channel: &Channel) -> u32 {
        match channel.ring_debug(RingDirection::Out) {
            Ok(d) if self.ring_data != 0 => {
                let free = u64::from(d.bytes_avail_towrite.min(self.ring_data));
                (free * 100 / u64::from(self.ring_data)) as u32
            }
            _ => 0,
        }
    }

    /// Returns the channel for a request issued on CPU `cpu` (`storvsc_do_io()`,
    /// `get_og_chn()`).
    fn outgoing(&self, cpu: u32) -> Arc<Channel> {
        let out = self.out.lock();
        if out.is_empty() {
            return self.primary.clone();
        }
        let n = out.len() + 1;
        let at = |i: usize| -> &Arc<Channel> {
            match i.checked_sub(1) {
                None => &self.primary,
                Some(j) => out.get(j).unwrap_or(&self.primary),
            }
        };
        let usable = |c: &Channel| !c.is_rescinded();
        // The channel whose interrupts go to this CPU, else one spread by CPU number.
        let home = (0..n)
            .find(|&i| at(i).target_cpu() == cpu && usable(at(i)))
            .unwrap_or_else(|| (cpu as usize).checked_rem(n).unwrap_or(0));
        for k in 0..n {
            let c = at(home.wrapping_add(k).checked_rem(n).unwrap_or(0));
            if usable(c) && self.free_percent(c) > self.lowater {
                return c.clone();
            }
        }
        // All busy: the chosen one (its send may find the ring full and requeue).
        let c = at(home);
        if usable(c) {
            c.clone()
        } else {
            self.primary.clone()
        }
    }
}

/// No channel recorded for a request slot.
const NO_CHANNEL: u32 = u32::MAX;

/// The driver's state of a controller (`struct storvsc_device` and `struct hv_host_device`).
#[pin_data]
pub(crate) struct StorDevice {
    /// The VMBus device, for messages.
    dev: ARef<KDevice>,
    /// The controller kind of the id table.
    kind: Kind,
    /// The SCSI host (a reference, put when the driver's state goes).
    host: ScsiHost,
    /// The SRB port: the host number.
    port: u8,
    /// The channels requests go out on.
    #[pin]
    channels: Channels,
    /// The relid of the channel each request slot (hardware queue times `per_queue` plus tag)
    /// was sent on, set with the command's entry in `inflight` under this lock, so a rescinded
    /// subchannel's requests can be found.
    #[pin]
    sent_on: IrqSpinLock<KVVec<u32>>,
    /// Tags per hardware queue (`can_queue`), for the slot of a unique tag.
    per_queue: u32,
    /// The ring size of every channel (`aligned_ringbuffer_size`).
    ring_size: u32,
    /// The commands in flight by request id.
    inflight: Inflight,
    /// The negotiated VMSTOR version (`vmstor_proto_version`; per device here).
    version: Atomic<u32>,
    /// Set when the device goes away: no new requests (`destroy`).
    destroy: Atomic<bool>,
    /// The active port's node WWN of an FC adapter (`node_name`), the `fc_host` node name.
    node_name: Atomic<u64>,
    /// The active port's port WWN of an FC adapter (`port_name`), the `fc_host` port name.
    port_name: Atomic<u64>,
    /// The waiter of the initialization request in progress (`init_request`).
    #[pin]
    init_waiter: IrqSpinLock<Option<Arc<Waiter>>>,
    /// The waiter of the bus reset in progress (`reset_request`).
    #[pin]
    reset_waiter: IrqSpinLock<Option<Arc<Waiter>>>,
    /// Completed when the last command in flight is taken out while `drain_notify` is set
    /// (C: `waiting_to_drain`).
    #[pin]
    drained: Completion,
    /// Set while [`StorDevice::wait_to_drain`] waits (C: `drain_notify`); the lock orders it
    /// with the count of commands in flight, so no wakeup is lost.
    #[pin]
    drain_notify: IrqSpinLock<bool>,
}

/// Prints a warning unless this call site printed too many recently
/// (`dev_warn_ratelimited()`).
macro_rules! dev_warn_ratelimited {
    ($dev:expr, $($arg:tt)*) => {{
        static LIMIT: Ratelimit = Ratelimit::new();
        if LIMIT.allow() {
            dev_warn!($dev, $($arg)*);
        }
    }};
}

/// Prints an error unless this call site printed too many recently (`dev_err_ratelimited()`).
macro_rules! dev_err_ratelimited {
    ($dev:expr, $($arg:tt)*) => {{
        static LIMIT: Ratelimit = Ratelimit::new();
        if LIMIT.allow() {
            dev_err!($dev, $($arg)*);
        }
    }};
}

impl StorDevice {
    /// Returns the SCSI host.
    pub(crate) fn host(&self) -> &ScsiHost {
        &self.host
    }

    /// Returns the negotiated VMSTOR version (0 before the negotiation).
    fn version(&self) -> VmstorProtocolVersion {
        VmstorProtocolVersion(self.version.load(Relaxed) as u16)
    }

    /// Sends one of the driver's own requests and waits for its completion
    /// (`storvsc_execute_vstor_op()`); with `status_check`, anything but a successful
    /// COMPLETE_IO is [`EINVAL`].
    fn execute(
        &self,
        slot: &IrqSpinLock<Option<Arc<Waiter>>>,
        pkt: &VstorPacket,
        trans_id: u64,
        status_check: bool,
    ) -> Result<VstorPacket> {
        let waiter = Waiter::new()?;
        *slot.lock() = Some(waiter.clone());
        let sent = self
            .channels
            .primary
            .send_inband(&[pkt.as_bytes()], trans_id, true);
        if let Err(e) = sent {
            slot.lock().take();
            return Err(e);
        }
        let timeout = Delta::from_secs(i64::from(STORVSC_TIMEOUT_SECS));
        if !waiter.done.wait_timeout(timeout) {
            slot.lock().take();
            return Err(ETIMEDOUT);
        }
        let reply = waiter.reply.lock().take().ok_or(EIO)?;
        let (op, status) = (reply.operation, reply.status);
        if status_check && (op != VstorOperation::COMPLETE_IO || status != 0) {
            return Err(EINVAL);
        }
        Ok(reply)
    }

    /// Initializes the protocol on the open channel (`storvsc_channel_init()`); returns the
    /// host's largest transfer in bytes and, if it supports multi-channel, its
    /// `max_channel_cnt`.
    fn channel_init(&self) -> Result<(u32, Option<u16>)> {
        let slot = &self.init_waiter;
        let begin = VstorPacket::request(VstorOperation::BEGIN_INITIALIZATION);
        self.execute(slot, &begin, VMBUS_RQST_INIT, true)?;

        let mut accepted = None;
        for version in VMSTOR_PROTOCOL_VERSIONS {
            let pkt = VstorPacket::query_protocol_version(version);
            let reply = self.execute(slot, &pkt, VMBUS_RQST_INIT, false)?;
            let (op, status) = (reply.operation, reply.status);
            if op != VstorOperation::COMPLETE_IO {
                return Err(EINVAL);
            }
            if status == 0 {
                accepted = Some(version);
                break;
            }
        }
        let Some(version) = accepted else {
            dev_err!(self.dev, "Obsolete Hyper-V version\n");
            return Err(EINVAL);
        };
        self.version.store(u32::from(version.0), Relaxed);

        let pkt = VstorPacket::request(VstorOperation::QUERY_PROPERTIES);
        let props = self
            .execute(slot, &pkt, VMBUS_RQST_INIT, true)?
            .properties();
        let max_channels = props.max_channel_cnt;
        let multi_channel = { props.flags } & STORAGE_CHANNEL_SUPPORTS_MULTI_CHANNEL != 0;
        let max_transfer = props.max_transfer_bytes;

        if self.kind == Kind::Fc {
            let pkt = VstorPacket::request(VstorOperation::FCHBA_DATA);
            let reply = self.execute(slot, &pkt, VMBUS_RQST_INIT, true)?;
            self.cache_wwn(&reply);
        }

        let pkt = VstorPacket::request(VstorOperation::END_INITIALIZATION);
        self.execute(slot, &pkt, VMBUS_RQST_INIT, true)?;

        Ok((max_transfer, multi_channel.then_some(max_channels)))
    }

    /// Keeps the active port's node and port WWNs of an FC adapter (`cache_wwn()`): the
    /// primary port's if `primary_active`, else the secondary port's.
    fn cache_wwn(&self, reply: &VstorPacket) {
        let wwn = reply.wwn();
        let (node, port) = if wwn.primary_active != 0 {
            (wwn.primary_node_wwn, wwn.primary_port_wwn)
        } else {
            (wwn.secondary_node_wwn, wwn.secondary_port_wwn)
        };
        // `wwn_to_u64()`: big-endian.
        self.node_name.store(u64::from_be_bytes(node), Relaxed);
        self.port_name.store(u64::from_be_bytes(port), Relaxed);
    }

    /// The cached (node, port) WWNs.
    fn wwns(&self) -> (u64, u64) {
        (self.node_name.load(Relaxed), self.port_name.load(Relaxed))
    }

    /// Sets how many subchannels the driver wants (`num_sc`): `min(online CPUs - 1,
    /// max_channels)`, before the subchannel handler is set, as subchannels offered to an
    /// earlier binding come to it at once. Returns that number.
    fn want_subchannels(&self, max_channels: u16) -> u32 {
        let wanted = scsi::num_online_cpus()
            .saturating_sub(1)
            .min(u32::from(max_channels));
        self.channels.wanted.store(wanted, Relaxed);
        wanted
    }

    /// Asks the host for subchannels (`handle_multichannel_storage()`): CREATE_SUB_CHANNELS
    /// for the number [`StorDevice::want_subchannels`] set; the host then offers them and
    /// [`SubHandler::offered`] opens them.
    fn handle_multichannel_storage(&self) {
        let wanted = self.channels.wanted.load(Relaxed);
        if wanted == 0 {
            return;
        }
        let pkt = VstorPacket::create_sub_channels(wanted as u16);
        match self.execute(&self.init_waiter, &pkt, VMBUS_RQST_INIT, false) {
            Ok(reply) => {
                let (op, status) = (reply.operation, reply.status);
                if op != VstorOperation::COMPLETE_IO || status != 0 {
                    dev_err!(
                        self.dev,
                        "Failed to create sub-channel: op={}, host={:#x}\n",
                        op.0,
                        status
                    );
                }
            }
            Err(e) if e == ETIMEDOUT => {
                dev_err!(self.dev, "Failed to create sub-channel: timed out\n");
            }
            Err(e) => {
                dev_err!(self.dev, "Failed to create sub-channel: err={:?}\n", e);
            }
        }
    }

    /// Opens a subchannel the host offered (`handle_sc_creation()`), unless the driver is
    /// unbinding or already has the subchannels it asked for.
    fn open_subchannel(self: &Arc<Self>, offer: &SubchannelOffer<'_>) -> Result {
        let channel = offer.channel();
        let mut subs = self.channels.subs.lock();
        let Some(list) = Option::as_mut(&mut *subs) else {
            return Err(ENODEV);
        };
        let wanted = self.channels.wanted.load(Relaxed) as usize;
        if list.len() >= wanted {
            dev_warn!(
                self.dev,
                "subchannel {} (relid {}) not asked for ({} open); not used\n",
                channel.sub_channel_index(),
                channel.relid(),
                list.len()
            );
            return Ok(());
        }
        // Room first, so that an open subchannel is always in both lists.
        list.reserve(1, GFP_KERNEL)?;
        self.channels.out.lock().reserve(1, GFP_ATOMIC)?;
        let props = [0u8; 24];
        let params = OpenParams {
            send_ring_size: self.ring_size as usize,
            recv_ring_size: self.ring_size as usize,
            userdata: &props,
        };
        let handler = Arc::new(Handler(self.clone()), GFP_KERNEL)?;
        let open = offer.open(&params, handler)?;
        list.push(open, GFP_KERNEL)?;
        self.channels.out.lock().push(channel.clone(), GFP_ATOMIC)?;
        dev_dbg!(
            self.dev,
            "subchannel {} (relid {}) open on CPU {}\n",
            channel.sub_channel_index(),
            channel.relid(),
            channel.target_cpu()
        );
        Ok(())
    }

    /// Forgets a subchannel the host rescinded (the bus closed it) and sends the commands in
    /// flight on it again on another channel: the host will not complete them there.
    fn subchannel_rescinded(&self, channel: &Channel) {
        let relid = channel.relid();
        let taken = {
            let mut out = self.channels.out.lock();
            out.iter()
                .position(|c| c.relid() == relid)
                .and_then(|i| out.remove(i).ok())
        };
        if let Some(c) = taken {
            // Kept until unbind. Without memory for it, the reference is dropped here, in
            // process context; the bus still holds one until the relid is released.
            let _ = self.channels.retired.lock().push(c, GFP_KERNEL);
        }
        if let Some(list) = Option::as_mut(&mut *self.channels.subs.lock()) {
            if let Some(i) = list.iter().position(|o| o.channel().relid() == relid) {
                drop(list.remove(i));
            }
        }
        // The host will not answer what went out on it: send it again on another channel.
        // The commands are taken out under the lock (so that none is taken that was put in
        // flight on another channel meanwhile) and sent after it.
        let mut again = KVec::new();
        let mut lost = 0u32;
        {
            let slots = self.sent_on.lock().len();
            let _ = again.reserve(slots, GFP_KERNEL);
            let mut sent_on = self.sent_on.lock();
            for (i, on) in sent_on.iter_mut().enumerate() {
                if *on != relid {
                    continue;
                }
                *on = NO_CHANNEL;
                let i = i as u32;
                let (Some(hwq), Some(t)) =
                    (i.checked_div(self.per_queue), i.checked_rem(self.per_queue))
                else {
                    continue;
                };
                if let Some(cmd) = self.take_inflight(hwq << 16 | t) {
                    cmd.dma_unmap();
                    if let Err(cmd) = again.push_within_capacity(cmd).map_err(|e| e.0) {
                        // No room to keep it: the midlayer requeues it.
                        let resid = cmd.bufflen();
                        cmd.complete(set_host_byte(0, HostByte::REQUEUE), resid);
                        lost += 1;
                    }
                }
            }
        }
        let requeued = again.len() as u32 + lost;
        for cmd in again.drain_all() {
            if let Err(cmd) = self.submit(cmd) {
                let resid = cmd.bufflen();
                cmd.complete(set_host_byte(0, HostByte::REQUEUE), resid);
            }
        }
        dev_warn!(
            self.dev,
            "subchannel {} (relid {}) rescinded: {} commands in flight sent again\n",
            channel.sub_channel_index(),
            relid,
            requeued
        );
    }

    /// Closes the subchannels for good (unbind): later offers are not opened.
    fn close_subchannels(&self) {
        let subs = self.channels.subs.lock().take();
        drop(subs);
        let out = core::mem::take(&mut *self.channels.out.lock());
        drop(out);
        let retired = core::mem::take(&mut *self.channels.retired.lock());
        drop(retired);
    }

    /// Handles one packet from the host (`storvsc_on_channel_callback()`).
    fn on_packet(&self, trans_id: u64, data: &[u8]) {
        let pkt = match parse_host_packet(data, trans_id) {
            Ok(p) => p,
            Err(VstorError::Truncated { need, have }) => {
                dev_err_ratelimited!(
                    self.dev,
                    "Invalid pkt: id={}, len={}, minlen={}\n",
                    trans_id,
                    have,
                    need
                );
                return;
            }
            Err(VstorError::UnsolicitedOperation(_)) => {
                dev_err_ratelimited!(self.dev, "Invalid packet with ID of 0\n");
                return;
            }
        };
        match trans_id {
            VMBUS_RQST_INIT => self.complete_waiter(&self.init_waiter, pkt),
            VMBUS_RQST_RESET => self.complete_waiter(&self.reset_waiter, pkt),
            0 => self.on_receive(&pkt),
            id => {
                // Transaction `id` is the request of unique tag `id - 1`.
                let cmd = u32::try_from(id - 1)
                    .ok()
                    .and_then(|tag| self.take_inflight(tag));
                let Some(cmd) = cmd else {
                    dev_err_ratelimited!(self.dev, "Incorrect transaction ID {:#x}\n", id);
                    return;
                };
                cmd.dma_unmap();
                let op = pkt.operation;
                if op == VstorOperation::COMPLETE_IO {
                    self.on_io_completion(cmd, &pkt);
                } else {
                    // C would leave the command waiting forever; fail it.
                    dev_err_ratelimited!(self.dev, "Operation {} in reply to a command\n", op.0);
                    let resid = cmd.bufflen();
                    cmd.complete(set_host_byte(0, HostByte::ERROR), resid);
                    self.on_receive(&pkt);
                }
            }
        }
    }

    /// Hands the reply of one of the driver's own requests to its waiter.
    fn complete_waiter(&self, slot: &IrqSpinLock<Option<Arc<Waiter>>>, pkt: VstorPacket) {
        let Some(waiter) = slot.lock().take() else {
            dev_err_ratelimited!(self.dev, "Unexpected completion of an internal request\n");
            return;
        };
        *waiter.reply.lock() = Some(pkt);
        waiter.done.complete_all();
    }

    /// Handles an unsolicited packet (`storvsc_on_receive()`).
    fn on_receive(&self, pkt: &VstorPacket) {
        let op = pkt.operation;
        match op {
            VstorOperation::REMOVE_DEVICE | VstorOperation::ENUMERATE_BUS => {
                self.host.queue_host_scan();
            }
            VstorOperation::FCHBA_DATA => {
                self.cache_wwn(pkt);
                let (node, port) = self.wwns();
                self.host.fc_set_names(node, port);
            }
            _ => {}
        }
    }

    /// Completes a command with the host's answer (`storvsc_on_io_completion()`,
    /// `storvsc_command_completion()`, `storvsc_handle_error()`).
    fn on_io_completion(&self, cmd: ScsiCmnd, pkt: &VstorPacket) {
        let srb = pkt.srb();
        let info = cmd.info();
        let op = info.cdb[0];
        let outcome = srb_outcome(op, self.kind == Kind::Fc, &srb, info.bufflen);
        if outcome.log {
            // TEST UNIT READY errors are common while Hyper-V detects devices: warnings only.
            let level = if op == opcode::TEST_UNIT_READY {
                LOGGING_WARN
            } else {
                LOGGING_ERROR
            };
            if do_logging(level) {
                dev_warn_ratelimited!(
                    self.dev,
                    "tag#{} cmd {:#x} status: scsi {:#x} srb {:#x} host {:#x}\n",
                    info.tag,
                    op,
                    { srb.scsi_status },
                    { srb.srb_status },
                    { pkt.status }
                );
            }
        }
        if let Some(sense) = srb.cdb.get(..outcome.sense_len) {
            if !sense.is_empty() {
                cmd.set_sense(sense);
            }
        }
        let mut result = outcome.result;
        if let Some(work) = outcome.work {
            // The LUN is the command's, not what the host wrote back.
            if !self.host.queue_lun_work(work, info.id, info.lun) {
                result = set_host_byte(result, HostByte::BAD_TARGET);
            }
        }
        cmd.complete(result, outcome.resid);
    }

    /// Builds the SRB of a command as `storvsc_queuecommand()` does, without the transfer
    /// length; `None` for a data direction other than to, from or none.
    fn build_srb(&self, info: &CmdInfo) -> Option<VmscsiRequest> {
        let mut srb = VmscsiRequest {
            length: core::mem::size_of::<VmscsiRequest>() as u16,
            time_out_value: 60,
            srb_flags: SRB_FLAGS_DISABLE_SYNCH_TRANSFER,
            sense_info_length: STORVSC_SENSE_BUFFER_SIZE as u8,
            ..Default::default()
        };
        if info.tagged {
            srb.srb_flags |= SRB_FLAGS_QUEUE_ACTION_ENABLE | SRB_FLAGS_NO_QUEUE_FREEZE;
            srb.queue_tag = SP_UNTAGGED;
            srb.queue_action = SRB_SIMPLE_TAG_REQUEST;
        }
        let (data_in, flags) = match info.direction {
            dma_dir::TO_DEVICE => (DataDirection::WRITE, SRB_FLAGS_DATA_OUT),
            dma_dir::FROM_DEVICE => (DataDirection::READ, SRB_FLAGS_DATA_IN),
            dma_dir::NONE => (DataDirection::UNKNOWN, SRB_FLAGS_NO_DATA_TRANSFER),
            _ => return None,
        };
        srb.data_in = data_in;
        srb.srb_flags |= flags;
        srb.port_number = self.port;
        srb.path_id = info.channel;
        srb.target_id = info.id;
        srb.lun = info.lun;
        let cdb_len = usize::from(info.cdb_len).min(STORVSC_MAX_CMD_LEN);
        srb.cdb_length = cdb_len as u8;
        if let (Some(dst), Some(src)) = (srb.cdb.get_mut(..cdb_len), info.cdb.get(..cdb_len)) {
            dst.copy_from_slice(src);
        }
        Some(srb)
    }

    /// Sends a command to the host (`storvsc_queuecommand()`, `storvsc_do_io()`), or
    /// completes it; gives it back when it is to be requeued (ring full, no memory, a closed
    /// subchannel).
    fn submit(&self, cmd: ScsiCmnd) -> core::result::Result<(), ScsiCmnd> {
        let info = cmd.info();
        let op = info.cdb[0];
        if self.version() <= VmstorProtocolVersion::WIN8 && !legacy_host_cmd_ok(op) {
            // Hosts before 6.0 do not implement these.
            cmd.complete(set_host_byte(0, HostByte::ERROR), info.bufflen);
            return Ok(());
        }
        if self.destroy.load(Relaxed) {
            cmd.complete(set_host_byte(0, HostByte::NO_CONNECT), info.bufflen);
            return Ok(());
        }
        let Some(mut srb) = self.build_srb(&info) else {
            // DMA_BIDIRECTIONAL never comes here (C: WARN and -EINVAL).
            dev_err_ratelimited!(self.dev, "Unexpected data direction: {}\n", info.direction);
            cmd.complete(set_host_byte(0, HostByte::ERROR), info.bufflen);
            return Ok(());
        };

        // The data buffer as one GPA range over 4 KiB pages.
        let bufflen = info.bufflen;
        let most_pfns = (bufflen.div_ceil(HV_PAGE) + 1) as usize;
        let mut stack = [0u64; 32];
        let mut heap;
        let pfn_buf: &mut [u64] = if most_pfns <= stack.len() {
            &mut stack
        } else {
            heap = match KVec::from_elem(0u64, most_pfns, GFP_ATOMIC) {
                Ok(v) => v,
                Err(_) => return Err(cmd),
            };
            &mut heap
        };
        let mapped = match cmd.dma_map() {
            Ok(segments) => hv_pfns(segments, pfn_buf),
            Err(_) => return Err(cmd),
        };
        let (count, offset) = match mapped {
            Ok((n, off))
                if bufflen == 0
                    || n as u64
                        == (u64::from(off) + u64::from(bufflen)).div_ceil(u64::from(HV_PAGE)) =>
            {
                (n, off)
            }
            other => {
                dev_err_ratelimited!(
                    self.dev,
                    "tag#{}: data buffer of {} bytes cannot be sent: {:?}\n",
                    info.tag,
                    bufflen,
                    other
                );
                cmd.dma_unmap();
                cmd.complete(set_host_byte(0, HostByte::ERROR), bufflen);
                return Ok(());
            }
        };
        srb.data_transfer_length = if count != 0 { bufflen } else { 0 };
        let pkt = VstorPacket::execute_srb(&srb);

        let tag = info.unique_tag;
        let trans_id = u64::from(tag) + 1;
        let channel = self.channels.outgoing(CpuId::current().as_u32());
        let slot = (tag >> 16)
            .wrapping_mul(self.per_queue)
            .wrapping_add(tag & 0xffff) as usize;
        let inserted = {
            let mut sent_on = self.sent_on.lock();
            let inserted = self.inflight.insert(tag, cmd);
            if inserted.is_ok() {
                if let Some(on) = sent_on.get_mut(slot) {
                    *on = channel.relid();
                }
            }
            inserted
        };
        if let Err(cmd) = inserted {
            dev_err_ratelimited!(
                self.dev,
                "tag#{}: request id {:#x} busy\n",
                info.tag,
                trans_id
            );
            cmd.dma_unmap();
            cmd.complete(set_host_byte(0, HostByte::ERROR), bufflen);
            return Ok(());
        }
        let send = |channel: &Channel| match pfn_buf.get(..count) {
            Some(pfns) if count != 0 => channel.send_gpa_direct(
                &MpbRange {
                    offset,
                    len: bufflen,
                    pfns,
                },
                &[pkt.as_bytes()],
                trans_id,
            ),
            _ => channel.send_inband(&[pkt.as_bytes()], trans_id, true),
        };
        let mut sent = send(&channel);
        let primary = &self.channels.primary;
        if sent == Err(ENODEV) && channel.relid() != primary.relid() {
            // The subchannel was closed (rescinded) under us: send on the primary channel
            // instead, unless the rescind already took the command to send it again. (No
            // requeue: with nothing else in flight, nothing would restart the queue.)
            let mine = {
                let mut sent_on = self.sent_on.lock();
                match sent_on.get_mut(slot) {
                    Some(on) if *on == channel.relid() => {
                        *on = primary.relid();
                        true
                    }
                    _ => false,
                }
            };
            if !mine {
                return Ok(());
            }
            sent = send(primary);
        }
        let Err(e) = sent else {
            return Ok(());
        };
        // Not sent: take the command back, unless a (bogus) completion took it meanwhile.
        let Some(cmd) = self.take_inflight(tag) else {
            return Ok(());
        };
        cmd.dma_unmap();
        if e == EAGAIN {
            return Err(cmd);
        }
        let host = if e == ENODEV {
            HostByte::NO_CONNECT
        } else {
            HostByte::ERROR
        };
        cmd.complete(set_host_byte(0, host), bufflen);
        Ok(())
    }

    /// Takes the command of `tag` out of the table of commands in flight, and wakes
    /// [`StorDevice::wait_to_drain`] if it was the last one (C: `num_outstanding_req` and
    /// `drain_notify` in `storvsc_on_io_completion()`).
    fn take_inflight(&self, tag: u32) -> Option<ScsiCmnd> {
        let cmd = self.inflight.take(tag)?;
        if self.inflight.len() == 0 {
            self.notify_drained();
        }
        Some(cmd)
    }

    /// Wakes the waiter of [`StorDevice::wait_to_drain`], if any.
    fn notify_drained(&self) {
        let mut notify = self.drain_notify.lock();
        if *notify {
            *notify = false;
            self.drained.complete_all();
        }
    }

    /// Waits until the host completed every command in flight (`storvsc_wait_to_drain()`);
    /// returns `false` if some are left after the driver's timeout, which C would wait for
    /// forever. One waiter at a time: the error handler's host reset and the removal, which
    /// stops the error handler first.
    fn wait_to_drain(&self) -> bool {
        let start = Instant::<Monotonic>::now();
        let limit = Delta::from_secs(i64::from(STORVSC_TIMEOUT_SECS));
        loop {
            {
                let mut notify = self.drain_notify.lock();
                // Checked under the lock: a completion that takes the last command after
                // this sees `notify` set and completes `drained`.
                if self.inflight.len() == 0 {
                    *notify = false;
                    return true;
                }
                if !*notify {
                    self.drained.reinit();
                    *notify = true;
                }
            }
            let left = limit - start.elapsed();
            if left <= Delta::ZERO || !self.drained.wait_timeout(left) {
                let mut notify = self.drain_notify.lock();
                *notify = false;
                return self.inflight.len() == 0;
            }
        }
    }
}

impl HostDriver for StorDevice {
    /// Sends a command to the host (`storvsc_queuecommand()`).
    fn queuecommand(&self, cmd: ScsiCmnd) -> QueueStatus {
        match self.submit(cmd) {
            Ok(()) => QueueStatus::Queued,
            Err(cmd) => cmd.requeue(),
        }
    }

    /// Resets the bus and waits for the host to complete what was in flight
    /// (`storvsc_host_reset_handler()`).
    fn host_reset(&self) -> ResetStatus {
        if self.destroy.load(Relaxed) {
            return ResetStatus::Failed;
        }
        let mut pkt = VstorPacket::request(VstorOperation::RESET_BUS);
        pkt.set_srb(&VmscsiRequest {
            path_id: 0,
            ..Default::default()
        });
        match self.execute(&self.reset_waiter, &pkt, VMBUS_RQST_RESET, false) {
            Ok(_) => {}
            Err(e) if e == ETIMEDOUT => return ResetStatus::Timeout,
            Err(_) => return ResetStatus::Failed,
        }
        if !self.wait_to_drain() {
            dev_err!(
                self.dev,
                "{} commands still in flight after the bus reset\n",
                self.inflight.len()
            );
            return ResetStatus::Failed;
        }
        ResetStatus::Success
    }

    /// `storvsc_sdev_configure()`: the driver's timeout, no REPORT SUPPORTED OPERATION CODES,
    /// and for Microsoft's virtual disks SPC-3 on 5.1/6.0 hosts and WRITE SAME from 6.2.
    fn sdev_configure(&self, sdev: &ScsiDevice<'_>) {
        let version = self.version();
        let msft = sdev.vendor_is(b"Msft");
        let spc3 = msft
            && (version == VmstorProtocolVersion::WIN8 || version == VmstorProtocolVersion::WIN8_1);
        let no_write_same = !(msft && version >= VmstorProtocolVersion::WIN10);
        sdev.configure(STORVSC_TIMEOUT_SECS, no_write_same, spc3);
    }
}

/// The channel handler: a newtype so that the driver's state keeps its `Arc`.
struct Handler(Arc<StorDevice>);

impl ChannelHandler for Handler {
    fn on_channel_event(&self, io: &ChannelIo<'_>) {
        let stor = &self.0;
        // Host packets are 64 bytes (`STORVSC_MAX_PKT_SIZE`); longer ones are cut there, as C
        // cuts at the channel's `max_pkt_size`, and counted as such.
        let mut buf = [0u8; core::mem::size_of::<VstorPacket>()];
        loop {
            let (packet, truncated) = match io.recv_truncated(&mut buf) {
                Ok(Some(p)) => p,
                Ok(None) => return,
                Err(e) => {
                    dev_err_ratelimited!(stor.dev, "Cannot receive from the host: {:?}\n", e);
                    return;
                }
            };
            if truncated {
                dev_warn_ratelimited!(
                    stor.dev,
                    "packet {:#x} longer than {} bytes, cut\n",
                    packet.trans_id,
                    buf.len()
                );
            }
            let Some(data) = buf.get(..packet.len) else {
                return;
            };
            stor.on_packet(packet.trans_id, data);
        }
    }
}

/// The subchannel handler (`sc_creation_callback`): a newtype over the driver's state.
struct SubHandler(Arc<StorDevice>);

impl SubchannelHandler for SubHandler {
    fn offered(&self, offer: &SubchannelOffer<'_>) {
        if let Err(e) = self.0.open_subchannel(offer) {
            dev_err!(
                self.0.dev,
                "Failed to open sub-channel {} (relid {}): err={:?}\n",
                offer.channel().sub_channel_index(),
                offer.channel().relid(),
                e
            );
        }
    }

    fn rescinded(&self, channel: &Channel) {
        self.0.subchannel_rescinded(channel);
    }
}

/// A bound controller: the SCSI host, removed first on unbind, then the channel.
struct StorData<'bound> {
    /// The SCSI host once added.
    added: Option<AddedHost>,
    /// The primary channel, open.
    channel: Option<OpenChannel<'bound>>,
    /// The driver's state, shared with the channel handler and the SCSI host.
    stor: Arc<StorDevice>,
}

impl Drop for StorData<'_> {
    /// `storvsc_remove()`: removes the host (every command completes), stops new requests,
    /// waits for what is still in flight, and closes the channel. After a rescind, the
    /// commands in flight are failed first (`DID_NO_CONNECT`): the host will not answer them.
    fn drop(&mut self) {
        if self.stor.channels.primary.is_rescinded() {
            // The host completes nothing any more: fail what is in flight, or removing the
            // host would wait for it forever.
            let mut failed = 0u32;
            for cmd in self.stor.inflight.take_all() {
                cmd.dma_unmap();
                let resid = cmd.bufflen();
                cmd.complete(set_host_byte(0, HostByte::NO_CONNECT), resid);
                failed += 1;
            }
            self.stor.notify_drained();
            if failed != 0 {
                dev_warn!(
                    self.stor.dev,
                    "channel rescinded: {} commands in flight failed\n",
                    failed
                );
            }
        }
        drop(self.added.take());
        self.stor.destroy.store(true, Relaxed);
        if !self.stor.wait_to_drain() {
            dev_err!(
                self.stor.dev,
                "{} commands never completed by the host\n",
                self.stor.inflight.len()
            );
        }
        // The subchannels close before the primary channel (as `vmbus_close()`).
        self.stor.close_subchannels();
        drop(self.channel.take());
    }
}

/// The `hv_storvsc` VMBus driver.
struct HvStorvsc;

vmbus::vmbus_device_table!(
    VMBUS_TABLE,
    MODULE_VMBUS_TABLE,
    Kind,
    [
        (driver::DeviceId::new(HV_SCSI), Kind::Scsi),
        (driver::DeviceId::new(HV_IDE), Kind::Ide),
        (driver::DeviceId::new(HV_SYNTHFC), Kind::Fc),
    ]
);

impl driver::Driver for HvStorvsc {
    type IdInfo = Kind;
    type Data<'bound> = StorData<'bound>;
    const ID_TABLE: driver::IdTable<Kind> = &VMBUS_TABLE;
    // As C: the probe scans the host (synchronously: no CONFIG_SCSI_SCAN_ASYNC), which takes
    // long for FC's 8 channels of 128 targets.
    const PROBE_PREFER_ASYNCHRONOUS: bool = true;

    fn probe<'bound>(
        dev: &'bound Device<Core<'_>>,
        id_info: Option<&'bound Kind>,
    ) -> impl PinInit<StorData<'bound>, Error> + 'bound {
        // A device bound through `new_id` is taken for a SCSI controller.
        Self::start(dev, id_info.copied().unwrap_or(Kind::Scsi))
    }
}

impl HvStorvsc {
    /// Sets the controller up (`storvsc_probe()`).
    fn start<'bound>(dev: &'bound Device<Core<'_>>, kind: Kind) -> Result<StorData<'bound>> {
        let kdev: &KDevice<Core<'_>> = dev.as_ref();
        // `VMBUS_RING_SIZE()`: sizes of 32 KiB and more hold the ring header page.
        let param = params::ringbuffer_size();
        let ring_size = u32::try_from(param)
            .ok()
            .filter(|s| *s >= 2 * HV_PAGE)
            .ok_or(EINVAL)?;
        let ring_size = if ring_size >= 8 * HV_PAGE {
            ring_size
        } else {
            ring_size + HV_PAGE
        }
        .next_multiple_of(HV_PAGE);
        let per_channel = (ring_size - HV_PAGE) / MAX_REQUEST_IN_RING;
        let max_sub_channels = match kind {
            Kind::Ide => 0,
            _ => {
                let per_sub = u32::try_from(params::vcpus_per_sub_channel())
                    .ok()
                    .filter(|n| *n != 0)
                    .unwrap_or(1);
                scsi::num_online_cpus().saturating_sub(1) / per_sub
            }
        };
        let lowater = u32::try_from(params::ring_avail_percent_lowater())
            .unwrap_or(0)
            .min(100);
        let can_queue = per_channel * (max_sub_channels + 1) * (100 - lowater) / 100;
        let can_queue = can_queue.clamp(1, 0x1_0000);
        let present = scsi::num_present_cpus();
        let nr_hw_queues = match kind {
            Kind::Ide => 1,
            _ => {
                let mut max = params::max_hw_queues();
                if max > present {
                    params::reset_max_hw_queues();
                    max = 0;
                    if do_logging(LOGGING_WARN) {
                        dev_warn!(
                            kdev,
                            "Resetting invalid storvsc_max_hw_queues value to default.\n"
                        );
                    }
                }
                if max != 0 {
                    max
                } else {
                    present.max(1)
                }
            }
        };

        let host = ScsiHost::alloc()?;
        let port = host.host_no() as u8;
        let primary = dev.channel().clone();
        let slots = nr_hw_queues.checked_mul(can_queue).ok_or(EINVAL)?;
        let sent_on = KVVec::from_elem(NO_CHANNEL, slots as usize, GFP_KERNEL)?;
        let stor = Arc::pin_init(
            try_pin_init!(StorDevice {
                dev: kdev.into(),
                kind,
                host,
                port,
                channels <- pin_init!(Channels {
                    primary,
                    ring_data: ring_size - HV_PAGE,
                    lowater,
                    out <- vmbus::new_irq_spinlock!(KVec::new(), c"storvsc::out"),
                    subs <- new_mutex!(Some(KVec::new())),
                    retired <- new_mutex!(KVec::new()),
                    wanted: Atomic::new(0),
                }),
                sent_on <- vmbus::new_irq_spinlock!(sent_on, c"storvsc::sent_on"),
                per_queue: can_queue,
                ring_size,
                inflight: Inflight::new(nr_hw_queues, can_queue)?,
                version: Atomic::new(0),
                destroy: Atomic::new(false),
                node_name: Atomic::new(0),
                port_name: Atomic::new(0),
                init_waiter <- vmbus::new_irq_spinlock!(None, c"storvsc::init"),
                reset_waiter <- vmbus::new_irq_spinlock!(None, c"storvsc::reset"),
                drained <- Completion::new(),
                drain_notify <- vmbus::new_irq_spinlock!(false, c"storvsc::drain"),
            }),
            GFP_KERNEL,
        )?;
        // The host's properties are the open's user data (`vmstorage_channel_properties`, 24
        // zero bytes).
        let props = [0u8; 24];
        let params = OpenParams {
            send_ring_size: ring_size as usize,
            recv_ring_size: ring_size as usize,
            userdata: &props,
        };
        let handler = Arc::new(Handler(stor.clone()), GFP_KERNEL)?;
        let channel = dev.open_channel(&params, handler)?;
        let mut data = StorData {
            added: None,
            channel: Some(channel),
            stor: stor.clone(),
        };
        // From here on, dropping `data` closes the channel.
        let (max_transfer, multi_channel) = stor.channel_init()?;
        if let Some(max_channels) = multi_channel {
            if stor.want_subchannels(max_channels) != 0 {
                // Before CREATE_SUB_CHANNELS: the offers come to the handler.
                dev.set_subchannel_handler(Arc::new(SubHandler(stor.clone()), GFP_KERNEL)?);
                stor.handle_multichannel_storage();
            }
        }

        let mut max_xfer = (max_transfer & !(HV_PAGE - 1)).min(MAX_TRANSFER_CAP);
        if kind == Kind::Fc {
            max_xfer = max_xfer.min(STORVSC_FC_MAX_XFER_SIZE);
        }
        if max_xfer < HV_PAGE {
            dev_err!(
                kdev,
                "host offers a max transfer of {} bytes\n",
                max_transfer
            );
            return Err(EINVAL);
        }
        let (max_lun, max_id, max_channel) = kind.limits();
        let limits = HostLimits {
            max_lun,
            max_id,
            max_channel,
            max_cmd_len: STORVSC_MAX_CMD_LEN as u32,
            max_sectors: max_xfer >> 9,
            // All segments but the first and last are whole pages (the virtual boundary).
            sg_tablesize: (max_xfer / HV_PAGE) + 1,
            nr_hw_queues,
            can_queue: can_queue as i32,
            fc: kind == Kind::Fc,
        };
        dev_dbg!(
            kdev,
            "VMSTOR {:#x}, max transfer {} bytes, can_queue {}, {} hardware queues\n",
            stor.version().0,
            max_xfer,
            can_queue,
            nr_hw_queues
        );
        let added = AddedHost::new(stor.clone(), dev, &limits)?;
        let added = data.added.insert(added);
        if kind == Kind::Ide {
            // The IDE controller's one disk: its target is in the instance GUID.
            let guid = dev.channel().instance_id().0;
            let target = u32::from(guid[5]) << 8 | u32::from(guid[4]);
            added.add_device(0, target, 0)?;
        } else {
            added.scan();
        }
        if kind == Kind::Fc {
            let (node, port) = stor.wwns();
            added.fc_add_rport(node, port)?;
        }
        Ok(data)
    }
}

/// The module: the FC transport class and the driver (`storvsc_drv_init()`).
#[pin_data]
struct HvStorvscModule {
    /// The driver's registration; unregistered first (fields drop in order), so no host
    /// uses the FC transport any more when it is released.
    #[pin]
    driver: kernel::driver::Registration<driver::Adapter<HvStorvsc>>,
    /// The FC transport class of the FC adapters' hosts (`fc_transport_template`).
    _fc: FcTransport,
}

impl kernel::InPlaceModule for HvStorvscModule {
    fn init(module: &'static kernel::ThisModule) -> impl PinInit<Self, Error> {
        // The transport is attached before the driver registers (a probe may run at once),
        // and released if the registration fails.
        try_pin_init!(Self {
            _fc: FcTransport::attach()?,
            driver <- kernel::driver::Registration::new(
                <Self as kernel::ModuleMetadata>::NAME,
                module,
            ),
        })
    }
}

module! {
    type: HvStorvscModule,
    name: "hv_storvsc",
    authors: ["hv-rs developers"],
    description: "Microsoft Hyper-V virtual storage driver (Rust)",
    license: "GPL",
}
