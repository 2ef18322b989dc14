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
//! The timed window is fenced against the compiler on both sides (`compiler_fence(SeqCst)`
//! after the first read and before the second, for every clock), so none of the pool's loads
//! and stores can be moved out of it; and every clock here reads in a way the compiler cannot
//! move across those fences (an `asm!` block that may touch memory, or a volatile read).
//!
//! | clock | target | ticks |
//! |-------|--------|-------|
//! | [`Tsc`] | x86, x86_64 | time-stamp counter, `lfence`-fenced; constant rate, not core cycles on every CPU |
//! | `Cntvct` | aarch64 | the generic timer (`CNTVCT_EL0`): a fixed-frequency counter, **not** CPU cycles (often 1–100 MHz) |
//! | `Dwt` | ARMv7-M, ARMv7E-M, ARMv8-M mainline (`thumbv7m`, `thumbv7em`, `thumbv8m.main`), feature `dwt` | the DWT cycle counter: core clock cycles, 32 bits |
//! | [`Instant`] | any, feature `std` | nanoseconds from `std::time::Instant` |

/// A tick source.
pub trait Clock {
    /// The current tick count. The read must not be movable across a
    /// `compiler_fence(SeqCst)`: a volatile read, an `asm!` block without `nomem`, or an opaque
    /// call (the heap fences its timed window with it).
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
        let (low, high): (u32, u32);
        // SAFETY: `lfence` and `rdtsc` touch no memory (the block is not marked `nomem` only
        // so that the compiler keeps the pool's accesses on their side of it); `lfence`
        // needs SSE2, which every x86_64 target has and this item requires on x86.
        unsafe {
            core::arch::asm!(
                "lfence",
                "rdtsc",
                "lfence",
                out("eax") low,
                out("edx") high,
                options(nostack, preserves_flags),
            );
        }
        u64::from(high) << 32 | u64::from(low)
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
        // No memory is touched (the block is not `nomem` only so that the compiler keeps the
        // pool's accesses on their side of it).
        unsafe {
            core::arch::asm!("isb", "mrs {0}, cntvct_el0", out(reg) ticks, options(nostack));
        }
        ticks
    }
}

/// The Cortex-M DWT cycle counter (`DWT_CYCCNT`, core clock cycles, wraps every 2^32).
/// Call [`Dwt::enable`] once at start-up (it sets `DEMCR.TRCENA` and `DWT_CTRL.CYCCNTENA`).
///
/// Compiled only for ARMv7-M, ARMv7E-M and ARMv8-M mainline (`thumbv7m-*`, `thumbv7em-*`,
/// `thumbv8m.main-*`, decided by the build script from the target name), whose architecture
/// defines the DWT at this address. Not on ARMv6-M/ARMv8-M baseline (no CYCCNT), nor on
/// ARMv7-A/R (no DWT there: the address may fault or be a device register). QEMU does not
/// model the DWT: it reads 0 there.
#[cfg(all(feature = "dwt", detalloc_m_mainline))]
#[derive(Debug, Clone, Copy)]
pub struct Dwt;

#[cfg(all(feature = "dwt", detalloc_m_mainline))]
impl Dwt {
    const DEMCR: usize = 0xE000_EDFC;
    const DWT_CTRL: usize = 0xE000_1000;
    const DWT_CYCCNT: usize = 0xE000_1004;

    /// Starts the cycle counter.
    ///
    /// # Safety
    /// Writes the core debug registers `DEMCR` and `DWT_CTRL` (they exist at these addresses
    /// on every target this item is compiled for); the chip must implement the optional DWT
    /// cycle counter, and nothing else may be reconfiguring these registers concurrently.
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

#[cfg(all(feature = "dwt", detalloc_m_mainline))]
impl Clock for Dwt {
    #[inline(always)]
    fn now() -> u64 {
        let cyccnt = core::ptr::with_exposed_provenance::<u32>(Self::DWT_CYCCNT);
        // SAFETY: this item is compiled only for ARMv7-M, ARMv7E-M and ARMv8-M mainline (the
        // build script's `detalloc_m_mainline`, from the target name), whose architecture puts
        // DWT_CYCCNT, a word-aligned register of the always-accessible Private Peripheral Bus,
        // at this fixed address (it reads 0 where the counter is not implemented or not
        // enabled); a volatile read of it has no side effect.
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
