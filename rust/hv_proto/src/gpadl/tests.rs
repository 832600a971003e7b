// SPDX-License-Identifier: GPL-2.0

//! GPADL construction and assembly tests.

extern crate std;

use super::*;
use std::vec;
use std::vec::Vec;

use super::super::vmbus::Message;

/// Builds all messages of a GPADL and returns them.
fn messages(b: &mut GpadlBuilder<'_>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut m = [0u8; MAX_SIZE_CHANNEL_MESSAGE];
    while let Some(n) = b.write_next(&mut m) {
        out.push(m[..n].to_vec());
    }
    assert_eq!(out.len(), b.message_count());
    out
}

/// Assembles `msgs` as the host does and returns the PFNs of the single range.
fn assemble(msgs: &[Vec<u8>], buf: &mut [u64]) -> Result<(u32, u32, Vec<u64>), GpadlError> {
    let mut asm = None;
    for m in msgs {
        match Message::parse(m).unwrap() {
            Message::GpadlHeader(h, tail) => asm = Some(GpadlAssembler::new(&h, tail, buf)?),
            Message::GpadlBody(b, tail) => {
                asm.as_mut().unwrap().add_body(&b, tail)?;
            }
            other => panic!("{other:?}"),
        }
    }
    let g = asm.unwrap().finish()?;
    let r = g.single_range().unwrap();
    Ok((r.byte_count, r.byte_offset, r.pfns.to_vec()))
}

fn pages(n: usize) -> Vec<u64> {
    (0..n as u64).map(|i| 0x10_0000 + i * 3).collect()
}

#[test]
fn split_at_the_c_limits() {
    // (PFNs, messages, last message length): 26 fit the header, 28 each body.
    for (n, count, last) in [
        (1, 1, 20 + 8 + 8),
        (26, 1, 20 + 8 + 26 * 8),
        (27, 2, 16 + 8),
        (54, 2, 16 + 28 * 8),
        (55, 3, 16 + 8),
        (82, 3, 16 + 28 * 8),
        (83, 4, 16 + 8),
    ] {
        let p = pages(n);
        let mut b =
            GpadlBuilder::new(7, 0xE1E11, GpadlType::Buffer, &p, 12, (n * 4096) as u32).unwrap();
        let msgs = messages(&mut b);
        assert_eq!(msgs.len(), count, "{n} PFNs");
        assert_eq!(msgs.last().unwrap().len(), last, "{n} PFNs");
        assert!(msgs.iter().all(|m| m.len() <= 240));
        let mut buf = vec![0u64; n + 1];
        let (count_bytes, off, pfns) = assemble(&msgs, &mut buf).unwrap();
        assert_eq!(count_bytes, (n * 4096) as u32);
        assert_eq!(off, 0);
        assert_eq!(pfns, p);
    }
}

#[test]
fn header_and_body_bytes() {
    let p = pages(30);
    let mut b = GpadlBuilder::new(0x1234, 0xE1E10, GpadlType::Buffer, &p, 12, 30 * 4096).unwrap();
    let msgs = messages(&mut b);
    let h = &msgs[0];
    assert_eq!(h.len(), 236);
    assert_eq!(&h[0..4], &8u32.to_le_bytes(), "msgtype GPADL_HEADER");
    assert_eq!(&h[4..8], &[0; 4], "padding");
    assert_eq!(&h[8..12], &0x1234u32.to_le_bytes(), "child_relid @8");
    assert_eq!(&h[12..16], &0xE1E10u32.to_le_bytes(), "gpadl @12");
    assert_eq!(
        &h[16..18],
        &(8u16 + 30 * 8).to_le_bytes(),
        "range_buflen @16"
    );
    assert_eq!(&h[18..20], &1u16.to_le_bytes(), "rangecount @18");
    assert_eq!(&h[20..24], &(30u32 * 4096).to_le_bytes(), "byte_count @20");
    assert_eq!(&h[24..28], &0u32.to_le_bytes(), "byte_offset @24");
    assert_eq!(&h[28..36], &p[0].to_le_bytes(), "pfn_array @28");
    assert_eq!(&h[228..236], &p[25].to_le_bytes());
    let body = &msgs[1];
    assert_eq!(body.len(), 16 + 4 * 8);
    assert_eq!(&body[0..4], &9u32.to_le_bytes(), "msgtype GPADL_BODY");
    assert_eq!(
        &body[8..12],
        &0u32.to_le_bytes(),
        "msgnumber @8 left 0 as in C"
    );
    assert_eq!(&body[12..16], &0xE1E10u32.to_le_bytes(), "gpadl @12");
    assert_eq!(&body[16..24], &p[26].to_le_bytes(), "pfn @16");
}

#[test]
fn ring_gpadl_on_4k_pages_is_linear() {
    // 4 pages outgoing, 4 incoming.
    let p = pages(8);
    let kind = GpadlType::Ring {
        send_offset: 4 * 4096,
    };
    let b = GpadlBuilder::new(1, 2, kind, &p, 12, 8 * 4096).unwrap();
    assert_eq!(b.pfn_count(), 8);
    for (i, pfn) in p.iter().enumerate() {
        assert_eq!(b.hv_pfn(i), *pfn);
    }
    assert_eq!(downstream_ringbuffer_pageoffset(4 * 4096, 12), Ok(4));
}

#[test]
fn ring_gpadl_on_64k_pages_skips_header_tails() {
    // The diagram above enum hv_gpadl_type: each ring = 64K header page + 64K data page.
    let p = [100u64, 200, 300, 400];
    let kind = GpadlType::Ring {
        send_offset: 2 << 16,
    };
    let b = GpadlBuilder::new(1, 2, kind, &p, 16, 4 << 16).unwrap();
    // 256K - 2 * 60K = 136K = 34 Hyper-V pages.
    assert_eq!(b.pfn_count(), 34);
    let sub = |guest: u64, i: u64| guest * 16 + i;
    assert_eq!(b.hv_pfn(0), sub(100, 0), "outgoing header");
    assert_eq!(b.hv_pfn(1), sub(200, 0), "outgoing data starts at 64K");
    assert_eq!(b.hv_pfn(16), sub(200, 15));
    assert_eq!(b.hv_pfn(17), sub(300, 0), "incoming header");
    assert_eq!(b.hv_pfn(18), sub(400, 0), "incoming data");
    assert_eq!(b.hv_pfn(33), sub(400, 15));
    assert_eq!(downstream_ringbuffer_pageoffset(2 << 16, 16), Ok(17));
    assert_eq!(gpadl_size(kind, 4 << 16, 16), Ok(136 * 1024));
    // A buffer GPADL on 64K pages maps every 4K.
    let b = GpadlBuilder::new(1, 2, GpadlType::Buffer, &p, 16, 4 << 16).unwrap();
    assert_eq!(b.pfn_count(), 64);
    assert_eq!(b.hv_pfn(17), sub(200, 1));
}

#[test]
fn builder_errors() {
    let p = pages(10);
    let e = |kind, page_shift, size, n: usize| {
        GpadlBuilder::new(1, 1, kind, &p[..n], page_shift, size).err()
    };
    assert_eq!(
        e(GpadlType::Buffer, 12, 0, 10),
        Some(GpadlError::InvalidLayout)
    );
    assert_eq!(
        e(GpadlType::Buffer, 12, 4097, 10),
        Some(GpadlError::InvalidLayout)
    );
    assert_eq!(
        e(GpadlType::Buffer, 11, 4096, 10),
        Some(GpadlError::InvalidLayout)
    );
    assert_eq!(
        e(GpadlType::Buffer, 12, 5 * 4096, 4),
        Some(GpadlError::NotEnoughPages { needed: 5 })
    );
    let ring = |send_offset| GpadlType::Ring { send_offset };
    assert_eq!(e(ring(0), 12, 8192, 2), Some(GpadlError::InvalidLayout));
    assert_eq!(e(ring(8192), 12, 8192, 2), Some(GpadlError::InvalidLayout));
    assert_eq!(e(ring(100), 12, 8192, 2), Some(GpadlError::InvalidLayout));
    assert_eq!(e(ring(4096), 12, 2048, 2), Some(GpadlError::InvalidLayout));
    assert_eq!(
        e(ring(1 << 16), 16, 3 << 15, 2),
        Some(GpadlError::InvalidLayout)
    );
    assert!(e(ring(4096), 12, 8192, 2).is_none());
    // range_buflen is 16 bits: 8 + 8190 * 8 = 65528 fits, 8191 PFNs do not.
    let big = pages(8191);
    assert!(GpadlBuilder::new(1, 1, GpadlType::Buffer, &big, 12, 8190 * 4096).is_ok());
    assert_eq!(
        GpadlBuilder::new(1, 1, GpadlType::Buffer, &big, 12, 8191 * 4096).err(),
        Some(GpadlError::TooLarge)
    );
    assert_eq!(
        downstream_ringbuffer_pageoffset(4096, 16),
        Err(GpadlError::InvalidLayout)
    );
}

#[test]
fn big_buffer_round_trip() {
    // netvsc's largest receive buffer, 31 MiB (7936 PFNs), still fits range_buflen.
    let n = 7936;
    let p = pages(n);
    let mut b = GpadlBuilder::new(3, 9, GpadlType::Buffer, &p, 12, (n * 4096) as u32).unwrap();
    let msgs = messages(&mut b);
    assert_eq!(msgs.len(), 1 + (n - 26).div_ceil(28));
    let mut buf = vec![0u64; n + 1];
    let (_, _, pfns) = assemble(&msgs, &mut buf).unwrap();
    assert_eq!(pfns, p);
}

/// Builds a raw GPADL_HEADER with the given range data entries.
fn header(range_buflen: u16, rangecount: u16) -> GpadlHeader {
    GpadlHeader {
        header: MessageHeader::new(MessageType::GPADL_HEADER),
        child_relid: 1,
        gpadl: 5,
        range_buflen,
        rangecount,
    }
}

fn entries_bytes(e: &[u64]) -> Vec<u8> {
    e.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn body(gpadl: u32) -> GpadlBody {
    GpadlBody {
        header: MessageHeader::new(MessageType::GPADL_BODY),
        msgnumber: 0,
        gpadl,
    }
}

#[test]
fn assembler_validation() {
    let mut buf = [0u64; 16];
    let range = |count: u32, off: u32| u64::from(count) | (u64::from(off) << 32);
    // Malformed lengths.
    assert_eq!(
        GpadlAssembler::new(&header(20, 1), &[0; 16], &mut buf).err(),
        Some(GpadlError::Malformed)
    );
    assert_eq!(
        GpadlAssembler::new(&header(16, 1), &[0; 12], &mut buf).err(),
        Some(GpadlError::Malformed)
    );
    assert_eq!(
        GpadlAssembler::new(&header(16, 0), &[0; 16], &mut buf).err(),
        Some(GpadlError::Malformed)
    );
    assert_eq!(
        GpadlAssembler::new(&header(24, 2), &[0; 16], &mut buf).err(),
        Some(GpadlError::Malformed)
    );
    assert_eq!(
        GpadlAssembler::new(&header(8 * 17, 1), &[], &mut buf).err(),
        Some(GpadlError::BufferTooSmall { needed: 17 })
    );
    // More entries in the header than range_buflen says.
    assert_eq!(
        GpadlAssembler::new(
            &header(16, 1),
            &entries_bytes(&[range(4096, 0), 1, 2]),
            &mut buf
        )
        .err(),
        Some(GpadlError::TooManyPfns)
    );
    // Body checks.
    let mut a =
        GpadlAssembler::new(&header(24, 1), &entries_bytes(&[range(8192, 0)]), &mut buf).unwrap();
    assert!(!a.is_complete());
    assert_eq!(
        a.add_body(&body(6), &[0; 8]),
        Err(GpadlError::WrongGpadl(6))
    );
    assert_eq!(a.add_body(&body(5), &[0; 7]), Err(GpadlError::Malformed));
    assert_eq!(a.add_body(&body(5), &[0; 24]), Err(GpadlError::TooManyPfns));
    assert_eq!(a.add_body(&body(5), &entries_bytes(&[11])), Ok(false));
    assert_eq!(a.add_body(&body(5), &entries_bytes(&[12])), Ok(true));
    assert_eq!(
        a.add_body(&body(5), &entries_bytes(&[13])),
        Err(GpadlError::TooManyPfns)
    );
    let g = a.finish().unwrap();
    assert_eq!((g.child_relid, g.gpadl), (1, 5));
    assert_eq!(g.single_range().unwrap().pfns, &[11, 12]);

    let finish = |e: &[u64], count: u16, buf: &mut [u64]| {
        GpadlAssembler::new(&header((e.len() * 8) as u16, count), &entries_bytes(e), buf)
            .and_then(|a| a.finish())
            .map(|g| g.ranges().count())
    };
    assert_eq!(
        finish(&[range(0, 0), 1], 1, &mut buf),
        Err(GpadlError::EmptyRange)
    );
    assert_eq!(
        finish(&[range(1, 4096), 1], 1, &mut buf),
        Err(GpadlError::RangeOffset(4096))
    );
    // Two PFNs needed (offset 4095 + 2 bytes), one given.
    assert_eq!(
        finish(&[range(2, 4095), 1], 1, &mut buf),
        Err(GpadlError::RangeMismatch)
    );
    // Leftover entries.
    assert_eq!(
        finish(&[range(1, 0), 1, 2], 1, &mut buf),
        Err(GpadlError::RangeMismatch)
    );
    // Multi-range GPADL.
    assert_eq!(
        finish(&[range(4096, 0), 1, range(5000, 100), 2, 3], 2, &mut buf),
        Ok(2)
    );
    // Incomplete.
    let a =
        GpadlAssembler::new(&header(24, 1), &entries_bytes(&[range(4096, 0)]), &mut buf).unwrap();
    assert_eq!(a.finish().err(), Some(GpadlError::Incomplete));
}

#[test]
fn assembler_never_panics_on_noise() {
    let mut x = 99u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut buf = [0u64; 64];
    for _ in 0..5000 {
        let len = (next() % 232) as usize;
        let tail: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let h = header((next() % 600) as u16, (next() % 4) as u16);
        if let Ok(mut a) = GpadlAssembler::new(&h, &tail, &mut buf) {
            let blen = (next() % 232) as usize;
            let btail: Vec<u8> = (0..blen).map(|_| next() as u8).collect();
            let _ = a.add_body(&body(5), &btail);
            if let Ok(g) = a.finish() {
                assert_eq!(g.ranges().count(), usize::from(g.range_count));
            }
        }
    }
}
