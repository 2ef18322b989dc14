//! The atomic counters of `sync: lock_free` (no lock anywhere): a pool's [`AtomicCounters`] and
//! the heap's [`AtomicErrors`]. 64-bit counters where the target has 64-bit atomics, else
//! 32-bit ones that wrap. The atomics are the shim's, so the loom models explore them too.

use crate::sync::shim::AtomicU32;
use crate::sync::shim::Ordering::{AcqRel, Acquire, Relaxed, Release};

use super::{ErrorCounters, PoolCounters, PoolStats, Zeroed};

use crate::sync::wide::{Signed, Value, Word};

/// One relaxed event count of the target's widest atomic word.
struct Count(Word);

impl Count {
    crate::sync::shim::loom_const_fn! {
        /// A count at 0.
        fn zero() -> Self {
            Count(Word::new(0))
        }
    }

    #[inline(always)]
    fn increment(&self) {
        self.0.fetch_add(1, Relaxed);
    }

    #[allow(clippy::useless_conversion)]
    fn get(&self) -> Value {
        self.0.load(Relaxed)
    }

    fn set(&self, value: Value) {
        self.0.store(value, Relaxed);
    }
}

/// Events between two readings of a count (wrapping at its width).
#[allow(clippy::useless_conversion)]
fn span(base: Value, now: Value) -> u64 {
    u64::from(now.wrapping_sub(base))
}

/// Live blocks from two readings of the raw counts: `allocs - frees`, as 32 bits (a pool
/// holds fewer than 2^32 blocks). Frees read after allocations may include frees of blocks
/// allocated after that reading, so a difference below zero reads as 0.
#[inline(always)]
#[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap, clippy::cast_sign_loss)]
fn live(allocs: Value, frees: Value) -> u32 {
    let difference = allocs.wrapping_sub(frees) as Signed;
    if difference > 0 { difference as u32 } else { 0 }
}

/// The counters of one `lock_free` pool: one read-modify-write per allocation and one per
/// free (plus a `fetch_max` only when an allocation reaches a new peak).
///
/// `allocs` and `frees` are raw event counts that `reset` never touches (it moves the bases
/// instead), so `in_use` is always `allocs - frees`. A free is counted before its block goes
/// back on the stack and an allocation after its block came off it, and the allocation's
/// increment is acquire-release: each allocation then sees every free whose block it (or an
/// allocation before it) reused, so the `in_use` it computes for the peak never exceeds the
/// pool's blocks, and every figure is exact once the pool is quiescent.
pub struct AtomicCounters {
    allocs: Count,
    frees: Count,
    allocs_base: Count,
    frees_base: Count,
    failures: Count,
    peak: AtomicU32,
}

impl AtomicCounters {
    crate::sync::shim::loom_const_fn! {
        /// All counts at 0.
        fn zeroed() -> Self {
            Self {
                allocs: Count::zero(),
                frees: Count::zero(),
                allocs_base: Count::zero(),
                frees_base: Count::zero(),
                failures: Count::zero(),
                peak: AtomicU32::new(0),
            }
        }
    }
}

impl Zeroed for AtomicCounters {
    #[cfg(not(loom))]
    const ZERO: Self = Self::zeroed();
    #[cfg(loom)]
    fn zero() -> Self {
        Self::zeroed()
    }
}

impl PoolCounters for AtomicCounters {
    #[inline(always)]
    fn on_alloc(&self) {
        let allocs = self.allocs.0.fetch_add(1, AcqRel).wrapping_add(1);
        let in_use = live(allocs, self.frees.get());
        if in_use > self.peak.load(Relaxed) {
            self.peak.fetch_max(in_use, Relaxed);
        }
    }

    #[inline(always)]
    fn on_free(&self) {
        self.frees.increment();
    }

    #[inline(always)]
    fn on_fail(&self) {
        self.failures.increment();
    }

    /// The bases first (acquire), then the counts: a base a reset stored is a count that reset
    /// read before it stored (release), so the counts read after it are no smaller, and a
    /// difference never wraps (it did when a reset moved a base past the counts read before
    /// it: `allocs` about 2^64).
    fn read(&self) -> PoolStats {
        let (allocs_base, frees_base) =
            (self.allocs_base.0.load(Acquire), self.frees_base.0.load(Acquire));
        let (allocs, frees) = (self.allocs.get(), self.frees.get());
        PoolStats {
            in_use: live(allocs, frees) as usize,
            peak: self.peak.load(Relaxed) as usize,
            allocs: span(allocs_base, allocs),
            frees: span(frees_base, frees),
            failures: span(0, self.failures.get()),
            ..PoolStats::default()
        }
    }

    /// Exact under concurrent allocations: the peak restarts at the current use, and no
    /// allocation's peak is lost to the restart. The store of the peak may overwrite the
    /// `fetch_max` of an allocation that counted itself after the reads above it; so the reset
    /// then counts the allocations again, with a read-modify-write of `allocs`, and raises the
    /// peak to that use. Every allocation's acquire-release increment lies before that RMW in
    /// `allocs`' order (it is in the second count, and the raise covers it) or after it (the
    /// RMW's release then synchronises with the increment, so the allocation's peak check sees
    /// the restarted peak or a later value, and raises it itself). The quiescent pool's peak
    /// is therefore never below its use.
    fn reset(&self) {
        let (allocs, frees) = (self.allocs.get(), self.frees.get());
        // Release: a `read` that sees these bases sees counts at least as new as these.
        self.allocs_base.0.store(allocs, Release);
        self.frees_base.0.store(frees, Release);
        self.failures.set(0);
        self.peak.store(live(allocs, frees), Relaxed);
        let allocs = self.allocs.0.fetch_add(0, AcqRel);
        self.peak.fetch_max(live(allocs, self.frees.get()), Relaxed);
    }
}

/// The heap's error counters for `lock_free`: relaxed atomics.
pub struct AtomicErrors {
    failures: Count,
    invalid_frees: Count,
}

impl Zeroed for AtomicErrors {
    #[cfg(not(loom))]
    const ZERO: Self = Self { failures: Count::zero(), invalid_frees: Count::zero() };
    #[cfg(loom)]
    fn zero() -> Self {
        Self { failures: Count::zero(), invalid_frees: Count::zero() }
    }
}

impl ErrorCounters for AtomicErrors {
    #[cold]
    fn count_failure(&self) {
        self.failures.increment();
    }

    #[cold]
    fn count_invalid_free(&self) {
        self.invalid_frees.increment();
    }

    fn read(&self) -> (u64, u64) {
        (span(0, self.failures.get()), span(0, self.invalid_frees.get()))
    }

    fn reset(&self) {
        self.failures.set(0);
        self.invalid_frees.set(0);
    }
}
