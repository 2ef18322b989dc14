//! Counters, switched on or compiled out by a marker type (`stats: true | false`).
//!
//! Pool counters live in the pool's state and are updated under the pool's lock; the heap's
//! own counters (failed allocations that no pool counted, refused frees) are only touched on
//! error paths. With [`StatsOff`] every counter is a zero-sized type and every update is empty.

/// Selects the counter types: [`StatsOn`] or [`StatsOff`].
pub trait StatsMode {
    /// Whether counters are kept.
    const ENABLED: bool;
    /// Per-pool counters, updated under the pool's lock.
    type Pool: PoolTally;
    /// Per-pool counters of a `lock_free` pool: atomics.
    type Shared: SharedTally;
}

/// Counters kept.
#[derive(Debug)]
pub enum StatsOn {}
/// Counters compiled out; they read as 0.
#[derive(Debug)]
pub enum StatsOff {}

impl StatsMode for StatsOn {
    const ENABLED: bool = true;
    type Pool = PoolCounters;
    type Shared = SharedCounters;
}

impl StatsMode for StatsOff {
    const ENABLED: bool = false;
    type Pool = NoCounters;
    type Shared = NoCounters;
}

/// A snapshot of one pool's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolCounts {
    /// Blocks allocated now.
    pub in_use: usize,
    /// Most blocks allocated at once.
    pub peak: usize,
    /// Successful allocations.
    pub allocs: u64,
    /// Frees.
    pub frees: u64,
    /// Exhaustions.
    pub failures: u64,
}

/// Per-pool counters. The all-zero value is the initial state.
pub trait PoolTally {
    /// The initial (all-zero) value.
    const ZERO: Self;
    /// A block was handed out.
    fn on_alloc(&mut self);
    /// A block came back.
    fn on_free(&mut self);
    /// The pool was exhausted.
    fn on_fail(&mut self);
    /// Current values (zeros when compiled out).
    fn read(&self) -> PoolCounts;
    /// Counters to 0, peak to the current use.
    fn reset(&mut self);
}

/// Heap-level counters. The all-zero value is the initial state.
pub trait HeapTally {
    /// The initial (all-zero) value.
    const ZERO: Self;
    /// An allocation returned `Err`.
    fn on_fail(&mut self);
    /// A free was refused.
    fn on_invalid_free(&mut self);
    /// `(failures, invalid_frees)`.
    fn read(&self) -> (u64, u64);
    /// Both to 0.
    fn reset(&mut self);
}

/// Counters of one pool.
#[derive(Debug)]
pub struct PoolCounters {
    in_use: u32,
    peak: u32,
    allocs: u64,
    frees: u64,
    failures: u64,
}

impl PoolTally for PoolCounters {
    const ZERO: Self = Self { in_use: 0, peak: 0, allocs: 0, frees: 0, failures: 0 };

    #[inline(always)]
    fn on_alloc(&mut self) {
        self.allocs = self.allocs.wrapping_add(1);
        self.in_use = self.in_use.wrapping_add(1);
        self.peak = self.peak.max(self.in_use);
    }

    #[inline(always)]
    fn on_free(&mut self) {
        self.frees = self.frees.wrapping_add(1);
        self.in_use = self.in_use.wrapping_sub(1);
    }

    #[inline(always)]
    fn on_fail(&mut self) {
        self.failures = self.failures.wrapping_add(1);
    }

    fn read(&self) -> PoolCounts {
        PoolCounts {
            in_use: self.in_use as usize,
            peak: self.peak as usize,
            allocs: self.allocs,
            frees: self.frees,
            failures: self.failures,
        }
    }

    fn reset(&mut self) {
        *self = Self { in_use: self.in_use, peak: self.in_use, ..Self::ZERO };
    }
}

/// Heap-level counters.
#[derive(Debug)]
pub struct HeapCounters {
    failures: u64,
    invalid_frees: u64,
}

impl HeapTally for HeapCounters {
    const ZERO: Self = Self { failures: 0, invalid_frees: 0 };

    #[inline(always)]
    fn on_fail(&mut self) {
        self.failures = self.failures.wrapping_add(1);
    }

    #[inline(always)]
    fn on_invalid_free(&mut self) {
        self.invalid_frees = self.invalid_frees.wrapping_add(1);
    }

    fn read(&self) -> (u64, u64) {
        (self.failures, self.invalid_frees)
    }

    fn reset(&mut self) {
        *self = Self::ZERO;
    }
}

/// No counters: every update compiles to nothing.
#[derive(Debug)]
pub struct NoCounters;

impl PoolTally for NoCounters {
    const ZERO: Self = NoCounters;
    #[inline(always)]
    fn on_alloc(&mut self) {}
    #[inline(always)]
    fn on_free(&mut self) {}
    #[inline(always)]
    fn on_fail(&mut self) {}
    fn read(&self) -> PoolCounts {
        PoolCounts::default()
    }
    fn reset(&mut self) {}
}

/// Per-pool counters of a `lock_free` pool, updated with relaxed atomics: each figure is
/// exact once the pool is quiescent.
pub trait SharedTally {
    /// The initial (all-zero) value.
    const ZERO: Self;
    /// A block was handed out.
    fn on_alloc(&self);
    /// A block came back.
    fn on_free(&self);
    /// The pool was exhausted.
    fn on_fail(&self);
    /// Current values (zeros when compiled out).
    fn read(&self) -> PoolCounts;
    /// Counters to 0, peak to the current use.
    fn reset(&self);
}

impl SharedTally for NoCounters {
    const ZERO: Self = NoCounters;
    #[inline(always)]
    fn on_alloc(&self) {}
    #[inline(always)]
    fn on_free(&self) {}
    #[inline(always)]
    fn on_fail(&self) {}
    fn read(&self) -> PoolCounts {
        PoolCounts::default()
    }
    fn reset(&self) {}
}

#[cfg(target_has_atomic = "64")]
type CountWord = core::sync::atomic::AtomicU64;
#[cfg(target_has_atomic = "64")]
type CountValue = u64;
#[cfg(target_has_atomic = "64")]
type SignedCountValue = i64;
#[cfg(all(target_has_atomic = "32", not(target_has_atomic = "64")))]
type CountWord = core::sync::atomic::AtomicU32;
#[cfg(all(target_has_atomic = "32", not(target_has_atomic = "64")))]
type CountValue = u32;
#[cfg(all(target_has_atomic = "32", not(target_has_atomic = "64")))]
type SignedCountValue = i32;

/// A relaxed event counter: 64 bits where the target has 64-bit atomics, else 32 bits
/// (wrapping).
#[cfg(target_has_atomic = "32")]
pub struct AtomicCount(CountWord);

#[cfg(target_has_atomic = "32")]
impl AtomicCount {
    /// Zero. (A fresh value each use, as every `const` is: that is the intent here.)
    #[allow(clippy::declare_interior_mutable_const)]
    pub const ZERO: Self = AtomicCount(CountWord::new(0));

    /// Adds `n` (wrapping).
    #[inline(always)]
    pub fn add(&self, n: u8) {
        self.0.fetch_add(n.into(), core::sync::atomic::Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        #[allow(clippy::useless_conversion)]
        self.0.load(core::sync::atomic::Ordering::Relaxed).into()
    }

    /// Events from `base` to `now`, two readings of a counter of this width (wrapping).
    pub fn span(base: u64, now: u64) -> u64 {
        #[allow(clippy::cast_possible_truncation, clippy::useless_conversion)]
        u64::from((now as CountValue).wrapping_sub(base as CountValue))
    }

    /// Sets the value (truncated to the counter's width).
    pub fn set(&self, value: u64) {
        #[allow(clippy::cast_possible_truncation)]
        self.0.store(value as _, core::sync::atomic::Ordering::Relaxed);
    }
}

/// The atomic counters of one `lock_free` pool: one read-modify-write per allocation and one
/// per free (plus a `fetch_max` only when an allocation reaches a new peak).
///
/// `allocs` and `frees` are raw event counts that `reset` never touches (it moves the bases
/// instead), so `in_use` is always `allocs - frees`. A free is counted before its block goes
/// back on the stack and an allocation after its block came off it, and the allocation's
/// increment is acquire-release: each allocation then sees every free whose block it (or an
/// allocation before it) reused, so the `in_use` it computes for the peak never exceeds the
/// pool's blocks, and every figure is exact once the pool is quiescent.
#[cfg(target_has_atomic = "32")]
pub struct SharedCounters {
    allocs: AtomicCount,
    frees: AtomicCount,
    allocs_base: AtomicCount,
    frees_base: AtomicCount,
    failures: AtomicCount,
    peak: core::sync::atomic::AtomicU32,
}

#[cfg(target_has_atomic = "32")]
impl SharedTally for SharedCounters {
    const ZERO: Self = Self {
        allocs: AtomicCount::ZERO,
        frees: AtomicCount::ZERO,
        allocs_base: AtomicCount::ZERO,
        frees_base: AtomicCount::ZERO,
        failures: AtomicCount::ZERO,
        peak: core::sync::atomic::AtomicU32::new(0),
    };

    #[inline(always)]
    fn on_alloc(&self) {
        use core::sync::atomic::Ordering::{AcqRel, Relaxed};
        let allocs = self.allocs.0.fetch_add(1, AcqRel).wrapping_add(1);
        let in_use = live(allocs, self.frees.0.load(Relaxed));
        if in_use > self.peak.load(Relaxed) {
            self.peak.fetch_max(in_use, Relaxed);
        }
    }

    #[inline(always)]
    fn on_free(&self) {
        self.frees.add(1);
    }

    #[inline(always)]
    fn on_fail(&self) {
        self.failures.add(1);
    }

    fn read(&self) -> PoolCounts {
        let (allocs, frees) = (self.allocs.get(), self.frees.get());
        PoolCounts {
            in_use: live(allocs as _, frees as _) as usize,
            peak: self.peak.load(core::sync::atomic::Ordering::Relaxed) as usize,
            allocs: AtomicCount::span(self.allocs_base.get(), allocs),
            frees: AtomicCount::span(self.frees_base.get(), frees),
            failures: self.failures.get(),
        }
    }

    fn reset(&self) {
        let (allocs, frees) = (self.allocs.get(), self.frees.get());
        self.allocs_base.set(allocs);
        self.frees_base.set(frees);
        self.failures.set(0);
        self.peak.store(live(allocs as _, frees as _), core::sync::atomic::Ordering::Relaxed);
    }
}

/// Live blocks from two readings of the raw counts: `allocs - frees`, as 32 bits (a pool
/// holds fewer than 2^32 blocks). Frees read after allocations may include frees of blocks
/// allocated after that reading, so a difference below zero reads as 0.
#[cfg(target_has_atomic = "32")]
#[inline(always)]
#[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap, clippy::cast_sign_loss)]
fn live(allocs: CountValue, frees: CountValue) -> u32 {
    let difference = allocs.wrapping_sub(frees) as SignedCountValue;
    if difference > 0 { difference as u32 } else { 0 }
}

/// Stand-in on targets without atomics, where `lock_free` is a compile error.
#[cfg(not(target_has_atomic = "32"))]
pub type SharedCounters = NoCounters;
