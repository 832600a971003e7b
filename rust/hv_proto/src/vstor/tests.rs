// SPDX-License-Identifier: GPL-2.0

//! Tests of the storage protocol.

use super::*;
use core::mem::{
    offset_of,
    size_of, //
};

/// Sizes, offsets and constants printed by `rust/hv_proto/layout/extract.sh` (gcc 12, x86-64)
/// for `drivers/scsi/storvsc_drv.c` of Linux 7.2.13.
#[test]
fn c_layout() {
    assert_eq!(size_of::<HvFcWwnPacket>(), 36); // sizeof(struct hv_fc_wwn_packet)
    assert_eq!(offset_of!(HvFcWwnPacket, primary_active), 0); // offsetof(struct hv_fc_wwn_packet, primary_active)
    assert_eq!(offset_of!(HvFcWwnPacket, reserved1), 1); // offsetof(struct hv_fc_wwn_packet, reserved1)
    assert_eq!(offset_of!(HvFcWwnPacket, primary_port_wwn), 4); // offsetof(struct hv_fc_wwn_packet, primary_port_wwn)
    assert_eq!(offset_of!(HvFcWwnPacket, primary_node_wwn), 12); // offsetof(struct hv_fc_wwn_packet, primary_node_wwn)
    assert_eq!(offset_of!(HvFcWwnPacket, secondary_port_wwn), 20); // offsetof(struct hv_fc_wwn_packet, secondary_port_wwn)
    assert_eq!(offset_of!(HvFcWwnPacket, secondary_node_wwn), 28); // offsetof(struct hv_fc_wwn_packet, secondary_node_wwn)
    assert_eq!(size_of::<VmscsiRequest>(), 52); // sizeof(struct vmscsi_request)
    assert_eq!(offset_of!(VmscsiRequest, length), 0); // offsetof(struct vmscsi_request, length)
    assert_eq!(offset_of!(VmscsiRequest, srb_status), 2); // offsetof(struct vmscsi_request, srb_status)
    assert_eq!(offset_of!(VmscsiRequest, scsi_status), 3); // offsetof(struct vmscsi_request, scsi_status)
    assert_eq!(offset_of!(VmscsiRequest, port_number), 4); // offsetof(struct vmscsi_request, port_number)
    assert_eq!(offset_of!(VmscsiRequest, path_id), 5); // offsetof(struct vmscsi_request, path_id)
    assert_eq!(offset_of!(VmscsiRequest, target_id), 6); // offsetof(struct vmscsi_request, target_id)
    assert_eq!(offset_of!(VmscsiRequest, lun), 7); // offsetof(struct vmscsi_request, lun)
    assert_eq!(offset_of!(VmscsiRequest, cdb_length), 8); // offsetof(struct vmscsi_request, cdb_length)
    assert_eq!(offset_of!(VmscsiRequest, sense_info_length), 9); // offsetof(struct vmscsi_request, sense_info_length)
    assert_eq!(offset_of!(VmscsiRequest, data_in), 10); // offsetof(struct vmscsi_request, data_in)
    assert_eq!(offset_of!(VmscsiRequest, reserved), 11); // offsetof(struct vmscsi_request, reserved)
    assert_eq!(offset_of!(VmscsiRequest, data_transfer_length), 12); // offsetof(struct vmscsi_request, data_transfer_length)
    assert_eq!(offset_of!(VmscsiRequest, cdb), 16); // offsetof(struct vmscsi_request, cdb)
    assert_eq!(offset_of!(VmscsiRequest, cdb), 16); // offsetof(struct vmscsi_request, sense_data)
    assert_eq!(offset_of!(VmscsiRequest, cdb), 16); // offsetof(struct vmscsi_request, reserved_array)
    assert_eq!(offset_of!(VmscsiRequest, reserve), 36); // offsetof(struct vmscsi_request, reserve)
    assert_eq!(offset_of!(VmscsiRequest, queue_tag), 38); // offsetof(struct vmscsi_request, queue_tag)
    assert_eq!(offset_of!(VmscsiRequest, queue_action), 39); // offsetof(struct vmscsi_request, queue_action)
    assert_eq!(offset_of!(VmscsiRequest, srb_flags), 40); // offsetof(struct vmscsi_request, srb_flags)
    assert_eq!(offset_of!(VmscsiRequest, time_out_value), 44); // offsetof(struct vmscsi_request, time_out_value)
    assert_eq!(offset_of!(VmscsiRequest, queue_sort_key), 48); // offsetof(struct vmscsi_request, queue_sort_ey)
    assert_eq!(VMSCSI_REQUEST_PRE_WIN8_SIZE, 36); // offsetof(struct vmscsi_request, reserve)
    assert_eq!(size_of::<VmstorageChannelProperties>(), 24); // sizeof(struct vmstorage_channel_properties)
    assert_eq!(offset_of!(VmstorageChannelProperties, reserved), 0); // offsetof(struct vmstorage_channel_properties, reserved)
    assert_eq!(offset_of!(VmstorageChannelProperties, max_channel_cnt), 4); // offsetof(struct vmstorage_channel_properties, max_channel_cnt)
    assert_eq!(offset_of!(VmstorageChannelProperties, reserved1), 6); // offsetof(struct vmstorage_channel_properties, reserved1)
    assert_eq!(offset_of!(VmstorageChannelProperties, flags), 8); // offsetof(struct vmstorage_channel_properties, flags)
    assert_eq!(
        offset_of!(VmstorageChannelProperties, max_transfer_bytes),
        12
    ); // offsetof(struct vmstorage_channel_properties, max_transfer_bytes)
    assert_eq!(offset_of!(VmstorageChannelProperties, reserved2), 16); // offsetof(struct vmstorage_channel_properties, reserved2)
    assert_eq!(size_of::<VmstorageProtocolVersion>(), 4); // sizeof(struct vmstorage_protocol_version)
    assert_eq!(offset_of!(VmstorageProtocolVersion, major_minor), 0); // offsetof(struct vmstorage_protocol_version, major_minor)
    assert_eq!(offset_of!(VmstorageProtocolVersion, revision), 2); // offsetof(struct vmstorage_protocol_version, revision)
    assert_eq!(size_of::<VstorPacket>(), 64); // sizeof(struct vstor_packet)
    assert_eq!(offset_of!(VstorPacket, operation), 0); // offsetof(struct vstor_packet, operation)
    assert_eq!(offset_of!(VstorPacket, flags), 4); // offsetof(struct vstor_packet, flags)
    assert_eq!(offset_of!(VstorPacket, status), 8); // offsetof(struct vstor_packet, status)
    assert_eq!(offset_of!(VstorPacket, payload), 12); // offsetof(struct vstor_packet, vm_srb)
    assert_eq!(offset_of!(VstorPacket, payload), 12); // offsetof(struct vstor_packet, storage_channel_properties)
    assert_eq!(offset_of!(VstorPacket, payload), 12); // offsetof(struct vstor_packet, version)
    assert_eq!(offset_of!(VstorPacket, payload), 12); // offsetof(struct vstor_packet, wwn_packet)
    assert_eq!(offset_of!(VstorPacket, payload), 12); // offsetof(struct vstor_packet, sub_channel_count)
    assert_eq!(offset_of!(VstorPacket, payload), 12); // offsetof(struct vstor_packet, buffer)
    assert_eq!(VSTOR_PAYLOAD_SIZE, 52); // sizeof(((struct vstor_packet *)0)->buffer)
    assert_eq!(VmstorProtocolVersion::WIN6.0, 512); // VMSTOR_PROTO_VERSION_WIN6
    assert_eq!(VmstorProtocolVersion::WIN7.0, 1026); // VMSTOR_PROTO_VERSION_WIN7
    assert_eq!(VmstorProtocolVersion::WIN8.0, 1281); // VMSTOR_PROTO_VERSION_WIN8
    assert_eq!(VmstorProtocolVersion::WIN8_1.0, 1536); // VMSTOR_PROTO_VERSION_WIN8_1
    assert_eq!(VmstorProtocolVersion::WIN10.0, 1538); // VMSTOR_PROTO_VERSION_WIN10
    assert_eq!(VstorOperation::CREATE_SUB_CHANNELS.0, 13); // VSTOR_OPERATION_CREATE_SUB_CHANNELS
    assert_eq!(VstorOperation::FCHBA_DATA.0, 12); // VSTOR_OPERATION_FCHBA_DATA
    assert_eq!(STORVSC_SENSE_BUFFER_SIZE, 20); // STORVSC_SENSE_BUFFER_SIZE
    assert_eq!(STORVSC_MAX_CMD_LEN, 16); // STORVSC_MAX_CMD_LEN
    assert_eq!(SRB_FLAGS_DATA_IN, 64); // SRB_FLAGS_DATA_IN
    assert_eq!(SRB_FLAGS_DATA_OUT, 128); // SRB_FLAGS_DATA_OUT
    assert_eq!(SRB_FLAGS_NO_QUEUE_FREEZE, 256); // SRB_FLAGS_NO_QUEUE_FREEZE
    assert_eq!(SRB_FLAGS_CLASS_DRIVER_RESERVED, 4026531840); // SRB_FLAGS_CLASS_DRIVER_RESERVED
    assert_eq!(SrbStatus::INVALID_LUN.0, 32); // SRB_STATUS_INVALID_LUN
    assert_eq!(SrbStatus::from_raw(0xC4).0, 4); // SRB_STATUS(0xC4)
}

#[test]
fn pre_win8_sizes() {
    assert_eq!(VMSCSI_REQUEST_PRE_WIN8_SIZE, 0x24);
    assert_eq!(VSTOR_PACKET_PRE_WIN8_SIZE, 48);
    assert_eq!(VMSCSI_WIN8_EXTENSION_SIZE, 16);
    assert_eq!(vmstor_proto_version(6, 2), VmstorProtocolVersion::WIN10.0);
    assert_eq!(vmstor_proto_version(4, 2), VmstorProtocolVersion::WIN7.0);
}

#[test]
fn request_round_trip() {
    let mut srb = VmscsiRequest {
        length: size_of::<VmscsiRequest>() as u16,
        port_number: 2,
        target_id: 1,
        lun: 3,
        cdb_length: 10,
        sense_info_length: STORVSC_SENSE_BUFFER_SIZE as u8,
        data_in: DataDirection::READ,
        data_transfer_length: 4096,
        queue_tag: SP_UNTAGGED,
        queue_action: SRB_SIMPLE_TAG_REQUEST,
        srb_flags: SRB_FLAGS_DATA_IN | SRB_FLAGS_DISABLE_SYNCH_TRANSFER,
        time_out_value: 60,
        ..Default::default()
    };
    srb.cdb[..10].copy_from_slice(&[0x28, 0, 0, 0, 0, 8, 0, 0, 8, 0]);
    let pkt = VstorPacket::execute_srb(&srb);
    assert_eq!({ pkt.operation }, VstorOperation::EXECUTE_SRB);
    assert_eq!({ pkt.flags }, REQUEST_COMPLETION_FLAG);
    let bytes = pkt.as_bytes();
    assert_eq!(bytes.len(), 64);
    assert_eq!(&bytes[12..14], &52u16.to_le_bytes());
    assert_eq!(bytes[12 + 16], 0x28);
    let back = parse_host_packet(bytes, 5).unwrap();
    assert_eq!(back, pkt);
    assert_eq!(back.srb(), srb);
}

#[test]
fn payload_views() {
    let p = VstorPacket::query_protocol_version(VmstorProtocolVersion::WIN10);
    assert_eq!(&p.as_bytes()[12..16], &[2, 6, 0, 0]);
    assert_eq!({ p.version().major_minor }, VmstorProtocolVersion::WIN10);
    let p = VstorPacket::create_sub_channels(7);
    assert_eq!(p.sub_channel_count(), 7);
    assert_eq!({ p.operation }, VstorOperation::CREATE_SUB_CHANNELS);

    let mut raw = [0u8; 64];
    raw[0] = VstorOperation::COMPLETE_IO.0 as u8;
    let props = VmstorageChannelProperties {
        max_channel_cnt: 8,
        flags: STORAGE_CHANNEL_SUPPORTS_MULTI_CHANNEL,
        max_transfer_bytes: 256 * 1024,
        ..Default::default()
    };
    raw[12..36].copy_from_slice(props.as_bytes());
    let p = parse_host_packet(&raw, VMBUS_RQST_INIT).unwrap();
    assert_eq!(p.properties(), props);

    let wwn = HvFcWwnPacket {
        primary_active: 1,
        primary_port_wwn: [1, 2, 3, 4, 5, 6, 7, 8],
        ..Default::default()
    };
    let mut raw = [0u8; 64];
    raw[0] = 12;
    raw[12..48].copy_from_slice(wwn.as_bytes());
    assert_eq!(parse_host_packet(&raw, 9).unwrap().wwn(), wwn);
    let mut p = VstorPacket::new_zeroed();
    p.set_wwn(&wwn);
    assert_eq!(&p.as_bytes()[12..48], wwn.as_bytes());
}

#[test]
fn completion_status_and_sense() {
    let mut srb = VmscsiRequest {
        srb_status: SrbStatus::ERROR.0 | SRB_STATUS_AUTOSENSE_VALID,
        scsi_status: 2,
        sense_info_length: 0xff, // a bad host value is clamped
        ..Default::default()
    };
    srb.cdb[..3].copy_from_slice(&[0x70, 0, 0x06]);
    assert_eq!(srb.status(), SrbStatus::ERROR);
    assert_eq!(srb.sense().len(), STORVSC_SENSE_BUFFER_SIZE);
    assert_eq!(&srb.sense()[..3], &[0x70, 0, 0x06]);
    srb.sense_info_length = 3;
    assert_eq!(srb.sense(), &[0x70, 0, 0x06]);
    assert_eq!(SrbStatus::from_raw(0x40 | 0x12), SrbStatus::DATA_OVERRUN);
    assert_eq!(SrbStatus::from_raw(0x3f).name(), None);
}

#[test]
fn parse_errors() {
    let mut raw = [0u8; 64];
    raw[0] = VstorOperation::ENUMERATE_BUS.0 as u8;
    // A reply must be whole.
    assert_eq!(
        parse_host_packet(&raw[..63], 1),
        Err(Error::Truncated { need: 64, have: 63 })
    );
    // Unsolicited: the operation suffices, the rest reads as zero.
    let p = parse_host_packet(&raw[..4], 0).unwrap();
    assert_eq!({ p.operation }, VstorOperation::ENUMERATE_BUS);
    assert_eq!(p.payload, [0; VSTOR_PAYLOAD_SIZE]);
    assert_eq!(
        parse_host_packet(&raw[..3], 0),
        Err(Error::Truncated { need: 4, have: 3 })
    );
    // Unsolicited completions and FC data are refused.
    raw[0] = VstorOperation::COMPLETE_IO.0 as u8;
    assert_eq!(
        parse_host_packet(&raw, 0),
        Err(Error::UnsolicitedOperation(VstorOperation::COMPLETE_IO))
    );
    raw[0] = VstorOperation::FCHBA_DATA.0 as u8;
    assert!(parse_host_packet(&raw, 0).is_err());
    assert!(parse_host_packet(&raw, 3).is_ok());
    // Unknown operations are representable; longer packets are cut to 64 bytes.
    let mut long = [0xffu8; 100];
    long[..4].copy_from_slice(&99u32.to_le_bytes());
    let p = parse_host_packet(&long, 0).unwrap();
    assert_eq!({ p.operation }, VstorOperation(99));
    assert!(!p.operation.is_known());
}

use super::super::test_rng::Rng;

#[test]
fn fuzz_smoke() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut buf = [0u8; 80];
    for _ in 0..20_000 {
        let len = rng.below(buf.len() + 1);
        rng.fill(&mut buf[..len]);
        if len > 0 && rng.below(2) == 0 {
            buf[0] = rng.below(15) as u8;
        }
        let trans_id = [0, 1, VMBUS_RQST_INIT, VMBUS_RQST_RESET][rng.below(4)];
        if let Ok(p) = parse_host_packet(&buf[..len], trans_id) {
            let srb = p.srb();
            let _ = (
                srb.sense(),
                srb.status(),
                p.properties(),
                p.version(),
                p.wwn(),
            );
            let _ = p.sub_channel_count();
        }
    }
}

/// A completion with `srb` and `scsi` status and `sense` (its length as the host says).
fn reply(srb: u8, scsi: u8, sense: &[u8], sense_len: u8, transferred: u32) -> VmscsiRequest {
    let mut r = VmscsiRequest {
        srb_status: srb,
        scsi_status: scsi,
        sense_info_length: sense_len,
        data_transfer_length: transferred,
        ..Default::default()
    };
    r.cdb[..sense.len()].copy_from_slice(sense);
    r
}

/// Fixed-format sense data with `key`, `asc` and `ascq`.
fn fixed_sense(key: u8, asc: u8, ascq: u8) -> [u8; 18] {
    let mut s = [0u8; 18];
    s[0] = 0x70;
    s[2] = key;
    s[7] = 10;
    s[12] = asc;
    s[13] = ascq;
    s
}

const READ_10: u8 = 0x28;

#[test]
fn srb_success() {
    let o = srb_outcome(READ_10, false, &reply(0x01, 0, &[], 0x14, 4096), 4096);
    assert_eq!(
        o,
        SrbOutcome {
            result: 0,
            sense_len: 0,
            resid: 0,
            work: None,
            log: false
        }
    );
    // A short transfer leaves a residue; a host claiming more than the buffer is clamped.
    assert_eq!(
        srb_outcome(READ_10, false, &reply(1, 0, &[], 0, 1024), 4096).resid,
        3072
    );
    assert_eq!(
        srb_outcome(READ_10, false, &reply(1, 0, &[], 0, u32::MAX), 4096).resid,
        0
    );
}

#[test]
fn srb_error_without_sense_is_did_error() {
    let o = srb_outcome(READ_10, false, &reply(0x04, 0, &[], 0, 4096), 4096);
    assert_eq!(o.result, 0x07 << 16);
    assert_eq!(o.resid, 4096, "the length is not trusted on errors");
    assert!(o.log);
    assert_eq!(o.work, None);
    for st in [0x02, 0x06, 0x30, 0x09, 0x0a, 0x0e] {
        assert_eq!(
            srb_outcome(READ_10, false, &reply(st, 0, &[], 0, 0), 512).result,
            0x07 << 16
        );
    }
    // ATA pass-through goes back as is; TEST UNIT READY is left to the midlayer.
    let o = srb_outcome(opcode::ATA_16, false, &reply(0x04, 0, &[], 0, 0), 0);
    assert_eq!(o.result, 0x0a << 16);
    let o = srb_outcome(
        opcode::TEST_UNIT_READY,
        false,
        &reply(0x04, 2, &[], 0, 0),
        0,
    );
    assert_eq!(o.result, 2);
}

#[test]
fn srb_error_with_sense() {
    // Medium error with sense: the midlayer decides, the sense is copied.
    let s = fixed_sense(3, 0x11, 0);
    let o = srb_outcome(READ_10, false, &reply(0x84, 2, &s, 18, 0), 512);
    assert_eq!(o.result, 2);
    assert_eq!(o.sense_len, 18);
    assert_eq!(o.work, None);
    // Capacity data has changed: requeue and rescan.
    let s = fixed_sense(6, 0x2a, 0x09);
    let o = srb_outcome(READ_10, false, &reply(0x84, 2, &s, 18, 0), 512);
    assert_eq!(o.result, (0x0d << 16) | 2);
    assert_eq!(o.work, Some(ErrorWork::RescanDevice));
    // Operating parameters changed, except 3f/03 and 3f/0e.
    let s = fixed_sense(6, 0x3f, 0x00);
    let o = srb_outcome(READ_10, false, &reply(0x84, 2, &s, 18, 0), 512);
    assert_eq!(o.work, Some(ErrorWork::RescanDevice));
    for q in [0x03, 0x0e] {
        let s = fixed_sense(6, 0x3f, q);
        let o = srb_outcome(READ_10, false, &reply(0x84, 2, &s, 18, 0), 512);
        assert_eq!((o.result, o.work), (2, None));
    }
    // A hostile sense length is clamped to the 20 bytes of the packet.
    let o = srb_outcome(READ_10, false, &reply(0x84, 2, &s, 0xff, 0), 512);
    assert_eq!(o.sense_len, STORVSC_SENSE_BUFFER_SIZE);
    // No sense copied without CHECK CONDITION or without the autosense flag.
    assert_eq!(
        srb_outcome(READ_10, false, &reply(0x84, 0, &s, 18, 0), 512).sense_len,
        0
    );
    assert_eq!(
        srb_outcome(READ_10, false, &reply(0x04, 2, &s, 18, 0), 512).sense_len,
        0
    );
}

#[test]
fn srb_invalid_lun_and_overrun() {
    let o = srb_outcome(READ_10, false, &reply(0x20, 0, &[], 0, 0), 512);
    assert_eq!(o.result, 0x01 << 16);
    assert_eq!(o.work, Some(ErrorWork::RemoveLun));
    // Data overrun: DID_ERROR, but the host's length counts.
    let o = srb_outcome(READ_10, false, &reply(0x12, 0, &[], 0, 256), 512);
    assert_eq!((o.result, o.resid), (0x07 << 16, 256));
    // Success with the autosense flag: as C, not an error, but the length is dropped.
    let o = srb_outcome(READ_10, false, &reply(0x81, 0, &[], 0, 512), 512);
    assert_eq!((o.result, o.resid, o.work), (0, 512, None));
}

#[test]
fn srb_mishandled_commands() {
    for op in [opcode::INQUIRY, opcode::MODE_SENSE, opcode::MODE_SENSE_10] {
        let o = srb_outcome(op, false, &reply(0x04, 2, &[], 0, 36), 36);
        assert_eq!((o.result, o.log, o.resid), (0, false, 0));
    }
    let o = srb_outcome(opcode::MAINTENANCE_IN, false, &reply(0x04, 0, &[], 0, 0), 0);
    assert_eq!(o.result, 0x07 << 16);
    let o = srb_outcome(opcode::MAINTENANCE_IN, true, &reply(0x04, 0, &[], 0, 0), 0);
    assert_eq!(o.result, 0);
    assert!(!legacy_host_cmd_ok(opcode::WRITE_SAME));
    assert!(!legacy_host_cmd_ok(opcode::SET_WINDOW));
    assert!(legacy_host_cmd_ok(READ_10));
}

#[test]
fn sense_formats() {
    assert_eq!(sense_asc_ascq(&fixed_sense(6, 0x2a, 9)), Some((0x2a, 9)));
    assert_eq!(sense_asc_ascq(&[0x72, 6, 0x3f, 0x0e]), Some((0x3f, 0x0e)));
    assert_eq!(sense_asc_ascq(&[0; 18]), None);
    assert_eq!(sense_asc_ascq(&[]), None);
    // Additional length too short for ASC: read as zero.
    let mut s = fixed_sense(6, 0x2a, 9);
    s[7] = 2;
    assert_eq!(sense_asc_ascq(&s), Some((0, 0)));
    assert_eq!(sense_asc_ascq(&s[..4]), Some((0, 0)));
}

#[test]
fn pfns_of_segments() {
    let mut p = [0u64; 8];
    // One 8 KiB segment at offset 0x200 spans three pages.
    assert_eq!(
        hv_pfns([(0x1_0200, 0x2000)].into_iter(), &mut p),
        Ok((3, 0x200))
    );
    assert_eq!(&p[..3], &[0x10, 0x11, 0x12]);
    // Page-aligned joins of discontiguous pages.
    let segs = [(0x5_0800, 0x800), (0x9_0000, 0x1000), (0x3_0000, 0x10)];
    assert_eq!(hv_pfns(segs.into_iter(), &mut p), Ok((3, 0x800)));
    assert_eq!(&p[..3], &[0x50, 0x90, 0x30]);
    // Gaps: a middle segment not page-aligned, an empty one.
    let segs = [(0x5_0000, 0x800), (0x9_0000, 0x1000)];
    assert_eq!(hv_pfns(segs.into_iter(), &mut p), Err(PfnError::Gap));
    let segs = [(0x5_0000, 0x1000), (0x9_0010, 0x100)];
    assert_eq!(hv_pfns(segs.into_iter(), &mut p), Err(PfnError::Gap));
    assert_eq!(hv_pfns([(0, 0)].into_iter(), &mut p), Err(PfnError::Gap));
    // Too many pages for the array, and an overflowing address.
    assert_eq!(
        hv_pfns([(0, 9 * 4096)].into_iter(), &mut p),
        Err(PfnError::TooMany)
    );
    assert_eq!(
        hv_pfns([(u64::MAX, 2)].into_iter(), &mut p),
        Err(PfnError::Overflow)
    );
    assert_eq!(hv_pfns(core::iter::empty(), &mut p), Ok((0, 0)));
}
