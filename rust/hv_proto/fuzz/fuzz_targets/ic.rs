// SPDX-License-Identifier: GPL-2.0

//! IC messages from the host, as the util drivers see them: the IC headers, version
//! negotiation (checked against a reference implementation of `vmbus_prep_negotiate_resp`),
//! shutdown, time sync, heartbeat, and the VSS and FCopy payloads.
//!
//! Input: `[service u8][the IC packet: pipe header, IC header, payload]`.

#![no_main]

use hv_proto::ic::{
    answer_heartbeat, finish_response, host_time_to_unix_ns, icmsg_hdr_mut, parse_ic_message,
    parse_negotiate_response, parse_shutdown, parse_timesync, prep_negotiate_resp, HvStatus,
    IcVersion, ShutdownAction, FW_VERSIONS, HB_VERSIONS, ICMSG_HDR,
    IC_VERSION_NEGOTIATION_MAX_VER_COUNT, SD_VERSIONS, TS_VERSIONS,
};
use hv_proto::{fcopy, kvp, vss};
use libfuzzer_sys::fuzz_target;

/// Service version lists of the util drivers.
const SERVICES: [&[IcVersion]; 6] = [
    &SD_VERSIONS,
    &TS_VERSIONS,
    &HB_VERSIONS,
    &kvp::KVP_VERSIONS,
    &vss::VSS_VERSIONS,
    &fcopy::FCOPY_VERSIONS,
];

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn version_at(b: &[u8], i: usize) -> IcVersion {
    let at = ICMSG_HDR + 8 + 4 * i;
    IcVersion::new(u16_at(b, at), u16_at(b, at + 2))
}

/// What `vmbus_prep_negotiate_resp` chooses, written plainly.
fn reference(pkt: &[u8], fw: &[IcVersion], srv: &[IcVersion]) -> Option<(IcVersion, IcVersion)> {
    if pkt.len() < ICMSG_HDR + 4 {
        return None;
    }
    let fw_cnt = usize::from(u16_at(pkt, ICMSG_HDR));
    let srv_cnt = usize::from(u16_at(pkt, ICMSG_HDR + 2));
    let max = usize::from(IC_VERSION_NEGOTIATION_MAX_VER_COUNT);
    if fw_cnt > max || srv_cnt > max || ICMSG_HDR + 8 + 4 * (fw_cnt + srv_cnt) > pkt.len() {
        return None;
    }
    let host_fw: Vec<_> = (0..fw_cnt).map(|i| version_at(pkt, i)).collect();
    let host_srv: Vec<_> = (fw_cnt..fw_cnt + srv_cnt)
        .map(|i| version_at(pkt, i))
        .collect();
    let f = fw.iter().find(|v| host_fw.contains(v))?;
    let s = srv.iter().find(|v| host_srv.contains(v))?;
    Some((*f, *s))
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, pkt)) = data.split_first() else {
        return;
    };
    let srv = SERVICES[usize::from(sel) % SERVICES.len()];

    // Negotiation.
    let mut p = pkt.to_vec();
    match prep_negotiate_resp(&mut p, &FW_VERSIONS, srv) {
        Err(_) => {
            assert!(pkt.len() < ICMSG_HDR + 4);
            assert_eq!(p, pkt);
        }
        Ok(o) => {
            assert_eq!(p.len(), pkt.len());
            let want = reference(pkt, &FW_VERSIONS, srv);
            assert_eq!(o.matched, want.is_some());
            if let Some((f, s)) = want {
                assert_eq!((o.framework, o.service), (f, s));
            }
            if p.len() >= ICMSG_HDR + 8 {
                let got = parse_negotiate_response(&p).expect("own answer parses");
                assert_eq!(got, want);
            }
            let _ = finish_response(&mut p, None);
        }
    }
    let _ = parse_negotiate_response(pkt);

    let Ok(m) = parse_ic_message(pkt) else {
        assert!(pkt.len() < ICMSG_HDR);
        return;
    };
    let payload = m.payload;
    assert_eq!(payload.len(), pkt.len() - ICMSG_HDR);

    if let Ok(s) = parse_shutdown(payload) {
        let _ = ShutdownAction::from_flags(s.flags);
    }
    for v in TS_VERSIONS.iter().chain([&IcVersion::new(sel.into(), 0)]) {
        if let Ok(t) = parse_timesync(payload, *v) {
            let _ = host_time_to_unix_ns(t.parent_time);
            assert_eq!(t.vm_reference_time.is_some(), v.to_u32() > 0x3_0000);
        }
    }
    let mut hb = payload.to_vec();
    if let Ok(next) = answer_heartbeat(&mut hb) {
        let old = u64::from_le_bytes(payload[..8].try_into().unwrap());
        assert_eq!(next, old.wrapping_add(1));
        assert_eq!(&hb[8..], &payload[8..]);
    }

    if let Ok(v) = vss::parse_host(payload) {
        let _ = vss::VssAction::for_op(v.vss_hdr.operation);
        let _ = v.error();
        let mut q = payload.to_vec();
        vss::set_host_flags(&mut q, vss::VSS_HBU_NO_AUTO_RECOVERY).expect("same length");
    }
    let _ = vss::parse_daemon(payload);

    match fcopy::parse(payload) {
        Ok(fcopy::FcopyMessage::Write { data, .. }) => {
            assert!(data.len() <= fcopy::DATA_FRAGMENT);
        }
        Ok(fcopy::FcopyMessage::Start(s)) => {
            let _ = s.file_size;
        }
        _ => {}
    }

    let mut q = pkt.to_vec();
    if let Ok(h) = icmsg_hdr_mut(&mut q) {
        h.status = HvStatus(u32::from(sel));
    }
    finish_response(&mut q, Some(HvStatus::S_OK)).expect("long enough");
    assert_eq!(q[ICMSG_HDR - 3], 1 | 4);
});
