//! The cold paths, written once for every heap: statistics, validation and reset. The generated
//! code hands them a [`PoolView`] per pool. (Nothing here is on the allocate or deallocate
//! path: those are generated code, one arm per pool.)

use core::ptr::NonNull;

use crate::counters::{ErrorCounters, StatsMode};
use crate::heap_state::HeapState;
use crate::pool::Pool;
use crate::pool::buffer::{Align, Buffer};
use crate::sync::Lock;
use crate::timing::Timer;
use crate::wait::WaitQueue;
use crate::{Corruption, PoolStats, Stats};

/// The dyn-compatible face of a pool's state, for the cold paths.
pub trait Inspect {
    /// The figures (zeros with `stats: false`; the geometry is always true).
    fn stats(&self) -> PoolStats;
    /// Counters to 0, peaks to current use.
    fn reset(&self);
    /// The full validation.
    ///
    /// # Safety
    /// `base` is the start of this pool's blocks.
    unsafe fn validate(&self, base: NonNull<u8>, pool: usize) -> Result<(), Corruption>;
}

/// Ties a pool state to the geometry of its blocks, so a [`PoolView`] pairs matching halves.
pub trait Geometry<const S: usize, const N: usize> {}

impl<const S: usize, const N: usize, const W: usize, L: Lock, M: StatsMode, Q: WaitQueue>
    Geometry<S, N> for Pool<S, N, W, L, M, Q>
{
}

impl<const S: usize, const N: usize, const W: usize, L: Lock, M: StatsMode, Q: WaitQueue> Inspect
    for Pool<S, N, W, L, M, Q>
{
    fn stats(&self) -> PoolStats {
        Pool::stats(self)
    }

    fn reset(&self) {
        Pool::reset(self);
    }

    unsafe fn validate(&self, base: NonNull<u8>, pool: usize) -> Result<(), Corruption> {
        // SAFETY: forwarded: the caller promises `base` is this pool's buffer.
        unsafe { Pool::validate(self, base, pool) }
    }
}

#[cfg(detalloc_lock_free)]
impl<const S: usize, const N: usize, const W: usize, M: StatsMode> Geometry<S, N>
    for crate::pool::treiber::LockFreePool<S, N, W, M>
{
}

#[cfg(detalloc_lock_free)]
impl<const S: usize, const N: usize, const W: usize, M: StatsMode> Inspect
    for crate::pool::treiber::LockFreePool<S, N, W, M>
{
    fn stats(&self) -> PoolStats {
        crate::pool::treiber::LockFreePool::stats(self)
    }

    fn reset(&self) {
        crate::pool::treiber::LockFreePool::reset(self);
    }

    unsafe fn validate(&self, _base: NonNull<u8>, pool: usize) -> Result<(), Corruption> {
        crate::pool::treiber::LockFreePool::validate(self, pool)
    }
}

/// One pool of a heap: its state and where its blocks are.
pub struct PoolView<'a> {
    state: &'a dyn Inspect,
    base: NonNull<u8>,
}

impl<'a> PoolView<'a> {
    /// Pairs a pool's state with its blocks (the types make the geometry agree).
    ///
    /// # Safety
    /// `buffer` is `pool`'s own buffer: [`validate`] reads free-list links through it.
    pub unsafe fn new<const S: usize, const N: usize, A, P>(
        pool: &'a P,
        buffer: &'a Buffer<S, N, A>,
    ) -> Self
    where
        A: Align,
        P: Inspect + Geometry<S, N>,
    {
        Self { state: pool, base: buffer.base() }
    }

    fn stats(&self) -> PoolStats {
        self.state.stats()
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
        total.total_bytes += p.block_size * p.blocks;
        total.in_use_bytes += p.in_use * p.block_size;
        total.peak_bytes += p.peak * p.block_size;
        total.allocs = total.allocs.saturating_add(p.allocs);
        total.frees = total.frees.saturating_add(p.frees);
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

/// The full validation, pool by pool.
pub fn validate(pools: &[PoolView<'_>]) -> Result<(), Corruption> {
    (0..pools.len()).try_for_each(|index| validate_pool(pools, index).unwrap_or(Ok(())))
}

/// The validation of pool `index` alone (`None` past the last pool): the lock is held for this
/// pool's walk only.
pub fn validate_pool(pools: &[PoolView<'_>], index: usize) -> Option<Result<(), Corruption>> {
    let pool = pools.get(index)?;
    // SAFETY: `PoolView::new`'s caller promised `base` is this state's own buffer.
    Some(unsafe { pool.state.validate(pool.base, index) })
}
