// SPDX-License-Identifier: GPL-2.0

//! netvsc's host messages: NVSP completions and in-band messages, and RNDIS messages from the
//! receive buffer (data packets with their per-packet info, completions, status indications).
//!
//! Input: `[0][version u8][buffer size u32][NVSP message]` or `[1][max info length u16]
//! [ppi type u32][RNDIS receive range]`.

#![no_main]

use hv_proto::nvsp::{
    check_receive, message_type, parse_completion, parse_inband, validate_recv_buf,
    validate_send_buf, NvspCompletion, NvspInband, NvspVersion, NVSP_VERSIONS,
};
use hv_proto::rndis::{
    find_ppi, parse_completion as rndis_completion, parse_data_packet, parse_indicate_status,
    parse_message, RndisInitializeComplete, RndisMsgType, RndisPacket, RndisQueryComplete,
};
use hv_proto_fuzz::Cursor;
use libfuzzer_sys::fuzz_target;
use zerocopy::FromBytes;

fn nvsp(c: &mut Cursor<'_>) {
    let sel = c.u8();
    let buf_size = c.u32();
    let msg = c.rest();
    let t = message_type(msg);
    assert_eq!(t.is_ok(), msg.len() >= 4);
    match parse_completion(msg) {
        Ok(NvspCompletion::RecvBufComplete { complete, section }) => {
            if let Ok((size, count)) = validate_recv_buf(&complete, &section, buf_size) {
                assert!(u64::from(size) * u64::from(count) <= u64::from(buf_size));
            }
        }
        Ok(NvspCompletion::SendBufComplete(s)) => {
            if let Ok((size, count)) = validate_send_buf(&s, buf_size) {
                assert!(size > 0 && u64::from(size) * u64::from(count) <= u64::from(buf_size));
            }
        }
        _ => {}
    }
    for v in NVSP_VERSIONS
        .iter()
        .copied()
        .chain([NvspVersion(u32::from(sel) << 16)])
    {
        if let Ok(NvspInband::SendIndirectionTable(t)) = parse_inband(msg, v) {
            let _ = t.iter().fold(0u32, |a, b| a.wrapping_add(*b));
        }
    }
    let _ = check_receive(msg);
}

fn rndis(c: &mut Cursor<'_>) {
    let max_len = usize::from(c.u16());
    let ty = c.u32();
    let buf = c.rest();
    if let Ok(pkt) = parse_data_packet(buf) {
        let start = pkt.data.as_ptr() as usize - buf.as_ptr() as usize;
        assert!(start + pkt.data.len() <= buf.len());
    }
    let rpkt = buf.get(8..).unwrap_or(&[]);
    if let Ok((p, _)) = RndisPacket::read_from_prefix(rpkt) {
        let _ = find_ppi::<u32>(rpkt, &p, ty & 0x7fff_ffff, ty >> 31 != 0);
        let _ = find_ppi::<[u8; 0]>(rpkt, &p, ty & 0x7fff_ffff, ty >> 31 != 0);
        let _ = find_ppi::<[u64; 4]>(rpkt, &p, ty & 0x7fff_ffff, ty >> 31 != 0);
    }
    let Ok(m) = parse_message(buf) else {
        return;
    };
    assert_eq!(m.body.len() + 8, m.header.msg_len as usize);
    assert!(m.received.len() >= m.body.len());
    match m.header.ndis_msg_type {
        RndisMsgType::INDICATE => {
            let _ = parse_indicate_status(&m);
        }
        _ => {
            let _ = parse_indicate_status(&m);
        }
    }
    if let Ok(comp) = rndis_completion(&m) {
        let _ = comp.status();
        let _ = comp.fixed::<RndisInitializeComplete>();
        let _ = comp.fixed::<RndisQueryComplete>();
        if let Ok(info) = comp.query_info(max_len) {
            assert!(info.len() <= max_len);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut c = Cursor::new(data);
    match c.u8() % 2 {
        0 => nvsp(&mut c),
        _ => rndis(&mut c),
    }
});
