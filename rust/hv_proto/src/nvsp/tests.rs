// SPDX-License-Identifier: GPL-2.0

//! Tests of the NVSP messages.

use super::*;
use core::mem::{
    offset_of,
    size_of, //
};

/// Sizes, offsets and constants printed by `rust/hv_proto/layout/extract.sh` (gcc 12, x86-64)
/// for `drivers/net/hyperv/hyperv_net.h` of Linux 7.2.13.
#[test]
fn c_layout() {
    assert_eq!(size_of::<NvspMessageHeader>(), 4); // sizeof(struct nvsp_message_header)
    assert_eq!(offset_of!(NvspMessageHeader, msg_type), 0); // offsetof(struct nvsp_message_header, msg_type)
    assert_eq!(size_of::<NvspMessageInit>(), 8); // sizeof(struct nvsp_message_init)
    assert_eq!(offset_of!(NvspMessageInit, min_protocol_ver), 0); // offsetof(struct nvsp_message_init, min_protocol_ver)
    assert_eq!(offset_of!(NvspMessageInit, max_protocol_ver), 4); // offsetof(struct nvsp_message_init, max_protocol_ver)
    assert_eq!(size_of::<NvspMessageInitComplete>(), 12); // sizeof(struct nvsp_message_init_complete)
    assert_eq!(
        offset_of!(NvspMessageInitComplete, negotiated_protocol_ver),
        0
    ); // offsetof(struct nvsp_message_init_complete, negotiated_protocol_ver)
    assert_eq!(offset_of!(NvspMessageInitComplete, max_mdl_chain_len), 4); // offsetof(struct nvsp_message_init_complete, max_mdl_chain_len)
    assert_eq!(offset_of!(NvspMessageInitComplete, status), 8); // offsetof(struct nvsp_message_init_complete, status)
    assert_eq!(size_of::<Nvsp1SendNdisVersion>(), 8); // sizeof(struct nvsp_1_message_send_ndis_version)
    assert_eq!(offset_of!(Nvsp1SendNdisVersion, ndis_major_ver), 0); // offsetof(struct nvsp_1_message_send_ndis_version, ndis_major_ver)
    assert_eq!(offset_of!(Nvsp1SendNdisVersion, ndis_minor_ver), 4); // offsetof(struct nvsp_1_message_send_ndis_version, ndis_minor_ver)
    assert_eq!(size_of::<Nvsp1SendReceiveBuffer>(), 6); // sizeof(struct nvsp_1_message_send_receive_buffer)
    assert_eq!(offset_of!(Nvsp1SendReceiveBuffer, gpadl_handle), 0); // offsetof(struct nvsp_1_message_send_receive_buffer, gpadl_handle)
    assert_eq!(offset_of!(Nvsp1SendReceiveBuffer, id), 4); // offsetof(struct nvsp_1_message_send_receive_buffer, id)
    assert_eq!(size_of::<Nvsp1ReceiveBufferSection>(), 16); // sizeof(struct nvsp_1_receive_buffer_section)
    assert_eq!(offset_of!(Nvsp1ReceiveBufferSection, offset), 0); // offsetof(struct nvsp_1_receive_buffer_section, offset)
    assert_eq!(offset_of!(Nvsp1ReceiveBufferSection, sub_alloc_size), 4); // offsetof(struct nvsp_1_receive_buffer_section, sub_alloc_size)
    assert_eq!(offset_of!(Nvsp1ReceiveBufferSection, num_sub_allocs), 8); // offsetof(struct nvsp_1_receive_buffer_section, num_sub_allocs)
    assert_eq!(offset_of!(Nvsp1ReceiveBufferSection, end_offset), 12); // offsetof(struct nvsp_1_receive_buffer_section, end_offset)
    assert_eq!(size_of::<Nvsp1SendReceiveBufferComplete>(), 8); // sizeof(struct nvsp_1_message_send_receive_buffer_complete)
    assert_eq!(offset_of!(Nvsp1SendReceiveBufferComplete, status), 0); // offsetof(struct nvsp_1_message_send_receive_buffer_complete, status)
    assert_eq!(offset_of!(Nvsp1SendReceiveBufferComplete, num_sections), 4); // offsetof(struct nvsp_1_message_send_receive_buffer_complete, num_sections)
    assert_eq!(size_of::<Nvsp1SendReceiveBufferComplete>(), 8); // offsetof(struct nvsp_1_message_send_receive_buffer_complete, sections)
    assert_eq!(size_of::<Nvsp1RevokeReceiveBuffer>(), 2); // sizeof(struct nvsp_1_message_revoke_receive_buffer)
    assert_eq!(offset_of!(Nvsp1RevokeReceiveBuffer, id), 0); // offsetof(struct nvsp_1_message_revoke_receive_buffer, id)
    assert_eq!(size_of::<Nvsp1SendSendBuffer>(), 6); // sizeof(struct nvsp_1_message_send_send_buffer)
    assert_eq!(offset_of!(Nvsp1SendSendBuffer, gpadl_handle), 0); // offsetof(struct nvsp_1_message_send_send_buffer, gpadl_handle)
    assert_eq!(offset_of!(Nvsp1SendSendBuffer, id), 4); // offsetof(struct nvsp_1_message_send_send_buffer, id)
    assert_eq!(size_of::<Nvsp1SendSendBufferComplete>(), 8); // sizeof(struct nvsp_1_message_send_send_buffer_complete)
    assert_eq!(offset_of!(Nvsp1SendSendBufferComplete, status), 0); // offsetof(struct nvsp_1_message_send_send_buffer_complete, status)
    assert_eq!(offset_of!(Nvsp1SendSendBufferComplete, section_size), 4); // offsetof(struct nvsp_1_message_send_send_buffer_complete, section_size)
    assert_eq!(size_of::<Nvsp1RevokeSendBuffer>(), 2); // sizeof(struct nvsp_1_message_revoke_send_buffer)
    assert_eq!(offset_of!(Nvsp1RevokeSendBuffer, id), 0); // offsetof(struct nvsp_1_message_revoke_send_buffer, id)
    assert_eq!(size_of::<Nvsp1SendRndisPacket>(), 12); // sizeof(struct nvsp_1_message_send_rndis_packet)
    assert_eq!(offset_of!(Nvsp1SendRndisPacket, channel_type), 0); // offsetof(struct nvsp_1_message_send_rndis_packet, channel_type)
    assert_eq!(offset_of!(Nvsp1SendRndisPacket, send_buf_section_index), 4); // offsetof(struct nvsp_1_message_send_rndis_packet, send_buf_section_index)
    assert_eq!(offset_of!(Nvsp1SendRndisPacket, send_buf_section_size), 8); // offsetof(struct nvsp_1_message_send_rndis_packet, send_buf_section_size)
    assert_eq!(size_of::<Nvsp1SendRndisPacketComplete>(), 4); // sizeof(struct nvsp_1_message_send_rndis_packet_complete)
    assert_eq!(offset_of!(Nvsp1SendRndisPacketComplete, status), 0); // offsetof(struct nvsp_1_message_send_rndis_packet_complete, status)
    assert_eq!(size_of::<Nvsp2VscCapability>(), 8); // sizeof(struct nvsp_2_vsc_capability)
    assert_eq!(offset_of!(Nvsp2VscCapability, data), 0); // offsetof(struct nvsp_2_vsc_capability, data)
    assert_eq!(size_of::<Nvsp2SendNdisConfig>(), 16); // sizeof(struct nvsp_2_send_ndis_config)
    assert_eq!(offset_of!(Nvsp2SendNdisConfig, mtu), 0); // offsetof(struct nvsp_2_send_ndis_config, mtu)
    assert_eq!(offset_of!(Nvsp2SendNdisConfig, reserved), 4); // offsetof(struct nvsp_2_send_ndis_config, reserved)
    assert_eq!(offset_of!(Nvsp2SendNdisConfig, capability), 8); // offsetof(struct nvsp_2_send_ndis_config, capability)
    assert_eq!(size_of::<Nvsp2AllocRxbuf>(), 8); // sizeof(struct nvsp_2_alloc_rxbuf)
    assert_eq!(offset_of!(Nvsp2AllocRxbuf, alloc_id), 0); // offsetof(struct nvsp_2_alloc_rxbuf, alloc_id)
    assert_eq!(offset_of!(Nvsp2AllocRxbuf, len), 4); // offsetof(struct nvsp_2_alloc_rxbuf, len)
    assert_eq!(size_of::<Nvsp2AllocRxbufComp>(), 20); // sizeof(struct nvsp_2_alloc_rxbuf_comp)
    assert_eq!(offset_of!(Nvsp2AllocRxbufComp, status), 0); // offsetof(struct nvsp_2_alloc_rxbuf_comp, status)
    assert_eq!(offset_of!(Nvsp2AllocRxbufComp, alloc_id), 4); // offsetof(struct nvsp_2_alloc_rxbuf_comp, alloc_id)
    assert_eq!(offset_of!(Nvsp2AllocRxbufComp, gpadl_handle), 8); // offsetof(struct nvsp_2_alloc_rxbuf_comp, gpadl_handle)
    assert_eq!(offset_of!(Nvsp2AllocRxbufComp, recv_buf_id), 12); // offsetof(struct nvsp_2_alloc_rxbuf_comp, recv_buf_id)
    assert_eq!(size_of::<Nvsp2FreeRxbuf>(), 8); // sizeof(struct nvsp_2_free_rxbuf)
    assert_eq!(offset_of!(Nvsp2FreeRxbuf, recv_buf_id), 0); // offsetof(struct nvsp_2_free_rxbuf, recv_buf_id)
    assert_eq!(size_of::<Nvsp4SendVfAssociation>(), 8); // sizeof(struct nvsp_4_send_vf_association)
    assert_eq!(offset_of!(Nvsp4SendVfAssociation, allocated), 0); // offsetof(struct nvsp_4_send_vf_association, allocated)
    assert_eq!(offset_of!(Nvsp4SendVfAssociation, serial), 4); // offsetof(struct nvsp_4_send_vf_association, serial)
    assert_eq!(size_of::<Nvsp4SwDatapath>(), 4); // sizeof(struct nvsp_4_sw_datapath)
    assert_eq!(offset_of!(Nvsp4SwDatapath, active_datapath), 0); // offsetof(struct nvsp_4_sw_datapath, active_datapath)
    assert_eq!(size_of::<Nvsp5SubchannelRequest>(), 8); // sizeof(struct nvsp_5_subchannel_request)
    assert_eq!(offset_of!(Nvsp5SubchannelRequest, op), 0); // offsetof(struct nvsp_5_subchannel_request, op)
    assert_eq!(offset_of!(Nvsp5SubchannelRequest, num_subchannels), 4); // offsetof(struct nvsp_5_subchannel_request, num_subchannels)
    assert_eq!(size_of::<Nvsp5SubchannelComplete>(), 8); // sizeof(struct nvsp_5_subchannel_complete)
    assert_eq!(offset_of!(Nvsp5SubchannelComplete, status), 0); // offsetof(struct nvsp_5_subchannel_complete, status)
    assert_eq!(offset_of!(Nvsp5SubchannelComplete, num_subchannels), 4); // offsetof(struct nvsp_5_subchannel_complete, num_subchannels)
    assert_eq!(size_of::<Nvsp5SendIndirectTable>(), 8); // sizeof(struct nvsp_5_send_indirect_table)
    assert_eq!(offset_of!(Nvsp5SendIndirectTable, count), 0); // offsetof(struct nvsp_5_send_indirect_table, count)
    assert_eq!(offset_of!(Nvsp5SendIndirectTable, offset), 4); // offsetof(struct nvsp_5_send_indirect_table, offset)
    assert_eq!(size_of::<NvspMessage>(), 40); // sizeof(struct nvsp_message)
    assert_eq!(offset_of!(NvspMessage, hdr), 0); // offsetof(struct nvsp_message, hdr)
    assert_eq!(offset_of!(NvspMessage, msg), 4); // offsetof(struct nvsp_message, msg)
    assert_eq!(NVSP_MESSAGE_UNION_SIZE, 36); // sizeof(union nvsp_all_messages)
    assert_eq!(NVSP6_MESSAGE_UBER_SIZE, 36); // sizeof(union nvsp_6_message_uber)
    assert_eq!(NvspVersion::V1.0, 2); // NVSP_PROTOCOL_VERSION_1
    assert_eq!(NvspVersion::V2.0, 196610); // NVSP_PROTOCOL_VERSION_2
    assert_eq!(NvspVersion::V4.0, 262144); // NVSP_PROTOCOL_VERSION_4
    assert_eq!(NvspVersion::V5.0, 327680); // NVSP_PROTOCOL_VERSION_5
    assert_eq!(NvspVersion::V6.0, 393216); // NVSP_PROTOCOL_VERSION_6
    assert_eq!(NvspVersion::V61.0, 393217); // NVSP_PROTOCOL_VERSION_61
    assert_eq!(NvspMessageType::SEND_NDIS_VER.0, 100); // NVSP_MSG1_TYPE_SEND_NDIS_VER
    assert_eq!(NvspMessageType::SEND_RNDIS_PKT_COMPLETE.0, 108); // NVSP_MSG1_TYPE_SEND_RNDIS_PKT_COMPLETE
    assert_eq!(NvspMessageType::ALLOC_RXBUF.0, 120); // NVSP_MSG2_TYPE_ALLOC_RXBUF
    assert_eq!(NvspMessageType::SEND_NDIS_CONFIG.0, 125); // NVSP_MSG2_TYPE_SEND_NDIS_CONFIG
    assert_eq!(NvspMessageType::ALLOC_CHIMNEY_HANDLE_COMP.0, 127); // NVSP_MSG2_TYPE_ALLOC_CHIMNEY_HANDLE_COMP
    assert_eq!(NvspMessageType::SEND_VF_ASSOCIATION.0, 128); // NVSP_MSG4_TYPE_SEND_VF_ASSOCIATION
    assert_eq!(NvspMessageType::SWITCH_DATA_PATH.0, 129); // NVSP_MSG4_TYPE_SWITCH_DATA_PATH
    assert_eq!(NvspMessageType::SUBCHANNEL.0, 133); // NVSP_MSG5_TYPE_SUBCHANNEL
    assert_eq!(NvspMessageType::SEND_INDIRECTION_TABLE.0, 134); // NVSP_MSG5_TYPE_SEND_INDIRECTION_TABLE
    assert_eq!(NvspMessageType::PD_POST_BATCH.0, 136); // NVSP_MSG6_TYPE_PD_POST_BATCH
    assert_eq!(NvspStatus::PROTOCOL_UNSUPPORTED.0, 7); // NVSP_STAT_PROTOCOL_UNSUPPORTED
    assert_eq!(NVSP_CAP_VMQ, 0x1); // bits of cap
    assert_eq!(NVSP_CAP_CHIMNEY, 0x2); // bits of cap
    assert_eq!(NVSP_CAP_SRIOV, 0x4); // bits of cap
    assert_eq!(NVSP_CAP_IEEE8021Q, 0x8); // bits of cap
    assert_eq!(NVSP_CAP_CORRELATION_ID, 0x10); // bits of cap
    assert_eq!(NVSP_CAP_TEAMING, 0x20); // bits of cap
    assert_eq!(NVSP_CAP_VSUBNETID, 0x40); // bits of cap
    assert_eq!(NVSP_CAP_RSC, 0x80); // bits of cap
}

/// A host message buffer: type, then `body` at byte 4, zeros after.
fn host(msg_type: NvspMessageType, body: &[u8]) -> [u8; 128] {
    let mut m = [0u8; 128];
    m[..4].copy_from_slice(&msg_type.0.to_le_bytes());
    m[4..4 + body.len()].copy_from_slice(body);
    m
}

#[test]
fn builders() {
    let m = NvspMessage::init(NvspVersion::V61);
    assert_eq!(&m.as_bytes()[..12], &[1, 0, 0, 0, 1, 0, 6, 0, 1, 0, 6, 0]);
    assert!(m.as_bytes()[12..].iter().all(|&b| b == 0));

    let m = NvspMessage::send_ndis_config(1500, NvspVersion::V61, false);
    let c = Nvsp2SendNdisConfig::read_from_prefix(&m.msg).unwrap().0;
    assert_eq!({ c.mtu }, 1514);
    assert_eq!(
        { c.capability.data },
        NVSP_CAP_IEEE8021Q | NVSP_CAP_SRIOV | NVSP_CAP_TEAMING | NVSP_CAP_RSC
    );
    assert_eq!(
        { ndis_config_capabilities(NvspVersion::V5, true).data },
        NVSP_CAP_IEEE8021Q | NVSP_CAP_TEAMING
    );
    assert_eq!(
        { ndis_config_capabilities(NvspVersion::V2, false).data },
        NVSP_CAP_IEEE8021Q
    );

    assert_eq!(ndis_version_for(NvspVersion::V4), (6, 1));
    assert_eq!(ndis_version_for(NvspVersion::V5), (6, 30));
    let m = NvspMessage::send_ndis_version(NvspVersion::V6);
    assert_eq!(
        &m.as_bytes()[..12],
        &[100, 0, 0, 0, 6, 0, 0, 0, 30, 0, 0, 0]
    );

    let m = NvspMessage::send_recv_buf(0x1234);
    assert_eq!(
        &m.as_bytes()[..10],
        &[101, 0, 0, 0, 0x34, 0x12, 0, 0, 0xfe, 0xca]
    );
    let m = NvspMessage::send_send_buf(7);
    assert_eq!(&m.as_bytes()[..10], &[104, 0, 0, 0, 7, 0, 0, 0, 0, 0]);
    assert_eq!(
        &NvspMessage::revoke_recv_buf().as_bytes()[..6],
        &[103, 0, 0, 0, 0xfe, 0xca]
    );
    assert_eq!(
        { NvspMessage::revoke_send_buf().hdr.msg_type },
        NvspMessageType::REVOKE_SEND_BUF
    );
    let m = NvspMessage::send_rndis_pkt(NVSP_RNDIS_CHANNEL_CONTROL, NETVSC_INVALID_INDEX, 0);
    assert_eq!(
        &m.as_bytes()[..12],
        &[107, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]
    );
    let m = NvspMessage::rndis_pkt_complete(NvspStatus::SUCCESS);
    assert_eq!(&m.as_bytes()[..8], &[108, 0, 0, 0, 1, 0, 0, 0]);
    let m = NvspMessage::subchannel_request(15);
    assert_eq!(
        &m.as_bytes()[..12],
        &[133, 0, 0, 0, 1, 0, 0, 0, 15, 0, 0, 0]
    );
    let m = NvspMessage::switch_data_path(NvspVmDatapath::VF);
    assert_eq!(&m.as_bytes()[..8], &[129, 0, 0, 0, 1, 0, 0, 0]);
    assert_eq!(size_of::<NvspMessage>(), 40);
}

#[test]
fn completions() {
    let ic = NvspMessageInitComplete {
        status: NvspStatus::SUCCESS,
        ..Default::default()
    };
    let m = host(NvspMessageType::INIT_COMPLETE, ic.as_bytes());
    assert_eq!(
        parse_completion(&m[..16]),
        Ok(NvspCompletion::InitComplete(ic))
    );
    assert_eq!(
        parse_completion(&m[..15]),
        Err(Error::Truncated { need: 16, have: 15 })
    );

    let fixed = Nvsp1SendReceiveBufferComplete {
        status: NvspStatus::SUCCESS,
        num_sections: 1,
    };
    let section = Nvsp1ReceiveBufferSection {
        offset: 0,
        sub_alloc_size: 1728,
        num_sub_allocs: 9709,
        end_offset: 1728 * 9709,
    };
    let mut body = [0u8; 24];
    body[..8].copy_from_slice(fixed.as_bytes());
    body[8..].copy_from_slice(section.as_bytes());
    let m = host(NvspMessageType::SEND_RECV_BUF_COMPLETE, &body);
    let c = parse_completion(&m[..28]).unwrap();
    assert_eq!(
        c,
        NvspCompletion::RecvBufComplete {
            complete: fixed,
            section
        }
    );
    assert!(parse_completion(&m[..27]).is_err());
    assert_eq!(
        validate_recv_buf(&fixed, &section, 16 * 1024 * 1024),
        Ok((1728, 9709))
    );
    // Sections that overrun the buffer, a second section, a non-zero offset, tiny sections.
    assert_eq!(
        validate_recv_buf(&fixed, &section, 1024),
        Err(Error::InvalidBuffer)
    );
    let two = Nvsp1SendReceiveBufferComplete {
        num_sections: 2,
        ..fixed
    };
    assert!(validate_recv_buf(&two, &section, u32::MAX).is_err());
    let off = Nvsp1ReceiveBufferSection {
        offset: 4,
        ..section
    };
    assert!(validate_recv_buf(&fixed, &off, u32::MAX).is_err());
    let tiny = Nvsp1ReceiveBufferSection {
        sub_alloc_size: 67,
        ..section
    };
    assert!(validate_recv_buf(&fixed, &tiny, u32::MAX).is_err());
    let failed = Nvsp1SendReceiveBufferComplete {
        status: NvspStatus::FAIL,
        ..fixed
    };
    assert!(validate_recv_buf(&failed, &section, u32::MAX).is_err());
    // u32 overflow of size * count is not a wrap.
    let huge = Nvsp1ReceiveBufferSection {
        sub_alloc_size: 0x1_0000,
        num_sub_allocs: 0x1_0000,
        ..section
    };
    assert!(validate_recv_buf(&fixed, &huge, u32::MAX).is_err());

    let sb = Nvsp1SendSendBufferComplete {
        status: NvspStatus::SUCCESS,
        section_size: 6144,
    };
    let m = host(NvspMessageType::SEND_SEND_BUF_COMPLETE, sb.as_bytes());
    assert_eq!(
        parse_completion(&m[..12]),
        Ok(NvspCompletion::SendBufComplete(sb))
    );
    assert_eq!(validate_send_buf(&sb, 1024 * 1024), Ok((6144, 170)));
    let bad = Nvsp1SendSendBufferComplete {
        section_size: 0,
        ..sb
    };
    assert_eq!(
        validate_send_buf(&bad, 1024 * 1024),
        Err(Error::InvalidBuffer)
    );

    let sc = Nvsp5SubchannelComplete {
        status: NvspStatus::SUCCESS,
        num_subchannels: 3,
    };
    let m = host(NvspMessageType::SUBCHANNEL, sc.as_bytes());
    assert_eq!(
        parse_completion(&m[..12]),
        Ok(NvspCompletion::Subchannel(sc))
    );
    assert!(parse_completion(&m[..11]).is_err());

    let m = host(NvspMessageType::SEND_RNDIS_PKT_COMPLETE, &[2, 0, 0, 0]);
    assert_eq!(
        parse_completion(&m[..8]),
        Ok(NvspCompletion::RndisPktComplete(NvspStatus::FAIL))
    );
    assert!(parse_completion(&m[..7]).is_err());

    let m = host(NvspMessageType(999), &[]);
    assert_eq!(
        parse_completion(&m[..40]),
        Err(Error::UnexpectedType(NvspMessageType(999)))
    );
    assert_eq!(
        parse_completion(&m[..3]),
        Err(Error::Truncated { need: 4, have: 3 })
    );
}

/// A send indirection table message buffer: header, `count`, `offset`, and 16 entries
/// `base + i` at byte `at`.
fn table_msg(count: u32, offset: u32, at: usize, base: u32) -> [u8; 128] {
    let mut body = [0u8; 8];
    body[..4].copy_from_slice(&count.to_le_bytes());
    body[4..].copy_from_slice(&offset.to_le_bytes());
    let mut m = host(NvspMessageType::SEND_INDIRECTION_TABLE, &body);
    for i in 0..16 {
        let v = base + i as u32;
        m[at + 4 * i..at + 4 * i + 4].copy_from_slice(&v.to_le_bytes());
    }
    m
}

#[test]
fn indirection_table() {
    // A host offset that is right.
    let m = table_msg(16, 12, 12, 100);
    let expect: [u32; 16] = core::array::from_fn(|i| 100 + i as u32);
    assert_eq!(
        parse_inband(&m[..76], NvspVersion::V61),
        Ok(NvspInband::SendIndirectionTable(expect))
    );
    // Up to NVSP 6.0 a long enough message gets its offset replaced by 40.
    let mut m = table_msg(16, 12, 12, 100);
    let fixed: [u32; 16] = core::array::from_fn(|i| 200 + i as u32);
    for (i, v) in fixed.iter().enumerate() {
        m[40 + 4 * i..44 + 4 * i].copy_from_slice(&v.to_le_bytes());
    }
    assert_eq!(
        parse_inband(&m[..104], NvspVersion::V6),
        Ok(NvspInband::SendIndirectionTable(fixed))
    );
    // ... but not from 6.1 on.
    assert!(matches!(
        parse_inband(&m[..104], NvspVersion::V61),
        Ok(NvspInband::SendIndirectionTable(t)) if t[0] == 100
    ));
    // ... and not when the message is too short for the fix.
    let m = table_msg(16, 12, 12, 100);
    assert_eq!(
        parse_inband(&m[..76], NvspVersion::V5),
        Ok(NvspInband::SendIndirectionTable(expect))
    );
    // Bad count, bad offsets.
    let m = table_msg(8, 12, 12, 0);
    assert_eq!(
        parse_inband(&m[..76], NvspVersion::V61),
        Err(Error::BadIndirectionTableSize(8))
    );
    let m = table_msg(16, 13, 12, 0);
    assert!(matches!(
        parse_inband(&m[..76], NvspVersion::V61),
        Err(Error::IndirectionTableOutOfBounds {
            offset: 13,
            len: 76
        })
    ));
    let m = table_msg(16, u32::MAX, 12, 0);
    assert!(parse_inband(&m[..76], NvspVersion::V61).is_err());
    let m = table_msg(16, 0, 12, 0);
    assert!(matches!(
        parse_inband(&m[..60], NvspVersion::V61),
        Err(Error::IndirectionTableOutOfBounds { .. })
    ));
    assert!(matches!(
        parse_inband(&m[..11], NvspVersion::V61),
        Err(Error::Truncated { need: 12, have: 11 })
    ));
}

#[test]
fn inband_other() {
    let vf = Nvsp4SendVfAssociation {
        allocated: 1,
        serial: 42,
    };
    let m = host(NvspMessageType::SEND_VF_ASSOCIATION, vf.as_bytes());
    assert_eq!(
        parse_inband(&m[..12], NvspVersion::V5),
        Ok(NvspInband::VfAssociation(vf))
    );
    assert!(parse_inband(&m[..11], NvspVersion::V5).is_err());
    let m = host(NvspMessageType(4242), &[]);
    assert_eq!(
        parse_inband(&m[..8], NvspVersion::V5),
        Ok(NvspInband::Other(NvspMessageType(4242)))
    );
    let m = host(NvspMessageType::SEND_RNDIS_PKT, &[]);
    assert_eq!(check_receive(&m[..16]), Ok(()));
    assert_eq!(check_receive(&m[..4]), Ok(()));
    assert!(check_receive(&m[..3]).is_err());
    let m = host(NvspMessageType::INIT, &[]);
    assert_eq!(
        check_receive(&m),
        Err(Error::UnexpectedType(NvspMessageType::INIT))
    );
}

#[test]
fn versions() {
    assert!(NvspVersion::V1 < NvspVersion::V2);
    assert!(NvspVersion::V6 < NvspVersion::V61);
    assert_eq!(NVSP_VERSIONS[0], NvspVersion::V61);
    assert_eq!(NvspVersion(0x70000).name(), None);
}

use super::super::test_rng::Rng;

#[test]
fn fuzz_smoke() {
    let mut rng = Rng(0x0bad_cafe_f00d_d00d);
    let mut buf = [0u8; 160];
    let types = [1u32, 2, 102, 105, 107, 108, 128, 133, 134, 999];
    for _ in 0..20_000 {
        let len = rng.below(buf.len() + 1);
        rng.fill(&mut buf[..len]);
        if len >= 4 && rng.below(4) != 0 {
            buf[..4].copy_from_slice(&types[rng.below(types.len())].to_le_bytes());
        }
        if len >= 8 && rng.below(2) == 0 {
            buf[4..8].copy_from_slice(&16u32.to_le_bytes());
        }
        if let Ok(NvspCompletion::RecvBufComplete { complete, section }) =
            parse_completion(&buf[..len])
        {
            let _ = validate_recv_buf(&complete, &section, rng.next() as u32);
        }
        if let Ok(NvspCompletion::SendBufComplete(c)) = parse_completion(&buf[..len]) {
            let _ = validate_send_buf(&c, rng.next() as u32);
        }
        for v in NVSP_VERSIONS {
            let _ = parse_inband(&buf[..len], v);
        }
        let _ = check_receive(&buf[..len]);
    }
}
