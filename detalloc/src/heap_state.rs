//! The heap's own state beside its pools: the counters no pool owns (failed allocations,
//! refused frees), behind their own lock of the heap's mode and touched only on error paths,
//! and the WCET record (`wcet:`), which never takes a lock allocation does not already take.

use core::cell::UnsafeCell;

use crate::stats::{HeapTally, StatsMode};
use crate::sync::{Lock, SharedLock};
use crate::timing::{Timer, Timing};

/// Heap-level state of a heap in mode `L` with counters `M` and timer `T`.
pub struct HeapState<L: Lock, M: StatsMode, T: Timer> {
    lock: L,
    tally: UnsafeCell<M::Heap>,
    timer: T,
}

// SAFETY: the tally is only reached inside `L::with`, which excludes other threads; the
// timer is `Sync` itself.
unsafe impl<L: SharedLock, M: StatsMode, T: Timer + Sync> Sync for HeapState<L, M, T> {}

impl<L: Lock, M: StatsMode, T: Timer> HeapState<L, M, T> {
    /// Zeroed counters and timer.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self { lock: L::INIT, tally: UnsafeCell::new(M::Heap::ZERO), timer: T::ZERO }
    }

    #[inline(always)]
    fn with<R>(&self, f: impl FnOnce(&mut M::Heap) -> R) -> R {
        self.lock.with(|| {
            // SAFETY: `Lock::with` gives exclusive access for the closure's duration.
            f(unsafe { &mut *self.tally.get() })
        })
    }

    /// Reads the clock at the start of an operation (nothing without `wcet`).
    #[inline(always)]
    pub fn start(&self) -> T::Mark {
        T::start()
    }

    /// Records an allocation's duration.
    #[inline(always)]
    pub fn record_alloc(&self, mark: T::Mark) {
        self.timer.record_alloc(mark);
    }

    /// Records a free's duration.
    #[inline(always)]
    pub fn record_free(&self, mark: T::Mark) {
        self.timer.record_free(mark);
    }

    /// The WCET figures (`None` without `wcet`).
    pub fn timing(&self) -> Option<Timing> {
        self.timer.read()
    }

    /// An allocation returned `Err`.
    #[cold]
    pub fn count_failure(&self) {
        self.with(|t| t.on_fail());
    }

    /// A free was refused.
    #[cold]
    pub fn count_invalid_free(&self) {
        self.with(|t| t.on_invalid_free());
    }

    /// `(failures, invalid_frees)`.
    pub fn read(&self) -> (u64, u64) {
        self.with(|t| t.read())
    }

    /// Counters and WCET figures to 0.
    pub fn reset(&self) {
        self.with(|t| t.reset());
        self.timer.reset();
    }
}
