//! Clocks for worst-case execution time tracking (`wcet: detalloc::clock::Tsc`).
//!
//! A [`Clock`] returns a monotonic tick count. The heap reads it before and after each
//! operation and keeps the maximum difference (see `Stats::wcet_alloc_cycles`).

/// A monotonic tick source.
pub trait Clock {
    /// The current tick count.
    fn now() -> u64;
}

/// The x86 time-stamp counter, fenced so the read is not reordered with the operation it
/// measures (`lfence; rdtsc; lfence`). Ticks at a constant rate on modern CPUs (not
/// necessarily the core clock).
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
#[derive(Debug, Clone, Copy)]
pub struct Tsc;

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
impl Clock for Tsc {
    #[inline(always)]
    fn now() -> u64 {
        #[cfg(target_arch = "x86")]
        use core::arch::x86::{_mm_lfence, _rdtsc};
        #[cfg(target_arch = "x86_64")]
        use core::arch::x86_64::{_mm_lfence, _rdtsc};
        // SAFETY: `lfence` and `rdtsc` have no memory effects; SSE2 (for `lfence`) is part of
        // every x86_64 target and of the i686 targets Rust supports with std.
        #[allow(unused_unsafe)]
        unsafe {
            _mm_lfence();
            let ticks = _rdtsc();
            _mm_lfence();
            ticks
        }
    }
}

/// Nanoseconds since the first call, from `std::time::Instant` (feature `std`).
#[cfg(feature = "std")]
#[derive(Debug, Clone, Copy)]
pub struct Instant;

#[cfg(feature = "std")]
impl Clock for Instant {
    fn now() -> u64 {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        let start = START.get_or_init(std::time::Instant::now);
        u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}
