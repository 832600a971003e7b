// SPDX-License-Identifier: GPL-2.0

//! Ring buffer benchmark: write+read throughput beside memcpy, and fixed packet counts for
//! `valgrind --tool=callgrind` (instructions per packet). Run it with `make bench`
//! (scripts/bench.sh), or `cargo bench -p hv_proto --bench ring -- [args]`.
//!
//! Every measurement runs the same loop ([`run`]) over a [`Channel`]: for each batch, the guest
//! writes up to [`BATCH`] packets of one payload size (as many as fit), then the host reads them
//! back into its own buffer and commits. The channels are
//!
//! - [`RingChannel`]: the real [`OutgoingRing`]/[`IncomingRing`] on one ring of
//!   [`RING_BYTES`], over [`BenchMem`] (or [`FlatRingMem`], the test memory);
//! - [`CopyChannel`]: only the two copies any copying ring must do, with `copy_from_slice`: the
//!   payload into a buffer of the ring's size at the same (wrapping) offsets, and back out;
//! - [`NullChannel`]: nothing at all (the loop and call overhead).
//!
//! Arguments: none (both throughput tables), `table bench|flat`, or
//! `callgrind bench|flat ring|memcpy|null PACKETS PAYLOAD BATCH` (one fixed run, for counting).
//! Throughput numbers are the best of [`ROUNDS`] runs of about [`RUN_SECS`] s, ring and memcpy
//! alternating, so both see the same machine; `ratio` divides the two bests, `paired` is the
//! median over the rounds of ring/memcpy within a round (steadier on a busy machine).

use std::cell::Cell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use hv_proto::ring::{
    init_ring, ControlField, FlatRingMem, IncomingRing, OutgoingPacket, OutgoingRing, RingError,
    RingMem, RING_HEADER_SIZE,
};

/// Size of the ring, control page included: 1 MiB, of the order of the rings the storage and
/// network drivers allocate.
const RING_BYTES: usize = 1 << 20;
/// Data area of the ring.
const DATA_BYTES: usize = RING_BYTES - RING_HEADER_SIZE as usize;
/// Most packets written before the reader drains.
const BATCH: usize = 16;
/// Timed runs per measurement.
const ROUNDS: usize = 9;
/// Length of one timed run.
const RUN_SECS: f64 = 0.2;
/// Payload sizes of the table.
const PAYLOADS: [usize; 5] = [64, 256, 1024, 4096, 65536];

/// Ring memory shaped like the kernel's: control words are single 32-bit cells (the kernel's
/// `READ_ONCE`/`WRITE_ONCE` on `u32`s of the control page), the data area is byte cells. Copies
/// of up to 16 bytes (descriptors, trailers) are inline loops, which fold into single moves for
/// the ring's fixed sizes; longer ones go through [`cells_from`]/[`cells_into`], loops that
/// LLVM turns into `memcpy` calls, as the kernel copies payloads with `memcpy`. Safe code,
/// single-threaded; the barriers are the same fences as [`FlatRingMem`]'s.
struct BenchMem<'a> {
    control: [Cell<u32>; 5],
    data: &'a [Cell<u8>],
}

impl<'a> BenchMem<'a> {
    fn new(data: &'a [Cell<u8>]) -> BenchMem<'a> {
        BenchMem {
            control: Default::default(),
            data,
        }
    }

    #[inline]
    fn word(&self, field: ControlField) -> &Cell<u32> {
        &self.control[match field {
            ControlField::WriteIndex => 0,
            ControlField::ReadIndex => 1,
            ControlField::InterruptMask => 2,
            ControlField::PendingSendSize => 3,
            ControlField::FeatureBits => 4,
        }]
    }
}

impl RingMem for BenchMem<'_> {
    #[inline]
    fn read_control(&self, field: ControlField) -> u32 {
        self.word(field).get()
    }

    #[inline]
    fn write_control(&self, field: ControlField, value: u32) {
        self.word(field).set(value)
    }

    #[inline]
    fn data_len(&self) -> u32 {
        self.data.len() as u32
    }

    #[inline]
    fn read_data(&self, offset: u32, buf: &mut [u8]) {
        let at = offset as usize;
        if let Some(cells) = self.data.get(at..at + buf.len()) {
            if buf.len() <= 16 {
                for (d, s) in buf.iter_mut().zip(cells) {
                    *d = s.get();
                }
            } else {
                cells_into(cells, buf);
            }
        }
    }

    #[inline]
    fn write_data(&self, offset: u32, buf: &[u8]) {
        let at = offset as usize;
        if let Some(cells) = self.data.get(at..at + buf.len()) {
            if buf.len() <= 16 {
                for (d, s) in cells.iter().zip(buf) {
                    d.set(*s);
                }
            } else {
                cells_from(cells, buf);
            }
        }
    }

    #[inline]
    fn mb(&self) {
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
    }

    #[inline]
    fn rmb(&self) {
        std::sync::atomic::fence(std::sync::atomic::Ordering::Acquire);
    }
}

/// One direction of a channel: what [`run`] drives.
trait Channel {
    /// Sends one packet with payload `src`.
    fn write(&mut self, src: &[u8]);
    /// Receives one packet into `dst`; returns its payload length.
    fn read(&mut self, dst: &mut [u8]) -> usize;
    /// Ends a batch of reads.
    fn commit(&mut self);
}

/// Copies `cells` into `buf` (same length): a loop LLVM compiles to a `memcpy` call.
#[inline(never)]
fn cells_into(cells: &[Cell<u8>], buf: &mut [u8]) {
    for (d, s) in buf.iter_mut().zip(cells) {
        *d = s.get();
    }
}

/// Copies `buf` into `cells` (same length): a loop LLVM compiles to a `memcpy` call.
#[inline(never)]
fn cells_from(cells: &[Cell<u8>], buf: &[u8]) {
    for (d, s) in cells.iter().zip(buf) {
        d.set(*s);
    }
}

/// A guest-to-host ring, both ends attached.
struct RingChannel<M> {
    tx: OutgoingRing<M>,
    rx: IncomingRing<M>,
}

impl<M: RingMem + Copy> RingChannel<M> {
    fn new(mem: M) -> RingChannel<M> {
        init_ring(&mem);
        RingChannel {
            tx: OutgoingRing::new(mem).expect("valid ring"),
            rx: IncomingRing::new(mem).expect("valid ring"),
        }
    }
}

impl<M: RingMem> Channel for RingChannel<M> {
    #[inline(never)]
    fn write(&mut self, src: &[u8]) {
        match self
            .tx
            .write_packet(&OutgoingPacket::inband(1, false), &[src])
        {
            Ok(signal) => {
                black_box(signal);
            }
            Err(e) => panic!("write: {e}"),
        }
    }

    #[inline(never)]
    fn read(&mut self, dst: &mut [u8]) -> usize {
        match self.rx.read_packet(dst) {
            Ok((_, len)) => len,
            Err(RingError::Empty) => panic!("ring empty"),
            Err(e) => panic!("read: {e}"),
        }
    }

    #[inline(never)]
    fn commit(&mut self) {
        black_box(self.rx.commit_read());
    }
}

/// The memcpy baseline: the payload into a ring-sized buffer at the offsets the ring would use
/// (after a 16-byte descriptor, packets padded to 8 bytes plus an 8-byte trailer), and back out.
struct CopyChannel {
    area: Vec<u8>,
    write: usize,
    read: usize,
}

impl CopyChannel {
    fn new() -> CopyChannel {
        CopyChannel {
            area: vec![0u8; DATA_BYTES],
            write: 0,
            read: 0,
        }
    }

    /// Returns the offset `len` payload bytes after `at`, like the ring's packet layout.
    #[inline]
    fn next(&self, at: usize, len: usize) -> usize {
        let n = at + (16 + len).div_ceil(8) * 8 + 8;
        if n >= self.area.len() {
            n - self.area.len()
        } else {
            n
        }
    }
}

impl Channel for CopyChannel {
    #[inline(never)]
    fn write(&mut self, src: &[u8]) {
        copy_in(&mut self.area, self.write + 16, src);
        self.write = self.next(self.write, src.len());
    }

    #[inline(never)]
    fn read(&mut self, dst: &mut [u8]) -> usize {
        // The reader learns the length from the packet; here it is the writer's.
        let len = dst.len() - 8;
        copy_out(&self.area, self.read + 16, &mut dst[..len]);
        self.read = self.next(self.read, len);
        len
    }

    #[inline(never)]
    fn commit(&mut self) {
        black_box(self.read);
    }
}

/// Does nothing: the cost of [`run`] itself.
struct NullChannel;

impl Channel for NullChannel {
    #[inline(never)]
    fn write(&mut self, src: &[u8]) {
        black_box(src);
    }

    #[inline(never)]
    fn read(&mut self, dst: &mut [u8]) -> usize {
        black_box(dst).len() - 8
    }

    #[inline(never)]
    fn commit(&mut self) {
        black_box(());
    }
}

/// Copies `src` into `area` at `at` (wrapping), in at most two pieces.
#[inline]
fn copy_in(area: &mut [u8], at: usize, src: &[u8]) {
    let at = if at >= area.len() {
        at - area.len()
    } else {
        at
    };
    let room = area.len() - at;
    if src.len() <= room {
        area[at..at + src.len()].copy_from_slice(src);
    } else {
        area[at..].copy_from_slice(&src[..room]);
        area[..src.len() - room].copy_from_slice(&src[room..]);
    }
}

/// Copies from `area` at `at` (wrapping) into `dst`, in at most two pieces.
#[inline]
fn copy_out(area: &[u8], at: usize, dst: &mut [u8]) {
    let at = if at >= area.len() {
        at - area.len()
    } else {
        at
    };
    let room = area.len() - at;
    let n = dst.len();
    if n <= room {
        dst.copy_from_slice(&area[at..at + n]);
    } else {
        dst[..room].copy_from_slice(&area[at..]);
        dst[room..].copy_from_slice(&area[..n - room]);
    }
}

/// Packets per batch for `payload`: at most `batch`, and never more than fit in the ring.
fn batch_for(payload: usize, batch: usize) -> usize {
    let per = (16 + payload).div_ceil(8) * 8 + 8;
    batch.min((DATA_BYTES - 8) / per).max(1)
}

/// Moves `packets` packets with payload `src` through `ch`, in batches; returns the bytes read.
///
/// `dst` is the reader's buffer, 8 bytes longer than the payload (room for its padding).
#[inline(never)]
fn run<C: Channel>(ch: &mut C, src: &[u8], dst: &mut [u8], packets: usize, batch: usize) -> usize {
    let mut done = 0;
    let mut bytes = 0;
    while done < packets {
        let n = batch.min(packets - done);
        for _ in 0..n {
            ch.write(src);
        }
        for _ in 0..n {
            bytes += ch.read(dst);
        }
        ch.commit();
        done += n;
    }
    bytes
}

/// Runs `f(packets)` repeatedly for about [`RUN_SECS`]; returns packets per second.
fn rate(packets_per_call: usize, mut f: impl FnMut(usize)) -> f64 {
    let start = Instant::now();
    let mut n = 0usize;
    loop {
        f(packets_per_call);
        n += packets_per_call;
        let t = start.elapsed();
        if t >= Duration::from_secs_f64(RUN_SECS) {
            return n as f64 / t.as_secs_f64();
        }
    }
}

/// Prints the throughput table for ring memory `mem`.
fn table<M: RingMem + Copy>(name: &str, mem: M) {
    println!(
        "ring write+read vs memcpy: {} KiB ring on {name}, batches of up to {BATCH}, best of {ROUNDS} x {RUN_SECS} s",
        RING_BYTES / 1024
    );
    println!(
        "{:>8} {:>14} {:>10} {:>14} {:>11} {:>7} {:>8}",
        "payload", "ring pkt/s", "ring GB/s", "memcpy pkt/s", "memcpy GB/s", "ratio", "paired"
    );
    for payload in PAYLOADS {
        let src: Vec<u8> = (0..payload).map(|i| i as u8).collect();
        let mut dst = vec![0u8; payload + 8];
        let batch = batch_for(payload, BATCH);
        // Enough packets per call that the clock is read rarely.
        let per_call = (batch * (1 << 20) / payload.max(64)).max(batch);
        let mut ring = RingChannel::new(mem);
        let mut copy = CopyChannel::new();
        let (mut best_ring, mut best_copy) = (0f64, 0f64);
        let mut ratios = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let r = rate(per_call, |n| {
                black_box(run(&mut ring, &src, &mut dst, n, batch));
            });
            let c = rate(per_call, |n| {
                black_box(run(&mut copy, &src, &mut dst, n, batch));
            });
            best_ring = best_ring.max(r);
            best_copy = best_copy.max(c);
            ratios.push(r / c);
        }
        ratios.sort_by(f64::total_cmp);
        let gb = |pps: f64| pps * payload as f64 / 1e9;
        println!(
            "{:>8} {:>14.0} {:>10.2} {:>14.0} {:>11.2} {:>6.0}% {:>7.0}%",
            payload,
            best_ring,
            gb(best_ring),
            best_copy,
            gb(best_copy),
            100.0 * best_ring / best_copy,
            100.0 * ratios[ROUNDS / 2]
        );
    }
}

/// Command-line usage.
const USAGE: &str =
    "usage: ring [table bench|flat] | [callgrind bench|flat ring|memcpy|null PACKETS PAYLOAD BATCH]";

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let flat_storage: Vec<Cell<u8>> = (0..RING_BYTES).map(|_| Cell::new(0)).collect();
    let data: Vec<Cell<u8>> = (0..DATA_BYTES).map(|_| Cell::new(0)).collect();
    let flat = FlatRingMem::new(&flat_storage).expect("ring size");
    let bench = BenchMem::new(&data);
    match args[..] {
        [] => {
            table("BenchMem", &bench);
            println!();
            table("FlatRingMem", &flat);
        }
        ["table", "bench"] => table("BenchMem", &bench),
        ["table", "flat"] => table("FlatRingMem", &flat),
        ["callgrind", m, what, n, p, b] => {
            let num = |a: &str| a.parse::<usize>().unwrap_or_else(|_| panic!("{USAGE}"));
            let (packets, payload) = (num(n), num(p));
            let batch = batch_for(payload, num(b));
            let src: Vec<u8> = (0..payload).map(|i| i as u8).collect();
            let mut dst = vec![0u8; payload + 8];
            let bytes = match (m, what) {
                ("bench", "ring") => run(
                    &mut RingChannel::new(&bench),
                    &src,
                    &mut dst,
                    packets,
                    batch,
                ),
                ("flat", "ring") => {
                    run(&mut RingChannel::new(&flat), &src, &mut dst, packets, batch)
                }
                (_, "memcpy") => run(&mut CopyChannel::new(), &src, &mut dst, packets, batch),
                (_, "null") => run(&mut NullChannel, &src, &mut dst, packets, batch),
                _ => panic!("{USAGE}"),
            };
            println!("{what}: {packets} packets of {payload} bytes, batch {batch}: {bytes} bytes");
        }
        _ => panic!("{USAGE}"),
    }
}
