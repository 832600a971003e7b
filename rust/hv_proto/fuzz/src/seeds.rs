// SPDX-License-Identifier: GPL-2.0

//! Seed corpora: a few valid host messages per target, made with the crate's own builders and
//! wire structs, so that the fuzzers start deep instead of rediscovering every header.
//!
//! Written by `examples/gen_corpus.rs` (`scripts/fuzz.sh` runs it before fuzzing).

use hv_proto::dm::{
    DmBalloon, DmHeader, DmHotAdd, DmInfoHeader, DmInfoMsg, DmInfoType, DmMemPageRange,
    DmMessageType, DmUnballoonRequest, DmVersionResponse,
};
use hv_proto::fcopy::{DoFcopy, FcopyHdr, FcopyOp, StartFcopy};
use hv_proto::gpadl::{GpadlBuilder, GpadlType, FIRST_GPADL_HANDLE};
use hv_proto::guid::Guid;
use hv_proto::ic::{
    build_negotiate_request, HeartbeatMsgData, HvStatus, IcMsgHdr, IcMsgType, IcTimesyncData,
    IcTimesyncRefData, IcVersion, ShutdownMsgData, VmbusPipeHdr, FW_VERSIONS, HB_VERSIONS,
    ICMSGHDRFLAG_REQUEST, ICMSGHDRFLAG_TRANSACTION, SD_VERSIONS, TS_VERSIONS,
};
use hv_proto::kvp::{KvpMsg, KvpOp, KvpValueType, KVP_VERSIONS};
use hv_proto::nvsp::{
    Nvsp1ReceiveBufferSection, Nvsp1SendReceiveBufferComplete, Nvsp1SendRndisPacket,
    Nvsp1SendSendBufferComplete, Nvsp5SendIndirectTable, NvspMessage, NvspMessageInitComplete,
    NvspMessageType, NvspStatus,
};
use hv_proto::ring::{
    init_ring, ControlField, FlatRingMem, OutgoingPacket, OutgoingRing, PacketType, RingMem,
    RING_HEADER_SIZE,
};
use hv_proto::rndis::{
    build_data_packet, NdisPkt8021qInfo, NdisTcpIpChecksumInfo, RndisMessageHeader, RndisMsgType,
    RndisQueryComplete, RndisStatus, TxPpi,
};
use hv_proto::vmbus::{
    ConnectionState as VersionState, FeatureFlags, GpadlCreated, GpadlTorndown, InitiateContact,
    MessageHeader, MessageType, ModifyChannelResponse, OfferChannel, OpenChannel, OpenResult,
    RescindOffer, Version, VersionResponse, VersionResponse2, MAX_SIZE_CHANNEL_MESSAGE,
};
use hv_proto::vss::{VssHdr, VssMsg, VssOp, VSS_VERSIONS};
use hv_proto::vstor::{VstorOperation, VstorPacket, VMSTOR_PROTOCOL_VERSIONS};
use hv_proto::{fcopy, vstor};
use zerocopy::{FromZeros, Immutable, IntoBytes};

use super::connection::{host, op, synic_slot, Script};
use super::{ring_storage, Writer};

/// One seed: target name, file name, bytes.
pub type Seed = (&'static str, String, Vec<u8>);

fn bytes<T: IntoBytes + Immutable>(t: &T) -> Vec<u8> {
    t.as_bytes().to_vec()
}

/// Host channel messages (also used by the connection seeds).
fn channel_messages() -> Vec<(String, Vec<u8>)> {
    let h = MessageHeader::new;
    let mut offer = OfferChannel::new_zeroed();
    offer.header = h(MessageType::OFFERCHANNEL);
    offer.offer.if_type = Guid::new("ba6163d9-04a1-4d29-b605-72e2ffb1dc7f");
    offer.child_relid = 1;
    offer.monitorid = 3;
    offer.monitor_allocated = 1;
    offer.connection_id = 0x2001;
    let mut builder = [0u8; MAX_SIZE_CHANNEL_MESSAGE];
    let pages: Vec<u64> = (0x100..0x140).collect();
    let mut gpadl = Vec::new();
    let mut b = GpadlBuilder::new(
        1,
        FIRST_GPADL_HANDLE,
        GpadlType::Buffer,
        &pages,
        12,
        0x40 * 4096,
    )
    .expect("valid GPADL");
    while let Some(n) = b.write_next(&mut builder) {
        gpadl.push(builder[..n].to_vec());
    }
    let mut v = vec![
        ("offer".into(), bytes(&offer)),
        (
            "rescind".into(),
            bytes(&RescindOffer {
                header: h(MessageType::RESCIND_CHANNELOFFER),
                child_relid: 1,
            }),
        ),
        (
            "version_response".into(),
            bytes(&VersionResponse {
                header: h(MessageType::VERSION_RESPONSE),
                version_supported: 1,
                connection_state: VersionState::SUCCESSFUL,
                padding: 0,
                msg_conn_id: 7,
            }),
        ),
        (
            "version_response2".into(),
            bytes(&VersionResponse2 {
                version_response: VersionResponse {
                    header: h(MessageType::VERSION_RESPONSE),
                    version_supported: 1,
                    connection_state: VersionState::SUCCESSFUL,
                    padding: 0,
                    msg_conn_id: 7,
                },
                supported_features: FeatureFlags(0x3f),
            }),
        ),
        (
            "open_result".into(),
            bytes(&OpenResult {
                header: h(MessageType::OPENCHANNEL_RESULT),
                child_relid: 1,
                openid: 1,
                status: 0,
            }),
        ),
        (
            "gpadl_created".into(),
            bytes(&GpadlCreated {
                header: h(MessageType::GPADL_CREATED),
                child_relid: 1,
                gpadl: FIRST_GPADL_HANDLE,
                creation_status: 0,
            }),
        ),
        (
            "gpadl_torndown".into(),
            bytes(&GpadlTorndown {
                header: h(MessageType::GPADL_TORNDOWN),
                gpadl: FIRST_GPADL_HANDLE,
            }),
        ),
        (
            "modify_response".into(),
            bytes(&ModifyChannelResponse {
                header: h(MessageType::MODIFYCHANNEL_RESPONSE),
                child_relid: 1,
                status: 0,
            }),
        ),
        (
            "alloffers".into(),
            bytes(&h(MessageType::ALLOFFERS_DELIVERED)),
        ),
        (
            "unload_response".into(),
            bytes(&h(MessageType::UNLOAD_RESPONSE)),
        ),
    ];
    let mut ic = InitiateContact::new_zeroed();
    ic.header = h(MessageType::INITIATE_CONTACT);
    ic.vmbus_version_requested = Version::WIN10_V5;
    v.push(("initiate_contact".into(), bytes(&ic)));
    let mut open = OpenChannel::new_zeroed();
    open.header = h(MessageType::OPENCHANNEL);
    open.child_relid = 1;
    v.push(("open".into(), bytes(&open)));
    for (i, g) in gpadl.into_iter().enumerate() {
        v.push((format!("gpadl_{i}"), g));
    }
    v
}

fn vmbus_message(out: &mut Vec<Seed>) {
    for (name, m) in channel_messages() {
        out.push(("vmbus_message", format!("{name}.synic"), synic_slot(&m)));
        out.push(("vmbus_message", name, m));
    }
}

/// A ring with a few packets of each kind, written by the real writer, dumped in the
/// `ring_raw` format.
fn ring_raw(out: &mut Vec<Seed>) {
    for (name, start) in [("start0", 0u32), ("wrapped", 416)] {
        let storage = ring_storage(512);
        let mem = FlatRingMem::new(&storage).expect("ring");
        init_ring(&mem);
        mem.write_control(ControlField::WriteIndex, start);
        mem.write_control(ControlField::ReadIndex, start);
        let mut tx = OutgoingRing::new(&mem).expect("writer");
        tx.write_packet(&OutgoingPacket::inband(1, true), &[b"hello, host"])
            .expect("fits");
        // GPA direct: reserved, range_cnt 1, a range of 5000 bytes at 100 (2 PFNs).
        let mut gpa = Writer::default();
        gpa.u32(0).u32(1).u32(5000).u32(100).u64(0x1234).u64(0x1235);
        let pkt = OutgoingPacket {
            packet_type: PacketType::DATA_USING_GPA_DIRECT,
            flags: 1,
            trans_id: 2,
            ext_header: &gpa.0,
        };
        tx.write_packet(&pkt, &[&[0xaa; 24]]).expect("fits");
        // Transfer pages: set 0xcafe, 2 ranges.
        let mut xfer = Writer::default();
        xfer.u16(0xcafe)
            .u8(0)
            .u8(0)
            .u32(2)
            .u32(100)
            .u32(0)
            .u32(200)
            .u32(4096);
        let pkt = OutgoingPacket {
            packet_type: PacketType::DATA_USING_XFER_PAGES,
            flags: 0,
            trans_id: 3,
            ext_header: &xfer.0,
        };
        tx.write_packet(&pkt, &[&[1; 8]]).expect("fits");
        tx.write_packet(&OutgoingPacket::completion(4), &[&[0; 16]])
            .expect("fits");
        let mut w = Writer::default();
        w.u8(0x80);
        for f in [
            ControlField::WriteIndex,
            ControlField::ReadIndex,
            ControlField::InterruptMask,
            ControlField::PendingSendSize,
            ControlField::FeatureBits,
        ] {
            w.u32(mem.read_control(f));
        }
        let data: Vec<u8> = storage[RING_HEADER_SIZE as usize..]
            .iter()
            .map(|c| c.get())
            .collect();
        w.bytes(&data);
        out.push(("ring_raw", name.into(), w.0));
    }
}

fn ring_ops(out: &mut Vec<Seed>) {
    // Writes (op 0), reads (2), peek/advance (3), commit (4), drain (8), pending (9), free (12).
    let write = |w: &mut Writer, len: u16, id: u64| {
        w.u8(0).u8(1).u16(len).u8(1).u64(id);
    };
    let mut w = Writer::default();
    w.u8(2).u16(0);
    for i in 0..6 {
        write(&mut w, 40 + i * 8, u64::from(i));
    }
    w.u8(12)
        .u8(2)
        .u16(255)
        .u8(3)
        .u16(0)
        .u8(8)
        .u8(4)
        .u8(12)
        .u8(8);
    out.push(("ring_ops", "fill_drain".into(), w.0));

    let mut w = Writer::default();
    w.u8(1).u16(0).u8(9).u32(64);
    for i in 0..8 {
        write(&mut w, 30, i);
    }
    w.u8(2)
        .u16(100)
        .u8(2)
        .u16(100)
        .u8(4)
        .u8(6)
        .u8(2)
        .u16(100)
        .u8(4)
        .u8(7)
        .u8(12);
    out.push(("ring_ops", "pending".into(), w.0));

    let mut w = Writer::default();
    w.u8(0)
        .u16(8)
        .bytes(&[0, 0xe0, 0xff, 0xff, 0xff, 0x7f, 0xa0, 3, 0xc0, 1]);
    for i in 0..4 {
        write(&mut w, 20, i);
        w.u8(2).u16(64);
    }
    w.u8(8);
    out.push(("ring_ops", "chaos".into(), w.0));
}

fn gpadl(out: &mut Vec<Seed>) {
    for (i, (kind, pages, size)) in [
        (GpadlType::Buffer, 3usize, 3 * 4096u32),
        (GpadlType::Buffer, 80, 80 * 4096),
        (
            GpadlType::Ring {
                send_offset: 4 * 4096,
            },
            8,
            8 * 4096,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let pfns: Vec<u64> = (0..pages as u64).map(|p| 0x8000 + 3 * p).collect();
        let mut b = GpadlBuilder::new(5, FIRST_GPADL_HANDLE + i as u32, kind, &pfns, 12, size)
            .expect("valid GPADL");
        let mut w = Writer::default();
        w.u8(0).u16(512);
        let mut m = [0u8; MAX_SIZE_CHANNEL_MESSAGE];
        while let Some(n) = b.write_next(&mut m) {
            w.chunk16(&m[..n]);
        }
        out.push(("gpadl", format!("assemble_{i}"), w.0));
    }
    let mut w = Writer::default();
    w.u8(1)
        .u32(1)
        .u32(FIRST_GPADL_HANDLE)
        .u8(1)
        .u8(2)
        .u16(32)
        .u16(16)
        .u16(8);
    for p in 0..8u64 {
        w.u64((0x1000 + p) << 12);
    }
    out.push(("gpadl", "roundtrip_ring".into(), w.0));
    let mut w = Writer::default();
    w.u8(1).u32(1).u32(7).u8(0).u8(0).u16(100).u16(0).u16(100);
    for p in 0..100u64 {
        w.u64(p << 12);
    }
    out.push(("gpadl", "roundtrip_buffer".into(), w.0));
}

/// An IC packet: pipe header, IC header of `t` with service version `v`, payload.
fn ic_packet(t: IcMsgType, v: IcVersion, payload: &[u8]) -> Vec<u8> {
    let pipe = VmbusPipeHdr {
        flags: 1,
        msgsize: (20 + payload.len()) as u32,
    };
    let hdr = IcMsgHdr {
        icverframe: FW_VERSIONS[0],
        icmsgtype: t,
        icvermsg: v,
        icmsgsize: payload.len() as u16,
        status: HvStatus::S_OK,
        ictransaction_id: 9,
        icflags: ICMSGHDRFLAG_TRANSACTION | ICMSGHDRFLAG_REQUEST,
        reserved: [0; 2],
    };
    let mut p = bytes(&pipe);
    p.extend_from_slice(hdr.as_bytes());
    p.extend_from_slice(payload);
    p
}

fn ic(out: &mut Vec<Seed>) {
    let services: [&[IcVersion]; 6] = [
        &SD_VERSIONS,
        &TS_VERSIONS,
        &HB_VERSIONS,
        &KVP_VERSIONS,
        &VSS_VERSIONS,
        &fcopy::FCOPY_VERSIONS,
    ];
    for (i, srv) in services.iter().enumerate() {
        let mut buf = [0u8; 256];
        let n = build_negotiate_request(&mut buf, &FW_VERSIONS, srv, 1).expect("fits");
        let mut s = vec![i as u8];
        s.extend_from_slice(&buf[..n]);
        out.push(("ic", format!("negotiate_{i}"), s));
    }
    let mut shutdown = ShutdownMsgData::new_zeroed();
    shutdown.flags = 2;
    let mut seeds = vec![
        (
            "shutdown",
            ic_packet(IcMsgType::SHUTDOWN, SD_VERSIONS[0], shutdown.as_bytes()),
        ),
        (
            "timesync4",
            ic_packet(
                IcMsgType::TIMESYNC,
                TS_VERSIONS[0],
                IcTimesyncRefData {
                    parenttime: 133_000_000_000_000_000,
                    vmreferencetime: 1_000_000,
                    flags: 2,
                    ..Default::default()
                }
                .as_bytes(),
            ),
        ),
        (
            "timesync3",
            ic_packet(
                IcMsgType::TIMESYNC,
                TS_VERSIONS[1],
                IcTimesyncData {
                    parenttime: 133_000_000_000_000_000,
                    flags: 1,
                    ..Default::default()
                }
                .as_bytes(),
            ),
        ),
        (
            "heartbeat",
            ic_packet(
                IcMsgType::HEARTBEAT,
                HB_VERSIONS[0],
                HeartbeatMsgData {
                    seq_num: 41,
                    ..Default::default()
                }
                .as_bytes(),
            ),
        ),
        (
            "vss_freeze",
            ic_packet(
                IcMsgType::VSS,
                VSS_VERSIONS[0],
                VssMsg {
                    vss_hdr: VssHdr {
                        operation: VssOp::FREEZE,
                        reserved: [0; 7],
                    },
                    flags: 0,
                }
                .as_bytes(),
            ),
        ),
    ];
    let mut start = StartFcopy::new_zeroed();
    start.hdr.operation = FcopyOp::START_FILE_COPY;
    start.file_name[..4].copy_from_slice(&[b'a', 0, b'b', 0]);
    start.file_size = 4096;
    seeds.push((
        "fcopy_start",
        ic_packet(IcMsgType::FCOPY, fcopy::FCOPY_VERSIONS[0], start.as_bytes()),
    ));
    let mut write = DoFcopy::new_zeroed();
    write.hdr.operation = FcopyOp::WRITE_TO_FILE;
    write.size = 16;
    write.offset = 4096;
    seeds.push((
        "fcopy_write",
        ic_packet(
            IcMsgType::FCOPY,
            fcopy::FCOPY_VERSIONS[0],
            &write.as_bytes()[..core::mem::offset_of!(DoFcopy, data) + 16],
        ),
    ));
    let hdr = FcopyHdr {
        operation: FcopyOp::COMPLETE_FCOPY,
        ..FcopyHdr::new_zeroed()
    };
    seeds.push((
        "fcopy_complete",
        ic_packet(IcMsgType::FCOPY, fcopy::FCOPY_VERSIONS[0], hdr.as_bytes()),
    ));
    for (name, p) in seeds {
        let mut s = vec![1u8];
        s.extend_from_slice(&p);
        out.push(("ic", name.into(), s));
    }
}

/// UTF-16LE of `s`.
fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn kvp(out: &mut Vec<Seed>) {
    // Host messages (mode 0): header, then the operation's body.
    let exch = |op: KvpOp, ty: KvpValueType, key: &str, value: &[u8]| {
        let mut w = Writer::default();
        w.u8(0).u8(op.0).u8(0).u16(0);
        let k = utf16(key);
        w.u32(ty.0).u32(k.len() as u32).u32(value.len() as u32);
        let mut kb = vec![0u8; 512];
        kb[..k.len()].copy_from_slice(&k);
        let mut vb = vec![0u8; 2048];
        vb[..value.len()].copy_from_slice(value);
        w.bytes(&kb).bytes(&vb);
        w.0
    };
    out.push((
        "kvp",
        "set_sz".into(),
        exch(
            KvpOp::SET,
            KvpValueType::REG_SZ,
            "HostName",
            &utf16("host.example\u{e9}\u{1f600}"),
        ),
    ));
    out.push((
        "kvp",
        "set_u64".into(),
        exch(
            KvpOp::SET,
            KvpValueType::REG_U64,
            "Counter",
            &u64::MAX.to_le_bytes(),
        ),
    ));
    out.push((
        "kvp",
        "get".into(),
        exch(KvpOp::GET, KvpValueType::REG_SZ, "OSName", &[]),
    ));
    let mut w = Writer::default();
    w.u8(0).u8(KvpOp::ENUMERATE.0).u8(3).u16(0).u32(2);
    out.push(("kvp", "enumerate".into(), w.0));
    let mut w = Writer::default();
    w.u8(0)
        .u8(KvpOp::DELETE.0)
        .u8(1)
        .u16(0)
        .u32(6)
        .bytes(&utf16("abc"));
    out.push(("kvp", "delete".into(), w.0));
    // SET_IP_INFO through patches (mode 1): adapter id, family, dhcp, address.
    let mut w = Writer::default();
    w.u8(1).u16(7428);
    w.u16(0).chunk8(&[KvpOp::SET_IP_INFO.0, 0]);
    w.u16(2).chunk8(&utf16("{00-15-5D}"));
    w.u16(2 + 256).chunk8(&[1, 0]);
    w.u16(2 + 258).chunk8(&utf16("192.168.0.2;10.0.0.1"));
    out.push(("kvp", "set_ip".into(), w.0));
    // Daemon replies (mode 2): host op, status, packet length, patches.
    for (name, host_op, patches) in [
        (
            "reply_get",
            KvpOp::GET,
            vec![(4 + 12, b"value\0".to_vec()), (0, vec![KvpOp::GET.0])],
        ),
        (
            "reply_enum",
            KvpOp::ENUMERATE,
            vec![(8 + 12, b"key\0".to_vec()), (8 + 12 + 512, b"v\0".to_vec())],
        ),
        (
            "reply_ip",
            KvpOp::GET_IP_INFO,
            vec![(4, b"eth0\0".to_vec()), (4 + 258, b"10.0.0.2\0".to_vec())],
        ),
        ("register", KvpOp::REGISTER1, vec![(0, vec![100])]),
    ] {
        let mut w = Writer::default();
        w.u8(2).u8(host_op.0).u8(0).u16(16384);
        for (off, b) in patches {
            w.u16(off).chunk8(&b);
        }
        out.push(("kvp", name.into(), w.0));
    }
    // Conversions (mode 3).
    for (name, text) in [
        ("ascii", "hello"),
        ("bmp", "h\u{e9}llo \u{4e16}"),
        ("astral", "\u{1f600}x"),
    ] {
        let mut w = Writer::default();
        w.u8(3).u16(64).u16(64).bytes(&utf16(text));
        out.push(("kvp", format!("utf16_{name}"), w.0));
        let mut w = Writer::default();
        w.u8(3).u16(64).u16(64).bytes(text.as_bytes());
        out.push(("kvp", format!("utf8_{name}"), w.0));
    }
    let _ = KvpMsg::new_zeroed();
}

fn vstor(out: &mut Vec<Seed>) {
    let mut p = VstorPacket::query_protocol_version(VMSTOR_PROTOCOL_VERSIONS[0]);
    p.operation = VstorOperation::COMPLETE_IO;
    out.push((
        "vstor",
        "complete_io".into(),
        [&[1u8][..], p.as_bytes()].concat(),
    ));
    let p = VstorPacket::request(VstorOperation::QUERY_PROPERTIES);
    out.push((
        "vstor",
        "properties".into(),
        [&[3u8][..], p.as_bytes()].concat(),
    ));
    let p = VstorPacket::request(VstorOperation::REMOVE_DEVICE);
    out.push((
        "vstor",
        "unsolicited".into(),
        [&[0u8][..], &p.as_bytes()[..4]].concat(),
    ));
    let p = VstorPacket::request(VstorOperation::ENUMERATE_BUS);
    out.push((
        "vstor",
        "enumerate".into(),
        [&[0u8][..], p.as_bytes()].concat(),
    ));
    let _ = vstor::VMBUS_RQST_INIT;
}

fn netvsc(out: &mut Vec<Seed>) {
    let nv = |name: &str, m: NvspMessage, out: &mut Vec<Seed>| {
        let mut w = Writer::default();
        w.u8(0).u8(6).u32(16 << 20).bytes(m.as_bytes());
        out.push(("netvsc", name.to_string(), w.0));
    };
    nv(
        "init_complete",
        NvspMessage::new(
            NvspMessageType::INIT_COMPLETE,
            &NvspMessageInitComplete {
                negotiated_protocol_ver: 0x60001,
                max_mdl_chain_len: 0,
                status: NvspStatus::SUCCESS,
            },
        ),
        out,
    );
    let mut recv = bytes(&NvspMessage::new(
        NvspMessageType::SEND_RECV_BUF_COMPLETE,
        &Nvsp1SendReceiveBufferComplete {
            status: NvspStatus::SUCCESS,
            num_sections: 1,
        },
    ));
    recv[12..28].copy_from_slice(
        Nvsp1ReceiveBufferSection {
            offset: 0,
            sub_alloc_size: 1728,
            num_sub_allocs: 9000,
            end_offset: 1728 * 9000,
        }
        .as_bytes(),
    );
    let mut w = Writer::default();
    w.u8(0).u8(6).u32(16 << 20).bytes(&recv);
    out.push(("netvsc", "recv_buf_complete".into(), w.0));
    nv(
        "send_buf_complete",
        NvspMessage::new(
            NvspMessageType::SEND_SEND_BUF_COMPLETE,
            &Nvsp1SendSendBufferComplete {
                status: NvspStatus::SUCCESS,
                section_size: 6144,
            },
        ),
        out,
    );
    nv(
        "rndis_pkt",
        NvspMessage::new(
            NvspMessageType::SEND_RNDIS_PKT,
            &Nvsp1SendRndisPacket {
                channel_type: 0,
                send_buf_section_index: u32::MAX,
                send_buf_section_size: 0,
            },
        ),
        out,
    );
    let mut table = bytes(&NvspMessage::new(
        NvspMessageType::SEND_INDIRECTION_TABLE,
        &Nvsp5SendIndirectTable {
            count: 16,
            offset: 12,
        },
    ));
    table.truncate(12);
    table.extend((0..16u32).flat_map(|i| (i % 4).to_le_bytes()));
    let mut w = Writer::default();
    w.u8(0).u8(7).u32(0).bytes(&table);
    out.push(("netvsc", "indirection_table".into(), w.0));

    // RNDIS: a data packet with VLAN and checksum info, a query completion, an indication.
    let mut buf = [0u8; 256];
    let n = build_data_packet(
        &mut buf,
        60,
        &[
            TxPpi::Vlan(NdisPkt8021qInfo(5)),
            TxPpi::Checksum(NdisTcpIpChecksumInfo(0x3)),
            TxPpi::Hash(0x1234),
        ],
    )
    .expect("fits");
    let mut pkt = buf[..n].to_vec();
    pkt.extend_from_slice(&[0xab; 60]);
    let mut w = Writer::default();
    w.u8(1).u16(64).u32(0).bytes(&pkt);
    out.push(("netvsc", "rndis_data".into(), w.0));
    let qc = RndisQueryComplete {
        req_id: 3,
        status: RndisStatus::SUCCESS,
        info_buflen: 6,
        info_buf_offset: 16,
    };
    let mut m = bytes(&RndisMessageHeader {
        ndis_msg_type: RndisMsgType::QUERY_C,
        msg_len: 8 + 16 + 6,
    });
    m.extend_from_slice(qc.as_bytes());
    m.extend_from_slice(&[0, 0x15, 0x5d, 1, 2, 3]);
    let mut w = Writer::default();
    w.u8(1).u16(6).u32(0).bytes(&m);
    out.push(("netvsc", "rndis_query_c".into(), w.0));
    let mut m = bytes(&RndisMessageHeader {
        ndis_msg_type: RndisMsgType::INDICATE,
        msg_len: 8 + 12 + 4,
    });
    m.extend_from_slice(&0x4001_0013u32.to_le_bytes());
    m.extend_from_slice(&4u32.to_le_bytes());
    m.extend_from_slice(&12u32.to_le_bytes());
    m.extend_from_slice(&100_000u32.to_le_bytes());
    let mut w = Writer::default();
    w.u8(1).u16(0).u32(0).bytes(&m);
    out.push(("netvsc", "rndis_indicate".into(), w.0));
}

fn dm(out: &mut Vec<Seed>) {
    let hdr = |t: DmMessageType, size: usize| DmHeader {
        type_: t,
        size: size as u16,
        trans_id: 1,
    };
    let mut v = DmVersionResponse::new_zeroed();
    v.hdr = hdr(DmMessageType::VERSION_RESPONSE, 12);
    v.flags = 1;
    out.push((
        "dm",
        "version_response".into(),
        [&[1u8][..], v.as_bytes()].concat(),
    ));
    let mut b = DmBalloon::new_zeroed();
    b.hdr = hdr(DmMessageType::BALLOON_REQUEST, 16);
    b.num_pages = 512;
    out.push(("dm", "balloon".into(), [&[0u8][..], b.as_bytes()].concat()));
    let mut u = DmUnballoonRequest::new_zeroed();
    u.hdr = hdr(DmMessageType::UNBALLOON_REQUEST, 16 + 16);
    u.range_count = 2;
    let mut s = vec![2u8];
    s.extend_from_slice(u.as_bytes());
    s.extend_from_slice(DmMemPageRange::new(0x1000, 16).as_bytes());
    s.extend_from_slice(DmMemPageRange::new(0x2000, 1).as_bytes());
    out.push(("dm", "unballoon".into(), s));
    let mut h = DmHotAdd::new_zeroed();
    h.hdr = hdr(DmMessageType::MEM_HOT_ADD_REQUEST, 24);
    h.range = DmMemPageRange::new(0x10_0000, 0x8000);
    let mut s = vec![4u8];
    s.extend_from_slice(h.as_bytes());
    s.extend_from_slice(DmMemPageRange::new(0x10_0000, 0x10000).as_bytes());
    out.push(("dm", "hot_add".into(), s));
    let mut i = DmInfoMsg::new_zeroed();
    i.hdr = hdr(DmMessageType::INFO_MESSAGE, 16 + 8 + 8);
    i.info_size = 16;
    let mut s = vec![0u8];
    s.extend_from_slice(i.as_bytes());
    s.extend_from_slice(
        DmInfoHeader {
            type_: DmInfoType::MAX_PAGE_CNT,
            data_size: 8,
        }
        .as_bytes(),
    );
    s.extend_from_slice(&(1u64 << 20).to_le_bytes());
    out.push(("dm", "info".into(), s));
}

fn connection(out: &mut Vec<Seed>) {
    let relid = |r: u8| [r];
    // A whole session: negotiate, offers, GPADL, open, modify, close, rescind, unload.
    let mut s = Script::new();
    s.op(op::START, &[]);
    s.host(host::VERSION, &[1, 7, 0, 0, 0]);
    s.host(host::OFFER, &[1, 0, 0, 3, 0, 0]);
    s.host(host::OFFER, &[2, 1, 0, 4, 0, 0]);
    s.host(host::ALL_OFFERS, &[]);
    s.op(op::CREATE_GPADL, &[1, 1, 15, 8]);
    s.host(host::GPADL_CREATED, &[1, 0, 0]);
    s.op(op::OPEN, &[1, 0, 0, 16]);
    s.host(host::OPEN_RESULT, &[1, 0, 0]);
    s.op(op::MODIFY, &[1, 1]);
    s.host(host::MODIFY_RESPONSE, &[1, 0]);
    s.op(op::CREATE_GPADL, &[2, 0, 3, 0]);
    s.host(host::GPADL_CREATED, &[2, 1, 0]);
    s.op(op::OPEN, &[2, 1, 0, 0]);
    s.host(host::RESCIND, &relid(2));
    s.op(op::RELEASE, &relid(2));
    s.op(op::CLOSE, &relid(1));
    s.op(op::TEARDOWN_GPADL, &[1, 0]);
    s.host(host::GPADL_TORNDOWN, &[0]);
    s.op(op::TL_CONNECT, &[]);
    s.host(host::TL_RESULT, &[0, 0, 0, 0]);
    s.op(op::UNLOAD, &[]);
    s.host(host::UNLOAD_RESPONSE, &[]);
    out.push(("connection", "session".into(), s.0 .0));

    // Refused versions, a failed post, then features.
    let mut s = Script::new();
    s.op(op::START, &[]);
    s.host(host::VERSION, &[0, 0, 0, 0, 0]);
    s.op(op::POST_FAILED, &[0x7b, 0]);
    s.host(host::VERSION2, &[1, 9, 0, 0, 0, 0x3f, 0, 0, 0]);
    for r in 1..=6u8 {
        s.host(host::OFFER, &[r, r % 4, 0, r, 0, 0]);
    }
    s.host(host::ALL_OFFERS, &[]);
    out.push(("connection", "refusals".into(), s.0 .0));

    // Raw messages and a SynIC slot.
    let mut s = Script::new();
    s.op(op::START, &[]);
    for (_, m) in channel_messages() {
        s.raw(&m);
    }
    let slot = synic_slot(&channel_messages()[0].1);
    s.op(op::HOST_SYNIC, &slot[..6]).0.chunk8(&slot[16..]);
    out.push(("connection", "raw".into(), s.0 .0));
}

/// Returns every seed of every target.
pub fn all() -> Vec<Seed> {
    let mut out = Vec::new();
    vmbus_message(&mut out);
    ring_raw(&mut out);
    ring_ops(&mut out);
    gpadl(&mut out);
    ic(&mut out);
    kvp(&mut out);
    vstor(&mut out);
    netvsc(&mut out);
    dm(&mut out);
    connection(&mut out);
    out
}
