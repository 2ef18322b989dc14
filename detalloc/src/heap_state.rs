//! The heap's own counters (failed allocations, refused frees), behind their own lock of the
//! heap's mode. Only error paths take it: a successful allocate or free never does.

use core::cell::UnsafeCell;

use crate::stats::{HeapTally, StatsMode};
use crate::sync::{Lock, SharedLock};

/// Heap-level counters of a heap in mode `L` with counters `M`.
pub struct HeapState<L: Lock, M: StatsMode> {
    lock: L,
    tally: UnsafeCell<M::Heap>,
}

// SAFETY: the tally is only reached inside `L::with`, which excludes other threads.
unsafe impl<L: SharedLock, M: StatsMode> Sync for HeapState<L, M> {}

impl<L: Lock, M: StatsMode> HeapState<L, M> {
    /// Zeroed counters.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self { lock: L::INIT, tally: UnsafeCell::new(M::Heap::ZERO) }
    }

    #[inline(always)]
    fn with<R>(&self, f: impl FnOnce(&mut M::Heap) -> R) -> R {
        self.lock.with(|| {
            // SAFETY: `Lock::with` gives exclusive access for the closure's duration.
            f(unsafe { &mut *self.tally.get() })
        })
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

    /// Both to 0.
    pub fn reset(&self) {
        self.with(|t| t.reset());
    }
}
