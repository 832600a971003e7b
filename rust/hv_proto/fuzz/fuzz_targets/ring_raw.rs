// SPDX-License-Identifier: GPL-2.0

//! Arbitrary bytes as a whole ring: control page words and data area come from the input, as
//! a hostile host could leave them. Every reader and writer operation runs over it (on fresh
//! copies), and every packet header goes through the GPA-direct and transfer-page parsers.
//! The ring must report `Corrupt`, never panic or loop.
//!
//! Input: `[mode u8][write_index u32][read_index u32][interrupt_mask u32][pending_send_sz u32]
//! [feature_bits u32][data...]`; the data area is the rest rounded down to 8 bytes, at least 64.
//! If bit 7 of `mode` is set the rest is also parsed directly as a packet header.

#![no_main]

use std::cell::Cell;

use hv_proto::ring::{
    ControlField, FlatRingMem, GpaDirect, IncomingRing, OutgoingPacket, OutgoingRing, PacketInfo,
    PacketType, RingError, RingMem, TransferPages, RING_HEADER_SIZE,
};
use hv_proto_fuzz::{ring_storage, Cursor};
use libfuzzer_sys::fuzz_target;

/// Parses a packet header with both header parsers and walks what they accept.
fn parse_header(h: &[u8]) {
    if let Ok(g) = GpaDirect::parse(h) {
        let mut n = 0;
        for r in g.ranges() {
            assert!(r.byte_count != 0 && r.byte_offset < 4096);
            let pages = (u64::from(r.byte_offset) + u64::from(r.byte_count)).div_ceil(4096);
            assert_eq!(r.pfn_count() as u64, pages);
            assert_eq!(r.pfns().count(), r.pfn_count());
            assert!(r.pfn(r.pfn_count()).is_none());
            n += 1;
        }
        assert_eq!(n, g.range_count);
    }
    if let Ok(t) = TransferPages::parse(h) {
        assert_eq!(t.ranges().count(), t.range_count as usize);
        assert!(t.range(t.range_count as usize).is_none());
        let _ = t.check_ranges(u32::MAX);
        let _ = t.check_ranges(16 << 20);
    }
}

/// Checks a packet returned by `peek` against the bytes that were available.
fn check_packet(p: &PacketInfo, available: u32) {
    assert!(p.len8 >= 2 && p.offset8 >= 2 && p.offset8 <= p.len8);
    assert!(
        p.len() + 8 <= available,
        "packet beyond the available bytes"
    );
}

/// Reads every packet with the two-phase API.
fn iterate(mem: &FlatRingMem<'_>, buf: &mut [u8]) {
    let Ok(mut rx) = IncomingRing::new(mem) else {
        return;
    };
    // Each packet takes at least 24 bytes, so this bound is never reached by a correct ring.
    for _ in 0..=rx.data_size() / 24 {
        let available = match rx.bytes_available() {
            Ok(a) => a,
            Err(RingError::Corrupt(_)) => return,
            Err(e) => panic!("bytes_available: {e:?}"),
        };
        let p = match rx.peek() {
            Ok(p) => p,
            Err(RingError::Empty) => {
                assert_eq!(available, 0);
                break;
            }
            Err(RingError::Corrupt(_)) => break,
            Err(e) => panic!("peek: {e:?}"),
        };
        check_packet(&p, available);
        let h = rx
            .read_header(&p, buf)
            .expect("header fits the buffer")
            .to_vec();
        parse_header(&h);
        if p.packet_type == PacketType::DATA_USING_GPA_DIRECT {
            let _ = GpaDirect::parse(&h);
        }
        let n = rx.read_payload(&p, buf).expect("payload fits the buffer");
        assert_eq!(n as u32, p.payload_len());
        assert_eq!(rx.read_at(&p, 0, &mut buf[..p.len() as usize]), Ok(()));
        assert_eq!(rx.read_at(&p, p.len(), &mut []), Ok(()));
        assert!(rx.read_at(&p, p.len(), &mut [0u8; 1]).is_err());
        assert!(rx.read_at(&p, u32::MAX, &mut [0u8; 2]).is_err());
        assert_eq!(rx.advance(&p), Ok(()));
        assert_eq!(rx.advance(&p), Err(RingError::InvalidArgument));
        assert_eq!(rx.bytes_available(), Ok(available - p.len() - 8));
    }
    let _ = rx.commit_read();
    rx.rewind();
    let _ = rx.read_packet(buf);
    let _ = rx.read_packet(&mut buf[..8]);
    let _ = rx.end_read();
}

/// Drains the ring in batched mode.
fn drain(mem: &FlatRingMem<'_>, buf: &mut [u8]) {
    let Ok(mut rx) = IncomingRing::new(mem) else {
        return;
    };
    let r = rx.drain(buf, |p, payload| {
        assert_eq!(payload.len() as u32, p.payload_len());
    });
    match r {
        Ok(_) | Err(RingError::Corrupt(_)) => {}
        Err(e) => panic!("drain: {e:?}"),
    }
    assert_eq!(mem.read_control(ControlField::InterruptMask), 0);
}

/// Writes a few packets as the ring's writer.
fn write(mem: &FlatRingMem<'_>, c: &mut Cursor<'_>) {
    let Ok(mut tx) = OutgoingRing::new(mem) else {
        return;
    };
    let size = tx.data_size();
    for _ in 0..4 {
        let len = usize::from(c.u16()) % (size as usize + 32);
        let payload = vec![0x5a; len];
        let before = tx.free_bytes();
        let r = tx.write_packet(&OutgoingPacket::inband(7, true), &[&payload]);
        match (r, before) {
            (Ok(_), Ok(free)) => {
                let total = (16 + len as u32).div_ceil(8) * 8 + 8;
                assert!(free > total);
                assert_eq!(tx.free_bytes(), Ok(free - total));
            }
            (Err(RingError::Full | RingError::TooLarge | RingError::Corrupt(_)), _) => {}
            (r, b) => panic!("write: {r:?} with free {b:?}"),
        }
        let _ = tx.write_raw(&[&[0u8; 16], &payload[..len / 8 * 8]]);
    }
    tx.set_pending_send_size(c.u32());
    tx.clear_pending_send_size();
}

/// Fills a ring with the data area `body` and the control words `control`.
fn load<'a>(cells: &'a [Cell<u8>], body: &[u8], control: &[u32]) -> FlatRingMem<'a> {
    for (d, s) in cells[RING_HEADER_SIZE as usize..].iter().zip(body) {
        d.set(*s);
    }
    let mem = FlatRingMem::new(cells).expect("valid ring size");
    for (f, v) in [
        ControlField::WriteIndex,
        ControlField::ReadIndex,
        ControlField::InterruptMask,
        ControlField::PendingSendSize,
        ControlField::FeatureBits,
    ]
    .into_iter()
    .zip(control)
    {
        mem.write_control(f, *v);
    }
    mem
}

fuzz_target!(|data: &[u8]| {
    let mut c = Cursor::new(data);
    let mode = c.u8();
    let control: Vec<u32> = (0..5).map(|_| c.u32()).collect();
    let body = c.rest();
    if mode & 0x80 != 0 {
        parse_header(body);
    }
    let data_len = (body.len() / 8 * 8).clamp(64, 1 << 20);
    let template = ring_storage(data_len);
    let mut buf = vec![0u8; data_len];

    let mem = load(&template, body, &control);
    iterate(&mem, &mut buf);

    let fresh = ring_storage(data_len);
    let mem = load(&fresh, body, &control);
    drain(&mem, &mut buf);

    let fresh = ring_storage(data_len);
    let mem = load(&fresh, body, &control);
    write(&mem, &mut Cursor::new(body));
});
