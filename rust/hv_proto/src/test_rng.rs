// SPDX-License-Identifier: GPL-2.0

//! A small deterministic random generator for the parsers' no-panic smoke tests.
//!
//! The real fuzzing is done by cargo-fuzz on the same entry points (`fuzz/`); these tests keep
//! a quick check in `cargo test`. Test-only: compiled under `cfg(test)`.

/// A xorshift64 generator.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    /// The next 64 random bits (xorshift64).
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A value below `n`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Fills `b` with random bytes, with runs of zeros and 0xff to hit edge values.
    pub(crate) fn fill(&mut self, b: &mut [u8]) {
        let mode = self.below(4);
        for x in b.iter_mut() {
            *x = match mode {
                0 => 0,
                1 if self.below(2) == 0 => 0xff,
                _ => self.next() as u8,
            };
        }
    }
}
