//! The errors a heap reports: a refused allocation, a refused free, a failed validation.

use core::fmt;

/// An allocation could not be served: no pool fits the layout, or every pool that may serve it
/// is exhausted. Nothing changed but the failure counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AllocError;

impl fmt::Display for AllocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no pool can serve this layout: none fits, or every fitting pool is exhausted")
    }
}

impl core::error::Error for AllocError {}

/// Why a free was refused. A refused free changes nothing but `invalid_frees` (and calls the
/// heap's `on_invalid_free` hook).
///
/// With validation on, a free is classified in this order, before any link is touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FreeError {
    /// The block the pointer names was not allocated: freed twice, or never handed out.
    DoubleFree,
    /// The pointer lies inside no pool of this heap.
    Foreign,
    /// The pointer lies inside a pool but not at the start of a block.
    Misaligned,
    /// The pointer is a block of a pool that the layout does not select.
    WrongPool,
}

impl fmt::Display for FreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FreeError::DoubleFree => "double free: the block is not allocated",
            FreeError::Foreign => "foreign pointer: it lies inside no pool of this heap",
            FreeError::Misaligned => "interior pointer: it is not the start of a block",
            FreeError::WrongPool => "wrong pool: the layout selects another pool than the block's",
        })
    }
}

impl core::error::Error for FreeError {}

/// What [`Heap::validate`](crate::Heap::validate) found wrong. Every variant names the pool
/// (its index in `POOLS`). Corruption means memory was written after it was freed, or through
/// a pointer the heap never handed out while validation was off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Corruption {
    /// The high-water mark (bytes handed out at least once) is not a whole number of blocks
    /// or lies beyond the pool.
    HighWaterMark {
        /// Pool index.
        pool: usize,
        /// The recorded high-water mark, in bytes.
        bytes: usize,
    },
    /// A free-list link does not name the start of a block handed out before.
    FreeListLink {
        /// Pool index.
        pool: usize,
        /// Position in the free list (0 = head).
        position: usize,
        /// The raw link value (block offset + 4; 0 ends the list).
        link: u32,
    },
    /// The free list is longer than the blocks it may hold: it loops.
    FreeListCycle {
        /// Pool index.
        pool: usize,
    },
    /// A block handed to a waiting allocation and not collected yet (`waiters: K`: in a served
    /// waiter's slot, or on the pool's overflow list) is no block handed out before, is not
    /// marked handed, or is counted twice (the overflow list loops).
    HandedBlock {
        /// Pool index.
        pool: usize,
        /// Position among the handed blocks (the slots' first, then the overflow list).
        position: usize,
        /// The raw link value (block offset + 4).
        link: u32,
    },
    /// A block on the free list is marked allocated in the validation bitmap.
    FreeBlockMarkedLive {
        /// Pool index.
        pool: usize,
        /// Block index.
        block: usize,
    },
    /// A block never handed out is marked allocated in the validation bitmap.
    UnusedBlockMarkedLive {
        /// Pool index.
        pool: usize,
        /// Block index.
        block: usize,
    },
    /// Two views of the number of live blocks disagree.
    LiveCount {
        /// Pool index.
        pool: usize,
        /// Live blocks by the free list: high-water mark minus free-list length.
        by_free_list: usize,
        /// Live blocks by the other record (bitmap population or the statistics counter).
        recorded: usize,
    },
    /// The recorded peak is above the pool's block count.
    PeakAboveBlocks {
        /// Pool index.
        pool: usize,
        /// Recorded peak.
        peak: usize,
        /// Blocks in the pool.
        blocks: usize,
    },
    /// The recorded peak is below the current number of live blocks.
    PeakBelowInUse {
        /// Pool index.
        pool: usize,
        /// Recorded peak.
        peak: usize,
        /// Current live blocks.
        in_use: usize,
    },
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Corruption::HighWaterMark { pool, bytes } => {
                write!(
                    f,
                    "pool {pool}: high-water mark {bytes} B is not a block boundary inside the pool"
                )
            }
            Corruption::FreeListLink { pool, position, link } => {
                write!(
                    f,
                    "pool {pool}: free-list entry {position} has link {link}, not a block handed out"
                )
            }
            Corruption::FreeListCycle { pool } => write!(f, "pool {pool}: the free list loops"),
            Corruption::HandedBlock { pool, position, link } => write!(
                f,
                "pool {pool}: handed block {position} has link {link}, not a block handed to a \
                 waiter once"
            ),
            Corruption::FreeBlockMarkedLive { pool, block } => {
                write!(f, "pool {pool}: block {block} is on the free list but marked allocated")
            }
            Corruption::UnusedBlockMarkedLive { pool, block } => {
                write!(f, "pool {pool}: block {block} was never handed out but is marked allocated")
            }
            Corruption::LiveCount { pool, by_free_list, recorded } => write!(
                f,
                "pool {pool}: {by_free_list} live blocks by the free list, {recorded} recorded"
            ),
            Corruption::PeakAboveBlocks { pool, peak, blocks } => {
                write!(f, "pool {pool}: peak {peak} is above its {blocks} blocks")
            }
            Corruption::PeakBelowInUse { pool, peak, in_use } => {
                write!(f, "pool {pool}: peak {peak} is below the {in_use} live blocks")
            }
        }
    }
}

impl core::error::Error for Corruption {}
