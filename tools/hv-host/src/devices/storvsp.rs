// SPDX-License-Identifier: GPL-2.0

//! storvsp: the host side of the synthetic SCSI controller (VMSTOR protocol).
//!
//! The guest side is `drivers/scsi/storvsc_drv.c`; every handler below names the C behaviour it
//! answers. The wire formats are the protocol core's (`hv_proto::vstor`), the SCSI target is
//! [`super::scsi`]. One [`Storvsp`] serves each channel (the primary and every subchannel); they
//! share one [`Controller`] (configuration, LUNs, the initialization state of the session,
//! faults and counters) through a [`ControllerHandle`] that lives in the device spec, so the
//! disks survive re-offers and module reloads.
//!
//! The session, as `storvsc_connect_to_vsp()` / `storvsc_channel_init()` run it on the primary
//! channel (each an in-band packet with a completion requested, answered by a completion packet
//! whose `vstor_packet` has operation COMPLETE_IO and an NT status):
//!
//! 1. BEGIN_INITIALIZATION;
//! 2. QUERY_PROTOCOL_VERSION, once per version the guest tries (6.2, 6.0, 5.1 in 7.2, `protocol_version[]`):
//!    the host accepts 6.2, 6.0, 5.1, 4.2 and 2.0 (what a Windows 10 host and OpenVMM accept)
//!    within the configured bounds (`vstor=` / `vstor_min=`, `scsi max-version`) and answers
//!    STATUS_REVISION_MISMATCH otherwise; below 5.1 the packets are 16 bytes shorter (no Windows
//!    8 extension of `vmscsi_request`, 18-byte sense);
//! 3. QUERY_PROPERTIES: `max_transfer_bytes` (`max_transfer=`, default 256 KiB as OpenVMM) and,
//!    from 5.1, the multi-channel flag with `max_channel_cnt` (`subchannels=`, default 8);
//! 4. (synthetic FC only, `bus=fc`) FCHBA_DATA: the adapter's port and node WWNs in the
//!    primary or the secondary slot of `struct hv_fc_wwn_packet` (`wwpn=`, `wwnn=`,
//!    `fc_active=`; `cache_wwn()` takes the active one), a protocol error on other buses;
//! 5. END_INITIALIZATION;
//! 6. CREATE_SUB_CHANNELS(n) (`handle_multichannel_storage()`): n ≤ `max_channel_cnt`; the host
//!    completes it, then offers n subchannels with `sub_channel_index` 1..=n, which the guest
//!    opens from its `sc_creation_callback`.
//!
//! Then EXECUTE_SRB on any open channel of the controller: in-band without data, GPA-direct with
//! the guest's pages otherwise (`storvsc_queuecommand()`: one range, 4 KiB PFNs, the first
//! page's offset). The host copies data-out from those pages, runs the CDB on the addressed LUN,
//! copies data-in back, and completes with the SRB status, SCSI status, autosense data and the
//! bytes transferred (`storvsc_on_io_completion()`). A LUN that does not exist answers INQUIRY
//! with peripheral qualifier 3 and REPORT LUNS for its target, and everything else with
//! SRB_STATUS_INVALID_LUN (the guest then removes the device, `storvsc_remove_lun()`).
//! RESET_BUS (`storvsc_host_reset_handler()`), RESET_ADAPTER and RESET_LUN complete with status
//! 0, after the completions a `drop-io` fault withheld went out with SRB_STATUS_BUS_RESET.
//!
//! Unsolicited packets (transaction id 0, `storvsc_on_receive()`): ENUMERATE_BUS after a LUN is
//! added or removed (the guest rescans: TEST UNIT READY on its devices, then `scsi_scan_host()`),
//! or REMOVE_DEVICE on request, or (FC) FCHBA_DATA with the WWNs the `wwn` command sets (which
//! Linux refuses unsolicited); sent on the primary channel, and only once the guest's SCSI host
//! is up (it has sent an SRB since initialization: C queues the rescan on a workqueue it only
//! creates after `storvsc_connect_to_vsp()` returned).
//!
//! Everything the guest sends is checked, and a violation is a protocol error: the packet types,
//! the completion request, the sizes, the initialization order (init operations only on the
//! primary, I/O only after END_INITIALIZATION), the SRB fields (`length`, CDB and sense lengths,
//! direction and `srb_flags`, transfer length against the page list and `max_transfer_bytes`)
//! and the pages (guest RAM).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use hv_proto::guid::Guid;
use hv_proto::ring::{GpaDirect, PacketType};
use hv_proto::vstor::{
    DataDirection, HvFcWwnPacket, SrbStatus, VmscsiRequest, VmstorProtocolVersion,
    VmstorageChannelProperties, VstorOperation, VstorPacket, REQUEST_COMPLETION_FLAG,
    SRB_FLAGS_DATA_IN, SRB_FLAGS_DATA_OUT, SRB_STATUS_AUTOSENSE_VALID,
    STORAGE_CHANNEL_SUPPORTS_MULTI_CHANNEL, VMSCSI_REQUEST_PRE_WIN8_SIZE,
    VSTOR_PACKET_PRE_WIN8_SIZE,
};
use zerocopy::{FromZeros, IntoBytes};

use super::scsi::{
    self, show_size, Limits, Lun, LunConfig, ScsiResult, Sense, PQ_NO_LUN,
    SAM_STAT_CHECK_CONDITION, SAM_STAT_GOOD,
};
use super::DeviceSpec;
use crate::device::{
    flag, opt, positional, timeout_ms, CmdResult, DevCtx, DevRequest, Device, OutPkt, Packet, Reply,
};
use crate::mem::{GuestMemory, PAGE_SIZE};

/// NTSTATUS `STATUS_REVISION_MISMATCH`: the answer to a QUERY_PROTOCOL_VERSION the host does not
/// speak (the guest tries its next version).
pub const STATUS_REVISION_MISMATCH: u32 = 0xC000_0059;
/// NTSTATUS `STATUS_INVALID_PARAMETER`.
pub const STATUS_INVALID_PARAMETER: u32 = 0xC000_000D;
/// NTSTATUS `STATUS_INVALID_DEVICE_REQUEST`: an operation the host does not take from a guest.
pub const STATUS_INVALID_DEVICE_REQUEST: u32 = 0xC000_0010;
/// NTSTATUS `STATUS_INVALID_DEVICE_STATE`: an operation out of the initialization order.
pub const STATUS_INVALID_DEVICE_STATE: u32 = 0xC000_0184;

/// The VMSTOR versions the host accepts, newest first (Windows 10 / OpenVMM: 6.2, 6.0, 5.1,
/// 4.2, 2.0; PROTOCOL-FACTS 1.8).
pub const HOST_VSTOR_VERSIONS: [VmstorProtocolVersion; 5] = [
    VmstorProtocolVersion::WIN10,
    VmstorProtocolVersion::WIN8_1,
    VmstorProtocolVersion::WIN8,
    VmstorProtocolVersion::WIN7,
    VmstorProtocolVersion::WIN6,
];

/// Size of a `vstor_packet` from 5.1 on.
const VSTOR_PACKET_SIZE: usize = size_of::<VstorPacket>();

/// Formats a VMSTOR version as `MAJOR.MINOR`.
pub fn show_vstor(v: u16) -> String {
    format!("{}.{}", v >> 8, v & 0xff)
}

/// Parses `MAJOR.MINOR` into a VMSTOR version.
pub fn parse_vstor(s: &str) -> Option<u16> {
    let (a, b) = s.split_once('.')?;
    Some(hv_proto::vstor::vmstor_proto_version(
        a.parse().ok()?,
        b.parse().ok()?,
    ))
}

/// The controller type the back end is offered as (`bus=`): the class GUID of the offer and
/// what the session allows (`storvsc_probe()`'s `SCSI_GUID`, `IDE_GUID`, `SFC_GUID`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Bus {
    /// Synthetic SCSI controller (`HV_SCSI_GUID`).
    #[default]
    Scsi,
    /// Synthetic Fibre Channel adapter (`HV_SYNTHFC_GUID`): FCHBA_DATA answers with WWNs.
    Fc,
    /// IDE accelerator (`HV_IDE_GUID`): one disk, whose target the guest takes from bytes 4
    /// and 5 of the instance GUID; no multi-channel by default.
    Ide,
}

impl Bus {
    /// Parses `scsi`, `fc` or `ide`.
    pub fn parse(s: &str) -> Option<Bus> {
        Some(match s {
            "scsi" => Bus::Scsi,
            "fc" => Bus::Fc,
            "ide" => Bus::Ide,
            _ => return None,
        })
    }

    /// Returns the bus's name.
    pub fn name(self) -> &'static str {
        match self {
            Bus::Scsi => "scsi",
            Bus::Fc => "fc",
            Bus::Ide => "ide",
        }
    }

    /// Returns the class GUID offered (`hyperv.h`).
    pub fn class(self) -> Guid {
        match self {
            Bus::Scsi => hv_proto::guid::HV_SCSI,
            Bus::Fc => hv_proto::guid::HV_SYNTHFC,
            Bus::Ide => hv_proto::guid::HV_IDE,
        }
    }

    /// Returns the default instance GUID of the `n`-th controller of this bus, or `None` to
    /// keep the kind's. IDE: the guest's target is `data2` (bytes 4 and 5, little-endian), 0.
    pub fn default_instance(self, n: u32) -> Option<Guid> {
        (self == Bus::Ide).then(|| {
            Guid::from_fields(
                0x4856_1de0,
                0,
                0x4000 | (n as u16 & 0x0fff),
                [0x80, 0, 0, 0, 0, 0, 0x1d, n as u8],
            )
        })
    }
}

/// The WWNs of a synthetic FC adapter (FCHBA_DATA, `struct hv_fc_wwn_packet`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FcWwns {
    /// The port WWN of the active port (`wwpn=`, 16 hex digits).
    pub port: Option<u64>,
    /// The node WWN of the active port (`wwnn=`).
    pub node: Option<u64>,
    /// The active port is the secondary one (`fc_active=secondary`): `primary_active` is 0,
    /// the WWNs go in the secondary slot and the primary slot holds others.
    pub secondary: bool,
}

/// Parses a WWN: 16 hex digits, with or without `0x` and `:` separators.
pub fn parse_wwn(s: &str) -> Option<u64> {
    let h: String = s
        .strip_prefix("0x")
        .unwrap_or(s)
        .chars()
        .filter(|c| *c != ':')
        .collect();
    (h.len() == 16).then(|| u64::from_str_radix(&h, 16).ok())?
}

/// Controller settings (device spec keys).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerConfig {
    /// The controller type offered (`bus=scsi|fc|ide`).
    pub bus: Bus,
    /// The WWNs of an FC adapter; derived from the instance GUID where not given.
    pub wwns: FcWwns,
    /// Highest VMSTOR version accepted (`vstor=X.Y`, default 6.2).
    pub max_version: u16,
    /// Lowest VMSTOR version accepted (`vstor_min=X.Y`, default 2.0).
    pub min_version: u16,
    /// `max_channel_cnt` of QUERY_PROPERTIES (`subchannels=N`, default 8); 0 clears the
    /// multi-channel flag.
    pub max_subchannels: u16,
    /// Transfer and provisioning limits (`max_transfer=BYTES`).
    pub limits: Limits,
}

impl Default for ControllerConfig {
    fn default() -> ControllerConfig {
        ControllerConfig {
            bus: Bus::Scsi,
            wwns: FcWwns {
                port: None,
                node: None,
                secondary: false,
            },
            max_version: VmstorProtocolVersion::WIN10.0,
            min_version: VmstorProtocolVersion::WIN6.0,
            max_subchannels: 8,
            limits: Limits::default(),
        }
    }
}

/// Where the session stands (`storvsc_channel_init()` order).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum InitState {
    /// The primary channel is not open.
    Closed,
    /// Open; BEGIN_INITIALIZATION expected.
    Opened,
    /// BEGIN_INITIALIZATION done; QUERY_PROTOCOL_VERSION expected.
    Begun,
    /// A version was agreed; QUERY_PROPERTIES expected.
    Versioned,
    /// Properties given; (FCHBA_DATA,) END_INITIALIZATION expected.
    Properties,
    /// Initialized: I/O and CREATE_SUB_CHANNELS.
    Ready,
}

/// The state of one open of the primary channel.
#[derive(Clone, Debug)]
struct Session {
    state: InitState,
    version: Option<u16>,
    subchannels: u16,
    /// The guest sent an SRB since initialization: its SCSI host exists.
    host_up: bool,
}

impl Session {
    fn new(state: InitState) -> Session {
        Session {
            state,
            version: None,
            subchannels: 0,
            host_up: false,
        }
    }

    /// Bytes of a `vstor_packet` in this session (16 fewer before 5.1).
    fn packet_size(&self) -> usize {
        match self.version {
            Some(v) if v < VmstorProtocolVersion::WIN8.0 => VSTOR_PACKET_PRE_WIN8_SIZE,
            _ => VSTOR_PACKET_SIZE,
        }
    }

    fn pre_win8(&self) -> bool {
        self.packet_size() < VSTOR_PACKET_SIZE
    }
}

/// An injected SRB failure (`scsi fault srb-status`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SrbFault {
    /// SRB status code (without the autosense flag).
    pub status: u8,
    /// Commands left to fail.
    pub count: u32,
    /// Sense data (sets CHECK CONDITION and the autosense flag).
    pub sense: Option<Sense>,
    /// Only READ and WRITE commands.
    pub rw_only: bool,
}

/// Faults of the I/O path (`scsi fault ...`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IoFaults {
    /// Withhold the completions of this many SRBs (`u32::MAX`: all) until a bus reset.
    pub drop: u32,
    /// Hold SRB completions this many ms.
    pub delay_ms: u64,
    /// Fail the next SRBs with an SRB status.
    pub srb: Option<SrbFault>,
    /// Rescind the controller after this many more SRBs.
    pub rescind_after: Option<u32>,
}

/// Counters of one channel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChanStats {
    /// Subchannel index.
    pub sub: u16,
    /// EXECUTE_SRB requests.
    pub srbs: u64,
    /// Bytes copied from the guest (data-out).
    pub bytes_out: u64,
    /// Bytes copied to the guest (data-in).
    pub bytes_in: u64,
    /// Completions with an SRB status other than SUCCESS.
    pub errors: u64,
    /// Completions withheld by `drop-io`.
    pub dropped: u64,
    /// Completions held by `delay-io`.
    pub delayed: u64,
    /// Unsolicited packets sent.
    pub notifications: u64,
    /// Reset requests (RESET_BUS, RESET_ADAPTER, RESET_LUN).
    pub resets: u64,
}

/// What the controller answers for a CDB.
pub enum Outcome {
    /// The LUN (or the target, for INQUIRY and REPORT LUNS) answered.
    Done(ScsiResult),
    /// No such LUN: `SRB_STATUS_INVALID_LUN`.
    InvalidLun,
}

enum WaitFor {
    Ready,
    Subchannels(usize),
    Unmaps(u64),
    Srbs(u64),
}

struct Waiter {
    token: u64,
    what: WaitFor,
    /// The engine answers with a timeout then; the waiter is dropped.
    deadline_ms: u64,
}

/// The state shared by the channels of one controller.
pub struct Controller {
    /// Settings.
    pub cfg: ControllerConfig,
    seed: Vec<u8>,
    /// The LUNs by (path, target, LUN).
    pub luns: BTreeMap<(u8, u8, u8), Lun>,
    session: Session,
    /// Active I/O faults.
    pub faults: IoFaults,
    /// Counters by relid.
    pub chan_stats: BTreeMap<u32, ChanStats>,
    /// Open channels: (relid, subchannel index).
    open: BTreeSet<(u32, u16)>,
    notify: VecDeque<VstorOperation>,
    reset_gen: u64,
    release_gen: u64,
    waiters: Vec<Waiter>,
}

static CONTROLLERS: AtomicU64 = AtomicU64::new(0);

impl Default for Controller {
    fn default() -> Controller {
        let n = CONTROLLERS.fetch_add(1, Ordering::Relaxed);
        Controller {
            cfg: ControllerConfig::default(),
            seed: n.to_le_bytes().to_vec(),
            luns: BTreeMap::new(),
            session: Session::new(InitState::Closed),
            faults: IoFaults::default(),
            chan_stats: BTreeMap::new(),
            open: BTreeSet::new(),
            notify: VecDeque::new(),
            reset_gen: 0,
            release_gen: 0,
            waiters: Vec::new(),
        }
    }
}

/// Parses a LUN address: `L`, `T:L` or `P:T:L`.
pub fn parse_addr(s: &str) -> Option<(u8, u8, u8)> {
    let v: Vec<u8> = s
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<Vec<u8>>>()?;
    match v.as_slice() {
        [l] => Some((0, 0, *l)),
        [t, l] => Some((0, *t, *l)),
        [p, t, l] => Some((*p, *t, *l)),
        _ => None,
    }
}

fn show_addr(a: (u8, u8, u8)) -> String {
    format!("{}:{}:{}", a.0, a.1, a.2)
}

/// SRB status names for the CLI.
const SRB_NAMES: [(&str, SrbStatus); 10] = [
    ("success", SrbStatus::SUCCESS),
    ("aborted", SrbStatus::ABORTED),
    ("error", SrbStatus::ERROR),
    ("invalid-request", SrbStatus::INVALID_REQUEST),
    ("timeout", SrbStatus::TIMEOUT),
    ("selection-timeout", SrbStatus::SELECTION_TIMEOUT),
    ("bus-reset", SrbStatus::BUS_RESET),
    ("data-overrun", SrbStatus::DATA_OVERRUN),
    ("invalid-lun", SrbStatus::INVALID_LUN),
    ("internal-error", SrbStatus::INTERNAL_ERROR),
];

fn parse_srb_status(s: &str) -> Option<u8> {
    if let Some((_, v)) = SRB_NAMES.iter().find(|(n, _)| *n == s) {
        return Some(v.0);
    }
    let h = s.strip_prefix("0x").unwrap_or(s);
    u8::from_str_radix(h, 16).ok().filter(|v| *v < 0x40)
}

impl Controller {
    /// Returns the multi-channel flag and `max_channel_cnt` the host reports at `version`
    /// (multi-channel from 5.1: "Hosts that implement protocol version of 5.1 and above support
    /// multi-channel", `storvsc_channel_init()`).
    fn multichannel(&self, version: u16) -> Option<u16> {
        (version >= VmstorProtocolVersion::WIN8.0 && self.cfg.max_subchannels > 0)
            .then_some(self.cfg.max_subchannels)
    }

    /// Adds a LUN.
    ///
    /// # Errors
    ///
    /// The address is taken, or the backing cannot be set up.
    pub fn add_lun(&mut self, c: &LunConfig) -> Result<(), String> {
        let addr = (c.path, c.target, c.lun);
        if self.luns.contains_key(&addr) {
            return Err(format!("LUN {} exists", show_addr(addr)));
        }
        let lun = Lun::new(c, &self.seed)?;
        self.luns.insert(addr, lun);
        Ok(())
    }

    /// Queues an unsolicited notification if the guest's SCSI host is up; returns whether.
    fn notify(&mut self, op: VstorOperation) -> bool {
        if self.session.state == InitState::Ready && self.session.host_up {
            self.notify.push_back(op);
            true
        } else {
            false
        }
    }

    /// Runs a CDB for LUN `addr` (REPORT LUNS and INQUIRY of missing LUNs at target level).
    pub fn execute(
        &mut self,
        addr: (u8, u8, u8),
        cdb: &[u8],
        data_out: &[u8],
        xfer: u32,
    ) -> Outcome {
        let op = cdb.first().copied().unwrap_or(0);
        if op == 0xa0 {
            return Outcome::Done(self.report_luns(addr, cdb));
        }
        let limits = self.cfg.limits;
        match self.luns.get_mut(&addr) {
            Some(l) => Outcome::Done(l.execute(cdb, data_out, xfer, &limits)),
            None if op == 0x12 => Outcome::Done(inquiry_no_lun(cdb)),
            None => Outcome::InvalidLun,
        }
    }

    /// REPORT LUNS (SPC-4 6.33): the LUNs of the addressed target, single-level peripheral
    /// addressing; answered at any LUN of the target (the midlayer sends it to LUN 0 even when
    /// LUN 0 does not exist, `scsi_report_lun_scan()`).
    fn report_luns(&self, addr: (u8, u8, u8), cdb: &[u8]) -> ScsiResult {
        let mut c = [0u8; 12];
        let n = cdb.len().min(12);
        c[..n].copy_from_slice(&cdb[..n]);
        let select = c[2];
        let alloc = u32::from_be_bytes([c[6], c[7], c[8], c[9]]) as usize;
        if cdb.len() < 12 || alloc < 16 || !matches!(select, 0..=2) {
            return ScsiResult {
                status: SAM_STAT_CHECK_CONDITION,
                sense: Some(Sense::INVALID_FIELD_IN_CDB),
                data: Vec::new(),
                overrun: false,
            };
        }
        let luns: Vec<u8> = if select == 1 {
            Vec::new()
        } else {
            self.luns
                .keys()
                .filter(|k| k.0 == addr.0 && k.1 == addr.1)
                .map(|k| k.2)
                .collect()
        };
        let mut d = ((luns.len() * 8) as u32).to_be_bytes().to_vec();
        d.extend_from_slice(&[0; 4]);
        for l in luns {
            d.extend_from_slice(&[0, l, 0, 0, 0, 0, 0, 0]);
        }
        d.truncate(alloc);
        ScsiResult {
            status: SAM_STAT_GOOD,
            sense: None,
            data: d,
            overrun: false,
        }
    }

    fn total_unmaps(&self) -> u64 {
        self.luns
            .values()
            .map(|l| l.stats.unmap_cmds + l.stats.write_same_unmap)
            .sum()
    }

    fn total_srbs(&self) -> u64 {
        self.chan_stats.values().map(|s| s.srbs).sum()
    }

    fn lun_lines(&self) -> Vec<String> {
        self.luns
            .values()
            .map(|l| {
                format!(
                    "lun={} size={} blocks={} block_size={} phys_block_size={} backing={} allocated={} ro={} wce={} serial={} pending_ua={}",
                    show_addr(l.addr),
                    show_size(l.blocks * u64::from(l.block_size)),
                    l.blocks,
                    l.block_size,
                    l.block_size << l.phys_exp,
                    l.backing().describe(),
                    l.backing().allocated().map_or("-".into(), |a| a.to_string()),
                    u8::from(l.readonly),
                    u8::from(l.write_cache),
                    l.serial(),
                    l.pending_ua().len(),
                )
            })
            .collect()
    }

    fn stats_lines(&self) -> Vec<String> {
        let mut v = Vec::new();
        let sum = |f: fn(&scsi::LunStats) -> u64| -> u64 {
            self.luns.values().map(|l| f(&l.stats)).sum()
        };
        let t = |f: fn(&ChanStats) -> u64| -> u64 { self.chan_stats.values().map(f).sum() };
        v.push(format!(
            "srbs={} bytes_out={} bytes_in={} errors={} dropped={} delayed={} resets={} notifications={}",
            t(|s| s.srbs),
            t(|s| s.bytes_out),
            t(|s| s.bytes_in),
            t(|s| s.errors),
            t(|s| s.dropped),
            t(|s| s.delayed),
            t(|s| s.resets),
            t(|s| s.notifications),
        ));
        v.push(format!(
            "commands={} reads={} writes={} bytes_read={} bytes_written={} unmap_cmds={} unmap_blocks={} write_same={} write_same_unmap={} syncs={} check_conditions={} unit_attentions={}",
            sum(|s| s.commands),
            sum(|s| s.reads),
            sum(|s| s.writes),
            sum(|s| s.bytes_read),
            sum(|s| s.bytes_written),
            sum(|s| s.unmap_cmds),
            sum(|s| s.unmap_blocks),
            sum(|s| s.write_same),
            sum(|s| s.write_same_unmap),
            sum(|s| s.syncs),
            sum(|s| s.check_conditions),
            sum(|s| s.unit_attentions),
        ));
        for (r, s) in &self.chan_stats {
            v.push(format!(
                "channel relid={r} sub={} srbs={} bytes_out={} bytes_in={} errors={} dropped={} delayed={} resets={} notifications={}",
                s.sub, s.srbs, s.bytes_out, s.bytes_in, s.errors, s.dropped, s.delayed, s.resets, s.notifications
            ));
        }
        for l in self.luns.values() {
            let s = &l.stats;
            v.push(format!(
                "lun {} commands={} reads={} writes={} bytes_read={} bytes_written={} unmap_cmds={} unmap_blocks={} write_same={} write_same_unmap={} syncs={} check_conditions={} unit_attentions={}",
                show_addr(l.addr), s.commands, s.reads, s.writes, s.bytes_read, s.bytes_written, s.unmap_cmds,
                s.unmap_blocks, s.write_same, s.write_same_unmap, s.syncs, s.check_conditions, s.unit_attentions
            ));
        }
        v
    }

    fn status_lines(&self) -> Vec<String> {
        let s = &self.session;
        let mut v = vec![
            format!("bus={}", self.cfg.bus.name()),
            format!("state={:?}", s.state),
            format!("version={}", s.version.map_or("-".into(), show_vstor)),
            format!(
                "accepts={}..{}",
                show_vstor(self.cfg.min_version),
                show_vstor(self.cfg.max_version)
            ),
            format!(
                "max_subchannels={} subchannels_requested={} open_channels={}",
                self.cfg.max_subchannels,
                s.subchannels,
                self.open.len()
            ),
            format!("max_transfer={}", self.cfg.limits.max_transfer),
            format!("host_up={} luns={}", u8::from(s.host_up), self.luns.len()),
            format!("faults={:?}", self.faults),
        ];
        if self.cfg.bus == Bus::Fc {
            let (port, node) = self.wwns();
            v.push(format!(
                "wwpn=0x{port:016x} wwnn=0x{node:016x} active={}",
                if self.cfg.wwns.secondary {
                    "secondary"
                } else {
                    "primary"
                }
            ));
        }
        v
    }

    /// The active port's WWNs of an FC adapter: (port, node); derived from the seed (the
    /// instance GUID) where not configured.
    fn wwns(&self) -> (u64, u64) {
        let h = self.seed.iter().fold(0x5000_0000_0000_0000u64, |h, b| {
            h.rotate_left(5) ^ u64::from(*b)
        });
        let base = 0x5000_0000_0000_0000 | (h & 0x0fff_ffff_ffff_fff0);
        (
            self.cfg.wwns.port.unwrap_or(base),
            self.cfg.wwns.node.unwrap_or(base | 1),
        )
    }

    /// The FCHBA_DATA answer (`struct hv_fc_wwn_packet`): the active port's WWNs in the
    /// primary slot with `primary_active` set, or in the secondary slot with the primary one
    /// holding the inactive port's (the active WWNs with the top byte flipped).
    fn wwn_packet(&self) -> HvFcWwnPacket {
        let (port, node) = self.wwns();
        let (other_port, other_node) = (port ^ 0xff << 56, node ^ 0xff << 56);
        if self.cfg.wwns.secondary {
            HvFcWwnPacket {
                primary_active: 0,
                reserved1: [0; 3],
                primary_port_wwn: other_port.to_be_bytes(),
                primary_node_wwn: other_node.to_be_bytes(),
                secondary_port_wwn: port.to_be_bytes(),
                secondary_node_wwn: node.to_be_bytes(),
            }
        } else {
            HvFcWwnPacket {
                primary_active: 1,
                reserved1: [0; 3],
                primary_port_wwn: port.to_be_bytes(),
                primary_node_wwn: node.to_be_bytes(),
                secondary_port_wwn: other_port.to_be_bytes(),
                secondary_node_wwn: other_node.to_be_bytes(),
            }
        }
    }
}

/// INQUIRY of a LUN that does not exist: peripheral qualifier 3 (SPC-4 6.6.2), so the
/// midlayer sees "target present, no LUN" and goes on with REPORT LUNS.
fn inquiry_no_lun(cdb: &[u8]) -> ScsiResult {
    let evpd = cdb.get(1).is_some_and(|b| b & 1 != 0);
    let alloc = usize::from(u16::from_be_bytes([
        cdb.get(3).copied().unwrap_or(0),
        cdb.get(4).copied().unwrap_or(0),
    ]));
    let mut d = if evpd {
        vec![PQ_NO_LUN, cdb.get(2).copied().unwrap_or(0), 0, 0]
    } else {
        scsi::standard_inquiry(PQ_NO_LUN)
    };
    d.truncate(alloc);
    ScsiResult {
        status: SAM_STAT_GOOD,
        sense: None,
        data: d,
        overrun: false,
    }
}

/// The [`Controller`] shared by a device spec and the back ends of its channels.
#[derive(Clone, Default)]
pub struct ControllerHandle(pub Arc<Mutex<Controller>>);

impl PartialEq for ControllerHandle {
    fn eq(&self, other: &ControllerHandle) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ControllerHandle {}

impl std::fmt::Debug for ControllerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = self.lock();
        write!(f, "Controller({} LUNs, {:?})", c.luns.len(), c.cfg)
    }
}

impl ControllerHandle {
    /// Locks the controller.
    pub fn lock(&self) -> MutexGuard<'_, Controller> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies a device spec key: `vstor`, `vstor_min`, `subchannels`, `max_transfer`.
    ///
    /// # Errors
    ///
    /// An unknown key or a bad value.
    pub fn set_option(&self, k: &str, v: &str) -> Result<(), String> {
        let mut c = self.lock();
        match k {
            "bus" => {
                c.cfg.bus = Bus::parse(v).ok_or(format!("bad bus {v} (scsi, fc or ide)"))?;
                if c.cfg.bus == Bus::Ide {
                    // Hyper-V's IDE accelerator has one channel (`subchannels=` after this
                    // key overrides).
                    c.cfg.max_subchannels = 0;
                }
            }
            "wwpn" => c.cfg.wwns.port = Some(parse_wwn(v).ok_or(format!("bad wwpn {v}"))?),
            "wwnn" => c.cfg.wwns.node = Some(parse_wwn(v).ok_or(format!("bad wwnn {v}"))?),
            "fc_active" => {
                c.cfg.wwns.secondary = match v {
                    "primary" => false,
                    "secondary" => true,
                    _ => return Err(format!("bad fc_active {v} (primary or secondary)")),
                }
            }
            "vstor" => c.cfg.max_version = parse_vstor(v).ok_or(format!("bad vstor {v}"))?,
            "vstor_min" => {
                c.cfg.min_version = parse_vstor(v).ok_or(format!("bad vstor_min {v}"))?
            }
            "subchannels" => {
                c.cfg.max_subchannels = v.parse().map_err(|_| format!("bad subchannels {v}"))?
            }
            "max_transfer" => {
                let b = scsi::parse_size(v)
                    .filter(|b| *b >= PAGE_SIZE && *b % PAGE_SIZE == 0 && *b <= 64 << 20)
                    .ok_or(format!(
                        "bad max_transfer {v} (4 KiB multiple up to 64 MiB)"
                    ))?;
                c.cfg.limits.max_transfer = b as u32;
            }
            _ => return Err(format!("unknown device option {k}")),
        }
        Ok(())
    }

    /// Returns the controller type (`bus=`).
    pub fn bus(&self) -> Bus {
        self.lock().cfg.bus
    }

    /// Mixes the controller's instance GUID into the LUN identifiers.
    pub fn set_seed(&self, instance: &Guid) {
        let mut c = self.lock();
        c.seed.truncate(8);
        c.seed.extend_from_slice(&instance.0);
    }
}

/// Attaches `--disk` specs to the `scsi` devices of `specs` (`scsi=NAME` picks one, the first
/// otherwise; a `scsi` device is added if there is none).
///
/// # Errors
///
/// A bad disk spec, an unknown controller, or a backing that cannot be set up.
pub fn attach_disks(specs: &mut Vec<DeviceSpec>, disks: &[String]) -> Result<(), String> {
    if disks.is_empty() {
        return Ok(());
    }
    if !specs.iter().any(|s| s.scsi.is_some()) {
        specs.push(DeviceSpec::parse("scsi", 0)?);
    }
    for d in disks {
        let (cfg, extra) = LunConfig::parse(d, &["scsi", "controller"])?;
        let want = extra.first().map(|(_, v)| v.as_str());
        let spec = specs
            .iter()
            .find(|s| s.scsi.is_some() && want.is_none_or(|w| s.name == w))
            .ok_or(format!("no scsi device {}", want.unwrap_or("")))?;
        if let Some(c) = &spec.scsi {
            c.lock()
                .add_lun(&cfg)
                .map_err(|e| format!("--disk {d}: {e}"))?;
        }
    }
    Ok(())
}

/// The storvsp back end of one channel.
pub struct Storvsp {
    ctl: ControllerHandle,
    relid: u32,
    sub: u16,
    open: bool,
    /// Completions held by `delay-io`: (due ms, packet).
    held: Vec<(u64, OutPkt)>,
    /// Completions withheld by `drop-io` until a bus reset: (transaction id, packet).
    lost: Vec<(u64, VstorPacket)>,
    reset_gen: u64,
    release_gen: u64,
}

/// Builds a completion packet (type 11) for `trans_id`: `p` with operation COMPLETE_IO and
/// `status`, cut to the session's packet size.
fn completion(trans_id: u64, mut p: VstorPacket, status: u32, size: usize) -> OutPkt {
    p.operation = VstorOperation::COMPLETE_IO;
    p.flags = 0;
    p.status = status;
    OutPkt::completion(trans_id, p.as_bytes()[..size].to_vec())
}

/// A data segment in guest memory: (GPA, length).
type Seg = (u64, usize);

/// Turns the ranges of a GPA-direct header into guest segments.
fn segments(g: &GpaDirect<'_>) -> Option<Vec<Seg>> {
    let mut segs = Vec::new();
    for r in g.ranges() {
        let mut off = u64::from(r.byte_offset);
        let mut left = u64::from(r.byte_count);
        for pfn in r.pfns() {
            if left == 0 {
                break;
            }
            let n = (PAGE_SIZE - off).min(left);
            let gpa = pfn.checked_mul(PAGE_SIZE)?.checked_add(off)?;
            segs.push((gpa, n as usize));
            left -= n;
            off = 0;
        }
    }
    Some(segs)
}

fn read_guest(mem: &dyn GuestMemory, segs: &[Seg], len: usize) -> Result<Vec<u8>, u64> {
    let mut buf = vec![0u8; len];
    let mut at = 0;
    for (gpa, n) in segs {
        if at >= len {
            break;
        }
        let n = (*n).min(len - at);
        mem.read(*gpa, &mut buf[at..at + n]).map_err(|e| e.gpa)?;
        at += n;
    }
    Ok(buf)
}

fn write_guest(mem: &dyn GuestMemory, segs: &[Seg], data: &[u8]) -> Result<(), u64> {
    let mut at = 0;
    for (gpa, n) in segs {
        if at >= data.len() {
            break;
        }
        let n = (*n).min(data.len() - at);
        mem.write(*gpa, &data[at..at + n]).map_err(|e| e.gpa)?;
        at += n;
    }
    Ok(())
}

fn is_rw(op: u8) -> bool {
    matches!(op, 0x08 | 0x28 | 0x88 | 0x0a | 0x2a | 0x8a)
}

impl Storvsp {
    /// Returns the back end of one channel of controller `ctl`.
    pub fn new(ctl: ControllerHandle) -> Storvsp {
        Storvsp {
            ctl,
            relid: 0,
            sub: 0,
            open: false,
            held: Vec::new(),
            lost: Vec::new(),
            reset_gen: 0,
            release_gen: 0,
        }
    }

    /// Returns the controller.
    pub fn controller(&self) -> &ControllerHandle {
        &self.ctl
    }

    fn stats<'c>(c: &'c mut Controller, relid: u32, sub: u16) -> &'c mut ChanStats {
        c.chan_stats.entry(relid).or_insert_with(|| ChanStats {
            sub,
            ..ChanStats::default()
        })
    }

    /// Sends the queued unsolicited notifications (primary channel only, like Hyper-V).
    fn flush_notify(&mut self, ctx: &mut DevCtx<'_>) {
        if self.sub != 0 || !self.open || !ctx.is_open() {
            return;
        }
        let mut c = self.ctl.lock();
        while let Some(op) = c.notify.pop_front() {
            let mut p = VstorPacket::new_zeroed();
            p.operation = op;
            if op == VstorOperation::FCHBA_DATA {
                // New WWNs (`wwn` command), as the answer to the guest's own FCHBA_DATA has
                // them. Linux 7.2 refuses FCHBA_DATA with transaction id 0 ("Invalid packet
                // with ID of 0") and keeps its names; it reads new ones at its next probe.
                p.set_wwn(&c.wwn_packet());
            }
            // `storvsc_on_channel_callback()`: transaction id 0 is an unsolicited message.
            ctx.send(OutPkt::inband(0, false, p.as_bytes().to_vec()));
            Self::stats(&mut c, self.relid, self.sub).notifications += 1;
            ctx.log(format!("scsi relid {}: sent {op:?}", self.relid));
        }
    }

    /// Answers the CLI waits whose condition holds.
    fn check_waiters(&mut self, ctx: &mut DevCtx<'_>) {
        let mut c = self.ctl.lock();
        if c.waiters.is_empty() {
            return;
        }
        let ready = c.session.state == InitState::Ready;
        let subs = c.open.iter().filter(|(_, s)| *s > 0).count();
        let unmaps = c.total_unmaps();
        let srbs = c.total_srbs();
        let now = ctx.now_ms;
        c.waiters.retain(|w| {
            if now > w.deadline_ms {
                return false;
            }
            let done = match w.what {
                WaitFor::Ready => ready.then(|| "state=Ready".to_string()),
                WaitFor::Subchannels(n) => (subs >= n).then(|| format!("subchannels={subs}")),
                WaitFor::Unmaps(n) => (unmaps >= n).then(|| format!("unmaps={unmaps}")),
                WaitFor::Srbs(n) => (srbs >= n).then(|| format!("srbs={srbs}")),
            };
            match done {
                Some(line) => {
                    ctx.finish(w.token, Reply::line(line));
                    false
                }
                None => true,
            }
        });
    }

    /// Sends the completions a bus reset releases, and those a cleared fault releases.
    fn release(&mut self, ctx: &mut DevCtx<'_>) {
        let (reset_gen, release_gen, delay, pre) = {
            let c = self.ctl.lock();
            (
                c.reset_gen,
                c.release_gen,
                c.faults.delay_ms,
                c.session.pre_win8(),
            )
        };
        if reset_gen != self.reset_gen {
            self.reset_gen = reset_gen;
            let size = if pre {
                VSTOR_PACKET_PRE_WIN8_SIZE
            } else {
                VSTOR_PACKET_SIZE
            };
            let n = self.lost.len();
            for (trans, mut p) in self.lost.drain(..) {
                let mut srb = p.srb();
                srb.srb_status = SrbStatus::BUS_RESET.0;
                srb.scsi_status = 0;
                srb.sense_info_length = 0;
                srb.data_transfer_length = 0;
                p.set_srb(&srb);
                ctx.send(completion(trans, p, 0, size));
            }
            if n > 0 {
                ctx.log(format!(
                    "scsi relid {}: bus reset completes {n} withheld request(s) with SRB_STATUS_BUS_RESET",
                    self.relid
                ));
            }
        }
        let all = release_gen != self.release_gen || delay == 0;
        self.release_gen = release_gen;
        let now = ctx.now_ms;
        let mut i = 0;
        self.held.sort_by_key(|(t, _)| *t);
        while i < self.held.len() {
            if all || self.held[i].0 <= now {
                let (_, p) = self.held.remove(i);
                ctx.send(p);
            } else {
                i += 1;
            }
        }
    }

    /// Answers an I/O request, through the I/O faults.
    fn respond_io(&mut self, ctx: &mut DevCtx<'_>, trans_id: u64, p: VstorPacket, size: usize) {
        let mut c = self.ctl.lock();
        if c.faults.drop > 0 {
            if c.faults.drop != u32::MAX {
                c.faults.drop -= 1;
            }
            Self::stats(&mut c, self.relid, self.sub).dropped += 1;
            drop(c);
            ctx.log(format!(
                "scsi relid {}: fault: withholding the completion of request {trans_id:#x}",
                self.relid
            ));
            self.lost.push((trans_id, p));
            return;
        }
        let delay = c.faults.delay_ms;
        if delay > 0 {
            Self::stats(&mut c, self.relid, self.sub).delayed += 1;
            drop(c);
            self.held
                .push((ctx.now_ms + delay, completion(trans_id, p, 0, size)));
            return;
        }
        drop(c);
        ctx.respond(completion(trans_id, p, 0, size));
    }

    fn request(&mut self, ctx: &mut DevCtx<'_>, pkt: &Packet) {
        let trans = pkt.info.trans_id;
        if !pkt.info.completion_requested() {
            ctx.protocol_error(format!(
                "scsi relid {}: request {trans:#x} without a completion request \
                 (storvsc sets VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED on every request)",
                self.relid
            ));
        }
        if trans == 0 {
            ctx.protocol_error(format!(
                "scsi relid {}: request with transaction id 0 (reserved for unsolicited host packets)",
                self.relid
            ));
        }
        let (size, state) = {
            let c = self.ctl.lock();
            (c.session.packet_size(), c.session.state)
        };
        // Before a version is agreed a pre-Windows 8 guest sends the short packet.
        let min = if state == InitState::Begun || state == InitState::Opened {
            VSTOR_PACKET_PRE_WIN8_SIZE
        } else {
            size
        };
        if pkt.payload.len() < min {
            ctx.protocol_error(format!(
                "scsi relid {}: vstor packet of {} bytes, expected {size}",
                self.relid,
                pkt.payload.len()
            ));
            return;
        }
        let mut p = VstorPacket::new_zeroed();
        let n = pkt.payload.len().min(VSTOR_PACKET_SIZE);
        p.as_mut_bytes()[..n].copy_from_slice(&pkt.payload[..n]);
        if { p.flags } & REQUEST_COMPLETION_FLAG == 0 {
            ctx.protocol_error(format!(
                "scsi relid {}: {:?} without REQUEST_COMPLETION_FLAG",
                self.relid,
                { p.operation }
            ));
        }
        let op = p.operation;
        if pkt.info.packet_type == PacketType::DATA_USING_GPA_DIRECT
            && op != VstorOperation::EXECUTE_SRB
        {
            ctx.protocol_error(format!(
                "scsi relid {}: {op:?} in a GPA-direct packet",
                self.relid
            ));
        }
        match op {
            VstorOperation::EXECUTE_SRB => self.execute_srb(ctx, pkt, p),
            VstorOperation::BEGIN_INITIALIZATION
            | VstorOperation::QUERY_PROTOCOL_VERSION
            | VstorOperation::QUERY_PROPERTIES
            | VstorOperation::FCHBA_DATA
            | VstorOperation::END_INITIALIZATION
            | VstorOperation::CREATE_SUB_CHANNELS => self.init_op(ctx, trans, p, size),
            VstorOperation::RESET_BUS
            | VstorOperation::RESET_ADAPTER
            | VstorOperation::RESET_LUN => self.reset(ctx, trans, p, size),
            other => {
                ctx.protocol_error(format!(
                    "scsi relid {}: guest sent {other:?}, not a guest-to-host operation",
                    self.relid
                ));
                ctx.respond(completion(trans, p, STATUS_INVALID_DEVICE_REQUEST, size));
            }
        }
    }

    /// The initialization operations (`storvsc_channel_init()`, `handle_multichannel_storage()`).
    fn init_op(&mut self, ctx: &mut DevCtx<'_>, trans: u64, mut p: VstorPacket, size: usize) {
        let op = p.operation;
        let relid = self.relid;
        let mut c = self.ctl.lock();
        let state = c.session.state;
        let (want, next) = match op {
            VstorOperation::BEGIN_INITIALIZATION => (InitState::Opened, InitState::Begun),
            VstorOperation::QUERY_PROTOCOL_VERSION => (InitState::Begun, InitState::Versioned),
            VstorOperation::QUERY_PROPERTIES => (InitState::Versioned, InitState::Properties),
            VstorOperation::FCHBA_DATA => (InitState::Properties, InitState::Properties),
            VstorOperation::END_INITIALIZATION => (InitState::Properties, InitState::Ready),
            _ => (InitState::Ready, InitState::Ready),
        };
        if self.sub != 0 {
            drop(c);
            ctx.protocol_error(format!(
                "scsi relid {relid}: {op:?} on subchannel {} (storvsc initializes on the primary channel)",
                self.sub
            ));
            ctx.respond(completion(trans, p, STATUS_INVALID_DEVICE_STATE, size));
            return;
        }
        if state != want {
            drop(c);
            ctx.protocol_error(format!(
                "scsi relid {relid}: {op:?} in state {state:?} (expected {want:?})"
            ));
            ctx.respond(completion(trans, p, STATUS_INVALID_DEVICE_STATE, size));
            return;
        }
        let mut status = 0;
        match op {
            VstorOperation::QUERY_PROTOCOL_VERSION => {
                let v = { p.version().major_minor }.0;
                let ok = HOST_VSTOR_VERSIONS.iter().any(|h| h.0 == v)
                    && v <= c.cfg.max_version
                    && v >= c.cfg.min_version;
                if ok {
                    c.session.version = Some(v);
                } else {
                    status = STATUS_REVISION_MISMATCH;
                }
                ctx.log(format!(
                    "scsi relid {relid}: QUERY_PROTOCOL_VERSION {}: {}",
                    show_vstor(v),
                    if ok { "accepted" } else { "refused" }
                ));
                // The answer goes in the size of the version asked about.
                let size = if ok { c.session.packet_size() } else { size };
                if ok {
                    c.session.state = next;
                }
                drop(c);
                ctx.respond(completion(trans, p, status, size));
                return;
            }
            VstorOperation::QUERY_PROPERTIES => {
                let v = c.session.version.unwrap_or(0);
                let multi = c.multichannel(v);
                let props = VmstorageChannelProperties {
                    reserved: 0,
                    max_channel_cnt: multi.unwrap_or(0),
                    reserved1: 0,
                    flags: if multi.is_some() {
                        STORAGE_CHANNEL_SUPPORTS_MULTI_CHANNEL
                    } else {
                        0
                    },
                    max_transfer_bytes: c.cfg.limits.max_transfer,
                    reserved2: 0,
                };
                p.payload = [0; hv_proto::vstor::VSTOR_PAYLOAD_SIZE];
                p.payload[..size_of::<VmstorageChannelProperties>()]
                    .copy_from_slice(props.as_bytes());
            }
            VstorOperation::FCHBA_DATA => {
                // The WWNs `cache_wwn()` reads; only an FC adapter has them (C sends
                // FCHBA_DATA for `SFC_GUID` only).
                if c.cfg.bus != Bus::Fc {
                    let bus = c.cfg.bus.name();
                    drop(c);
                    ctx.protocol_error(format!(
                        "scsi relid {relid}: FCHBA_DATA on a {bus} controller (FC only)"
                    ));
                    ctx.respond(completion(trans, p, STATUS_INVALID_DEVICE_REQUEST, size));
                    return;
                }
                let w = c.wwn_packet();
                ctx.log(format!(
                    "scsi relid {relid}: FCHBA_DATA: {}",
                    c.status_lines().last().map_or("", String::as_str)
                ));
                p.payload = [0; hv_proto::vstor::VSTOR_PAYLOAD_SIZE];
                p.set_wwn(&w);
            }
            VstorOperation::CREATE_SUB_CHANNELS => {
                let n = p.sub_channel_count();
                let v = c.session.version.unwrap_or(0);
                let max = c.multichannel(v);
                let bad = if c.session.subchannels > 0 {
                    Some("a second CREATE_SUB_CHANNELS in one session".to_string())
                } else if max.is_none() {
                    Some("CREATE_SUB_CHANNELS although the host did not offer multi-channel".into())
                } else if n == 0 || Some(n) > max {
                    Some(format!(
                        "CREATE_SUB_CHANNELS({n}) outside 1..={}",
                        max.unwrap_or(0)
                    ))
                } else {
                    None
                };
                if let Some(m) = bad {
                    drop(c);
                    ctx.protocol_error(format!("scsi relid {relid}: {m}"));
                    ctx.respond(completion(trans, p, STATUS_INVALID_PARAMETER, size));
                    return;
                }
                c.session.subchannels = n;
                drop(c);
                ctx.log(format!("scsi relid {relid}: creating {n} subchannel(s)"));
                ctx.respond(completion(trans, p, 0, size));
                for i in 1..=n {
                    ctx.request(DevRequest::OfferSubchannel(i));
                }
                return;
            }
            _ => {}
        }
        c.session.state = next;
        drop(c);
        if next == InitState::Ready && op == VstorOperation::END_INITIALIZATION {
            ctx.log(format!("scsi relid {relid}: initialized"));
        }
        ctx.respond(completion(trans, p, status, size));
    }

    /// RESET_BUS / RESET_ADAPTER / RESET_LUN (`storvsc_host_reset_handler()` sends RESET_BUS
    /// and then waits for every outstanding request): the withheld completions go out first.
    fn reset(&mut self, ctx: &mut DevCtx<'_>, trans: u64, p: VstorPacket, size: usize) {
        let op = p.operation;
        {
            let mut c = self.ctl.lock();
            if c.session.state != InitState::Ready {
                let st = c.session.state;
                drop(c);
                ctx.protocol_error(format!("scsi relid {}: {op:?} in state {st:?}", self.relid));
                ctx.respond(completion(trans, p, STATUS_INVALID_DEVICE_STATE, size));
                return;
            }
            c.reset_gen += 1;
            Self::stats(&mut c, self.relid, self.sub).resets += 1;
        }
        ctx.log(format!("scsi relid {}: {op:?}", self.relid));
        self.release(ctx);
        ctx.respond(completion(trans, p, 0, size));
    }

    /// EXECUTE_SRB (`storvsc_queuecommand()` / `storvsc_do_io()`).
    fn execute_srb(&mut self, ctx: &mut DevCtx<'_>, pkt: &Packet, mut p: VstorPacket) {
        let trans = pkt.info.trans_id;
        let relid = self.relid;
        let mut srb = p.srb();
        let (state, size, pre, max_transfer) = {
            let c = self.ctl.lock();
            (
                c.session.state,
                c.session.packet_size(),
                c.session.pre_win8(),
                c.cfg.limits.max_transfer,
            )
        };
        if pre {
            // The Windows 8 extension is not on the wire.
            let mut b = srb.as_bytes().to_vec();
            b[VMSCSI_REQUEST_PRE_WIN8_SIZE..].fill(0);
            srb = zerocopy::FromBytes::read_from_bytes(&b[..]).unwrap_or(srb);
        }
        let fail = |me: &mut Storvsp,
                    ctx: &mut DevCtx<'_>,
                    mut p: VstorPacket,
                    mut srb: VmscsiRequest,
                    m: String| {
            ctx.protocol_error(format!("scsi relid {relid}: EXECUTE_SRB {trans:#x}: {m}"));
            srb.srb_status = SrbStatus::INVALID_REQUEST.0;
            srb.scsi_status = 0;
            srb.sense_info_length = 0;
            srb.data_transfer_length = 0;
            p.set_srb(&srb);
            {
                let mut c = me.ctl.lock();
                Self::stats(&mut c, me.relid, me.sub).errors += 1;
            }
            ctx.respond(completion(trans, p, STATUS_INVALID_PARAMETER, size));
        };
        if state != InitState::Ready {
            return fail(
                self,
                ctx,
                p,
                srb,
                format!("in state {state:?} (before END_INITIALIZATION completed)"),
            );
        }
        let want_len = if pre {
            VMSCSI_REQUEST_PRE_WIN8_SIZE
        } else {
            size_of::<VmscsiRequest>()
        };
        let dtl = srb.data_transfer_length;
        let cdb_len = usize::from(srb.cdb_length);
        let sense_max = if pre { 0x12 } else { 0x14 };
        let dir = srb.data_in;
        let flags = srb.srb_flags & (SRB_FLAGS_DATA_IN | SRB_FLAGS_DATA_OUT);
        let check = || -> Option<String> {
            if usize::from(srb.length) != want_len {
                return Some(format!("vm_srb.length {} (expected {want_len})", {
                    srb.length
                }));
            }
            if !(1..=16).contains(&cdb_len) {
                return Some(format!("cdb_length {cdb_len}"));
            }
            if usize::from(srb.sense_info_length) > sense_max {
                return Some(format!("sense_info_length {}", srb.sense_info_length));
            }
            let want_flags = match dir {
                DataDirection::READ => SRB_FLAGS_DATA_IN,
                DataDirection::WRITE => SRB_FLAGS_DATA_OUT,
                DataDirection::UNKNOWN => 0,
                _ => return Some(format!("data_in {}", dir.0)),
            };
            if !pre && flags != want_flags {
                return Some(format!("srb_flags {:#x} do not match data_in {dir:?}", {
                    srb.srb_flags
                }));
            }
            if dtl > max_transfer {
                return Some(format!(
                    "data_transfer_length {dtl} exceeds max_transfer_bytes {max_transfer}"
                ));
            }
            if (dir == DataDirection::UNKNOWN) != (dtl == 0) {
                return Some(format!("data_in {dir:?} with data_transfer_length {dtl}"));
            }
            None
        };
        if let Some(m) = check() {
            return fail(self, ctx, p, srb, m);
        }
        let segs: Vec<Seg> = if pkt.info.packet_type == PacketType::DATA_USING_GPA_DIRECT {
            let g = match GpaDirect::parse(&pkt.header) {
                Ok(g) => g,
                Err(e) => return fail(self, ctx, p, srb, format!("bad GPA-direct header: {e:?}")),
            };
            let total: u64 = g.ranges().map(|r| u64::from(r.byte_count)).sum();
            let pfns: usize = g.ranges().map(|r| r.pfn_count()).sum();
            if total != u64::from(dtl) {
                return fail(
                    self,
                    ctx,
                    p,
                    srb,
                    format!("GPA ranges of {total} bytes for data_transfer_length {dtl}"),
                );
            }
            if pfns > max_transfer as usize / PAGE_SIZE as usize + 1 {
                return fail(
                    self,
                    ctx,
                    p,
                    srb,
                    format!("{pfns} pages exceed max_transfer_bytes"),
                );
            }
            match segments(&g) {
                Some(s) => s,
                None => return fail(self, ctx, p, srb, "PFN out of range".into()),
            }
        } else if pkt.info.packet_type == PacketType::DATA_INBAND {
            if dtl != 0 {
                return fail(
                    self,
                    ctx,
                    p,
                    srb,
                    format!("in-band packet with data_transfer_length {dtl} (data needs GPA-direct pages)"),
                );
            }
            Vec::new()
        } else {
            return fail(
                self,
                ctx,
                p,
                srb,
                format!("packet type {:?}", pkt.info.packet_type),
            );
        };
        let sense_room = usize::from(srb.sense_info_length);
        let mut cdb = [0u8; 16];
        cdb[..cdb_len].copy_from_slice(&srb.cdb[..cdb_len]);
        let cdb = &cdb[..cdb_len];
        let addr = (srb.path_id, srb.target_id, srb.lun);
        let mut c = self.ctl.lock();
        c.session.host_up = true;
        let st = Self::stats(&mut c, relid, self.sub);
        st.srbs += 1;
        // Faults.
        let mut rescind = false;
        if let Some(n) = c.faults.rescind_after.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.faults.rescind_after = None;
                rescind = true;
            }
        }
        let injected = match c.faults.srb.as_mut() {
            Some(f) if f.count > 0 && (!f.rw_only || is_rw(cdb[0])) => {
                f.count -= 1;
                let r = (f.status, f.sense);
                if f.count == 0 {
                    c.faults.srb = None;
                }
                Some(r)
            }
            _ => None,
        };
        if let Some((status, sense)) = injected {
            srb.srb_status = status;
            srb.scsi_status = 0;
            srb.sense_info_length = 0;
            srb.data_transfer_length = 0;
            if let Some(s) = sense {
                srb.scsi_status = SAM_STAT_CHECK_CONDITION;
                let n = sense_room.min(18);
                if n > 0 {
                    srb.cdb = [0; 20];
                    srb.cdb[..n].copy_from_slice(&s.fixed()[..n]);
                    srb.sense_info_length = n as u8;
                    srb.srb_status |= SRB_STATUS_AUTOSENSE_VALID;
                }
            }
            Self::stats(&mut c, relid, self.sub).errors += 1;
            drop(c);
            ctx.log(format!(
                "scsi relid {relid}: fault: CDB {:#04x} fails with SRB status {:#04x}",
                cdb[0], srb.srb_status
            ));
            p.set_srb(&srb);
            self.respond_io(ctx, trans, p, size);
            if rescind {
                ctx.request(DevRequest::RescindDevice);
            }
            return;
        }
        drop(c);
        let Some(mem) = ctx.memory().cloned() else {
            return fail(self, ctx, p, srb, "no guest memory".into());
        };
        let data_out = if dir == DataDirection::WRITE {
            match read_guest(mem.as_ref(), &segs, dtl as usize) {
                Ok(d) => d,
                Err(gpa) => {
                    return fail(
                        self,
                        ctx,
                        p,
                        srb,
                        format!("data page {gpa:#x} is not guest RAM"),
                    )
                }
            }
        } else {
            Vec::new()
        };
        let mut c = self.ctl.lock();
        let outcome = c.execute(addr, cdb, &data_out, dtl);
        drop(c);
        match &outcome {
            Outcome::InvalidLun => ctx.log(format!(
                "scsi relid {relid}: CDB {:02x?} for missing LUN {}: SRB_STATUS_INVALID_LUN",
                cdb,
                show_addr(addr)
            )),
            Outcome::Done(r) if r.status != SAM_STAT_GOOD => ctx.log(format!(
                "scsi relid {relid}: CDB {:02x?} LUN {}: CHECK CONDITION {}",
                cdb,
                show_addr(addr),
                r.sense.map_or("-".into(), |s| s.to_string())
            )),
            Outcome::Done(_) => {}
        }
        match outcome {
            Outcome::InvalidLun => {
                srb.srb_status = SrbStatus::INVALID_LUN.0;
                srb.scsi_status = 0;
                srb.sense_info_length = 0;
                srb.data_transfer_length = 0;
            }
            Outcome::Done(mut r) => {
                let mut overrun = r.overrun;
                if !r.data.is_empty() {
                    if dir != DataDirection::READ {
                        // Data-in for a request without a data-in buffer.
                        overrun = true;
                        r.data.clear();
                    } else if r.data.len() > dtl as usize {
                        overrun = true;
                        r.data.truncate(dtl as usize);
                    }
                }
                if dir == DataDirection::READ && !r.data.is_empty() {
                    if let Err(gpa) = write_guest(mem.as_ref(), &segs, &r.data) {
                        return fail(
                            self,
                            ctx,
                            p,
                            srb,
                            format!("data page {gpa:#x} is not guest RAM"),
                        );
                    }
                }
                srb.scsi_status = r.status;
                if r.status == SAM_STAT_GOOD {
                    srb.srb_status = if overrun {
                        SrbStatus::DATA_OVERRUN.0
                    } else {
                        SrbStatus::SUCCESS.0
                    };
                    srb.sense_info_length = 0;
                    srb.data_transfer_length = match dir {
                        DataDirection::READ => r.data.len() as u32,
                        _ if overrun => 0,
                        _ => dtl,
                    };
                } else {
                    // CHECK CONDITION with autosense (`storvsc_on_io_completion()` copies the
                    // sense when SRB_STATUS_AUTOSENSE_VALID is set).
                    srb.srb_status = SrbStatus::ERROR.0;
                    srb.data_transfer_length = 0;
                    srb.sense_info_length = 0;
                    if let Some(s) = r.sense {
                        let n = sense_room.min(18);
                        if n > 0 {
                            srb.cdb = [0; 20];
                            srb.cdb[..n].copy_from_slice(&s.fixed()[..n]);
                            srb.sense_info_length = n as u8;
                            srb.srb_status |= SRB_STATUS_AUTOSENSE_VALID;
                        }
                    }
                }
            }
        }
        {
            let mut c = self.ctl.lock();
            let st = Self::stats(&mut c, relid, self.sub);
            if dir == DataDirection::WRITE {
                st.bytes_out += u64::from(dtl);
            } else if dir == DataDirection::READ {
                st.bytes_in += u64::from(srb.data_transfer_length);
            }
            if srb.srb_status != SrbStatus::SUCCESS.0 {
                st.errors += 1;
            }
        }
        if pre {
            let mut b = srb.as_bytes().to_vec();
            b[VMSCSI_REQUEST_PRE_WIN8_SIZE..].fill(0);
            srb = zerocopy::FromBytes::read_from_bytes(&b[..]).unwrap_or(srb);
        }
        p.set_srb(&srb);
        self.respond_io(ctx, trans, p, size);
        if rescind {
            ctx.log(format!(
                "scsi relid {relid}: fault: rescinding the controller mid-I/O"
            ));
            ctx.request(DevRequest::RescindDevice);
        }
    }

    fn command_inner(&mut self, ctx: &mut DevCtx<'_>, args: &[String], token: u64) -> CmdResult {
        let pos = positional(args, &["timeout", "sense", "op"]);
        let done = |r: Reply| CmdResult::Done(r);
        let err = |m: String| CmdResult::Done(Reply::err(m));
        let quiet = flag(args, "quiet");
        match pos.as_slice() {
            [] | ["status"] => done(Reply::ok(self.ctl.lock().status_lines())),
            ["luns"] => done(Reply::ok(self.ctl.lock().lun_lines())),
            ["stats"] => {
                let mut c = self.ctl.lock();
                let lines = c.stats_lines();
                if flag(args, "reset") {
                    c.chan_stats.clear();
                    for l in c.luns.values_mut() {
                        l.stats = Default::default();
                    }
                }
                done(Reply::ok(lines))
            }
            ["lun", "add", spec] => {
                let cfg = match LunConfig::parse(spec, &[]) {
                    Ok((c, _)) => c,
                    Err(e) => return err(e),
                };
                let mut c = self.ctl.lock();
                if let Err(e) = c.add_lun(&cfg) {
                    return err(e);
                }
                let sent = !quiet && c.notify(VstorOperation::ENUMERATE_BUS);
                drop(c);
                ctx.log(format!("scsi: LUN {} added", show_addr((cfg.path, cfg.target, cfg.lun))));
                self.flush_notify(ctx);
                done(Reply::line(format!(
                    "added lun={} notified={}",
                    show_addr((cfg.path, cfg.target, cfg.lun)),
                    u8::from(sent)
                )))
            }
            ["lun", "remove", a] => {
                let Some(addr) = parse_addr(a) else {
                    return err(format!("bad LUN address {a}"));
                };
                let op = match opt(args, "op") {
                    None | Some("enumerate") => VstorOperation::ENUMERATE_BUS,
                    Some("remove-device") => VstorOperation::REMOVE_DEVICE,
                    Some(o) => return err(format!("bad --op {o} (enumerate, remove-device)")),
                };
                let mut c = self.ctl.lock();
                if c.luns.remove(&addr).is_none() {
                    return err(format!("no LUN {}", show_addr(addr)));
                }
                let sent = !quiet && c.notify(op);
                drop(c);
                ctx.log(format!("scsi: LUN {} removed", show_addr(addr)));
                self.flush_notify(ctx);
                done(Reply::line(format!(
                    "removed lun={} notified={}",
                    show_addr(addr),
                    u8::from(sent)
                )))
            }
            ["resize", a, size] => {
                let (Some(addr), Some(bytes)) = (parse_addr(a), scsi::parse_size(size)) else {
                    return err("usage: resize LUN SIZE".into());
                };
                let mut c = self.ctl.lock();
                let Some(l) = c.luns.get_mut(&addr) else {
                    return err(format!("no LUN {}", show_addr(addr)));
                };
                match l.resize(bytes) {
                    Ok(()) => {
                        let blocks = l.blocks;
                        drop(c);
                        ctx.log(format!("scsi: LUN {} resized to {bytes} bytes", show_addr(addr)));
                        done(Reply::line(format!("blocks={blocks} pending_ua=capacity")))
                    }
                    Err(e) => err(e),
                }
            }
            ["ua", a, what] => {
                let Some(addr) = parse_addr(a) else {
                    return err(format!("bad LUN address {a}"));
                };
                let sense = match *what {
                    "capacity" => Sense::CAPACITY_CHANGED,
                    "params" => Sense::PARAMS_CHANGED,
                    "reset" => Sense::POWER_ON_RESET,
                    s => match Sense::parse(s) {
                        Some(s) => s,
                        None => return err(format!("bad unit attention {s} (capacity, params, reset, KEY/ASC/ASCQ)")),
                    },
                };
                let mut c = self.ctl.lock();
                let Some(l) = c.luns.get_mut(&addr) else {
                    return err(format!("no LUN {}", show_addr(addr)));
                };
                l.push_ua(sense);
                done(Reply::line(format!("pending_ua={sense}")))
            }
            ["wwn", port, node] => {
                let (Some(port), Some(node)) = (parse_wwn(port), parse_wwn(node)) else {
                    return err("usage: wwn WWPN WWNN (16 hex digits each)".into());
                };
                let mut c = self.ctl.lock();
                if c.cfg.bus != Bus::Fc {
                    return err(format!("wwn: a {} controller has no WWNs", c.cfg.bus.name()));
                }
                c.cfg.wwns.port = Some(port);
                c.cfg.wwns.node = Some(node);
                let sent = !quiet && c.notify(VstorOperation::FCHBA_DATA);
                drop(c);
                ctx.log(format!("scsi: WWNs now wwpn=0x{port:016x} wwnn=0x{node:016x}"));
                self.flush_notify(ctx);
                done(Reply::line(format!("wwpn=0x{port:016x} wwnn=0x{node:016x} notified={}", u8::from(sent))))
            }
            ["enumerate"] | ["notify", "enumerate"] | ["notify", "remove-device"] => {
                let op = if pos.get(1) == Some(&"remove-device") {
                    VstorOperation::REMOVE_DEVICE
                } else {
                    VstorOperation::ENUMERATE_BUS
                };
                let sent = self.ctl.lock().notify(op);
                self.flush_notify(ctx);
                if sent {
                    done(Reply::line(format!("queued {op:?}")))
                } else {
                    err("the guest's SCSI host is not up (no SRB since initialization)".into())
                }
            }
            ["read", a, lba, rest @ ..] => {
                let (Some(addr), Ok(lba)) = (parse_addr(a), lba.parse::<u64>()) else {
                    return err("usage: read LUN LBA [BLOCKS] [--ascii]".into());
                };
                let blocks = rest.first().and_then(|b| b.parse().ok()).unwrap_or(1);
                let c = self.ctl.lock();
                let Some(l) = c.luns.get(&addr) else {
                    return err(format!("no LUN {}", show_addr(addr)));
                };
                match l.read_blocks(lba, blocks) {
                    Ok(data) if flag(args, "ascii") => {
                        let text: String = data
                            .iter()
                            .map(|b| if b.is_ascii_graphic() || *b == b' ' { *b as char } else { '.' })
                            .collect();
                        done(Reply::ok(
                            text.as_bytes()
                                .chunks(64)
                                .map(|c| String::from_utf8_lossy(c).into_owned())
                                .collect(),
                        ))
                    }
                    Ok(data) => done(Reply::ok(
                        data.chunks(32)
                            .map(|c| c.iter().map(|b| format!("{b:02x}")).collect())
                            .collect(),
                    )),
                    Err(e) => err(e),
                }
            }
            ["max-version", v] => match parse_vstor(v) {
                Some(v) => {
                    self.ctl.lock().cfg.max_version = v;
                    done(Reply::line(format!("max_version={}", show_vstor(v))))
                }
                None => err("usage: max-version X.Y".into()),
            },
            ["fault", rest @ ..] => self.fault(rest, args),
            ["inject", "bad-completions"] => {
                // Completions a guest must reject without touching a request: an id no request
                // has, an id beyond every tag, COMPLETE_IO with the unsolicited id 0, and a
                // reply shorter than a `vstor_packet` (`storvsc_on_channel_callback()`).
                if self.sub != 0 || !self.open || !ctx.is_open() {
                    return err("the primary channel is not open".into());
                }
                let mut p = VstorPacket::new_zeroed();
                p.operation = VstorOperation::COMPLETE_IO;
                let mut srb = VmscsiRequest::new_zeroed();
                srb.length = size_of::<VmscsiRequest>() as u16;
                srb.srb_status = SrbStatus::SUCCESS.0;
                p.set_srb(&srb);
                let full = p.as_bytes().to_vec();
                let bogus = [
                    (0xffff_0000u64, full.clone(), "unknown id"),
                    (u64::MAX - 8, full.clone(), "id beyond every tag"),
                    (0, full.clone(), "COMPLETE_IO with id 0"),
                    (1, full[..8].to_vec(), "8 bytes"),
                ];
                let n = bogus.len();
                for (id, bytes, what) in bogus {
                    ctx.send(OutPkt::completion(id, bytes));
                    ctx.log(format!("scsi relid {}: fault: bogus completion {id:#x} ({what})", self.relid));
                }
                done(Reply::line(format!("sent {n} bogus completions")))
            }
            ["wait", what @ ..] => {
                if ctx.relid == 0 {
                    return err("no scsi channel to wait on".into());
                }
                let w = match what {
                    ["ready"] => WaitFor::Ready,
                    ["subchannels", n] => match n.parse() {
                        Ok(n) => WaitFor::Subchannels(n),
                        Err(_) => return err("bad count".into()),
                    },
                    ["unmaps", n] => match n.parse() {
                        Ok(n) => WaitFor::Unmaps(n),
                        Err(_) => return err("bad count".into()),
                    },
                    ["srbs", n] => match n.parse() {
                        Ok(n) => WaitFor::Srbs(n),
                        Err(_) => return err("bad count".into()),
                    },
                    _ => return err("usage: wait ready|subchannels N|unmaps N|srbs N [--timeout S]".into()),
                };
                let timeout = timeout_ms(args, 60);
                self.ctl.lock().waiters.push(Waiter {
                    token,
                    what: w,
                    deadline_ms: ctx.now_ms + timeout,
                });
                self.check_waiters(ctx);
                CmdResult::Pending {
                    timeout_ms: timeout,
                }
            }
            [other, ..] => err(format!(
                "unknown scsi command {other} (status, luns, stats [--reset], lun add SPEC, lun remove LUN, \
                 resize LUN SIZE, ua LUN WHAT, enumerate, notify enumerate|remove-device, wwn WWPN WWNN [--quiet], \
                 read LUN LBA [N] [--ascii], \
                 max-version X.Y, fault ..., inject bad-completions, wait ...)"
            )),
        }
    }

    fn fault(&mut self, p: &[&str], args: &[String]) -> CmdResult {
        let mut c = self.ctl.lock();
        let f = &mut c.faults;
        let r = match p {
            [] | ["list"] => return CmdResult::Done(Reply::line(format!("{f:?}"))),
            ["clear"] => {
                *f = IoFaults::default();
                c.release_gen += 1;
                Ok("cleared".to_string())
            }
            ["drop-io", "all"] => {
                f.drop = u32::MAX;
                Ok("drop=all".into())
            }
            ["drop-io", "off"] => {
                f.drop = 0;
                Ok("drop=0".into())
            }
            ["drop-io", n] => n.parse().map(|n| {
                f.drop = n;
                format!("drop={n}")
            }).map_err(|_| "bad count".to_string()),
            ["delay-io", "off"] => {
                f.delay_ms = 0;
                Ok("delay_ms=0".into())
            }
            ["delay-io", ms] => ms.parse().map(|ms| {
                f.delay_ms = ms;
                format!("delay_ms={ms}")
            }).map_err(|_| "bad delay".to_string()),
            ["srb-status", "off"] => {
                f.srb = None;
                Ok("srb=off".into())
            }
            ["srb-status", st, rest @ ..] => {
                let count = rest.first().and_then(|n| n.parse().ok()).unwrap_or(1);
                let sense = match opt(args, "sense") {
                    Some(s) => match Sense::parse(s) {
                        Some(s) => Some(s),
                        None => return CmdResult::Done(Reply::err(format!("bad sense {s} (KEY/ASC/ASCQ)"))),
                    },
                    None => None,
                };
                match parse_srb_status(st) {
                    Some(status) => {
                        f.srb = Some(SrbFault {
                            status,
                            count,
                            sense,
                            rw_only: flag(args, "rw"),
                        });
                        Ok(format!("srb status={status:#04x} count={count}"))
                    }
                    None => Err(format!(
                        "bad SRB status {st} ({} or hex)",
                        SRB_NAMES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                    )),
                }
            }
            ["rescind-after", "off"] => {
                f.rescind_after = None;
                Ok("rescind_after=off".into())
            }
            ["rescind-after", n] => match n.parse::<u32>() {
                Ok(n) if n > 0 => {
                    f.rescind_after = Some(n);
                    Ok(format!("rescind_after={n}"))
                }
                _ => Err("bad count".into()),
            },
            _ => Err("usage: fault list|clear|drop-io N|all|off|delay-io MS|off|srb-status STATUS|off [N] [--sense K/ASC/ASCQ] [--rw]|rescind-after N|off".into()),
        };
        CmdResult::Done(match r {
            Ok(l) => Reply::line(l),
            Err(e) => Reply::err(e),
        })
    }
}

impl Device for Storvsp {
    fn kind(&self) -> &'static str {
        "scsi"
    }

    /// OPENCHANNEL (`storvsc_connect_to_vsp()` and `handle_sc_creation()` pass a zeroed
    /// `vmstorage_channel_properties` as user data): the primary starts a new session.
    fn open(&mut self, ctx: &mut DevCtx<'_>, _userdata: &[u8]) -> Result<(), u32> {
        self.relid = ctx.relid;
        self.sub = ctx.sub_index;
        self.open = true;
        self.held.clear();
        self.lost.clear();
        let mut c = self.ctl.lock();
        self.reset_gen = c.reset_gen;
        self.release_gen = c.release_gen;
        c.open.insert((self.relid, self.sub));
        Self::stats(&mut c, self.relid, self.sub);
        if self.sub == 0 {
            c.session = Session::new(InitState::Opened);
            c.notify.clear();
        } else if c.session.state != InitState::Ready {
            let st = c.session.state;
            drop(c);
            ctx.log(format!(
                "scsi relid {}: subchannel {} opened while the session is {st:?}",
                self.relid, self.sub
            ));
        }
        Ok(())
    }

    /// The channel closed (guest CLOSECHANNEL, rescind, unload, reset): what is held is gone.
    /// When the guest closes the primary, the host rescinds the subchannels of the session,
    /// so that the next open (module reload, resume) gets fresh ones for its
    /// CREATE_SUB_CHANNELS: Linux relies on that (`vmbus_bus_suspend()` waits for the host to
    /// rescind the closed sub-channels, "otherwise they would conflict with the new sub-channels
    /// that will be created in the resume path"; a closed one is released at once,
    /// `vmbus_onoffer_rescind()`).
    fn close(&mut self, ctx: &mut DevCtx<'_>) {
        if !self.open {
            return;
        }
        self.open = false;
        self.held.clear();
        self.lost.clear();
        let mut c = self.ctl.lock();
        c.open.remove(&(self.relid, self.sub));
        if self.sub == 0 {
            c.session = Session::new(InitState::Closed);
            c.notify.clear();
            drop(c);
            ctx.request(DevRequest::RescindSubchannels);
        }
    }

    fn packet(&mut self, ctx: &mut DevCtx<'_>, pkt: &Packet) {
        if !self.open {
            return;
        }
        match pkt.info.packet_type {
            PacketType::DATA_INBAND | PacketType::DATA_USING_GPA_DIRECT => self.request(ctx, pkt),
            other => ctx.protocol_error(format!(
                "scsi relid {}: packet type {other:?} (storvsc sends in-band and GPA-direct packets only)",
                self.relid
            )),
        }
        self.flush_notify(ctx);
        self.check_waiters(ctx);
    }

    fn tick(&mut self, ctx: &mut DevCtx<'_>) {
        if self.open && ctx.is_open() {
            self.release(ctx);
            self.flush_notify(ctx);
        }
        self.check_waiters(ctx);
    }

    fn command(&mut self, ctx: &mut DevCtx<'_>, args: &[String], token: u64) -> CmdResult {
        self.command_inner(ctx, args, token)
    }

    fn status(&self) -> Vec<String> {
        let c = self.ctl.lock();
        let mut v = c.status_lines();
        if let Some(s) = c.chan_stats.get(&self.relid) {
            v.push(format!(
                "this channel: sub={} srbs={} bytes_out={} bytes_in={} errors={} held={} withheld={}",
                s.sub,
                s.srbs,
                s.bytes_out,
                s.bytes_in,
                s.errors,
                self.held.len(),
                self.lost.len()
            ));
        }
        v
    }
}
