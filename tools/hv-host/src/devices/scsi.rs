// SPDX-License-Identifier: GPL-2.0

//! The SCSI target behind the storvsp back end: one direct-access block device per LUN, backed
//! by RAM or by a host file.
//!
//! The commands are the ones the Linux SCSI midlayer and `sd` send to a Hyper-V disk
//! (`drivers/scsi/scsi_scan.c`, `drivers/scsi/sd.c`) and what `storvsc_drv.c` relies on: standard
//! INQUIRY ("Msft" / "Virtual Disk" like Hyper-V, so `storvsc_sdev_configure()` allows WRITE
//! SAME on 6.2 hosts), the VPD pages `sd` reads with `BLIST_TRY_VPD_PAGES` (0x00, 0x80, 0x83,
//! 0xB0 block limits with UNMAP limits, 0xB1, 0xB2 provisioning with LBPU/LBPWS/LBPWS10 and
//! LBPRZ), READ CAPACITY 10/16 (LBPME/LBPRZ, physical block exponent), READ/WRITE 6/10/16,
//! WRITE SAME 10/16 (UNMAP, NDOB), UNMAP, SYNCHRONIZE CACHE 10/16, VERIFY 10/16, TEST UNIT READY,
//! REQUEST SENSE, MODE SENSE 6/10 (read-write error recovery, caching, control, informational
//! exceptions; current/changeable/default values; short and long block descriptors), START STOP
//! UNIT, PREVENT ALLOW MEDIUM REMOVAL. Everything else is CHECK CONDITION, ILLEGAL REQUEST,
//! INVALID COMMAND OPERATION CODE (SPC-4 4.5.2); invalid fields, LBAs out of range and
//! parameter-list errors get the sense SPC-4/SBC-3 name for them. Unit attentions (SAM-5 5.14)
//! are queued per LUN (one initiator, the guest) and reported on the next command that is not
//! INQUIRY, REPORT LUNS or REQUEST SENSE: capacity data changed (0x2A/0x09) after a resize, and
//! whatever the control CLI injects (e.g. 0x3F/0x00, the VHDX block-size change of
//! PROTOCOL-FACTS field bug 17).
//!
//! Addressing above one LUN (missing LUNs, REPORT LUNS) is the controller's job
//! ([`super::storvsp`]). Sense data is fixed format (18 bytes), which `storvsc` copies into the
//! command's sense buffer.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

/// SCSI status GOOD.
pub const SAM_STAT_GOOD: u8 = 0x00;
/// SCSI status CHECK CONDITION.
pub const SAM_STAT_CHECK_CONDITION: u8 = 0x02;

/// Sense keys (SPC-4 table 47).
pub mod key {
    /// NO SENSE.
    pub const NO_SENSE: u8 = 0x0;
    /// NOT READY.
    pub const NOT_READY: u8 = 0x2;
    /// MEDIUM ERROR.
    pub const MEDIUM_ERROR: u8 = 0x3;
    /// ILLEGAL REQUEST.
    pub const ILLEGAL_REQUEST: u8 = 0x5;
    /// UNIT ATTENTION.
    pub const UNIT_ATTENTION: u8 = 0x6;
    /// DATA PROTECT.
    pub const DATA_PROTECT: u8 = 0x7;
    /// ABORTED COMMAND.
    pub const ABORTED_COMMAND: u8 = 0xb;
}

/// A sense key with its additional sense code and qualifier.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Sense {
    /// Sense key.
    pub key: u8,
    /// Additional sense code.
    pub asc: u8,
    /// Additional sense code qualifier.
    pub ascq: u8,
}

impl Sense {
    /// Returns a sense triple.
    pub const fn new(key: u8, asc: u8, ascq: u8) -> Sense {
        Sense { key, asc, ascq }
    }

    /// INVALID COMMAND OPERATION CODE.
    pub const INVALID_OPCODE: Sense = Sense::new(key::ILLEGAL_REQUEST, 0x20, 0x00);
    /// LOGICAL BLOCK ADDRESS OUT OF RANGE.
    pub const LBA_OUT_OF_RANGE: Sense = Sense::new(key::ILLEGAL_REQUEST, 0x21, 0x00);
    /// INVALID FIELD IN CDB.
    pub const INVALID_FIELD_IN_CDB: Sense = Sense::new(key::ILLEGAL_REQUEST, 0x24, 0x00);
    /// INVALID FIELD IN PARAMETER LIST.
    pub const INVALID_FIELD_IN_PARAM: Sense = Sense::new(key::ILLEGAL_REQUEST, 0x26, 0x00);
    /// PARAMETER LIST LENGTH ERROR.
    pub const PARAM_LIST_LENGTH: Sense = Sense::new(key::ILLEGAL_REQUEST, 0x1a, 0x00);
    /// SAVING PARAMETERS NOT SUPPORTED.
    pub const SAVING_NOT_SUPPORTED: Sense = Sense::new(key::ILLEGAL_REQUEST, 0x39, 0x00);
    /// CAPACITY DATA HAS CHANGED (unit attention).
    pub const CAPACITY_CHANGED: Sense = Sense::new(key::UNIT_ATTENTION, 0x2a, 0x09);
    /// TARGET OPERATING CONDITIONS HAVE CHANGED (unit attention; what `storvsc_handle_error()`
    /// rescans on besides 0x3F/0x03 and 0x3F/0x0E).
    pub const PARAMS_CHANGED: Sense = Sense::new(key::UNIT_ATTENTION, 0x3f, 0x00);
    /// POWER ON, RESET, OR BUS DEVICE RESET OCCURRED (unit attention).
    pub const POWER_ON_RESET: Sense = Sense::new(key::UNIT_ATTENTION, 0x29, 0x00);
    /// LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED.
    pub const NOT_READY_INIT: Sense = Sense::new(key::NOT_READY, 0x04, 0x02);
    /// WRITE PROTECTED.
    pub const WRITE_PROTECTED: Sense = Sense::new(key::DATA_PROTECT, 0x27, 0x00);
    /// UNRECOVERED READ ERROR.
    pub const READ_ERROR: Sense = Sense::new(key::MEDIUM_ERROR, 0x11, 0x00);
    /// WRITE ERROR.
    pub const WRITE_ERROR: Sense = Sense::new(key::MEDIUM_ERROR, 0x0c, 0x00);

    /// Returns the fixed-format sense data (SPC-4 4.5.3, 18 bytes).
    pub fn fixed(&self) -> [u8; 18] {
        let mut s = [0u8; 18];
        s[0] = 0x70;
        s[2] = self.key & 0x0f;
        s[7] = 10;
        s[12] = self.asc;
        s[13] = self.ascq;
        s
    }

    /// Parses `KEY/ASC/ASCQ` (hexadecimal, e.g. `6/2a/09`).
    pub fn parse(s: &str) -> Option<Sense> {
        let mut it = s.split(['/', ':']);
        let mut next = || u8::from_str_radix(it.next()?.trim_start_matches("0x"), 16).ok();
        let (k, a, q) = (next()?, next()?, next()?);
        (k <= 0xf).then_some(Sense::new(k, a, q))
    }
}

impl std::fmt::Display for Sense {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:x}/{:02x}/{:02x}", self.key, self.asc, self.ascq)
    }
}

/// What a command produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScsiResult {
    /// SCSI status.
    pub status: u8,
    /// Sense data for CHECK CONDITION.
    pub sense: Option<Sense>,
    /// Data for the guest (data-in commands), already cut to the allocation length.
    pub data: Vec<u8>,
    /// The data did not fit the guest's buffer, or the guest's buffer was too short for the
    /// data-out the command needs (`SRB_STATUS_DATA_OVERRUN`).
    pub overrun: bool,
}

impl ScsiResult {
    fn good(data: Vec<u8>) -> ScsiResult {
        ScsiResult {
            status: SAM_STAT_GOOD,
            sense: None,
            data,
            overrun: false,
        }
    }

    fn check(sense: Sense) -> ScsiResult {
        ScsiResult {
            status: SAM_STAT_CHECK_CONDITION,
            sense: Some(sense),
            data: Vec::new(),
            overrun: false,
        }
    }
}

/// Size of a RAM chunk.
const CHUNK: u64 = 64 * 1024;

/// Sparse RAM: 64 KiB chunks allocated on first non-zero write; unmapped ranges are freed.
#[derive(Default)]
pub struct SparseRam {
    chunks: BTreeMap<u64, Box<[u8]>>,
}

impl SparseRam {
    fn read(&self, off: u64, buf: &mut [u8]) {
        let mut done = 0usize;
        while done < buf.len() {
            let at = off + done as u64;
            let (c, in_c) = (at / CHUNK, (at % CHUNK) as usize);
            let n = (buf.len() - done).min(CHUNK as usize - in_c);
            let dst = &mut buf[done..done + n];
            match self.chunks.get(&c) {
                Some(chunk) => dst.copy_from_slice(&chunk[in_c..in_c + n]),
                None => dst.fill(0),
            }
            done += n;
        }
    }

    fn write(&mut self, off: u64, data: &[u8]) {
        let mut done = 0usize;
        while done < data.len() {
            let at = off + done as u64;
            let (c, in_c) = (at / CHUNK, (at % CHUNK) as usize);
            let n = (data.len() - done).min(CHUNK as usize - in_c);
            let src = &data[done..done + n];
            if let Some(chunk) = self.chunks.get_mut(&c) {
                chunk[in_c..in_c + n].copy_from_slice(src);
            } else if src.iter().any(|b| *b != 0) {
                let mut chunk = vec![0u8; CHUNK as usize].into_boxed_slice();
                chunk[in_c..in_c + n].copy_from_slice(src);
                self.chunks.insert(c, chunk);
            }
            done += n;
        }
    }

    /// Deallocates `[off, off + len)`: whole chunks are freed, partial ones zeroed.
    fn zero(&mut self, off: u64, len: u64) {
        let end = off + len;
        let mut at = off;
        while at < end {
            let (c, in_c) = (at / CHUNK, at % CHUNK);
            let n = (end - at).min(CHUNK - in_c);
            if n == CHUNK {
                self.chunks.remove(&c);
            } else if let Some(chunk) = self.chunks.get_mut(&c) {
                chunk[in_c as usize..(in_c + n) as usize].fill(0);
                if chunk.iter().all(|b| *b == 0) {
                    self.chunks.remove(&c);
                }
            }
            at += n;
        }
    }

    fn truncate(&mut self, len: u64) {
        let keep = len.div_ceil(CHUNK);
        self.chunks.retain(|c, _| *c < keep);
        if len % CHUNK != 0 {
            if let Some(chunk) = self.chunks.get_mut(&(len / CHUNK)) {
                chunk[(len % CHUNK) as usize..].fill(0);
            }
        }
    }
}

/// Where a LUN's blocks live.
pub enum Backing {
    /// Host RAM (sparse).
    Ram(SparseRam),
    /// A host file (created or extended to the disk size). UNMAP writes zeros: without
    /// `fallocate(PUNCH_HOLE)` (no unsafe code here) that keeps LBPRZ true.
    File {
        /// The open file.
        file: File,
        /// Its path.
        path: PathBuf,
    },
}

impl Backing {
    /// Opens (creating it if needed) a file of at least `size` bytes, or of its own size when
    /// `size` is `None`; returns the backing and the size.
    ///
    /// # Errors
    ///
    /// The file cannot be opened or sized.
    pub fn open_file(path: &str, size: Option<u64>) -> io::Result<(Backing, u64)> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(size.is_some())
            .truncate(false)
            .open(path)?;
        let have = file.metadata()?.len();
        let len = match size {
            Some(s) => {
                if have != s {
                    file.set_len(s)?;
                }
                s
            }
            None => have,
        };
        Ok((
            Backing::File {
                file,
                path: PathBuf::from(path),
            },
            len,
        ))
    }

    fn read(&self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        match self {
            Backing::Ram(r) => {
                r.read(off, buf);
                Ok(())
            }
            Backing::File { file, .. } => {
                // Past the end of a file that shrank under us reads as zeros.
                let mut done = 0;
                while done < buf.len() {
                    match file.read_at(&mut buf[done..], off + done as u64)? {
                        0 => {
                            buf[done..].fill(0);
                            break;
                        }
                        n => done += n,
                    }
                }
                Ok(())
            }
        }
    }

    fn write(&mut self, off: u64, data: &[u8]) -> io::Result<()> {
        match self {
            Backing::Ram(r) => {
                r.write(off, data);
                Ok(())
            }
            Backing::File { file, .. } => file.write_all_at(data, off),
        }
    }

    fn zero(&mut self, off: u64, len: u64) -> io::Result<()> {
        match self {
            Backing::Ram(r) => {
                r.zero(off, len);
                Ok(())
            }
            Backing::File { file, .. } => {
                let zeros = vec![0u8; (1 << 20).min(len as usize)];
                let mut at = 0u64;
                while at < len {
                    let n = (len - at).min(zeros.len() as u64) as usize;
                    file.write_all_at(&zeros[..n], off + at)?;
                    at += n as u64;
                }
                Ok(())
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Backing::Ram(_) => Ok(()),
            Backing::File { file, .. } => file.sync_data(),
        }
    }

    fn resize(&mut self, len: u64) -> io::Result<()> {
        match self {
            Backing::Ram(r) => {
                r.truncate(len);
                Ok(())
            }
            Backing::File { file, .. } => file.set_len(len),
        }
    }

    /// Describes the backing (`ram` or `file:PATH`).
    pub fn describe(&self) -> String {
        match self {
            Backing::Ram(_) => "ram".into(),
            Backing::File { path, .. } => format!("file:{}", path.display()),
        }
    }

    /// Bytes of RAM allocated (RAM backing only).
    pub fn allocated(&self) -> Option<u64> {
        match self {
            Backing::Ram(r) => Some(r.chunks.len() as u64 * CHUNK),
            Backing::File { .. } => None,
        }
    }
}

/// Per-LUN counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LunStats {
    /// Commands executed (including failed ones).
    pub commands: u64,
    /// READ commands.
    pub reads: u64,
    /// WRITE commands.
    pub writes: u64,
    /// Bytes read by READ.
    pub bytes_read: u64,
    /// Bytes written by WRITE and WRITE SAME (without UNMAP).
    pub bytes_written: u64,
    /// UNMAP commands.
    pub unmap_cmds: u64,
    /// Blocks deallocated by UNMAP and WRITE SAME with UNMAP.
    pub unmap_blocks: u64,
    /// WRITE SAME commands.
    pub write_same: u64,
    /// WRITE SAME commands with the UNMAP bit.
    pub write_same_unmap: u64,
    /// SYNCHRONIZE CACHE commands.
    pub syncs: u64,
    /// CHECK CONDITIONs returned (unit attentions included).
    pub check_conditions: u64,
    /// Unit attentions reported.
    pub unit_attentions: u64,
}

/// Limits the controller gives its LUNs (block limits VPD page).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest transfer in bytes (QUERY_PROPERTIES `max_transfer_bytes`).
    pub max_transfer: u32,
    /// MAXIMUM UNMAP LBA COUNT.
    pub max_unmap_blocks: u32,
    /// MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT.
    pub max_unmap_descriptors: u32,
    /// MAXIMUM WRITE SAME LENGTH in blocks.
    pub max_write_same_blocks: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_transfer: 256 * 1024,
            max_unmap_blocks: 0x40_0000,
            max_unmap_descriptors: 64,
            max_write_same_blocks: 0x40_0000,
        }
    }
}

/// How a LUN is set up (`--disk` / `scsi lun add`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LunConfig {
    /// Path (the guest's SCSI channel).
    pub path: u8,
    /// Target id.
    pub target: u8,
    /// LUN.
    pub lun: u8,
    /// RAM disk of this many bytes, if not a file.
    pub ram: Option<u64>,
    /// Backing file.
    pub file: Option<String>,
    /// Size of the backing file (created or resized); its own size if `None`.
    pub size: Option<u64>,
    /// Logical block size.
    pub block_size: u32,
    /// Physical block size (a power-of-two multiple of the logical one).
    pub phys_block_size: u32,
    /// Unit serial number (VPD 0x80); derived from the address if `None`.
    pub serial: Option<String>,
    /// Write protected.
    pub readonly: bool,
    /// Volatile write cache reported enabled (MODE SENSE caching page WCE).
    pub write_cache: bool,
}

/// Parses a size: bytes, or with a binary suffix `K`, `M`, `G`, `T` (optionally `iB`/`B`).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let s = s
        .strip_suffix("iB")
        .or_else(|| s.strip_suffix('B'))
        .unwrap_or(s);
    let (num, mult) = match s.chars().last()? {
        'k' | 'K' => (&s[..s.len() - 1], 1u64 << 10),
        'm' | 'M' => (&s[..s.len() - 1], 1 << 20),
        'g' | 'G' => (&s[..s.len() - 1], 1 << 30),
        't' | 'T' => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mult)
}

/// Formats a byte count with a binary suffix when exact.
pub fn show_size(n: u64) -> String {
    for (suffix, shift) in [("G", 30), ("M", 20), ("K", 10)] {
        if n != 0 && n % (1u64 << shift) == 0 {
            return format!("{}{suffix}", n >> shift);
        }
    }
    n.to_string()
}

impl LunConfig {
    /// Parses `key=value,...`: `lun`, `target`, `path`, `ram=SIZE` or `file=PATH` (with
    /// `size=SIZE` to create or resize it), `block`, `pblock`, `serial`, `ro`, `wce`. Keys the
    /// caller handles (e.g. `scsi=NAME`) are returned separately.
    ///
    /// # Errors
    ///
    /// A message naming the bad part.
    pub fn parse(s: &str, extra: &[&str]) -> Result<(LunConfig, Vec<(String, String)>), String> {
        let mut c = LunConfig {
            path: 0,
            target: 0,
            lun: 0,
            ram: None,
            file: None,
            size: None,
            block_size: 512,
            phys_block_size: 4096,
            serial: None,
            readonly: false,
            write_cache: true,
        };
        let mut rest = Vec::new();
        let onoff = |k: &str, v: &str| match v {
            "on" | "1" | "yes" | "true" => Ok(true),
            "off" | "0" | "no" | "false" => Ok(false),
            _ => Err(format!("{k}={v}: expected on or off")),
        };
        let num_u8 = |k: &str, v: &str| v.parse::<u8>().map_err(|_| format!("bad {k} {v}"));
        let size = |k: &str, v: &str| parse_size(v).ok_or(format!("bad {k} {v}"));
        for p in s.split(',').filter(|p| !p.is_empty()) {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| format!("disk option {p:?} is not key=value"))?;
            match k {
                "lun" => c.lun = num_u8(k, v)?,
                "target" => c.target = num_u8(k, v)?,
                "path" | "channel" => c.path = num_u8(k, v)?,
                "ram" => c.ram = Some(size(k, v)?),
                "file" => c.file = Some(v.to_string()),
                "size" => c.size = Some(size(k, v)?),
                "block" => c.block_size = size(k, v)? as u32,
                "pblock" => c.phys_block_size = size(k, v)? as u32,
                "serial" => c.serial = Some(v.to_string()),
                "ro" => c.readonly = onoff(k, v)?,
                "wce" => c.write_cache = onoff(k, v)?,
                _ if extra.contains(&k) => rest.push((k.to_string(), v.to_string())),
                _ => return Err(format!("unknown disk option {k}")),
            }
        }
        if !matches!(c.block_size, 512 | 1024 | 2048 | 4096) {
            return Err(format!("block size {} is not 512..4096", c.block_size));
        }
        if c.phys_block_size < c.block_size
            || !(c.phys_block_size / c.block_size).is_power_of_two()
            || c.phys_block_size % c.block_size != 0
        {
            return Err(format!(
                "physical block size {} is not a power-of-two multiple of {}",
                c.phys_block_size, c.block_size
            ));
        }
        match (&c.ram, &c.file) {
            (Some(_), Some(_)) => return Err("a disk is ram=SIZE or file=PATH, not both".into()),
            (None, None) => return Err("a disk needs ram=SIZE or file=PATH".into()),
            (Some(r), None) if *r == 0 || *r % u64::from(c.block_size) != 0 => {
                return Err(format!(
                    "ram size {r} is not a multiple of {}",
                    c.block_size
                ))
            }
            _ => {}
        }
        Ok((c, rest))
    }
}

/// One logical unit: a direct-access block device.
pub struct Lun {
    /// Path, target, LUN.
    pub addr: (u8, u8, u8),
    backing: Backing,
    /// Logical block size.
    pub block_size: u32,
    /// log2(physical / logical block size).
    pub phys_exp: u8,
    /// Capacity in logical blocks.
    pub blocks: u64,
    serial: String,
    naa: [u8; 8],
    /// Write protected.
    pub readonly: bool,
    /// Volatile write cache enabled.
    pub write_cache: bool,
    stopped: bool,
    ua: VecDeque<Sense>,
    /// Counters.
    pub stats: LunStats,
}

/// FNV-1a over `data`.
fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be64(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(v)
}

/// Cuts `data` to the allocation length.
fn cut(mut data: Vec<u8>, alloc: usize) -> Vec<u8> {
    data.truncate(alloc);
    data
}

/// Vendor identification of the standard INQUIRY data (Hyper-V's).
pub const VENDOR: &[u8; 8] = b"Msft    ";
/// Product identification.
pub const PRODUCT: &[u8; 16] = b"Virtual Disk    ";
/// Product revision level.
pub const REVISION: &[u8; 4] = b"1.0 ";

/// Standard INQUIRY data (SPC-4 6.6.2, 36 bytes) with peripheral byte `pdt`: SPC-3 (version
/// 5, so the midlayer uses READ CAPACITY 16 first and REPORT LUNS), HISUP, response format 2,
/// CMDQUE (tagged queueing: `storvsc_queuecommand()` then sets the queue action).
pub fn standard_inquiry(pdt: u8) -> Vec<u8> {
    let mut d = vec![0u8; 36];
    d[0] = pdt;
    d[2] = 0x05;
    d[3] = 0x12;
    d[4] = 31;
    d[7] = 0x02;
    d[8..16].copy_from_slice(VENDOR);
    d[16..32].copy_from_slice(PRODUCT);
    d[32..36].copy_from_slice(REVISION);
    d
}

/// Peripheral qualifier 3, device type 0x1F: no logical unit here (SPC-4 6.6.2); what
/// `scsi_probe_and_add_lun()` treats as "target present, no LUN".
pub const PQ_NO_LUN: u8 = 0x7f;

/// Blocks and LBA of a READ/WRITE/VERIFY-style CDB.
struct Rw {
    lba: u64,
    blocks: u64,
    fua: bool,
}

impl Lun {
    /// Creates a LUN from its configuration; `seed` makes the identifiers unique per
    /// controller.
    ///
    /// # Errors
    ///
    /// The backing file cannot be opened, or the size is not whole blocks.
    pub fn new(c: &LunConfig, seed: &[u8]) -> Result<Lun, String> {
        let (backing, len) = match (&c.file, c.ram) {
            (Some(f), _) => Backing::open_file(f, c.size).map_err(|e| format!("{f}: {e}"))?,
            (None, Some(r)) => (Backing::Ram(SparseRam::default()), r),
            (None, None) => return Err("a disk needs ram=SIZE or file=PATH".into()),
        };
        let bs = u64::from(c.block_size);
        if len == 0 || len % bs != 0 {
            return Err(format!(
                "disk size {len} is not a non-zero multiple of {bs}"
            ));
        }
        let mut id = seed.to_vec();
        id.extend_from_slice(&[c.path, c.target, c.lun]);
        let h = fnv(&id);
        // NAA 3 (locally assigned): 4 bits of NAA and 60 bits of our own.
        let naa = ((3u64 << 60) | (h & 0x0fff_ffff_ffff_ffff)).to_be_bytes();
        Ok(Lun {
            addr: (c.path, c.target, c.lun),
            backing,
            block_size: c.block_size,
            phys_exp: (c.phys_block_size / c.block_size).trailing_zeros() as u8,
            blocks: len / bs,
            serial: c
                .serial
                .clone()
                .unwrap_or_else(|| format!("HVRS{:012X}", h >> 16)),
            naa,
            readonly: c.readonly,
            write_cache: c.write_cache,
            stopped: false,
            ua: VecDeque::new(),
            stats: LunStats::default(),
        })
    }

    /// Returns the backing's description.
    pub fn backing(&self) -> &Backing {
        &self.backing
    }

    /// Returns the unit serial number.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// Queues a unit attention (not twice the same one in a row).
    pub fn push_ua(&mut self, s: Sense) {
        if self.ua.back() != Some(&s) {
            self.ua.push_back(s);
        }
    }

    /// Returns the pending unit attentions.
    pub fn pending_ua(&self) -> Vec<Sense> {
        self.ua.iter().copied().collect()
    }

    /// Changes the capacity to `bytes` and queues CAPACITY DATA HAS CHANGED (what Hyper-V
    /// does on a VHDX resize; `storvsc_handle_error()` rescans the device on it).
    ///
    /// # Errors
    ///
    /// The size is not whole blocks, or the file cannot be resized.
    pub fn resize(&mut self, bytes: u64) -> Result<(), String> {
        let bs = u64::from(self.block_size);
        if bytes == 0 || bytes % bs != 0 {
            return Err(format!("size {bytes} is not a non-zero multiple of {bs}"));
        }
        self.backing.resize(bytes).map_err(|e| e.to_string())?;
        self.blocks = bytes / bs;
        self.push_ua(Sense::CAPACITY_CHANGED);
        Ok(())
    }

    /// Reads `blocks` blocks at `lba` (for the control CLI and tests).
    ///
    /// # Errors
    ///
    /// Out of range, or an I/O error of the backing file.
    pub fn read_blocks(&self, lba: u64, blocks: u64) -> Result<Vec<u8>, String> {
        if lba.checked_add(blocks).is_none_or(|e| e > self.blocks) || blocks > 4096 {
            return Err("out of range".into());
        }
        let bs = u64::from(self.block_size);
        let mut buf = vec![0u8; (blocks * bs) as usize];
        self.backing
            .read(lba * bs, &mut buf)
            .map_err(|e| e.to_string())?;
        Ok(buf)
    }

    fn check_range(&self, lba: u64, blocks: u64) -> Result<(), Sense> {
        match lba.checked_add(blocks) {
            Some(end) if end <= self.blocks => Ok(()),
            _ => Err(Sense::LBA_OUT_OF_RANGE),
        }
    }

    /// Executes one CDB. `data_out` is what the guest sent (data-out commands), `xfer` the size
    /// of the guest's buffer (`data_transfer_length`). Missing-LUN and REPORT LUNS handling is
    /// the controller's.
    pub fn execute(
        &mut self,
        cdb: &[u8],
        data_out: &[u8],
        xfer: u32,
        limits: &Limits,
    ) -> ScsiResult {
        self.stats.commands += 1;
        let r = self.execute_inner(cdb, data_out, xfer, limits);
        if r.status == SAM_STAT_CHECK_CONDITION {
            self.stats.check_conditions += 1;
        }
        r
    }

    fn execute_inner(
        &mut self,
        cdb_in: &[u8],
        data_out: &[u8],
        xfer: u32,
        limits: &Limits,
    ) -> ScsiResult {
        let Some(&op) = cdb_in.first() else {
            return ScsiResult::check(Sense::INVALID_OPCODE);
        };
        // The CDB length a command needs (SPC-4 4.2.5.1: group code).
        let need = match op >> 5 {
            0 => 6,
            1 | 2 => 10,
            4 => 16,
            5 => 12,
            _ => 1,
        };
        if cdb_in.len() < need {
            return ScsiResult::check(Sense::INVALID_FIELD_IN_CDB);
        }
        let mut cdb = [0u8; 16];
        let n = cdb_in.len().min(16);
        cdb[..n].copy_from_slice(&cdb_in[..n]);
        // Unit attention: reported on any command but these (SAM-5 5.14, SPC-4 5.14).
        if !matches!(op, 0x12 | 0xa0 | 0x03) {
            if let Some(s) = self.ua.pop_front() {
                self.stats.unit_attentions += 1;
                return ScsiResult::check(s);
            }
        }
        let media = matches!(
            op,
            0x00 | 0x08
                | 0x28
                | 0x88
                | 0x0a
                | 0x2a
                | 0x8a
                | 0x41
                | 0x93
                | 0x42
                | 0x35
                | 0x91
                | 0x2f
                | 0x8f
        );
        if self.stopped && media {
            return ScsiResult::check(Sense::NOT_READY_INIT);
        }
        let res = match op {
            0x00 => Ok(ScsiResult::good(Vec::new())),
            0x03 => Ok(self.request_sense(&cdb)),
            0x12 => self.inquiry(&cdb, limits),
            0x1a | 0x5a => self.mode_sense(&cdb),
            0x1b => self.start_stop(&cdb),
            0x1e => Ok(ScsiResult::good(Vec::new())),
            0x25 => Ok(self.read_capacity10()),
            0x9e => self.service_action_in(&cdb),
            0x08 | 0x28 | 0x88 => self.read(&cdb, xfer),
            0x0a | 0x2a | 0x8a => self.write(&cdb, data_out),
            0x2f | 0x8f => self.verify(&cdb),
            0x35 | 0x91 => self.sync_cache(&cdb),
            0x41 | 0x93 => self.write_same(&cdb, data_out, limits),
            0x42 => self.unmap(&cdb, data_out, limits),
            _ => Err(Sense::INVALID_OPCODE),
        };
        res.unwrap_or_else(ScsiResult::check)
    }

    fn request_sense(&mut self, cdb: &[u8; 16]) -> ScsiResult {
        let alloc = usize::from(cdb[4]);
        let s = self.ua.pop_front().unwrap_or(if self.stopped {
            Sense::NOT_READY_INIT
        } else {
            Sense::new(key::NO_SENSE, 0, 0)
        });
        ScsiResult::good(cut(s.fixed().to_vec(), alloc))
    }

    fn inquiry(&self, cdb: &[u8; 16], limits: &Limits) -> Result<ScsiResult, Sense> {
        let evpd = cdb[1] & 1 != 0;
        let page = cdb[2];
        let alloc = usize::from(be16(cdb, 3));
        if cdb[1] & 0xfe != 0 || (!evpd && page != 0) {
            return Err(Sense::INVALID_FIELD_IN_CDB);
        }
        if !evpd {
            return Ok(ScsiResult::good(cut(standard_inquiry(0x00), alloc)));
        }
        let body: Vec<u8> = match page {
            // Supported VPD pages.
            0x00 => vec![0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2],
            // Unit serial number.
            0x80 => self.serial.as_bytes().to_vec(),
            // Device identification: NAA (binary, LU) and T10 vendor id (ASCII, LU).
            0x83 => {
                let mut v = vec![0x01, 0x03, 0x00, 0x08];
                v.extend_from_slice(&self.naa);
                let mut t10 = VENDOR.to_vec();
                t10.extend_from_slice(PRODUCT);
                t10.extend_from_slice(self.serial.as_bytes());
                v.extend_from_slice(&[0x02, 0x01, 0x00, t10.len() as u8]);
                v.extend_from_slice(&t10);
                v
            }
            // Block limits (SBC-3 6.6.4).
            0xb0 => {
                let bs = self.block_size;
                let mut v = vec![0u8; 0x3c];
                v[0] = 0x01; // WSNZ: a WRITE SAME of 0 blocks is refused.
                let granularity = 1u16 << self.phys_exp;
                v[2..4].copy_from_slice(&granularity.to_be_bytes());
                v[4..8].copy_from_slice(&(limits.max_transfer / bs).to_be_bytes());
                v[16..20].copy_from_slice(&limits.max_unmap_blocks.to_be_bytes());
                v[20..24].copy_from_slice(&limits.max_unmap_descriptors.to_be_bytes());
                v[24..28].copy_from_slice(&u32::from(granularity).to_be_bytes());
                v[28..32].copy_from_slice(&0x8000_0000u32.to_be_bytes()); // UGAVALID, 0
                v[32..40].copy_from_slice(&limits.max_write_same_blocks.to_be_bytes());
                v
            }
            // Block device characteristics: non-rotating.
            0xb1 => {
                let mut v = vec![0u8; 0x3c];
                v[1] = 0x01;
                v
            }
            // Logical block provisioning: LBPU, LBPWS, LBPWS10, LBPRZ; thin provisioned.
            0xb2 => vec![0x00, 0x80 | 0x40 | 0x20 | 0x04, 0x02, 0x00],
            _ => return Err(Sense::INVALID_FIELD_IN_CDB),
        };
        let mut d = vec![0x00, page];
        d.extend_from_slice(&(body.len() as u16).to_be_bytes());
        d.extend_from_slice(&body);
        Ok(ScsiResult::good(cut(d, alloc)))
    }

    /// The mode pages (SBC-3 6.5): `changeable` gives the changeable-values mask (none: MODE
    /// SELECT is not supported).
    fn mode_page(&self, page: u8, changeable: bool) -> Option<Vec<u8>> {
        let mut p = match page {
            // Read-write error recovery.
            0x01 => vec![0x01, 0x0a, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            // Caching: WCE as configured, read cache on.
            0x08 => {
                let mut v = vec![0u8; 20];
                v[0] = 0x08;
                v[1] = 0x12;
                v[2] = if self.write_cache { 0x04 } else { 0 };
                v
            }
            // Control: unrestricted reordering, descriptor sense off.
            0x0a => vec![0x0a, 0x0a, 0x00, 0x10, 0, 0, 0, 0, 0xff, 0xff, 0, 0],
            // Informational exceptions control: reporting off.
            0x1c => vec![0x1c, 0x0a, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            _ => return None,
        };
        if changeable {
            for b in &mut p[2..] {
                *b = 0;
            }
        }
        Some(p)
    }

    fn mode_sense(&self, cdb: &[u8; 16]) -> Result<ScsiResult, Sense> {
        let ten = cdb[0] == 0x5a;
        let dbd = cdb[1] & 0x08 != 0;
        let llbaa = ten && cdb[1] & 0x10 != 0;
        let pc = cdb[2] >> 6;
        let page = cdb[2] & 0x3f;
        let subpage = cdb[3];
        let alloc = if ten {
            usize::from(be16(cdb, 7))
        } else {
            usize::from(cdb[4])
        };
        if pc == 3 {
            return Err(Sense::SAVING_NOT_SUPPORTED);
        }
        let mut pages = Vec::new();
        if page == 0x3f {
            if subpage != 0 && subpage != 0xff {
                return Err(Sense::INVALID_FIELD_IN_CDB);
            }
            for p in [0x01, 0x08, 0x0a, 0x1c] {
                pages.extend(self.mode_page(p, pc == 1).unwrap_or_default());
            }
        } else {
            if subpage != 0 {
                return Err(Sense::INVALID_FIELD_IN_CDB);
            }
            pages = self
                .mode_page(page, pc == 1)
                .ok_or(Sense::INVALID_FIELD_IN_CDB)?;
        }
        let bs = self.block_size;
        let blockdesc: Vec<u8> = if dbd {
            Vec::new()
        } else if llbaa {
            let mut d = vec![0u8; 16];
            d[0..8].copy_from_slice(&self.blocks.to_be_bytes());
            d[12..16].copy_from_slice(&bs.to_be_bytes());
            d
        } else {
            let mut d = vec![0u8; 8];
            let n = u32::try_from(self.blocks).unwrap_or(u32::MAX);
            d[0..4].copy_from_slice(&n.to_be_bytes());
            d[5..8].copy_from_slice(&bs.to_be_bytes()[1..4]);
            d
        };
        // Device-specific parameter: WP; no DPOFUA (Hyper-V's disks report none).
        let devspec = if self.readonly { 0x80 } else { 0 };
        let mut d = Vec::new();
        if ten {
            let len = 6 + blockdesc.len() + pages.len();
            d.extend_from_slice(&(len as u16).to_be_bytes());
            d.extend_from_slice(&[0, devspec, u8::from(llbaa && !dbd), 0]);
            d.extend_from_slice(&(blockdesc.len() as u16).to_be_bytes());
        } else {
            let len = 3 + blockdesc.len() + pages.len();
            d.extend_from_slice(&[len.min(255) as u8, 0, devspec, blockdesc.len() as u8]);
        }
        d.extend_from_slice(&blockdesc);
        d.extend_from_slice(&pages);
        Ok(ScsiResult::good(cut(d, alloc)))
    }

    fn start_stop(&mut self, cdb: &[u8; 16]) -> Result<ScsiResult, Sense> {
        let power_condition = cdb[4] >> 4;
        if power_condition == 0 {
            self.stopped = cdb[4] & 0x01 == 0;
        }
        Ok(ScsiResult::good(Vec::new()))
    }

    fn read_capacity10(&self) -> ScsiResult {
        let last = u32::try_from(self.blocks - 1).unwrap_or(u32::MAX);
        let mut d = last.to_be_bytes().to_vec();
        d.extend_from_slice(&self.block_size.to_be_bytes());
        ScsiResult::good(d)
    }

    fn service_action_in(&self, cdb: &[u8; 16]) -> Result<ScsiResult, Sense> {
        // READ CAPACITY (16) only.
        if cdb[1] & 0x1f != 0x10 {
            return Err(Sense::INVALID_FIELD_IN_CDB);
        }
        let alloc = be32(cdb, 10) as usize;
        let mut d = vec![0u8; 32];
        d[0..8].copy_from_slice(&(self.blocks - 1).to_be_bytes());
        d[8..12].copy_from_slice(&self.block_size.to_be_bytes());
        d[13] = self.phys_exp & 0x0f;
        d[14] = 0x80 | 0x40; // LBPME, LBPRZ
        Ok(ScsiResult::good(cut(d, alloc)))
    }

    fn rw_fields(cdb: &[u8; 16]) -> Result<Rw, Sense> {
        Ok(match cdb[0] {
            0x08 | 0x0a => Rw {
                lba: u64::from(be32(cdb, 0) & 0x001f_ffff),
                blocks: if cdb[4] == 0 { 256 } else { u64::from(cdb[4]) },
                fua: false,
            },
            0x28 | 0x2a | 0x2f => {
                if cdb[1] & 0xe0 != 0 {
                    // RDPROTECT/WRPROTECT/VRPROTECT: no protection information.
                    return Err(Sense::INVALID_FIELD_IN_CDB);
                }
                Rw {
                    lba: u64::from(be32(cdb, 2)),
                    blocks: u64::from(be16(cdb, 7)),
                    fua: cdb[1] & 0x08 != 0,
                }
            }
            _ => {
                if cdb[1] & 0xe0 != 0 {
                    return Err(Sense::INVALID_FIELD_IN_CDB);
                }
                Rw {
                    lba: be64(cdb, 2),
                    blocks: u64::from(be32(cdb, 10)),
                    fua: cdb[1] & 0x08 != 0,
                }
            }
        })
    }

    fn read(&mut self, cdb: &[u8; 16], xfer: u32) -> Result<ScsiResult, Sense> {
        let rw = Self::rw_fields(cdb)?;
        self.check_range(rw.lba, rw.blocks)?;
        self.stats.reads += 1;
        let bs = u64::from(self.block_size);
        let want = rw.blocks * bs;
        let len = want.min(u64::from(xfer));
        let mut buf = vec![0u8; len as usize];
        self.backing
            .read(rw.lba * bs, &mut buf)
            .map_err(|_| Sense::READ_ERROR)?;
        self.stats.bytes_read += len;
        let mut r = ScsiResult::good(buf);
        r.overrun = len < want;
        Ok(r)
    }

    fn write(&mut self, cdb: &[u8; 16], data: &[u8]) -> Result<ScsiResult, Sense> {
        let rw = Self::rw_fields(cdb)?;
        self.check_range(rw.lba, rw.blocks)?;
        if self.readonly {
            return Err(Sense::WRITE_PROTECTED);
        }
        self.stats.writes += 1;
        let bs = u64::from(self.block_size);
        let want = (rw.blocks * bs) as usize;
        if data.len() < want {
            // The guest's buffer holds less than the CDB asks for: write nothing.
            let mut r = ScsiResult::good(Vec::new());
            r.overrun = true;
            return Ok(r);
        }
        self.backing
            .write(rw.lba * bs, &data[..want])
            .map_err(|_| Sense::WRITE_ERROR)?;
        if rw.fua || !self.write_cache {
            self.backing.flush().map_err(|_| Sense::WRITE_ERROR)?;
        }
        self.stats.bytes_written += want as u64;
        Ok(ScsiResult::good(Vec::new()))
    }

    fn verify(&mut self, cdb: &[u8; 16]) -> Result<ScsiResult, Sense> {
        let rw = Self::rw_fields(cdb)?;
        // BYTCHK (compare with data-out) is not supported.
        if cdb[1] & 0x06 != 0 {
            return Err(Sense::INVALID_FIELD_IN_CDB);
        }
        self.check_range(rw.lba, rw.blocks)?;
        Ok(ScsiResult::good(Vec::new()))
    }

    fn sync_cache(&mut self, cdb: &[u8; 16]) -> Result<ScsiResult, Sense> {
        let (lba, blocks) = if cdb[0] == 0x35 {
            (u64::from(be32(cdb, 2)), u64::from(be16(cdb, 7)))
        } else {
            (be64(cdb, 2), u64::from(be32(cdb, 10)))
        };
        // 0 blocks: up to the end of the medium.
        self.check_range(lba, blocks)?;
        self.stats.syncs += 1;
        self.backing.flush().map_err(|_| Sense::WRITE_ERROR)?;
        Ok(ScsiResult::good(Vec::new()))
    }

    fn write_same(
        &mut self,
        cdb: &[u8; 16],
        data: &[u8],
        limits: &Limits,
    ) -> Result<ScsiResult, Sense> {
        let sixteen = cdb[0] == 0x93;
        let unmap = cdb[1] & 0x08 != 0;
        let ndob = sixteen && cdb[1] & 0x01 != 0;
        // WRPROTECT, ANCHOR, PBDATA/LBDATA (10) are not supported.
        let bad = if sixteen {
            cdb[1] & 0xe6
        } else {
            cdb[1] & 0xe7
        };
        if bad != 0 {
            return Err(Sense::INVALID_FIELD_IN_CDB);
        }
        let (lba, blocks) = if sixteen {
            (be64(cdb, 2), u64::from(be32(cdb, 10)))
        } else {
            (u64::from(be32(cdb, 2)), u64::from(be16(cdb, 7)))
        };
        if blocks == 0 || blocks > limits.max_write_same_blocks {
            return Err(Sense::INVALID_FIELD_IN_CDB);
        }
        self.check_range(lba, blocks)?;
        if self.readonly {
            return Err(Sense::WRITE_PROTECTED);
        }
        let bs = self.block_size as usize;
        let pattern: Vec<u8> = if ndob {
            vec![0u8; bs]
        } else if data.len() < bs {
            let mut r = ScsiResult::good(Vec::new());
            r.overrun = true;
            return Ok(r);
        } else {
            data[..bs].to_vec()
        };
        self.stats.write_same += 1;
        let off = lba * bs as u64;
        if pattern.iter().all(|b| *b == 0) && (unmap || matches!(self.backing, Backing::Ram(_))) {
            // Zeros: deallocate (LBPRZ reads them back as zeros).
            self.backing
                .zero(off, blocks * bs as u64)
                .map_err(|_| Sense::WRITE_ERROR)?;
            if unmap {
                self.stats.write_same_unmap += 1;
                self.stats.unmap_blocks += blocks;
            }
        } else {
            let per = (1 << 20) / bs;
            let chunk: Vec<u8> = pattern.repeat(per.min(blocks as usize));
            let mut done = 0u64;
            while done < blocks {
                let n = (blocks - done).min(per as u64) as usize;
                self.backing
                    .write(off + done * bs as u64, &chunk[..n * bs])
                    .map_err(|_| Sense::WRITE_ERROR)?;
                done += n as u64;
            }
            self.stats.bytes_written += blocks * bs as u64;
        }
        Ok(ScsiResult::good(Vec::new()))
    }

    fn unmap(&mut self, cdb: &[u8; 16], data: &[u8], limits: &Limits) -> Result<ScsiResult, Sense> {
        if cdb[1] & 0x01 != 0 {
            // ANCHOR (ANC_SUP is 0).
            return Err(Sense::INVALID_FIELD_IN_CDB);
        }
        let plen = usize::from(be16(cdb, 7));
        if plen == 0 {
            return Ok(ScsiResult::good(Vec::new()));
        }
        if plen < 8 || data.len() < plen {
            return Err(Sense::PARAM_LIST_LENGTH);
        }
        if self.readonly {
            return Err(Sense::WRITE_PROTECTED);
        }
        let p = &data[..plen];
        let bdl = usize::from(be16(p, 2));
        if bdl % 16 != 0 || 8 + bdl > plen {
            return Err(Sense::INVALID_FIELD_IN_PARAM);
        }
        let descs: Vec<(u64, u64)> = p[8..8 + bdl]
            .chunks_exact(16)
            .map(|d| (be64(d, 0), u64::from(be32(d, 8))))
            .collect();
        if descs.len() > limits.max_unmap_descriptors as usize {
            return Err(Sense::INVALID_FIELD_IN_PARAM);
        }
        let total: u64 = descs.iter().map(|d| d.1).sum();
        if total > u64::from(limits.max_unmap_blocks) {
            return Err(Sense::INVALID_FIELD_IN_PARAM);
        }
        for (lba, n) in &descs {
            self.check_range(*lba, *n)?;
        }
        let bs = u64::from(self.block_size);
        for (lba, n) in descs {
            self.backing
                .zero(lba * bs, n * bs)
                .map_err(|_| Sense::WRITE_ERROR)?;
        }
        self.stats.unmap_cmds += 1;
        self.stats.unmap_blocks += total;
        Ok(ScsiResult::good(Vec::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lun(mb: u64) -> Lun {
        let (c, _) = LunConfig::parse(&format!("lun=0,ram={mb}M"), &[]).unwrap();
        Lun::new(&c, b"test").unwrap()
    }

    fn rw16(op: u8, lba: u64, n: u32) -> Vec<u8> {
        let mut c = vec![op, 0];
        c.extend_from_slice(&lba.to_be_bytes());
        c.extend_from_slice(&n.to_be_bytes());
        c.extend_from_slice(&[0, 0]);
        c
    }

    #[test]
    fn sparse_ram_reads_what_was_written_and_frees_on_unmap() {
        let mut r = SparseRam::default();
        r.write(100_000, &[7u8; 200_000]);
        let mut b = vec![0u8; 300_000];
        r.read(0, &mut b);
        assert!(b[..100_000].iter().all(|x| *x == 0));
        assert!(b[100_000..].iter().all(|x| *x == 7));
        r.zero(0, 1 << 20);
        assert!(r.chunks.is_empty());
        // Zero writes allocate nothing.
        r.write(0, &[0u8; 70_000]);
        assert!(r.chunks.is_empty());
    }

    #[test]
    fn read_write_and_ranges() {
        let mut l = lun(1);
        let lim = Limits::default();
        let data: Vec<u8> = (0..4096u32).map(|i| i as u8).collect();
        let r = l.execute(&rw16(0x8a, 10, 8), &data, 4096, &lim);
        assert_eq!(r.status, SAM_STAT_GOOD);
        let r = l.execute(&rw16(0x88, 10, 8), &[], 4096, &lim);
        assert_eq!(r.data, data);
        let r = l.execute(&rw16(0x88, 2047, 2), &[], 1024, &lim);
        assert_eq!(r.sense, Some(Sense::LBA_OUT_OF_RANGE));
        let r = l.execute(
            &[0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            &[],
            0,
            &lim,
        );
        assert_eq!(r.sense, Some(Sense::INVALID_OPCODE));
    }

    #[test]
    fn unit_attention_on_resize_skips_inquiry() {
        let mut l = lun(1);
        let lim = Limits::default();
        l.resize(2 << 20).unwrap();
        let r = l.execute(&[0x12, 0, 0, 0, 36, 0], &[], 36, &lim);
        assert_eq!(r.status, SAM_STAT_GOOD);
        let r = l.execute(&[0, 0, 0, 0, 0, 0], &[], 0, &lim);
        assert_eq!(r.sense, Some(Sense::CAPACITY_CHANGED));
        let r = l.execute(&[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[], 8, &lim);
        assert_eq!(be32(&r.data, 0), 4095);
    }

    #[test]
    fn sense_parse_and_sizes() {
        assert_eq!(Sense::parse("6/2a/09"), Some(Sense::CAPACITY_CHANGED));
        assert_eq!(parse_size("64M"), Some(64 << 20));
        assert_eq!(parse_size("1GiB"), Some(1 << 30));
        assert_eq!(show_size(96 << 20), "96M");
    }
}
