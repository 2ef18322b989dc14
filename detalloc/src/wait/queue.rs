//! A pool's queue of waiting allocations (`waiters: K`): up to `K` futures, served in the
//! order they arrived. It lives in the pool's state and is touched only under the pool's lock.
//!
//! A free into a pool with waiters hands the block to the oldest one ([`WaitQueue::hand_off`],
//! constant time: a ring of slot numbers) and returns its waker, which the caller wakes after
//! the lock is released. A waiter that gives up (its future is dropped) leaves the ring: that
//! shifts the younger waiters' slot numbers, at most `K - 1` of them, on the cancelling
//! task's path, never on an allocation's or a free's. `NoWaiters` (`waiters: 0`, the
//! default) is a zero-sized queue whose every operation compiles to nothing.

use core::task::Waker;

/// What a free returns besides its verdict: a waker to wake once the pool's lock is released
/// (`Option<Waker>`), or nothing at all (`()`, without waiters).
pub trait Wake: Default {
    /// Wakes the waiter, if any.
    fn wake(self);
}

impl Wake for () {
    #[inline(always)]
    fn wake(self) {}
}

impl Wake for Option<Waker> {
    #[inline]
    fn wake(self) {
        if let Some(waker) = self {
            wake_waiter(waker);
        }
    }
}

/// Wakes a waiter whose allocation a free served: the executor's cost, not the free's. Out of
/// line under this one name, so a static audit of `deallocate` can name it (`detalloc-audit
/// --assume detalloc::wait::queue::wake_waiter=0`): everything else on the path is the
/// allocator's and must be loop-free, this call is a jump through the waker's vtable into
/// the executor.
#[inline(never)]
fn wake_waiter(waker: Waker) {
    waker.wake();
}

/// A pool's waiting allocations.
pub trait WaitQueue {
    /// Whether the pool has a queue at all.
    const ENABLED: bool;
    /// The empty queue (all-zero state).
    const EMPTY: Self;
    /// What a free hands back to wake.
    type Wake: Wake;
    /// Gives the block whose link (its offset + 4) is `link` to the oldest waiter, if any: its
    /// waker. `None` when nobody waits (the block goes on the free list).
    fn hand_off(&mut self, link: u32) -> Option<Self::Wake>;
}

/// No queue (`waiters: 0`): nothing waits, nothing is stored.
#[derive(Debug)]
pub struct NoWaiters;

impl WaitQueue for NoWaiters {
    const ENABLED: bool = false;
    const EMPTY: Self = NoWaiters;
    type Wake = ();
    #[inline(always)]
    fn hand_off(&mut self, _: u32) -> Option<()> {
        None
    }
}

/// One waiting allocation's place.
#[derive(Debug)]
struct Slot {
    /// Who to wake when a block is handed over.
    waker: Option<Waker>,
    /// The handed-over block (its offset + 4), 0 while still waiting.
    block: u32,
}

/// Counters of the waits of one pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct WaitStats {
    /// Allocations that waited (were queued), whatever the outcome.
    pub waited: u64,
    /// Blocks a free handed directly to a waiter.
    pub handed_off: u64,
    /// Waits given up (the future dropped, e.g. by a timeout) before a block came.
    pub cancelled: u64,
    /// The longest queue seen.
    pub longest_queue: usize,
}

/// Up to `K` waiting allocations (`K <= 32`), FIFO.
#[derive(Debug)]
pub struct Waiters<const K: usize> {
    /// Bit `i`: slot `i` belongs to a future (waiting, or with a block not yet taken).
    used: u32,
    /// The waiting slots, oldest first, from `head` (a ring of `len` entries).
    order: [u8; K],
    head: u8,
    len: u8,
    slots: [Slot; K],
    stats: WaitStats,
}

impl<const K: usize> Waiters<K> {
    const CHECKED: () = assert!(K >= 1 && K <= 32, "a pool has 1 to 32 waiter slots");

    /// A place for a new waiter, or `None` when `K` already wait. The waiter keeps the slot
    /// number until it takes its block ([`take`](Self::take)) or gives up
    /// ([`cancel`](Self::cancel)).
    pub fn enqueue(&mut self, waker: &Waker) -> Option<u8> {
        let () = Self::CHECKED;
        if self.len as usize >= K {
            return None;
        }
        let slot = (!self.used).trailing_zeros() as u8;
        let place = self.slots.get_mut(slot as usize)?;
        self.used |= 1 << slot;
        *place = Slot { waker: Some(waker.clone()), block: 0 };
        if let Some(entry) = self.order.get_mut((self.head as usize + self.len as usize) % K) {
            *entry = slot;
        }
        self.len += 1;
        self.stats.waited += 1;
        self.stats.longest_queue = self.stats.longest_queue.max(self.len as usize);
        Some(slot)
    }

    /// The block handed to `slot` (its offset + 4), which the waiter now owns: its slot is free
    /// again. `None` while it still waits: its waker is then replaced by `waker` if it would
    /// wake another task.
    pub fn take(&mut self, slot: u8, waker: &Waker) -> Option<u32> {
        let place = self.slots.get_mut(slot as usize)?;
        if place.block == 0 {
            if !place.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
                place.waker = Some(waker.clone());
            }
            return None;
        }
        let block = place.block;
        *place = Slot { waker: None, block: 0 };
        self.used &= !(1 << slot);
        Some(block)
    }

    /// The waiter of `slot` gives up. If a block was already handed to it, that block
    /// (its offset + 4) is returned: the caller passes it on (to the next waiter or the free
    /// list). Otherwise the slot leaves the ring (the younger entries move up one place).
    pub fn cancel(&mut self, slot: u8) -> Option<u32> {
        let place = self.slots.get_mut(slot as usize)?;
        let block = place.block;
        *place = Slot { waker: None, block: 0 };
        self.used &= !(1 << slot);
        if block != 0 {
            return Some(block);
        }
        self.stats.cancelled += 1;
        let len = self.len as usize;
        let position = (0..len).find(|&i| self.order[(self.head as usize + i) % K] == slot)?;
        for i in position..len - 1 {
            self.order[(self.head as usize + i) % K] = self.order[(self.head as usize + i + 1) % K];
        }
        self.len -= 1;
        None
    }

    /// The counters.
    pub fn stats(&self) -> WaitStats {
        self.stats
    }

    /// Counters to 0, the longest queue to the current one.
    pub fn reset(&mut self) {
        self.stats = WaitStats { longest_queue: self.len as usize, ..WaitStats::default() };
    }
}

impl<const K: usize> WaitQueue for Waiters<K> {
    const ENABLED: bool = true;
    const EMPTY: Self = Waiters {
        used: 0,
        order: [0; K],
        head: 0,
        len: 0,
        slots: [const { Slot { waker: None, block: 0 } }; K],
        stats: WaitStats { waited: 0, handed_off: 0, cancelled: 0, longest_queue: 0 },
    };
    type Wake = Option<Waker>;

    #[inline]
    fn hand_off(&mut self, link: u32) -> Option<Option<Waker>> {
        if self.len == 0 {
            return None;
        }
        let slot = self.order.get(self.head as usize).copied()?;
        self.head = ((self.head as usize + 1) % K) as u8;
        self.len -= 1;
        let place = self.slots.get_mut(slot as usize)?;
        place.block = link;
        self.stats.handed_off += 1;
        Some(place.waker.take())
    }
}
