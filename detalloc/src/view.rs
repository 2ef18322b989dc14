//! The cold paths, written once for every heap: statistics, audit, reset and the
//! classification of a refused free. The generated code hands them a [`PoolView`] per pool.

use core::ptr::NonNull;

use crate::blocks::{Align, Blocks};
use crate::heap_state::{ErrorCounters, HeapState};
use crate::pool::Pool;
use crate::stats::{PoolCounts, StatsMode};
use crate::sync::Lock;
use crate::timing::Timer;
use crate::{Corruption, FreeError, PoolSpec, PoolStats, Stats};

/// The dyn-compatible face of a pool's state, for the cold paths.
pub trait PoolState {
    /// The counters.
    fn counts(&self) -> PoolCounts;
    /// Counters to 0, peaks to current use.
    fn reset(&self);
    /// The full audit.
    ///
    /// # Safety
    /// `base` is the start of this pool's blocks.
    unsafe fn audit(&self, base: NonNull<u8>, pool: usize) -> Result<(), Corruption>;
}

/// Ties a pool state to the geometry of its blocks, so a [`PoolView`] pairs matching halves.
pub trait Geometry<const S: usize, const N: usize> {}

impl<const S: usize, const N: usize, const W: usize, L: Lock, M: StatsMode> Geometry<S, N>
    for Pool<S, N, W, L, M>
{
}

impl<const S: usize, const N: usize, const W: usize, L: Lock, M: StatsMode> PoolState
    for Pool<S, N, W, L, M>
{
    fn counts(&self) -> PoolCounts {
        Pool::counts(self)
    }

    fn reset(&self) {
        Pool::reset(self);
    }

    unsafe fn audit(&self, base: NonNull<u8>, pool: usize) -> Result<(), Corruption> {
        // SAFETY: forwarded: the caller promises `base` is this pool's buffer.
        unsafe { Pool::audit(self, base, pool) }
    }
}

#[cfg(target_has_atomic = "32")]
impl<const S: usize, const N: usize, const W: usize, M: StatsMode> Geometry<S, N>
    for crate::lock_free::LockFreePool<S, N, W, M>
{
}

#[cfg(target_has_atomic = "32")]
impl<const S: usize, const N: usize, const W: usize, M: StatsMode> PoolState
    for crate::lock_free::LockFreePool<S, N, W, M>
{
    fn counts(&self) -> PoolCounts {
        crate::lock_free::LockFreePool::counts(self)
    }

    fn reset(&self) {
        crate::lock_free::LockFreePool::reset(self);
    }

    unsafe fn audit(&self, _base: NonNull<u8>, pool: usize) -> Result<(), Corruption> {
        crate::lock_free::LockFreePool::audit(self, pool)
    }
}

/// One pool of a heap: its state, where its blocks are, and its geometry.
pub struct PoolView<'a> {
    state: &'a dyn PoolState,
    base: NonNull<u8>,
    spec: PoolSpec,
}

impl<'a> PoolView<'a> {
    /// Pairs a pool's state with its blocks (the types make the geometry agree).
    ///
    /// # Safety
    /// `blocks` is `pool`'s own buffer: [`validate`] reads free-list links through it.
    pub unsafe fn new<const S: usize, const N: usize, A, P>(
        pool: &'a P,
        blocks: &'a Blocks<S, N, A>,
    ) -> Self
    where
        A: Align,
        P: PoolState + Geometry<S, N>,
    {
        Self { state: pool, base: blocks.base(), spec: PoolSpec::new(S, N) }
    }

    fn stats(&self) -> PoolStats {
        let c = self.state.counts();
        PoolStats {
            block_size: self.spec.block_size,
            blocks: self.spec.blocks,
            in_use: c.in_use,
            peak: c.peak,
            allocs: c.allocs,
            frees: c.frees,
            failures: c.failures,
        }
    }
}

/// Where one pool's blocks are, for classifying a refused free. Plain addresses and sizes,
/// no pool state: the free path then links no statistics or audit code (a `dyn` view would
/// pull their vtables into every firmware image).
#[derive(Debug, Clone, Copy)]
pub struct PoolRange {
    base: usize,
    bytes: usize,
    block: usize,
}

impl PoolRange {
    /// The range of `blocks`.
    #[inline(always)]
    pub fn new<const S: usize, const N: usize, A: Align>(blocks: &Blocks<S, N, A>) -> Self {
        Self { base: blocks.base().as_ptr().addr(), bytes: S * N, block: S }
    }
}

/// Classifies a pointer the selected pool refused as outside it: `Misaligned` inside some
/// pool but not at a block start, `WrongPool` at a block start of another pool, else
/// `Foreign`.
#[cold]
pub fn classify(pools: &[PoolRange], ptr: NonNull<u8>) -> FreeError {
    for pool in pools {
        let offset = ptr.as_ptr().addr().wrapping_sub(pool.base);
        if offset < pool.bytes {
            return if offset.checked_rem(pool.block) == Some(0) {
                FreeError::WrongPool
            } else {
                FreeError::Misaligned
            };
        }
    }
    FreeError::Foreign
}

/// Completes a pool's verdict on a free: the pool only knows its own range, so a pointer
/// outside it is reclassified against every pool.
#[inline(always)]
pub fn refine(
    verdict: Result<(), FreeError>,
    pools: impl FnOnce() -> FreeError,
) -> Result<(), FreeError> {
    match verdict {
        Err(FreeError::Foreign) => Err(pools()),
        other => other,
    }
}

/// The heap's totals.
pub fn stats<E: ErrorCounters, T: Timer>(pools: &[PoolView<'_>], heap: &HeapState<E, T>) -> Stats {
    let (failures, invalid_frees) = heap.read();
    let timing = heap.timing().unwrap_or_default();
    let mut total = Stats {
        failures,
        invalid_frees,
        wcet_alloc_cycles: timing.alloc.max,
        wcet_free_cycles: timing.free.max,
        ..Stats::default()
    };
    for pool in pools {
        let p = pool.stats();
        total.total_bytes += pool.spec.bytes();
        total.in_use_bytes += p.in_use * p.block_size;
        total.peak_bytes += p.peak * p.block_size;
        total.allocs += p.allocs;
        total.frees += p.frees;
    }
    total
}

/// One pool's figures.
pub fn pool_stats(pools: &[PoolView<'_>], index: usize) -> Option<PoolStats> {
    pools.get(index).map(PoolView::stats)
}

/// Counters to 0, peaks to the current use.
pub fn reset_stats<E: ErrorCounters, T: Timer>(pools: &[PoolView<'_>], heap: &HeapState<E, T>) {
    for pool in pools {
        pool.state.reset();
    }
    heap.reset();
}

/// The full audit, pool by pool.
pub fn validate(pools: &[PoolView<'_>]) -> Result<(), Corruption> {
    for (index, pool) in pools.iter().enumerate() {
        // SAFETY: `PoolView::new`'s caller promised `base` is this state's own buffer.
        unsafe { pool.state.audit(pool.base, index) }?;
    }
    Ok(())
}
