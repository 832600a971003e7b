// SPDX-License-Identifier: GPL-2.0

//! A stateful ring fuzzer: a writer and a reader on one ring, driven by a sequence of
//! operations, checked against a model queue; optionally over memory that a hostile peer
//! changes at every access.
//!
//! Input: `[size selector u8][chaos length u16][chaos bytes][operations...]`.
//!
//! With no chaos bytes every result is compared with the model: packets come out in order and
//! unchanged, `Full`/`TooLarge` exactly when the model says, free and available bytes, and both
//! signal decisions (`hv_signal_on_write()` and the `pending_send_sz` rule of
//! `hv_pkt_iter_close()`). A `Poke` operation (the peer scribbling on the control page or the
//! data) turns the model checks off for the rest of the run. With chaos bytes, every control
//! word and data read may return something else ([`ChaosMem`]), as when the peer changes the
//! shared memory concurrently; then only the absence of panics and hangs and the invariants of
//! the values returned are checked.

use std::cell::RefCell;
use std::collections::VecDeque;

use hv_proto::ring::{
    init_ring, ControlField, FlatRingMem, IncomingRing, OutgoingPacket, OutgoingRing, PacketInfo,
    PacketType, RingError, RingMem, MAX_PACKET_LEN, VMBUS_PKT_TRAILER,
};

use super::{ring_storage, Cursor};

/// Ring memory whose reads a hostile peer may change from one access to the next.
pub struct ChaosMem<'a> {
    inner: FlatRingMem<'a>,
    chaos: RefCell<Cursor<'a>>,
}

impl<'a> ChaosMem<'a> {
    /// Wraps `inner`; `chaos` decides, access by access, what the peer changes.
    pub fn new(inner: FlatRingMem<'a>, chaos: &'a [u8]) -> ChaosMem<'a> {
        ChaosMem {
            inner,
            chaos: RefCell::new(Cursor::new(chaos)),
        }
    }
}

impl RingMem for ChaosMem<'_> {
    fn read_control(&self, field: ControlField) -> u32 {
        let real = self.inner.read_control(field);
        let mut c = self.chaos.borrow_mut();
        if c.is_empty() {
            return real;
        }
        match c.u8() {
            0..=159 => real,
            160..=207 => real.wrapping_add(8 * u32::from(c.u8())),
            208..=223 => real.wrapping_sub(8 * u32::from(c.u8())),
            224..=247 => c.u32(),
            _ => real ^ (1 << (c.u8() % 32)),
        }
    }

    fn write_control(&self, field: ControlField, value: u32) {
        self.inner.write_control(field, value)
    }

    fn data_len(&self) -> u32 {
        self.inner.data_len()
    }

    fn read_data(&self, offset: u32, buf: &mut [u8]) {
        self.inner.read_data(offset, buf);
        let mut c = self.chaos.borrow_mut();
        if c.is_empty() || buf.is_empty() {
            return;
        }
        if c.u8() >= 192 {
            let i = usize::from(c.u16()) % buf.len();
            buf[i] = c.u8();
        }
    }

    fn write_data(&self, offset: u32, buf: &[u8]) {
        self.inner.write_data(offset, buf)
    }

    fn mb(&self) {
        self.inner.mb()
    }

    fn rmb(&self) {
        self.inner.rmb()
    }
}

/// A packet in the model queue.
#[derive(Clone, Debug)]
struct Pkt {
    ty: PacketType,
    flags: u16,
    trans_id: u64,
    offset8: u16,
    /// The payload as read back: the bytes written and the zero padding.
    payload: Vec<u8>,
    /// Ring bytes taken, trailer included.
    total: u32,
}

/// The model of one ring.
struct Model {
    size: u32,
    /// Packets written and not yet committed by the reader.
    q: VecDeque<Pkt>,
    /// Packets of `q` the reader has passed privately.
    pos: usize,
    masked: bool,
    pending: u32,
    feature: bool,
    /// False once the peer scribbled on the ring: checks are off.
    valid: bool,
}

impl Model {
    fn used(&self) -> u32 {
        self.q.iter().map(|p| p.total).sum()
    }

    fn free(&self) -> u32 {
        self.size - self.used()
    }

    fn available(&self) -> u32 {
        self.q.iter().skip(self.pos).map(|p| p.total).sum()
    }

    /// The `hv_pkt_iter_close()` decision for a commit of the packets passed so far.
    fn commit(&mut self) -> bool {
        let bytes_read: u32 = self.q.drain(..self.pos).map(|p| p.total).sum();
        self.pos = 0;
        if !self.feature || self.pending == 0 {
            return false;
        }
        let curr = self.free();
        curr - bytes_read <= self.pending && curr > self.pending
    }
}

/// Builds a payload of `len` bytes that identifies the packet.
fn pattern(trans_id: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (trans_id as u8).wrapping_add(i as u8).wrapping_mul(31))
        .collect()
}

/// Checks the invariants of a packet returned by `peek`.
fn check_info(p: &PacketInfo) {
    assert!(p.len8 >= 2, "len8 {} < 2", p.len8);
    assert!(
        p.offset8 >= 2 && p.offset8 <= p.len8,
        "offset8 {} len8 {}",
        p.offset8,
        p.len8
    );
    assert_eq!(p.payload_len(), p.len() - p.header_len());
}

/// Checks that a reader error is one a reader may return.
fn reader_error(e: RingError, model: &Model) {
    match e {
        RingError::Empty | RingError::Corrupt(_) | RingError::BufferTooSmall { .. } => {}
        RingError::InvalidArgument if !model.valid => {}
        e => panic!("unexpected reader error {e:?}"),
    }
}

/// Runs the operations in `data` (see the module documentation).
pub fn run(data: &[u8]) {
    let mut c = Cursor::new(data);
    let size = 64u32 << (c.u8() % 8);
    let chaos = c.chunk16();
    let storage = ring_storage(size as usize);
    let Some(flat) = FlatRingMem::new(&storage) else {
        panic!("bad ring size {size}");
    };
    init_ring(&flat);
    let mem = ChaosMem::new(flat, chaos);
    let mut model = Model {
        size,
        q: VecDeque::new(),
        pos: 0,
        masked: false,
        pending: 0,
        feature: true,
        valid: chaos.is_empty(),
    };
    let (Ok(mut tx), Ok(mut rx)) = (OutgoingRing::new(&mem), IncomingRing::new(&mem)) else {
        assert!(!model.valid, "fresh ring refused");
        return;
    };
    let mut buf = vec![0u8; size as usize + 64];
    // Bounded: every operation consumes input.
    while !c.is_empty() {
        match c.u8() % 15 {
            0 => {
                let ext_len = 8 * usize::from(c.u8() % 4);
                let len = usize::from(c.u16()) % (size as usize + 64);
                let completion = c.u8() & 1 != 0;
                let trans_id = c.u64();
                let ext = pattern(!trans_id, ext_len);
                let payload = pattern(trans_id, len);
                let (a, b) = payload.split_at(len / 3);
                let pkt = OutgoingPacket {
                    ext_header: &ext,
                    ..OutgoingPacket::inband(trans_id, completion)
                };
                let r = tx.write_packet(&pkt, &[a, b]);
                let plen = (16 + ext_len + len).div_ceil(8) * 8;
                let total = plen as u32 + VMBUS_PKT_TRAILER;
                if model.valid {
                    if plen as u32 > MAX_PACKET_LEN || total >= size {
                        assert_eq!(r, Err(RingError::TooLarge));
                    } else if model.free() <= total {
                        assert_eq!(r, Err(RingError::Full));
                    } else {
                        let signal = !model.masked && model.q.is_empty();
                        assert_eq!(r, Ok(signal), "write signal");
                        let mut body = payload.clone();
                        body.resize(plen - 16 - ext_len, 0);
                        model.q.push_back(Pkt {
                            ty: PacketType::DATA_INBAND,
                            flags: pkt.flags,
                            trans_id,
                            offset8: (2 + ext_len / 8) as u16,
                            payload: body,
                            total,
                        });
                    }
                }
            }
            1 => {
                // A whole packet gathered from three parts cut at arbitrary points.
                let len = usize::from(c.u16()) % (size as usize);
                let plen = (16 + len).div_ceil(8) * 8;
                let trans_id = c.u64();
                let mut raw = Vec::with_capacity(plen);
                raw.extend_from_slice(&PacketType::COMP.0.to_le_bytes());
                raw.extend_from_slice(&2u16.to_le_bytes());
                raw.extend_from_slice(&((plen / 8) as u16).to_le_bytes());
                raw.extend_from_slice(&0u16.to_le_bytes());
                raw.extend_from_slice(&trans_id.to_le_bytes());
                raw.extend_from_slice(&pattern(trans_id, len));
                raw.resize(plen, 0);
                let cut1 = usize::from(c.u16()) % (plen + 1);
                let cut2 = cut1 + usize::from(c.u16()) % (plen - cut1 + 1);
                let r = tx.write_raw(&[&raw[..cut1], &raw[cut1..cut2], &raw[cut2..]]);
                let total = plen as u32 + VMBUS_PKT_TRAILER;
                if model.valid {
                    if total >= size {
                        assert_eq!(r, Err(RingError::TooLarge));
                    } else if model.free() <= total {
                        assert_eq!(r, Err(RingError::Full));
                    } else {
                        assert_eq!(r, Ok(!model.masked && model.q.is_empty()));
                        model.q.push_back(Pkt {
                            ty: PacketType::COMP,
                            flags: 0,
                            trans_id,
                            offset8: 2,
                            payload: raw[16..].to_vec(),
                            total,
                        });
                    }
                }
            }
            2 => {
                let n = usize::from(c.u16()) % buf.len();
                let r = rx.read_packet(&mut buf[..n]);
                if let Ok((p, _)) = &r {
                    check_info(p);
                }
                if !model.valid {
                    if let Err(e) = r {
                        reader_error(e, &model);
                    }
                    continue;
                }
                match model.q.get(model.pos) {
                    None => assert_eq!(r, Err(RingError::Empty)),
                    Some(m) if m.payload.len() > n => assert_eq!(
                        r,
                        Err(RingError::BufferTooSmall {
                            needed: m.payload.len() as u32
                        })
                    ),
                    Some(m) => {
                        let Ok((p, got)) = r else {
                            panic!("read failed: {r:?}");
                        };
                        assert_eq!(
                            (p.packet_type, p.flags, p.trans_id, p.offset8),
                            (m.ty, m.flags, m.trans_id, m.offset8)
                        );
                        assert_eq!(&buf[..got], &m.payload[..], "payload");
                        model.pos += 1;
                    }
                }
            }
            3 => {
                let off = u32::from(c.u16());
                let n = usize::from(c.u8()).min(buf.len());
                match rx.peek() {
                    Ok(p) => {
                        check_info(&p);
                        let hdr = rx.read_header(&p, &mut buf).map(|h| h.len());
                        assert_eq!(hdr, Ok(p.header_len() as usize));
                        let r = rx.read_at(&p, off, &mut buf[..n]);
                        assert_eq!(r.is_ok(), off as usize + n <= p.len() as usize);
                        assert_eq!(rx.advance(&p), Ok(()));
                        if model.valid {
                            let m = &model.q[model.pos];
                            assert_eq!(p.trans_id, m.trans_id);
                            model.pos += 1;
                        }
                        // The same packet again is not the next one any more.
                        assert_eq!(rx.advance(&p), Err(RingError::InvalidArgument));
                    }
                    Err(e) => {
                        reader_error(e, &model);
                        if model.valid {
                            assert_eq!(e, RingError::Empty);
                            assert_eq!(model.pos, model.q.len());
                        }
                    }
                }
            }
            4 => {
                let signal = rx.commit_read();
                if model.valid {
                    assert_eq!(signal, model.commit(), "commit signal");
                }
            }
            5 => {
                rx.rewind();
                model.pos = 0;
            }
            6 => {
                rx.begin_read();
                model.masked = true;
            }
            7 => {
                let r = rx.end_read();
                model.masked = false;
                if model.valid {
                    assert_eq!(r, Ok(model.used()));
                }
            }
            8 => {
                let mut seen = Vec::new();
                let r = rx.drain(&mut buf, |p, payload| {
                    check_info(p);
                    seen.push((p.trans_id, payload.to_vec()));
                });
                model.masked = false;
                if model.valid {
                    let expect: Vec<_> = model
                        .q
                        .iter()
                        .skip(model.pos)
                        .map(|p| (p.trans_id, p.payload.clone()))
                        .collect();
                    model.pos = model.q.len();
                    let signal = model.commit();
                    assert_eq!(r, Ok((expect.len(), signal)), "drain");
                    assert_eq!(seen, expect);
                } else if let Err(e) = r {
                    reader_error(e, &model);
                }
            }
            9 => {
                let v = c.u32() % (size + 16);
                tx.set_pending_send_size(v);
                model.pending = v;
            }
            10 => {
                tx.clear_pending_send_size();
                model.pending = 0;
            }
            11 => {
                if c.u8() & 1 != 0 {
                    tx.set_pending_send_feature();
                    model.feature = true;
                } else {
                    mem.write_control(ControlField::FeatureBits, 0);
                    model.feature = false;
                }
            }
            12 => {
                let free = tx.free_bytes();
                let avail = rx.bytes_available();
                if model.valid {
                    assert_eq!(free, Ok(model.free()));
                    assert_eq!(avail, Ok(model.available()));
                } else {
                    if let Ok(f) = free {
                        assert!(f >= 8 && f <= size, "free {f}");
                    }
                    if let Ok(a) = avail {
                        assert!(a < size, "available {a}");
                    }
                }
            }
            13 => {
                // The peer scribbles on the control page.
                let field = match c.u8() % 5 {
                    0 => ControlField::WriteIndex,
                    1 => ControlField::ReadIndex,
                    2 => ControlField::InterruptMask,
                    3 => ControlField::PendingSendSize,
                    _ => ControlField::FeatureBits,
                };
                let v = c.u32();
                mem.write_control(field, v);
                model.valid = false;
            }
            _ => {
                // The peer scribbles on the data area.
                let off = c.u32() % size;
                let b = c.take(8);
                let n = b.len().min((size - off) as usize);
                mem.write_data(off, &b[..n]);
                model.valid = false;
            }
        }
    }
}
