//! The locked pool: one fixed-block pool, generic over block size `S`, block count `N`,
//! bitmap words `W` (0 = no validation), its [`Lock`] and its counters.
//!
//! State: `head`, the first free block as a *link*, its offset + 4 (0 = empty list); `fresh`,
//! the bytes handed out at least once (the high-water mark; blocks beyond it were never used
//! and need no link). A free block's first 4 bytes hold the next link. So the all-zero state
//! is the empty pool, nothing is initialised at start-up, and offsets (not addresses) make a
//! moved empty pool valid.
//!
//! `alloc`: pop the free list, else bump `fresh`, else fail. `free`: push. No loop; the lock
//! is the sync mode's (`local`: none, `critical_section`, `spin`).
//!
//! The buffer ([`Buffer`]) is kept apart from this state so the heap can pack every pool's
//! state together instead of padding each to its blocks' alignment.

mod waiting;

use core::ptr::NonNull;

use super::check_records;
use crate::PoolStats;
use crate::counters::{PoolCounters, StatsMode, Zeroed};
use crate::pool::bitmap;
use crate::pool::buffer::{Align, Buffer};
use crate::sync::shim::{StateCell, loom_const_fn};
use crate::sync::{Lock, SharedLock, new_lock};
use crate::wait::{NoWaiters, WaitQueue};
use crate::{Corruption, FreeError};

pub(super) struct State<const W: usize, T, Q> {
    head: u32,
    fresh: u32,
    pub(super) counters: T,
    pub(super) live: [u32; W],
    /// The waiting allocations (`waiters: K`); `NoWaiters` stores nothing.
    pub(super) queue: Q,
}

impl<const W: usize, T: PoolCounters, Q: WaitQueue> State<W, T, Q> {
    /// Takes a block: the head of the free list, else the next never-used block; its offset.
    /// Counts the allocation (and sets its live bit); `None` when the pool is exhausted (the
    /// caller counts that, or not).
    ///
    /// # Safety
    /// `base` is the start of this pool's own `S * N`-byte buffer.
    #[inline(always)]
    pub(super) unsafe fn hand_out<const S: usize, const N: usize>(
        &mut self,
        base: NonNull<u8>,
    ) -> Option<(NonNull<u8>, usize)> {
        // Each path computes its block's address itself, from the widened offset, so
        // `base + head - 4` is one address computation.
        let (block, offset) = if self.head != 0 {
            // Not cold: the steady state. The hint keeps this path a branch rather than
            // instructions predicated on every allocation (Thumb-2's IT blocks), which would
            // lengthen the never-used-block path, the worst case, by as many.
            core::hint::cold_path();
            let offset = offset_of_link(self.head);
            // SAFETY: every link this pool stores, in `head` or in a free block's first bytes,
            // was made by `release` with `link(offset)` of a block start of this buffer (a
            // validated free checks the offset, an unvalidated one has the caller's promise,
            // and the by-address search bounds it below `S * N`; a block a waiter gave up goes
            // through `release` again); `hand_out` only moves such a link from the block to
            // `head`, and the waiting queue's links (slots, overflow list) never reach the
            // free list. So `offset < S * N`, unless the program wrote into a freed block: a
            // use after free, already UB. Said to the compiler, so the live bit below is set
            // without a bounds check.
            unsafe { core::hint::assert_unchecked(offset < S * N) };
            // SAFETY: as just said, the block lies inside the buffer.
            let block = unsafe { base.add(offset) };
            // SAFETY: the block is on the free list, so `release` wrote its link, and nobody owns
            // it while the lock is held.
            self.head = unsafe { read_link::<S>(block) };
            (block, offset)
        } else if (self.fresh as usize) < S * N {
            let offset = self.fresh as usize;
            self.fresh += S as u32;
            // SAFETY: `offset < S * N`: a never-used block inside the buffer.
            (unsafe { base.add(offset) }, offset)
        } else {
            core::hint::cold_path();
            return None;
        };
        if W > 0 {
            bitmap::mark_live(&mut self.live, offset / S);
        }
        self.counters.on_alloc();
        Some((block, offset))
    }

    /// Returns the block at `offset`, freed (its live bit already cleared): to the oldest
    /// waiter if any (it stays allocated, in the waiter's slot; the waker to wake after the lock
    /// is returned), else onto the free list. Counts the free (and the waiter's allocation).
    ///
    /// # Safety
    /// `offset` is a block start of the `S`-byte-block buffer at `base`, and nobody owns that
    /// block.
    #[inline(always)]
    pub(super) unsafe fn release<const S: usize>(
        &mut self,
        base: NonNull<u8>,
        offset: usize,
    ) -> Q::Wake {
        self.counters.on_free();
        let link = link(offset);
        if Q::ENABLED
            && let Some(wake) = self.queue.hand_off(link)
        {
            // The block stays in the waiter's slot until it collects it.
            if W > 0 {
                // The queue's, not the freer's: a second free of it is a double free.
                bitmap::hand(&mut self.live, offset / S);
            }
            self.counters.on_alloc();
            return wake;
        }
        // SAFETY: the caller's promise: the block's first bytes may hold the link.
        unsafe { write_link::<S>(base.add(offset), self.head) };
        self.head = link;
        Q::Wake::default()
    }
}

impl<const W: usize, T: PoolCounters, Q: WaitQueue> State<W, T, Q> {
    /// Validation of the blocks handed to waiters and not collected yet (in their slots or on
    /// the overflow list): each a block handed out before, marked handed, counted once, and
    /// no more of them than `room` (the blocks not on the free list); with validation, as many
    /// as the bitmap marks handed. Their number. Nothing without a queue (`waiters: 0`).
    ///
    /// # Safety
    /// `base` is the start of this pool's own `S`-byte-block buffer.
    unsafe fn validate_handed<const S: usize>(
        &self,
        base: NonNull<u8>,
        room: usize,
        pool: usize,
    ) -> Result<usize, Corruption> {
        if !Q::ENABLED {
            return Ok(0);
        }
        let fresh = self.fresh as usize;
        let mut handed = 0;
        let mut count = |link: u32| {
            let at = (link as usize).wrapping_sub(LINK_BIAS);
            let bad = handed == room
                || at >= fresh
                || !at.is_multiple_of(S)
                || (W > 0 && !bitmap::is_handed(&self.live, at / S));
            if bad {
                return Err(Corruption::HandedBlock { pool, position: handed, link });
            }
            handed += 1;
            Ok(at)
        };
        let (in_slots, mut link) = self.queue.handed();
        for slot_link in in_slots {
            count(slot_link)?;
        }
        while link != 0 {
            let at = count(link)?;
            // SAFETY: `at` is a block start below the high-water mark, inside the buffer (the
            // caller's promise for `base`); a block on the overflow list is owned by nobody
            // until a waiter takes it under the lock the caller holds, so its link is intact.
            link = unsafe { read_link::<S>(base.add(at)) };
        }
        if W > 0 && bitmap::count_handed(&self.live) != handed {
            // A block marked handed that no slot and no overflow entry holds (or one held twice
            // while another is lost).
            return Err(Corruption::HandedBlock { pool, position: handed, link: 0 });
        }
        Ok(handed)
    }
}

/// The state of one pool (its blocks are a separate [`Buffer`] with the same `S` and `N`),
/// with its queue of waiting allocations `Q` (none by default).
pub struct Pool<
    const S: usize,
    const N: usize,
    const W: usize,
    L: Lock,
    M: StatsMode,
    Q: WaitQueue = NoWaiters,
> {
    lock: L,
    state: StateCell<State<W, M::Locked, Q>>,
}

// SAFETY: the state is only reached inside `L::with`, which excludes other threads for a
// `SharedLock`; links are read and written in freed blocks only under that same lock. A
// queue's wakers are `Send + Sync`.
unsafe impl<
    const S: usize,
    const N: usize,
    const W: usize,
    L: SharedLock,
    M: StatsMode,
    Q: WaitQueue,
> Sync for Pool<S, N, W, L, M, Q>
{
}

impl<const S: usize, const N: usize, const W: usize, L: Lock, M: StatsMode, Q: WaitQueue>
    Pool<S, N, W, L, M, Q>
{
    const VALIDATE: bool = W > 0;
    /// The pool's bytes: below 4 GiB, as `Buffer::GEOMETRY` (the buffer this pool is paired
    /// with) asserts.
    const BYTES: u32 = {
        assert!(W == 0 || W == bitmap::words_for(N), "bitmap words do not match the block count");
        (S * N) as u32
    };

    loom_const_fn! {
        /// The empty pool (all-zero state).
        #[allow(clippy::new_without_default)]
        pub fn new() -> Self {
            let _ = Self::BYTES;
            Self {
                lock: new_lock::<L>(),
                state: StateCell::new(State {
                    head: 0,
                    fresh: 0,
                    #[cfg(not(loom))]
                    counters: M::Locked::ZERO,
                    #[cfg(loom)]
                    counters: M::Locked::zero(),
                    live: [0; W],
                    queue: Q::EMPTY,
                }),
            }
        }
    }

    /// Runs `f` on the state under the lock.
    #[inline(always)]
    pub(super) fn with<R>(&self, f: impl FnOnce(&mut State<W, M::Locked, Q>) -> R) -> R {
        self.lock.with(|| {
            // SAFETY: `Lock::with` gives exclusive access to the state for the duration of
            // the closure, and no reference to it outlives the closure.
            self.state.with_mut(|state| f(unsafe { &mut *state }))
        })
    }

    /// Hands out a block: the head of the free list, else the next never-used block.
    /// `None` when the pool is exhausted (counted).
    ///
    /// # Safety
    /// `buffer` is this pool's own buffer: the one every earlier `alloc` and `free` of this
    /// pool was given (the generated heap pairs each pool with its field). Another buffer of
    /// the same geometry would be handed out block by block next to its own pool.
    #[inline(always)]
    pub unsafe fn alloc<A: Align>(&self, buffer: &Buffer<S, N, A>) -> Option<NonNull<u8>> {
        let base = buffer.base();
        self.with(|st| {
            // SAFETY: `base` is this pool's buffer (the caller's promise).
            let taken = unsafe { st.hand_out::<S, N>(base) };
            if taken.is_none() {
                st.counters.on_fail();
            }
            taken.map(|(block, _)| block)
        })
    }

    /// Returns a block of the pool its layout selects. A pointer outside the pool is
    /// `Foreign` (the heap then looks for its pool by address). With validation (`W > 0`) a
    /// pointer inside it but not at a block start is `Misaligned` and a block not allocated is
    /// `DoubleFree`; a refused free changes nothing. Without validation a pointer inside the
    /// pool is trusted to be a block start.
    ///
    /// # Safety
    /// `buffer` is this pool's own buffer (as for [`alloc`](Self::alloc)). Without validation,
    /// a `ptr` inside the pool must be a block this pool handed out and not freed since.
    #[inline(always)]
    pub unsafe fn free<A: Align>(
        &self,
        buffer: &Buffer<S, N, A>,
        ptr: NonNull<u8>,
    ) -> Result<Q::Wake, FreeError> {
        let offset = if Self::VALIDATE {
            buffer.block_offset(ptr)?
        } else {
            buffer.offset_of(ptr).ok_or(FreeError::Foreign)?
        };
        self.with(|st| {
            if Self::VALIDATE && !bitmap::free(&mut st.live, offset / S) {
                return Err(FreeError::DoubleFree);
            }
            // SAFETY: `offset` is a block start of this pool (checked above with validation,
            // the caller's promise without) and nobody owns the block any more.
            Ok(unsafe { st.release::<S>(buffer.base(), offset) })
        })
    }

    /// Returns the block at `offset`, a block start of this pool found by address: with
    /// validation, for a free that names a layout selecting another pool but fitting this one,
    /// right with `spill` (the request spilled here) or when the block was kept here after a
    /// shrink, otherwise `WrongPool`, and a block not allocated is then `DoubleFree`; without
    /// validation, every free (the heap finds the pool by address and trusts the rest).
    ///
    /// # Safety
    /// `buffer` is this pool's own buffer; `offset` is a multiple of `S` below `S * N`.
    /// Without validation, the block must be one this pool handed out and not freed since.
    #[inline(always)]
    pub unsafe fn free_by_address<A: Align>(
        &self,
        buffer: &Buffer<S, N, A>,
        offset: usize,
        spill: bool,
    ) -> Result<Q::Wake, FreeError> {
        self.with(|st| {
            if Self::VALIDATE {
                let (_, kept) = bitmap::state(&st.live, offset / S);
                if !(spill || kept) {
                    return Err(FreeError::WrongPool);
                }
                if !bitmap::free(&mut st.live, offset / S) {
                    // Not live. Without `spill` it passed the check above on its kept bit
                    // alone: a block handed to a waiter (`01`), which is no more this free's
                    // than a free block is: `WrongPool`, as for a free block. Decided here, on
                    // the refusal's path, so an accepted free pays nothing for it.
                    return Err(if spill { FreeError::DoubleFree } else { FreeError::WrongPool });
                }
            }
            // SAFETY: the caller's promise: a block start of this buffer, owned by nobody now.
            Ok(unsafe { st.release::<S>(buffer.base(), offset) })
        })
    }

    /// Whether the block at `offset` (a block start of this pool) is allocated to its user:
    /// what a resize checks with validation. Always `true` without validation (nothing
    /// records it: the caller's contract is trusted).
    pub fn is_live(&self, offset: usize) -> bool {
        !Self::VALIDATE || self.with(|st| bitmap::state(&st.live, offset / S).0)
    }

    /// Marks the live block at `offset` as kept in place after a shrink, so its free may name
    /// the smaller layout. Nothing without validation (there is no record to keep).
    pub fn keep(&self, offset: usize) {
        if Self::VALIDATE {
            self.with(|st| bitmap::keep(&mut st.live, offset / S));
        }
    }

    /// The figures (counters zero with `stats: false`).
    pub fn stats(&self) -> PoolStats {
        PoolStats { block_size: S, blocks: N, ..self.with(|st| st.counters.read()) }
    }

    /// Counters to 0, peak to the current use.
    pub fn reset(&self) {
        self.with(|st| st.counters.reset());
    }

    /// Warms the block the next `alloc` would return.
    #[inline]
    pub fn prefetch<A: Align>(&self, buffer: &Buffer<S, N, A>) {
        let offset =
            self.with(|st| if st.head != 0 { offset_of_link(st.head) } else { st.fresh as usize });
        if offset < Self::BYTES as usize {
            crate::__private::prefetch_read(buffer.base().as_ptr().wrapping_add(offset));
        }
    }

    /// The full validation: the free list against the high-water mark, the bitmap and the
    /// counters. `pool` is this pool's index, for the report.
    ///
    /// # Safety
    /// `base` is the start of this pool's [`Buffer`] (same `S` and `N`).
    pub unsafe fn validate(&self, base: NonNull<u8>, pool: usize) -> Result<(), Corruption> {
        self.with(|st| {
            let fresh = st.fresh as usize;
            if !fresh.is_multiple_of(S) || fresh > S * N {
                return Err(Corruption::HighWaterMark { pool, bytes: fresh });
            }
            let handed_out = fresh / S;
            let mut free = 0;
            let mut link = st.head;
            while link != 0 {
                if free == handed_out {
                    return Err(Corruption::FreeListCycle { pool });
                }
                let at = (link as usize).wrapping_sub(LINK_BIAS);
                if at >= fresh || !at.is_multiple_of(S) {
                    return Err(Corruption::FreeListLink { pool, position: free, link });
                }
                let block = at / S;
                if Self::VALIDATE && bitmap::is_marked(&st.live, block) {
                    return Err(Corruption::FreeBlockMarkedLive { pool, block });
                }
                free += 1;
                // SAFETY: `at` is a block start below the high-water mark, inside the
                // buffer; the lock keeps the block free while its link is read.
                link = unsafe { read_link::<S>(base.add(at)) };
            }
            // SAFETY: `base` is this pool's buffer (the caller's promise).
            let handed = unsafe { st.validate_handed::<S>(base, handed_out - free, pool) }?;
            let live = handed_out - free;
            if let Some(block) = bitmap::first_marked_from(&st.live, handed_out) {
                return Err(Corruption::UnusedBlockMarkedLive { pool, block });
            }
            let marked = Self::VALIDATE.then(|| bitmap::count(&st.live) + handed);
            let counts = M::ENABLED.then(|| st.counters.read());
            check_records(pool, N, live, marked, counts)
        })
    }
}

/// What a link adds to a block's offset: not 0, so 0 can be the empty list; small, so
/// `base + link - 4` is one load with an immediate offset on every target (Thumb's reach
/// back is 255 bytes; `+ S` was two more instructions for blocks of 256 bytes and up).
const LINK_BIAS: usize = 4;

/// The link of the block at `offset` (below 4 GiB - 4: a pool is at most 4 GiB of blocks of
/// at least 4 bytes, so its last block starts at least 4 bytes below that).
#[inline(always)]
pub(super) fn link(offset: usize) -> u32 {
    (offset + LINK_BIAS) as u32
}

/// The offset of the block whose link is `link` (not 0).
#[inline(always)]
pub(super) fn offset_of_link(link: u32) -> usize {
    link as usize - LINK_BIAS
}

/// Reads the link stored at the start of `block`.
///
/// # Safety
/// `block` is a block start inside a pool of `S`-byte blocks (aligned by the block alignment
/// rule), and the block holds a link written by [`write_link`].
#[inline(always)]
pub(super) unsafe fn read_link<const S: usize>(block: NonNull<u8>) -> u32 {
    let at = block.as_ptr().cast::<u32>();
    // SAFETY: in bounds by the caller's promise; blocks of a multiple of 4 bytes are at least
    // 4-aligned (alignment rule), other sizes use an unaligned read.
    unsafe { if S.is_multiple_of(4) { at.read() } else { at.read_unaligned() } }
}

/// Writes `link` at the start of `block`.
///
/// # Safety
/// `block` is a block start inside a pool of `S`-byte blocks, and nobody owns the block.
#[inline(always)]
pub(super) unsafe fn write_link<const S: usize>(block: NonNull<u8>, link: u32) {
    let at = block.as_ptr().cast::<u32>();
    // SAFETY: as for `read_link`; the block is free, so writing its first 4 bytes races with
    // no owner.
    unsafe { if S.is_multiple_of(4) { at.write(link) } else { at.write_unaligned(link) } }
}
