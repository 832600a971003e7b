// SPDX-License-Identifier: GPL-2.0

//! Tests of the RNDIS messages.

use super::*;
use core::mem::{
    offset_of,
    size_of, //
};

/// Sizes, offsets, constants and bitfield encodings printed by
/// `rust/hv_proto/layout/extract.sh` (gcc 12, x86-64) for `drivers/net/hyperv/hyperv_net.h`
/// and `include/linux/rndis.h` of Linux 7.2.13.
#[test]
fn c_layout() {
    assert_eq!(size_of::<RndisMessageHeader>(), 8); // RNDIS_HEADER_SIZE
    assert_eq!(offset_of!(RndisMessageHeader, ndis_msg_type), 0); // offsetof(struct rndis_message, ndis_msg_type)
    assert_eq!(offset_of!(RndisMessageHeader, msg_len), 4); // offsetof(struct rndis_message, msg_len)
    assert_eq!(RNDIS_HEADER_SIZE, 8); // RNDIS_HEADER_SIZE
    assert_eq!(RNDIS_MESSAGE_SIZE, 52); // sizeof(struct rndis_message)
    assert_eq!(size_of::<RndisInitializeComplete>(), 44); // sizeof(union rndis_message_container)
    assert_eq!(size_of::<RndisInitializeRequest>(), 16); // sizeof(struct rndis_initialize_request)
    assert_eq!(offset_of!(RndisInitializeRequest, req_id), 0); // offsetof(struct rndis_initialize_request, req_id)
    assert_eq!(offset_of!(RndisInitializeRequest, major_ver), 4); // offsetof(struct rndis_initialize_request, major_ver)
    assert_eq!(offset_of!(RndisInitializeRequest, minor_ver), 8); // offsetof(struct rndis_initialize_request, minor_ver)
    assert_eq!(offset_of!(RndisInitializeRequest, max_xfer_size), 12); // offsetof(struct rndis_initialize_request, max_xfer_size)
    assert_eq!(size_of::<RndisInitializeComplete>(), 44); // sizeof(struct rndis_initialize_complete)
    assert_eq!(offset_of!(RndisInitializeComplete, req_id), 0); // offsetof(struct rndis_initialize_complete, req_id)
    assert_eq!(offset_of!(RndisInitializeComplete, status), 4); // offsetof(struct rndis_initialize_complete, status)
    assert_eq!(offset_of!(RndisInitializeComplete, major_ver), 8); // offsetof(struct rndis_initialize_complete, major_ver)
    assert_eq!(offset_of!(RndisInitializeComplete, minor_ver), 12); // offsetof(struct rndis_initialize_complete, minor_ver)
    assert_eq!(offset_of!(RndisInitializeComplete, dev_flags), 16); // offsetof(struct rndis_initialize_complete, dev_flags)
    assert_eq!(offset_of!(RndisInitializeComplete, medium), 20); // offsetof(struct rndis_initialize_complete, medium)
    assert_eq!(offset_of!(RndisInitializeComplete, max_pkt_per_msg), 24); // offsetof(struct rndis_initialize_complete, max_pkt_per_msg)
    assert_eq!(offset_of!(RndisInitializeComplete, max_xfer_size), 28); // offsetof(struct rndis_initialize_complete, max_xfer_size)
    assert_eq!(
        offset_of!(RndisInitializeComplete, pkt_alignment_factor),
        32
    ); // offsetof(struct rndis_initialize_complete, pkt_alignment_factor)
    assert_eq!(offset_of!(RndisInitializeComplete, af_list_offset), 36); // offsetof(struct rndis_initialize_complete, af_list_offset)
    assert_eq!(offset_of!(RndisInitializeComplete, af_list_size), 40); // offsetof(struct rndis_initialize_complete, af_list_size)
    assert_eq!(size_of::<RndisCoAddressFamily>(), 12); // sizeof(struct rndis_co_address_family)
    assert_eq!(offset_of!(RndisCoAddressFamily, minor_ver), 8); // offsetof(struct rndis_co_address_family, minor_ver)
    assert_eq!(size_of::<RndisHaltRequest>(), 4); // sizeof(struct rndis_halt_request)
    assert_eq!(size_of::<RndisQueryRequest>(), 20); // sizeof(struct rndis_query_request)
    assert_eq!(offset_of!(RndisQueryRequest, req_id), 0); // offsetof(struct rndis_query_request, req_id)
    assert_eq!(offset_of!(RndisQueryRequest, oid), 4); // offsetof(struct rndis_query_request, oid)
    assert_eq!(offset_of!(RndisQueryRequest, info_buflen), 8); // offsetof(struct rndis_query_request, info_buflen)
    assert_eq!(offset_of!(RndisQueryRequest, info_buf_offset), 12); // offsetof(struct rndis_query_request, info_buf_offset)
    assert_eq!(offset_of!(RndisQueryRequest, dev_vc_handle), 16); // offsetof(struct rndis_query_request, dev_vc_handle)
    assert_eq!(size_of::<RndisQueryComplete>(), 16); // sizeof(struct rndis_query_complete)
    assert_eq!(offset_of!(RndisQueryComplete, req_id), 0); // offsetof(struct rndis_query_complete, req_id)
    assert_eq!(offset_of!(RndisQueryComplete, status), 4); // offsetof(struct rndis_query_complete, status)
    assert_eq!(offset_of!(RndisQueryComplete, info_buflen), 8); // offsetof(struct rndis_query_complete, info_buflen)
    assert_eq!(offset_of!(RndisQueryComplete, info_buf_offset), 12); // offsetof(struct rndis_query_complete, info_buf_offset)
    assert_eq!(size_of::<RndisSetRequest>(), 20); // sizeof(struct rndis_set_request)
    assert_eq!(offset_of!(RndisSetRequest, req_id), 0); // offsetof(struct rndis_set_request, req_id)
    assert_eq!(offset_of!(RndisSetRequest, oid), 4); // offsetof(struct rndis_set_request, oid)
    assert_eq!(offset_of!(RndisSetRequest, info_buflen), 8); // offsetof(struct rndis_set_request, info_buflen)
    assert_eq!(offset_of!(RndisSetRequest, info_buf_offset), 12); // offsetof(struct rndis_set_request, info_buf_offset)
    assert_eq!(offset_of!(RndisSetRequest, dev_vc_handle), 16); // offsetof(struct rndis_set_request, dev_vc_handle)
    assert_eq!(size_of::<RndisSetRequest>(), 20); // offsetof(struct rndis_set_request, info_buf)
    assert_eq!(size_of::<RndisSetComplete>(), 8); // sizeof(struct rndis_set_complete)
    assert_eq!(offset_of!(RndisSetComplete, status), 4); // offsetof(struct rndis_set_complete, status)
    assert_eq!(size_of::<RndisResetRequest>(), 4); // sizeof(struct rndis_reset_request)
    assert_eq!(size_of::<RndisResetComplete>(), 8); // sizeof(struct rndis_reset_complete)
    assert_eq!(offset_of!(RndisResetComplete, status), 0); // offsetof(struct rndis_reset_complete, status)
    assert_eq!(offset_of!(RndisResetComplete, addressing_reset), 4); // offsetof(struct rndis_reset_complete, addressing_reset)
    assert_eq!(size_of::<RndisIndicateStatus>(), 12); // sizeof(struct rndis_indicate_status)
    assert_eq!(offset_of!(RndisIndicateStatus, status), 0); // offsetof(struct rndis_indicate_status, status)
    assert_eq!(offset_of!(RndisIndicateStatus, status_buflen), 4); // offsetof(struct rndis_indicate_status, status_buflen)
    assert_eq!(offset_of!(RndisIndicateStatus, status_buf_offset), 8); // offsetof(struct rndis_indicate_status, status_buf_offset)
    assert_eq!(size_of::<RndisDiagnosticInfo>(), 8); // sizeof(struct rndis_diagnostic_info)
    assert_eq!(size_of::<RndisKeepaliveRequest>(), 4); // sizeof(struct rndis_keepalive_request)
    assert_eq!(size_of::<RndisKeepaliveComplete>(), 8); // sizeof(struct rndis_keepalive_complete)
    assert_eq!(offset_of!(RndisKeepaliveComplete, status), 4); // offsetof(struct rndis_keepalive_complete, status)
    assert_eq!(size_of::<RndisPacket>(), 36); // sizeof(struct rndis_packet)
    assert_eq!(offset_of!(RndisPacket, data_offset), 0); // offsetof(struct rndis_packet, data_offset)
    assert_eq!(offset_of!(RndisPacket, data_len), 4); // offsetof(struct rndis_packet, data_len)
    assert_eq!(offset_of!(RndisPacket, oob_data_offset), 8); // offsetof(struct rndis_packet, oob_data_offset)
    assert_eq!(offset_of!(RndisPacket, oob_data_len), 12); // offsetof(struct rndis_packet, oob_data_len)
    assert_eq!(offset_of!(RndisPacket, num_oob_data_elements), 16); // offsetof(struct rndis_packet, num_oob_data_elements)
    assert_eq!(offset_of!(RndisPacket, per_pkt_info_offset), 20); // offsetof(struct rndis_packet, per_pkt_info_offset)
    assert_eq!(offset_of!(RndisPacket, per_pkt_info_len), 24); // offsetof(struct rndis_packet, per_pkt_info_len)
    assert_eq!(offset_of!(RndisPacket, vc_handle), 28); // offsetof(struct rndis_packet, vc_handle)
    assert_eq!(offset_of!(RndisPacket, reserved), 32); // offsetof(struct rndis_packet, reserved)
    assert_eq!(size_of::<RndisOobd>(), 12); // sizeof(struct rndis_oobd)
    assert_eq!(offset_of!(RndisOobd, type_), 4); // offsetof(struct rndis_oobd, type)
    assert_eq!(offset_of!(RndisOobd, class_info_offset), 8); // offsetof(struct rndis_oobd, class_info_offset)
    assert_eq!(size_of::<RndisPerPacketInfo>(), 12); // sizeof(struct rndis_per_packet_info)
    assert_eq!(offset_of!(RndisPerPacketInfo, size), 0); // offsetof(struct rndis_per_packet_info, size)
    assert_eq!(offset_of!(RndisPerPacketInfo, ppi_offset), 8); // offsetof(struct rndis_per_packet_info, ppi_offset)
    assert_eq!(
        { RndisPerPacketInfo::new(0x12345, true, 0).type_internal },
        0x80012345
    ); // bits of ((u32 *)&ppi)[1]
    assert_eq!(size_of::<RndisPktinfoId>(), 4); // sizeof(struct rndis_pktinfo_id)
    assert_eq!(offset_of!(RndisPktinfoId, ver), 0); // offsetof(struct rndis_pktinfo_id, ver)
    assert_eq!(offset_of!(RndisPktinfoId, flag), 1); // offsetof(struct rndis_pktinfo_id, flag)
    assert_eq!(offset_of!(RndisPktinfoId, pkt_id), 2); // offsetof(struct rndis_pktinfo_id, pkt_id)
    assert_eq!(size_of::<RndisConfigParameterInfo>(), 20); // sizeof(struct rndis_config_parameter_info)
    assert_eq!(
        offset_of!(RndisConfigParameterInfo, parameter_value_length),
        16
    ); // offsetof(struct rndis_config_parameter_info, parameter_value_length)
    assert_eq!(size_of::<NdisObjectHeader>(), 4); // sizeof(struct ndis_object_header)
    assert_eq!(offset_of!(NdisObjectHeader, type_), 0); // offsetof(struct ndis_object_header, type)
    assert_eq!(offset_of!(NdisObjectHeader, revision), 1); // offsetof(struct ndis_object_header, revision)
    assert_eq!(offset_of!(NdisObjectHeader, size), 2); // offsetof(struct ndis_object_header, size)
    assert_eq!(size_of::<NdisObjectHeader>(), 4); // sizeof(struct ndis_obj_header)
    assert_eq!(offset_of!(NdisObjectHeader, revision), 1); // offsetof(struct ndis_obj_header, rev)
    assert_eq!(offset_of!(NdisObjectHeader, size), 2); // offsetof(struct ndis_obj_header, size)
    assert_eq!(size_of::<NdisCsumOffload>(), 32); // sizeof(struct ndis_csum_offload)
    assert_eq!(offset_of!(NdisCsumOffload, ip6_rxcsum), 28); // offsetof(struct ndis_csum_offload, ip6_rxcsum)
    assert_eq!(size_of::<NdisLsov1Offload>(), 16); // sizeof(struct ndis_lsov1_offload)
    assert_eq!(size_of::<NdisIpsecv1Offload>(), 28); // sizeof(struct ndis_ipsecv1_offload)
    assert_eq!(size_of::<NdisLsov2Offload>(), 28); // sizeof(struct ndis_lsov2_offload)
    assert_eq!(offset_of!(NdisLsov2Offload, ip6_opts), 24); // offsetof(struct ndis_lsov2_offload, ip6_opts)
    assert_eq!(size_of::<NdisIpsecv2Offload>(), 32); // sizeof(struct ndis_ipsecv2_offload)
    assert_eq!(offset_of!(NdisIpsecv2Offload, ip6), 4); // offsetof(struct ndis_ipsecv2_offload, ip6)
    assert_eq!(offset_of!(NdisIpsecv2Offload, extseq), 14); // offsetof(struct ndis_ipsecv2_offload, extseq)
    assert_eq!(offset_of!(NdisIpsecv2Offload, udp_esp), 16); // offsetof(struct ndis_ipsecv2_offload, udp_esp)
    assert_eq!(offset_of!(NdisIpsecv2Offload, auth), 20); // offsetof(struct ndis_ipsecv2_offload, auth)
    assert_eq!(offset_of!(NdisIpsecv2Offload, crypto), 24); // offsetof(struct ndis_ipsecv2_offload, crypto)
    assert_eq!(offset_of!(NdisIpsecv2Offload, sa_caps), 28); // offsetof(struct ndis_ipsecv2_offload, sa_caps)
    assert_eq!(size_of::<NdisRscOffload>(), 2); // sizeof(struct ndis_rsc_offload)
    assert_eq!(size_of::<NdisEncapOffload>(), 8); // sizeof(struct ndis_encap_offload)
    assert_eq!(size_of::<NdisOffload>(), 156); // sizeof(struct ndis_offload)
    assert_eq!(offset_of!(NdisOffload, header), 0); // offsetof(struct ndis_offload, header)
    assert_eq!(offset_of!(NdisOffload, csum), 4); // offsetof(struct ndis_offload, csum)
    assert_eq!(offset_of!(NdisOffload, lsov1), 36); // offsetof(struct ndis_offload, lsov1)
    assert_eq!(offset_of!(NdisOffload, ipsecv1), 52); // offsetof(struct ndis_offload, ipsecv1)
    assert_eq!(offset_of!(NdisOffload, lsov2), 80); // offsetof(struct ndis_offload, lsov2)
    assert_eq!(offset_of!(NdisOffload, flags), 108); // offsetof(struct ndis_offload, flags)
    assert_eq!(offset_of!(NdisOffload, ipsecv2), 112); // offsetof(struct ndis_offload, ipsecv2)
    assert_eq!(offset_of!(NdisOffload, rsc), 144); // offsetof(struct ndis_offload, rsc)
    assert_eq!(offset_of!(NdisOffload, encap_gre), 148); // offsetof(struct ndis_offload, encap_gre)
    assert_eq!(NDIS_OFFLOAD_SIZE, 156); // NDIS_OFFLOAD_SIZE
    assert_eq!(NDIS_OFFLOAD_SIZE_6_0, 112); // NDIS_OFFLOAD_SIZE_6_0
    assert_eq!(NDIS_OFFLOAD_SIZE_6_1, 144); // NDIS_OFFLOAD_SIZE_6_1
    assert_eq!(size_of::<NdisOffloadParams>(), 28); // sizeof(struct ndis_offload_params)
    assert_eq!(offset_of!(NdisOffloadParams, header), 0); // offsetof(struct ndis_offload_params, header)
    assert_eq!(offset_of!(NdisOffloadParams, ip_v4_csum), 4); // offsetof(struct ndis_offload_params, ip_v4_csum)
    assert_eq!(offset_of!(NdisOffloadParams, tcp_ip_v4_csum), 5); // offsetof(struct ndis_offload_params, tcp_ip_v4_csum)
    assert_eq!(offset_of!(NdisOffloadParams, udp_ip_v4_csum), 6); // offsetof(struct ndis_offload_params, udp_ip_v4_csum)
    assert_eq!(offset_of!(NdisOffloadParams, tcp_ip_v6_csum), 7); // offsetof(struct ndis_offload_params, tcp_ip_v6_csum)
    assert_eq!(offset_of!(NdisOffloadParams, udp_ip_v6_csum), 8); // offsetof(struct ndis_offload_params, udp_ip_v6_csum)
    assert_eq!(offset_of!(NdisOffloadParams, lso_v1), 9); // offsetof(struct ndis_offload_params, lso_v1)
    assert_eq!(offset_of!(NdisOffloadParams, ip_sec_v1), 10); // offsetof(struct ndis_offload_params, ip_sec_v1)
    assert_eq!(offset_of!(NdisOffloadParams, lso_v2_ipv4), 11); // offsetof(struct ndis_offload_params, lso_v2_ipv4)
    assert_eq!(offset_of!(NdisOffloadParams, lso_v2_ipv6), 12); // offsetof(struct ndis_offload_params, lso_v2_ipv6)
    assert_eq!(offset_of!(NdisOffloadParams, tcp_connection_ip_v4), 13); // offsetof(struct ndis_offload_params, tcp_connection_ip_v4)
    assert_eq!(offset_of!(NdisOffloadParams, tcp_connection_ip_v6), 14); // offsetof(struct ndis_offload_params, tcp_connection_ip_v6)
    assert_eq!(offset_of!(NdisOffloadParams, flags), 16); // offsetof(struct ndis_offload_params, flags)
    assert_eq!(offset_of!(NdisOffloadParams, ip_sec_v2), 20); // offsetof(struct ndis_offload_params, ip_sec_v2)
    assert_eq!(offset_of!(NdisOffloadParams, ip_sec_v2_ip_v4), 21); // offsetof(struct ndis_offload_params, ip_sec_v2_ip_v4)
    assert_eq!(offset_of!(NdisOffloadParams, rsc_ip_v4), 22); // offsetof(struct ndis_offload_params, rsc_ip_v4)
    assert_eq!(offset_of!(NdisOffloadParams, rsc_ip_v6), 23); // offsetof(struct ndis_offload_params, rsc_ip_v6)
    assert_eq!(
        offset_of!(NdisOffloadParams, encapsulated_packet_task_offload),
        24
    ); // offsetof(struct ndis_offload_params, encapsulated_packet_task_offload)
    assert_eq!(offset_of!(NdisOffloadParams, encapsulation_types), 25); // offsetof(struct ndis_offload_params, encapsulation_types)
    assert_eq!(VERSION_4_OFFLOAD_SIZE, 22); // VERSION_4_OFFLOAD_SIZE
    assert_eq!(VERSION_4_OFFLOAD_SIZE, 22); // offsetof(struct ndis_offload_params, rsc_ip_v4)
    assert_eq!(size_of::<NdisRecvScaleCap>(), 18); // sizeof(struct ndis_recv_scale_cap)
    assert_eq!(offset_of!(NdisRecvScaleCap, hdr), 0); // offsetof(struct ndis_recv_scale_cap, hdr)
    assert_eq!(offset_of!(NdisRecvScaleCap, cap_flag), 4); // offsetof(struct ndis_recv_scale_cap, cap_flag)
    assert_eq!(offset_of!(NdisRecvScaleCap, num_int_msg), 8); // offsetof(struct ndis_recv_scale_cap, num_int_msg)
    assert_eq!(offset_of!(NdisRecvScaleCap, num_recv_que), 12); // offsetof(struct ndis_recv_scale_cap, num_recv_que)
    assert_eq!(offset_of!(NdisRecvScaleCap, num_indirect_tabent), 16); // offsetof(struct ndis_recv_scale_cap, num_indirect_tabent)
    assert_eq!(size_of::<NdisRecvScaleParam>(), 40); // sizeof(struct ndis_recv_scale_param)
    assert_eq!(offset_of!(NdisRecvScaleParam, hdr), 0); // offsetof(struct ndis_recv_scale_param, hdr)
    assert_eq!(offset_of!(NdisRecvScaleParam, flag), 4); // offsetof(struct ndis_recv_scale_param, flag)
    assert_eq!(offset_of!(NdisRecvScaleParam, base_cpu_number), 6); // offsetof(struct ndis_recv_scale_param, base_cpu_number)
    assert_eq!(offset_of!(NdisRecvScaleParam, hashinfo), 8); // offsetof(struct ndis_recv_scale_param, hashinfo)
    assert_eq!(offset_of!(NdisRecvScaleParam, indirect_tabsize), 12); // offsetof(struct ndis_recv_scale_param, indirect_tabsize)
    assert_eq!(offset_of!(NdisRecvScaleParam, indirect_taboffset), 16); // offsetof(struct ndis_recv_scale_param, indirect_taboffset)
    assert_eq!(offset_of!(NdisRecvScaleParam, hashkey_size), 20); // offsetof(struct ndis_recv_scale_param, hashkey_size)
    assert_eq!(offset_of!(NdisRecvScaleParam, hashkey_offset), 24); // offsetof(struct ndis_recv_scale_param, hashkey_offset)
    assert_eq!(offset_of!(NdisRecvScaleParam, processor_masks_offset), 28); // offsetof(struct ndis_recv_scale_param, processor_masks_offset)
    assert_eq!(offset_of!(NdisRecvScaleParam, num_processor_masks), 32); // offsetof(struct ndis_recv_scale_param, num_processor_masks)
    assert_eq!(
        offset_of!(NdisRecvScaleParam, processor_masks_entry_size),
        36
    ); // offsetof(struct ndis_recv_scale_param, processor_masks_entry_size)
    assert_eq!(size_of::<NdisTcpIpChecksumInfo>(), 4); // sizeof(struct ndis_tcp_ip_checksum_info)
    assert_eq!(size_of::<NdisPkt8021qInfo>(), 4); // sizeof(struct ndis_pkt_8021q_info)
    assert_eq!(size_of::<NdisTcpLsoInfo>(), 4); // sizeof(struct ndis_tcp_lso_info)
    assert_eq!(
        NdisPkt8021qInfo(0)
            .set_pri(5)
            .set_cfi(1)
            .set_vlanid(0xabc)
            .0,
        0xabcd
    ); // bits of vlan
    assert_eq!(
        NdisTcpIpChecksumInfo(0)
            .set_tx_is_ipv4(1)
            .set_tx_udp_checksum(1)
            .set_tx_ip_header_checksum(1)
            .set_tx_tcp_header_offset(0x2a5)
            .0,
        0x2a50019
    ); // bits of csum
    assert_eq!(
        NdisTcpIpChecksumInfo(0)
            .set_tx_is_ipv6(1)
            .set_tx_tcp_checksum(1)
            .0,
        0x6
    ); // bits of csum
    assert_eq!(
        NdisTcpIpChecksumInfo(0)
            .set_rx_tcp_checksum_succeeded(1)
            .set_rx_ip_checksum_succeeded(1)
            .set_rx_ip_checksum_value_invalid(1)
            .0,
        0x128
    ); // bits of csum
    assert_eq!(
        NdisTcpIpChecksumInfo(0)
            .set_rx_udp_checksum_failed(1)
            .set_rx_loopback(1)
            .set_rx_udp_checksum_succeeded(1)
            .set_rx_tcp_checksum_value_invalid(1)
            .0,
        0xd2
    ); // bits of csum
    assert_eq!(
        NdisTcpIpChecksumInfo(0)
            .set_rx_tcp_checksum_failed(1)
            .set_rx_ip_checksum_failed(1)
            .0,
        0x5
    ); // bits of csum
    assert_eq!(
        NdisTcpLsoInfo(0)
            .set_mss(0xabcde)
            .set_tcp_header_offset(0x155)
            .set_lso_type(1)
            .set_ip_version(1)
            .0,
        0xd55abcde
    ); // bits of lso
    assert_eq!(NdisTcpLsoInfo(0).set_tcp_payload(0x1234567).0, 0x1234567); // bits of lso
    assert_eq!(NDIS_VLAN_PPI_SIZE, 16); // NDIS_VLAN_PPI_SIZE
    assert_eq!(NDIS_CSUM_PPI_SIZE, 16); // NDIS_CSUM_PPI_SIZE
    assert_eq!(NDIS_LSO_PPI_SIZE, 16); // NDIS_LSO_PPI_SIZE
    assert_eq!(NDIS_HASH_PPI_SIZE, 16); // NDIS_HASH_PPI_SIZE
    assert_eq!(NDIS_ALL_PPI_SIZE, 64); // NDIS_ALL_PPI_SIZE
    assert_eq!(NdisPerPktInfoType::IEEE_8021Q.0, 6); // IEEE_8021Q_INFO
    assert_eq!(NdisPerPktInfoType::NBL_HASH_VALUE.0, 8); // NBL_HASH_VALUE
    assert_eq!(NdisPerPktInfoType::NBL_HASH_INFO.0, 9); // ORIGINAL_NET_BUFLIST
    assert_eq!(NdisPerPktInfoType::SHORT_PKT_PADINFO.0, 11); // SHORT_PKT_PADINFO
    assert_eq!(NdisPerPktInfoType::TCP_LARGESEND.0, 2); // TCP_LARGESEND_PKTINFO
    assert_eq!(RNDIS_PKTINFO_ID, 1); // RNDIS_PKTINFO_ID
    assert_eq!(u64::from(RNDIS_PKTINFO_LAST_FRAG), 4); // RNDIS_PKTINFO_LAST_FRAG
    assert_eq!(RndisMsgType::INIT_C.0, 2147483650); // RNDIS_MSG_INIT_C
    assert_eq!(RndisMsgType::KEEPALIVE_C.0, 2147483656); // RNDIS_MSG_KEEPALIVE_C
    assert_eq!(RndisMsgType::BUS.0, 4278190081); // RNDIS_MSG_BUS
    assert_eq!(RndisStatus::LINK_SPEED_CHANGE.0, 1073807379); // RNDIS_STATUS_LINK_SPEED_CHANGE
    assert_eq!(RndisStatus::NETWORK_CHANGE.0, 1073807384); // RNDIS_STATUS_NETWORK_CHANGE
    assert_eq!(RndisStatus::NOT_SUPPORTED.0, 3221225659); // RNDIS_STATUS_NOT_SUPPORTED
    assert_eq!(RndisStatus::TOKEN_RING_OPEN_ERROR.0, 3221295104); // RNDIS_STATUS_TOKEN_RING_OPEN_ERROR
    assert_eq!(Oid::GEN_MAXIMUM_FRAME_SIZE.0, 65798); // RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE
    assert_eq!(Oid::GEN_FRIENDLY_NAME.0, 131606); // RNDIS_OID_GEN_FRIENDLY_NAME
    assert_eq!(Oid::GEN_RNDIS_CONFIG_PARAMETER.0, 66075); // RNDIS_OID_GEN_RNDIS_CONFIG_PARAMETER
    assert_eq!(Oid::OID_802_3_PERMANENT_ADDRESS.0, 16843009); // RNDIS_OID_802_3_PERMANENT_ADDRESS
    assert_eq!(Oid::GEN_RECEIVE_SCALE_CAPABILITIES.0, 66051); // OID_GEN_RECEIVE_SCALE_CAPABILITIES
    assert_eq!(Oid::GEN_RECEIVE_SCALE_PARAMETERS.0, 66052); // OID_GEN_RECEIVE_SCALE_PARAMETERS
    assert_eq!(Oid::TCP_OFFLOAD_PARAMETERS.0, 4227924492); // OID_TCP_OFFLOAD_PARAMETERS
    assert_eq!(Oid::TCP_OFFLOAD_HARDWARE_CAPABILITIES.0, 4227924493); // OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES
    assert_eq!(Oid::OFFLOAD_ENCAPSULATION.0, 16843018); // OID_OFFLOAD_ENCAPSULATION
    assert_eq!(NDIS_OBJECT_TYPE_OFFLOAD, 167); // NDIS_OBJECT_TYPE_OFFLOAD
    assert_eq!(NDIS_OBJECT_TYPE_RSS_PARAMETERS, 137); // NDIS_OBJECT_TYPE_RSS_PARAMETERS
    assert_eq!(NDIS_HASH_TCP_IPV6_EX, 8192); // NDIS_HASH_TCP_IPV6_EX
    assert_eq!(NDIS_TXCSUM_ALL_TCP6, 21); // NDIS_TXCSUM_ALL_TCP6
    assert_eq!(NDIS_LSOV2_CAP_IP6, 5); // NDIS_LSOV2_CAP_IP6
    assert_eq!(NDIS_PACKET_TYPE_PROMISCUOUS, 32); // NDIS_PACKET_TYPE_PROMISCUOUS
}

#[test]
fn control_messages() {
    let mut buf = [0u8; 128];
    let n = build_init(&mut buf, 1).unwrap();
    assert_eq!(n, 24);
    assert_eq!(
        &buf[..24],
        &[2, 0, 0, 0, 24, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0]
    );
    let m = parse_message(&buf[..n]).unwrap();
    assert_eq!({ m.header.ndis_msg_type }, RndisMsgType::INIT);
    assert_eq!(m.body.len(), 16);

    let n = build_query(&mut buf, 7, Oid::GEN_MEDIA_CONNECT_STATUS, &[]).unwrap();
    assert_eq!(n, 28);
    let q = RndisQueryRequest::read_from_prefix(&buf[8..]).unwrap().0;
    assert_eq!(
        ({ q.req_id }, { q.oid }, { q.info_buf_offset }),
        (7, Oid::GEN_MEDIA_CONNECT_STATUS, 20)
    );

    let filter =
        (NDIS_PACKET_TYPE_BROADCAST | NDIS_PACKET_TYPE_ALL_MULTICAST | NDIS_PACKET_TYPE_DIRECTED)
            .to_le_bytes();
    let n = build_set(&mut buf, 8, Oid::GEN_CURRENT_PACKET_FILTER, &filter).unwrap();
    assert_eq!(n, 32);
    assert_eq!(&buf[28..32], &filter);
    assert_eq!(
        {
            RndisSetRequest::read_from_prefix(&buf[8..])
                .unwrap()
                .0
                .info_buflen
        },
        4
    );

    assert_eq!(build_halt(&mut buf, 9), Ok(12));
    assert_eq!(&buf[..12], &[3, 0, 0, 0, 12, 0, 0, 0, 9, 0, 0, 0]);
    assert_eq!(build_keepalive(&mut buf, 10), Ok(12));
    assert_eq!(buf[0], 8);
    assert_eq!(
        build_set(&mut buf[..31], 8, Oid::GEN_CURRENT_PACKET_FILTER, &filter),
        Err(Error::Truncated { need: 32, have: 31 })
    );
}

#[test]
fn message_header_errors() {
    let mut buf = [0u8; 16];
    assert!(matches!(
        parse_message(&buf[..7]),
        Err(Error::Truncated { need: 8, have: 7 })
    ));
    buf[4] = 7;
    assert_eq!(
        parse_message(&buf).unwrap_err(),
        Error::InvalidLength {
            msg_len: 7,
            have: 16
        }
    );
    buf[4] = 17;
    assert!(parse_message(&buf).is_err());
    buf[4] = 8;
    let m = parse_message(&buf).unwrap();
    assert!(m.body.is_empty());
    assert_eq!(m.received.len(), 8);
    buf[..4].copy_from_slice(&0x1234u32.to_le_bytes());
    assert_eq!(
        { parse_message(&buf).unwrap().header.ndis_msg_type },
        RndisMsgType(0x1234)
    );
}

/// Builds a received data packet: header, PPIs and `frame`.
fn data_packet<'a>(buf: &'a mut [u8], frame: &[u8], ppis: &[TxPpi]) -> &'a [u8] {
    let n = build_data_packet(buf, frame.len() as u32, ppis).unwrap();
    buf[n..n + frame.len()].copy_from_slice(frame);
    &buf[..n + frame.len()]
}

#[test]
fn data_packet_round_trip() {
    let vlan = NdisPkt8021qInfo(0).set_vlanid(42).set_pri(3);
    let csum = NdisTcpIpChecksumInfo(0)
        .set_rx_tcp_checksum_succeeded(1)
        .set_rx_ip_checksum_succeeded(1);
    let mut buf = [0u8; 256];
    let pkt = data_packet(
        &mut buf,
        b"frame!",
        &[
            TxPpi::Hash(0xdead_beef),
            TxPpi::Vlan(vlan),
            TxPpi::Checksum(csum),
        ],
    );
    let m = parse_message(pkt).unwrap();
    assert_eq!({ m.header.msg_len } as usize, pkt.len());
    assert_eq!({ m.header.ndis_msg_type }, RndisMsgType::PACKET);
    let p = parse_data_packet(pkt).unwrap();
    assert_eq!(p.data, b"frame!");
    assert_eq!(p.vlan, Some(vlan));
    assert_eq!(p.vlan.unwrap().vlanid(), 42);
    assert_eq!(p.csum, Some(csum));
    assert_eq!(p.hash, Some(0xdead_beef));
    assert_eq!(p.pktinfo_id, None);
    // Layout as netvsc_xmit builds it.
    let rp = RndisPacket::read_from_prefix(&pkt[8..]).unwrap().0;
    assert_eq!({ rp.data_offset }, 36 + 48);
    assert_eq!({ rp.per_pkt_info_offset }, 36);
    assert_eq!({ rp.per_pkt_info_len }, 48);
    assert_eq!(
        &pkt[44..56],
        RndisPerPacketInfo::new(8, false, 4).as_bytes()
    );
    assert_eq!(&pkt[44..56], &[16, 0, 0, 0, 8, 0, 0, 0, 12, 0, 0, 0]);

    let lso = NdisTcpLsoInfo(0).set_mss(1460).set_lso_type(1);
    let mut buf = [0u8; 128];
    let pkt = data_packet(&mut buf, b"x", &[TxPpi::Lso(lso)]);
    let p = parse_data_packet(pkt).unwrap();
    assert_eq!((p.vlan, p.csum, p.hash), (None, None, None));
    // No PPIs at all.
    let mut buf = [0u8; 128];
    let pkt = data_packet(&mut buf, b"plain", &[]);
    let p = parse_data_packet(pkt).unwrap();
    assert_eq!(p.data, b"plain");
    assert_eq!(p.vlan, None);
    assert!(matches!(
        build_data_packet(&mut [0u8; 59], 0, &[TxPpi::Hash(1)]),
        Err(Error::Truncated { need: 60, .. })
    ));
}

/// A data packet with one raw PPI record (`size`, `type_internal`, `ppi_offset`, value).
fn raw_ppi_packet(buf: &mut [u8; 128], size: u32, ty: u32, off: u32, value: u32) -> usize {
    let rec_len = 16usize;
    let pkt = RndisPacket {
        data_offset: (36 + rec_len) as u32,
        data_len: 2,
        per_pkt_info_offset: 36,
        per_pkt_info_len: rec_len as u32,
        ..Default::default()
    };
    let len = 8 + 36 + rec_len + 2;
    buf[..8].copy_from_slice(
        RndisMessageHeader {
            ndis_msg_type: RndisMsgType::PACKET,
            msg_len: len as u32,
        }
        .as_bytes(),
    );
    buf[8..44].copy_from_slice(pkt.as_bytes());
    buf[44..48].copy_from_slice(&size.to_le_bytes());
    buf[48..52].copy_from_slice(&ty.to_le_bytes());
    buf[52..56].copy_from_slice(&off.to_le_bytes());
    buf[56..60].copy_from_slice(&value.to_le_bytes());
    len
}

#[test]
fn ppi_rsc_and_malformed() {
    let mut buf = [0u8; 128];
    // The internal RSC record.
    let id = RndisPktinfoId {
        ver: RNDIS_PKTINFO_ID_V1,
        flag: RNDIS_PKTINFO_SUBALLOC | RNDIS_PKTINFO_1ST_FRAG,
        pkt_id: 77,
    };
    let v = u32::from_le_bytes(*id.as_bytes().first_chunk().unwrap());
    let n = raw_ppi_packet(&mut buf, 16, RNDIS_PKTINFO_ID | 1 << 31, 12, v);
    let p = parse_data_packet(&buf[..n]).unwrap();
    assert_eq!(p.pktinfo_id, Some(id));
    assert_eq!(p.hash, None);
    // An internal record does not match the public type of the same number.
    let n = raw_ppi_packet(&mut buf, 16, 6 | 1 << 31, 12, 5);
    assert_eq!(parse_data_packet(&buf[..n]).unwrap().vlan, None);

    // Records C loops forever on.
    for (size, off) in [(0, 0), (17, 12), (16, 16), (16, 14), (8, 4)] {
        let n = raw_ppi_packet(&mut buf, size, 6, off, 5);
        assert_eq!(
            parse_data_packet(&buf[..n]).unwrap_err(),
            Error::MalformedPpi,
            "size {size} off {off}"
        );
    }
    // A small record of another type is skipped; the walk then needs a full header.
    let n = raw_ppi_packet(&mut buf, 4, 9, 0, 5);
    assert_eq!(
        parse_data_packet(&buf[..n]).unwrap_err(),
        Error::MalformedPpi
    );

    // An info area that does not fit means "no PPI", as in C.
    let n = raw_ppi_packet(&mut buf, 16, 6, 12, 5);
    let mut bad = buf;
    bad[28..32].copy_from_slice(&1000u32.to_le_bytes()); // per_pkt_info_offset
    assert_eq!(parse_data_packet(&bad[..n]).unwrap().vlan, None);
    let mut bad = buf;
    bad[28..32].copy_from_slice(&20u32.to_le_bytes()); // inside the rndis_packet
    assert_eq!(parse_data_packet(&bad[..n]).unwrap().vlan, None);
    let mut bad = buf;
    bad[32..36].copy_from_slice(&11u32.to_le_bytes()); // per_pkt_info_len < 12
    assert_eq!(parse_data_packet(&bad[..n]).unwrap().vlan, None);
    let mut bad = buf;
    bad[32..36].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(parse_data_packet(&bad[..n]).unwrap().vlan, None);
    assert_eq!(
        parse_data_packet(&buf[..n]).unwrap().vlan,
        Some(NdisPkt8021qInfo(5))
    );
}

#[test]
fn data_range_errors() {
    let mut buf = [0u8; 128];
    let n = raw_ppi_packet(&mut buf, 16, 6, 12, 5);
    assert!(matches!(
        parse_data_packet(&buf[..43]),
        Err(Error::Truncated { need: 44, have: 43 })
    ));
    let mut bad = buf;
    bad[8..12].copy_from_slice(&((n - 8) as u32).to_le_bytes()); // data_offset at the end
    assert_eq!(
        parse_data_packet(&bad[..n]).unwrap_err(),
        Error::InvalidDataRange
    );
    let mut bad = buf;
    bad[12..16].copy_from_slice(&3u32.to_le_bytes()); // data_len beyond the range
    assert_eq!(
        parse_data_packet(&bad[..n]).unwrap_err(),
        Error::InvalidDataRange
    );
    bad[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(
        parse_data_packet(&bad[..n]).unwrap_err(),
        Error::InvalidDataRange
    );
    // Trailing padding after the frame is fine.
    assert_eq!(parse_data_packet(&buf[..n + 6]).unwrap().data.len(), 2);
}

/// A completion message of `ty` with `body`.
fn completion(buf: &mut [u8], ty: RndisMsgType, body: &[u8]) -> usize {
    let len = 8 + body.len();
    buf[..8].copy_from_slice(
        RndisMessageHeader {
            ndis_msg_type: ty,
            msg_len: len as u32,
        }
        .as_bytes(),
    );
    buf[8..len].copy_from_slice(body);
    len
}

#[test]
fn completions() {
    let mut buf = [0u8; 256];
    let ic = RndisInitializeComplete {
        req_id: 1,
        status: RndisStatus::SUCCESS,
        max_pkt_per_msg: 8,
        pkt_alignment_factor: 3,
        ..Default::default()
    };
    let n = completion(&mut buf, RndisMsgType::INIT_C, &ic.as_bytes()[..36]);
    let m = parse_message(&buf[..n]).unwrap();
    let c = parse_completion(&m).unwrap();
    assert_eq!(c.req_id, 1);
    assert_eq!(c.status(), RndisStatus::SUCCESS);
    // Zero-extended: the last two fields were not sent.
    assert_eq!(c.fixed::<RndisInitializeComplete>(), ic);

    // A query answer with a 6-byte MAC address.
    let qc = RndisQueryComplete {
        req_id: 2,
        status: RndisStatus::SUCCESS,
        info_buflen: 6,
        info_buf_offset: 16,
    };
    let mut body = [0u8; 22];
    body[..16].copy_from_slice(qc.as_bytes());
    body[16..].copy_from_slice(&[0, 0x15, 0x5d, 1, 2, 3]);
    let n = completion(&mut buf, RndisMsgType::QUERY_C, &body);
    let m = parse_message(&buf[..n]).unwrap();
    let c = parse_completion(&m).unwrap();
    assert_eq!(c.query_info(6), Ok(&[0, 0x15, 0x5d, 1, 2, 3][..]));
    assert_eq!(c.query_info(5), Err(Error::InvalidInfoBuffer));
    for (off, len, status) in [
        (15u32, 6u32, RndisStatus::SUCCESS),
        (16, 7, RndisStatus::SUCCESS),
        (23, 0, RndisStatus::SUCCESS),
        (16, 6, RndisStatus::NOT_SUPPORTED),
        (u32::MAX, 6, RndisStatus::SUCCESS),
    ] {
        let bad = RndisQueryComplete {
            info_buflen: len,
            info_buf_offset: off,
            status,
            ..qc
        };
        body[..16].copy_from_slice(bad.as_bytes());
        let n = completion(&mut buf, RndisMsgType::QUERY_C, &body);
        let m = parse_message(&buf[..n]).unwrap();
        assert_eq!(
            parse_completion(&m).unwrap().query_info(100),
            Err(Error::InvalidInfoBuffer),
            "{off} {len}"
        );
    }
    // An empty buffer at the very end is valid.
    let ok = RndisQueryComplete {
        info_buflen: 0,
        info_buf_offset: 22,
        ..qc
    };
    body[..16].copy_from_slice(ok.as_bytes());
    let n = completion(&mut buf, RndisMsgType::QUERY_C, &body);
    let m = parse_message(&buf[..n]).unwrap();
    assert_eq!(parse_completion(&m).unwrap().query_info(0), Ok(&[][..]));

    // No request id; a message larger than C's response buffer.
    let n = completion(&mut buf, RndisMsgType::SET_C, &[1, 2, 3]);
    let m = parse_message(&buf[..n]).unwrap();
    assert!(matches!(
        parse_completion(&m),
        Err(Error::Truncated { need: 4, have: 3 })
    ));
    let mut big = [0u8; 52 + 4096 + 1];
    let n = completion(&mut big, RndisMsgType::QUERY_C, &[0; 52 + 4096 + 1 - 8]);
    let m = parse_message(&big[..n]).unwrap();
    assert_eq!(
        parse_completion(&m).unwrap_err(),
        Error::ResponseOverflow(4149)
    );
    let n = completion(&mut big, RndisMsgType::QUERY_C, &[0; 52 + 4096 - 8]);
    assert!(parse_completion(&parse_message(&big[..n]).unwrap()).is_ok());
}

#[test]
fn indicate_status() {
    let mut buf = [0u8; 64];
    let ind = RndisIndicateStatus {
        status: RndisStatus::MEDIA_CONNECT,
        status_buflen: 0,
        status_buf_offset: 0,
    };
    let n = completion(&mut buf, RndisMsgType::INDICATE, ind.as_bytes());
    let m = parse_message(&buf[..n]).unwrap();
    assert_eq!(
        parse_indicate_status(&m),
        Ok(IndicateStatus {
            status: RndisStatus::MEDIA_CONNECT,
            link_speed: None
        })
    );
    // Link speed: the buffer may lie past msg_len (old vSwitches).
    let ind = RndisIndicateStatus {
        status: RndisStatus::LINK_SPEED_CHANGE,
        status_buflen: 4,
        status_buf_offset: 12,
    };
    let n = completion(&mut buf, RndisMsgType::INDICATE, ind.as_bytes());
    buf[n..n + 4].copy_from_slice(&100_000_000u32.to_le_bytes());
    let m = parse_message(&buf[..n + 4]).unwrap();
    assert_eq!(m.body.len(), 12);
    assert_eq!(
        parse_indicate_status(&m).unwrap().link_speed,
        Some(100_000_000)
    );
    let m = parse_message(&buf[..n + 3]).unwrap();
    assert_eq!(parse_indicate_status(&m), Err(Error::InvalidInfoBuffer));
    for (len, off) in [(3u32, 12u32), (4, 11), (4, u32::MAX)] {
        let bad = RndisIndicateStatus {
            status_buflen: len,
            status_buf_offset: off,
            ..ind
        };
        let n = completion(&mut buf, RndisMsgType::INDICATE, bad.as_bytes());
        let m = parse_message(&buf[..n + 4]).unwrap();
        assert_eq!(parse_indicate_status(&m), Err(Error::InvalidInfoBuffer));
    }
    let n = completion(&mut buf, RndisMsgType::INDICATE, &[0; 11]);
    assert!(parse_indicate_status(&parse_message(&buf[..n]).unwrap()).is_err());
}

#[test]
fn enums_and_bits() {
    assert_eq!(
        RndisMsgType::QUERY_C.0,
        RndisMsgType::QUERY.0 | RNDIS_MSG_COMPLETION
    );
    assert_eq!(RndisStatus(0x1234).name(), None);
    assert_eq!(Oid::GEN_LINK_SPEED.name(), Some("GEN_LINK_SPEED"));
    let p = RndisPerPacketInfo::new(0xffff_ffff, false, 4);
    assert_eq!((p.ty(), p.internal()), (0x7fff_ffff, false));
    assert_eq!({ p.size }, 16);
    let v = NdisPkt8021qInfo(0).set_vlanid(0x1fff);
    assert_eq!(v.vlanid(), 0xfff); // truncated to 12 bits
    assert_eq!(NDIS_OFFLOAD_SIZE_6_0, 112);
}

use super::super::test_rng::Rng;

#[test]
fn fuzz_smoke() {
    let mut rng = Rng(0xfeed_face_dead_beef);
    let mut buf = [0u8; 256];
    let types = [1u32, 0x8000_0002, 0x8000_0004, 0x8000_0005, 7, 0x8000_0006];
    for _ in 0..20_000 {
        let len = rng.below(buf.len() + 1);
        rng.fill(&mut buf[..len]);
        if len >= 8 {
            buf[..4].copy_from_slice(&types[rng.below(types.len())].to_le_bytes());
            let msg_len = if rng.below(4) == 0 {
                rng.next() as u32
            } else {
                rng.below(len + 1) as u32
            };
            buf[4..8].copy_from_slice(&msg_len.to_le_bytes());
        }
        if len >= 44 && rng.below(2) == 0 {
            // Plausible packet offsets so the PPI walk is reached.
            buf[8..12].copy_from_slice(&(rng.below(len) as u32).to_le_bytes());
            buf[12..16].copy_from_slice(&(rng.below(64) as u32).to_le_bytes());
            buf[28..32].copy_from_slice(&36u32.to_le_bytes());
            buf[32..36].copy_from_slice(&(rng.below(len - 43) as u32).to_le_bytes());
            if len >= 56 {
                buf[44..48].copy_from_slice(&(rng.below(40) as u32).to_le_bytes());
                buf[52..56].copy_from_slice(&(rng.below(20) as u32).to_le_bytes());
            }
        }
        let _ = parse_data_packet(&buf[..len]);
        if let Ok(m) = parse_message(&buf[..len]) {
            if let Ok(c) = parse_completion(&m) {
                let _ = c.query_info(rng.below(300));
                let _ = c.fixed::<RndisInitializeComplete>();
                let _ = c.status();
            }
            let _ = parse_indicate_status(&m);
        }
    }
}
