//! `sync: lock_free`: one pool as a Treiber stack over block **indices**.
//!
//! * Links live in a side array of atomics (`next[i]` = index + 1 of the block after block
//!   `i`, 0 = end), never inside user blocks: a popper reads the link of a block that another
//!   thread may have just popped and be writing into; in the block that would be a data race
//!   even when the pop then fails.
//! * The head is chosen per target so that ABA (a stale pop succeeding after the head was
//!   popped and pushed back meanwhile) is impossible by construction:
//!
//!   | target | head | why ABA cannot happen |
//!   |---|---|---|
//!   | ARMv7-M, ARMv7E-M, ARMv8-M mainline (`llsc_arm.rs`) | `index + 1` in one word, popped inside one LDREX..STREX window | any store to the head by another core, and every exception entry and return, clears the exclusive monitor, so a pop whose window saw another operation cannot store |
//!   | RISC-V with the A extension: `riscv32imac`, `riscv32imafc`, `riscv64gc`, ... (`llsc_riscv.rs`) | `index + 1` in one word, popped inside one LR.W..SC.W window | another hart's store to the head and every SC end the reservation, and every path from an LR (the empty pool's included) ends in an SC, so no reservation outlives its window, in a handler or not |
//!   | 64-bit compare-and-swap and no LL/SC head: x86_64, aarch64, ARMv7-A/R (`cas.rs`) | `index + 1` (32 bits) and a 32-bit tag | every push and pop bumps the tag: a stale compare-and-swap needs 2^32 operations on the pool while one thread sits between its load and its CAS |
//!   | anything else (thumbv6m, thumbv8m.base, riscv32 without A: `riscv32imc`) | — | `sync: lock_free` is a compile error naming `critical_section` and `spin` |
//! * Indices, not pointers: no pointer is ever compared or exchanged, so there is no
//!   provenance to lose; the block address is `base + index * S`.
//! * Never-used blocks come from a high-water counter advanced by compare-and-swap (bounded
//!   by `N`).
//!
//! # Promise
//! Lock-free, not wait-free: some thread always completes; one thread's pop, push or bump can
//! fail once per competing operation that completed in between (each retry is a few
//! instructions). An allocation may fail spuriously while another thread is freeing into the
//! same, otherwise exhausted pool (the free may land just after this allocation looked).
//! `validate()` is exact only while no other thread uses the pool. Counters are exact once the
//! pool is quiescent, and `peak <= blocks` holds at every moment.

use core::ptr::NonNull;

use crate::PoolStats;
use crate::counters::{PoolCounters, StatsMode, Zeroed};
use crate::pool::bitmap;
use crate::pool::buffer::{Align, Buffer};
use crate::sync::shim::Ordering::{Acquire, Relaxed};
use crate::sync::shim::{AtomicU32, loom_const_fn, zeroed};
use crate::{Corruption, FreeError};

#[cfg_attr(all(detalloc_llsc, target_arch = "arm"), path = "llsc_arm.rs")]
#[cfg_attr(
    all(detalloc_llsc, any(target_arch = "riscv32", target_arch = "riscv64")),
    path = "llsc_riscv.rs"
)]
#[cfg_attr(not(detalloc_llsc), path = "cas.rs")]
mod head;

pub use head::{Head, MAX_BLOCKS, STRATEGY};

/// The state of one lock-free pool (its blocks are a separate [`Buffer`]).
pub struct LockFreePool<const S: usize, const N: usize, const W: usize, M: StatsMode> {
    head: Head,
    fresh: AtomicU32,
    next: [AtomicU32; N],
    live: [AtomicU32; W],
    counters: M::Atomic,
}

impl<const S: usize, const N: usize, const W: usize, M: StatsMode> LockFreePool<S, N, W, M> {
    loom_const_fn! {
        /// The empty pool (all-zero state).
        #[allow(clippy::new_without_default)]
        pub fn new() -> Self {
            let () = Self::GEOMETRY;
            Self {
                head: Head::new(),
                fresh: AtomicU32::new(0),
                next: zeroed(),
                live: zeroed(),
                #[cfg(not(loom))]
                counters: M::Atomic::ZERO,
                #[cfg(loom)]
                counters: M::Atomic::zero(),
            }
        }
    }

    const VALIDATE: bool = W > 0;
    const GEOMETRY: () = {
        assert!(W == 0 || W == bitmap::words_for(N), "bitmap words do not match the block count");
        assert!(N <= MAX_BLOCKS, "a lock-free pool has more blocks than its head can index");
    };

    /// Takes a never-used block: the high-water mark advanced by CAS, never past `N`.
    #[cfg(not(all(detalloc_llsc, any(target_arch = "riscv32", target_arch = "riscv64"))))]
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

    /// Takes a never-used block: the high-water mark advanced by LR/SC, never past `N`. Not
    /// `compare_exchange`: on RISC-V its failure path leaves an LR without an SC, and a
    /// reservation left behind in a handler can let the SC of the bump it interrupted succeed
    /// over a newer value (`llsc_riscv.rs`); this bump ends every LR with an SC.
    #[cfg(all(detalloc_llsc, any(target_arch = "riscv32", target_arch = "riscv64")))]
    #[inline(always)]
    fn bump(&self) -> Option<usize> {
        head::bump(&self.fresh, N as u32).map(|index| index as usize)
    }

    /// Hands out a block: a freed one, else a never-used one. `None` when exhausted
    /// (counted); the free stack is looked at once more before giving up.
    ///
    /// # Safety
    /// `buffer` is this pool's own buffer: the one every earlier `alloc` and `free` of this
    /// pool was given (the generated heap pairs each pool with its field).
    #[inline(always)]
    pub unsafe fn alloc<A: Align>(&self, buffer: &Buffer<S, N, A>) -> Option<NonNull<u8>> {
        let popped = self.head.pop(&self.next);
        let Some(index) = popped.or_else(|| self.bump()).or_else(|| self.head.pop(&self.next))
        else {
            self.counters.on_fail();
            return None;
        };
        if Self::VALIDATE {
            let (word, mask) = bitmap::position(index);
            if let Some(word) = self.live.get(word) {
                word.fetch_or(mask, Relaxed);
            }
        }
        self.counters.on_alloc();
        // SAFETY: `index < N` (the stack only holds indices `push` checked against `next`,
        // and `bump` stops at `N`), so the block lies inside the buffer; the pairing promise
        // makes it a block no other owner holds.
        Some(unsafe { buffer.base().add(index * S) })
    }

    /// Returns a block of the pool its layout selects. A pointer outside the pool is
    /// `Foreign` (the heap then looks for its pool by address). With validation a pointer
    /// inside but not at a block start is `Misaligned`, and the block's live bit is cleared
    /// by one atomic AND: a bit already clear is a `DoubleFree`, refused with nothing changed.
    ///
    /// # Safety
    /// `buffer` is this pool's own buffer (as for [`alloc`](Self::alloc)). Without validation,
    /// a `ptr` inside the pool must be a block this pool handed out and not freed since.
    #[inline(always)]
    pub unsafe fn free<A: Align>(
        &self,
        buffer: &Buffer<S, N, A>,
        ptr: NonNull<u8>,
    ) -> Result<(), FreeError> {
        let offset = if Self::VALIDATE {
            buffer.block_offset(ptr)?
        } else {
            buffer.offset_of(ptr).ok_or(FreeError::Foreign)?
        };
        if Self::VALIDATE && !self.free_bits(offset / S) {
            return Err(FreeError::DoubleFree);
        }
        self.release(offset / S);
        Ok(())
    }

    /// Returns the block at `offset`, a block start of this pool found by address: with
    /// validation, for a free that names a layout selecting another pool but fitting this one,
    /// right with `spill` or when the block was kept here after a shrink, otherwise
    /// `WrongPool`, and a block not allocated is then `DoubleFree`; without validation, every
    /// free (the heap finds the pool by address and trusts the rest).
    ///
    /// # Safety
    /// `buffer` is this pool's own buffer; `offset` is a multiple of `S` below `S * N`.
    /// Without validation, the block must be one this pool handed out and not freed since.
    #[inline(always)]
    pub unsafe fn free_by_address<A: Align>(
        &self,
        _buffer: &Buffer<S, N, A>,
        offset: usize,
        spill: bool,
    ) -> Result<(), FreeError> {
        if Self::VALIDATE {
            let (word, mask) = bitmap::position(offset / S);
            let kept = self.live.get(word).is_some_and(|w| w.load(Relaxed) & mask << 1 != 0);
            if !(spill || kept) {
                return Err(FreeError::WrongPool);
            }
            if !self.free_bits(offset / S) {
                return Err(FreeError::DoubleFree);
            }
        }
        self.release(offset / S);
        Ok(())
    }

    /// Whether the block at `offset` (a block start of this pool) is allocated to its user:
    /// what a resize checks with validation. Always `true` without validation.
    pub fn is_live(&self, offset: usize) -> bool {
        let (word, mask) = bitmap::position(offset / S);
        !Self::VALIDATE || self.live.get(word).is_some_and(|w| w.load(Relaxed) & mask != 0)
    }

    /// Marks the live block at `offset` as kept in place after a shrink, so its free may name
    /// the smaller layout. Nothing without validation.
    pub fn keep(&self, offset: usize) {
        let (word, mask) = bitmap::position(offset / S);
        if let Some(word) = self.live.get(word)
            && word.load(Relaxed) & mask != 0
        {
            word.fetch_or(mask << 1, Relaxed);
        }
    }

    /// Clears block `index`'s live and kept bits in one atomic AND; whether it was live.
    #[inline(always)]
    fn free_bits(&self, index: usize) -> bool {
        let (word, mask) = bitmap::position(index);
        self.live.get(word).is_some_and(|w| w.fetch_and(!bitmap::both(mask), Relaxed) & mask != 0)
    }

    /// Counts the free, then makes the block available: counted first, so another thread that
    /// pops it at once counts its allocation after this free (`in_use` never over-counts).
    #[inline(always)]
    fn release(&self, index: usize) {
        self.counters.on_free();
        self.head.push(&self.next, index);
    }

    /// Warms the block the next `alloc` would return.
    #[inline]
    pub fn prefetch<A: Align>(&self, buffer: &Buffer<S, N, A>) {
        let index = self.head.top().unwrap_or(self.fresh.load(Relaxed) as usize);
        if index < N {
            crate::__private::prefetch_read(buffer.base().as_ptr().wrapping_add(index * S));
        }
    }

    /// The figures (counters zero with `stats: false`).
    pub fn stats(&self) -> PoolStats {
        PoolStats { block_size: S, blocks: N, ..self.counters.read() }
    }

    /// Counters to 0, peak to the current use.
    pub fn reset(&self) {
        self.counters.reset();
    }

    /// The validation (exact only while no other thread uses the pool): the free stack against
    /// the high-water mark, the bitmap and the counters.
    pub fn validate(&self, pool: usize) -> Result<(), Corruption> {
        let handed_out = self.fresh.load(Acquire) as usize;
        if handed_out > N {
            return Err(Corruption::HighWaterMark { pool, bytes: handed_out * S });
        }
        let mut free = 0;
        let mut top = self.head.top();
        while let Some(block) = top {
            if free == handed_out {
                return Err(Corruption::FreeListCycle { pool });
            }
            if block >= handed_out {
                let link = u32::try_from(block + 1).unwrap_or(u32::MAX);
                return Err(Corruption::FreeListLink { pool, position: free, link });
            }
            if Self::VALIDATE && self.is_marked(block) {
                return Err(Corruption::FreeBlockMarkedLive { pool, block });
            }
            free += 1;
            let link = self.next.get(block).map_or(0, |l| l.load(Acquire)) as usize;
            top = link.checked_sub(1);
        }
        let live = handed_out - free;
        if let Some(block) = (handed_out..W * bitmap::BLOCKS_PER_WORD).find(|&b| self.is_marked(b))
        {
            return Err(Corruption::UnusedBlockMarkedLive { pool, block });
        }
        let marked = Self::VALIDATE.then(|| {
            let mut bits = [0u32; W];
            for (bit, word) in bits.iter_mut().zip(&self.live) {
                *bit = word.load(Acquire);
            }
            bitmap::count(&bits)
        });
        let counts = M::ENABLED.then(|| self.counters.read());
        super::check_records(pool, N, live, marked, counts)
    }

    fn is_marked(&self, block: usize) -> bool {
        let (word, mask) = bitmap::position(block);
        self.live.get(word).is_some_and(|w| w.load(Acquire) & bitmap::both(mask) != 0)
    }
}
