// SPDX-License-Identifier: GPL-2.0

//! Helpers shared by the fuzz targets of the protocol core, and the seed corpus generator.
//!
//! The targets live in `fuzz_targets/`, one binary each (see `Cargo.toml`); they read their
//! input either as raw host bytes or through [`Cursor`], a tiny byte reader whose format the
//! seed generator ([`seeds`]) can write, so that the fuzzers start from valid host messages.

pub mod connection;
pub mod ring_ops;
pub mod seeds;

use std::cell::Cell;

/// A little-endian reader over the fuzz input that reads zeros once the input is used up.
#[derive(Clone, Debug)]
pub struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// Starts reading `data`.
    pub fn new(data: &'a [u8]) -> Cursor<'a> {
        Cursor { data }
    }

    /// Returns `true` once every byte was read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Returns the unread bytes.
    pub fn rest(&self) -> &'a [u8] {
        self.data
    }

    /// Takes up to `n` bytes (fewer at the end of the input).
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        head
    }

    /// Reads a `u8`.
    pub fn u8(&mut self) -> u8 {
        self.take(1).first().copied().unwrap_or(0)
    }

    /// Reads a little-endian `u16`.
    pub fn u16(&mut self) -> u16 {
        let mut b = [0u8; 2];
        let s = self.take(2);
        b[..s.len()].copy_from_slice(s);
        u16::from_le_bytes(b)
    }

    /// Reads a little-endian `u32`.
    pub fn u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        let s = self.take(4);
        b[..s.len()].copy_from_slice(s);
        u32::from_le_bytes(b)
    }

    /// Reads a little-endian `u64`.
    pub fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        let s = self.take(8);
        b[..s.len()].copy_from_slice(s);
        u64::from_le_bytes(b)
    }

    /// Reads a length byte and that many bytes.
    pub fn chunk8(&mut self) -> &'a [u8] {
        let n = self.u8();
        self.take(n.into())
    }

    /// Reads a little-endian `u16` length and that many bytes.
    pub fn chunk16(&mut self) -> &'a [u8] {
        let n = self.u16();
        self.take(n.into())
    }
}

/// Writer for the [`Cursor`] format, used by the seed generator.
#[derive(Clone, Debug, Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    /// Appends a `u8`.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }

    /// Appends a little-endian `u16`.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Appends a little-endian `u32`.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Appends a little-endian `u64`.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Appends raw bytes.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }

    /// Appends a length byte and the bytes (at most 255).
    pub fn chunk8(&mut self, b: &[u8]) -> &mut Self {
        let b = &b[..b.len().min(255)];
        self.u8(b.len() as u8).bytes(b)
    }

    /// Appends a `u16` length and the bytes (at most 65535).
    pub fn chunk16(&mut self, b: &[u8]) -> &mut Self {
        let b = &b[..b.len().min(65535)];
        self.u16(b.len() as u16).bytes(b)
    }
}

/// Returns zeroed storage for a ring of `data_len` data bytes (control page included).
pub fn ring_storage(data_len: usize) -> Vec<Cell<u8>> {
    (0..4096 + data_len).map(|_| Cell::new(0)).collect()
}

/// Applies "patches" from `c` to `buf`: each is a `u16` offset (modulo the length) and a chunk
/// of bytes copied there (clipped at the end). Lets small inputs reach fields deep inside large
/// host structures (KVP messages are 7432 bytes).
pub fn apply_patches(c: &mut Cursor<'_>, buf: &mut [u8]) {
    if buf.is_empty() {
        return;
    }
    while !c.is_empty() {
        let off = usize::from(c.u16()) % buf.len();
        let src = c.chunk8();
        let n = src.len().min(buf.len() - off);
        buf[off..off + n].copy_from_slice(&src[..n]);
    }
}
