//! The seeded generators of the examples, the benches and the test fixtures, one definition
//! each: a sequence drawn here is the same in every program that draws it, and the measured
//! figures in `docs/measurements.md` depend on these sequences (change nothing here without
//! measuring again). A file, not a crate: the firmware crates (each its own `no_std`
//! workspace), the host examples, `examples/peers.rs` (which the benches include) and
//! detalloc-suggest's tests each include it with `#[path = ".../shared/xorshift.rs"] mod
//! xorshift;`. No `std`, no dependencies; each includer uses a part of it.
#![allow(dead_code)]

/// xorshift64* (shifts 12, 25, 27, then a multiplication): 64 bits a step. The state is the
/// seed as given: a zero seed stays zero, so callers pass a non-zero one.
pub struct XorShift64Star(pub u64);

impl XorShift64Star {
    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform enough in `0..n` (`n > 0`; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// xorshift32 (shifts 13, 17, 5): 32 bits a step, cheap on a 32-bit core. The state is the
/// seed as given (non-zero).
pub struct XorShift32(pub u32);

impl XorShift32 {
    /// The next 32 bits (the new state).
    pub fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    /// Uniform enough in `0..n` (`n > 0`; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: usize) -> usize {
        self.next_u32() as usize % n
    }
}
