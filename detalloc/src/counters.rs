//! What a heap counts, and the types that count it. One vocabulary:
//!
//! * [`Stats`], [`PoolStats`]: the snapshots a user reads.
//! * [`StatsOn`] / [`StatsOff`] ([`StatsMode`]): `stats: true | false`; they choose the
//!   counters below.
//! * A pool's counters ([`PoolCounters`]): [`Counts`] (plain integers, in a locked pool's state,
//!   touched only under its lock), [`AtomicCounters`] (a `lock_free` pool's), [`NoCounters`]
//!   (`stats: false`: every update compiles to nothing).
//! * The heap's own error counters ([`ErrorCounters`]: failed allocations, refused frees; only
//!   touched on error paths): [`LockedErrors`] (behind their own lock of the heap's mode),
//!   [`AtomicErrors`] (`lock_free`), [`NoCounters`].
//!
//! All of them are all-zero bytes when empty, so a heap's `new()` writes nothing.

use core::cell::{Cell, UnsafeCell};

use crate::sync::{Lock, SharedLock};

/// Totals of a heap. Counters are 0 with `stats: false`; `total_bytes` is always true.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Stats {
    /// Bytes of blocks in all pools (`TOTAL_BYTES`).
    pub total_bytes: usize,
    /// Bytes of allocated blocks (whole blocks, not requested sizes).
    pub in_use_bytes: usize,
    /// Sum over pools of `peak x block_size`: the budget this run needed, exact per pool.
    pub peak_bytes: usize,
    /// Successful allocations.
    pub allocs: u64,
    /// Successful frees.
    pub frees: u64,
    /// Allocations answered with `Err` (no pool fits, or exhausted).
    pub failures: u64,
    /// Frees refused (see [`FreeError`](crate::FreeError)).
    pub invalid_frees: u64,
    /// Longest measured allocation (0 without `wcet`), in ticks of the declared clock: core
    /// cycles for `clock::Dwt`, nanoseconds for `clock::Instant`, time-stamp-counter ticks
    /// for `clock::Tsc`. (The name is the contract's; the unit is the clock's.)
    pub wcet_alloc_cycles: u64,
    /// Longest measured free (0 without `wcet`), in ticks of the declared clock, as
    /// [`wcet_alloc_cycles`](Self::wcet_alloc_cycles).
    pub wcet_free_cycles: u64,
}

/// Figures of one pool. Counters are 0 with `stats: false`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PoolStats {
    /// Bytes per block.
    pub block_size: usize,
    /// Blocks in the pool.
    pub blocks: usize,
    /// Blocks allocated now.
    pub in_use: usize,
    /// Most blocks allocated at once (since the last `reset_stats`).
    pub peak: usize,
    /// Allocations served by this pool.
    pub allocs: u64,
    /// Frees into this pool.
    pub frees: u64,
    /// Times this pool was asked for a block and was exhausted (also when `spill` then found
    /// one in a larger pool).
    pub failures: u64,
}

/// Selects the counter types: [`StatsOn`] or [`StatsOff`].
pub trait StatsMode {
    /// Whether counters are kept.
    const ENABLED: bool;
    /// A locked pool's counters.
    type Locked: PoolCounters;
    /// A `lock_free` pool's counters.
    type Atomic: PoolCounters;
}

/// `stats: true`: counters kept.
#[derive(Debug)]
pub enum StatsOn {}
/// `stats: false`: counters compiled out; they read as 0.
#[derive(Debug)]
pub enum StatsOff {}

impl StatsMode for StatsOn {
    const ENABLED: bool = true;
    type Locked = LockedCounters;
    type Atomic = AtomicCounters;
}

impl StatsMode for StatsOff {
    const ENABLED: bool = false;
    type Locked = NoCounters;
    type Atomic = NoCounters;
}

/// The initial value of a kind of counters: all zero bytes (a `const`; under loom, whose
/// atomics have no `const` constructor, a function).
pub trait Zeroed: Sized {
    /// The initial (all-zero) value.
    #[cfg(not(loom))]
    const ZERO: Self;
    /// The initial value.
    #[cfg(loom)]
    fn zero() -> Self;
}

/// One pool's counters. The all-zero value is the initial state.
pub trait PoolCounters: Zeroed {
    /// A block was handed out.
    fn on_alloc(&self);
    /// A block came back.
    fn on_free(&self);
    /// The pool was exhausted.
    fn on_fail(&self);
    /// The figures (zeros when compiled out; `block_size` and `blocks` are the pool's to fill).
    fn read(&self) -> PoolStats;
    /// Counters to 0, peak to the current use.
    fn reset(&self);
}

/// The heap's own counters: allocations that returned `Err`, frees refused.
pub trait ErrorCounters: Zeroed {
    /// An allocation returned `Err`.
    fn count_failure(&self);
    /// A free was refused.
    fn count_invalid_free(&self);
    /// `(failures, invalid_frees)`.
    fn read(&self) -> (u64, u64);
    /// Both to 0.
    fn reset(&self);
}

/// `stats: false`: nothing counted, everything reads 0.
#[derive(Debug)]
pub struct NoCounters;

impl Zeroed for NoCounters {
    #[cfg(not(loom))]
    const ZERO: Self = NoCounters;
    #[cfg(loom)]
    fn zero() -> Self {
        NoCounters
    }
}

impl PoolCounters for NoCounters {
    #[inline(always)]
    fn on_alloc(&self) {}
    #[inline(always)]
    fn on_free(&self) {}
    #[inline(always)]
    fn on_fail(&self) {}
    fn read(&self) -> PoolStats {
        PoolStats::default()
    }
    fn reset(&self) {}
}

impl ErrorCounters for NoCounters {
    #[inline(always)]
    fn count_failure(&self) {}
    #[inline(always)]
    fn count_invalid_free(&self) {}
    fn read(&self) -> (u64, u64) {
        (0, 0)
    }
    fn reset(&self) {}
}

/// A locked pool's counters: plain integers in the pool's state, which only its lock reaches
/// (cells, so the pool can count through a shared reference while it holds the lock).
///
/// As with [`AtomicCounters`], `in_use` is not stored but is `allocs - frees`: an allocation
/// updates one count and the peak, a free one count. `reset` keeps that difference by
/// starting `frees` at `-in_use` (wrapping) and remembering `in_use` in `carried`, which only
/// [`read`](PoolCounters::read) adds back. (It may rewrite the counts because it holds the
/// pool's lock; the atomic counters, which concurrent operations keep incrementing, move
/// bases instead.)
#[derive(Debug)]
pub struct LockedCounters {
    allocs: Cell<u64>,
    frees: Cell<u64>,
    failures: Cell<u64>,
    peak: Cell<u32>,
    carried: Cell<u32>,
}

impl LockedCounters {
    /// Blocks allocated now. at most the pool's blocks, below 2^32.
    #[inline(always)]
    #[allow(clippy::cast_possible_truncation)]
    fn in_use(&self) -> u32 {
        self.allocs.get().wrapping_sub(self.frees.get()) as u32
    }
}

impl LockedCounters {
    #[allow(clippy::declare_interior_mutable_const)]
    const ALL_ZERO: Self = Self {
        allocs: Cell::new(0),
        frees: Cell::new(0),
        failures: Cell::new(0),
        peak: Cell::new(0),
        carried: Cell::new(0),
    };
}

impl Zeroed for LockedCounters {
    #[cfg(not(loom))]
    const ZERO: Self = LockedCounters::ALL_ZERO;
    #[cfg(loom)]
    fn zero() -> Self {
        LockedCounters::ALL_ZERO
    }
}

impl PoolCounters for LockedCounters {
    #[inline(always)]
    fn on_alloc(&self) {
        self.allocs.set(self.allocs.get().wrapping_add(1));
        // Stored on every allocation, not only on a new peak: no branch, so an allocation
        // runs the same instructions whatever the pool's history.
        self.peak.set(self.peak.get().max(self.in_use()));
    }

    #[inline(always)]
    fn on_free(&self) {
        self.frees.set(self.frees.get().wrapping_add(1));
    }

    #[inline(always)]
    fn on_fail(&self) {
        self.failures.set(self.failures.get().wrapping_add(1));
    }

    fn read(&self) -> PoolStats {
        PoolStats {
            in_use: self.in_use() as usize,
            peak: self.peak.get() as usize,
            allocs: self.allocs.get(),
            frees: self.frees.get().wrapping_add(self.carried.get().into()),
            failures: self.failures.get(),
            ..PoolStats::default()
        }
    }

    fn reset(&self) {
        let in_use = self.in_use();
        self.peak.set(in_use);
        self.carried.set(in_use);
        self.allocs.set(0);
        self.frees.set(0u64.wrapping_sub(in_use.into()));
        self.failures.set(0);
    }
}

/// The heap's error counters behind their own lock of mode `L` (`local`, `spin`,
/// `critical_section`), so counting takes no lock allocation would not.
pub struct LockedErrors<L: Lock> {
    lock: L,
    counts: UnsafeCell<(u64, u64)>,
}

// SAFETY: the counts are only reached inside `L::with`, which excludes other threads.
unsafe impl<L: SharedLock> Sync for LockedErrors<L> {}

impl<L: Lock> LockedErrors<L> {
    #[inline(always)]
    fn with<R>(&self, f: impl FnOnce(&mut (u64, u64)) -> R) -> R {
        self.lock.with(|| {
            // SAFETY: `Lock::with` gives exclusive access for the closure's duration.
            f(unsafe { &mut *self.counts.get() })
        })
    }
}

impl<L: Lock> Zeroed for LockedErrors<L> {
    #[cfg(not(loom))]
    const ZERO: Self = Self { lock: L::INIT, counts: UnsafeCell::new((0, 0)) };
    #[cfg(loom)]
    fn zero() -> Self {
        Self { lock: L::init(), counts: UnsafeCell::new((0, 0)) }
    }
}

impl<L: Lock> ErrorCounters for LockedErrors<L> {
    #[cold]
    fn count_failure(&self) {
        self.with(|c| c.0 = c.0.wrapping_add(1));
    }

    #[cold]
    fn count_invalid_free(&self) {
        self.with(|c| c.1 = c.1.wrapping_add(1));
    }

    fn read(&self) -> (u64, u64) {
        self.with(|c| *c)
    }

    fn reset(&self) {
        self.with(|c| *c = (0, 0));
    }
}

#[cfg(target_has_atomic = "32")]
mod atomic;
#[cfg(target_has_atomic = "32")]
pub use atomic::{AtomicCounters, AtomicErrors};

/// Stand-in on targets without atomics, where `lock_free` is a compile error.
#[cfg(not(target_has_atomic = "32"))]
pub type AtomicCounters = NoCounters;
/// Stand-in on targets without atomics, where `lock_free` is a compile error.
#[cfg(not(target_has_atomic = "32"))]
pub type AtomicErrors = NoCounters;
