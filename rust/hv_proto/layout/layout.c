// SPDX-License-Identifier: GPL-2.0
/*
 * Prints sizes, offsets and bitfield encodings of the Linux 7.2 Hyper-V wire structs as the
 * Rust assertions of the `c_layout` tests (tab-separated: module, assertion). Built and run by
 * extract.sh, which provides "extracted.h" (verbatim struct definitions from the kernel tree)
 * and the uapi <linux/hyperv.h>.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/types.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
#define __packed __attribute__((packed))
#define BIT(n) (1UL << (n))

#include <linux/hyperv.h>
#include "rndis.h"
#include "extracted.h"

#define S(m, r, c) \
	printf("%s\tassert_eq!(size_of::<%s>(), %zu); // sizeof(%s)\n", m, r, sizeof(c), #c)
#define O(m, r, rf, c, cf)                                                              \
	printf("%s\tassert_eq!(offset_of!(%s, %s), %zu); // offsetof(%s, %s)\n", m, r, rf, \
	       offsetof(c, cf), #c, #cf)
/* A Rust expression that must equal a C value. */
#define E(m, rexpr, cexpr) \
	printf("%s\tassert_eq!(%s, %llu); // %s\n", m, rexpr, (unsigned long long)(cexpr), #cexpr)
/* A Rust expression that must equal the bytes of a C object read as a little-endian integer. */
#define B(m, rexpr, obj) \
	printf("%s\tassert_eq!(%s, %#llx); // bits of %s\n", m, rexpr, le_value(&(obj), sizeof(obj)), #obj)

static unsigned long long le_value(const void *p, size_t n)
{
	unsigned long long v = 0;
	memcpy(&v, p, n < sizeof(v) ? n : sizeof(v));
	return v;
}

static void ic(void)
{
	const char *m = "ic";

	S(m, "VmbusPipeHdr", struct vmbuspipe_hdr);
	O(m, "VmbusPipeHdr", "flags", struct vmbuspipe_hdr, flags);
	O(m, "VmbusPipeHdr", "msgsize", struct vmbuspipe_hdr, msgsize);
	S(m, "IcVersion", struct ic_version);
	O(m, "IcVersion", "major", struct ic_version, major);
	O(m, "IcVersion", "minor", struct ic_version, minor);
	S(m, "IcMsgHdr", struct icmsg_hdr);
	O(m, "IcMsgHdr", "icverframe", struct icmsg_hdr, icverframe);
	O(m, "IcMsgHdr", "icmsgtype", struct icmsg_hdr, icmsgtype);
	O(m, "IcMsgHdr", "icvermsg", struct icmsg_hdr, icvermsg);
	O(m, "IcMsgHdr", "icmsgsize", struct icmsg_hdr, icmsgsize);
	O(m, "IcMsgHdr", "status", struct icmsg_hdr, status);
	O(m, "IcMsgHdr", "ictransaction_id", struct icmsg_hdr, ictransaction_id);
	O(m, "IcMsgHdr", "icflags", struct icmsg_hdr, icflags);
	O(m, "IcMsgHdr", "reserved", struct icmsg_hdr, reserved);
	S(m, "IcMsgNegotiate", struct icmsg_negotiate);
	O(m, "IcMsgNegotiate", "icframe_vercnt", struct icmsg_negotiate, icframe_vercnt);
	O(m, "IcMsgNegotiate", "icmsg_vercnt", struct icmsg_negotiate, icmsg_vercnt);
	O(m, "IcMsgNegotiate", "reserved", struct icmsg_negotiate, reserved);
	E(m, "size_of::<IcMsgNegotiate>()", offsetof(struct icmsg_negotiate, icversion_data));
	E(m, "ICMSG_HDR", ICMSG_HDR);
	E(m, "ICMSG_HDR + 4", ICMSG_HDR + offsetof(struct icmsg_negotiate, reserved));
	E(m, "ICMSG_HDR + 8 + 3 * 4", ICMSG_NEGOTIATE_PKT_SIZE(1, 2));
	S(m, "ShutdownMsgData", struct shutdown_msg_data);
	O(m, "ShutdownMsgData", "reason_code", struct shutdown_msg_data, reason_code);
	O(m, "ShutdownMsgData", "timeout_seconds", struct shutdown_msg_data, timeout_seconds);
	O(m, "ShutdownMsgData", "flags", struct shutdown_msg_data, flags);
	O(m, "ShutdownMsgData", "display_message", struct shutdown_msg_data, display_message);
	S(m, "HeartbeatMsgData", struct heartbeat_msg_data);
	O(m, "HeartbeatMsgData", "seq_num", struct heartbeat_msg_data, seq_num);
	O(m, "HeartbeatMsgData", "reserved", struct heartbeat_msg_data, reserved);
	S(m, "IcTimesyncData", struct ictimesync_data);
	O(m, "IcTimesyncData", "parenttime", struct ictimesync_data, parenttime);
	O(m, "IcTimesyncData", "childtime", struct ictimesync_data, childtime);
	O(m, "IcTimesyncData", "roundtriptime", struct ictimesync_data, roundtriptime);
	O(m, "IcTimesyncData", "flags", struct ictimesync_data, flags);
	S(m, "IcTimesyncRefData", struct ictimesync_ref_data);
	O(m, "IcTimesyncRefData", "parenttime", struct ictimesync_ref_data, parenttime);
	O(m, "IcTimesyncRefData", "vmreferencetime", struct ictimesync_ref_data, vmreferencetime);
	O(m, "IcTimesyncRefData", "flags", struct ictimesync_ref_data, flags);
	O(m, "IcTimesyncRefData", "leapflags", struct ictimesync_ref_data, leapflags);
	O(m, "IcTimesyncRefData", "stratum", struct ictimesync_ref_data, stratum);
	O(m, "IcTimesyncRefData", "reserved", struct ictimesync_ref_data, reserved);
	E(m, "WLTIMEDELTA", WLTIMEDELTA);
	E(m, "UTIL_FW_VERSION.to_u32()", UTIL_FW_VERSION);
	E(m, "UTIL_WS2K8_FW_VERSION.to_u32()", UTIL_WS2K8_FW_VERSION);
	E(m, "HvStatus::S_OK.0", HV_S_OK);
	E(m, "HvStatus::E_FAIL.0", HV_E_FAIL);
	E(m, "HvStatus::S_CONT.0", HV_S_CONT);
	E(m, "HvStatus::ERROR_NOT_SUPPORTED.0", HV_ERROR_NOT_SUPPORTED);
	E(m, "HvStatus::ERROR_MACHINE_LOCKED.0", HV_ERROR_MACHINE_LOCKED);
	E(m, "HvStatus::ERROR_DEVICE_NOT_CONNECTED.0", HV_ERROR_DEVICE_NOT_CONNECTED);
	E(m, "HvStatus::INVALIDARG.0", HV_INVALIDARG);
	E(m, "HvStatus::GUID_NOTFOUND.0", HV_GUID_NOTFOUND);
	E(m, "HvStatus::ERROR_ALREADY_EXISTS.0", HV_ERROR_ALREADY_EXISTS);
	E(m, "HvStatus::ERROR_DISK_FULL.0", HV_ERROR_DISK_FULL);
}

static void kvp(void)
{
	const char *m = "kvp";

	S(m, "KvpHdr", struct hv_kvp_hdr);
	O(m, "KvpHdr", "operation", struct hv_kvp_hdr, operation);
	O(m, "KvpHdr", "pool", struct hv_kvp_hdr, pool);
	O(m, "KvpHdr", "pad", struct hv_kvp_hdr, pad);
	S(m, "KvpExchgMsgValue", struct hv_kvp_exchg_msg_value);
	O(m, "KvpExchgMsgValue", "value_type", struct hv_kvp_exchg_msg_value, value_type);
	O(m, "KvpExchgMsgValue", "key_size", struct hv_kvp_exchg_msg_value, key_size);
	O(m, "KvpExchgMsgValue", "value_size", struct hv_kvp_exchg_msg_value, value_size);
	O(m, "KvpExchgMsgValue", "key", struct hv_kvp_exchg_msg_value, key);
	O(m, "KvpExchgMsgValue", "value", struct hv_kvp_exchg_msg_value, value);
	E(m, "X_VALUE", offsetof(struct hv_kvp_exchg_msg_value, value_u32));
	E(m, "X_VALUE", offsetof(struct hv_kvp_exchg_msg_value, value_u64));
	S(m, "KvpMsgEnumerate", struct hv_kvp_msg_enumerate);
	O(m, "KvpMsgEnumerate", "index", struct hv_kvp_msg_enumerate, index);
	O(m, "KvpMsgEnumerate", "data", struct hv_kvp_msg_enumerate, data);
	S(m, "KvpExchgMsgValue", struct hv_kvp_msg_get);
	S(m, "KvpExchgMsgValue", struct hv_kvp_msg_set);
	S(m, "KvpMsgDelete", struct hv_kvp_msg_delete);
	O(m, "KvpMsgDelete", "key_size", struct hv_kvp_msg_delete, key_size);
	O(m, "KvpMsgDelete", "key", struct hv_kvp_msg_delete, key);
	S(m, "KvpRegister", struct hv_kvp_register);
	O(m, "KvpRegister", "version", struct hv_kvp_register, version);
	S(m, "KvpIpaddrValue", struct hv_kvp_ipaddr_value);
	O(m, "KvpIpaddrValue", "adapter_id", struct hv_kvp_ipaddr_value, adapter_id);
	O(m, "KvpIpaddrValue", "addr_family", struct hv_kvp_ipaddr_value, addr_family);
	O(m, "KvpIpaddrValue", "dhcp_enabled", struct hv_kvp_ipaddr_value, dhcp_enabled);
	O(m, "KvpIpaddrValue", "ip_addr", struct hv_kvp_ipaddr_value, ip_addr);
	O(m, "KvpIpaddrValue", "sub_net", struct hv_kvp_ipaddr_value, sub_net);
	O(m, "KvpIpaddrValue", "gate_way", struct hv_kvp_ipaddr_value, gate_way);
	O(m, "KvpIpaddrValue", "dns_addr", struct hv_kvp_ipaddr_value, dns_addr);
	S(m, "KvpIpMsg", struct hv_kvp_ip_msg);
	O(m, "KvpIpMsg", "operation", struct hv_kvp_ip_msg, operation);
	O(m, "KvpIpMsg", "pool", struct hv_kvp_ip_msg, pool);
	O(m, "KvpIpMsg", "kvp_ip_val", struct hv_kvp_ip_msg, kvp_ip_val);
	S(m, "KvpMsg", struct hv_kvp_msg);
	O(m, "KvpMsg", "hdr", struct hv_kvp_msg, kvp_hdr);
	O(m, "KvpMsg", "hdr", struct hv_kvp_msg, error);
	O(m, "KvpMsg", "body", struct hv_kvp_msg, body);
	E(m, "KVP_MSG_BODY_SIZE", sizeof(((struct hv_kvp_msg *)0)->body));
	E(m, "OFF_GETSET", offsetof(struct hv_kvp_msg, body.kvp_get.data));
	E(m, "OFF_GETSET", offsetof(struct hv_kvp_msg, body.kvp_set.data));
	E(m, "OFF_GETSET + X_KEY", offsetof(struct hv_kvp_msg, body.kvp_set.data.key));
	E(m, "OFF_GETSET + X_VALUE", offsetof(struct hv_kvp_msg, body.kvp_set.data.value));
	E(m, "OFF_ENUM_INDEX", offsetof(struct hv_kvp_msg, body.kvp_enum_data.index));
	E(m, "OFF_ENUM_DATA", offsetof(struct hv_kvp_msg, body.kvp_enum_data.data));
	E(m, "OFF_ENUM_DATA + X_KEY", offsetof(struct hv_kvp_msg, body.kvp_enum_data.data.key));
	E(m, "OFF_ENUM_DATA + X_VALUE", offsetof(struct hv_kvp_msg, body.kvp_enum_data.data.value));
	E(m, "OFF_DEL_KEY_SIZE", offsetof(struct hv_kvp_msg, body.kvp_delete.key_size));
	E(m, "OFF_DEL_KEY", offsetof(struct hv_kvp_msg, body.kvp_delete.key));
	E(m, "OFF_DAEMON_IP", offsetof(struct hv_kvp_msg, body.kvp_ip_val));
	E(m, "OFF_DAEMON_IP + IP_ADDR", offsetof(struct hv_kvp_msg, body.kvp_ip_val.ip_addr));
	E(m, "OFF_HOST_IP + IP_DNS", offsetof(struct hv_kvp_ip_msg, kvp_ip_val.dns_addr));
	E(m, "OFF_BODY", offsetof(struct hv_kvp_msg, body.kvp_register.version));
	E(m, "HV_KVP_EXCHANGE_MAX_VALUE_SIZE", HV_KVP_EXCHANGE_MAX_VALUE_SIZE);
	E(m, "HV_KVP_EXCHANGE_MAX_KEY_SIZE", HV_KVP_EXCHANGE_MAX_KEY_SIZE);
	E(m, "MAX_ADAPTER_ID_SIZE", MAX_ADAPTER_ID_SIZE);
	E(m, "MAX_IP_ADDR_SIZE", MAX_IP_ADDR_SIZE);
	E(m, "MAX_GATEWAY_SIZE", MAX_GATEWAY_SIZE);
	E(m, "KvpValueType::REG_SZ.0", REG_SZ);
	E(m, "KvpValueType::REG_U32.0", REG_U32);
	E(m, "KvpValueType::REG_U64.0", REG_U64);
	E(m, "KVP_OP_REGISTER.0", KVP_OP_REGISTER);
	E(m, "KvpOp::REGISTER1.0", KVP_OP_REGISTER1);
	E(m, "KvpOp::GET.0", KVP_OP_GET);
	E(m, "KvpOp::SET.0", KVP_OP_SET);
	E(m, "KvpOp::DELETE.0", KVP_OP_DELETE);
	E(m, "KvpOp::ENUMERATE.0", KVP_OP_ENUMERATE);
	E(m, "KvpOp::GET_IP_INFO.0", KVP_OP_GET_IP_INFO);
	E(m, "KvpOp::SET_IP_INFO.0", KVP_OP_SET_IP_INFO);
	E(m, "KvpPool::AUTO_INTERNAL.0", KVP_POOL_AUTO_INTERNAL);
	E(m, "AddrFamily::IPV6.0", ADDR_FAMILY_IPV6);
}

static void vss(void)
{
	const char *m = "vss";

	S(m, "VssHdr", struct hv_vss_hdr);
	O(m, "VssHdr", "operation", struct hv_vss_hdr, operation);
	O(m, "VssHdr", "reserved", struct hv_vss_hdr, reserved);
	S(m, "VssCheckFeature", struct hv_vss_check_feature);
	O(m, "VssCheckFeature", "flags", struct hv_vss_check_feature, flags);
	S(m, "VssCheckDmInfo", struct hv_vss_check_dm_info);
	O(m, "VssCheckDmInfo", "flags", struct hv_vss_check_dm_info, flags);
	S(m, "VssMsg", struct hv_vss_msg);
	O(m, "VssMsg", "vss_hdr", struct hv_vss_msg, vss_hdr);
	O(m, "VssMsg", "vss_hdr", struct hv_vss_msg, error);
	O(m, "VssMsg", "flags", struct hv_vss_msg, vss_cf);
	O(m, "VssMsg", "flags", struct hv_vss_msg, dm_info);
	E(m, "VSS_HBU_NO_AUTO_RECOVERY", VSS_HBU_NO_AUTO_RECOVERY);
	E(m, "VssOp::REGISTER.0", VSS_OP_REGISTER);
	E(m, "VssOp::REGISTER1.0", VSS_OP_REGISTER1);
	E(m, "VssOp::FREEZE.0", VSS_OP_FREEZE);
	E(m, "VssOp::THAW.0", VSS_OP_THAW);
	E(m, "VssOp::AUTO_RECOVER.0", VSS_OP_AUTO_RECOVER);
	E(m, "VssOp::HOT_BACKUP.0", VSS_OP_HOT_BACKUP);
	E(m, "VssOp::GET_DM_INFO.0", VSS_OP_GET_DM_INFO);
}

static void fcopy(void)
{
	const char *m = "fcopy";

	S(m, "FcopyHdr", struct hv_fcopy_hdr);
	O(m, "FcopyHdr", "operation", struct hv_fcopy_hdr, operation);
	O(m, "FcopyHdr", "service_id0", struct hv_fcopy_hdr, service_id0);
	O(m, "FcopyHdr", "service_id1", struct hv_fcopy_hdr, service_id1);
	S(m, "StartFcopy", struct hv_start_fcopy);
	O(m, "StartFcopy", "hdr", struct hv_start_fcopy, hdr);
	O(m, "StartFcopy", "file_name", struct hv_start_fcopy, file_name);
	O(m, "StartFcopy", "path_name", struct hv_start_fcopy, path_name);
	O(m, "StartFcopy", "copy_flags", struct hv_start_fcopy, copy_flags);
	O(m, "StartFcopy", "file_size", struct hv_start_fcopy, file_size);
	S(m, "DoFcopy", struct hv_do_fcopy);
	O(m, "DoFcopy", "hdr", struct hv_do_fcopy, hdr);
	O(m, "DoFcopy", "pad", struct hv_do_fcopy, pad);
	O(m, "DoFcopy", "offset", struct hv_do_fcopy, offset);
	O(m, "DoFcopy", "size", struct hv_do_fcopy, size);
	O(m, "DoFcopy", "data", struct hv_do_fcopy, data);
	E(m, "W_MAX_PATH", W_MAX_PATH);
	E(m, "DATA_FRAGMENT", DATA_FRAGMENT);
	E(m, "OVER_WRITE", OVER_WRITE);
	E(m, "CREATE_PATH", CREATE_PATH);
	E(m, "FcopyOp::CANCEL_FCOPY.0", CANCEL_FCOPY);
}

static void vstor(void)
{
	const char *m = "vstor";

	S(m, "HvFcWwnPacket", struct hv_fc_wwn_packet);
	O(m, "HvFcWwnPacket", "primary_active", struct hv_fc_wwn_packet, primary_active);
	O(m, "HvFcWwnPacket", "reserved1", struct hv_fc_wwn_packet, reserved1);
	O(m, "HvFcWwnPacket", "primary_port_wwn", struct hv_fc_wwn_packet, primary_port_wwn);
	O(m, "HvFcWwnPacket", "primary_node_wwn", struct hv_fc_wwn_packet, primary_node_wwn);
	O(m, "HvFcWwnPacket", "secondary_port_wwn", struct hv_fc_wwn_packet, secondary_port_wwn);
	O(m, "HvFcWwnPacket", "secondary_node_wwn", struct hv_fc_wwn_packet, secondary_node_wwn);
	S(m, "VmscsiRequest", struct vmscsi_request);
	O(m, "VmscsiRequest", "length", struct vmscsi_request, length);
	O(m, "VmscsiRequest", "srb_status", struct vmscsi_request, srb_status);
	O(m, "VmscsiRequest", "scsi_status", struct vmscsi_request, scsi_status);
	O(m, "VmscsiRequest", "port_number", struct vmscsi_request, port_number);
	O(m, "VmscsiRequest", "path_id", struct vmscsi_request, path_id);
	O(m, "VmscsiRequest", "target_id", struct vmscsi_request, target_id);
	O(m, "VmscsiRequest", "lun", struct vmscsi_request, lun);
	O(m, "VmscsiRequest", "cdb_length", struct vmscsi_request, cdb_length);
	O(m, "VmscsiRequest", "sense_info_length", struct vmscsi_request, sense_info_length);
	O(m, "VmscsiRequest", "data_in", struct vmscsi_request, data_in);
	O(m, "VmscsiRequest", "reserved", struct vmscsi_request, reserved);
	O(m, "VmscsiRequest", "data_transfer_length", struct vmscsi_request, data_transfer_length);
	O(m, "VmscsiRequest", "cdb", struct vmscsi_request, cdb);
	O(m, "VmscsiRequest", "cdb", struct vmscsi_request, sense_data);
	O(m, "VmscsiRequest", "cdb", struct vmscsi_request, reserved_array);
	O(m, "VmscsiRequest", "reserve", struct vmscsi_request, reserve);
	O(m, "VmscsiRequest", "queue_tag", struct vmscsi_request, queue_tag);
	O(m, "VmscsiRequest", "queue_action", struct vmscsi_request, queue_action);
	O(m, "VmscsiRequest", "srb_flags", struct vmscsi_request, srb_flags);
	O(m, "VmscsiRequest", "time_out_value", struct vmscsi_request, time_out_value);
	O(m, "VmscsiRequest", "queue_sort_key", struct vmscsi_request, queue_sort_ey);
	E(m, "VMSCSI_REQUEST_PRE_WIN8_SIZE", offsetof(struct vmscsi_request, reserve));
	S(m, "VmstorageChannelProperties", struct vmstorage_channel_properties);
	O(m, "VmstorageChannelProperties", "reserved", struct vmstorage_channel_properties, reserved);
	O(m, "VmstorageChannelProperties", "max_channel_cnt", struct vmstorage_channel_properties, max_channel_cnt);
	O(m, "VmstorageChannelProperties", "reserved1", struct vmstorage_channel_properties, reserved1);
	O(m, "VmstorageChannelProperties", "flags", struct vmstorage_channel_properties, flags);
	O(m, "VmstorageChannelProperties", "max_transfer_bytes", struct vmstorage_channel_properties, max_transfer_bytes);
	O(m, "VmstorageChannelProperties", "reserved2", struct vmstorage_channel_properties, reserved2);
	S(m, "VmstorageProtocolVersion", struct vmstorage_protocol_version);
	O(m, "VmstorageProtocolVersion", "major_minor", struct vmstorage_protocol_version, major_minor);
	O(m, "VmstorageProtocolVersion", "revision", struct vmstorage_protocol_version, revision);
	S(m, "VstorPacket", struct vstor_packet);
	O(m, "VstorPacket", "operation", struct vstor_packet, operation);
	O(m, "VstorPacket", "flags", struct vstor_packet, flags);
	O(m, "VstorPacket", "status", struct vstor_packet, status);
	O(m, "VstorPacket", "payload", struct vstor_packet, vm_srb);
	O(m, "VstorPacket", "payload", struct vstor_packet, storage_channel_properties);
	O(m, "VstorPacket", "payload", struct vstor_packet, version);
	O(m, "VstorPacket", "payload", struct vstor_packet, wwn_packet);
	O(m, "VstorPacket", "payload", struct vstor_packet, sub_channel_count);
	O(m, "VstorPacket", "payload", struct vstor_packet, buffer);
	E(m, "VSTOR_PAYLOAD_SIZE", sizeof(((struct vstor_packet *)0)->buffer));
	E(m, "VmstorProtocolVersion::WIN6.0", VMSTOR_PROTO_VERSION_WIN6);
	E(m, "VmstorProtocolVersion::WIN7.0", VMSTOR_PROTO_VERSION_WIN7);
	E(m, "VmstorProtocolVersion::WIN8.0", VMSTOR_PROTO_VERSION_WIN8);
	E(m, "VmstorProtocolVersion::WIN8_1.0", VMSTOR_PROTO_VERSION_WIN8_1);
	E(m, "VmstorProtocolVersion::WIN10.0", VMSTOR_PROTO_VERSION_WIN10);
	E(m, "VstorOperation::CREATE_SUB_CHANNELS.0", VSTOR_OPERATION_CREATE_SUB_CHANNELS);
	E(m, "VstorOperation::FCHBA_DATA.0", VSTOR_OPERATION_FCHBA_DATA);
	E(m, "STORVSC_SENSE_BUFFER_SIZE", STORVSC_SENSE_BUFFER_SIZE);
	E(m, "STORVSC_MAX_CMD_LEN", STORVSC_MAX_CMD_LEN);
	E(m, "SRB_FLAGS_DATA_IN", SRB_FLAGS_DATA_IN);
	E(m, "SRB_FLAGS_DATA_OUT", SRB_FLAGS_DATA_OUT);
	E(m, "SRB_FLAGS_NO_QUEUE_FREEZE", SRB_FLAGS_NO_QUEUE_FREEZE);
	E(m, "SRB_FLAGS_CLASS_DRIVER_RESERVED", SRB_FLAGS_CLASS_DRIVER_RESERVED);
	E(m, "SrbStatus::INVALID_LUN.0", SRB_STATUS_INVALID_LUN);
	E(m, "SrbStatus::from_raw(0xC4).0", SRB_STATUS(0xC4));
}

static void nvsp(void)
{
	const char *m = "nvsp";
	struct nvsp_2_vsc_capability cap;

	S(m, "NvspMessageHeader", struct nvsp_message_header);
	O(m, "NvspMessageHeader", "msg_type", struct nvsp_message_header, msg_type);
	S(m, "NvspMessageInit", struct nvsp_message_init);
	O(m, "NvspMessageInit", "min_protocol_ver", struct nvsp_message_init, min_protocol_ver);
	O(m, "NvspMessageInit", "max_protocol_ver", struct nvsp_message_init, max_protocol_ver);
	S(m, "NvspMessageInitComplete", struct nvsp_message_init_complete);
	O(m, "NvspMessageInitComplete", "negotiated_protocol_ver", struct nvsp_message_init_complete, negotiated_protocol_ver);
	O(m, "NvspMessageInitComplete", "max_mdl_chain_len", struct nvsp_message_init_complete, max_mdl_chain_len);
	O(m, "NvspMessageInitComplete", "status", struct nvsp_message_init_complete, status);
	S(m, "Nvsp1SendNdisVersion", struct nvsp_1_message_send_ndis_version);
	O(m, "Nvsp1SendNdisVersion", "ndis_major_ver", struct nvsp_1_message_send_ndis_version, ndis_major_ver);
	O(m, "Nvsp1SendNdisVersion", "ndis_minor_ver", struct nvsp_1_message_send_ndis_version, ndis_minor_ver);
	S(m, "Nvsp1SendReceiveBuffer", struct nvsp_1_message_send_receive_buffer);
	O(m, "Nvsp1SendReceiveBuffer", "gpadl_handle", struct nvsp_1_message_send_receive_buffer, gpadl_handle);
	O(m, "Nvsp1SendReceiveBuffer", "id", struct nvsp_1_message_send_receive_buffer, id);
	S(m, "Nvsp1ReceiveBufferSection", struct nvsp_1_receive_buffer_section);
	O(m, "Nvsp1ReceiveBufferSection", "offset", struct nvsp_1_receive_buffer_section, offset);
	O(m, "Nvsp1ReceiveBufferSection", "sub_alloc_size", struct nvsp_1_receive_buffer_section, sub_alloc_size);
	O(m, "Nvsp1ReceiveBufferSection", "num_sub_allocs", struct nvsp_1_receive_buffer_section, num_sub_allocs);
	O(m, "Nvsp1ReceiveBufferSection", "end_offset", struct nvsp_1_receive_buffer_section, end_offset);
	S(m, "Nvsp1SendReceiveBufferComplete", struct nvsp_1_message_send_receive_buffer_complete);
	O(m, "Nvsp1SendReceiveBufferComplete", "status", struct nvsp_1_message_send_receive_buffer_complete, status);
	O(m, "Nvsp1SendReceiveBufferComplete", "num_sections", struct nvsp_1_message_send_receive_buffer_complete, num_sections);
	E(m, "size_of::<Nvsp1SendReceiveBufferComplete>()", offsetof(struct nvsp_1_message_send_receive_buffer_complete, sections));
	S(m, "Nvsp1RevokeReceiveBuffer", struct nvsp_1_message_revoke_receive_buffer);
	O(m, "Nvsp1RevokeReceiveBuffer", "id", struct nvsp_1_message_revoke_receive_buffer, id);
	S(m, "Nvsp1SendSendBuffer", struct nvsp_1_message_send_send_buffer);
	O(m, "Nvsp1SendSendBuffer", "gpadl_handle", struct nvsp_1_message_send_send_buffer, gpadl_handle);
	O(m, "Nvsp1SendSendBuffer", "id", struct nvsp_1_message_send_send_buffer, id);
	S(m, "Nvsp1SendSendBufferComplete", struct nvsp_1_message_send_send_buffer_complete);
	O(m, "Nvsp1SendSendBufferComplete", "status", struct nvsp_1_message_send_send_buffer_complete, status);
	O(m, "Nvsp1SendSendBufferComplete", "section_size", struct nvsp_1_message_send_send_buffer_complete, section_size);
	S(m, "Nvsp1RevokeSendBuffer", struct nvsp_1_message_revoke_send_buffer);
	O(m, "Nvsp1RevokeSendBuffer", "id", struct nvsp_1_message_revoke_send_buffer, id);
	S(m, "Nvsp1SendRndisPacket", struct nvsp_1_message_send_rndis_packet);
	O(m, "Nvsp1SendRndisPacket", "channel_type", struct nvsp_1_message_send_rndis_packet, channel_type);
	O(m, "Nvsp1SendRndisPacket", "send_buf_section_index", struct nvsp_1_message_send_rndis_packet, send_buf_section_index);
	O(m, "Nvsp1SendRndisPacket", "send_buf_section_size", struct nvsp_1_message_send_rndis_packet, send_buf_section_size);
	S(m, "Nvsp1SendRndisPacketComplete", struct nvsp_1_message_send_rndis_packet_complete);
	O(m, "Nvsp1SendRndisPacketComplete", "status", struct nvsp_1_message_send_rndis_packet_complete, status);
	S(m, "Nvsp2VscCapability", struct nvsp_2_vsc_capability);
	O(m, "Nvsp2VscCapability", "data", struct nvsp_2_vsc_capability, data);
	S(m, "Nvsp2SendNdisConfig", struct nvsp_2_send_ndis_config);
	O(m, "Nvsp2SendNdisConfig", "mtu", struct nvsp_2_send_ndis_config, mtu);
	O(m, "Nvsp2SendNdisConfig", "reserved", struct nvsp_2_send_ndis_config, reserved);
	O(m, "Nvsp2SendNdisConfig", "capability", struct nvsp_2_send_ndis_config, capability);
	S(m, "Nvsp2AllocRxbuf", struct nvsp_2_alloc_rxbuf);
	O(m, "Nvsp2AllocRxbuf", "alloc_id", struct nvsp_2_alloc_rxbuf, alloc_id);
	O(m, "Nvsp2AllocRxbuf", "len", struct nvsp_2_alloc_rxbuf, len);
	S(m, "Nvsp2AllocRxbufComp", struct nvsp_2_alloc_rxbuf_comp);
	O(m, "Nvsp2AllocRxbufComp", "status", struct nvsp_2_alloc_rxbuf_comp, status);
	O(m, "Nvsp2AllocRxbufComp", "alloc_id", struct nvsp_2_alloc_rxbuf_comp, alloc_id);
	O(m, "Nvsp2AllocRxbufComp", "gpadl_handle", struct nvsp_2_alloc_rxbuf_comp, gpadl_handle);
	O(m, "Nvsp2AllocRxbufComp", "recv_buf_id", struct nvsp_2_alloc_rxbuf_comp, recv_buf_id);
	S(m, "Nvsp2FreeRxbuf", struct nvsp_2_free_rxbuf);
	O(m, "Nvsp2FreeRxbuf", "recv_buf_id", struct nvsp_2_free_rxbuf, recv_buf_id);
	S(m, "Nvsp4SendVfAssociation", struct nvsp_4_send_vf_association);
	O(m, "Nvsp4SendVfAssociation", "allocated", struct nvsp_4_send_vf_association, allocated);
	O(m, "Nvsp4SendVfAssociation", "serial", struct nvsp_4_send_vf_association, serial);
	S(m, "Nvsp4SwDatapath", struct nvsp_4_sw_datapath);
	O(m, "Nvsp4SwDatapath", "active_datapath", struct nvsp_4_sw_datapath, active_datapath);
	S(m, "Nvsp5SubchannelRequest", struct nvsp_5_subchannel_request);
	O(m, "Nvsp5SubchannelRequest", "op", struct nvsp_5_subchannel_request, op);
	O(m, "Nvsp5SubchannelRequest", "num_subchannels", struct nvsp_5_subchannel_request, num_subchannels);
	S(m, "Nvsp5SubchannelComplete", struct nvsp_5_subchannel_complete);
	O(m, "Nvsp5SubchannelComplete", "status", struct nvsp_5_subchannel_complete, status);
	O(m, "Nvsp5SubchannelComplete", "num_subchannels", struct nvsp_5_subchannel_complete, num_subchannels);
	S(m, "Nvsp5SendIndirectTable", struct nvsp_5_send_indirect_table);
	O(m, "Nvsp5SendIndirectTable", "count", struct nvsp_5_send_indirect_table, count);
	O(m, "Nvsp5SendIndirectTable", "offset", struct nvsp_5_send_indirect_table, offset);
	S(m, "NvspMessage", struct nvsp_message);
	O(m, "NvspMessage", "hdr", struct nvsp_message, hdr);
	O(m, "NvspMessage", "msg", struct nvsp_message, msg);
	E(m, "NVSP_MESSAGE_UNION_SIZE", sizeof(union nvsp_all_messages));
	E(m, "NVSP6_MESSAGE_UBER_SIZE", sizeof(union nvsp_6_message_uber));
	E(m, "NvspVersion::V1.0", NVSP_PROTOCOL_VERSION_1);
	E(m, "NvspVersion::V2.0", NVSP_PROTOCOL_VERSION_2);
	E(m, "NvspVersion::V4.0", NVSP_PROTOCOL_VERSION_4);
	E(m, "NvspVersion::V5.0", NVSP_PROTOCOL_VERSION_5);
	E(m, "NvspVersion::V6.0", NVSP_PROTOCOL_VERSION_6);
	E(m, "NvspVersion::V61.0", NVSP_PROTOCOL_VERSION_61);
	E(m, "NvspMessageType::SEND_NDIS_VER.0", NVSP_MSG1_TYPE_SEND_NDIS_VER);
	E(m, "NvspMessageType::SEND_RNDIS_PKT_COMPLETE.0", NVSP_MSG1_TYPE_SEND_RNDIS_PKT_COMPLETE);
	E(m, "NvspMessageType::ALLOC_RXBUF.0", NVSP_MSG2_TYPE_ALLOC_RXBUF);
	E(m, "NvspMessageType::SEND_NDIS_CONFIG.0", NVSP_MSG2_TYPE_SEND_NDIS_CONFIG);
	E(m, "NvspMessageType::ALLOC_CHIMNEY_HANDLE_COMP.0", NVSP_MSG2_TYPE_ALLOC_CHIMNEY_HANDLE_COMP);
	E(m, "NvspMessageType::SEND_VF_ASSOCIATION.0", NVSP_MSG4_TYPE_SEND_VF_ASSOCIATION);
	E(m, "NvspMessageType::SWITCH_DATA_PATH.0", NVSP_MSG4_TYPE_SWITCH_DATA_PATH);
	E(m, "NvspMessageType::SUBCHANNEL.0", NVSP_MSG5_TYPE_SUBCHANNEL);
	E(m, "NvspMessageType::SEND_INDIRECTION_TABLE.0", NVSP_MSG5_TYPE_SEND_INDIRECTION_TABLE);
	E(m, "NvspMessageType::PD_POST_BATCH.0", NVSP_MSG6_TYPE_PD_POST_BATCH);
	E(m, "NvspStatus::PROTOCOL_UNSUPPORTED.0", NVSP_STAT_PROTOCOL_UNSUPPORTED);
	memset(&cap, 0, sizeof(cap)); cap.vmq = 1; B(m, "NVSP_CAP_VMQ", cap);
	memset(&cap, 0, sizeof(cap)); cap.chimney = 1; B(m, "NVSP_CAP_CHIMNEY", cap);
	memset(&cap, 0, sizeof(cap)); cap.sriov = 1; B(m, "NVSP_CAP_SRIOV", cap);
	memset(&cap, 0, sizeof(cap)); cap.ieee8021q = 1; B(m, "NVSP_CAP_IEEE8021Q", cap);
	memset(&cap, 0, sizeof(cap)); cap.correlation_id = 1; B(m, "NVSP_CAP_CORRELATION_ID", cap);
	memset(&cap, 0, sizeof(cap)); cap.teaming = 1; B(m, "NVSP_CAP_TEAMING", cap);
	memset(&cap, 0, sizeof(cap)); cap.vsubnetid = 1; B(m, "NVSP_CAP_VSUBNETID", cap);
	memset(&cap, 0, sizeof(cap)); cap.rsc = 1; B(m, "NVSP_CAP_RSC", cap);
}

static void rndis(void)
{
	const char *m = "rndis";
	struct rndis_per_packet_info ppi;
	struct ndis_pkt_8021q_info vlan;
	struct ndis_tcp_ip_checksum_info csum;
	struct ndis_tcp_lso_info lso;

	E(m, "size_of::<RndisMessageHeader>()", RNDIS_HEADER_SIZE);
	O(m, "RndisMessageHeader", "ndis_msg_type", struct rndis_message, ndis_msg_type);
	O(m, "RndisMessageHeader", "msg_len", struct rndis_message, msg_len);
	E(m, "RNDIS_HEADER_SIZE", RNDIS_HEADER_SIZE);
	E(m, "RNDIS_MESSAGE_SIZE", sizeof(struct rndis_message));
	E(m, "size_of::<RndisInitializeComplete>()", sizeof(union rndis_message_container));
	S(m, "RndisInitializeRequest", struct rndis_initialize_request);
	O(m, "RndisInitializeRequest", "req_id", struct rndis_initialize_request, req_id);
	O(m, "RndisInitializeRequest", "major_ver", struct rndis_initialize_request, major_ver);
	O(m, "RndisInitializeRequest", "minor_ver", struct rndis_initialize_request, minor_ver);
	O(m, "RndisInitializeRequest", "max_xfer_size", struct rndis_initialize_request, max_xfer_size);
	S(m, "RndisInitializeComplete", struct rndis_initialize_complete);
	O(m, "RndisInitializeComplete", "req_id", struct rndis_initialize_complete, req_id);
	O(m, "RndisInitializeComplete", "status", struct rndis_initialize_complete, status);
	O(m, "RndisInitializeComplete", "major_ver", struct rndis_initialize_complete, major_ver);
	O(m, "RndisInitializeComplete", "minor_ver", struct rndis_initialize_complete, minor_ver);
	O(m, "RndisInitializeComplete", "dev_flags", struct rndis_initialize_complete, dev_flags);
	O(m, "RndisInitializeComplete", "medium", struct rndis_initialize_complete, medium);
	O(m, "RndisInitializeComplete", "max_pkt_per_msg", struct rndis_initialize_complete, max_pkt_per_msg);
	O(m, "RndisInitializeComplete", "max_xfer_size", struct rndis_initialize_complete, max_xfer_size);
	O(m, "RndisInitializeComplete", "pkt_alignment_factor", struct rndis_initialize_complete, pkt_alignment_factor);
	O(m, "RndisInitializeComplete", "af_list_offset", struct rndis_initialize_complete, af_list_offset);
	O(m, "RndisInitializeComplete", "af_list_size", struct rndis_initialize_complete, af_list_size);
	S(m, "RndisCoAddressFamily", struct rndis_co_address_family);
	O(m, "RndisCoAddressFamily", "minor_ver", struct rndis_co_address_family, minor_ver);
	S(m, "RndisHaltRequest", struct rndis_halt_request);
	S(m, "RndisQueryRequest", struct rndis_query_request);
	O(m, "RndisQueryRequest", "req_id", struct rndis_query_request, req_id);
	O(m, "RndisQueryRequest", "oid", struct rndis_query_request, oid);
	O(m, "RndisQueryRequest", "info_buflen", struct rndis_query_request, info_buflen);
	O(m, "RndisQueryRequest", "info_buf_offset", struct rndis_query_request, info_buf_offset);
	O(m, "RndisQueryRequest", "dev_vc_handle", struct rndis_query_request, dev_vc_handle);
	S(m, "RndisQueryComplete", struct rndis_query_complete);
	O(m, "RndisQueryComplete", "req_id", struct rndis_query_complete, req_id);
	O(m, "RndisQueryComplete", "status", struct rndis_query_complete, status);
	O(m, "RndisQueryComplete", "info_buflen", struct rndis_query_complete, info_buflen);
	O(m, "RndisQueryComplete", "info_buf_offset", struct rndis_query_complete, info_buf_offset);
	S(m, "RndisSetRequest", struct rndis_set_request);
	O(m, "RndisSetRequest", "req_id", struct rndis_set_request, req_id);
	O(m, "RndisSetRequest", "oid", struct rndis_set_request, oid);
	O(m, "RndisSetRequest", "info_buflen", struct rndis_set_request, info_buflen);
	O(m, "RndisSetRequest", "info_buf_offset", struct rndis_set_request, info_buf_offset);
	O(m, "RndisSetRequest", "dev_vc_handle", struct rndis_set_request, dev_vc_handle);
	E(m, "size_of::<RndisSetRequest>()", offsetof(struct rndis_set_request, info_buf));
	S(m, "RndisSetComplete", struct rndis_set_complete);
	O(m, "RndisSetComplete", "status", struct rndis_set_complete, status);
	S(m, "RndisResetRequest", struct rndis_reset_request);
	S(m, "RndisResetComplete", struct rndis_reset_complete);
	O(m, "RndisResetComplete", "status", struct rndis_reset_complete, status);
	O(m, "RndisResetComplete", "addressing_reset", struct rndis_reset_complete, addressing_reset);
	S(m, "RndisIndicateStatus", struct rndis_indicate_status);
	O(m, "RndisIndicateStatus", "status", struct rndis_indicate_status, status);
	O(m, "RndisIndicateStatus", "status_buflen", struct rndis_indicate_status, status_buflen);
	O(m, "RndisIndicateStatus", "status_buf_offset", struct rndis_indicate_status, status_buf_offset);
	S(m, "RndisDiagnosticInfo", struct rndis_diagnostic_info);
	S(m, "RndisKeepaliveRequest", struct rndis_keepalive_request);
	S(m, "RndisKeepaliveComplete", struct rndis_keepalive_complete);
	O(m, "RndisKeepaliveComplete", "status", struct rndis_keepalive_complete, status);
	S(m, "RndisPacket", struct rndis_packet);
	O(m, "RndisPacket", "data_offset", struct rndis_packet, data_offset);
	O(m, "RndisPacket", "data_len", struct rndis_packet, data_len);
	O(m, "RndisPacket", "oob_data_offset", struct rndis_packet, oob_data_offset);
	O(m, "RndisPacket", "oob_data_len", struct rndis_packet, oob_data_len);
	O(m, "RndisPacket", "num_oob_data_elements", struct rndis_packet, num_oob_data_elements);
	O(m, "RndisPacket", "per_pkt_info_offset", struct rndis_packet, per_pkt_info_offset);
	O(m, "RndisPacket", "per_pkt_info_len", struct rndis_packet, per_pkt_info_len);
	O(m, "RndisPacket", "vc_handle", struct rndis_packet, vc_handle);
	O(m, "RndisPacket", "reserved", struct rndis_packet, reserved);
	S(m, "RndisOobd", struct rndis_oobd);
	O(m, "RndisOobd", "type_", struct rndis_oobd, type);
	O(m, "RndisOobd", "class_info_offset", struct rndis_oobd, class_info_offset);
	S(m, "RndisPerPacketInfo", struct rndis_per_packet_info);
	O(m, "RndisPerPacketInfo", "size", struct rndis_per_packet_info, size);
	O(m, "RndisPerPacketInfo", "ppi_offset", struct rndis_per_packet_info, ppi_offset);
	memset(&ppi, 0, sizeof(ppi)); ppi.type = 0x12345; ppi.internal = 1;
	B(m, "{ RndisPerPacketInfo::new(0x12345, true, 0).type_internal }", ((u32 *)&ppi)[1]);
	S(m, "RndisPktinfoId", struct rndis_pktinfo_id);
	O(m, "RndisPktinfoId", "ver", struct rndis_pktinfo_id, ver);
	O(m, "RndisPktinfoId", "flag", struct rndis_pktinfo_id, flag);
	O(m, "RndisPktinfoId", "pkt_id", struct rndis_pktinfo_id, pkt_id);
	S(m, "RndisConfigParameterInfo", struct rndis_config_parameter_info);
	O(m, "RndisConfigParameterInfo", "parameter_value_length", struct rndis_config_parameter_info, parameter_value_length);
	S(m, "NdisObjectHeader", struct ndis_object_header);
	O(m, "NdisObjectHeader", "type_", struct ndis_object_header, type);
	O(m, "NdisObjectHeader", "revision", struct ndis_object_header, revision);
	O(m, "NdisObjectHeader", "size", struct ndis_object_header, size);
	S(m, "NdisObjectHeader", struct ndis_obj_header);
	O(m, "NdisObjectHeader", "revision", struct ndis_obj_header, rev);
	O(m, "NdisObjectHeader", "size", struct ndis_obj_header, size);
	S(m, "NdisCsumOffload", struct ndis_csum_offload);
	O(m, "NdisCsumOffload", "ip6_rxcsum", struct ndis_csum_offload, ip6_rxcsum);
	S(m, "NdisLsov1Offload", struct ndis_lsov1_offload);
	S(m, "NdisIpsecv1Offload", struct ndis_ipsecv1_offload);
	S(m, "NdisLsov2Offload", struct ndis_lsov2_offload);
	O(m, "NdisLsov2Offload", "ip6_opts", struct ndis_lsov2_offload, ip6_opts);
	S(m, "NdisIpsecv2Offload", struct ndis_ipsecv2_offload);
	O(m, "NdisIpsecv2Offload", "ip6", struct ndis_ipsecv2_offload, ip6);
	O(m, "NdisIpsecv2Offload", "extseq", struct ndis_ipsecv2_offload, extseq);
	O(m, "NdisIpsecv2Offload", "udp_esp", struct ndis_ipsecv2_offload, udp_esp);
	O(m, "NdisIpsecv2Offload", "auth", struct ndis_ipsecv2_offload, auth);
	O(m, "NdisIpsecv2Offload", "crypto", struct ndis_ipsecv2_offload, crypto);
	O(m, "NdisIpsecv2Offload", "sa_caps", struct ndis_ipsecv2_offload, sa_caps);
	S(m, "NdisRscOffload", struct ndis_rsc_offload);
	S(m, "NdisEncapOffload", struct ndis_encap_offload);
	S(m, "NdisOffload", struct ndis_offload);
	O(m, "NdisOffload", "header", struct ndis_offload, header);
	O(m, "NdisOffload", "csum", struct ndis_offload, csum);
	O(m, "NdisOffload", "lsov1", struct ndis_offload, lsov1);
	O(m, "NdisOffload", "ipsecv1", struct ndis_offload, ipsecv1);
	O(m, "NdisOffload", "lsov2", struct ndis_offload, lsov2);
	O(m, "NdisOffload", "flags", struct ndis_offload, flags);
	O(m, "NdisOffload", "ipsecv2", struct ndis_offload, ipsecv2);
	O(m, "NdisOffload", "rsc", struct ndis_offload, rsc);
	O(m, "NdisOffload", "encap_gre", struct ndis_offload, encap_gre);
	E(m, "NDIS_OFFLOAD_SIZE", NDIS_OFFLOAD_SIZE);
	E(m, "NDIS_OFFLOAD_SIZE_6_0", NDIS_OFFLOAD_SIZE_6_0);
	E(m, "NDIS_OFFLOAD_SIZE_6_1", NDIS_OFFLOAD_SIZE_6_1);
	S(m, "NdisOffloadParams", struct ndis_offload_params);
	O(m, "NdisOffloadParams", "header", struct ndis_offload_params, header);
	O(m, "NdisOffloadParams", "ip_v4_csum", struct ndis_offload_params, ip_v4_csum);
	O(m, "NdisOffloadParams", "tcp_ip_v4_csum", struct ndis_offload_params, tcp_ip_v4_csum);
	O(m, "NdisOffloadParams", "udp_ip_v4_csum", struct ndis_offload_params, udp_ip_v4_csum);
	O(m, "NdisOffloadParams", "tcp_ip_v6_csum", struct ndis_offload_params, tcp_ip_v6_csum);
	O(m, "NdisOffloadParams", "udp_ip_v6_csum", struct ndis_offload_params, udp_ip_v6_csum);
	O(m, "NdisOffloadParams", "lso_v1", struct ndis_offload_params, lso_v1);
	O(m, "NdisOffloadParams", "ip_sec_v1", struct ndis_offload_params, ip_sec_v1);
	O(m, "NdisOffloadParams", "lso_v2_ipv4", struct ndis_offload_params, lso_v2_ipv4);
	O(m, "NdisOffloadParams", "lso_v2_ipv6", struct ndis_offload_params, lso_v2_ipv6);
	O(m, "NdisOffloadParams", "tcp_connection_ip_v4", struct ndis_offload_params, tcp_connection_ip_v4);
	O(m, "NdisOffloadParams", "tcp_connection_ip_v6", struct ndis_offload_params, tcp_connection_ip_v6);
	O(m, "NdisOffloadParams", "flags", struct ndis_offload_params, flags);
	O(m, "NdisOffloadParams", "ip_sec_v2", struct ndis_offload_params, ip_sec_v2);
	O(m, "NdisOffloadParams", "ip_sec_v2_ip_v4", struct ndis_offload_params, ip_sec_v2_ip_v4);
	O(m, "NdisOffloadParams", "rsc_ip_v4", struct ndis_offload_params, rsc_ip_v4);
	O(m, "NdisOffloadParams", "rsc_ip_v6", struct ndis_offload_params, rsc_ip_v6);
	O(m, "NdisOffloadParams", "encapsulated_packet_task_offload", struct ndis_offload_params, encapsulated_packet_task_offload);
	O(m, "NdisOffloadParams", "encapsulation_types", struct ndis_offload_params, encapsulation_types);
	E(m, "VERSION_4_OFFLOAD_SIZE", VERSION_4_OFFLOAD_SIZE);
	E(m, "VERSION_4_OFFLOAD_SIZE", offsetof(struct ndis_offload_params, rsc_ip_v4));
	S(m, "NdisRecvScaleCap", struct ndis_recv_scale_cap);
	O(m, "NdisRecvScaleCap", "hdr", struct ndis_recv_scale_cap, hdr);
	O(m, "NdisRecvScaleCap", "cap_flag", struct ndis_recv_scale_cap, cap_flag);
	O(m, "NdisRecvScaleCap", "num_int_msg", struct ndis_recv_scale_cap, num_int_msg);
	O(m, "NdisRecvScaleCap", "num_recv_que", struct ndis_recv_scale_cap, num_recv_que);
	O(m, "NdisRecvScaleCap", "num_indirect_tabent", struct ndis_recv_scale_cap, num_indirect_tabent);
	S(m, "NdisRecvScaleParam", struct ndis_recv_scale_param);
	O(m, "NdisRecvScaleParam", "hdr", struct ndis_recv_scale_param, hdr);
	O(m, "NdisRecvScaleParam", "flag", struct ndis_recv_scale_param, flag);
	O(m, "NdisRecvScaleParam", "base_cpu_number", struct ndis_recv_scale_param, base_cpu_number);
	O(m, "NdisRecvScaleParam", "hashinfo", struct ndis_recv_scale_param, hashinfo);
	O(m, "NdisRecvScaleParam", "indirect_tabsize", struct ndis_recv_scale_param, indirect_tabsize);
	O(m, "NdisRecvScaleParam", "indirect_taboffset", struct ndis_recv_scale_param, indirect_taboffset);
	O(m, "NdisRecvScaleParam", "hashkey_size", struct ndis_recv_scale_param, hashkey_size);
	O(m, "NdisRecvScaleParam", "hashkey_offset", struct ndis_recv_scale_param, hashkey_offset);
	O(m, "NdisRecvScaleParam", "processor_masks_offset", struct ndis_recv_scale_param, processor_masks_offset);
	O(m, "NdisRecvScaleParam", "num_processor_masks", struct ndis_recv_scale_param, num_processor_masks);
	O(m, "NdisRecvScaleParam", "processor_masks_entry_size", struct ndis_recv_scale_param, processor_masks_entry_size);
	S(m, "NdisTcpIpChecksumInfo", struct ndis_tcp_ip_checksum_info);
	S(m, "NdisPkt8021qInfo", struct ndis_pkt_8021q_info);
	S(m, "NdisTcpLsoInfo", struct ndis_tcp_lso_info);
	memset(&vlan, 0, sizeof(vlan)); vlan.pri = 5; vlan.cfi = 1; vlan.vlanid = 0xabc;
	B(m, "NdisPkt8021qInfo(0).set_pri(5).set_cfi(1).set_vlanid(0xabc).0", vlan);
	memset(&csum, 0, sizeof(csum)); csum.transmit.is_ipv4 = 1; csum.transmit.udp_checksum = 1;
	csum.transmit.ip_header_checksum = 1; csum.transmit.tcp_header_offset = 0x2a5;
	B(m, "NdisTcpIpChecksumInfo(0).set_tx_is_ipv4(1).set_tx_udp_checksum(1).set_tx_ip_header_checksum(1).set_tx_tcp_header_offset(0x2a5).0", csum);
	memset(&csum, 0, sizeof(csum)); csum.transmit.is_ipv6 = 1; csum.transmit.tcp_checksum = 1;
	B(m, "NdisTcpIpChecksumInfo(0).set_tx_is_ipv6(1).set_tx_tcp_checksum(1).0", csum);
	memset(&csum, 0, sizeof(csum)); csum.receive.tcp_checksum_succeeded = 1;
	csum.receive.ip_checksum_succeeded = 1; csum.receive.ip_checksum_value_invalid = 1;
	B(m, "NdisTcpIpChecksumInfo(0).set_rx_tcp_checksum_succeeded(1).set_rx_ip_checksum_succeeded(1).set_rx_ip_checksum_value_invalid(1).0", csum);
	memset(&csum, 0, sizeof(csum)); csum.receive.udp_checksum_failed = 1; csum.receive.loopback = 1;
	csum.receive.udp_checksum_succeeded = 1; csum.receive.tcp_checksum_value_invalid = 1;
	B(m, "NdisTcpIpChecksumInfo(0).set_rx_udp_checksum_failed(1).set_rx_loopback(1).set_rx_udp_checksum_succeeded(1).set_rx_tcp_checksum_value_invalid(1).0", csum);
	memset(&csum, 0, sizeof(csum)); csum.receive.tcp_checksum_failed = 1; csum.receive.ip_checksum_failed = 1;
	B(m, "NdisTcpIpChecksumInfo(0).set_rx_tcp_checksum_failed(1).set_rx_ip_checksum_failed(1).0", csum);
	memset(&lso, 0, sizeof(lso)); lso.lso_v2_transmit.mss = 0xabcde;
	lso.lso_v2_transmit.tcp_header_offset = 0x155; lso.lso_v2_transmit.type = 1;
	lso.lso_v2_transmit.ip_version = 1;
	B(m, "NdisTcpLsoInfo(0).set_mss(0xabcde).set_tcp_header_offset(0x155).set_lso_type(1).set_ip_version(1).0", lso);
	memset(&lso, 0, sizeof(lso)); lso.lso_v1_transmit_complete.tcp_payload = 0x1234567;
	B(m, "NdisTcpLsoInfo(0).set_tcp_payload(0x1234567).0", lso);
	E(m, "NDIS_VLAN_PPI_SIZE", NDIS_VLAN_PPI_SIZE);
	E(m, "NDIS_CSUM_PPI_SIZE", NDIS_CSUM_PPI_SIZE);
	E(m, "NDIS_LSO_PPI_SIZE", NDIS_LSO_PPI_SIZE);
	E(m, "NDIS_HASH_PPI_SIZE", NDIS_HASH_PPI_SIZE);
	E(m, "NDIS_ALL_PPI_SIZE", NDIS_ALL_PPI_SIZE);
	E(m, "NdisPerPktInfoType::IEEE_8021Q.0", IEEE_8021Q_INFO);
	E(m, "NdisPerPktInfoType::NBL_HASH_VALUE.0", NBL_HASH_VALUE);
	E(m, "NdisPerPktInfoType::NBL_HASH_INFO.0", ORIGINAL_NET_BUFLIST);
	E(m, "NdisPerPktInfoType::SHORT_PKT_PADINFO.0", SHORT_PKT_PADINFO);
	E(m, "NdisPerPktInfoType::TCP_LARGESEND.0", TCP_LARGESEND_PKTINFO);
	E(m, "RNDIS_PKTINFO_ID", RNDIS_PKTINFO_ID);
	E(m, "u64::from(RNDIS_PKTINFO_LAST_FRAG)", RNDIS_PKTINFO_LAST_FRAG);
	E(m, "RndisMsgType::INIT_C.0", RNDIS_MSG_INIT_C);
	E(m, "RndisMsgType::KEEPALIVE_C.0", RNDIS_MSG_KEEPALIVE_C);
	E(m, "RndisMsgType::BUS.0", RNDIS_MSG_BUS);
	E(m, "RndisStatus::LINK_SPEED_CHANGE.0", RNDIS_STATUS_LINK_SPEED_CHANGE);
	E(m, "RndisStatus::NETWORK_CHANGE.0", RNDIS_STATUS_NETWORK_CHANGE);
	E(m, "RndisStatus::NOT_SUPPORTED.0", RNDIS_STATUS_NOT_SUPPORTED);
	E(m, "RndisStatus::TOKEN_RING_OPEN_ERROR.0", RNDIS_STATUS_TOKEN_RING_OPEN_ERROR);
	E(m, "Oid::GEN_MAXIMUM_FRAME_SIZE.0", RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE);
	E(m, "Oid::GEN_FRIENDLY_NAME.0", RNDIS_OID_GEN_FRIENDLY_NAME);
	E(m, "Oid::GEN_RNDIS_CONFIG_PARAMETER.0", RNDIS_OID_GEN_RNDIS_CONFIG_PARAMETER);
	E(m, "Oid::OID_802_3_PERMANENT_ADDRESS.0", RNDIS_OID_802_3_PERMANENT_ADDRESS);
	E(m, "Oid::GEN_RECEIVE_SCALE_CAPABILITIES.0", OID_GEN_RECEIVE_SCALE_CAPABILITIES);
	E(m, "Oid::GEN_RECEIVE_SCALE_PARAMETERS.0", OID_GEN_RECEIVE_SCALE_PARAMETERS);
	E(m, "Oid::TCP_OFFLOAD_PARAMETERS.0", OID_TCP_OFFLOAD_PARAMETERS);
	E(m, "Oid::TCP_OFFLOAD_HARDWARE_CAPABILITIES.0", OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES);
	E(m, "Oid::OFFLOAD_ENCAPSULATION.0", OID_OFFLOAD_ENCAPSULATION);
	E(m, "NDIS_OBJECT_TYPE_OFFLOAD", NDIS_OBJECT_TYPE_OFFLOAD);
	E(m, "NDIS_OBJECT_TYPE_RSS_PARAMETERS", NDIS_OBJECT_TYPE_RSS_PARAMETERS);
	E(m, "NDIS_HASH_TCP_IPV6_EX", NDIS_HASH_TCP_IPV6_EX);
	E(m, "NDIS_TXCSUM_ALL_TCP6", NDIS_TXCSUM_ALL_TCP6);
	E(m, "NDIS_LSOV2_CAP_IP6", NDIS_LSOV2_CAP_IP6);
	E(m, "NDIS_PACKET_TYPE_PROMISCUOUS", NDIS_PACKET_TYPE_PROMISCUOUS);
}

static void dm(void)
{
	const char *m = "dm";
	struct dm_version_request vr;
	struct dm_version_response vresp;
	struct dm_balloon_response br;
	struct dm_unballoon_request ur;
	union dm_mem_page_range pr;
	union dm_caps caps;

	S(m, "DmHeader", struct dm_header);
	O(m, "DmHeader", "type_", struct dm_header, type);
	O(m, "DmHeader", "size", struct dm_header, size);
	O(m, "DmHeader", "trans_id", struct dm_header, trans_id);
	S(m, "DmMemPageRange", union dm_mem_page_range);
	S(m, "DmCaps", union dm_caps);
	S(m, "DmVersionRequest", struct dm_version_request);
	O(m, "DmVersionRequest", "hdr", struct dm_version_request, hdr);
	O(m, "DmVersionRequest", "version", struct dm_version_request, version);
	S(m, "DmVersionResponse", struct dm_version_response);
	O(m, "DmVersionResponse", "hdr", struct dm_version_response, hdr);
	S(m, "DmCapabilities", struct dm_capabilities);
	O(m, "DmCapabilities", "hdr", struct dm_capabilities, hdr);
	O(m, "DmCapabilities", "caps", struct dm_capabilities, caps);
	O(m, "DmCapabilities", "min_page_cnt", struct dm_capabilities, min_page_cnt);
	O(m, "DmCapabilities", "max_page_number", struct dm_capabilities, max_page_number);
	S(m, "DmCapabilitiesResp", struct dm_capabilities_resp_msg);
	S(m, "DmStatus", struct dm_status);
	O(m, "DmStatus", "num_avail", struct dm_status, num_avail);
	O(m, "DmStatus", "num_committed", struct dm_status, num_committed);
	O(m, "DmStatus", "page_file_size", struct dm_status, page_file_size);
	O(m, "DmStatus", "zero_free", struct dm_status, zero_free);
	O(m, "DmStatus", "page_file_writes", struct dm_status, page_file_writes);
	O(m, "DmStatus", "io_diff", struct dm_status, io_diff);
	S(m, "DmBalloon", struct dm_balloon);
	O(m, "DmBalloon", "num_pages", struct dm_balloon, num_pages);
	O(m, "DmBalloon", "reservedz", struct dm_balloon, reservedz);
	S(m, "DmBalloonResponse", struct dm_balloon_response);
	O(m, "DmBalloonResponse", "reservedz", struct dm_balloon_response, reservedz);
	E(m, "size_of::<DmBalloonResponse>()", offsetof(struct dm_balloon_response, range_array));
	S(m, "DmUnballoonRequest", struct dm_unballoon_request);
	O(m, "DmUnballoonRequest", "range_count", struct dm_unballoon_request, range_count);
	E(m, "size_of::<DmUnballoonRequest>()", offsetof(struct dm_unballoon_request, range_array));
	S(m, "DmUnballoonResponse", struct dm_unballoon_response);
	S(m, "DmHotAdd", struct dm_hot_add);
	O(m, "DmHotAdd", "range", struct dm_hot_add, range);
	S(m, "DmHotAddResponse", struct dm_hot_add_response);
	O(m, "DmHotAddResponse", "page_count", struct dm_hot_add_response, page_count);
	O(m, "DmHotAddResponse", "result", struct dm_hot_add_response, result);
	S(m, "DmInfoHeader", struct dm_info_header);
	O(m, "DmInfoHeader", "type_", struct dm_info_header, type);
	O(m, "DmInfoHeader", "data_size", struct dm_info_header, data_size);
	S(m, "DmInfoMsg", struct dm_info_msg);
	O(m, "DmInfoMsg", "reserved", struct dm_info_msg, reserved);
	O(m, "DmInfoMsg", "info_size", struct dm_info_msg, info_size);
	E(m, "size_of::<DmInfoMsg>()", offsetof(struct dm_info_msg, info));
	E(m, "DYNMEM_PROTOCOL_VERSION_WIN7", DYNMEM_PROTOCOL_VERSION_WIN7);
	E(m, "DYNMEM_PROTOCOL_VERSION_WIN8", DYNMEM_PROTOCOL_VERSION_WIN8);
	E(m, "DYNMEM_PROTOCOL_VERSION_WIN10", DYNMEM_PROTOCOL_VERSION_WIN10);
	E(m, "dynmem_minor_version(0x0001_0203)", DYNMEM_MINOR_VERSION(0x00010203));
	E(m, "DmMessageType::INFO_MESSAGE.0", DM_INFO_MESSAGE);
	E(m, "DmMessageType::MEM_HOT_ADD_RESPONSE.0", DM_MEM_HOT_ADD_RESPONSE);
	memset(&vr, 0, sizeof(vr)); vr.version.major_version = 2; vr.version.minor_version = 1;
	B(m, "dynmem_make_version(2, 1)", vr.version);
	vr.is_last_attempt = 1;
	B(m, "u64::from(version_request(0, 0, true).flags)", ((u32 *)&vr)[3]);
	memset(&vresp, 0, sizeof(vresp)); vresp.is_accepted = 1;
	B(m, "1u64", ((u64 *)&vresp)[1]);
	memset(&br, 0, sizeof(br)); br.more_pages = 1; br.range_count = 0x1234567;
	B(m, "u64::from(1u32 | (0x1234567 << 1))", ((u32 *)&br)[3]);
	memset(&ur, 0, sizeof(ur)); ur.more_pages = 1;
	B(m, "1u64", ((u32 *)&ur)[2]);
	memset(&pr, 0, sizeof(pr)); pr.finfo.start_page = 0x123456789aULL; pr.finfo.page_cnt = 0xabcdef;
	B(m, "DmMemPageRange::new(0x12_3456_789a, 0xab_cdef).0", pr);
	memset(&caps, 0, sizeof(caps)); caps.cap_bits.balloon = 1; caps.cap_bits.hot_add = 1;
	caps.cap_bits.hot_add_alignment = 7;
	B(m, "DmCaps::new(true, true, 7).0", caps);
	memset(&caps, 0, sizeof(caps)); caps.cap_bits.hot_add = 1; caps.cap_bits.hot_add_alignment = 15;
	B(m, "DmCaps::new(false, true, 15).0", caps);
}

int main(void)
{
	ic();
	kvp();
	vss();
	fcopy();
	vstor();
	nvsp();
	rndis();
	dm();
	return 0;
}
