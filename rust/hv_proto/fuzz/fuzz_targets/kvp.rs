// SPDX-License-Identifier: GPL-2.0

//! KVP, both directions: host requests turned into daemon messages, daemon replies written
//! back into host packets, and the UTF-16/UTF-8 conversions (checked against the standard
//! library on valid text).
//!
//! Modes (first byte): 0 the rest is a host message; 1 `[length u16][patches]` builds a
//! host message of that length; 2 `[host op u8][status u8][packet length u16][patches]` builds
//! a daemon reply and answers the host; 3 `[inlen u16][out length u16][bytes]` runs the
//! conversions. Patches are `[offset u16][chunk]` (see `hv_proto_fuzz::apply_patches`).

#![no_main]

use hv_proto::ic::{HvStatus, ICMSG_HDR};
use hv_proto::kvp::{
    build_register_reply, daemon_status, daemon_to_host, host_to_daemon, parse_daemon_msg,
    parse_daemon_register, utf16s_to_utf8s, utf8s_to_utf16s, KvpExchgMsgValue, KvpMsg, KvpOp,
    KVP_MAX_PKT_SIZE,
};
use hv_proto_fuzz::{apply_patches, Cursor};
use libfuzzer_sys::fuzz_target;
use zerocopy::{FromZeros, IntoBytes};

/// Checks that `key` holds `size - 1` non-NUL bytes and a NUL.
fn check_string(bytes: &[u8], size: u32) {
    let n = size as usize;
    assert!(n >= 1 && n <= bytes.len(), "size {n}");
    assert!(!bytes[..n - 1].contains(&0));
    assert_eq!(bytes[n - 1], 0);
    assert!(std::str::from_utf8(&bytes[..n - 1]).is_ok());
}

fn host(msg: &[u8]) {
    let mut out = KvpMsg::new_zeroed();
    let r = host_to_daemon(msg, &mut out);
    assert_eq!(r.is_ok(), msg.len() >= 4);
    if r.is_err() {
        return;
    }
    assert_eq!(
        (out.hdr.operation.0, out.hdr.pool.0),
        (msg[0], msg[1]),
        "header copied"
    );
    match out.hdr.operation {
        KvpOp::SET | KvpOp::GET => {
            let v: &KvpExchgMsgValue = out.body_ref().unwrap();
            check_string(&v.key, v.key_size);
            if out.hdr.operation == KvpOp::SET && v.value_size != 0 {
                check_string(&v.value, v.value_size);
            }
        }
        _ => {}
    }
}

fn daemon(c: &mut Cursor<'_>) {
    let host_op = KvpOp(c.u8() % 8);
    let status = match c.u8() % 4 {
        0 | 1 => HvStatus::S_OK,
        2 => HvStatus::E_FAIL,
        _ => HvStatus::S_CONT,
    };
    let pkt_len = usize::from(c.u16()) % (KVP_MAX_PKT_SIZE + 1);
    let mut raw = vec![0u8; core::mem::size_of::<KvpMsg>()];
    apply_patches(c, &mut raw);
    assert!(parse_daemon_msg(&raw[..raw.len() - 1]).is_err());
    let msg = parse_daemon_msg(&raw).expect("whole message");
    let version = parse_daemon_register(msg);
    let mut reg = KvpMsg::new_zeroed();
    if let Ok(v) = version {
        build_register_reply(&mut reg, v);
        assert_eq!(parse_daemon_register(&reg), Ok(v));
        let _ = daemon_status(msg, v);
    }
    let mut packet: Vec<u8> = (0..pkt_len).map(|i| i as u8).collect();
    let before = packet.clone();
    match daemon_to_host(host_op, Some(msg), status, &mut packet) {
        Ok(s) => {
            assert_eq!(packet.len(), pkt_len);
            if status != HvStatus::S_OK {
                assert_eq!(s, status);
            }
            assert_eq!(packet[ICMSG_HDR - 3], 1 | 4, "response flags");
        }
        Err(_) => assert_eq!(packet, before, "nothing written on error"),
    }
    let mut packet = before.clone();
    let _ = daemon_to_host(host_op, None, status, &mut packet);
}

fn utf(c: &mut Cursor<'_>) {
    let inlen = usize::from(c.u16());
    let out_len = usize::from(c.u16()) % 8192;
    let src = c.rest();

    let mut dst = vec![0xffu8; out_len];
    let n = utf16s_to_utf8s(src, inlen, &mut dst);
    assert!(n <= out_len);
    let s = std::str::from_utf8(&dst[..n]).expect("valid UTF-8 out");
    assert!(!s.contains('\0'));
    let units: Vec<u16> = src
        .chunks_exact(2)
        .take(inlen)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .take_while(|u| *u != 0)
        .collect();
    if let Ok(full) = String::from_utf16(&units) {
        let mut end = full.len().min(out_len);
        while !full.is_char_boundary(end) {
            end -= 1;
        }
        assert_eq!(s, &full[..end], "utf16s_to_utf8s differs from std");
    }

    let maxout = inlen;
    let mut dst16 = vec![0u8; 2 * (out_len / 2)];
    let r = utf8s_to_utf16s(src, &mut dst16, maxout);
    let text = src.split(|b| *b == 0).next().unwrap_or(&[]);
    if let Ok(t) = std::str::from_utf8(text) {
        let n = r.expect("valid UTF-8 converts");
        let limit = maxout.min(out_len / 2);
        assert!(n <= limit);
        let mut want: Vec<u16> = Vec::new();
        for ch in t.chars() {
            let mut b = [0u16; 2];
            let e = ch.encode_utf16(&mut b);
            if want.len() + e.len() > limit {
                break;
            }
            want.extend_from_slice(e);
        }
        let got: Vec<u16> = dst16[..2 * n]
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(got, want, "utf8s_to_utf16s differs from std");

        // And back.
        let mut back = vec![0u8; 4 * n + 4];
        let m = utf16s_to_utf8s(&dst16[..2 * n], n, &mut back);
        assert_eq!(&back[..m], String::from_utf16(&want).unwrap().as_bytes());
    } else if let Ok(n) = r {
        assert!(n <= maxout);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut c = Cursor::new(data);
    match c.u8() % 4 {
        0 => host(c.rest()),
        1 => {
            let len = usize::from(c.u16()) % (KVP_MAX_PKT_SIZE + 1);
            let mut msg = vec![0u8; len];
            apply_patches(&mut c, &mut msg);
            host(&msg);
        }
        2 => daemon(&mut c),
        _ => utf(&mut c),
    }
    let _ = KvpMsg::new_zeroed().as_bytes().len();
});
