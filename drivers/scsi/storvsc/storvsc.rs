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
//! Not implemented yet: subchannels (multi-channel I/O; the bus does not offer them to
//! drivers yet, so the driver stays on the primary channel, as C does on one CPU), the FC
//! transport class (`fc_host` WWN attributes), hibernation, following a channel's CPU change.

// Unsafe code is only in `scsi`, the wrapper of the SCSI midlayer.
#![deny(unsafe_code)]

#[allow(unsafe_code)]
mod scsi;

use kernel::{
    device::{Core, Device as KDevice},
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{Atomic, Relaxed},
        Arc,
    },
    time::{delay::fsleep, Delta, Instant, Monotonic},
};
use vmbus::{
    hv::{
        channel::{Channel, ChannelHandler, ChannelIo, MpbRange, OpenChannel, OpenParams},
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
    dma_dir, params, AddedHost, CmdInfo, HostDriver, HostLimits, Inflight, QueueStatus,
    ResetStatus, ScsiCmnd, ScsiDevice, ScsiHost,
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

/// The channels that I/O goes out on (C: `stor_chns[]` and `get_og_chn()`).
///
/// Only the primary channel for now. With subchannels, each CPU (hardware queue) gets the
/// channel whose interrupts go to it, else one of the same NUMA node, spilling to another
/// channel while the ring is below `ring_avail_percent_lowater` free; all of that is decided
/// in [`Channels::outgoing`].
struct Channels {
    primary: Arc<Channel>,
}

impl Channels {
    /// Returns the channel for a request from hardware queue `_queue`.
    fn outgoing(&self, _queue: u32) -> &Channel {
        &self.primary
    }
}

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
    channels: Channels,
    /// The commands in flight by request id.
    inflight: Inflight,
    /// The negotiated VMSTOR version (`vmstor_proto_version`; per device here).
    version: Atomic<u32>,
    /// Set when the device goes away: no new requests (`destroy`).
    destroy: Atomic<bool>,
    /// The active port's WWN of an FC adapter (`port_name`); kept, not shown yet (no FC
    /// transport class).
    wwn: Atomic<u64>,
    /// The waiter of the initialization request in progress (`init_request`).
    #[pin]
    init_waiter: IrqSpinLock<Option<Arc<Waiter>>>,
    /// The waiter of the bus reset in progress (`reset_request`).
    #[pin]
    reset_waiter: IrqSpinLock<Option<Arc<Waiter>>>,
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
    /// host's largest transfer in bytes.
    fn channel_init(&self) -> Result<u32> {
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

        if multi_channel {
            self.handle_multichannel_storage(max_channels);
        }
        Ok(max_transfer)
    }

    /// Keeps the active port's WWN of an FC adapter (`cache_wwn()`).
    fn cache_wwn(&self, reply: &VstorPacket) {
        let wwn = reply.wwn();
        let port = if wwn.primary_active != 0 {
            wwn.primary_port_wwn
        } else {
            wwn.secondary_port_wwn
        };
        self.wwn.store(u64::from_be_bytes(port), Relaxed);
    }

    /// Would ask the host for subchannels (`handle_multichannel_storage()`).
    ///
    /// TODO[SUBCHANNEL]: send CREATE_SUB_CHANNELS for `min(online CPUs - 1, max_channels)`
    /// once the bus hands subchannel offers to the driver; until then the driver asks for none
    /// and uses the primary channel only, which is the C driver's path on one CPU.
    fn handle_multichannel_storage(&self, max_channels: u16) {
        let wanted = scsi::num_online_cpus()
            .saturating_sub(1)
            .min(u32::from(max_channels));
        if wanted != 0 {
            dev_info!(
                self.dev,
                "host offers {} subchannels; using the primary channel only (no subchannel support yet)\n",
                max_channels
            );
        }
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
                    .and_then(|tag| self.inflight.take(tag));
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
            VstorOperation::FCHBA_DATA => self.cache_wwn(pkt),
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

    /// Waits, at most the driver's timeout, until the host completed every command in flight
    /// (`storvsc_wait_to_drain()`); returns `false` if some are left.
    fn wait_to_drain(&self) -> bool {
        let start = Instant::<Monotonic>::now();
        let limit = Delta::from_secs(i64::from(STORVSC_TIMEOUT_SECS));
        while self.inflight.len() != 0 {
            if start.elapsed() > limit {
                return false;
            }
            fsleep(Delta::from_millis(10));
        }
        true
    }
}

impl HostDriver for StorDevice {
    /// Sends a command to the host (`storvsc_queuecommand()`, `storvsc_do_io()`).
    fn queuecommand(&self, cmd: ScsiCmnd) -> QueueStatus {
        let info = cmd.info();
        let op = info.cdb[0];
        if self.version() <= VmstorProtocolVersion::WIN8 && !legacy_host_cmd_ok(op) {
            // Hosts before 6.0 do not implement these.
            cmd.complete(set_host_byte(0, HostByte::ERROR), info.bufflen);
            return QueueStatus::Queued;
        }
        if self.destroy.load(Relaxed) {
            cmd.complete(set_host_byte(0, HostByte::NO_CONNECT), info.bufflen);
            return QueueStatus::Queued;
        }
        let Some(mut srb) = self.build_srb(&info) else {
            // DMA_BIDIRECTIONAL never comes here (C: WARN and -EINVAL).
            dev_err_ratelimited!(self.dev, "Unexpected data direction: {}\n", info.direction);
            cmd.complete(set_host_byte(0, HostByte::ERROR), info.bufflen);
            return QueueStatus::Queued;
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
                Err(_) => return cmd.requeue(),
            };
            &mut heap
        };
        let mapped = match cmd.dma_map() {
            Ok(segments) => hv_pfns(segments, pfn_buf),
            Err(_) => return cmd.requeue(),
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
                return QueueStatus::Queued;
            }
        };
        srb.data_transfer_length = if count != 0 { bufflen } else { 0 };
        let pkt = VstorPacket::execute_srb(&srb);

        let tag = info.unique_tag;
        let trans_id = u64::from(tag) + 1;
        if let Err(cmd) = self.inflight.insert(tag, cmd) {
            dev_err_ratelimited!(
                self.dev,
                "tag#{}: request id {:#x} busy\n",
                info.tag,
                trans_id
            );
            cmd.dma_unmap();
            cmd.complete(set_host_byte(0, HostByte::ERROR), bufflen);
            return QueueStatus::Queued;
        }
        let channel = self.channels.outgoing(tag >> 16);
        let sent = match pfn_buf.get(..count) {
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
        let Err(e) = sent else {
            return QueueStatus::Queued;
        };
        // Not sent: take the command back, unless a (bogus) completion took it meanwhile.
        let Some(cmd) = self.inflight.take(tag) else {
            return QueueStatus::Queued;
        };
        cmd.dma_unmap();
        if e == EAGAIN {
            return cmd.requeue();
        }
        let host = if e == ENODEV {
            HostByte::NO_CONNECT
        } else {
            HostByte::ERROR
        };
        cmd.complete(set_host_byte(0, host), bufflen);
        QueueStatus::Queued
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
        let stor = Arc::pin_init(
            try_pin_init!(StorDevice {
                dev: kdev.into(),
                kind,
                host,
                port,
                channels: Channels {
                    primary,
                },
                inflight: Inflight::new(nr_hw_queues, can_queue)?,
                version: Atomic::new(0),
                destroy: Atomic::new(false),
                wwn: Atomic::new(0),
                init_waiter <- vmbus::new_irq_spinlock!(None, c"storvsc::init"),
                reset_waiter <- vmbus::new_irq_spinlock!(None, c"storvsc::reset"),
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
        let max_transfer = stor.channel_init()?;

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
        Ok(data)
    }
}

vmbus::module_vmbus_driver! {
    type: HvStorvsc,
    name: "hv_storvsc",
    authors: ["hv-rs developers"],
    description: "Microsoft Hyper-V virtual storage driver (Rust)",
    license: "GPL",
}
