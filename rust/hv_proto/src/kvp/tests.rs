// SPDX-License-Identifier: GPL-2.0

//! Tests of the KVP wire formats and conversions.

use super::*;
use core::mem::{
    offset_of,
    size_of, //
};
use zerocopy::{
    FromZeros,
    IntoBytes, //
};

use super::super::ic::{
    IcMsgHdr,
    ICMSG_HDR, //
};

/// Sizes, offsets and constants printed by `rust/hv_proto/layout/extract.sh` (gcc 12, x86-64)
/// for `include/uapi/linux/hyperv.h` of Linux 7.2.13.
#[test]
fn c_layout() {
    assert_eq!(size_of::<KvpHdr>(), 4); // sizeof(struct hv_kvp_hdr)
    assert_eq!(offset_of!(KvpHdr, operation), 0); // offsetof(struct hv_kvp_hdr, operation)
    assert_eq!(offset_of!(KvpHdr, pool), 1); // offsetof(struct hv_kvp_hdr, pool)
    assert_eq!(offset_of!(KvpHdr, pad), 2); // offsetof(struct hv_kvp_hdr, pad)
    assert_eq!(size_of::<KvpExchgMsgValue>(), 2572); // sizeof(struct hv_kvp_exchg_msg_value)
    assert_eq!(offset_of!(KvpExchgMsgValue, value_type), 0); // offsetof(struct hv_kvp_exchg_msg_value, value_type)
    assert_eq!(offset_of!(KvpExchgMsgValue, key_size), 4); // offsetof(struct hv_kvp_exchg_msg_value, key_size)
    assert_eq!(offset_of!(KvpExchgMsgValue, value_size), 8); // offsetof(struct hv_kvp_exchg_msg_value, value_size)
    assert_eq!(offset_of!(KvpExchgMsgValue, key), 12); // offsetof(struct hv_kvp_exchg_msg_value, key)
    assert_eq!(offset_of!(KvpExchgMsgValue, value), 524); // offsetof(struct hv_kvp_exchg_msg_value, value)
    assert_eq!(X_VALUE, 524); // offsetof(struct hv_kvp_exchg_msg_value, value_u32)
    assert_eq!(X_VALUE, 524); // offsetof(struct hv_kvp_exchg_msg_value, value_u64)
    assert_eq!(size_of::<KvpMsgEnumerate>(), 2576); // sizeof(struct hv_kvp_msg_enumerate)
    assert_eq!(offset_of!(KvpMsgEnumerate, index), 0); // offsetof(struct hv_kvp_msg_enumerate, index)
    assert_eq!(offset_of!(KvpMsgEnumerate, data), 4); // offsetof(struct hv_kvp_msg_enumerate, data)
    assert_eq!(size_of::<KvpExchgMsgValue>(), 2572); // sizeof(struct hv_kvp_msg_get)
    assert_eq!(size_of::<KvpExchgMsgValue>(), 2572); // sizeof(struct hv_kvp_msg_set)
    assert_eq!(size_of::<KvpMsgDelete>(), 516); // sizeof(struct hv_kvp_msg_delete)
    assert_eq!(offset_of!(KvpMsgDelete, key_size), 0); // offsetof(struct hv_kvp_msg_delete, key_size)
    assert_eq!(offset_of!(KvpMsgDelete, key), 4); // offsetof(struct hv_kvp_msg_delete, key)
    assert_eq!(size_of::<KvpRegister>(), 512); // sizeof(struct hv_kvp_register)
    assert_eq!(offset_of!(KvpRegister, version), 0); // offsetof(struct hv_kvp_register, version)
    assert_eq!(size_of::<KvpIpaddrValue>(), 7426); // sizeof(struct hv_kvp_ipaddr_value)
    assert_eq!(offset_of!(KvpIpaddrValue, adapter_id), 0); // offsetof(struct hv_kvp_ipaddr_value, adapter_id)
    assert_eq!(offset_of!(KvpIpaddrValue, addr_family), 256); // offsetof(struct hv_kvp_ipaddr_value, addr_family)
    assert_eq!(offset_of!(KvpIpaddrValue, dhcp_enabled), 257); // offsetof(struct hv_kvp_ipaddr_value, dhcp_enabled)
    assert_eq!(offset_of!(KvpIpaddrValue, ip_addr), 258); // offsetof(struct hv_kvp_ipaddr_value, ip_addr)
    assert_eq!(offset_of!(KvpIpaddrValue, sub_net), 2306); // offsetof(struct hv_kvp_ipaddr_value, sub_net)
    assert_eq!(offset_of!(KvpIpaddrValue, gate_way), 4354); // offsetof(struct hv_kvp_ipaddr_value, gate_way)
    assert_eq!(offset_of!(KvpIpaddrValue, dns_addr), 5378); // offsetof(struct hv_kvp_ipaddr_value, dns_addr)
    assert_eq!(size_of::<KvpIpMsg>(), 7428); // sizeof(struct hv_kvp_ip_msg)
    assert_eq!(offset_of!(KvpIpMsg, operation), 0); // offsetof(struct hv_kvp_ip_msg, operation)
    assert_eq!(offset_of!(KvpIpMsg, pool), 1); // offsetof(struct hv_kvp_ip_msg, pool)
    assert_eq!(offset_of!(KvpIpMsg, kvp_ip_val), 2); // offsetof(struct hv_kvp_ip_msg, kvp_ip_val)
    assert_eq!(size_of::<KvpMsg>(), 7432); // sizeof(struct hv_kvp_msg)
    assert_eq!(offset_of!(KvpMsg, hdr), 0); // offsetof(struct hv_kvp_msg, kvp_hdr)
    assert_eq!(offset_of!(KvpMsg, hdr), 0); // offsetof(struct hv_kvp_msg, error)
    assert_eq!(offset_of!(KvpMsg, body), 4); // offsetof(struct hv_kvp_msg, body)
    assert_eq!(KVP_MSG_BODY_SIZE, 7428); // sizeof(((struct hv_kvp_msg *)0)->body)
    assert_eq!(OFF_GETSET, 4); // offsetof(struct hv_kvp_msg, body.kvp_get.data)
    assert_eq!(OFF_GETSET, 4); // offsetof(struct hv_kvp_msg, body.kvp_set.data)
    assert_eq!(OFF_GETSET + X_KEY, 16); // offsetof(struct hv_kvp_msg, body.kvp_set.data.key)
    assert_eq!(OFF_GETSET + X_VALUE, 528); // offsetof(struct hv_kvp_msg, body.kvp_set.data.value)
    assert_eq!(OFF_ENUM_INDEX, 4); // offsetof(struct hv_kvp_msg, body.kvp_enum_data.index)
    assert_eq!(OFF_ENUM_DATA, 8); // offsetof(struct hv_kvp_msg, body.kvp_enum_data.data)
    assert_eq!(OFF_ENUM_DATA + X_KEY, 20); // offsetof(struct hv_kvp_msg, body.kvp_enum_data.data.key)
    assert_eq!(OFF_ENUM_DATA + X_VALUE, 532); // offsetof(struct hv_kvp_msg, body.kvp_enum_data.data.value)
    assert_eq!(OFF_DEL_KEY_SIZE, 4); // offsetof(struct hv_kvp_msg, body.kvp_delete.key_size)
    assert_eq!(OFF_DEL_KEY, 8); // offsetof(struct hv_kvp_msg, body.kvp_delete.key)
    assert_eq!(OFF_DAEMON_IP, 4); // offsetof(struct hv_kvp_msg, body.kvp_ip_val)
    assert_eq!(OFF_DAEMON_IP + IP_ADDR, 262); // offsetof(struct hv_kvp_msg, body.kvp_ip_val.ip_addr)
    assert_eq!(OFF_HOST_IP + IP_DNS, 5380); // offsetof(struct hv_kvp_ip_msg, kvp_ip_val.dns_addr)
    assert_eq!(OFF_BODY, 4); // offsetof(struct hv_kvp_msg, body.kvp_register.version)
    assert_eq!(HV_KVP_EXCHANGE_MAX_VALUE_SIZE, 2048); // HV_KVP_EXCHANGE_MAX_VALUE_SIZE
    assert_eq!(HV_KVP_EXCHANGE_MAX_KEY_SIZE, 512); // HV_KVP_EXCHANGE_MAX_KEY_SIZE
    assert_eq!(MAX_ADAPTER_ID_SIZE, 128); // MAX_ADAPTER_ID_SIZE
    assert_eq!(MAX_IP_ADDR_SIZE, 1024); // MAX_IP_ADDR_SIZE
    assert_eq!(MAX_GATEWAY_SIZE, 512); // MAX_GATEWAY_SIZE
    assert_eq!(KvpValueType::REG_SZ.0, 1); // REG_SZ
    assert_eq!(KvpValueType::REG_U32.0, 4); // REG_U32
    assert_eq!(KvpValueType::REG_U64.0, 8); // REG_U64
    assert_eq!(KVP_OP_REGISTER.0, 4); // KVP_OP_REGISTER
    assert_eq!(KvpOp::REGISTER1.0, 100); // KVP_OP_REGISTER1
    assert_eq!(KvpOp::GET.0, 0); // KVP_OP_GET
    assert_eq!(KvpOp::SET.0, 1); // KVP_OP_SET
    assert_eq!(KvpOp::DELETE.0, 2); // KVP_OP_DELETE
    assert_eq!(KvpOp::ENUMERATE.0, 3); // KVP_OP_ENUMERATE
    assert_eq!(KvpOp::GET_IP_INFO.0, 4); // KVP_OP_GET_IP_INFO
    assert_eq!(KvpOp::SET_IP_INFO.0, 5); // KVP_OP_SET_IP_INFO
    assert_eq!(KvpPool::AUTO_INTERNAL.0, 4); // KVP_POOL_AUTO_INTERNAL
    assert_eq!(AddrFamily::IPV6.0, 2); // ADDR_FAMILY_IPV6
}

/// Writes `s` as UTF-16LE at the start of `dst`; returns the number of units.
fn put_utf16(dst: &mut [u8], s: &str) -> usize {
    let mut n = 0;
    for (i, u) in s.encode_utf16().enumerate() {
        dst[2 * i..2 * i + 2].copy_from_slice(&u.to_le_bytes());
        n += 1;
    }
    n
}

/// Converts units to little-endian bytes.
fn units(u: &[u16]) -> [u8; 64] {
    let mut b = [0u8; 64];
    for (i, x) in u.iter().enumerate() {
        b[2 * i..2 * i + 2].copy_from_slice(&x.to_le_bytes());
    }
    b
}

/// Converts UTF-16 units with a `maxout`-byte destination.
fn conv16(u: &[u16], maxout: usize) -> ([u8; 64], usize) {
    let src = units(u);
    let mut dst = [0xEEu8; 64];
    let n = utf16s_to_utf8s(&src[..u.len() * 2], u.len(), &mut dst[..maxout]);
    (dst, n)
}

#[test]
fn utf16_to_utf8_basic() {
    let (d, n) = conv16(&[u16::from(b'a'), 0xe9, 0x20ac], 64);
    assert_eq!(&d[..n], "a\u{e9}\u{20ac}".as_bytes());
    // A surrogate pair becomes one 4-byte character.
    let (d, n) = conv16(&[0xd83d, 0xde00, u16::from(b'!')], 64);
    assert_eq!(&d[..n], "\u{1f600}!".as_bytes());
    // NUL ends the input; nothing is terminated.
    let (d, n) = conv16(&[u16::from(b'x'), 0, u16::from(b'y')], 64);
    assert_eq!(n, 1);
    assert_eq!(&d[..2], &[b'x', 0xEE]);
}

#[test]
fn utf16_to_utf8_surrogates() {
    // Lone low surrogate: skipped.
    let (d, n) = conv16(&[0xdc00, u16::from(b'a')], 64);
    assert_eq!(&d[..n], b"a");
    // High surrogate followed by a non-low unit: the high one is skipped, the next converted.
    let (d, n) = conv16(&[0xd800, u16::from(b'b'), u16::from(b'c')], 64);
    assert_eq!(&d[..n], b"bc");
    // Two high surrogates then a low one: the first is skipped, the pair converts.
    let (d, n) = conv16(&[0xd83d, 0xd83d, 0xde00], 64);
    assert_eq!(&d[..n], "\u{1f600}".as_bytes());
    // High surrogate as the last input unit: the input ends.
    let (d, n) = conv16(&[u16::from(b'a'), 0xd83d], 64);
    assert_eq!(&d[..n], b"a");
    // ... also when `inlen` cuts the pair.
    let src = units(&[0xd83d, 0xde00]);
    let mut dst = [0u8; 8];
    assert_eq!(utf16s_to_utf8s(&src[..4], 1, &mut dst), 0);
}

#[test]
fn utf16_to_utf8_truncation() {
    // A character that does not fit completely is not written, and conversion stops.
    let (d, n) = conv16(&[u16::from(b'a'), 0x20ac, u16::from(b'b')], 3);
    assert_eq!(n, 1);
    assert_eq!(&d[..1], b"a");
    let (_, n) = conv16(&[0xe9], 1);
    assert_eq!(n, 0);
    let (_, n) = conv16(&[0xd83d, 0xde00], 3);
    assert_eq!(n, 0);
    let (d, n) = conv16(&[0xd83d, 0xde00], 4);
    assert_eq!(&d[..n], "\u{1f600}".as_bytes());
    // `inlen` limits the input, `src` too (odd trailing byte ignored).
    let src = units(&[u16::from(b'a'), u16::from(b'b'), u16::from(b'c')]);
    let mut dst = [0u8; 8];
    assert_eq!(utf16s_to_utf8s(&src[..6], 2, &mut dst), 2);
    assert_eq!(utf16s_to_utf8s(&src[..5], 100, &mut dst), 2);
    assert_eq!(utf16s_to_utf8s(&src[..6], 0, &mut dst), 0);
    assert_eq!(utf16s_to_utf8s(&src[..6], 3, &mut []), 0);
}

#[test]
fn utf8_to_utf16() {
    let mut dst = [0u8; 32];
    let n = utf8s_to_utf16s("a\u{e9}\u{20ac}\u{1f600}".as_bytes(), &mut dst, 16).unwrap();
    assert_eq!(n, 5);
    let expect = units(&[u16::from(b'a'), 0xe9, 0x20ac, 0xd83d, 0xde00]);
    assert_eq!(&dst[..10], &expect[..10]);
    // NUL ends the input (strlen).
    let mut dst = [0u8; 8];
    assert_eq!(utf8s_to_utf16s(b"ab\0cd", &mut dst, 4).unwrap(), 2);
    // maxout limits; a supplementary character needs two units.
    let mut dst = [0u8; 8];
    assert_eq!(utf8s_to_utf16s(b"abc", &mut dst, 2).unwrap(), 2);
    assert_eq!(
        utf8s_to_utf16s("\u{1f600}".as_bytes(), &mut dst, 1).unwrap(),
        0
    );
    assert_eq!(
        utf8s_to_utf16s("a\u{1f600}".as_bytes(), &mut dst, 2).unwrap(),
        1
    );
    // The destination buffer limits too.
    assert_eq!(utf8s_to_utf16s(b"abc", &mut dst[..3], 10).unwrap(), 1);
}

#[test]
fn utf8_to_utf16_invalid() {
    let bad: [&[u8]; 9] = [
        b"\x80",                 // lone continuation byte
        b"\xc0\x80",             // overlong NUL
        b"\xe0\x80\xaf",         // overlong '/'
        b"\xed\xa0\x80",         // surrogate
        b"\xf4\x90\x80\x80",     // above U+10FFFF
        b"\xe2\x82",             // truncated
        b"\xe2\x82\0",           // truncated by NUL
        b"\xf8\x88\x80\x80\x80", // 5-byte form
        b"\xc3\x28",             // bad continuation
    ];
    for b in bad {
        let mut dst = [0u8; 16];
        assert_eq!(
            utf8s_to_utf16s(b, &mut dst, 8),
            Err(Error::InvalidUtf8),
            "{b:x?}"
        );
    }
    // Units before the error stay written.
    let mut dst = [0u8; 16];
    assert_eq!(
        utf8s_to_utf16s(b"ab\xff", &mut dst, 8),
        Err(Error::InvalidUtf8)
    );
    assert_eq!(&dst[..4], &[b'a', 0, b'b', 0]);
    // An error after maxout is reached is never seen.
    assert_eq!(utf8s_to_utf16s(b"ab\xff", &mut dst, 2), Ok(2));
}

/// A zeroed host message (the bytes after the IC header).
fn host_msg() -> KvpMsg {
    KvpMsg::new_zeroed()
}

#[test]
fn host_to_daemon_set_string() {
    let mut h = host_msg();
    h.hdr.operation = KvpOp::SET;
    h.hdr.pool = KvpPool::GUEST;
    {
        let d: &mut KvpExchgMsgValue = h.body_mut().unwrap();
        d.value_type = KvpValueType::REG_SZ;
        let k = put_utf16(&mut d.key, "Key\u{e9}");
        d.key_size = (2 * (k + 1)) as u32;
        let v = put_utf16(&mut d.value, "val\u{1f600}");
        d.value_size = (2 * (v + 1)) as u32;
    }
    let mut out = KvpMsg::new_zeroed();
    out.body.fill(0xAA); // Cleared by the conversion.
    host_to_daemon(h.as_bytes(), &mut out).unwrap();
    assert_eq!({ out.hdr.operation }, KvpOp::SET);
    assert_eq!({ out.hdr.pool }, KvpPool::GUEST);
    let d: &KvpExchgMsgValue = out.body_ref().unwrap();
    assert_eq!({ d.value_type }, KvpValueType(0)); // Not copied, as in C.
    assert_eq!({ d.key_size }, 6);
    assert_eq!(&d.key[..6], "Key\u{e9}\0".as_bytes());
    assert_eq!({ d.value_size }, 8);
    assert_eq!(&d.value[..8], "val\u{1f600}\0".as_bytes());
}

#[test]
fn host_to_daemon_set_scalars_and_sizes() {
    let mut h = host_msg();
    h.hdr.operation = KvpOp::SET;
    let mut out = KvpMsg::new_zeroed();
    for (ty, raw, text) in [
        (KvpValueType::REG_U32, 4_294_967_295u64, &b"4294967295"[..]),
        (
            KvpValueType::REG_U64,
            u64::MAX,
            &b"18446744073709551615"[..],
        ),
        (KvpValueType::REG_U64, 0, &b"0"[..]),
    ] {
        {
            let d: &mut KvpExchgMsgValue = h.body_mut().unwrap();
            d.value_type = ty;
            d.value[..8].copy_from_slice(&raw.to_le_bytes());
        }
        host_to_daemon(h.as_bytes(), &mut out).unwrap();
        let d: &KvpExchgMsgValue = out.body_ref().unwrap();
        assert_eq!({ d.value_size } as usize, text.len() + 1);
        assert_eq!(&d.value[..text.len() + 1], &[text, &[0][..]].concat()[..]);
        assert_eq!({ d.key_size }, 1); // Empty key.
    }
    // REG_U32 only reads 32 bits.
    {
        let d: &mut KvpExchgMsgValue = h.body_mut().unwrap();
        d.value_type = KvpValueType::REG_U32;
        d.value[..8].copy_from_slice(&0x1_0000_0007u64.to_le_bytes());
    }
    host_to_daemon(h.as_bytes(), &mut out).unwrap();
    assert_eq!(
        &out.body_ref::<KvpExchgMsgValue>().unwrap().value[..2],
        b"7\0"
    );
    // An unknown type leaves the value empty with size 0.
    {
        let d: &mut KvpExchgMsgValue = h.body_mut().unwrap();
        d.value_type = KvpValueType(11);
    }
    host_to_daemon(h.as_bytes(), &mut out).unwrap();
    let d: &KvpExchgMsgValue = out.body_ref().unwrap();
    assert_eq!({ d.value_size }, 0);
    assert_eq!(d.value[0], 0);
}

#[test]
fn host_to_daemon_sizes_are_units() {
    // The host sizes are bytes but C uses them as UTF-16 unit counts.
    let mut h = host_msg();
    h.hdr.operation = KvpOp::SET;
    {
        let d: &mut KvpExchgMsgValue = h.body_mut().unwrap();
        d.value_type = KvpValueType::REG_SZ;
        put_utf16(&mut d.value, "abcdef"); // not terminated within the size
        d.value_size = 4; // 4 "bytes" = 4 units in C
        put_utf16(&mut d.key, "kkkkkk");
        d.key_size = 0x8000_0000; // negative as `int`: nothing converted
    }
    let mut out = KvpMsg::new_zeroed();
    host_to_daemon(h.as_bytes(), &mut out).unwrap();
    let d: &KvpExchgMsgValue = out.body_ref().unwrap();
    assert_eq!(&d.value[..5], b"abcd\0");
    assert_eq!({ d.value_size }, 5);
    assert_eq!({ d.key_size }, 1);
    assert_eq!(d.key[0], 0);
}

#[test]
fn host_to_daemon_truncation_limits() {
    // Key: at most 511 bytes; value: at most 2047 bytes (room for the terminator).
    let mut h = host_msg();
    h.hdr.operation = KvpOp::SET;
    {
        let d: &mut KvpExchgMsgValue = h.body_mut().unwrap();
        d.value_type = KvpValueType::REG_SZ;
        for i in 0..256 {
            d.key[2 * i..2 * i + 2].copy_from_slice(&0xe9u16.to_le_bytes()); // 2 UTF-8 bytes
        }
        d.key_size = 512;
        for i in 0..1024 {
            d.value[2 * i..2 * i + 2].copy_from_slice(&(u16::from(b'v')).to_le_bytes());
        }
        d.value_size = 2048;
    }
    let mut out = KvpMsg::new_zeroed();
    host_to_daemon(h.as_bytes(), &mut out).unwrap();
    let d: &KvpExchgMsgValue = out.body_ref().unwrap();
    // 255 characters of 2 bytes fit in 511 bytes.
    assert_eq!({ d.key_size }, 511);
    assert_eq!(d.key[510], 0);
    assert_eq!(d.key[509], 0xa9);
    // The value field holds 1024 units, all converted (1024 < 2047).
    assert_eq!({ d.value_size }, 1025);
    assert!(d.value[..1024].iter().all(|&b| b == b'v'));
    assert_eq!(d.value[1024], 0);
}

#[test]
fn host_to_daemon_get_delete_enumerate_unknown() {
    let mut h = host_msg();
    h.hdr.operation = KvpOp::GET;
    {
        let d: &mut KvpExchgMsgValue = h.body_mut().unwrap();
        let n = put_utf16(&mut d.key, "Name");
        d.key_size = (2 * n + 2) as u32;
        put_utf16(&mut d.value, "ignored");
        d.value_size = 16;
    }
    let mut out = KvpMsg::new_zeroed();
    host_to_daemon(h.as_bytes(), &mut out).unwrap();
    let d: &KvpExchgMsgValue = out.body_ref().unwrap();
    assert_eq!(&d.key[..5], b"Name\0");
    assert_eq!({ d.key_size }, 5);
    assert_eq!({ d.value_size }, 0);
    assert_eq!(d.value[0], 0);

    let mut h = host_msg();
    h.hdr.operation = KvpOp::DELETE;
    {
        let d: &mut KvpMsgDelete = h.body_mut().unwrap();
        let n = put_utf16(&mut d.key, "Gone");
        d.key_size = (2 * n + 2) as u32;
    }
    host_to_daemon(h.as_bytes(), &mut out).unwrap();
    let d: &KvpMsgDelete = out.body_ref().unwrap();
    assert_eq!(&d.key[..5], b"Gone\0");
    assert_eq!({ d.key_size }, 5);

    let mut h = host_msg();
    h.hdr.operation = KvpOp::ENUMERATE;
    h.hdr.pool = KvpPool::AUTO;
    h.body_mut::<KvpMsgEnumerate>().unwrap().index = 7;
    h.body_mut::<KvpMsgEnumerate>().unwrap().data.key[0] = b'z';
    host_to_daemon(h.as_bytes(), &mut out).unwrap();
    let e: &KvpMsgEnumerate = out.body_ref().unwrap();
    assert_eq!({ e.index }, 7);
    assert_eq!(e.data.key[0], 0);
    assert_eq!({ out.hdr.pool }, KvpPool::AUTO);

    // Unknown operations (including the registration codes) carry only the header.
    let mut h = host_msg();
    h.hdr.operation = KvpOp(77);
    h.body.fill(0x41);
    host_to_daemon(h.as_bytes(), &mut out).unwrap();
    assert_eq!({ out.hdr.operation }, KvpOp(77));
    assert!(out.body.iter().all(|&b| b == 0));
}

#[test]
fn host_to_daemon_short_and_truncated() {
    // A host message that ends after the header reads as zeros.
    let mut h = [0u8; 4];
    h[0] = KvpOp::SET.0;
    let mut out = KvpMsg::new_zeroed();
    host_to_daemon(&h, &mut out).unwrap();
    let d: &KvpExchgMsgValue = out.body_ref().unwrap();
    assert_eq!(({ d.key_size }, { d.value_size }), (1, 0));
    // A key cut by the end of the packet.
    let mut full = host_msg();
    full.hdr.operation = KvpOp::GET;
    {
        let d: &mut KvpExchgMsgValue = full.body_mut().unwrap();
        put_utf16(&mut d.key, "abcdef");
        d.key_size = 14;
    }
    let cut = OFF_GETSET + X_KEY + 6; // "abc"
    host_to_daemon(&full.as_bytes()[..cut], &mut out).unwrap();
    assert_eq!(
        &out.body_ref::<KvpExchgMsgValue>().unwrap().key[..4],
        b"abc\0"
    );
    // Shorter than the header.
    assert_eq!(
        host_to_daemon(&h[..3], &mut out),
        Err(Error::Truncated { need: 4, have: 3 })
    );
}

/// Builds a host IP message.
fn host_ip(op: KvpOp) -> KvpIpMsg {
    let mut m = KvpIpMsg::new_zeroed();
    m.operation = op;
    m.pool = KvpPool::EXTERNAL;
    m.kvp_ip_val.addr_family = AddrFamily::IPV4;
    m.kvp_ip_val.dhcp_enabled = 1;
    put_utf16(
        &mut m.kvp_ip_val.adapter_id,
        "{8c0e9b70-0000-0000-0000-000000000000}",
    );
    put_utf16(&mut m.kvp_ip_val.ip_addr, "10.0.0.2;10.0.0.3");
    put_utf16(&mut m.kvp_ip_val.sub_net, "255.255.255.0");
    for i in 0..MAX_GATEWAY_SIZE {
        m.kvp_ip_val.gate_way[2 * i] = b'g'; // 512 units, unterminated
    }
    put_utf16(&mut m.kvp_ip_val.dns_addr, "10.0.0.1");
    m
}

#[test]
fn host_to_daemon_ip() {
    let h = host_ip(KvpOp::SET_IP_INFO);
    let mut out = KvpMsg::new_zeroed();
    host_to_daemon(h.as_bytes(), &mut out).unwrap();
    let ip: &KvpIpaddrValue = out.body_ref().unwrap();
    assert_eq!(&ip.ip_addr[..18], b"10.0.0.2;10.0.0.3\0");
    assert_eq!(&ip.sub_net[..14], b"255.255.255.0\0");
    assert_eq!(&ip.dns_addr[..9], b"10.0.0.1\0");
    // The gateway fills its 512 bytes (MAX_GATEWAY_SIZE, no room kept for a terminator).
    assert!(ip.gate_way[..512].iter().all(|&b| b == b'g'));
    assert_eq!(ip.gate_way[512], 0);
    assert_eq!(
        &ip.adapter_id[..39],
        b"{8c0e9b70-0000-0000-0000-000000000000}\0"
    );
    assert_eq!({ ip.addr_family }, AddrFamily::IPV4);
    assert_eq!(ip.dhcp_enabled, 1);

    // GET_IP_INFO passes only the adapter id and the family.
    let h = host_ip(KvpOp::GET_IP_INFO);
    host_to_daemon(h.as_bytes(), &mut out).unwrap();
    let ip: &KvpIpaddrValue = out.body_ref().unwrap();
    assert_eq!(ip.adapter_id[0], b'{');
    assert_eq!({ ip.addr_family }, AddrFamily::IPV4);
    assert_eq!(ip.dhcp_enabled, 0);
    assert_eq!(ip.ip_addr[0], 0);

    // The adapter id is cut at 128 bytes.
    let mut h = host_ip(KvpOp::GET_IP_INFO);
    for i in 0..MAX_ADAPTER_ID_SIZE {
        h.kvp_ip_val.adapter_id[2 * i..2 * i + 2].copy_from_slice(&0xe9u16.to_le_bytes());
    }
    host_to_daemon(h.as_bytes(), &mut out).unwrap();
    let ip: &KvpIpaddrValue = out.body_ref().unwrap();
    assert_eq!(&ip.adapter_id[126..129], &[0xc3, 0xa9, 0]);
}

/// A receive buffer holding an IC header and `body`.
fn packet(body: &[u8]) -> [u8; KVP_MAX_PKT_SIZE] {
    let mut p = [0u8; KVP_MAX_PKT_SIZE];
    p[ICMSG_HDR..ICMSG_HDR + body.len()].copy_from_slice(body);
    p
}

/// Reads the IC header of a packet.
fn ic_hdr(p: &[u8]) -> IcMsgHdr {
    super::super::ic::parse_ic_message(p).unwrap().hdr
}

/// A daemon reply with an enumerate-layout key and value.
fn daemon_enum(key: &[u8], value: &[u8]) -> KvpMsg {
    let mut d = KvpMsg::new_zeroed();
    d.hdr.operation = KvpOp::ENUMERATE;
    let e: &mut KvpMsgEnumerate = d.body_mut().unwrap();
    e.data.key[..key.len()].copy_from_slice(key);
    e.data.value[..value.len()].copy_from_slice(value);
    d
}

#[test]
fn daemon_to_host_enumerate() {
    let mut p = packet(&[]);
    let d = daemon_enum(b"OSName\0", "Debian \u{e9}\0".as_bytes());
    let st = daemon_to_host(KvpOp::ENUMERATE, Some(&d), HvStatus::S_OK, &mut p).unwrap();
    assert_eq!(st, HvStatus::S_OK);
    let h = ic_hdr(&p);
    assert_eq!({ h.status }, HvStatus::S_OK);
    assert_eq!(h.icflags, 5);
    let host = &p[ICMSG_HDR..];
    let e = KvpMsgEnumerate::read_from_prefix(&host[OFF_ENUM_INDEX..])
        .unwrap()
        .0;
    assert_eq!({ e.data.value_type }, KvpValueType::REG_SZ);
    assert_eq!({ e.data.key_size }, 14);
    assert_eq!(&e.data.key[..12], &units(&[79, 83, 78, 97, 109, 101])[..12]);
    assert_eq!({ e.data.value_size }, 18);
    assert_eq!(&e.data.value[14..16], &[0xe9, 0]);
}

#[test]
fn daemon_to_host_limits_and_errors() {
    // Key at most 254 units, value at most 1022 units.
    let key = [b'k'; 400];
    let value = [b'v'; 2000];
    let d = daemon_enum(&key, &value[..2000]);
    let mut p = packet(&[]);
    daemon_to_host(KvpOp::ENUMERATE, Some(&d), HvStatus::S_OK, &mut p).unwrap();
    let e = KvpMsgEnumerate::read_from_prefix(&p[ICMSG_HDR + OFF_ENUM_INDEX..])
        .unwrap()
        .0;
    assert_eq!({ e.data.key_size }, 2 * 255);
    assert_eq!({ e.data.value_size }, 2 * 1023);
    assert_eq!(e.data.key[2 * 254], 0);
    assert_eq!(e.data.value[2 * 1021], b'v');
    assert_eq!(e.data.value[2 * 1022], 0);

    // Invalid UTF-8 in the value: HV_E_FAIL, sizes from C's -EINVAL.
    let d = daemon_enum(b"k\0", b"\xff\0");
    let mut p = packet(&[]);
    let st = daemon_to_host(KvpOp::ENUMERATE, Some(&d), HvStatus::S_OK, &mut p).unwrap();
    assert_eq!(st, HvStatus::E_FAIL);
    assert_eq!({ ic_hdr(&p).status }, HvStatus::E_FAIL);
    let e = KvpMsgEnumerate::read_from_prefix(&p[ICMSG_HDR + OFF_ENUM_INDEX..])
        .unwrap()
        .0;
    assert_eq!({ e.data.key_size }, 4);
    assert_eq!({ e.data.value_size }, 0xFFFF_FFD6);

    // A failure status is passed through and nothing else is written.
    let d = daemon_enum(b"k\0", b"v\0");
    let mut p = packet(&[0x55; 64]);
    let st = daemon_to_host(KvpOp::ENUMERATE, Some(&d), HvStatus::S_CONT, &mut p).unwrap();
    assert_eq!(st, HvStatus::S_CONT);
    assert!(p[ICMSG_HDR..ICMSG_HDR + 64].iter().all(|&b| b == 0x55));
    // No reply: E_FAIL.
    let st = daemon_to_host(KvpOp::GET, None, HvStatus::S_OK, &mut p).unwrap();
    assert_eq!(st, HvStatus::E_FAIL);
    // A too small packet buffer.
    let mut small = [0u8; ICMSG_HDR + 100];
    assert!(matches!(
        daemon_to_host(KvpOp::ENUMERATE, Some(&d), HvStatus::S_OK, &mut small),
        Err(Error::Truncated { .. })
    ));
    assert!(daemon_to_host(KvpOp::SET, Some(&d), HvStatus::S_OK, &mut small).is_ok());
    assert!(daemon_to_host(KvpOp::SET, Some(&d), HvStatus::S_OK, &mut small[..27]).is_err());
}

#[test]
fn daemon_to_host_get_set_delete() {
    // GET: the value comes from the get layout the daemon fills.
    let mut d = KvpMsg::new_zeroed();
    d.hdr.operation = KvpOp::GET;
    d.body_mut::<KvpExchgMsgValue>().unwrap().value[..6].copy_from_slice(b"hello\0");
    let mut p = packet(&[]);
    let st = daemon_to_host(KvpOp::GET, Some(&d), HvStatus::S_OK, &mut p).unwrap();
    assert_eq!(st, HvStatus::S_OK);
    let x = KvpExchgMsgValue::read_from_prefix(&p[ICMSG_HDR + OFF_GETSET..])
        .unwrap()
        .0;
    assert_eq!({ x.value_size }, 12);
    assert_eq!(&x.value[..10], &units(&[104, 101, 108, 108, 111])[..10]);
    assert_eq!({ x.key_size }, 0); // The key is left as the host sent it.
    assert_eq!({ x.value_type }, KvpValueType::REG_SZ);

    for op in [KvpOp::SET, KvpOp::DELETE, KvpOp::SET_IP_INFO] {
        let mut p = packet(&[0x33; 32]);
        let st = daemon_to_host(op, Some(&d), HvStatus::S_OK, &mut p).unwrap();
        assert_eq!(st, HvStatus::S_OK);
        assert!(p[ICMSG_HDR..ICMSG_HDR + 32].iter().all(|&b| b == 0x33));
    }
}

#[test]
fn daemon_to_host_ip() {
    let mut d = KvpMsg::new_zeroed();
    d.hdr.operation = KvpOp::GET_IP_INFO;
    {
        let ip: &mut KvpIpaddrValue = d.body_mut().unwrap();
        ip.ip_addr[..8].copy_from_slice(b"10.1.2.3");
        ip.sub_net[..2].copy_from_slice(b"24");
        ip.gate_way[..8].copy_from_slice(b"10.1.2.1");
        ip.dns_addr[..7].copy_from_slice(b"8.8.8.8");
        ip.adapter_id[..3].copy_from_slice(b"eth");
        ip.addr_family = AddrFamily::IPV6;
        ip.dhcp_enabled = 1;
    }
    let mut p = packet(host_ip(KvpOp::GET_IP_INFO).as_bytes());
    let st = daemon_to_host(KvpOp::GET_IP_INFO, Some(&d), HvStatus::S_OK, &mut p).unwrap();
    assert_eq!(st, HvStatus::S_OK);
    let m = KvpIpMsg::read_from_prefix(&p[ICMSG_HDR..]).unwrap().0;
    assert_eq!(
        &m.kvp_ip_val.ip_addr[..16],
        &units(&[49, 48, 46, 49, 46, 50, 46, 51])[..16]
    );
    assert_eq!(&m.kvp_ip_val.sub_net[..4], &[b'2', 0, b'4', 0]);
    assert_eq!({ m.kvp_ip_val.addr_family }, AddrFamily::IPV6);
    assert_eq!(m.kvp_ip_val.dhcp_enabled, 1);
    // No terminator is written: the host's old characters after "eth" remain, as in C.
    assert_eq!(
        &m.kvp_ip_val.adapter_id[..8],
        &[b'e', 0, b't', 0, b'h', 0, b'0', 0]
    );

    // Invalid UTF-8 in one field: E_FAIL, family and DHCP not copied.
    d.body_mut::<KvpIpaddrValue>().unwrap().gate_way[0] = 0xc0;
    let mut p = packet(host_ip(KvpOp::GET_IP_INFO).as_bytes());
    let st = daemon_to_host(KvpOp::GET_IP_INFO, Some(&d), HvStatus::S_OK, &mut p).unwrap();
    assert_eq!(st, HvStatus::E_FAIL);
    let m = KvpIpMsg::read_from_prefix(&p[ICMSG_HDR..]).unwrap().0;
    assert_eq!({ m.kvp_ip_val.addr_family }, AddrFamily::IPV4);
    assert_eq!(m.kvp_ip_val.ip_addr[0], b'1');
}

#[test]
fn daemon_registration_and_status() {
    let mut m = KvpMsg::new_zeroed();
    m.hdr.operation = KvpOp::REGISTER1;
    assert_eq!(parse_daemon_register(&m), Ok(KvpDaemonVersion::Register1));
    m.hdr.operation = KVP_OP_REGISTER;
    assert_eq!(parse_daemon_register(&m), Ok(KvpDaemonVersion::Legacy));
    m.hdr.operation = KvpOp(5);
    assert_eq!(
        parse_daemon_register(&m),
        Err(Error::IncompatibleDaemon(KvpOp(5)))
    );

    let mut reply = KvpMsg::new_zeroed();
    reply.body.fill(1);
    build_register_reply(&mut reply, KvpDaemonVersion::Register1);
    assert_eq!({ reply.hdr.operation }, KvpOp::REGISTER1);
    assert_eq!(
        &reply.body_ref::<KvpRegister>().unwrap().version[..4],
        b"3.1\0"
    );
    assert!(reply.body[4..].iter().all(|&b| b == 0));

    let mut d = daemon_enum(b"\0", b"x\0");
    assert_eq!(
        daemon_status(&d, KvpDaemonVersion::Legacy),
        HvStatus::S_CONT
    );
    d.body_mut::<KvpMsgEnumerate>().unwrap().data.key[0] = b'a';
    assert_eq!(daemon_status(&d, KvpDaemonVersion::Legacy), HvStatus::S_OK);
    d.set_error(HvStatus::GUID_NOTFOUND);
    assert_eq!(d.error(), HvStatus::GUID_NOTFOUND);
    assert_eq!(d.as_bytes()[..4], HvStatus::GUID_NOTFOUND.0.to_le_bytes());
    assert_eq!(
        daemon_status(&d, KvpDaemonVersion::Register1),
        HvStatus::GUID_NOTFOUND
    );

    let bytes = d.as_bytes();
    assert!(parse_daemon_msg(bytes).is_ok());
    let mut longer = [0u8; 7500];
    longer[..7432].copy_from_slice(bytes);
    assert!(parse_daemon_msg(&longer).is_ok());
    assert_eq!(
        parse_daemon_msg(&bytes[..7431]).unwrap_err(),
        Error::Truncated {
            need: 7432,
            have: 7431
        }
    );
}

#[test]
fn value_union_and_views() {
    let mut v = KvpExchgMsgValue::new_zeroed();
    v.value[..8].copy_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
    assert_eq!(v.value_u32(), 0x5566_7788);
    assert_eq!(v.value_u64(), 0x1122_3344_5566_7788);
    let m = KvpMsg::new_zeroed();
    assert!(m.body_ref::<KvpIpaddrValue>().is_ok());
    assert!(m.body_ref::<KvpMsgEnumerate>().is_ok());
    assert_eq!(KvpOp(4), KVP_OP_REGISTER);
    assert_eq!(KvpOp(4).name(), Some("GET_IP_INFO"));
    assert!(!KvpPool(9).is_known());
}

use super::super::test_rng::Rng;

#[test]
fn fuzz_smoke() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut host = [0u8; 8192];
    let mut packet = [0u8; KVP_MAX_PKT_SIZE];
    let mut out = KvpMsg::new_zeroed();
    let ops = [0u8, 1, 2, 3, 4, 5, 100, 200];
    for _ in 0..600 {
        let len = rng.below(host.len() + 1);
        rng.fill(&mut host[..len]);
        if len > 0 {
            host[0] = ops[rng.below(ops.len())];
        }
        if len > 4 {
            host[4] = [1u8, 4, 8, 9][rng.below(4)]; // value_type of get/set
        }
        let _ = host_to_daemon(&host[..len], &mut out);
        // The daemon's reply: random bytes, answered for a random host operation.
        rng.fill(out.body.as_mut_bytes());
        let op = KvpOp(ops[rng.below(ops.len())]);
        let cap = rng.below(packet.len() + 1);
        let status = [HvStatus::S_OK, HvStatus::S_CONT][rng.below(2)];
        let _ = daemon_to_host(op, Some(&out), status, &mut packet[..cap]);
        let _ = parse_daemon_msg(&host[..len]);
        let _ = parse_daemon_register(&out);
        let _ = daemon_status(&out, KvpDaemonVersion::Legacy);
        let mut dst = [0u8; 700];
        let dlen = rng.below(dst.len() + 1);
        let _ = utf16s_to_utf8s(&host[..len.min(600)], rng.below(400), &mut dst[..dlen]);
        let _ = utf8s_to_utf16s(&host[..len.min(600)], &mut dst[..dlen], rng.below(400));
    }
}
