// SPDX-License-Identifier: GPL-2.0

//! Tests of the dynamic memory protocol.

use super::*;
use core::mem::{
    offset_of,
    size_of, //
};

/// Sizes, offsets, constants and bitfield encodings printed by
/// `rust/hv_proto/layout/extract.sh` (gcc 12, x86-64) for `drivers/hv/hv_balloon.c` of
/// Linux 7.2.13.
#[test]
fn c_layout() {
    assert_eq!(size_of::<DmHeader>(), 8); // sizeof(struct dm_header)
    assert_eq!(offset_of!(DmHeader, type_), 0); // offsetof(struct dm_header, type)
    assert_eq!(offset_of!(DmHeader, size), 2); // offsetof(struct dm_header, size)
    assert_eq!(offset_of!(DmHeader, trans_id), 4); // offsetof(struct dm_header, trans_id)
    assert_eq!(size_of::<DmMemPageRange>(), 8); // sizeof(union dm_mem_page_range)
    assert_eq!(size_of::<DmCaps>(), 8); // sizeof(union dm_caps)
    assert_eq!(size_of::<DmVersionRequest>(), 16); // sizeof(struct dm_version_request)
    assert_eq!(offset_of!(DmVersionRequest, hdr), 0); // offsetof(struct dm_version_request, hdr)
    assert_eq!(offset_of!(DmVersionRequest, version), 8); // offsetof(struct dm_version_request, version)
    assert_eq!(size_of::<DmVersionResponse>(), 16); // sizeof(struct dm_version_response)
    assert_eq!(offset_of!(DmVersionResponse, hdr), 0); // offsetof(struct dm_version_response, hdr)
    assert_eq!(size_of::<DmCapabilities>(), 32); // sizeof(struct dm_capabilities)
    assert_eq!(offset_of!(DmCapabilities, hdr), 0); // offsetof(struct dm_capabilities, hdr)
    assert_eq!(offset_of!(DmCapabilities, caps), 8); // offsetof(struct dm_capabilities, caps)
    assert_eq!(offset_of!(DmCapabilities, min_page_cnt), 16); // offsetof(struct dm_capabilities, min_page_cnt)
    assert_eq!(offset_of!(DmCapabilities, max_page_number), 24); // offsetof(struct dm_capabilities, max_page_number)
    assert_eq!(size_of::<DmCapabilitiesResp>(), 16); // sizeof(struct dm_capabilities_resp_msg)
    assert_eq!(size_of::<DmStatus>(), 48); // sizeof(struct dm_status)
    assert_eq!(offset_of!(DmStatus, num_avail), 8); // offsetof(struct dm_status, num_avail)
    assert_eq!(offset_of!(DmStatus, num_committed), 16); // offsetof(struct dm_status, num_committed)
    assert_eq!(offset_of!(DmStatus, page_file_size), 24); // offsetof(struct dm_status, page_file_size)
    assert_eq!(offset_of!(DmStatus, zero_free), 32); // offsetof(struct dm_status, zero_free)
    assert_eq!(offset_of!(DmStatus, page_file_writes), 40); // offsetof(struct dm_status, page_file_writes)
    assert_eq!(offset_of!(DmStatus, io_diff), 44); // offsetof(struct dm_status, io_diff)
    assert_eq!(size_of::<DmBalloon>(), 16); // sizeof(struct dm_balloon)
    assert_eq!(offset_of!(DmBalloon, num_pages), 8); // offsetof(struct dm_balloon, num_pages)
    assert_eq!(offset_of!(DmBalloon, reservedz), 12); // offsetof(struct dm_balloon, reservedz)
    assert_eq!(size_of::<DmBalloonResponse>(), 16); // sizeof(struct dm_balloon_response)
    assert_eq!(offset_of!(DmBalloonResponse, reservedz), 8); // offsetof(struct dm_balloon_response, reservedz)
    assert_eq!(size_of::<DmBalloonResponse>(), 16); // offsetof(struct dm_balloon_response, range_array)
    assert_eq!(size_of::<DmUnballoonRequest>(), 16); // sizeof(struct dm_unballoon_request)
    assert_eq!(offset_of!(DmUnballoonRequest, range_count), 12); // offsetof(struct dm_unballoon_request, range_count)
    assert_eq!(size_of::<DmUnballoonRequest>(), 16); // offsetof(struct dm_unballoon_request, range_array)
    assert_eq!(size_of::<DmUnballoonResponse>(), 8); // sizeof(struct dm_unballoon_response)
    assert_eq!(size_of::<DmHotAdd>(), 16); // sizeof(struct dm_hot_add)
    assert_eq!(offset_of!(DmHotAdd, range), 8); // offsetof(struct dm_hot_add, range)
    assert_eq!(size_of::<DmHotAddResponse>(), 16); // sizeof(struct dm_hot_add_response)
    assert_eq!(offset_of!(DmHotAddResponse, page_count), 8); // offsetof(struct dm_hot_add_response, page_count)
    assert_eq!(offset_of!(DmHotAddResponse, result), 12); // offsetof(struct dm_hot_add_response, result)
    assert_eq!(size_of::<DmInfoHeader>(), 8); // sizeof(struct dm_info_header)
    assert_eq!(offset_of!(DmInfoHeader, type_), 0); // offsetof(struct dm_info_header, type)
    assert_eq!(offset_of!(DmInfoHeader, data_size), 4); // offsetof(struct dm_info_header, data_size)
    assert_eq!(size_of::<DmInfoMsg>(), 16); // sizeof(struct dm_info_msg)
    assert_eq!(offset_of!(DmInfoMsg, reserved), 8); // offsetof(struct dm_info_msg, reserved)
    assert_eq!(offset_of!(DmInfoMsg, info_size), 12); // offsetof(struct dm_info_msg, info_size)
    assert_eq!(size_of::<DmInfoMsg>(), 16); // offsetof(struct dm_info_msg, info)
    assert_eq!(DYNMEM_PROTOCOL_VERSION_WIN7, 3); // DYNMEM_PROTOCOL_VERSION_WIN7
    assert_eq!(DYNMEM_PROTOCOL_VERSION_WIN8, 65536); // DYNMEM_PROTOCOL_VERSION_WIN8
    assert_eq!(DYNMEM_PROTOCOL_VERSION_WIN10, 131072); // DYNMEM_PROTOCOL_VERSION_WIN10
    assert_eq!(dynmem_minor_version(0x0001_0203), 3); // DYNMEM_MINOR_VERSION(0x00010203)
    assert_eq!(DmMessageType::INFO_MESSAGE.0, 12); // DM_INFO_MESSAGE
    assert_eq!(DmMessageType::MEM_HOT_ADD_RESPONSE.0, 11); // DM_MEM_HOT_ADD_RESPONSE
    assert_eq!(dynmem_make_version(2, 1), 0x20001); // bits of vr.version
    assert_eq!(u64::from(version_request(0, 0, true).flags), 0x1); // bits of ((u32 *)&vr)[3]
    assert_eq!(1u64, 0x1); // bits of ((u64 *)&vresp)[1]
    assert_eq!(u64::from(1u32 | (0x1234567 << 1)), 0x2468acf); // bits of ((u32 *)&br)[3]
    assert_eq!(1u64, 0x1); // bits of ((u32 *)&ur)[2]
    assert_eq!(
        DmMemPageRange::new(0x12_3456_789a, 0xab_cdef).0,
        0xabcdef123456789a
    ); // bits of pr
    assert_eq!(DmCaps::new(true, true, 7).0, 0x1f); // bits of caps
    assert_eq!(DmCaps::new(false, true, 15).0, 0x3e); // bits of caps
}

#[test]
fn negotiation() {
    let (mut n, req) = DmVersionNegotiation::start(1);
    assert_eq!(
        req.as_bytes(),
        &[1, 0, 16, 0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0]
    );
    let step = n.on_response(false, 2);
    assert_eq!(
        step,
        DmNegotiationStep::Retry(version_request(2, DYNMEM_PROTOCOL_VERSION_WIN8, false))
    );
    let step = n.on_response(false, 3);
    let DmNegotiationStep::Retry(r) = step else {
        panic!("{step:?}");
    };
    assert_eq!({ r.version }, DYNMEM_PROTOCOL_VERSION_WIN7);
    assert_eq!({ r.flags }, 1);
    assert_eq!(n.on_response(false, 4), DmNegotiationStep::Failed);
    assert_eq!(n.on_response(false, 5), DmNegotiationStep::Failed);

    let (mut n, _) = DmVersionNegotiation::start(1);
    assert_eq!(
        n.on_response(true, 2),
        DmNegotiationStep::Accepted(DYNMEM_PROTOCOL_VERSION_WIN10)
    );
    let (mut n, _) = DmVersionNegotiation::start(1);
    n.on_response(false, 2);
    assert_eq!(
        n.on_response(true, 3),
        DmNegotiationStep::Accepted(DYNMEM_PROTOCOL_VERSION_WIN8)
    );
    assert_eq!(dynmem_major_version(DYNMEM_PROTOCOL_VERSION_WIN8), 1);
}

/// A host message: header with `ty`/`size`, then `body`.
fn host(ty: DmMessageType, size: u16, body: &[u8]) -> [u8; 64] {
    let mut m = [0u8; 64];
    let h = DmHeader {
        type_: ty,
        size,
        trans_id: 9,
    };
    m[..8].copy_from_slice(h.as_bytes());
    m[8..8 + body.len()].copy_from_slice(body);
    m
}

#[test]
fn parse_simple_messages() {
    let m = host(DmMessageType::VERSION_RESPONSE, 16, &[1]);
    let (h, msg) = parse_host_message(&m[..16]).unwrap();
    assert_eq!({ h.trans_id }, 9);
    assert!(matches!(
        msg,
        DmHostMessage::VersionResponse { accepted: true }
    ));
    // Short messages read as zero.
    let (_, msg) = parse_host_message(&m[..8]).unwrap();
    assert!(matches!(
        msg,
        DmHostMessage::VersionResponse { accepted: false }
    ));
    let m = host(
        DmMessageType::CAPABILITIES_RESPONSE,
        16,
        &[0, 0, 0, 0, 0, 0, 0, 0x80],
    );
    let (_, msg) = parse_host_message(&m[..16]).unwrap();
    assert!(matches!(
        msg,
        DmHostMessage::CapabilitiesResponse { accepted: false }
    ));
    let m = host(DmMessageType::BALLOON_REQUEST, 16, &[0x00, 0x01, 0, 0]);
    let (_, msg) = parse_host_message(&m[..16]).unwrap();
    assert!(matches!(
        msg,
        DmHostMessage::BalloonRequest { num_pages: 256 }
    ));
    let m = host(DmMessageType(99), 8, &[]);
    assert!(matches!(
        parse_host_message(&m[..8]),
        Ok((_, DmHostMessage::Other))
    ));
    let m = host(DmMessageType::STATUS_REPORT, 8, &[]);
    assert!(matches!(
        parse_host_message(&m[..8]),
        Ok((_, DmHostMessage::Other))
    ));
    assert_eq!(
        parse_host_message(&m[..7]).unwrap_err(),
        Error::Truncated { need: 8, have: 7 }
    );
}

#[test]
fn parse_unballoon() {
    let r1 = DmMemPageRange::new(0x1000, 512);
    let r2 = DmMemPageRange::new(0xff_ffff_ffff, 0xff_ffff);
    let mut body = [0u8; 24];
    body[..4].copy_from_slice(&1u32.to_le_bytes());
    body[4..8].copy_from_slice(&2u32.to_le_bytes());
    body[8..16].copy_from_slice(r1.as_bytes());
    body[16..24].copy_from_slice(r2.as_bytes());
    let m = host(DmMessageType::UNBALLOON_REQUEST, 32, &body);
    let (_, msg) = parse_host_message(&m[..32]).unwrap();
    let DmHostMessage::UnballoonRequest { more_pages, ranges } = msg else {
        panic!("{msg:?}");
    };
    assert!(more_pages);
    assert_eq!(ranges.len(), 2);
    let mut it = ranges.iter();
    assert_eq!(it.next(), Some(r1));
    let r = it.next().unwrap();
    assert_eq!((r.start_page(), r.page_cnt()), (0xff_ffff_ffff, 0xff_ffff));
    assert_eq!(it.next(), None);
    // Ranges beyond the packet.
    assert_eq!(
        parse_host_message(&m[..31]).unwrap_err(),
        Error::TooManyRanges(2)
    );
    let mut m = m;
    m[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(
        parse_host_message(&m).unwrap_err(),
        Error::TooManyRanges(u32::MAX)
    );
    // No ranges.
    let m = host(DmMessageType::UNBALLOON_REQUEST, 16, &[0; 8]);
    let (_, msg) = parse_host_message(&m[..16]).unwrap();
    assert!(
        matches!(msg, DmHostMessage::UnballoonRequest { more_pages: false, ranges } if ranges.is_empty())
    );
}

#[test]
fn parse_hot_add() {
    let range = DmMemPageRange::new(0x10_0000, 0x4_0000);
    let region = DmMemPageRange::new(0x10_0000, 0x8_0000);
    let mut body = [0u8; 16];
    body[..8].copy_from_slice(range.as_bytes());
    body[8..].copy_from_slice(region.as_bytes());
    let m = host(DmMessageType::MEM_HOT_ADD_REQUEST, 16, &body);
    let (_, msg) = parse_host_message(&m[..24]).unwrap();
    assert!(matches!(msg, DmHostMessage::HotAddRequest { range: r, region: None } if r == range));
    // hdr.size, not the packet length, decides about the region.
    let m = host(DmMessageType::MEM_HOT_ADD_REQUEST, 24, &body);
    let (_, msg) = parse_host_message(&m[..24]).unwrap();
    assert!(matches!(msg, DmHostMessage::HotAddRequest { region: Some(r), .. } if r == region));
    let (_, msg) = parse_host_message(&m[..16]).unwrap();
    assert!(matches!(
        msg,
        DmHostMessage::HotAddRequest {
            region: Some(DmMemPageRange(0)),
            ..
        }
    ));
}

#[test]
fn parse_info() {
    let mut body = [0u8; 24];
    body[..4].copy_from_slice(&0u32.to_le_bytes()); // reserved
    body[4..8].copy_from_slice(&16u32.to_le_bytes()); // info_size
    body[8..12].copy_from_slice(&0u32.to_le_bytes()); // INFO_TYPE_MAX_PAGE_CNT
    body[12..16].copy_from_slice(&8u32.to_le_bytes());
    body[16..24].copy_from_slice(&0x40_0000u64.to_le_bytes());
    let m = host(DmMessageType::INFO_MESSAGE, 32, &body);
    let (_, msg) = parse_host_message(&m[..32]).unwrap();
    assert!(matches!(
        msg,
        DmHostMessage::Info {
            info_type: DmInfoType::MAX_PAGE_CNT,
            max_page_count: Some(0x40_0000)
        }
    ));
    // Wrong data size: ignored, as in C.
    let mut b2 = body;
    b2[12..16].copy_from_slice(&4u32.to_le_bytes());
    let m = host(DmMessageType::INFO_MESSAGE, 32, &b2);
    let (_, msg) = parse_host_message(&m[..32]).unwrap();
    assert!(matches!(
        msg,
        DmHostMessage::Info {
            max_page_count: None,
            ..
        }
    ));
    // Unknown type.
    let mut b3 = body;
    b3[8..12].copy_from_slice(&5u32.to_le_bytes());
    let m = host(DmMessageType::INFO_MESSAGE, 32, &b3);
    let (_, msg) = parse_host_message(&m[..32]).unwrap();
    assert!(matches!(
        msg,
        DmHostMessage::Info {
            info_type: DmInfoType(5),
            max_page_count: None
        }
    ));
}

#[test]
fn guest_messages() {
    let caps = DmCaps::new(true, true, 7);
    assert!(caps.balloon() && caps.hot_add());
    assert_eq!(caps.hot_add_alignment(), 7);
    let c = capabilities_report(3, caps);
    assert_eq!({ c.hdr.size }, 32);
    assert_eq!({ c.max_page_number }, u64::MAX);
    assert_eq!({ c.hdr.type_ }, DmMessageType::CAPABILITIES_REPORT);
    let u = unballoon_response(4);
    assert_eq!(u.as_bytes(), &[9, 0, 8, 0, 4, 0, 0, 0]);
    let h = hot_add_response(5, 1024, true);
    assert_eq!(
        h.as_bytes(),
        &[11, 0, 16, 0, 5, 0, 0, 0, 0, 4, 0, 0, 1, 0, 0, 0]
    );

    let ranges = [DmMemPageRange::new(1, 2), DmMemPageRange::new(3, 4)];
    let mut buf = [0u8; 64];
    let n = build_balloon_response(&mut buf, 6, true, &ranges).unwrap();
    assert_eq!(n, 32);
    let r = DmBalloonResponse::read_from_prefix(&buf).unwrap().0;
    assert_eq!({ r.hdr.size }, 32);
    assert_eq!({ r.more_count }, 1 | (2 << 1));
    assert_eq!(&buf[16..24], &DmMemPageRange::new(1, 2).0.to_le_bytes());
    assert!(matches!(
        build_balloon_response(&mut buf[..31], 6, true, &ranges),
        Err(Error::Truncated { need: 32, have: 31 })
    ));
    let many = [DmMemPageRange(0); 8190];
    let mut big = [0u8; 65536];
    assert!(build_balloon_response(&mut big, 0, false, &many).is_err());
    assert_eq!(
        build_balloon_response(&mut big, 0, false, &many[..8189]),
        Ok(65528)
    );

    // Page ranges truncate to their widths.
    let r = DmMemPageRange::new(u64::MAX, u64::MAX);
    assert_eq!(
        (r.start_page(), r.page_cnt()),
        (DmMemPageRange::MAX_START_PAGE, DmMemPageRange::MAX_PAGE_CNT)
    );
}

use super::super::test_rng::Rng;

#[test]
fn fuzz_smoke() {
    let mut rng = Rng(0x5151_5151_a5a5_a5a5);
    let mut buf = [0u8; 96];
    for _ in 0..20_000 {
        let len = rng.below(buf.len() + 1);
        rng.fill(&mut buf[..len]);
        if len >= 2 && rng.below(4) != 0 {
            buf[..2].copy_from_slice(&(rng.below(14) as u16).to_le_bytes());
        }
        if len >= 16 && rng.below(2) == 0 {
            buf[12..16].copy_from_slice(&(rng.below(12) as u32).to_le_bytes());
        }
        if let Ok((_, DmHostMessage::UnballoonRequest { ranges, .. })) =
            parse_host_message(&buf[..len])
        {
            for r in ranges.iter() {
                let _ = (r.start_page(), r.page_cnt());
            }
        }
    }
}

/// `compute_balloon_floor()` at the corners of its table (MiB of RAM -> MiB kept) and on
/// both sides of each bend, computed with the C expression.
#[test]
fn balloon_floor() {
    let mb = |m: u64| m << 8;
    for (ram, floor) in [
        (0, 8),
        (16, 16),
        (32, 24),
        (128, 72),
        (512, 168),
        (2048, 360),
        (8192, 744),
        (32768, 1512),
    ] {
        assert_eq!(compute_balloon_floor(mb(ram)), mb(floor), "{ram} MiB");
    }
    // Continuous: one page below each bend gives (nearly) the same floor.
    for bend in [128, 512, 2048, 8192] {
        let below = compute_balloon_floor(mb(bend) - 1);
        let at = compute_balloon_floor(mb(bend));
        assert!(at.abs_diff(below) <= 1, "bend {bend}: {below} {at}");
    }
    // 1 GiB guest (what the VM tests boot): 232 MiB.
    assert_eq!(compute_balloon_floor(262_144), mb(232));
    // No overflow at the top.
    assert_eq!(compute_balloon_floor(u64::MAX), mb(488) + (u64::MAX >> 5));
}

#[test]
fn committed_and_limits() {
    assert_eq!(pages_committed(100, 10, 5, 3, 1000), 1112);
    // Onlined above added (cannot happen in C's accounting) counts as nothing.
    assert_eq!(pages_committed(100, 10, 3, 5, 1000), 1110);
    assert_eq!(pages_committed(u64::MAX, 1, 1, 0, 1), u64::MAX);

    assert_eq!(balloon_request_pages(10_000, 1000, 2000), (1000, None));
    // Exactly down to the floor is allowed.
    assert_eq!(balloon_request_pages(3000, 1000, 2000), (1000, None));
    assert_eq!(
        balloon_request_pages(2999, 1000, 2000),
        (999, Some(BalloonLimit::FloorReached))
    );
    assert_eq!(
        balloon_request_pages(500, 1000, 200),
        (300, Some(BalloonLimit::NotEnoughMemory))
    );
    assert_eq!(
        balloon_request_pages(100, 1000, 200),
        (0, Some(BalloonLimit::NotEnoughMemory))
    );
    assert_eq!(
        balloon_request_pages(0, u32::MAX, u64::MAX),
        (0, Some(BalloonLimit::NotEnoughMemory))
    );
    assert_eq!(
        balloon_request_pages(i64::MAX, u32::MAX, u64::MAX),
        (0, Some(BalloonLimit::FloorReached))
    );

    let s = status_report(7, 1, 2);
    assert_eq!({ s.hdr.type_ }, DmMessageType::STATUS_REPORT);
    assert_eq!({ s.hdr.size }, 48);
    assert_eq!(({ s.num_avail }, { s.num_committed }), (1, 2));
    assert_eq!(DM_BALLOON_RESPONSE_MAX_RANGES, 510);
    // A full answer fits the C page exactly.
    let mut buf = [0u8; DM_RECV_BUFFER_SIZE];
    let ranges = [DmMemPageRange(0); DM_BALLOON_RESPONSE_MAX_RANGES];
    assert_eq!(
        build_balloon_response(&mut buf, 1, false, &ranges),
        Ok(4096)
    );
    // The header sent with the ranges as a separate slice is the same as the built one.
    let h = balloon_response_header(1, false, DM_BALLOON_RESPONSE_MAX_RANGES);
    assert_eq!(h.as_bytes(), &buf[..16]);
    let h = balloon_response_header(9, true, 3);
    assert_eq!(({ h.hdr.size }, { h.more_count }), (40, 1 | (3 << 1)));
}
