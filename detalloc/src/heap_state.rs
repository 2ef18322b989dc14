//! The heap's own state beside its pools: the error counters no pool owns (allocations that
//! returned `Err`, refused frees) and the WCET record (`wcet:`), and the end of every
//! `allocate`/`deallocate` (`finish_alloc`/`finish_free`: the WCET record, the counters, the
//! hooks, after every pool lock is released).
//!
//! The error counters are touched only on error paths; their types are in `counters.rs`.

use core::alloc::Layout;
use core::ptr::NonNull;

use crate::counters::ErrorCounters;
use crate::timing::{Timer, Timing};
use crate::{AllocError, FreeError, Hooks};

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
                self.errors.count_failure();
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
                self.errors.count_invalid_free();
                H::on_invalid_free(ptr, layout, error);
                Err(error)
            }
        }
    }

    /// The WCET figures (`None` without `wcet`).
    pub fn timing(&self) -> Option<Timing> {
        self.timer.read()
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
