//! The heap's own state beside its pools: the error counters no pool owns (allocations that
//! returned `Err`, refused frees) and the WCET record (`wcet:`), and the end of every
//! `allocate`/`deallocate` (`finish_alloc`/`finish_free`: the WCET record, the counters, the
//! hooks, after every pool lock is released).
//!
//! Error counters are touched only on error paths. Where they live depends on the mode, so
//! counting never takes a lock allocation would not: [`LockedErrors`] (their own lock of the
//! heap's mode, for `local`, `spin`, `critical_section`), [`AtomicErrors`] (`lock_free`), or
//! [`NoErrors`] (`stats: false`).

use core::alloc::Layout;
use core::cell::UnsafeCell;
use core::ptr::NonNull;

use crate::stats::{HeapCounters, HeapTally};
use crate::sync::{Lock, SharedLock};
use crate::timing::{Timer, Timing};
use crate::{AllocError, FreeError, Hooks};

/// Heap-level error counters.
pub trait ErrorCounters {
    /// The initial (all-zero) value.
    #[cfg(not(loom))]
    const ZERO: Self;
    /// The initial value (loom's atomics have no `const` constructor).
    #[cfg(loom)]
    fn zero() -> Self;
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
pub struct NoErrors;

impl ErrorCounters for NoErrors {
    #[cfg(not(loom))]
    const ZERO: Self = NoErrors;
    #[cfg(loom)]
    fn zero() -> Self {
        NoErrors
    }
    #[inline(always)]
    fn count_failure(&self) {}
    #[inline(always)]
    fn count_invalid_free(&self) {}
    fn read(&self) -> (u64, u64) {
        (0, 0)
    }
    fn reset(&self) {}
}

/// Counters behind their own lock of mode `L`.
pub struct LockedErrors<L: Lock> {
    lock: L,
    tally: UnsafeCell<HeapCounters>,
}

// SAFETY: the tally is only reached inside `L::with`, which excludes other threads.
unsafe impl<L: SharedLock> Sync for LockedErrors<L> {}

impl<L: Lock> LockedErrors<L> {
    #[inline(always)]
    fn with<R>(&self, f: impl FnOnce(&mut HeapCounters) -> R) -> R {
        self.lock.with(|| {
            // SAFETY: `Lock::with` gives exclusive access for the closure's duration.
            f(unsafe { &mut *self.tally.get() })
        })
    }
}

impl<L: Lock> ErrorCounters for LockedErrors<L> {
    #[cfg(not(loom))]
    const ZERO: Self = Self { lock: L::INIT, tally: UnsafeCell::new(HeapCounters::ZERO) };
    #[cfg(loom)]
    fn zero() -> Self {
        Self { lock: L::init(), tally: UnsafeCell::new(HeapCounters::ZERO) }
    }

    #[cold]
    fn count_failure(&self) {
        self.with(|t| t.on_fail());
    }

    #[cold]
    fn count_invalid_free(&self) {
        self.with(|t| t.on_invalid_free());
    }

    fn read(&self) -> (u64, u64) {
        self.with(|t| t.read())
    }

    fn reset(&self) {
        self.with(|t| t.reset());
    }
}

/// Atomic counters, for `lock_free` (no lock anywhere). On targets without 64-bit atomics
/// they are 32 bits wide and wrap.
#[cfg(target_has_atomic = "32")]
pub struct AtomicErrors {
    failures: crate::stats::AtomicCount,
    invalid_frees: crate::stats::AtomicCount,
}

#[cfg(target_has_atomic = "32")]
impl ErrorCounters for AtomicErrors {
    #[cfg(not(loom))]
    const ZERO: Self = Self {
        failures: crate::stats::AtomicCount::ZERO,
        invalid_frees: crate::stats::AtomicCount::ZERO,
    };
    #[cfg(loom)]
    fn zero() -> Self {
        Self {
            failures: crate::stats::AtomicCount::ZERO,
            invalid_frees: crate::stats::AtomicCount::ZERO,
        }
    }

    #[cold]
    fn count_failure(&self) {
        self.failures.add(1);
    }

    #[cold]
    fn count_invalid_free(&self) {
        self.invalid_frees.add(1);
    }

    fn read(&self) -> (u64, u64) {
        (self.failures.get(), self.invalid_frees.get())
    }

    fn reset(&self) {
        self.failures.set(0);
        self.invalid_frees.set(0);
    }
}

/// Stand-in on targets without atomics, where `lock_free` is a compile error.
#[cfg(not(target_has_atomic = "32"))]
pub type AtomicErrors = NoErrors;

/// Heap-level state: error counters `E` and timer `T`.
pub struct HeapState<E: ErrorCounters, T: Timer> {
    errors: E,
    timer: T,
}

impl<E: ErrorCounters, T: Timer> HeapState<E, T> {
    /// Zeroed counters and timer.
    #[cfg(not(loom))]
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self { errors: E::ZERO, timer: T::ZERO }
    }

    /// Zeroed counters and timer.
    #[cfg(loom)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self { errors: E::zero(), timer: T::ZERO }
    }

    /// Reads the clock at the start of an operation (nothing without `wcet`).
    #[inline(always)]
    pub fn start(&self) -> T::Mark {
        T::start()
    }

    /// Ends an allocation begun at `mark`: its duration (with `wcet`), then the hook and the
    /// counters on the outcome `(pool, block)` of the dispatch.
    #[inline(always)]
    pub fn finish_alloc<H: Hooks>(
        &self,
        mark: T::Mark,
        outcome: Option<(usize, NonNull<[u8]>)>,
        layout: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        self.timer.record_alloc(mark);
        match outcome {
            Some((pool, block)) => {
                H::on_alloc(pool, block.cast(), layout);
                Ok(block)
            }
            None => {
                self.count_failure();
                H::on_fail(layout);
                Err(AllocError)
            }
        }
    }

    /// Ends a free begun at `mark`: its duration (with `wcet`), then the hook and the
    /// counters on the outcome (the pool the block went back to).
    #[inline(always)]
    pub fn finish_free<H: Hooks>(
        &self,
        mark: T::Mark,
        outcome: Result<usize, FreeError>,
        ptr: NonNull<u8>,
        layout: Layout,
    ) -> Result<(), FreeError> {
        self.timer.record_free(mark);
        match outcome {
            Ok(pool) => {
                H::on_free(pool, ptr, layout);
                Ok(())
            }
            Err(error) => {
                self.count_invalid_free();
                H::on_invalid_free(ptr, layout, error);
                Err(error)
            }
        }
    }

    /// The WCET figures (`None` without `wcet`).
    pub fn timing(&self) -> Option<Timing> {
        self.timer.read()
    }

    /// An allocation returned `Err`.
    #[inline(always)]
    pub fn count_failure(&self) {
        self.errors.count_failure();
    }

    /// A free was refused.
    #[inline(always)]
    pub fn count_invalid_free(&self) {
        self.errors.count_invalid_free();
    }

    /// `(failures, invalid_frees)`.
    pub fn read(&self) -> (u64, u64) {
        self.errors.read()
    }

    /// Counters and WCET figures to 0.
    pub fn reset(&self) {
        self.errors.reset();
        self.timer.reset();
    }
}
