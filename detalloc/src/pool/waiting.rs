//! A locked pool's side of waiting (`waiters: K`): the first look of a waiting allocation, a
//! later poll, and giving up, each one short step under the pool's lock. The free side is
//! `State::release`, which hands a freed block to the oldest waiter.

use core::ptr::NonNull;
use core::task::Waker;

use super::Pool;
use super::locked;
use crate::bitmap;
use crate::blocks::{Align, Blocks};
use crate::counters::{PoolCounters, StatsMode};
use crate::sync::Lock;
use crate::wait::{WaitStart, WaitStats, Waiters};

impl<const S: usize, const N: usize, const W: usize, L: Lock, M: StatsMode, const K: usize>
    Pool<S, N, W, L, M, Waiters<K>>
{
    /// A block at once if the pool has one (counted as an allocation), else a place in the
    /// queue, else `Full`; the pool's exhaustion is counted when `count_exhaustion` (not when
    /// the caller's own try already counted it).
    ///
    /// # Safety
    /// `blocks` is this pool's own buffer (as for [`alloc`](Self::alloc)).
    pub unsafe fn wait_start<A: Align>(
        &self,
        blocks: &Blocks<S, N, A>,
        waker: &Waker,
        count_exhaustion: bool,
    ) -> WaitStart {
        let base = blocks.base();
        self.with(|st| {
            // SAFETY: `base` is this pool's buffer (the caller's promise).
            if let Some((block, _)) = unsafe { st.take::<S, N>(base) } {
                return WaitStart::Ready(block);
            }
            if count_exhaustion {
                st.tally.on_fail();
            }
            match st.queue.enqueue(waker) {
                Some(slot) => WaitStart::Queued(slot),
                None => WaitStart::Full,
            }
        })
    }

    /// The block handed to the waiter in `slot`, once a free handed it over (it was counted
    /// as allocated then); `None` while it still waits (its waker is kept up to date).
    ///
    /// # Safety
    /// `blocks` is this pool's own buffer, and `slot` is the caller's, from `wait_start`.
    pub unsafe fn wait_take<A: Align>(
        &self,
        blocks: &Blocks<S, N, A>,
        slot: u8,
        waker: &Waker,
    ) -> Option<NonNull<u8>> {
        let link = self.with(|st| st.queue.take(slot, waker))?;
        // SAFETY: a handed-over link is the link of a block start of this buffer.
        Some(unsafe { blocks.base().add(locked::offset_of_link(link)) })
    }

    /// The waiter in `slot` gives up. A block already handed to it goes on, as a free would:
    /// to the next waiter (whose waker is returned, to wake after the lock) or onto the free
    /// list.
    ///
    /// # Safety
    /// `blocks` is this pool's own buffer, and `slot` is the caller's, from `wait_start`,
    /// given up once.
    pub unsafe fn wait_cancel<A: Align>(
        &self,
        blocks: &Blocks<S, N, A>,
        slot: u8,
    ) -> Option<Waker> {
        let base = blocks.base();
        self.with(|st| {
            let link = st.queue.cancel(slot)?;
            let offset = locked::offset_of_link(link);
            if W > 0 {
                // The block was allocated to the waiter: its free clears the bit again.
                let _ = bitmap::take(&mut st.live, offset / S);
            }
            // SAFETY: a handed-over block of this buffer that its waiter never took: nobody
            // owns it.
            unsafe { st.release::<S>(base, offset) }
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
