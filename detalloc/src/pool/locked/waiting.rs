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
use crate::wait::{Enqueued, GiveUp, Look, Ticket, WaitStart, WaitStats, Waiters};

impl<const W: usize, T: PoolCounters, const K: usize> State<W, T, Waiters<K>> {
    /// Takes a block off the overflow list (blocks of served waiters evicted from their
    /// slots), for an evicted waiter. Still marked handed. `None` only if the list is empty,
    /// which an evicted waiter never finds (one block on it per evicted waiter not yet gone).
    ///
    /// # Safety
    /// `base` is the start of this pool's own `S`-byte-block buffer.
    unsafe fn take_overflow<const S: usize>(&mut self, base: NonNull<u8>) -> Option<u32> {
        let link = self.queue.overflow();
        if link == 0 {
            return None;
        }
        // SAFETY: every overflow link was made from a block start of this buffer (a link
        // `release` handed to a slot, moved here by `evict`).
        let block = unsafe { base.add(super::offset_of_link(link)) };
        // SAFETY: `evict` wrote the block's link when it put it on the list, and nobody has
        // owned the block since (a waiter takes it here, under the lock).
        self.queue.set_overflow(unsafe { super::read_link::<S>(block) });
        Some(link)
    }

    /// Moves the block of a served waiter's slot (its link) to the overflow list.
    ///
    /// # Safety
    /// `base` is the start of this pool's own `S`-byte-block buffer and `link` is a handed
    /// block of it that no slot holds any more.
    unsafe fn evict<const S: usize>(&mut self, base: NonNull<u8>, link: u32) {
        // SAFETY: a handed link is the link of a block start of this buffer; nobody owns the
        // block (its waiter has not collected it), so its first bytes may hold the list's link.
        unsafe {
            super::write_link::<S>(base.add(super::offset_of_link(link)), self.queue.overflow())
        };
        self.queue.set_overflow(link);
    }

    /// A served waiter collects the handed block `link`: it is live now, the waiter's own.
    ///
    /// # Safety
    /// `base` is the start of this pool's own `S`-byte-block buffer and `link` a handed block.
    unsafe fn collect<const S: usize>(&mut self, base: NonNull<u8>, link: u32) -> NonNull<u8> {
        let offset = super::offset_of_link(link);
        if W > 0 {
            bitmap::collect(&mut self.live, offset / S);
        }
        // SAFETY: a handed link names a block start of this buffer (the caller's promise).
        unsafe { base.add(offset) }
    }

    /// What a served waiter takes when it polls: its own block from its slot, or (evicted) one
    /// from the overflow list.
    ///
    /// # Safety
    /// `base` is the start of this pool's own `S`-byte-block buffer.
    unsafe fn served<const S: usize>(
        &mut self,
        base: NonNull<u8>,
        own: Option<u32>,
    ) -> Option<NonNull<u8>> {
        // SAFETY: the caller's promise.
        let link = own.or_else(|| unsafe { self.take_overflow::<S>(base) })?;
        // SAFETY: the caller's promise; `link` is a handed block (a slot's or the overflow's).
        Some(unsafe { self.collect::<S>(base, link) })
    }
}

impl<const S: usize, const N: usize, const W: usize, L: Lock, M: StatsMode, const K: usize>
    Pool<S, N, W, L, M, Waiters<K>>
{
    /// Runs `f` on the state under the lock, then drops the waker `f` hands back (user code)
    /// after the lock is released: every waker leaving the queue outside a wake goes through
    /// here.
    #[inline(always)]
    fn with_then_drop<R>(
        &self,
        f: impl FnOnce(&mut State<W, M::Locked, Waiters<K>>) -> (R, Option<Waker>),
    ) -> R {
        let (outcome, unused) = self.with(f);
        drop(unused); // user code (the waker's drop), after the lock
        outcome
    }

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
        self.with_then_drop(|st| {
            // A block may have come back meanwhile: take it rather than wait for the next.
            // SAFETY: as above.
            if let Some((block, _)) = unsafe { st.hand_out::<S, N>(base) } {
                return (WaitStart::Ready(block), Some(waker));
            }
            match st.queue.enqueue(waker) {
                Enqueued::Queued(ticket) => (WaitStart::Queued(ticket), None),
                Enqueued::Evicting(ticket, link) => {
                    // SAFETY: `base` is this pool's buffer; `link` came out of a served slot.
                    unsafe { st.evict::<S>(base, link) };
                    (WaitStart::Queued(ticket), None)
                }
                Enqueued::Full(waker) => (WaitStart::Full, Some(waker)),
            }
        })
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
            Look::Served(link) => Ok(unsafe { st.served::<S>(base, Some(link)) }),
            // SAFETY: as above.
            Look::Evicted => Ok(unsafe { st.served::<S>(base, None) }),
            Look::Waiting => Ok(None),
            Look::StaleWaker => Err(()),
        });
        if let Ok(outcome) = look {
            return outcome;
        }
        // The task polling now is not the one the kept waker wakes: clone its waker outside
        // the lock, swap it in, drop the old one after.
        let waker = waker.clone();
        self.with_then_drop(|st| match st.queue.replace_waker(ticket, waker) {
            Ok(old) => (None, old),
            // Served meanwhile.
            Err(waker) => {
                let own = match st.queue.look(ticket, &waker) {
                    Look::Served(link) => Some(link),
                    _ => None,
                };
                // SAFETY: as above.
                (unsafe { st.served::<S>(base, own) }, Some(waker))
            }
        })
    }

    /// The waiter of `ticket` gives up. Still waiting: it leaves the queue. Already served: its
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
        self.with_then_drop(|st| {
            let link = match st.queue.cancel(ticket) {
                GiveUp::Left(own) => return (None, own),
                GiveUp::Served(link) => link,
                // SAFETY: `base` is this pool's buffer (the caller's promise).
                GiveUp::Evicted => match unsafe { st.take_overflow::<S>(base) } {
                    Some(link) => link,
                    None => return (None, None),
                },
            };
            let offset = super::offset_of_link(link);
            if W > 0 {
                // Handed to the waiter, never collected: free again.
                bitmap::clear(&mut st.live, offset / S);
            }
            // SAFETY: a handed block of this buffer that its waiter never took: nobody owns it.
            (unsafe { st.release::<S>(base, offset) }, None)
        })
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
