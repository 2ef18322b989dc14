//! A locked pool's side of waiting (`waiters: K`): the first look of a waiting allocation, a
//! later poll, and giving up, each a short step under the pool's lock. The free side is
//! `State::release`, which hands a freed block to the oldest waiter.
//!
//! No user code runs under the lock: a waker is cloned before the lock is taken (a second,
//! short locked step follows when the first one found that a clone is needed), and every
//! waker that leaves the queue is returned from the locked step, to be woken or dropped after
//! it. A waker's clone or drop may allocate from this very pool.

use core::ptr::NonNull;
use core::task::Waker;

use super::{Pool, State};
use crate::counters::{PoolCounters, StatsMode};
use crate::pool::bitmap;
use crate::pool::buffer::{Align, Buffer};
use crate::sync::Lock;
use crate::wait::{GiveUp, Look, Ticket, WaitQueue, WaitStart, WaitStats, Waiters};

impl<const W: usize, T: PoolCounters, const K: usize> State<W, T, Waiters<K>> {
    /// Takes the block at the head of the handed list, for a served waiter (it was counted as
    /// allocated when it was handed over, and is marked handed). `None` only if the list is
    /// empty, which a served waiter never finds (one block on it per served waiter not yet
    /// gone).
    ///
    /// # Safety
    /// `base` is the start of this pool's own `S`-byte-block buffer.
    unsafe fn take_handed<const S: usize>(&mut self, base: NonNull<u8>) -> Option<NonNull<u8>> {
        let link = self.queue.handed();
        if link == 0 {
            return None;
        }
        // SAFETY: every handed link was made by `release` from a block start of this buffer.
        let block = unsafe { base.add(super::offset_of_link(link)) };
        // SAFETY: `release` wrote the block's link when it put it on the list, and nobody has
        // owned the block since (its waiter takes it here, under the lock).
        self.queue.set_handed(unsafe { super::read_link::<S>(block) });
        Some(block)
    }

    /// A served waiter collects the head of the handed list: the block is now live, its own.
    ///
    /// # Safety
    /// `base` is the start of this pool's own `S`-byte-block buffer.
    unsafe fn collect_handed<const S: usize>(&mut self, base: NonNull<u8>) -> Option<NonNull<u8>> {
        // SAFETY: the caller's promise.
        let block = unsafe { self.take_handed::<S>(base) }?;
        if W > 0 {
            // SAFETY: `block` is a block start of this buffer (it came off the handed list).
            let offset = unsafe { block.offset_from_unsigned(base) };
            bitmap::collect(&mut self.live, offset / S);
        }
        Some(block)
    }
}

impl<const S: usize, const N: usize, const W: usize, L: Lock, M: StatsMode, const K: usize>
    Pool<S, N, W, L, M, Waiters<K>>
{
    /// A block at once if the pool has one (counted as an allocation), else a place in the
    /// queue, else `Full`; the pool's exhaustion is counted when `count_exhaustion` (not when
    /// the caller's own try already counted it).
    ///
    /// # Safety
    /// `buffer` is this pool's own buffer (as for [`alloc`](Self::alloc)).
    #[inline(always)]
    pub unsafe fn wait_start<A: Align>(
        &self,
        buffer: &Buffer<S, N, A>,
        waker: &Waker,
        count_exhaustion: bool,
    ) -> WaitStart {
        let base = buffer.base();
        let first = self.with(|st| {
            // SAFETY: `base` is this pool's buffer (the caller's promise).
            if let Some((block, _)) = unsafe { st.hand_out::<S, N>(base) } {
                return Some(WaitStart::Ready(block));
            }
            if count_exhaustion {
                st.counters.on_fail();
            }
            st.queue.is_full().then_some(WaitStart::Full)
        });
        match first {
            Some(decided) => decided,
            // SAFETY: the caller's promise, forwarded.
            None => unsafe { self.enqueue(buffer, waker) },
        }
    }

    /// The rest of `wait_start` when the pool was empty and the queue had room: the waker
    /// cloned outside the lock, then a second locked step that takes a block returned
    /// meanwhile, else queues the waiter, else (the queue filled up meanwhile) says `Full`.
    /// Out of line: the ready path stays short.
    ///
    /// # Safety
    /// `buffer` is this pool's own buffer.
    #[cold]
    #[inline(never)]
    unsafe fn enqueue<A: Align>(&self, buffer: &Buffer<S, N, A>, waker: &Waker) -> WaitStart {
        let base = buffer.base();
        // User code (the waker's clone), outside the lock.
        let waker = waker.clone();
        let (start, unused) = self.with(|st| {
            // A block may have come back meanwhile: take it rather than wait for the next.
            // SAFETY: as above.
            if let Some((block, _)) = unsafe { st.hand_out::<S, N>(base) } {
                return (WaitStart::Ready(block), Some(waker));
            }
            match st.queue.enqueue(waker) {
                Ok(ticket) => (WaitStart::Queued(ticket), None),
                Err(waker) => (WaitStart::Full, Some(waker)),
            }
        });
        drop(unused); // user code (the waker's drop), after the lock
        start
    }

    /// The block for the waiter of `ticket`, once a free handed one over (counted as allocated
    /// then); `None` while it still waits, its waker kept up to date with `waker`.
    ///
    /// # Safety
    /// `buffer` is this pool's own buffer, and `ticket` came from this pool's `wait_start`
    /// and has neither taken its block nor been given up.
    pub unsafe fn wait_take<A: Align>(
        &self,
        buffer: &Buffer<S, N, A>,
        ticket: Ticket,
        waker: &Waker,
    ) -> Option<NonNull<u8>> {
        let base = buffer.base();
        let look = self.with(|st| match st.queue.look(ticket, waker) {
            // SAFETY: `base` is this pool's buffer (the caller's promise).
            Look::Served => Ok(unsafe { st.collect_handed::<S>(base) }),
            Look::Waiting => Ok(None),
            Look::StaleWaker => Err(()),
        });
        if let Ok(outcome) = look {
            return outcome;
        }
        // The task polling now is not the one the kept waker wakes: clone its waker outside
        // the lock, swap it in, drop the old one after.
        let waker = waker.clone();
        let (outcome, unused) = self.with(|st| match st.queue.replace_waker(ticket, waker) {
            Ok(old) => (None, old),
            // SAFETY: as above.
            Err(waker) => (unsafe { st.collect_handed::<S>(base) }, Some(waker)),
        });
        drop(unused); // user code (the waker's drop), after the lock
        outcome
    }

    /// The waiter of `ticket` gives up. Still waiting: it leaves the queue. Already served: a
    /// handed block goes on, as a free would, to the next waiter or onto the free list.
    /// Returned is the next waiter's waker, to wake after the lock (the waiter's own waker is
    /// dropped here, after the lock).
    ///
    /// # Safety
    /// `buffer` is this pool's own buffer, and `ticket` came from this pool's `wait_start`
    /// and has neither taken its block nor been given up before.
    pub unsafe fn wait_cancel<A: Align>(
        &self,
        buffer: &Buffer<S, N, A>,
        ticket: Ticket,
    ) -> Option<Waker> {
        let base = buffer.base();
        let (own, next) = self.with(|st| match st.queue.cancel(ticket) {
            GiveUp::Left(own) => (own, None),
            GiveUp::Served => {
                // SAFETY: `base` is this pool's buffer (the caller's promise).
                let Some(block) = (unsafe { st.take_handed::<S>(base) }) else {
                    return (None, None);
                };
                // SAFETY: `block` is a block start of this buffer (it came off the handed
                // list), at or above `base`.
                let offset = unsafe { block.offset_from_unsigned(base) };
                if W > 0 {
                    // Handed to the waiter, never collected: free again.
                    bitmap::clear(&mut st.live, offset / S);
                }
                // SAFETY: a handed block of this buffer that its waiter never took: nobody
                // owns it.
                (None, unsafe { st.release::<S>(base, offset) })
            }
        });
        drop(own); // user code (the waker's drop), after the lock
        next
    }

    /// The pool's waiting counters.
    pub fn wait_stats(&self) -> WaitStats {
        self.with(|st| st.queue.stats())
    }

    /// Waiting counters to 0, the longest queue to the current one.
    pub fn reset_waits(&self) {
        self.with(|st| st.queue.reset());
    }
}
