// SPDX-License-Identifier: GPL-2.0

//! Ring buffer tests on flat memory: layout, round trips, the C signalling rules, every
//! validation error, barrier order and a randomized comparison against a model queue.

extern crate std;

use super::*;
use core::cell::RefCell;
use std::boxed::Box;
use std::collections::VecDeque;
use std::vec;
use std::vec::Vec;

use super::super::vmbus::GpaRange;

/// Allocates zeroed cells for a ring with `data` bytes of data area.
fn cells(data: usize) -> Vec<Cell<u8>> {
    (0..RING_HEADER_SIZE as usize + data)
        .map(|_| Cell::new(0))
        .collect()
}

/// Reads the raw little-endian u32 at byte `at` of the flat ring.
fn raw32(c: &[Cell<u8>], at: usize) -> u32 {
    u32::from_le_bytes([
        c[at].get(),
        c[at + 1].get(),
        c[at + 2].get(),
        c[at + 3].get(),
    ])
}

/// Writes the raw little-endian u32 at byte `at` of the flat ring.
fn set32(c: &[Cell<u8>], at: usize, v: u32) {
    for (i, b) in v.to_le_bytes().into_iter().enumerate() {
        c[at + i].set(b);
    }
}

/// Writes `b` at data offset `off` of the flat ring (wrapping).
fn set_data(c: &[Cell<u8>], data: usize, off: usize, b: &[u8]) {
    for (i, x) in b.iter().enumerate() {
        c[4096 + (off + i) % data].set(*x);
    }
}

#[test]
fn control_page_offsets() {
    // struct hv_ring_buffer in include/linux/hyperv.h.
    assert_eq!(ControlField::WriteIndex.offset(), 0);
    assert_eq!(ControlField::ReadIndex.offset(), 4);
    assert_eq!(ControlField::InterruptMask.offset(), 8);
    assert_eq!(ControlField::PendingSendSize.offset(), 12);
    assert_eq!(offset_of!(RingBufferHeader, reserved1), 16);
    assert_eq!(ControlField::FeatureBits.offset(), 64);
    assert_eq!(offset_of!(RingBufferHeader, reserved2), 68);
    assert_eq!(size_of::<RingBufferHeader>(), 4096);
    // struct vmpacket_descriptor.
    assert_eq!(offset_of!(PacketDescriptor, packet_type), 0);
    assert_eq!(offset_of!(PacketDescriptor, offset8), 2);
    assert_eq!(offset_of!(PacketDescriptor, len8), 4);
    assert_eq!(offset_of!(PacketDescriptor, flags), 6);
    assert_eq!(offset_of!(PacketDescriptor, trans_id), 8);
    // struct vmtransfer_page_packet_header (ranges[] at 24), vmtransfer_page_range.
    assert_eq!(offset_of!(TransferPageHeader, xfer_pageset_id), 16);
    assert_eq!(offset_of!(TransferPageHeader, sender_owns_set), 18);
    assert_eq!(offset_of!(TransferPageHeader, reserved), 19);
    assert_eq!(offset_of!(TransferPageHeader, range_cnt), 20);
    assert_eq!(offset_of!(TransferPageRange, byte_offset), 4);
    // struct vmdata_gpa_direct (range[] at 24).
    assert_eq!(offset_of!(GpaDirectHeader, reserved), 16);
    assert_eq!(offset_of!(GpaDirectHeader, range_cnt), 20);
    // enum vmbus_packet_type.
    assert_eq!(PacketType::DATA_INBAND.0, 6);
    assert_eq!(PacketType::DATA_USING_XFER_PAGES.0, 7);
    assert_eq!(PacketType::DATA_USING_GPA_DIRECT.0, 9);
    assert_eq!(PacketType::COMP.0, 11);
}

#[test]
fn flat_mem_uses_the_real_layout() {
    let c = cells(4096);
    let mem = FlatRingMem::new(&c).unwrap();
    init_ring(&mem);
    assert_eq!(raw32(&c, 64), 1, "feature bit at offset 64");
    let mut tx = OutgoingRing::new(&mem).unwrap();
    let mut rx = IncomingRing::new(&mem).unwrap();
    tx.write_packet(&OutgoingPacket::inband(0x1122, true), &[&[0xab; 5]])
        .unwrap();
    // 16 descriptor + 8 payload + 8 trailer.
    assert_eq!(raw32(&c, 0), 32, "write_index at offset 0");
    // The descriptor at the start of the data area (offset 4096).
    assert_eq!(c[4096].get(), 6);
    assert_eq!(c[4096 + 2].get(), 2, "offset8");
    assert_eq!(c[4096 + 4].get(), 3, "len8");
    assert_eq!(c[4096 + 6].get(), 1, "flags");
    assert_eq!(c[4096 + 8].get(), 0x22);
    assert_eq!(c[4096 + 16].get(), 0xab);
    assert_eq!(c[4096 + 21].get(), 0, "padding");
    // Trailer: previous write index (0) << 32.
    assert_eq!(raw32(&c, 4096 + 24), 0);
    assert_eq!(raw32(&c, 4096 + 28), 0);
    rx.read_packet(&mut [0; 64]).unwrap();
    rx.commit_read();
    assert_eq!(raw32(&c, 4), 32, "read_index at offset 4");
    rx.begin_read();
    assert_eq!(raw32(&c, 8), 1, "interrupt_mask at offset 8");
    assert_eq!(rx.end_read(), Ok(0));
    assert_eq!(raw32(&c, 8), 0);
    tx.set_pending_send_size(0x77);
    assert_eq!(raw32(&c, 12), 0x77, "pending_send_sz at offset 12");
    // The second packet's trailer holds the first packet's end (32) in the high half.
    tx.write_packet(&OutgoingPacket::completion(1), &[])
        .unwrap();
    assert_eq!(raw32(&c, 4096 + 32 + 16), 0);
    assert_eq!(raw32(&c, 4096 + 32 + 20), 32);
}

#[test]
fn invalid_sizes() {
    let c = cells(4096 + 4);
    assert!(FlatRingMem::new(&c).is_none());
    let c = cells(32);
    assert!(FlatRingMem::new(&c).is_none());
    let c: Vec<Cell<u8>> = (0..100).map(|_| Cell::new(0)).collect();
    assert!(FlatRingMem::new(&c).is_none());

    /// A memory whose data length is chosen freely.
    struct Odd(u32);
    impl RingMem for Odd {
        fn read_control(&self, _: ControlField) -> u32 {
            0
        }
        fn write_control(&self, _: ControlField, _: u32) {}
        fn data_len(&self) -> u32 {
            self.0
        }
        fn read_data(&self, _: u32, _: &mut [u8]) {}
        fn write_data(&self, _: u32, _: &[u8]) {}
        fn mb(&self) {}
        fn rmb(&self) {}
    }
    for bad in [0, 8, 100, 4097, MAX_DATA_SIZE + 8] {
        assert_eq!(
            OutgoingRing::new(Odd(bad)).err(),
            Some(RingError::InvalidSize(bad))
        );
        assert_eq!(
            IncomingRing::new(Odd(bad)).err(),
            Some(RingError::InvalidSize(bad))
        );
    }
    assert!(OutgoingRing::new(Odd(4096)).is_ok());
}

#[test]
fn gather_write_wraps_and_reads_back() {
    let c = cells(256);
    let mem = FlatRingMem::new(&c).unwrap();
    init_ring(&mem);
    let mut tx = OutgoingRing::new(&mem).unwrap();
    let mut rx = IncomingRing::new(&mem).unwrap();
    let mut buf = [0u8; 256];
    // Move the indices close to the end so the next packet wraps inside its payload.
    for i in 0..5u64 {
        tx.write_packet(&OutgoingPacket::inband(i, false), &[&[i as u8; 16]])
            .unwrap();
        rx.read_packet(&mut buf).unwrap();
        rx.commit_read();
    }
    assert_eq!(tx.write_index(), 5 * 40);
    let a = [1u8, 2, 3];
    let b = [4u8; 30];
    let d = [5u8, 6];
    tx.write_packet(&OutgoingPacket::inband(99, true), &[&a, &b, &d])
        .unwrap();
    let (p, n) = rx.read_packet(&mut buf).unwrap();
    assert_eq!(n, 40);
    assert_eq!(p.trans_id, 99);
    assert!(p.completion_requested());
    assert_eq!(&buf[..3], &a);
    assert_eq!(&buf[3..33], &b);
    assert_eq!(&buf[33..35], &d);
    assert_eq!(&buf[35..40], &[0; 5]);
    assert_eq!(tx.write_index(), (200 + 16 + 40 + 8) % 256);
    // Raw reads of the whole packet, across the wrap.
    let mut whole = [0u8; 56];
    rx.read_at(&p, 0, &mut whole).unwrap();
    assert_eq!(whole[0], 6);
    assert_eq!(&whole[16..19], &a);
    assert_eq!(
        rx.read_at(&p, 1, &mut whole),
        Err(RingError::InvalidArgument)
    );
}

#[test]
fn full_rule_never_fills_completely() {
    let c = cells(128);
    let mem = FlatRingMem::new(&c).unwrap();
    init_ring(&mem);
    let mut tx = OutgoingRing::new(&mem).unwrap();
    assert_eq!(tx.free_bytes(), Ok(128));
    // 16 + 96 payload + 8 trailer = 120 < 128: fits.
    assert!(tx
        .write_packet(&OutgoingPacket::inband(1, false), &[&[0; 96]])
        .is_ok());
    assert_eq!(tx.free_bytes(), Ok(8));
    // Even the smallest packet (24 bytes) does not fit now.
    assert_eq!(
        tx.write_packet(&OutgoingPacket::completion(2), &[]),
        Err(RingError::Full)
    );

    let c = cells(128);
    let mem = FlatRingMem::new(&c).unwrap();
    init_ring(&mem);
    let mut tx = OutgoingRing::new(&mem).unwrap();
    // 16 + 104 + 8 = 128 == free: refused, a full ring would look empty.
    assert_eq!(
        tx.write_packet(&OutgoingPacket::inband(1, false), &[&[0; 104]]),
        Err(RingError::TooLarge)
    );
    let mut rx = IncomingRing::new(&mem).unwrap();
    tx.write_packet(&OutgoingPacket::inband(1, false), &[&[0; 40]])
        .unwrap();
    // Free is 64; a 64-byte packet must wait, a 56-byte one fits.
    assert_eq!(tx.free_bytes(), Ok(64));
    assert_eq!(
        tx.write_packet(&OutgoingPacket::inband(2, false), &[&[0; 40]]),
        Err(RingError::Full)
    );
    assert_eq!(tx.write_index(), 64, "nothing written on Full");
    tx.write_packet(&OutgoingPacket::inband(2, false), &[&[0; 32]])
        .unwrap();
    assert_eq!(tx.free_bytes(), Ok(8));
    assert_eq!(rx.read_packet(&mut [0; 128]).map(|p| p.1), Ok(40));
    rx.commit_read();
    assert_eq!(tx.free_bytes(), Ok(72));
}

#[test]
fn argument_errors() {
    let c = cells(256);
    let mem = FlatRingMem::new(&c).unwrap();
    init_ring(&mem);
    let mut tx = OutgoingRing::new(&mem).unwrap();
    let bad_ext = OutgoingPacket {
        packet_type: PacketType::DATA_USING_GPA_DIRECT,
        flags: 0,
        trans_id: 0,
        ext_header: &[0; 12],
    };
    assert_eq!(
        tx.write_packet(&bad_ext, &[]),
        Err(RingError::InvalidArgument)
    );
    assert_eq!(tx.write_raw(&[&[0; 20]]), Err(RingError::InvalidArgument));
    assert_eq!(
        OutgoingRing::<&FlatRingMem<'_>>::packet_len(0, MAX_PACKET_LEN as usize),
        Err(RingError::TooLarge)
    );
    assert_eq!(
        OutgoingRing::<&FlatRingMem<'_>>::packet_len(0, MAX_PACKET_LEN as usize - 16),
        Ok(MAX_PACKET_LEN)
    );
    assert_eq!(OutgoingRing::<&FlatRingMem<'_>>::packet_len(8, 1), Ok(32));
    // write_raw is the C kvec interface: the caller's own descriptor.
    let desc = PacketDescriptor {
        packet_type: PacketType::DATA_INBAND,
        offset8: 2,
        len8: 3,
        flags: 0,
        trans_id: 5,
    };
    assert_eq!(tx.write_raw(&[desc.as_bytes(), &[7; 8]]), Ok(true));
    let mut rx = IncomingRing::new(&mem).unwrap();
    let (p, n) = rx.read_packet(&mut [0; 64]).unwrap();
    assert_eq!((p.trans_id, n), (5, 8));
    // A stale PacketInfo cannot be used to advance.
    assert_eq!(rx.advance(&p), Err(RingError::InvalidArgument));
    let mut small = [0u8; 7];
    tx.write_packet(&OutgoingPacket::inband(6, false), &[&[1; 8]])
        .unwrap();
    assert_eq!(
        rx.read_packet(&mut small),
        Err(RingError::BufferTooSmall { needed: 8 })
    );
    // Nothing consumed.
    assert_eq!(rx.peek().map(|p| p.trans_id), Ok(6));
}

/// Sets up a ring whose reader is at `start` with `data` bytes of data area.
fn ring_at(data: usize, start: u32) -> Vec<Cell<u8>> {
    let c = cells(data);
    set32(&c, 0, start);
    set32(&c, 4, start);
    set32(&c, 64, 1);
    c
}

#[test]
fn corrupt_indices_and_descriptors() {
    const D: usize = 256;
    let desc = |t: u16, off8: u16, len8: u16| {
        let mut b = [0u8; 16];
        b[0..2].copy_from_slice(&t.to_le_bytes());
        b[2..4].copy_from_slice(&off8.to_le_bytes());
        b[4..6].copy_from_slice(&len8.to_le_bytes());
        b
    };
    let c = ring_at(D, 0);
    let mem = FlatRingMem::new(&c).unwrap();
    let rx = IncomingRing::new(&mem).unwrap();
    let tx = OutgoingRing::new(&mem).unwrap();
    assert_eq!(rx.peek(), Err(RingError::Empty));

    // write_index out of range and misaligned.
    set32(&c, 0, D as u32);
    assert_eq!(
        rx.peek(),
        Err(RingError::Corrupt(Corruption::WriteIndex(D as u32)))
    );
    set32(&c, 0, 12);
    assert_eq!(
        rx.peek(),
        Err(RingError::Corrupt(Corruption::WriteIndex(12)))
    );
    assert_eq!(
        rx.end_read(),
        Err(RingError::Corrupt(Corruption::WriteIndex(12)))
    );
    // read_index as seen by the writer.
    set32(&c, 4, 0xffff_fff8);
    assert_eq!(
        tx.free_bytes(),
        Err(RingError::Corrupt(Corruption::ReadIndex(0xffff_fff8)))
    );
    set32(&c, 4, 4);
    assert_eq!(
        tx.free_bytes(),
        Err(RingError::Corrupt(Corruption::ReadIndex(4)))
    );
    set32(&c, 4, 0);
    // Attaching to corrupt indices.
    set32(&c, 0, 7);
    assert_eq!(
        OutgoingRing::new(&mem).err(),
        Some(RingError::Corrupt(Corruption::WriteIndex(7)))
    );
    set32(&c, 4, 4096);
    assert_eq!(
        IncomingRing::new(&mem).err(),
        Some(RingError::Corrupt(Corruption::ReadIndex(4096)))
    );
    set32(&c, 4, 0);

    // Fewer bytes than a descriptor and trailer.
    set32(&c, 0, 16);
    assert_eq!(
        rx.peek(),
        Err(RingError::Corrupt(Corruption::Truncated { available: 16 }))
    );
    // len8 smaller than a descriptor.
    set32(&c, 0, 64);
    set_data(&c, D, 0, &desc(6, 2, 1));
    assert_eq!(
        rx.peek(),
        Err(RingError::Corrupt(Corruption::PacketLength {
            len8: 1,
            available: 64
        }))
    );
    // Packet plus trailer longer than available (len 64 + 8 > 64).
    set_data(&c, D, 0, &desc(6, 2, 8));
    assert_eq!(
        rx.peek(),
        Err(RingError::Corrupt(Corruption::PacketLength {
            len8: 8,
            available: 64
        }))
    );
    // Oversized len8.
    set_data(&c, D, 0, &desc(6, 2, 0xffff));
    assert!(matches!(
        rx.peek(),
        Err(RingError::Corrupt(Corruption::PacketLength {
            len8: 0xffff,
            ..
        }))
    ));
    // Exactly fits: len 56 + trailer 8 == 64.
    set_data(&c, D, 0, &desc(6, 2, 7));
    assert_eq!(rx.peek().map(|p| p.len()), Ok(56));
    // offset8 below a descriptor.
    set_data(&c, D, 0, &desc(6, 1, 7));
    assert_eq!(
        rx.peek(),
        Err(RingError::Corrupt(Corruption::PacketOffset {
            offset8: 1,
            len8: 7
        }))
    );
    // offset8 beyond len8.
    set_data(&c, D, 0, &desc(6, 8, 7));
    assert_eq!(
        rx.peek(),
        Err(RingError::Corrupt(Corruption::PacketOffset {
            offset8: 8,
            len8: 7
        }))
    );
    // offset8 == len8 is an empty payload, valid.
    set_data(&c, D, 0, &desc(6, 7, 7));
    assert_eq!(rx.peek().map(|p| p.payload_len()), Ok(0));
}

#[test]
fn descriptor_read_once() {
    // The descriptor is copied once; changing the ring after peek does not change the result
    // of reading with the PacketInfo, and the advance uses the validated length.
    let c = cells(256);
    let mem = FlatRingMem::new(&c).unwrap();
    init_ring(&mem);
    let mut tx = OutgoingRing::new(&mem).unwrap();
    let mut rx = IncomingRing::new(&mem).unwrap();
    tx.write_packet(&OutgoingPacket::inband(1, false), &[&[9; 8]])
        .unwrap();
    tx.write_packet(&OutgoingPacket::inband(2, false), &[&[8; 8]])
        .unwrap();
    let p = rx.peek().unwrap();
    // A hostile peer rewrites len8 after the peek.
    set_data(&c, 256, 4, &200u16.to_le_bytes());
    let mut buf = [0u8; 8];
    assert_eq!(rx.read_payload(&p, &mut buf), Ok(8));
    rx.advance(&p).unwrap();
    assert_eq!(rx.peek().map(|p| p.trans_id), Ok(2));
}

#[test]
fn signal_on_write_table() {
    // (ring empty before, interrupt_mask) -> signal; hv_signal_on_write().
    for (empty_before, mask, expect) in [
        (true, 0, true),
        (true, 1, false),
        (false, 0, false),
        (false, 1, false),
    ] {
        let c = cells(256);
        let mem = FlatRingMem::new(&c).unwrap();
        init_ring(&mem);
        let mut tx = OutgoingRing::new(&mem).unwrap();
        if !empty_before {
            tx.write_packet(&OutgoingPacket::inband(0, false), &[&[0; 8]])
                .unwrap();
        }
        set32(&c, 8, mask);
        assert_eq!(
            tx.write_packet(&OutgoingPacket::inband(1, false), &[&[0; 8]]),
            Ok(expect),
            "empty_before={empty_before} mask={mask}"
        );
    }
}

/// A callback run after each control write: the raw ring, the field and the value written.
type Hook<'a> = Box<dyn FnMut(&[Cell<u8>], ControlField, u32) + 'a>;

/// A flat ring with a hook run after each control write and a log of operations.
struct HookMem<'a> {
    inner: FlatRingMem<'a>,
    raw: &'a [Cell<u8>],
    hook: RefCell<Option<Hook<'a>>>,
    log: RefCell<Vec<Op>>,
}

/// One logged memory operation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Op {
    Read(ControlField),
    Write(ControlField),
    ReadData,
    WriteData,
    Mb,
    Rmb,
}

impl<'a> HookMem<'a> {
    fn new(raw: &'a [Cell<u8>]) -> HookMem<'a> {
        HookMem {
            inner: FlatRingMem::new(raw).unwrap(),
            raw,
            hook: RefCell::new(None),
            log: RefCell::new(Vec::new()),
        }
    }

    fn take_log(&self) -> Vec<Op> {
        core::mem::take(&mut *self.log.borrow_mut())
    }
}

impl RingMem for HookMem<'_> {
    fn read_control(&self, field: ControlField) -> u32 {
        self.log.borrow_mut().push(Op::Read(field));
        self.inner.read_control(field)
    }
    fn write_control(&self, field: ControlField, value: u32) {
        self.log.borrow_mut().push(Op::Write(field));
        self.inner.write_control(field, value);
        if let Some(h) = self.hook.borrow_mut().as_mut() {
            h(self.raw, field, value);
        }
    }
    fn data_len(&self) -> u32 {
        self.inner.data_len()
    }
    fn read_data(&self, offset: u32, buf: &mut [u8]) {
        self.log.borrow_mut().push(Op::ReadData);
        self.inner.read_data(offset, buf)
    }
    fn write_data(&self, offset: u32, buf: &[u8]) {
        self.log.borrow_mut().push(Op::WriteData);
        self.inner.write_data(offset, buf)
    }
    fn mb(&self) {
        self.log.borrow_mut().push(Op::Mb);
    }
    fn rmb(&self) {
        self.log.borrow_mut().push(Op::Rmb);
    }
}

#[test]
fn signal_uses_read_index_seen_after_the_write() {
    // The ring holds a packet; the reader consumes it while we write (between our write of the
    // data and our check). hv_signal_on_write compares the old write index with read_index as
    // read after the write, so this write must signal.
    let c = cells(256);
    let mem = HookMem::new(&c);
    init_ring(&mem);
    let mut tx = OutgoingRing::new(&mem).unwrap();
    tx.write_packet(&OutgoingPacket::inband(0, false), &[&[0; 8]])
        .unwrap();
    *mem.hook.borrow_mut() = Some(Box::new(|raw: &[Cell<u8>], f, v| {
        if f == ControlField::WriteIndex && v == 64 {
            set32(raw, 4, 32);
        }
    }));
    assert_eq!(
        tx.write_packet(&OutgoingPacket::inband(1, false), &[&[0; 8]]),
        Ok(true)
    );
}

#[test]
fn barrier_order_matches_c() {
    let c = cells(256);
    let mem = HookMem::new(&c);
    init_ring(&mem);
    let mut tx = OutgoingRing::new(&mem).unwrap();
    let mut rx = IncomingRing::new(&mem).unwrap();
    mem.take_log();

    tx.write_packet(&OutgoingPacket::inband(1, false), &[&[1; 8]])
        .unwrap();
    let log = mem.take_log();
    // Free space check first, then the data, then hv_ringbuffer_write's tail and
    // hv_signal_on_write().
    assert_eq!(log[0], Op::Read(ControlField::ReadIndex));
    let tail = &log[log.len() - 7..];
    assert_eq!(
        tail,
        &[
            Op::WriteData,
            Op::Mb,
            Op::Write(ControlField::WriteIndex),
            Op::Mb,
            Op::Read(ControlField::InterruptMask),
            Op::Rmb,
            Op::Read(ControlField::ReadIndex),
        ]
    );
    assert!(log[1..log.len() - 7].iter().all(|o| *o == Op::WriteData));

    // peek: acquire-load of write_index before any data read.
    rx.peek().unwrap();
    let log = mem.take_log();
    assert_eq!(
        &log[..3],
        &[Op::Read(ControlField::WriteIndex), Op::Rmb, Op::ReadData]
    );

    rx.read_packet(&mut [0; 16]).unwrap();
    mem.take_log();
    // commit_read: hv_pkt_iter_close() with pending_send_sz set.
    set32(&c, 12, 8);
    rx.commit_read();
    assert_eq!(
        mem.take_log(),
        vec![
            Op::Rmb,
            Op::Write(ControlField::ReadIndex),
            Op::Read(ControlField::FeatureBits),
            Op::Mb,
            Op::Read(ControlField::PendingSendSize),
            Op::Rmb,
            Op::Read(ControlField::WriteIndex),
        ]
    );
    rx.begin_read();
    assert_eq!(
        mem.take_log(),
        vec![Op::Write(ControlField::InterruptMask), Op::Mb]
    );
    rx.end_read().unwrap();
    assert_eq!(
        mem.take_log(),
        vec![
            Op::Write(ControlField::InterruptMask),
            Op::Mb,
            Op::Read(ControlField::WriteIndex)
        ]
    );
}

/// Builds the state for one row of the hv_pkt_iter_close() table and returns the decision.
///
/// The ring has 256 data bytes; the writer's `write_index` is at `write`, the reader consumes
/// `consume` bytes from 0 and commits with `pending` and `feature` set.
fn commit_decision(write: u32, consume: u32, pending: u32, feature: u32) -> bool {
    let c = ring_at(256, 0);
    set32(&c, 0, write);
    set32(&c, 12, pending);
    set32(&c, 64, feature);
    // Lay out 24-byte packets (16 descriptor + 8 trailer, no payload) up to `write`.
    let mut off = 0;
    while off < write {
        let mut d = [0u8; 16];
        d[0] = 6;
        d[2] = 2;
        d[4] = 2;
        set_data(&c, 256, off as usize, &d);
        off += 24;
    }
    let mem = FlatRingMem::new(&c).unwrap();
    let mut rx = IncomingRing::new(&mem).unwrap();
    let mut n = 0;
    while n < consume {
        let p = rx.peek().unwrap();
        rx.advance(&p).unwrap();
        n += 24;
    }
    rx.commit_read()
}

#[test]
fn pending_send_size_signal_table() {
    // Ring of 256 bytes, 240 written (10 packets) so 16 free before reading.
    // Writer waiting for more than 40 free bytes.
    // Reading 24 bytes: free 40, still <= 40: no signal.
    assert!(!commit_decision(240, 24, 40, 1));
    // Reading 48 bytes: free 64 > 40, and before it was 16 <= 40: signal.
    assert!(commit_decision(240, 48, 40, 1));
    // Same, but the writer does not use the feature: no signal.
    assert!(!commit_decision(240, 48, 40, 0));
    // Same, but nobody waits: no signal.
    assert!(!commit_decision(240, 48, 0, 1));
    // Free space was already enough before this batch (writer not blocked): no signal.
    // 120 written: 136 free before, pending 100.
    assert!(!commit_decision(120, 24, 100, 1));
    // Exactly equal before (free 16 - ... ): before = 64 - 48 = 16 <= 16, after 64 > 16: signal.
    assert!(commit_decision(240, 48, 16, 1));
    // After == pending is still "not enough" (a full ring is never filled).
    assert!(!commit_decision(240, 48, 64, 1));
}

#[test]
fn end_read_rechecks_and_drain_loops() {
    let c = cells(512);
    let mem = HookMem::new(&c);
    init_ring(&mem);
    let mut tx = OutgoingRing::new(&mem).unwrap();
    let mut rx = IncomingRing::new(&mem).unwrap();
    tx.write_packet(&OutgoingPacket::inband(1, false), &[&[1; 8]])
        .unwrap();
    // While the reader drains with the mask set, the writer adds a packet and, seeing the
    // mask, does not signal; after unmasking, end_read must report it.
    let written = Cell::new(false);
    let pending_packet: [u8; 32] = {
        let mut p = [0u8; 32];
        p[0] = 6;
        p[2] = 2;
        p[4] = 3;
        p[8] = 2;
        p[28..32].copy_from_slice(&32u32.to_le_bytes());
        p
    };
    *mem.hook.borrow_mut() = Some(Box::new(move |raw: &[Cell<u8>], f, v| {
        if f == ControlField::ReadIndex && v == 32 && !written.get() {
            written.set(true);
            // The "host" writes packet 2 at 32 and moves write_index to 64.
            for (i, b) in pending_packet.iter().enumerate() {
                raw[4096 + 32 + i].set(*b);
            }
            set32(raw, 0, 64);
        }
    }));
    let mut seen = Vec::new();
    let (count, signal) = rx
        .drain(&mut [0u8; 64], |p, _| seen.push(p.trans_id))
        .unwrap();
    assert_eq!(count, 2);
    assert_eq!(seen, vec![1, 2]);
    assert!(!signal);
    assert_eq!(rx.read_index(), 64);
    assert_eq!(raw32(&c, 8), 0, "left unmasked");
}

#[test]
fn drain_stops_at_corruption() {
    let c = cells(256);
    let mem = FlatRingMem::new(&c).unwrap();
    init_ring(&mem);
    let mut tx = OutgoingRing::new(&mem).unwrap();
    let mut rx = IncomingRing::new(&mem).unwrap();
    tx.write_packet(&OutgoingPacket::inband(1, false), &[&[1; 8]])
        .unwrap();
    tx.write_packet(&OutgoingPacket::inband(2, false), &[&[1; 8]])
        .unwrap();
    // Corrupt the second descriptor's offset8.
    set_data(&c, 256, 32 + 2, &9u16.to_le_bytes());
    let mut n = 0;
    assert_eq!(
        rx.drain(&mut [0; 64], |_, _| n += 1),
        Err(RingError::Corrupt(Corruption::PacketOffset {
            offset8: 9,
            len8: 3
        }))
    );
    assert_eq!(n, 1);
    assert_eq!(raw32(&c, 4), 32, "the good packet is committed");
    assert_eq!(raw32(&c, 8), 0, "unmasked");
}

/// xorshift64*, a small deterministic PRNG for the property tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn random_interleavings_match_a_model_queue() {
    for seed in 1..=40u64 {
        let data = [136usize, 256, 512, 1024][(seed % 4) as usize];
        let c = cells(data);
        let mem = FlatRingMem::new(&c).unwrap();
        init_ring(&mem);
        let mut tx = OutgoingRing::new(&mem).unwrap();
        let mut rx = IncomingRing::new(&mem).unwrap();
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        // The model: queued packets (payload, id) and the bytes each occupies.
        let mut model: VecDeque<(Vec<u8>, u64)> = VecDeque::new();
        let mut used = 0u32; // bytes of all packets not yet committed as read
        let mut uncommitted = 0u32; // bytes read but not committed
        let mut next_id = 0u64;
        let mut wraps = 0;
        let mut buf = vec![0u8; data];
        for _ in 0..3000 {
            if rng.below(2) == 0 {
                let len = rng.below(data as u64 / 2) as usize;
                let payload: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                let total = 16 + (len as u32).div_ceil(8) * 8 + 8;
                // Split the payload into up to three gather parts.
                let a = rng.below(len as u64 + 1) as usize;
                let b = a + rng.below((len - a) as u64 + 1) as usize;
                let parts = [&payload[..a], &payload[a..b], &payload[b..]];
                let before = tx.write_index();
                let empty_before = used == 0;
                let r = tx.write_packet(&OutgoingPacket::inband(next_id, false), &parts);
                let free = data as u32 - used;
                if total >= data as u32 {
                    assert_eq!(r, Err(RingError::TooLarge));
                } else if free <= total {
                    assert_eq!(r, Err(RingError::Full), "seed {seed}");
                } else {
                    // Signals exactly when the ring was empty (nothing unread, committed).
                    assert_eq!(r, Ok(empty_before), "seed {seed}");
                    if tx.write_index() < before {
                        wraps += 1;
                    }
                    model.push_back((payload, next_id));
                    used += total;
                    next_id += 1;
                }
            } else {
                let count = rng.below(4);
                for _ in 0..count {
                    match rx.read_packet(&mut buf) {
                        Ok((p, n)) => {
                            let (payload, id) = model.pop_front().expect("model has a packet");
                            assert_eq!(p.trans_id, id);
                            assert_eq!(n, payload.len().div_ceil(8) * 8);
                            assert_eq!(&buf[..payload.len()], &payload[..]);
                            assert!(buf[payload.len()..n].iter().all(|b| *b == 0));
                            uncommitted += p.len() + 8;
                        }
                        Err(RingError::Empty) => assert!(model.is_empty()),
                        Err(e) => panic!("seed {seed}: {e:?}"),
                    }
                }
                if rng.below(3) != 0 {
                    // Nobody sets pending_send_sz here, so a commit never signals.
                    assert!(!rx.commit_read());
                    used -= uncommitted;
                    uncommitted = 0;
                    assert_eq!(tx.free_bytes(), Ok(data as u32 - used));
                }
            }
        }
        assert!(wraps > 3, "seed {seed}: only {wraps} wraps");
    }
}

#[test]
fn random_pending_send_size_signals() {
    // A writer that blocks sets pending_send_sz to what it needs; the reader's commit must
    // signal exactly once, when free space first exceeds it.
    for seed in 1..=20u64 {
        let c = cells(512);
        let mem = FlatRingMem::new(&c).unwrap();
        init_ring(&mem);
        let mut tx = OutgoingRing::new(&mem).unwrap();
        let mut rx = IncomingRing::new(&mem).unwrap();
        let mut rng = Rng(seed);
        let mut blocked: Option<u32> = None;
        for _ in 0..2000 {
            if blocked.is_none() && rng.below(3) != 0 {
                let len = rng.below(200) as usize;
                let total = 16 + (len as u32).div_ceil(8) * 8 + 8;
                match tx.write_packet(&OutgoingPacket::inband(0, false), &[&vec![1; len]]) {
                    Ok(_) => {}
                    Err(RingError::Full) => {
                        tx.set_pending_send_size(total);
                        blocked = Some(total);
                    }
                    Err(e) => panic!("{e:?}"),
                }
            } else {
                let before = tx.free_bytes().unwrap();
                for _ in 0..rng.below(3) {
                    let _ = rx.read_packet(&mut [0u8; 512]);
                }
                let signal = rx.commit_read();
                let after = tx.free_bytes().unwrap();
                match blocked {
                    Some(need) => {
                        assert_eq!(signal, before <= need && after > need, "seed {seed}");
                        if signal {
                            tx.clear_pending_send_size();
                            blocked = None;
                        }
                    }
                    None => assert!(!signal),
                }
            }
        }
    }
}

#[test]
fn guest_and_host_pair() {
    // Each side has an outgoing and an incoming ring over the same two memories.
    let a = cells(1024);
    let b = cells(1024);
    let guest_to_host = FlatRingMem::new(&a).unwrap();
    let host_to_guest = FlatRingMem::new(&b).unwrap();
    init_ring(&guest_to_host);
    init_ring(&host_to_guest);
    let mut guest_out = OutgoingRing::new(&guest_to_host).unwrap();
    let mut guest_in = IncomingRing::new(&host_to_guest).unwrap();
    let mut host_out = OutgoingRing::new(&host_to_guest).unwrap();
    let mut host_in = IncomingRing::new(&guest_to_host).unwrap();
    let mut buf = [0u8; 128];
    for i in 0..100u64 {
        guest_out
            .write_packet(&OutgoingPacket::inband(i, true), &[&i.to_le_bytes()])
            .unwrap();
        let (p, _) = host_in.read_packet(&mut buf).unwrap();
        assert!(p.completion_requested());
        host_in.commit_read();
        host_out
            .write_packet(&OutgoingPacket::completion(p.trans_id), &[&buf[..8]])
            .unwrap();
        let (c, n) = guest_in.read_packet(&mut buf).unwrap();
        guest_in.commit_read();
        assert_eq!(c.packet_type, PacketType::COMP);
        assert_eq!(c.trans_id, i);
        assert_eq!(&buf[..n], &i.to_le_bytes());
    }
}

/// Builds a GPA-direct extended header (after the descriptor) with the given ranges.
fn gpa_ext(ranges: &[(u32, u32, &[u64])], claimed: Option<u32>) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&0u32.to_le_bytes());
    let n = claimed.unwrap_or(ranges.len() as u32);
    v.extend_from_slice(&n.to_le_bytes());
    for (count, off, pfns) in ranges {
        v.extend_from_slice(
            GpaRange {
                byte_count: *count,
                byte_offset: *off,
            }
            .as_bytes(),
        );
        for p in *pfns {
            v.extend_from_slice(&p.to_le_bytes());
        }
    }
    v
}

/// Writes a packet with `ext` as extended header and returns the copied header bytes.
fn header_through_ring(t: PacketType, ext: &[u8]) -> Vec<u8> {
    let c = cells(8192);
    let mem = FlatRingMem::new(&c).unwrap();
    init_ring(&mem);
    let mut tx = OutgoingRing::new(&mem).unwrap();
    let rx = IncomingRing::new(&mem).unwrap();
    let pkt = OutgoingPacket {
        packet_type: t,
        flags: 1,
        trans_id: 42,
        ext_header: ext,
    };
    tx.write_packet(&pkt, &[b"payload!"]).unwrap();
    let p = rx.peek().unwrap();
    assert_eq!(p.header_len() as usize, 16 + ext.len());
    let mut small = [0u8; 8];
    assert_eq!(
        rx.read_header(&p, &mut small),
        Err(RingError::BufferTooSmall {
            needed: p.header_len()
        })
    );
    let mut buf = vec![0u8; 4096];
    rx.read_header(&p, &mut buf).unwrap().to_vec()
}

#[test]
fn gpa_direct_parse() {
    let ext = gpa_ext(
        &[
            (4096 * 2, 0, &[10, 11]),
            (100, 4000, &[20, 21]),
            (1, 5, &[30]),
        ],
        None,
    );
    let h = header_through_ring(PacketType::DATA_USING_GPA_DIRECT, &ext);
    let g = GpaDirect::parse(&h).unwrap();
    assert_eq!(g.range_count, 3);
    let r: Vec<_> = g.ranges().collect();
    assert_eq!(r.len(), 3);
    assert_eq!((r[0].byte_count, r[0].byte_offset), (8192, 0));
    assert_eq!(r[0].pfns().collect::<Vec<_>>(), vec![10, 11]);
    assert_eq!(r[1].pfn_count(), 2);
    assert_eq!(r[1].pfn(1), Some(21));
    assert_eq!(r[1].pfn(2), None);
    assert_eq!(r[2].pfns().collect::<Vec<_>>(), vec![30]);

    let bad = |ranges: &[(u32, u32, &[u64])], claimed| {
        let ext = gpa_ext(ranges, claimed);
        let h = header_through_ring(PacketType::DATA_USING_GPA_DIRECT, &ext);
        GpaDirect::parse(&h).err()
    };
    assert_eq!(
        bad(&[(4096, 0, &[1])], Some(2)),
        Some(PacketHeaderError::RangeCount(2))
    );
    assert_eq!(
        bad(&[(4096, 0, &[1]), (4096, 0, &[1])], Some(0x4000_0000)),
        Some(PacketHeaderError::RangeCount(0x4000_0000))
    );
    assert_eq!(
        bad(&[(0, 0, &[1])], None),
        Some(PacketHeaderError::EmptyRange)
    );
    assert_eq!(
        bad(&[(8, 4096, &[1, 2])], None),
        Some(PacketHeaderError::RangeOffset(4096))
    );
    // Needs two PFNs (offset 4095 + 2 bytes) but has one, then another range's head.
    assert_eq!(
        bad(&[(2, 4095, &[1]), (8, 0, &[5])], None),
        Some(PacketHeaderError::RangeTooLong)
    );
    // A huge byte count claims far more PFNs than the header holds.
    assert_eq!(
        bad(&[(u32::MAX, 4095, &[1, 2])], None),
        Some(PacketHeaderError::RangeTooLong)
    );
    // Wrong packet type and truncation.
    let h = header_through_ring(PacketType::DATA_INBAND, &ext);
    assert_eq!(
        GpaDirect::parse(&h).err(),
        Some(PacketHeaderError::WrongType(PacketType::DATA_INBAND))
    );
    assert_eq!(
        GpaDirect::parse(&h[..20]).err(),
        Some(PacketHeaderError::Truncated)
    );
}

#[test]
fn transfer_pages_parse() {
    let mut ext = Vec::new();
    ext.extend_from_slice(&0xcafeu16.to_le_bytes());
    ext.push(1);
    ext.push(0);
    ext.extend_from_slice(&3u32.to_le_bytes());
    for (count, off) in [(100u32, 0u32), (1514, 4096), (60, 16 << 20)] {
        ext.extend_from_slice(&count.to_le_bytes());
        ext.extend_from_slice(&off.to_le_bytes());
    }
    let h = header_through_ring(PacketType::DATA_USING_XFER_PAGES, &ext);
    let t = TransferPages::parse(&h).unwrap();
    assert_eq!(t.xfer_pageset_id, 0xcafe);
    assert_eq!(t.sender_owns_set, 1);
    assert_eq!(t.range_count, 3);
    assert_eq!(
        t.range(1),
        Some(TransferPageRange {
            byte_count: 1514,
            byte_offset: 4096
        })
    );
    assert_eq!(t.range(3), None);
    assert_eq!(t.ranges().count(), 3);
    assert!(!t.check_ranges(16 << 20));
    assert!(t.check_ranges((16 << 20) + 60));

    // range_cnt larger than the header holds.
    ext[4..8].copy_from_slice(&4u32.to_le_bytes());
    let h = header_through_ring(PacketType::DATA_USING_XFER_PAGES, &ext);
    assert_eq!(
        TransferPages::parse(&h).err(),
        Some(PacketHeaderError::RangeCount(4))
    );
    ext[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    let h = header_through_ring(PacketType::DATA_USING_XFER_PAGES, &ext);
    assert_eq!(
        TransferPages::parse(&h).err(),
        Some(PacketHeaderError::RangeCount(u32::MAX))
    );
    let h = header_through_ring(PacketType::DATA_USING_GPA_DIRECT, &ext);
    assert_eq!(
        TransferPages::parse(&h).err(),
        Some(PacketHeaderError::WrongType(
            PacketType::DATA_USING_GPA_DIRECT
        ))
    );
    assert_eq!(
        TransferPages::parse(&h[..23]).err(),
        Some(PacketHeaderError::Truncated)
    );
}

#[test]
fn header_parsers_never_panic() {
    let mut rng = Rng(77);
    for t in [
        PacketType::DATA_USING_GPA_DIRECT,
        PacketType::DATA_USING_XFER_PAGES,
    ] {
        for _ in 0..2000 {
            let len = rng.below(200) as usize;
            let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if len >= 2 {
                b[..2].copy_from_slice(&t.0.to_le_bytes());
            }
            if len >= 24 && rng.below(2) == 0 {
                let n = rng.below(8) as u32;
                b[20..24].copy_from_slice(&n.to_le_bytes());
            }
            if let Ok(g) = GpaDirect::parse(&b) {
                for r in g.ranges() {
                    assert!(r.byte_count > 0 && r.byte_offset < 4096);
                    assert_eq!(
                        r.pfn_count(),
                        (r.byte_offset as usize + r.byte_count as usize).div_ceil(4096)
                    );
                }
                assert_eq!(g.ranges().count(), g.range_count as usize);
            }
            if let Ok(x) = TransferPages::parse(&b) {
                assert_eq!(x.ranges().count(), x.range_count as usize);
            }
        }
    }
}

#[test]
fn random_corruption_never_panics() {
    // Random control words and data: peek/commit/write return errors, never panic.
    let mut rng = Rng(4242);
    for _ in 0..2000 {
        let c = cells(128);
        for x in c.iter().skip(4096) {
            x.set(rng.next() as u8);
        }
        let mem = FlatRingMem::new(&c).unwrap();
        set32(&c, 0, (rng.below(40) * 4) as u32);
        set32(&c, 4, (rng.below(40) * 4) as u32);
        set32(&c, 12, rng.next() as u32);
        set32(&c, 64, rng.next() as u32);
        if let Ok(mut rx) = IncomingRing::new(&mem) {
            let mut buf = [0u8; 128];
            for _ in 0..4 {
                let _ = rx.read_packet(&mut buf);
            }
            let _ = rx.commit_read();
            let _ = rx.end_read();
        }
        if let Ok(mut tx) = OutgoingRing::new(&mem) {
            let _ = tx.write_packet(&OutgoingPacket::inband(1, false), &[&[1; 9]]);
        }
    }
}

/// What `encode_gpa_direct` writes goes through a ring and parses back as the one range.
#[test]
fn gpa_direct_encode_round_trip() {
    let pfns = [0x1234u64, 0x99, 0xffff_ffff_ff];
    let mut ext = [0u8; 64];
    let n = encode_gpa_direct(0x200, 3 * 4096 - 0x300, &pfns, &mut ext).unwrap();
    assert_eq!(n, gpa_direct_header_len(3));
    assert_eq!(n, 40);
    let c = cells(8192);
    let mem = FlatRingMem::new(&c).unwrap();
    init_ring(&mem);
    let mut tx = OutgoingRing::new(&mem).unwrap();
    let rx = IncomingRing::new(&mem).unwrap();
    tx.write_packet(&OutgoingPacket::gpa_direct(7, &ext[..n]), &[&[0xabu8; 64]])
        .unwrap();
    let p = rx.peek().unwrap();
    assert_eq!(p.packet_type, PacketType::DATA_USING_GPA_DIRECT);
    assert_eq!(p.trans_id, 7);
    assert!(p.completion_requested());
    let mut buf = vec![0u8; 4096];
    let h = rx.read_header(&p, &mut buf).unwrap();
    let g = GpaDirect::parse(h).unwrap();
    assert_eq!(g.range_count, 1);
    let r = g.ranges().next().unwrap();
    assert_eq!((r.byte_offset, r.byte_count), (0x200, 3 * 4096 - 0x300));
    assert_eq!(r.pfns().collect::<Vec<_>>(), pfns.to_vec());
}

#[test]
fn gpa_direct_encode_rejects() {
    let mut ext = [0u8; 64];
    // Empty range, offset of a page, PFN count not what the range spans, `out` too small.
    assert_eq!(
        encode_gpa_direct(0, 0, &[1], &mut ext),
        Err(RingError::InvalidArgument)
    );
    assert_eq!(
        encode_gpa_direct(4096, 1, &[1], &mut ext),
        Err(RingError::InvalidArgument)
    );
    assert_eq!(
        encode_gpa_direct(4000, 200, &[1], &mut ext),
        Err(RingError::InvalidArgument)
    );
    assert_eq!(
        encode_gpa_direct(0, 4096, &[1, 2], &mut ext),
        Err(RingError::InvalidArgument)
    );
    assert_eq!(
        encode_gpa_direct(0, 4096, &[1], &mut ext[..23]),
        Err(RingError::InvalidArgument)
    );
    assert_eq!(encode_gpa_direct(4000, 200, &[1, 2], &mut ext), Ok(32));
}
