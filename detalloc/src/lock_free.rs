//! `sync: lock_free`: one pool as a Treiber stack over block **indices**, with a tagged head.
//!
//! * Links live in a side array of atomics (`next[i]` = index + 1 of the block after block
//!   `i`, 0 = end), never inside user blocks: a popper reads the link of a block that another
//!   thread may have just popped and be writing into; in the block that would be a data race
//!   even when the CAS then fails.
//! * The head packs `index + 1` with a tag that every push and pop increments, so a
//!   compare-and-swap cannot succeed on a head that was popped and pushed back meanwhile
//!   (ABA). Where the target has 64-bit CAS the head is 32-bit index + 32-bit tag; with only
//!   32-bit CAS it is 16 + 16 (pools of at most 65 535 blocks, a compile error beyond).
//! * Indices, not pointers: no pointer is ever compared or exchanged, so there is no
//!   provenance to lose; the block address is `base + index * S`.
//! * Never-used blocks come from a high-water counter advanced by CAS (bounded by `N`).
//!
//! # Promise
//! Lock-free, not wait-free: some thread always completes; one thread's CAS can fail once
//! per competing operation that completed in between (each retry is a few instructions).
//! ABA needs the tag to wrap while one thread sits between its load and its CAS: 2^32 pushes
//! and pops of the same pool (2^16 with 32-bit CAS). An allocation may fail spuriously while
//! another thread is freeing into the same, otherwise exhausted pool (the free may land just
//! after this allocation looked). `validate()` is exact only while no other thread uses the
//! pool. Counters are relaxed atomics, exact once the pool is quiescent.

use core::ptr::NonNull;

use crate::bitmap;
use crate::blocks::{Align, Blocks};
use crate::stats::{PoolCounts, SharedTally, StatsMode};
use crate::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use crate::sync::atomic::{
    AtomicHead, AtomicU32, HEAD_INDEX_BITS, HeadWord, loom_const_fn, zeroed,
};
use crate::{Corruption, FreeError};

/// The largest pool the head can index on this target.
pub const MAX_BLOCKS: usize = (1 << HEAD_INDEX_BITS) - 1;
const INDEX_MASK: HeadWord = (1 << HEAD_INDEX_BITS) - 1;

/// The next tag: incremented on every push and pop. Under `--cfg detalloc_aba_demo` (a test
/// build only) the tag stays 0, which reopens the ABA window the tests show failing.
#[inline(always)]
fn next_tag(head: HeadWord) -> HeadWord {
    if cfg!(detalloc_aba_demo) { 0 } else { (head >> HEAD_INDEX_BITS).wrapping_add(1) }
}

/// The state of one lock-free pool (its blocks are a separate [`Blocks`]).
pub struct LockFreePool<const S: usize, const N: usize, const W: usize, M: StatsMode> {
    head: AtomicHead,
    fresh: AtomicU32,
    next: [AtomicU32; N],
    live: [AtomicU32; W],
    tally: M::Shared,
}

impl<const S: usize, const N: usize, const W: usize, M: StatsMode> LockFreePool<S, N, W, M> {
    loom_const_fn! {
        /// The empty pool (all-zero state).
        #[allow(clippy::new_without_default)]
        pub fn new() -> Self {
            let () = Self::GEOMETRY;
            Self {
                head: AtomicHead::new(0),
                fresh: AtomicU32::new(0),
                next: zeroed(),
                live: zeroed(),
                tally: M::Shared::ZERO,
            }
        }
    }

    const VALIDATE: bool = W > 0;
    const GEOMETRY: () = {
        assert!(W == 0 || W == bitmap::words_for(N), "bitmap words do not match the block count");
        assert!(N <= MAX_BLOCKS, "a lock-free pool has more blocks than its head can index");
    };

    /// Pops the free stack: the index of a freed block, or `None` when it is empty.
    #[inline(always)]
    fn pop(&self) -> Option<usize> {
        let mut current = self.head.load(Acquire);
        loop {
            let top = (current & INDEX_MASK) as usize;
            let link = self.next.get(top.checked_sub(1)?)?;
            let next = HeadWord::from(link.load(Relaxed));
            let new = (next_tag(current) << HEAD_INDEX_BITS) | next;
            match self.head.compare_exchange_weak(current, new, Acquire, Acquire) {
                Ok(_) => return Some(top - 1),
                Err(actual) => current = actual,
            }
        }
    }

    /// Pushes block `index` on the free stack.
    #[inline(always)]
    fn push(&self, index: usize) {
        let Some(link) = self.next.get(index) else { return };
        let mut current = self.head.load(Relaxed);
        loop {
            link.store((current & INDEX_MASK) as u32, Relaxed);
            let new = (next_tag(current) << HEAD_INDEX_BITS) | (index as HeadWord + 1);
            match self.head.compare_exchange_weak(current, new, Release, Relaxed) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// Takes a never-used block: the high-water mark advanced by CAS, never past `N`.
    #[inline(always)]
    fn bump(&self) -> Option<usize> {
        let mut current = self.fresh.load(Relaxed);
        loop {
            if current as usize >= N {
                return None;
            }
            match self.fresh.compare_exchange_weak(current, current + 1, Relaxed, Relaxed) {
                Ok(_) => return Some(current as usize),
                Err(actual) => current = actual,
            }
        }
    }

    /// Hands out a block: a freed one, else a never-used one. `None` when exhausted
    /// (counted); the free stack is looked at once more before giving up.
    ///
    /// # Safety
    /// `blocks` is this pool's own buffer: the one every earlier `alloc` and `free` of this
    /// pool was given (the generated heap pairs each pool with its field).
    #[inline(always)]
    pub unsafe fn alloc<A: Align>(&self, blocks: &Blocks<S, N, A>) -> Option<NonNull<u8>> {
        let Some(index) = self.pop().or_else(|| self.bump()).or_else(|| self.pop()) else {
            self.tally.on_fail();
            return None;
        };
        if Self::VALIDATE {
            let (word, mask) = bitmap::position(index);
            if let Some(word) = self.live.get(word) {
                word.fetch_or(mask, Relaxed);
            }
        }
        self.tally.on_alloc();
        // SAFETY: `index < N` (the stack only holds indices `push` checked against `next`,
        // and `bump` stops at `N`), so the block lies inside the buffer; the pairing promise
        // makes it a block no other owner holds.
        Some(unsafe { blocks.base().add(index * S) })
    }

    /// Returns a block. With validation the pointer is checked first (`Foreign`,
    /// `Misaligned`), then its bit is cleared by one atomic AND: a bit already clear is a
    /// `DoubleFree`, refused with nothing changed.
    ///
    /// # Safety
    /// `blocks` is this pool's own buffer (as for [`alloc`](Self::alloc)). Without validation,
    /// `ptr` must also be a block this pool handed out and not freed since.
    #[inline(always)]
    pub unsafe fn free<A: Align>(
        &self,
        blocks: &Blocks<S, N, A>,
        ptr: NonNull<u8>,
    ) -> Result<(), FreeError> {
        let offset =
            if Self::VALIDATE { blocks.block_offset(ptr)? } else { blocks.raw_offset(ptr) };
        if Self::VALIDATE {
            let (word, mask) = bitmap::position(offset / S);
            let was_live =
                self.live.get(word).is_some_and(|w| w.fetch_and(!mask, Relaxed) & mask != 0);
            if !was_live {
                return Err(FreeError::DoubleFree);
            }
        }
        self.push(offset / S);
        self.tally.on_free();
        Ok(())
    }

    /// Warms the block the next `alloc` would return.
    #[inline]
    pub fn prefetch<A: Align>(&self, blocks: &Blocks<S, N, A>) {
        let top = (self.head.load(Relaxed) & INDEX_MASK) as usize;
        let index = if top != 0 { top - 1 } else { self.fresh.load(Relaxed) as usize };
        if index < N {
            crate::__private::prefetch_read(blocks.base().as_ptr().wrapping_add(index * S));
        }
    }

    /// The counters (zeros with `stats: false`).
    pub fn counts(&self) -> PoolCounts {
        self.tally.read()
    }

    /// Counters to 0, peak to the current use.
    pub fn reset(&self) {
        self.tally.reset();
    }

    /// The audit (exact only while no other thread uses the pool): the free stack against
    /// the high-water mark, the bitmap and the counters.
    pub fn audit(&self, pool: usize) -> Result<(), Corruption> {
        let handed_out = self.fresh.load(Acquire) as usize;
        if handed_out > N {
            return Err(Corruption::HighWaterMark { pool, bytes: handed_out * S });
        }
        let mut free = 0;
        let mut link = (self.head.load(Acquire) & INDEX_MASK) as u32;
        while link != 0 {
            if free == handed_out {
                return Err(Corruption::FreeListCycle { pool });
            }
            let block = link as usize - 1;
            if block >= handed_out {
                return Err(Corruption::FreeListLink { pool, position: free, link });
            }
            if Self::VALIDATE && self.is_live(block) {
                return Err(Corruption::FreeBlockMarkedLive { pool, block });
            }
            free += 1;
            link = self.next.get(block).map_or(0, |l| l.load(Acquire));
        }
        let live = handed_out - free;
        if let Some(block) = (handed_out..W * 32).find(|&b| self.is_live(b)) {
            return Err(Corruption::UnusedBlockMarkedLive { pool, block });
        }
        let marked = Self::VALIDATE
            .then(|| self.live.iter().map(|w| w.load(Acquire).count_ones() as usize).sum());
        let counts = M::ENABLED.then(|| self.tally.read());
        crate::pool::check_records(pool, live, marked, counts)
    }

    fn is_live(&self, block: usize) -> bool {
        let (word, mask) = bitmap::position(block);
        self.live.get(word).is_some_and(|w| w.load(Acquire) & mask != 0)
    }
}
