//! The one interface generic code uses, [`Heap`], and the pool geometry it reports
//! ([`PoolSpec`], the alignment rule).

use core::alloc::Layout;
use core::ptr::NonNull;

use crate::wait::WaitStats;
use crate::{AllocError, Corruption, FreeError, PoolStats, Report, Stats, Timing};

/// A heap declared with [`detalloc!`](macro@crate::detalloc). Dyn-compatible: `&dyn Heap` works.
///
/// Every method is bounded: `allocate`, `deallocate` and `prefetch` by a dispatch over the
/// pool count and one of a few fixed paths (no loop in `local` and `critical_section`; the
/// ticket wait of `spin` and the retries of `lock_free` are bounded by the contenders), the
/// statistics by the pool count, `validate` by the block count and `validate_pool` by that
/// pool's block count.
pub trait Heap {
    /// The declared type name, e.g. `"AudioHeap"`.
    fn name(&self) -> &'static str;

    /// Allocates a block for `layout` from the smallest pool whose block size is at least
    /// `max(layout.size(), 1)` and whose alignment is at least `layout.align()`.
    ///
    /// # Errors
    /// [`AllocError`] when no pool fits the layout or the pool (with `spill: true`, every
    /// fitting pool) is exhausted. The heap is unchanged but for its failure counters.
    fn allocate(&self, layout: Layout) -> Result<NonNull<u8>, AllocError>;

    /// Returns a block to its pool.
    ///
    /// # Errors
    /// A [`FreeError`] when the free is refused (with validation on: double, foreign, interior
    /// or wrong-pool frees). A refused free changes nothing but `invalid_frees`.
    ///
    /// # Safety
    /// `ptr` came from [`allocate`](Heap::allocate) on this heap with this `layout` (or one
    /// selecting the same pool) and is not freed yet. With validation on, violations are
    /// detected and refused instead of being undefined behaviour.
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) -> Result<(), FreeError>;

    /// A snapshot of the heap's totals. Counters read 0 with `stats: false`
    /// (`total_bytes` stays true).
    fn stats(&self) -> Stats;

    /// A snapshot of pool `pool` (its index in `POOLS`), or `None` past the last pool.
    fn pool_stats(&self, pool: usize) -> Option<PoolStats>;

    /// Sets the counters, `invalid_frees` and the WCET maxima to 0, and each peak to the
    /// current use.
    fn reset_stats(&self);

    /// Audits every pool: walks each free list and checks it against the high-water mark,
    /// the validation bitmap and the counters. `O(blocks)`; holds each pool's lock while it
    /// walks that pool.
    ///
    /// # Errors
    /// The first [`Corruption`] found.
    fn validate(&self) -> Result<(), Corruption>;

    /// Audits pool `pool` alone (its index in `POOLS`; `None` past the last pool), holding
    /// only that pool's lock for `O(its blocks)`. Under `critical_section` this bounds the
    /// window with interrupts masked to one pool's walk: a firmware can validate one pool per
    /// idle period instead of the whole heap at once.
    ///
    /// # Errors
    /// The [`Corruption`] found, inside `Some`.
    fn validate_pool(&self, pool: usize) -> Option<Result<(), Corruption>> {
        let _ = pool;
        None
    }

    /// Warms the cache line of the block the next `allocate(layout)` would return (a no-op
    /// on targets without a prefetch instruction).
    fn prefetch(&self, layout: Layout);

    /// A [`Display`](core::fmt::Display)able report: the summary line, the totals and a
    /// per-pool table.
    fn report(&self) -> Report<'_>;

    /// The WCET figures (maximum, total, count per operation) of a heap declared with
    /// `wcet: SomeClock`; `None` without. Reset by [`reset_stats`](Heap::reset_stats).
    fn timing(&self) -> Option<Timing> {
        None
    }

    /// The waits of pool `pool` of a heap declared with `waiters: K` (how many allocations
    /// waited, were handed a block, gave up; the longest queue); `None` without waiters or
    /// past the last pool. Reset by [`reset_stats`](Heap::reset_stats).
    fn wait_stats(&self, pool: usize) -> Option<WaitStats> {
        let _ = pool;
        None
    }
}

/// One pool of a heap, as declared: `block_size x blocks`, with its block alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PoolSpec {
    /// Bytes per block.
    pub block_size: usize,
    /// Number of blocks.
    pub blocks: usize,
    /// Alignment of every block: the largest power of two dividing `block_size`, at most 4096.
    pub align: usize,
}

impl PoolSpec {
    /// The spec of `blocks` blocks of `block_size` bytes, with the alignment rule applied.
    pub const fn new(block_size: usize, blocks: usize) -> Self {
        Self { block_size, blocks, align: block_align(block_size) }
    }

    /// Bytes of blocks in this pool: `block_size * blocks`.
    pub const fn bytes(&self) -> usize {
        self.block_size * self.blocks
    }
}

/// The alignment of a block of `size` bytes: the largest power of two dividing it, capped at
/// 4096. `size` 0 gives 4096 (no pool has zero-sized blocks).
pub const fn block_align(size: usize) -> usize {
    let zeros = size.trailing_zeros();
    1 << if zeros > 12 { 12 } else { zeros }
}
