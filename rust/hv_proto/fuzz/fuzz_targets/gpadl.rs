// SPDX-License-Identifier: GPL-2.0

//! GPADLs in the host role, and the guest builder against the host assembler.
//!
//! Mode 0 (`[0][entries u16][message: u16 length, bytes]*`): channel messages from a guest
//! are parsed; each GPADL_HEADER starts a [`GpadlAssembler`] over an array of `entries` u64,
//! the GPADL_BODYs that follow are added, and the result is finished and walked.
//!
//! Mode 1 (`[1][relid u32][handle u32][kind u8][page shift u8][size u16][send offset u16]
//! [page count u16][pfn u64]*`): [`GpadlBuilder`] writes the messages of an arbitrary buffer;
//! each must parse, and the assembled GPADL must hold exactly the builder's PFNs.

#![no_main]

use hv_proto::gpadl::{GpadlAssembler, GpadlBuilder, GpadlType, GPADL_BODY_MAX_PFNS};
use hv_proto::vmbus::{Message, MAX_SIZE_CHANNEL_MESSAGE};
use hv_proto_fuzz::Cursor;
use libfuzzer_sys::fuzz_target;

/// Assembles host-side GPADLs from the messages in `c`.
fn assemble(c: &mut Cursor<'_>) {
    let entries = usize::from(c.u16()) % 8192;
    let mut msgs = Vec::new();
    while !c.is_empty() {
        msgs.push(c.chunk16());
    }
    let mut i = 0;
    while i < msgs.len() {
        let Ok(Message::GpadlHeader(h, tail)) = Message::parse(msgs[i]) else {
            i += 1;
            continue;
        };
        i += 1;
        let mut buf = vec![0u64; entries];
        let Ok(mut asm) = GpadlAssembler::new(&h, tail, &mut buf) else {
            continue;
        };
        assert_eq!(
            (asm.gpadl(), asm.child_relid()),
            ({ h.gpadl }, { h.child_relid })
        );
        while i < msgs.len() && !asm.is_complete() {
            match Message::parse(msgs[i]) {
                Ok(Message::GpadlBody(b, tail)) => {
                    let was = asm.is_complete();
                    if let Ok(done) = asm.add_body(&b, tail) {
                        assert!(!was);
                        assert_eq!(done, asm.is_complete());
                    }
                }
                Ok(Message::GpadlHeader(..)) => break,
                _ => {}
            }
            i += 1;
        }
        let complete = asm.is_complete();
        if let Ok(g) = asm.finish() {
            assert!(complete);
            let total: usize = g.ranges().map(|r| 1 + r.pfns.len()).sum();
            assert_eq!(total * 8, usize::from(h.range_buflen));
            assert_eq!(g.ranges().count(), usize::from(g.range_count));
            for r in g.ranges() {
                assert!(r.byte_count != 0 && r.byte_offset < 4096);
                let pages = (u64::from(r.byte_offset) + u64::from(r.byte_count)).div_ceil(4096);
                assert_eq!(r.pfns.len() as u64, pages);
            }
            assert_eq!(g.single_range().is_some(), g.range_count == 1);
        }
    }
}

/// Builds a GPADL with the guest builder and checks what the host assembles from it.
fn roundtrip(c: &mut Cursor<'_>) {
    let relid = c.u32();
    let handle = c.u32();
    let kind_sel = c.u8();
    let page_shift = 12 + u32::from(c.u8() % 6);
    let size = u32::from(c.u16()).wrapping_mul(4096);
    let send_offset = u32::from(c.u16()).wrapping_mul(4096);
    let kind = if kind_sel & 1 == 0 {
        GpadlType::Buffer
    } else {
        GpadlType::Ring { send_offset }
    };
    let npages = usize::from(c.u16()) % 4096;
    let pages: Vec<u64> = (0..npages).map(|_| c.u64() >> 12).collect();
    let Ok(builder) = GpadlBuilder::new(relid, handle, kind, &pages, page_shift, size) else {
        return;
    };
    let expected: Vec<u64> = (0..builder.pfn_count())
        .map(|i| builder.hv_pfn(i))
        .collect();
    let count = builder.message_count();
    let mut b = builder.clone();
    let mut msgs = Vec::new();
    let mut out = [0u8; MAX_SIZE_CHANNEL_MESSAGE];
    while let Some(n) = b.write_next(&mut out) {
        assert!(n <= MAX_SIZE_CHANNEL_MESSAGE);
        msgs.push(out[..n].to_vec());
        assert!(msgs.len() <= count, "more messages than announced");
    }
    assert_eq!(msgs.len(), count);
    let Ok(Message::GpadlHeader(h, tail)) = Message::parse(&msgs[0]) else {
        panic!("first message is not a GPADL_HEADER");
    };
    assert_eq!(({ h.child_relid }, { h.gpadl }), (relid, handle));
    let mut buf = vec![0u64; expected.len() + 1];
    let mut asm = GpadlAssembler::new(&h, tail, &mut buf).expect("header accepted");
    for m in &msgs[1..] {
        let Ok(Message::GpadlBody(body, tail)) = Message::parse(m) else {
            panic!("not a GPADL_BODY");
        };
        assert!(tail.len() <= GPADL_BODY_MAX_PFNS * 8);
        asm.add_body(&body, tail).expect("body accepted");
    }
    let g = asm.finish().expect("complete and valid");
    let r = g.single_range().expect("one range");
    assert_eq!(r.byte_offset, 0);
    assert_eq!(u64::from(r.byte_count), expected.len() as u64 * 4096);
    assert_eq!(r.pfns, &expected[..]);
}

fuzz_target!(|data: &[u8]| {
    let mut c = Cursor::new(data);
    match c.u8() % 2 {
        0 => assemble(&mut c),
        _ => roundtrip(&mut c),
    }
});
