//! Clocks for worst-case execution time tracking (`wcet: detalloc::clock::Tsc`).
//!
//! A [`Clock`] returns a tick count. With `wcet: C` in the declaration the heap reads `C`
//! before and after each `allocate` and `deallocate` (hooks excluded) and keeps, per
//! operation, the maximum, the total and the count (see [`Timing`](crate::Timing)).
//!
//! The figures include one clock read's own cost: nothing is subtracted, so a recorded
//! maximum is an upper bound of the operation. [`overhead`] measures that cost for a clock
//! (the smallest difference of two back-to-back reads), so a reader can subtract it.
//!
//! | clock | target | ticks |
//! |-------|--------|-------|
//! | [`Tsc`] | x86, x86_64 | time-stamp counter, `lfence`-fenced; constant rate, not core cycles on every CPU |
//! | `Cntvct` | aarch64 | the generic timer (`CNTVCT_EL0`): a fixed-frequency counter, **not** CPU cycles (often 1–100 MHz) |
//! | `Dwt` | Cortex-M3/M4/M7 (feature `dwt`) | the DWT cycle counter: core clock cycles, 32 bits |
//! | [`Instant`] | any, feature `std` | nanoseconds from `std::time::Instant` |

/// A tick source.
pub trait Clock {
    /// The current tick count.
    fn now() -> u64;

    /// Ticks from `start` to `end`, for a counter that may wrap. The default is for a 64-bit
    /// counter; narrower counters override it.
    #[inline(always)]
    fn elapsed(start: u64, end: u64) -> u64 {
        end.wrapping_sub(start)
    }
}

/// The smallest number of ticks between two back-to-back reads of `C`, over `samples` tries:
/// the cost of one read, as included in every recorded figure.
pub fn overhead<C: Clock>(samples: usize) -> u64 {
    let mut least = u64::MAX;
    for _ in 0..samples.max(1) {
        let start = C::now();
        let end = C::now();
        least = least.min(C::elapsed(start, end));
    }
    least
}

/// The x86 time-stamp counter, fenced (`lfence; rdtsc; lfence`) so the read is not reordered
/// with the operation it measures.
#[cfg(any(target_arch = "x86_64", all(target_arch = "x86", target_feature = "sse2")))]
#[derive(Debug, Clone, Copy)]
pub struct Tsc;

#[cfg(any(target_arch = "x86_64", all(target_arch = "x86", target_feature = "sse2")))]
impl Clock for Tsc {
    #[inline(always)]
    fn now() -> u64 {
        #[cfg(target_arch = "x86")]
        use core::arch::x86::{_mm_lfence, _rdtsc};
        #[cfg(target_arch = "x86_64")]
        use core::arch::x86_64::{_mm_lfence, _rdtsc};
        // SAFETY: `lfence` and `rdtsc` have no memory effects; `lfence` needs SSE2, which every
        // x86_64 target has and this item requires on x86 (`target_feature = "sse2"`).
        #[allow(unused_unsafe)]
        unsafe {
            _mm_lfence();
            let ticks = _rdtsc();
            _mm_lfence();
            ticks
        }
    }
}

/// The aarch64 generic timer's virtual count (`CNTVCT_EL0`), after an `isb`. A fixed-frequency
/// system counter (its rate is `CNTFRQ_EL0`, often 1–100 MHz): **not** CPU cycles, so short
/// operations read as 0 or 1 tick.
#[cfg(target_arch = "aarch64")]
#[derive(Debug, Clone, Copy)]
pub struct Cntvct;

#[cfg(target_arch = "aarch64")]
impl Clock for Cntvct {
    #[inline(always)]
    fn now() -> u64 {
        let ticks: u64;
        // SAFETY: CNTVCT_EL0 is readable at EL1 and above, and at EL0 where the kernel enables
        // it (Linux, macOS, Windows do); `isb` orders the read after earlier instructions.
        // No memory is touched.
        unsafe {
            core::arch::asm!("isb", "mrs {0}, cntvct_el0", out(reg) ticks, options(nostack, nomem));
        }
        ticks
    }
}

/// The Cortex-M DWT cycle counter (`DWT_CYCCNT`, core clock cycles, wraps every 2^32).
/// Call [`Dwt::enable`] once at start-up (it sets `DEMCR.TRCENA` and `DWT_CTRL.CYCCNTENA`).
/// Not present on Cortex-M0/M0+ (thumbv6m).
#[cfg(all(feature = "dwt", target_arch = "arm", target_os = "none", target_has_atomic = "32"))]
#[derive(Debug, Clone, Copy)]
pub struct Dwt;

#[cfg(all(feature = "dwt", target_arch = "arm", target_os = "none", target_has_atomic = "32"))]
impl Dwt {
    const DEMCR: usize = 0xE000_EDFC;
    const DWT_CTRL: usize = 0xE000_1000;
    const DWT_CYCCNT: usize = 0xE000_1004;

    /// Starts the cycle counter.
    ///
    /// # Safety
    /// Writes the core debug registers `DEMCR` and `DWT_CTRL`: the target must be an ARMv7-M
    /// core with a DWT unit, and nothing else may be reconfiguring them concurrently.
    pub unsafe fn enable() {
        let demcr = core::ptr::with_exposed_provenance_mut::<u32>(Self::DEMCR);
        let ctrl = core::ptr::with_exposed_provenance_mut::<u32>(Self::DWT_CTRL);
        // SAFETY: the caller promises these registers exist and are ours to write.
        unsafe {
            demcr.write_volatile(demcr.read_volatile() | (1 << 24));
            ctrl.write_volatile(ctrl.read_volatile() | 1);
        }
    }
}

#[cfg(all(feature = "dwt", target_arch = "arm", target_os = "none", target_has_atomic = "32"))]
impl Clock for Dwt {
    #[inline(always)]
    fn now() -> u64 {
        let cyccnt = core::ptr::with_exposed_provenance::<u32>(Self::DWT_CYCCNT);
        // SAFETY: this item exists only on bare-metal Arm with 32-bit compare-and-swap, that
        // is ARMv7-M (ARMv6-M has no CAS), where DWT_CYCCNT is a word-aligned register at this
        // fixed Private Peripheral Bus address; a volatile read of it has no side effect.
        u64::from(unsafe { cyccnt.read_volatile() })
    }

    #[inline(always)]
    fn elapsed(start: u64, end: u64) -> u64 {
        u64::from((end as u32).wrapping_sub(start as u32))
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

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn instant_is_monotonic_and_overhead_is_small() {
        let a = Instant::now();
        let b = Instant::now();
        assert!(b >= a);
        assert!(overhead::<Instant>(100) < 1_000_000, "two reads take less than a millisecond");
    }
}
