// SPDX-License-Identifier: GPL-2.0

//! The storvsp back end against a scripted guest that speaks like `storvsc_drv.c`: the
//! initialization of `storvsc_channel_init()` (version fallback, properties, subchannels),
//! SRBs in-band and GPA-direct over scattered guest pages with data verification, the SCSI
//! target (INQUIRY/VPD, capacity, mode pages, REPORT LUNS, missing LUNs, UNMAP, WRITE SAME),
//! unit attentions, hot add and removal, resets, the I/O faults, a file-backed disk, and the
//! protocol checks.

mod common;

use common::World;
use hv_host::devices::parse_specs;
use hv_host::devices::storvsp::{attach_disks, STATUS_REVISION_MISMATCH};
use hv_host::engine::EngineConfig;
use hv_host::mem::{GuestMemory, PAGE_SIZE};
use hv_proto::connection::Action;
use hv_proto::ring::{OutgoingPacket, PacketType, VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED};
use hv_proto::vstor::{
    vmstor_proto_version, DataDirection, HvFcWwnPacket, VmscsiRequest, VmstorProtocolVersion,
    VmstorageChannelProperties, VstorOperation, VstorPacket, SRB_FLAGS_DATA_IN, SRB_FLAGS_DATA_OUT,
    SRB_FLAGS_DISABLE_SYNCH_TRANSFER, STORAGE_CHANNEL_SUPPORTS_MULTI_CHANNEL, VMBUS_RQST_INIT,
    VMBUS_RQST_RESET, VSTOR_PACKET_PRE_WIN8_SIZE,
};
use zerocopy::{FromBytes, FromZeros, IntoBytes};

const SUCCESS: u8 = 0x01;
const ERROR_AUTOSENSE: u8 = 0x84;

fn world(spec: &str, disks: &[&str]) -> World {
    let mut specs = parse_specs([spec]).unwrap();
    let disks: Vec<String> = disks.iter().map(|d| d.to_string()).collect();
    attach_disks(&mut specs, &disks).unwrap();
    let mut w = World::with_config(EngineConfig {
        devices: specs,
        ..EngineConfig::default()
    });
    w.connect();
    w
}

/// Opens the primary channel of `scsi` with 40 KiB rings.
fn open_scsi(w: &mut World) -> u32 {
    let relid = w.relid("scsi");
    assert_eq!(w.open(relid, 10, 10), Some(0));
    relid
}

/// Sends `p` in-band and returns the completion's `vstor_packet` (`storvsc_execute_vstor_op()`).
fn op(w: &mut World, relid: u32, trans: u64, p: &VstorPacket) -> (VstorPacket, usize) {
    w.send(relid, trans, p.as_bytes(), true).unwrap();
    let got = w.recv(relid);
    assert_eq!(got.len(), 1, "one answer expected, got {}", got.len());
    let (info, data) = &got[0];
    assert_eq!(info.packet_type, PacketType::COMP);
    assert_eq!(info.trans_id, trans);
    let mut out = VstorPacket::new_zeroed();
    let n = data.len().min(64);
    out.as_mut_bytes()[..n].copy_from_slice(&data[..n]);
    (out, data.len())
}

/// `storvsc_channel_init()`: returns the agreed version and the properties.
fn init(
    w: &mut World,
    relid: u32,
    versions: &[VmstorProtocolVersion],
) -> (u16, VmstorageChannelProperties) {
    let (r, _) = op(
        w,
        relid,
        VMBUS_RQST_INIT,
        &VstorPacket::request(VstorOperation::BEGIN_INITIALIZATION),
    );
    assert_eq!({ r.operation }, VstorOperation::COMPLETE_IO);
    assert_eq!({ r.status }, 0);
    let mut agreed = None;
    for v in versions {
        let (r, _) = op(
            w,
            relid,
            VMBUS_RQST_INIT,
            &VstorPacket::query_protocol_version(*v),
        );
        assert_eq!({ r.operation }, VstorOperation::COMPLETE_IO);
        if { r.status } == 0 {
            agreed = Some(v.0);
            break;
        }
        assert_eq!({ r.status }, STATUS_REVISION_MISMATCH);
    }
    let agreed = agreed.expect("no version agreed");
    let (r, _) = op(
        w,
        relid,
        VMBUS_RQST_INIT,
        &VstorPacket::request(VstorOperation::QUERY_PROPERTIES),
    );
    assert_eq!({ r.status }, 0);
    let props = r.properties();
    let (r, _) = op(
        w,
        relid,
        VMBUS_RQST_INIT,
        &VstorPacket::request(VstorOperation::END_INITIALIZATION),
    );
    assert_eq!({ r.status }, 0);
    (agreed, props)
}

fn linux_versions() -> Vec<VmstorProtocolVersion> {
    hv_proto::vstor::VMSTOR_PROTOCOL_VERSIONS.to_vec()
}

/// A guest data buffer over scattered pages, starting `offset` bytes into the first.
struct Buf {
    pages: Vec<u64>,
    offset: u32,
    len: u32,
}

impl Buf {
    /// Allocates the pages one by one and uses them in reverse order (not contiguous).
    fn new(w: &mut World, offset: u32, len: u32) -> Buf {
        let n = (u64::from(offset) + u64::from(len)).div_ceil(PAGE_SIZE);
        let mut pages: Vec<u64> = (0..n).map(|_| w.mem.alloc_pages(2)).collect();
        pages.reverse();
        Buf { pages, offset, len }
    }

    fn segs(&self) -> Vec<(u64, usize)> {
        let mut v = Vec::new();
        let mut off = u64::from(self.offset);
        let mut left = u64::from(self.len);
        for p in &self.pages {
            let n = (PAGE_SIZE - off).min(left);
            v.push((p + off, n as usize));
            left -= n;
            off = 0;
        }
        v
    }

    fn write(&self, w: &World, data: &[u8]) {
        let mut at = 0;
        for (gpa, n) in self.segs() {
            w.mem.write(gpa, &data[at..at + n]).unwrap();
            at += n;
        }
    }

    fn read(&self, w: &World) -> Vec<u8> {
        let mut out = vec![0u8; self.len as usize];
        let mut at = 0;
        for (gpa, n) in self.segs() {
            w.mem.read(gpa, &mut out[at..at + n]).unwrap();
            at += n;
        }
        out
    }

    /// The GPA-direct extended header: reserved, range count 1, the range (`vmbus_sendpacket_mpb_desc()`).
    fn ext_header(&self) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&1u32.to_le_bytes());
        h.extend_from_slice(&self.len.to_le_bytes());
        h.extend_from_slice(&self.offset.to_le_bytes());
        for p in &self.pages {
            h.extend_from_slice(&(p / PAGE_SIZE).to_le_bytes());
        }
        h
    }
}

fn srb(lun: u8, cdb: &[u8], dir: DataDirection, len: u32) -> VmscsiRequest {
    let mut s = VmscsiRequest::new_zeroed();
    s.length = 52;
    s.sense_info_length = 0x14;
    s.lun = lun;
    s.cdb_length = cdb.len() as u8;
    s.cdb[..cdb.len()].copy_from_slice(cdb);
    s.data_in = dir;
    s.data_transfer_length = len;
    s.time_out_value = 60;
    s.srb_flags = SRB_FLAGS_DISABLE_SYNCH_TRANSFER
        | match dir {
            DataDirection::READ => SRB_FLAGS_DATA_IN,
            DataDirection::WRITE => SRB_FLAGS_DATA_OUT,
            _ => 0,
        };
    s
}

/// Sends an EXECUTE_SRB: GPA-direct with `buf`, in-band without.
fn send_srb(w: &mut World, relid: u32, trans: u64, s: &VmscsiRequest, buf: Option<&Buf>) {
    let p = VstorPacket::execute_srb(s);
    match buf {
        None => {
            w.send(relid, trans, p.as_bytes(), true).unwrap();
        }
        Some(b) => {
            let ext = b.ext_header();
            let ch = w.chans.get_mut(&relid).unwrap();
            let pkt = OutgoingPacket {
                packet_type: PacketType::DATA_USING_GPA_DIRECT,
                flags: VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED,
                trans_id: trans,
                ext_header: &ext,
            };
            if ch.tx.write_packet(&pkt, &[p.as_bytes()]).unwrap() {
                w.signal_host(relid);
            }
        }
    }
}

/// Receives the completions on `relid`.
fn completions(w: &mut World, relid: u32) -> Vec<(u64, VstorPacket)> {
    w.recv(relid)
        .into_iter()
        .map(|(info, data)| {
            assert_eq!(info.packet_type, PacketType::COMP);
            let mut p = VstorPacket::new_zeroed();
            let n = data.len().min(64);
            p.as_mut_bytes()[..n].copy_from_slice(&data[..n]);
            (info.trans_id, p)
        })
        .collect()
}

/// Runs one SRB and returns its completed `vm_srb`.
fn exec(
    w: &mut World,
    relid: u32,
    lun: u8,
    cdb: &[u8],
    dir: DataDirection,
    buf: Option<&Buf>,
) -> VmscsiRequest {
    let len = buf.map_or(0, |b| b.len);
    let s = srb(lun, cdb, dir, len);
    send_srb(w, relid, 0x77, &s, buf);
    let got = completions(w, relid);
    assert_eq!(got.len(), 1, "one completion expected");
    assert_eq!(got[0].0, 0x77);
    assert_eq!({ got[0].1.operation }, VstorOperation::COMPLETE_IO);
    got[0].1.srb()
}

fn sense(s: &VmscsiRequest) -> (u8, u8, u8) {
    let b = s.cdb;
    (b[2] & 0xf, b[12], b[13])
}

fn rw10(op: u8, lba: u32, n: u16) -> Vec<u8> {
    let mut c = vec![op, 0];
    c.extend_from_slice(&lba.to_be_bytes());
    c.push(0);
    c.extend_from_slice(&n.to_be_bytes());
    c.push(0);
    c
}

fn rw16(op: u8, lba: u64, n: u32) -> Vec<u8> {
    let mut c = vec![op, 0];
    c.extend_from_slice(&lba.to_be_bytes());
    c.extend_from_slice(&n.to_be_bytes());
    c.extend_from_slice(&[0, 0]);
    c
}

fn pattern(seed: u32, len: usize) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

/// A ready controller: disks, primary open and initialized like Linux.
fn ready(spec: &str, disks: &[&str]) -> (World, u32) {
    let mut w = world(spec, disks);
    let relid = open_scsi(&mut w);
    let (v, _) = init(&mut w, relid, &linux_versions());
    assert_eq!(v, VmstorProtocolVersion::WIN10.0);
    (w, relid)
}

#[test]
fn initialization_version_fallback_and_properties() {
    // Default host: 6.2, multi-channel with 8 subchannels, 256 KiB transfers.
    let (mut w, relid) = ready("scsi", &["lun=0,ram=1M"]);
    let r = w.cmd("scsi status");
    assert!(r.lines.contains(&"state=Ready".to_string()), "{r:?}");
    assert!(r.lines.contains(&"version=6.2".to_string()), "{r:?}");
    w.close(relid);
    w.assert_no_errors();

    // A host capped at 6.0 refuses 6.2 with STATUS_REVISION_MISMATCH; Linux falls back.
    for (cap, want) in [
        ("6.0", VmstorProtocolVersion::WIN8_1),
        ("5.1", VmstorProtocolVersion::WIN8),
    ] {
        let mut w = world(
            &format!("scsi,vstor={cap},max_transfer=1M,subchannels=3"),
            &["lun=0,ram=1M"],
        );
        let relid = open_scsi(&mut w);
        let (v, props) = init(&mut w, relid, &linux_versions());
        assert_eq!(v, want.0, "cap {cap}");
        assert_eq!({ props.max_transfer_bytes }, 1 << 20);
        assert_eq!({ props.max_channel_cnt }, 3);
        assert_eq!({ props.flags } & STORAGE_CHANNEL_SUPPORTS_MULTI_CHANNEL, 1);
        w.assert_no_errors();
    }

    // No subchannels: no multi-channel flag.
    let mut w = world("scsi,subchannels=0", &["lun=0,ram=1M"]);
    let relid = open_scsi(&mut w);
    let (_, props) = init(&mut w, relid, &linux_versions());
    assert_eq!({ props.flags }, 0);
    assert_eq!({ props.max_channel_cnt }, 0);

    // A host whose floor is 6.0 has nothing for a guest that knows 5.1 only.
    let mut w = world("scsi,vstor_min=6.0", &["lun=0,ram=1M"]);
    let relid = open_scsi(&mut w);
    op(
        &mut w,
        relid,
        VMBUS_RQST_INIT,
        &VstorPacket::request(VstorOperation::BEGIN_INITIALIZATION),
    );
    let (r, _) = op(
        &mut w,
        relid,
        VMBUS_RQST_INIT,
        &VstorPacket::query_protocol_version(VmstorProtocolVersion::WIN8),
    );
    assert_eq!({ r.status }, STATUS_REVISION_MISMATCH);
    // Versions no host speaks are refused too.
    let (r, _) = op(
        &mut w,
        relid,
        VMBUS_RQST_INIT,
        &VstorPacket::query_protocol_version(VmstorProtocolVersion(vmstor_proto_version(7, 0))),
    );
    assert_eq!({ r.status }, STATUS_REVISION_MISMATCH);
    w.assert_no_errors();
}

#[test]
fn pre_win8_protocol_uses_the_short_packets() {
    // FreeBSD-style guest asking for 4.2 (Windows 7): 48-byte packets, 36-byte SRB.
    let mut w = world("scsi", &["lun=0,ram=1M"]);
    let relid = open_scsi(&mut w);
    let short = |p: &VstorPacket| p.as_bytes()[..VSTOR_PACKET_PRE_WIN8_SIZE].to_vec();
    for p in [
        VstorPacket::request(VstorOperation::BEGIN_INITIALIZATION),
        VstorPacket::query_protocol_version(VmstorProtocolVersion::WIN7),
        VstorPacket::request(VstorOperation::QUERY_PROPERTIES),
        VstorPacket::request(VstorOperation::END_INITIALIZATION),
    ] {
        w.send(relid, VMBUS_RQST_INIT, &short(&p), true).unwrap();
        let got = w.recv(relid);
        assert_eq!(got.len(), 1);
        let r = VstorPacket::read_from_prefix(&[got[0].1.clone(), vec![0; 16]].concat())
            .unwrap()
            .0;
        assert_eq!({ r.status }, 0, "{:?}", { p.operation });
        if { p.operation } == VstorOperation::QUERY_PROPERTIES {
            // No multi-channel before 5.1.
            assert_eq!({ r.properties().flags }, 0);
        }
    }
    // TEST UNIT READY with the 0x24-byte request.
    let mut s = srb(0, &[0; 6], DataDirection::UNKNOWN, 0);
    s.length = 0x24;
    s.sense_info_length = 0x12;
    let p = VstorPacket::execute_srb(&s);
    w.send(relid, 5, &short(&p), true).unwrap();
    let got = w.recv(relid);
    assert_eq!(got[0].1.len(), VSTOR_PACKET_PRE_WIN8_SIZE);
    let r = VstorPacket::read_from_prefix(&[got[0].1.clone(), vec![0; 16]].concat())
        .unwrap()
        .0;
    assert_eq!(r.srb().srb_status, SUCCESS);
    w.assert_no_errors();
}

#[test]
fn read_write_through_scattered_guest_pages() {
    let (mut w, relid) = ready("scsi", &["lun=0,ram=4M", "lun=2,ram=1M,block=4096"]);
    // 64 KiB write at LBA 100 from a buffer that starts 512 bytes into its first page and
    // spans 17 non-contiguous pages.
    let data = pattern(1, 65536);
    let b = Buf::new(&mut w, 512, 65536);
    b.write(&w, &data);
    let s = exec(
        &mut w,
        relid,
        0,
        &rw10(0x2a, 100, 128),
        DataDirection::WRITE,
        Some(&b),
    );
    assert_eq!(s.srb_status, SUCCESS);
    assert_eq!({ s.data_transfer_length }, 65536);
    // Read it back with READ(16) into other scattered pages at another offset.
    let r = Buf::new(&mut w, 3000, 65536);
    let s = exec(
        &mut w,
        relid,
        0,
        &rw16(0x88, 100, 128),
        DataDirection::READ,
        Some(&r),
    );
    assert_eq!(s.srb_status, SUCCESS);
    assert_eq!({ s.data_transfer_length }, 65536);
    assert_eq!(r.read(&w), data);
    // Unwritten blocks read as zeros; READ(6) and WRITE(6).
    let r6 = Buf::new(&mut w, 0, 1024);
    let s = exec(
        &mut w,
        relid,
        0,
        &[0x08, 0, 0, 0, 2, 0],
        DataDirection::READ,
        Some(&r6),
    );
    assert_eq!(s.srb_status, SUCCESS);
    assert!(r6.read(&w).iter().all(|b| *b == 0));
    let d6 = pattern(7, 512);
    let w6 = Buf::new(&mut w, 100, 512);
    w6.write(&w, &d6);
    assert_eq!(
        exec(
            &mut w,
            relid,
            0,
            &[0x0a, 0, 0, 9, 1, 0],
            DataDirection::WRITE,
            Some(&w6)
        )
        .srb_status,
        SUCCESS
    );
    let r = w.cmd("scsi read 0 9");
    assert_eq!(
        r.lines[0],
        d6[..32]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    // The 4 KiB-block LUN: WRITE(10) of 2 blocks, read back.
    let d = pattern(3, 8192);
    let b2 = Buf::new(&mut w, 0, 8192);
    b2.write(&w, &d);
    assert_eq!(
        exec(
            &mut w,
            relid,
            2,
            &rw10(0x2a, 254, 2),
            DataDirection::WRITE,
            Some(&b2)
        )
        .srb_status,
        SUCCESS
    );
    let r2 = Buf::new(&mut w, 0, 8192);
    assert_eq!(
        exec(
            &mut w,
            relid,
            2,
            &rw10(0x28, 254, 2),
            DataDirection::READ,
            Some(&r2)
        )
        .srb_status,
        SUCCESS
    );
    assert_eq!(r2.read(&w), d);
    // Beyond the end: CHECK CONDITION, LBA OUT OF RANGE, with autosense.
    let b4 = Buf::new(&mut w, 0, 4096);
    let s = exec(
        &mut w,
        relid,
        2,
        &rw10(0x28, 256, 1),
        DataDirection::READ,
        Some(&b4),
    );
    assert_eq!(s.srb_status, ERROR_AUTOSENSE);
    assert_eq!(s.scsi_status, 2);
    assert_eq!(s.sense_info_length, 18);
    assert_eq!(sense(&s), (5, 0x21, 0));
    assert_eq!({ s.data_transfer_length }, 0);
    let st = w.cmd("scsi stats");
    assert!(st.lines[0].contains("bytes_out=74240"), "{st:?}");
    assert!(st.lines[0].contains("bytes_in=74752"), "{st:?}");
    w.assert_no_errors();
}

#[test]
fn inquiry_capacity_mode_pages_and_lun_addressing() {
    let (mut w, relid) = ready("scsi", &["lun=0,ram=64M", "lun=3,ram=1M,wce=off"]);
    let b = Buf::new(&mut w, 0, 255);
    // Standard INQUIRY: a Hyper-V disk.
    let b36 = Buf::new(&mut w, 0, 36);
    let s = exec(
        &mut w,
        relid,
        0,
        &[0x12, 0, 0, 0, 36, 0],
        DataDirection::READ,
        Some(&b36),
    );
    assert_eq!(s.srb_status, SUCCESS);
    assert_eq!({ s.data_transfer_length }, 36);
    // Pages supported, and those sd reads.
    let s = exec(
        &mut w,
        relid,
        0,
        &[0x12, 1, 0x00, 0, 255, 0],
        DataDirection::READ,
        Some(&b),
    );
    assert_eq!(s.srb_status, SUCCESS);
    let d = b.read(&w);
    assert_eq!(&d[4..10], &[0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2]);
    let s = exec(
        &mut w,
        relid,
        0,
        &[0x12, 1, 0xb0, 0, 255, 0],
        DataDirection::READ,
        Some(&b),
    );
    assert_eq!({ s.data_transfer_length }, 64);
    let d = b.read(&w);
    assert_eq!(u32::from_be_bytes(d[20..24].try_into().unwrap()), 0x40_0000); // max unmap LBAs
    assert_eq!(u32::from_be_bytes(d[24..28].try_into().unwrap()), 64); // descriptors
    assert_eq!(u32::from_be_bytes(d[8..12].try_into().unwrap()), 512); // max transfer, blocks
    let s = exec(
        &mut w,
        relid,
        0,
        &[0x12, 1, 0xb2, 0, 255, 0],
        DataDirection::READ,
        Some(&b),
    );
    assert_eq!({ s.data_transfer_length }, 8);
    assert_eq!(b.read(&w)[5], 0xe4); // LBPU, LBPWS, LBPWS10, LBPRZ
                                     // READ CAPACITY 10 and 16: 64 MiB of 512-byte blocks, 4 KiB physical, LBPME + LBPRZ.
    let rc = Buf::new(&mut w, 0, 8);
    exec(
        &mut w,
        relid,
        0,
        &[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        DataDirection::READ,
        Some(&rc),
    );
    assert_eq!(rc.read(&w), [0, 1, 0xff, 0xff, 0, 0, 2, 0]);
    let rc16 = Buf::new(&mut w, 0, 32);
    let mut c = vec![0x9e, 0x10];
    c.extend_from_slice(&[0; 8]);
    c.extend_from_slice(&32u32.to_be_bytes());
    c.extend_from_slice(&[0, 0]);
    exec(&mut w, relid, 0, &c, DataDirection::READ, Some(&rc16));
    let d = rc16.read(&w);
    assert_eq!(
        u64::from_be_bytes(d[0..8].try_into().unwrap()),
        (64 << 11) - 1
    );
    assert_eq!(d[13], 3);
    assert_eq!(d[14], 0xc0);
    // MODE SENSE(6) caching page: WCE on LUN 0, off on LUN 3.
    let ms = Buf::new(&mut w, 0, 255);
    let s = exec(
        &mut w,
        relid,
        0,
        &[0x1a, 0x08, 0x08, 0, 255, 0],
        DataDirection::READ,
        Some(&ms),
    );
    assert_eq!(s.srb_status, SUCCESS);
    let d = ms.read(&w);
    assert_eq!(&d[4..6], &[0x08, 0x12]);
    assert_eq!(d[6] & 0x04, 0x04);
    exec(
        &mut w,
        relid,
        3,
        &[0x1a, 0x08, 0x08, 0, 255, 0],
        DataDirection::READ,
        Some(&ms),
    );
    assert_eq!(ms.read(&w)[6] & 0x04, 0);
    // MODE SENSE(10), all pages with the block descriptor.
    let s = exec(
        &mut w,
        relid,
        0,
        &[0x5a, 0, 0x3f, 0, 0, 0, 0, 0, 255, 0],
        DataDirection::READ,
        Some(&ms),
    );
    assert_eq!(s.srb_status, SUCCESS);
    let d = ms.read(&w);
    assert_eq!(u16::from_be_bytes([d[6], d[7]]), 8);
    assert_eq!(u32::from(u16::from_be_bytes([d[0], d[1]])) + 2, {
        s.data_transfer_length
    });
    // Saved values are not supported.
    let s = exec(
        &mut w,
        relid,
        0,
        &[0x1a, 0, 0xc8, 0, 255, 0],
        DataDirection::READ,
        Some(&ms),
    );
    assert_eq!(sense(&s), (5, 0x39, 0));
    // REPORT LUNS: LUN 0 and 3 of target 0; target 1 has none.
    let rl = Buf::new(&mut w, 0, 512);
    let mut c = vec![0xa0, 0, 0, 0, 0, 0];
    c.extend_from_slice(&512u32.to_be_bytes());
    c.extend_from_slice(&[0, 0]);
    let s = exec(&mut w, relid, 0, &c, DataDirection::READ, Some(&rl));
    assert_eq!({ s.data_transfer_length }, 24);
    let d = rl.read(&w);
    assert_eq!(&d[..4], &[0, 0, 0, 16]);
    assert_eq!(d[9], 0);
    assert_eq!(d[17], 3);
    let mut s = srb(7, &c, DataDirection::READ, 512);
    s.target_id = 1;
    send_srb(&mut w, relid, 9, &s, Some(&rl));
    let r = completions(&mut w, relid)[0].1.srb();
    assert_eq!({ r.data_transfer_length }, 8);
    // A missing LUN: INQUIRY says peripheral qualifier 3, anything else INVALID_LUN.
    let iq = Buf::new(&mut w, 0, 36);
    let s = exec(
        &mut w,
        relid,
        5,
        &[0x12, 0, 0, 0, 36, 0],
        DataDirection::READ,
        Some(&iq),
    );
    assert_eq!(s.srb_status, SUCCESS);
    assert_eq!(iq.read(&w)[0], 0x7f);
    let s = exec(&mut w, relid, 5, &[0; 6], DataDirection::UNKNOWN, None);
    assert_eq!(s.srb_status, 0x20);
    // Unsupported opcode (LOG SENSE): ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE.
    let s = exec(
        &mut w,
        relid,
        0,
        &[0x4d, 0, 0, 0, 0, 0, 0, 0, 255, 0],
        DataDirection::READ,
        Some(&ms),
    );
    assert_eq!(s.srb_status, ERROR_AUTOSENSE);
    assert_eq!(sense(&s), (5, 0x20, 0));
    // Invalid field: INQUIRY page without EVPD.
    let s = exec(
        &mut w,
        relid,
        0,
        &[0x12, 0, 0x80, 0, 255, 0],
        DataDirection::READ,
        Some(&ms),
    );
    assert_eq!(sense(&s), (5, 0x24, 0));
    // START STOP UNIT: a stopped unit is not ready until started.
    exec(
        &mut w,
        relid,
        0,
        &[0x1b, 0, 0, 0, 0, 0],
        DataDirection::UNKNOWN,
        None,
    );
    let s = exec(&mut w, relid, 0, &[0; 6], DataDirection::UNKNOWN, None);
    assert_eq!(sense(&s), (2, 0x04, 0x02));
    exec(
        &mut w,
        relid,
        0,
        &[0x1b, 0, 0, 0, 1, 0],
        DataDirection::UNKNOWN,
        None,
    );
    assert_eq!(
        exec(&mut w, relid, 0, &[0; 6], DataDirection::UNKNOWN, None).srb_status,
        SUCCESS
    );
    // SYNCHRONIZE CACHE(10) and (16).
    assert_eq!(
        exec(
            &mut w,
            relid,
            0,
            &rw10(0x35, 0, 0),
            DataDirection::UNKNOWN,
            None
        )
        .srb_status,
        SUCCESS
    );
    assert_eq!(
        exec(
            &mut w,
            relid,
            0,
            &rw16(0x91, 0, 0),
            DataDirection::UNKNOWN,
            None
        )
        .srb_status,
        SUCCESS
    );
    w.assert_no_errors();
}

#[test]
fn unmap_and_write_same_deallocate() {
    let (mut w, relid) = ready("scsi", &["lun=0,ram=8M"]);
    let data = pattern(9, 1 << 17);
    let b = Buf::new(&mut w, 0, 1 << 17);
    b.write(&w, &data);
    exec(
        &mut w,
        relid,
        0,
        &rw10(0x2a, 0, 256),
        DataDirection::WRITE,
        Some(&b),
    );
    let before = w.cmd("scsi luns").lines[0].clone();
    assert!(before.contains("allocated=131072"), "{before}");
    // UNMAP blocks 16..48 and 200..256 (two descriptors).
    let mut plist = vec![0u8; 8 + 32];
    plist[0..2].copy_from_slice(&38u16.to_be_bytes());
    plist[2..4].copy_from_slice(&32u16.to_be_bytes());
    plist[8..16].copy_from_slice(&16u64.to_be_bytes());
    plist[16..20].copy_from_slice(&32u32.to_be_bytes());
    plist[24..32].copy_from_slice(&200u64.to_be_bytes());
    plist[32..36].copy_from_slice(&56u32.to_be_bytes());
    let pb = Buf::new(&mut w, 0, 40);
    pb.write(&w, &plist);
    let s = exec(
        &mut w,
        relid,
        0,
        &[0x42, 0, 0, 0, 0, 0, 0, 0, 40, 0],
        DataDirection::WRITE,
        Some(&pb),
    );
    assert_eq!(s.srb_status, SUCCESS);
    let r = Buf::new(&mut w, 0, 1 << 17);
    exec(
        &mut w,
        relid,
        0,
        &rw10(0x28, 0, 256),
        DataDirection::READ,
        Some(&r),
    );
    let got = r.read(&w);
    let mut want = data.clone();
    want[16 * 512..48 * 512].fill(0);
    want[200 * 512..256 * 512].fill(0);
    assert_eq!(got, want);
    // Beyond the end: LBA OUT OF RANGE, nothing unmapped.
    plist[24..32].copy_from_slice(&16380u64.to_be_bytes());
    pb.write(&w, &plist);
    let s = exec(
        &mut w,
        relid,
        0,
        &[0x42, 0, 0, 0, 0, 0, 0, 0, 40, 0],
        DataDirection::WRITE,
        Some(&pb),
    );
    assert_eq!(sense(&s), (5, 0x21, 0));
    // WRITE SAME(16) with UNMAP and NDOB over blocks 0..16: zeros, no data-out.
    let mut ws = rw16(0x93, 0, 16);
    ws[1] = 0x09;
    assert_eq!(
        exec(&mut w, relid, 0, &ws, DataDirection::UNKNOWN, None).srb_status,
        SUCCESS
    );
    // WRITE SAME(10) with a pattern block over 48..52.
    let blk = pattern(4, 512);
    let wb = Buf::new(&mut w, 0, 512);
    wb.write(&w, &blk);
    assert_eq!(
        exec(
            &mut w,
            relid,
            0,
            &rw10(0x41, 48, 4),
            DataDirection::WRITE,
            Some(&wb)
        )
        .srb_status,
        SUCCESS
    );
    exec(
        &mut w,
        relid,
        0,
        &rw10(0x28, 0, 256),
        DataDirection::READ,
        Some(&r),
    );
    let got = r.read(&w);
    want[..16 * 512].fill(0);
    for i in 48..52 {
        want[i * 512..(i + 1) * 512].copy_from_slice(&blk);
    }
    assert_eq!(got, want);
    // WRITE SAME of 0 blocks is refused (WSNZ).
    assert_eq!(
        sense(&exec(
            &mut w,
            relid,
            0,
            &rw10(0x41, 48, 0),
            DataDirection::WRITE,
            Some(&wb)
        )),
        (5, 0x24, 0)
    );
    let st = w.cmd("scsi stats").lines;
    assert!(st[1].contains("unmap_cmds=1 unmap_blocks=104"), "{st:?}");
    assert!(st[1].contains("write_same=2 write_same_unmap=1"), "{st:?}");
    let r = w.cmd("scsi wait unmaps 2 --timeout 1");
    assert!(r.ok, "{r:?}");
    w.assert_no_errors();
}

#[test]
fn unit_attentions_for_capacity_and_parameters() {
    let (mut w, relid) = ready("scsi", &["lun=0,ram=64M"]);
    let b = Buf::new(&mut w, 0, 4096);
    assert_eq!(
        exec(
            &mut w,
            relid,
            0,
            &rw10(0x28, 0, 8),
            DataDirection::READ,
            Some(&b)
        )
        .srb_status,
        SUCCESS
    );
    let r = w.cmd("scsi resize 0 96M");
    assert!(r.ok, "{r:?}");
    // INQUIRY does not report it...
    let iq = Buf::new(&mut w, 0, 36);
    assert_eq!(
        exec(
            &mut w,
            relid,
            0,
            &[0x12, 0, 0, 0, 36, 0],
            DataDirection::READ,
            Some(&iq)
        )
        .srb_status,
        SUCCESS
    );
    // ...the next READ does: CHECK CONDITION, CAPACITY DATA HAS CHANGED, with autosense (what
    // storvsc_handle_error() turns into a rescan and a requeue).
    let s = exec(
        &mut w,
        relid,
        0,
        &rw10(0x28, 0, 8),
        DataDirection::READ,
        Some(&b),
    );
    assert_eq!(s.srb_status, ERROR_AUTOSENSE);
    assert_eq!(sense(&s), (6, 0x2a, 0x09));
    assert_eq!(
        exec(
            &mut w,
            relid,
            0,
            &rw10(0x28, 0, 8),
            DataDirection::READ,
            Some(&b)
        )
        .srb_status,
        SUCCESS
    );
    let rc = Buf::new(&mut w, 0, 8);
    exec(
        &mut w,
        relid,
        0,
        &[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        DataDirection::READ,
        Some(&rc),
    );
    assert_eq!(
        u32::from_be_bytes(rc.read(&w)[..4].try_into().unwrap()),
        (96 << 11) - 1
    );
    // Parameters changed (VHDX block-size change, field bug 17), and a custom one.
    assert!(w.cmd("scsi ua 0 params").ok);
    assert_eq!(
        sense(&exec(
            &mut w,
            relid,
            0,
            &[0; 6],
            DataDirection::UNKNOWN,
            None
        )),
        (6, 0x3f, 0)
    );
    assert!(w.cmd("scsi ua 0 6/29/00").ok);
    // REQUEST SENSE returns it and clears it.
    let rs = Buf::new(&mut w, 0, 18);
    exec(
        &mut w,
        relid,
        0,
        &[0x03, 0, 0, 0, 18, 0],
        DataDirection::READ,
        Some(&rs),
    );
    assert_eq!(rs.read(&w)[12], 0x29);
    assert_eq!(
        exec(&mut w, relid, 0, &[0; 6], DataDirection::UNKNOWN, None).srb_status,
        SUCCESS
    );
    let st = w.cmd("scsi stats").lines;
    assert!(st[1].contains("unit_attentions=2"), "{st:?}");
    w.assert_no_errors();
}

fn offers_of_sub(w: &World, sub: u16) -> Vec<u32> {
    w.actions
        .iter()
        .filter_map(|a| match a {
            Action::Offer { offer, .. } if offer.offer.sub_channel_index == sub => {
                Some(offer.child_relid)
            }
            _ => None,
        })
        .collect()
}

#[test]
fn subchannels_are_offered_used_and_go_with_the_primary() {
    let (mut w, relid) = ready("scsi", &["lun=0,ram=4M"]);
    let mut p = VstorPacket::create_sub_channels(2);
    p.flags = 1;
    let (r, _) = op(&mut w, relid, VMBUS_RQST_INIT, &p);
    assert_eq!({ r.status }, 0);
    let subs: Vec<u32> = [1u16, 2]
        .iter()
        .map(|s| *offers_of_sub(&w, *s).last().unwrap())
        .collect();
    let inst = w.offers[&relid].offer.if_instance;
    for s in &subs {
        assert_eq!(w.offers[s].offer.if_instance, inst);
        assert_eq!(w.open(*s, 10, 10), Some(0));
    }
    assert!(w.cmd("scsi wait subchannels 2 --timeout 1").ok);
    // I/O on subchannel 2, verified on the primary.
    let data = pattern(5, 8192);
    let b = Buf::new(&mut w, 0, 8192);
    b.write(&w, &data);
    assert_eq!(
        exec(
            &mut w,
            subs[1],
            0,
            &rw10(0x2a, 64, 16),
            DataDirection::WRITE,
            Some(&b)
        )
        .srb_status,
        SUCCESS
    );
    let r = Buf::new(&mut w, 0, 8192);
    assert_eq!(
        exec(
            &mut w,
            relid,
            0,
            &rw10(0x28, 64, 16),
            DataDirection::READ,
            Some(&r)
        )
        .srb_status,
        SUCCESS
    );
    assert_eq!(r.read(&w), data);
    let st = w.cmd("scsi stats").lines;
    assert!(
        st.iter().any(|l| l.starts_with(&format!(
            "channel relid={} sub=2 srbs=1 bytes_out=8192",
            subs[1]
        ))),
        "{st:?}"
    );
    // The guest removes the device (`vmbus_disconnect_ring()`): subchannels, then the primary.
    for s in &subs {
        w.close(*s);
    }
    w.close(relid);
    // The host rescinds the subchannels; the guest releases them.
    for s in &subs {
        assert_eq!(w.engine.channel_state(*s).map(|c| c.1), Some(true));
        w.guest_handle_rescind(*s);
        assert!(w.engine.channel_state(*s).is_none());
    }
    // A reload gets fresh subchannels.
    assert_eq!(w.open(relid, 10, 10), Some(0));
    init(&mut w, relid, &linux_versions());
    let mut p = VstorPacket::create_sub_channels(1);
    p.flags = 1;
    let (r, _) = op(&mut w, relid, VMBUS_RQST_INIT, &p);
    assert_eq!({ r.status }, 0);
    let fresh = *offers_of_sub(&w, 1).last().unwrap();
    assert!(w.engine.channel_state(fresh).is_some_and(|c| !c.1));
    assert_eq!(w.open(fresh, 10, 10), Some(0));
    // Rescinding the controller rescinds its subchannel first.
    let n = w.actions.len();
    assert!(w.cmd("rescind scsi").ok);
    let order: Vec<u32> = w.actions[n..]
        .iter()
        .filter_map(|a| match a {
            Action::Rescind { relid, .. } => Some(*relid),
            _ => None,
        })
        .collect();
    assert_eq!(order, vec![fresh, relid]);
    w.assert_no_errors();
}

#[test]
fn hot_add_and_remove_notify_the_guest() {
    let (mut w, relid) = ready("scsi", &["lun=0,ram=4M"]);
    // Before the guest's SCSI host has sent anything, no notification (it would have no
    // work queue for it yet).
    let r = w.cmd("scsi lun add lun=1,ram=2M");
    assert!(r.lines[0].ends_with("notified=0"), "{r:?}");
    assert!(w.recv(relid).is_empty());
    exec(&mut w, relid, 0, &[0; 6], DataDirection::UNKNOWN, None);
    let r = w.cmd("scsi lun add lun=2,ram=2M,serial=HOTADD");
    assert!(r.lines[0].ends_with("notified=1"), "{r:?}");
    let got = w.recv(relid);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0.packet_type, PacketType::DATA_INBAND);
    assert_eq!(got[0].0.trans_id, 0);
    let p = VstorPacket::read_from_prefix(&got[0].1).unwrap().0;
    assert_eq!({ p.operation }, VstorOperation::ENUMERATE_BUS);
    // The rescan finds it (REPORT LUNS) and its serial.
    let b = Buf::new(&mut w, 0, 64);
    exec(
        &mut w,
        relid,
        2,
        &[0x12, 1, 0x80, 0, 64, 0],
        DataDirection::READ,
        Some(&b),
    );
    assert_eq!(&b.read(&w)[4..10], b"HOTADD");
    // Removal: REMOVE_DEVICE on request; the device then answers INVALID_LUN.
    let r = w.cmd("scsi lun remove 2 --op remove-device");
    assert!(r.ok, "{r:?}");
    let got = w.recv(relid);
    let p = VstorPacket::read_from_prefix(&got[0].1).unwrap().0;
    assert_eq!({ p.operation }, VstorOperation::REMOVE_DEVICE);
    assert_eq!(
        exec(&mut w, relid, 2, &[0; 6], DataDirection::UNKNOWN, None).srb_status,
        0x20
    );
    assert!(w.cmd("scsi enumerate").ok);
    assert_eq!(w.recv(relid).len(), 1);
    assert!(
        !w.cmd("scsi lun add lun=1,ram=2M").ok,
        "duplicate LUN accepted"
    );
    w.assert_no_errors();
}

#[test]
fn io_faults_status_drop_and_reset_delay_rescind() {
    let (mut w, relid) = ready("scsi", &["lun=0,ram=4M"]);
    let b = Buf::new(&mut w, 0, 4096);
    // Two failing READs (TEST UNIT READY is not affected with --rw).
    assert!(w.cmd("scsi fault srb-status error 2 --rw").ok);
    assert_eq!(
        exec(&mut w, relid, 0, &[0; 6], DataDirection::UNKNOWN, None).srb_status,
        SUCCESS
    );
    for _ in 0..2 {
        let s = exec(
            &mut w,
            relid,
            0,
            &rw10(0x28, 0, 8),
            DataDirection::READ,
            Some(&b),
        );
        assert_eq!(s.srb_status, 0x04);
        assert_eq!({ s.data_transfer_length }, 0);
    }
    assert_eq!(
        exec(
            &mut w,
            relid,
            0,
            &rw10(0x28, 0, 8),
            DataDirection::READ,
            Some(&b)
        )
        .srb_status,
        SUCCESS
    );
    // A medium error with sense.
    assert!(w.cmd("scsi fault srb-status error 1 --sense 3/11/00").ok);
    let s = exec(
        &mut w,
        relid,
        0,
        &rw10(0x28, 0, 8),
        DataDirection::READ,
        Some(&b),
    );
    assert_eq!(s.srb_status, ERROR_AUTOSENSE);
    assert_eq!(sense(&s), (3, 0x11, 0));

    // A dropped completion stays lost until RESET_BUS (PROTOCOL-FACTS field bug 18): the
    // bus reset completes it with SRB_STATUS_BUS_RESET, then answers the reset.
    assert!(w.cmd("scsi fault drop-io 1").ok);
    send_srb(
        &mut w,
        relid,
        0x100,
        &srb(0, &rw10(0x28, 0, 8), DataDirection::READ, 4096),
        Some(&b),
    );
    assert!(completions(&mut w, relid).is_empty());
    w.advance(1000);
    assert!(completions(&mut w, relid).is_empty());
    let mut rb = VstorPacket::request(VstorOperation::RESET_BUS);
    rb.flags = 1;
    w.send(relid, VMBUS_RQST_RESET, rb.as_bytes(), true)
        .unwrap();
    let got = completions(&mut w, relid);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0, 0x100);
    assert_eq!(got[0].1.srb().srb_status, 0x0e);
    assert_eq!(got[1].0, VMBUS_RQST_RESET);
    assert_eq!({ got[1].1.status }, 0);

    // Delayed completions arrive after the delay.
    assert!(w.cmd("scsi fault delay-io 200").ok);
    send_srb(
        &mut w,
        relid,
        0x200,
        &srb(0, &[0; 6], DataDirection::UNKNOWN, 0),
        None,
    );
    assert!(completions(&mut w, relid).is_empty());
    w.advance(100);
    assert!(completions(&mut w, relid).is_empty());
    w.advance(150);
    assert_eq!(completions(&mut w, relid).len(), 1);
    assert!(w.cmd("scsi fault clear").ok);

    // Rescind mid-I/O: after the second SRB from now the controller is rescinded.
    assert!(w.cmd("scsi fault rescind-after 2").ok);
    exec(&mut w, relid, 0, &[0; 6], DataDirection::UNKNOWN, None);
    assert_eq!(w.engine.channel_state(relid).map(|c| c.1), Some(false));
    send_srb(
        &mut w,
        relid,
        0x300,
        &srb(0, &[0; 6], DataDirection::UNKNOWN, 0),
        None,
    );
    assert_eq!(completions(&mut w, relid).len(), 1);
    assert_eq!(w.engine.channel_state(relid).map(|c| c.1), Some(true));
    w.guest_handle_rescind(relid);
    assert!(w.engine.relid_of("scsi").is_none());
    // The controller still answers without a channel (disks and counters stay), and a LUN
    // can be configured for the next offer; a wait needs a channel.
    let st = w.cmd("scsi stats");
    assert!(st.ok && st.lines[0].starts_with("srbs="), "{st:?}");
    assert!(w.cmd("scsi lun add lun=4,ram=1M").ok);
    assert!(w
        .cmd("scsi luns")
        .lines
        .iter()
        .any(|l| l.starts_with("lun=0:0:4 ")));
    assert!(!w.cmd("scsi wait ready").ok);
    w.assert_no_errors();
}

#[test]
fn guest_protocol_violations_are_recorded() {
    let mut w = world("scsi", &["lun=0,ram=1M"]);
    let relid = open_scsi(&mut w);
    // EXECUTE_SRB before initialization.
    send_srb(
        &mut w,
        relid,
        1,
        &srb(0, &[0; 6], DataDirection::UNKNOWN, 0),
        None,
    );
    let got = completions(&mut w, relid);
    assert_eq!(got[0].1.srb().srb_status, 0x06);
    assert_eq!(w.errors().len(), 1, "{:?}", w.errors());
    // Out of order: END_INITIALIZATION first.
    let (r, _) = op(
        &mut w,
        relid,
        VMBUS_RQST_INIT,
        &VstorPacket::request(VstorOperation::END_INITIALIZATION),
    );
    assert_ne!({ r.status }, 0);
    assert_eq!(w.errors().len(), 2);
    w.engine.clear_errors();
    init(&mut w, relid, &linux_versions());
    w.assert_no_errors();
    let b = Buf::new(&mut w, 0, 4096);
    let cases: Vec<(&str, VmscsiRequest, Option<&Buf>)> = vec![
        (
            "data without pages",
            srb(0, &rw10(0x28, 0, 8), DataDirection::READ, 4096),
            None,
        ),
        (
            "length mismatch",
            srb(0, &rw10(0x28, 0, 8), DataDirection::READ, 2048),
            Some(&b),
        ),
        (
            "bad vm_srb.length",
            {
                let mut s = srb(0, &[0; 6], DataDirection::UNKNOWN, 0);
                s.length = 40;
                s
            },
            None,
        ),
        (
            "bad cdb_length",
            {
                let mut s = srb(0, &[0; 6], DataDirection::UNKNOWN, 0);
                s.cdb_length = 17;
                s
            },
            None,
        ),
        (
            "flags vs direction",
            {
                let mut s = srb(0, &rw10(0x28, 0, 8), DataDirection::READ, 4096);
                s.srb_flags = SRB_FLAGS_DATA_OUT;
                s
            },
            Some(&b),
        ),
        (
            "too large",
            srb(0, &rw10(0x28, 0, 1024), DataDirection::READ, 512 * 1024),
            None,
        ),
    ];
    for (i, (what, mut s, buf)) in cases.into_iter().enumerate() {
        if what == "length mismatch" {
            // The range covers 4096 bytes but the SRB says 2048.
            let p = VstorPacket::execute_srb(&s);
            let ext = buf.unwrap().ext_header();
            let ch = w.chans.get_mut(&relid).unwrap();
            let pkt = OutgoingPacket {
                packet_type: PacketType::DATA_USING_GPA_DIRECT,
                flags: VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED,
                trans_id: 10 + i as u64,
                ext_header: &ext,
            };
            if ch.tx.write_packet(&pkt, &[p.as_bytes()]).unwrap() {
                w.signal_host(relid);
            }
        } else {
            if what == "data without pages" {
                s.data_transfer_length = 4096;
            }
            send_srb(&mut w, relid, 10 + i as u64, &s, buf);
        }
        let got = completions(&mut w, relid);
        assert_eq!(got.len(), 1, "{what}");
        assert_eq!(got[0].1.srb().srb_status, 0x06, "{what}");
        assert_eq!(w.errors().len(), i + 1, "{what}: {:?}", w.errors());
    }
    // A request without a completion request, and a host-to-guest operation.
    w.engine.clear_errors();
    let p = VstorPacket::request(VstorOperation::ENUMERATE_BUS);
    w.send(relid, 30, p.as_bytes(), false).unwrap();
    assert_eq!(completions(&mut w, relid).len(), 1);
    assert_eq!(w.errors().len(), 2, "{:?}", w.errors());
}

#[test]
fn file_backed_disk_holds_the_data() {
    let path = std::env::temp_dir().join(format!("hv-host-storvsp-{}.img", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let spec = format!("lun=0,file={},size=1M", path.display());
    let (mut w, relid) = ready("scsi", &[&spec]);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 1 << 20);
    let data = pattern(11, 4096);
    let b = Buf::new(&mut w, 16, 4096);
    b.write(&w, &data);
    let mut c = rw10(0x2a, 8, 8);
    c[1] = 0x08; // FUA
    assert_eq!(
        exec(&mut w, relid, 0, &c, DataDirection::WRITE, Some(&b)).srb_status,
        SUCCESS
    );
    assert_eq!(
        exec(
            &mut w,
            relid,
            0,
            &rw10(0x35, 0, 0),
            DataDirection::UNKNOWN,
            None
        )
        .srb_status,
        SUCCESS
    );
    let file = std::fs::read(&path).unwrap();
    assert_eq!(&file[4096..8192], &data[..]);
    // UNMAP on a file writes zeros (LBPRZ holds).
    let mut ws = rw16(0x93, 8, 4);
    ws[1] = 0x09;
    exec(&mut w, relid, 0, &ws, DataDirection::UNKNOWN, None);
    let file = std::fs::read(&path).unwrap();
    assert!(file[4096..6144].iter().all(|b| *b == 0));
    assert_eq!(&file[6144..8192], &data[2048..]);
    // Growing the file-backed disk.
    assert!(w.cmd("scsi resize 0 2M").ok);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 2 << 20);
    let _ = std::fs::remove_file(&path);
    w.assert_no_errors();
}

#[test]
fn disk_specs() {
    let mut specs = parse_specs(["scsi", "scsi,name=second,subchannels=2"]).unwrap();
    let disks: Vec<String> = ["lun=0,ram=1M", "lun=1,target=1,ram=2M,scsi=second"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    attach_disks(&mut specs, &disks).unwrap();
    assert_eq!(specs[0].scsi.as_ref().unwrap().lock().luns.len(), 1);
    assert!(specs[1]
        .scsi
        .as_ref()
        .unwrap()
        .lock()
        .luns
        .contains_key(&(0, 1, 1)));
    for bad in [
        "lun=0",
        "lun=0,ram=1000",
        "lun=0,ram=1M,file=/x",
        "lun=0,ram=1M,scsi=none",
        "lun=0,ram=1M,bogus=1",
    ] {
        let mut specs = parse_specs(["scsi"]).unwrap();
        assert!(
            attach_disks(&mut specs, &[bad.to_string()]).is_err(),
            "{bad}"
        );
    }
    // No scsi device: one is added.
    let mut specs = parse_specs(["echo"]).unwrap();
    attach_disks(&mut specs, &["lun=0,ram=1M".to_string()]).unwrap();
    assert_eq!(specs.len(), 2);
    assert!(parse_specs(["echo,subchannels=2"]).is_err());
    assert!(parse_specs(["scsi,vstor=x"]).is_err());
}

#[test]
fn bogus_completions_are_sent_on_request() {
    let (mut w, relid) = ready("scsi", &["lun=0,ram=4M"]);
    let r = w.cmd("scsi inject bad-completions");
    assert!(r.ok, "{r:?}");
    let got = w.recv(relid);
    let ids: Vec<u64> = got.iter().map(|(i, _)| i.trans_id).collect();
    assert_eq!(ids, vec![0xffff_0000, u64::MAX - 8, 0, 1]);
    for (info, data) in &got {
        assert_eq!(info.packet_type, PacketType::COMP);
        let want = if info.trans_id == 1 { 8 } else { 64 };
        assert_eq!(data.len(), want, "completion {:#x}", info.trans_id);
        assert_eq!(&data[..4], &1u32.to_le_bytes(), "COMPLETE_IO");
    }
    // The guest's session is untouched: I/O still completes with its own id.
    exec(&mut w, relid, 0, &[0; 6], DataDirection::UNKNOWN, None);
    w.assert_no_errors();
}

/// The class and instance GUIDs the engine offered for the device's primary channel.
fn offered_guids(w: &World, relid: u32) -> (hv_proto::guid::Guid, hv_proto::guid::Guid) {
    let o = &w.offers[&relid].offer;
    (o.if_type, o.if_instance)
}

/// FCHBA_DATA after QUERY_PROPERTIES, as `storvsc_channel_init()` sends it for `SFC_GUID`.
fn fchba(w: &mut World, relid: u32) -> (VstorPacket, usize) {
    op(
        w,
        relid,
        VMBUS_RQST_INIT,
        &VstorPacket::request(VstorOperation::FCHBA_DATA),
    )
}

/// The port and node WWNs of the primary slot of an FCHBA_DATA payload.
fn primary_wwns(w: &HvFcWwnPacket) -> (u64, u64) {
    (
        u64::from_be_bytes(w.primary_port_wwn),
        u64::from_be_bytes(w.primary_node_wwn),
    )
}

/// Runs `storvsc_channel_init()` up to QUERY_PROPERTIES (the FC step comes next).
fn init_to_properties(w: &mut World, relid: u32) -> VmstorageChannelProperties {
    for p in [
        VstorPacket::request(VstorOperation::BEGIN_INITIALIZATION),
        VstorPacket::query_protocol_version(VmstorProtocolVersion::WIN10),
    ] {
        let (r, _) = op(w, relid, VMBUS_RQST_INIT, &p);
        assert_eq!({ r.status }, 0);
    }
    let (r, _) = op(
        w,
        relid,
        VMBUS_RQST_INIT,
        &VstorPacket::request(VstorOperation::QUERY_PROPERTIES),
    );
    assert_eq!({ r.status }, 0);
    r.properties()
}

#[test]
fn fc_adapter_is_offered_and_answers_fchba_data() {
    // `bus=fc`: the synthetic FC class, the configured WWNs in the primary slot.
    let mut w = world(
        "scsi,name=fc,bus=fc,wwpn=c0:03:ff:00:00:ff:ff:00,wwnn=0xc003ff0000ffff01",
        &["lun=0,ram=1M"],
    );
    let relid = w.relid("fc");
    let (class, _) = offered_guids(&w, relid);
    assert_eq!(class, hv_proto::guid::HV_SYNTHFC);
    assert_eq!(w.open(relid, 10, 10), Some(0));
    let props = init_to_properties(&mut w, relid);
    // FC adapters have multi-channel like SCSI ones.
    assert_eq!({ props.flags } & STORAGE_CHANNEL_SUPPORTS_MULTI_CHANNEL, 1);
    let (r, size) = fchba(&mut w, relid);
    assert_eq!({ r.operation }, VstorOperation::COMPLETE_IO);
    assert_eq!({ r.status }, 0);
    assert_eq!(size, size_of::<VstorPacket>());
    let wwn = r.wwn();
    assert_eq!(wwn.primary_active, 1);
    assert_eq!(
        primary_wwns(&wwn),
        (0xc003_ff00_00ff_ff00, 0xc003_ff00_00ff_ff01)
    );
    // The inactive port has other names.
    assert_ne!(wwn.secondary_port_wwn, wwn.primary_port_wwn);
    let (r, _) = op(
        &mut w,
        relid,
        VMBUS_RQST_INIT,
        &VstorPacket::request(VstorOperation::END_INITIALIZATION),
    );
    assert_eq!({ r.status }, 0);
    let st = w.cmd("dev fc status");
    assert!(st.lines.contains(&"bus=fc".to_string()), "{st:?}");
    assert!(st.lines.contains(&"state=Ready".to_string()), "{st:?}");
    assert!(
        st.lines.contains(
            &"wwpn=0xc003ff0000ffff00 wwnn=0xc003ff0000ffff01 active=primary".to_string()
        ),
        "{st:?}"
    );
    // The disk works on the FC adapter.
    let s = exec(&mut w, relid, 0, &[0x00; 6], DataDirection::UNKNOWN, None);
    assert_eq!(s.srb_status, SUCCESS);
    w.assert_no_errors();

    // The secondary port active: `primary_active` 0, the WWNs in the secondary slot (what
    // `cache_wwn()` then reads).
    let mut w = world(
        "scsi,bus=fc,wwpn=2000000000000001,wwnn=2000000000000002,fc_active=secondary",
        &["lun=0,ram=1M"],
    );
    let relid = open_scsi(&mut w);
    init_to_properties(&mut w, relid);
    let wwn = fchba(&mut w, relid).0.wwn();
    assert_eq!(wwn.primary_active, 0);
    assert_eq!(
        u64::from_be_bytes(wwn.secondary_port_wwn),
        0x2000_0000_0000_0001
    );
    assert_eq!(
        u64::from_be_bytes(wwn.secondary_node_wwn),
        0x2000_0000_0000_0002
    );
    assert_ne!(wwn.primary_port_wwn, wwn.secondary_port_wwn);
    w.assert_no_errors();

    // Without configured WWNs they are derived from the instance: stable, port != node.
    let mut w = world("scsi,bus=fc", &["lun=0,ram=1M"]);
    let relid = open_scsi(&mut w);
    init_to_properties(&mut w, relid);
    let wwn = fchba(&mut w, relid).0.wwn();
    assert_eq!(wwn.primary_active, 1);
    assert_ne!(wwn.primary_port_wwn, [0; 8]);
    assert_ne!(wwn.primary_port_wwn, wwn.primary_node_wwn);
    w.assert_no_errors();

    // Bad values are refused at parse time.
    for bad in [
        "scsi,bus=fcx",
        "scsi,bus=fc,wwpn=123",
        "scsi,fc_active=both",
    ] {
        assert!(parse_specs([bad]).is_err(), "{bad}");
    }
}

#[test]
fn new_wwns_go_to_the_guest_as_unsolicited_fchba_data() {
    let (mut w, relid) = ready(
        "scsi,bus=fc,wwpn=2000000000000001,wwnn=2000000000000002",
        &["lun=0,ram=1M"],
    );
    // Not before the guest's SCSI host is up, as the other notifications.
    let r = w.cmd("scsi wwn 20000000000000a1 20000000000000a2");
    assert!(r.ok && r.lines[0].ends_with("notified=0"), "{r:?}");
    assert!(w.recv(relid).is_empty());
    exec(&mut w, relid, 0, &[0; 6], DataDirection::UNKNOWN, None);
    let r = w.cmd("scsi wwn 20000000000000b1 20000000000000b2");
    assert!(r.ok && r.lines[0].ends_with("notified=1"), "{r:?}");
    let got = w.recv(relid);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0.trans_id, 0);
    let p = VstorPacket::read_from_prefix(&got[0].1).unwrap().0;
    assert_eq!({ p.operation }, VstorOperation::FCHBA_DATA);
    let wwn = p.wwn();
    assert_eq!(wwn.primary_active, 1);
    assert_eq!(
        primary_wwns(&wwn),
        (0x2000_0000_0000_00b1, 0x2000_0000_0000_00b2)
    );
    // The next FCHBA_DATA request is answered with them too.
    assert!(w
        .cmd("scsi status")
        .lines
        .contains(&"wwpn=0x20000000000000b1 wwnn=0x20000000000000b2 active=primary".to_string()));
    assert!(!w.cmd("scsi wwn 123 20000000000000b2").ok);
    // --quiet: the names change for the next FCHBA_DATA request, nothing is sent.
    let r = w.cmd("scsi wwn 2000000000000001 2000000000000002 --quiet");
    assert!(r.ok && r.lines[0].ends_with("notified=0"), "{r:?}");
    assert!(w.recv(relid).is_empty());
    w.assert_no_errors();

    // A SCSI controller has no WWNs.
    let (mut w, _) = ready("scsi", &["lun=0,ram=1M"]);
    assert!(!w.cmd("scsi wwn 20000000000000b1 20000000000000b2").ok);
}

#[test]
fn fchba_data_on_a_scsi_controller_is_a_protocol_error() {
    let mut w = world("scsi", &["lun=0,ram=1M"]);
    let relid = open_scsi(&mut w);
    init_to_properties(&mut w, relid);
    let (r, _) = fchba(&mut w, relid);
    assert_ne!({ r.status }, 0);
    assert_eq!(w.errors().len(), 1, "{:?}", w.errors());
    assert!(w.errors()[0].contains("FCHBA_DATA"), "{:?}", w.errors());
}

#[test]
fn ide_controller_is_offered_with_its_target_in_the_instance() {
    let mut w = world("scsi,name=ide,bus=ide", &["lun=0,ram=1M"]);
    let relid = w.relid("ide");
    let (class, instance) = offered_guids(&w, relid);
    assert_eq!(class, hv_proto::guid::HV_IDE);
    // `storvsc_probe()`: target = b[5] << 8 | b[4], here the disk's target 0.
    assert_eq!(u16::from(instance.0[5]) << 8 | u16::from(instance.0[4]), 0);
    assert_eq!(w.open(relid, 10, 10), Some(0));
    let (v, props) = init(&mut w, relid, &linux_versions());
    assert_eq!(v, VmstorProtocolVersion::WIN10.0);
    // One channel: no multi-channel flag, so the guest asks for no subchannel.
    assert_eq!({ props.flags }, 0);
    assert_eq!({ props.max_channel_cnt }, 0);
    let st = w.cmd("dev ide status");
    assert!(st.lines.contains(&"bus=ide".to_string()), "{st:?}");
    // I/O to the disk at 0:0:0 (what `scsi_add_device(host, 0, target, 0)` addresses).
    let buf = Buf::new(&mut w, 0, 4096);
    let data = pattern(9, 4096);
    buf.write(&w, &data);
    let s = exec(
        &mut w,
        relid,
        0,
        &rw10(0x2a, 8, 8),
        DataDirection::WRITE,
        Some(&buf),
    );
    assert_eq!(s.srb_status, SUCCESS);
    let back = Buf::new(&mut w, 0, 4096);
    let s = exec(
        &mut w,
        relid,
        0,
        &rw10(0x28, 8, 8),
        DataDirection::READ,
        Some(&back),
    );
    assert_eq!(s.srb_status, SUCCESS);
    assert_eq!(back.read(&w), data);
    w.assert_no_errors();

    // An explicit instance is kept; a SCSI controller keeps the SCSI class.
    let g = "12345678-0001-4000-8000-000000000001";
    let specs = parse_specs([&format!("scsi,bus=ide,instance={g}") as &str, "scsi"]).unwrap();
    assert_eq!(specs[0].instance, hv_proto::guid::Guid::parse(g).unwrap());
    assert_eq!(specs[1].class, hv_proto::guid::HV_SCSI);
}
