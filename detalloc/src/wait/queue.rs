//! A pool's queue of waiting allocations (`waiters: K`): up to `K` futures *waiting*, served
//! in the order they arrived. It lives in the pool's state and is touched only under the
//! pool's lock, where **no user code runs**: a waker is cloned by the caller before it takes
//! the lock and handed in by value; a waker leaving the queue (handed over, replaced, given
//! up) is moved out and returned, to be woken or dropped after the lock is released.
//!
//! A waiter holds a [`Ticket`]: its slot and a number unique in its pool. A free into a pool
//! with waiters takes the oldest one off the waiting ring ([`WaitQueue::hand_off`], constant
//! time) and leaves the block in its slot: the block never goes back on the free list where an
//! `allocate` could barge past the waiter, and the waiter collects exactly that block when it
//! next polls. A served waiter no longer counts against the bound `K`, which counts futures
//! waiting: when a new waiter finds every slot taken, fewer than `K` of them wait, so one holds
//! a block not yet collected; that block moves to the pool's *overflow* list (linked through
//! the blocks' first bytes, as the free list is) and the slot is reused. A waiter whose number
//! is no longer in its slot was served and evicted: it takes a block from the overflow list
//! (one per evicted waiter, all of its pool; only its identity is lost). A waiter that gives
//! up (its future is dropped) leaves the ring: that shifts the younger waiters' places, at most
//! `K - 1` of them, on the cancelling task's path, never on an allocation's or a free's.
//! `NoWaiters` (`waiters: 0`, the default) is a zero-sized queue whose every operation compiles
//! to nothing.

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
    /// The empty queue (all-zero state but for the `None` wakers).
    const EMPTY: Self;
    /// What a free hands back to wake.
    type Wake: Wake;
    /// Gives the block whose link (its offset + 4) is `link` to the oldest waiter, if any: the
    /// block stays in the waiter's slot; its waker is returned, to wake after the lock. `None`
    /// when nobody waits (the block goes on the free list).
    fn hand_off(&mut self, link: u32) -> Option<Self::Wake>;
    /// The blocks handed to waiters and not collected yet: those in served slots, then the
    /// overflow list's head (0: empty), for validation.
    fn handed(&self) -> (impl Iterator<Item = u32>, u32);
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
    fn handed(&self) -> (impl Iterator<Item = u32>, u32) {
        (core::iter::empty(), 0)
    }
}

/// A waiter's place: its slot in its pool's queue and its number (unique in the pool, never
/// 0), so a slot reused by a later waiter is not mistaken for its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    pub(crate) slot: u8,
    pub(crate) number: u64,
}

/// Counters of the waits of one pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct WaitStats {
    /// Allocations that waited (were queued), whatever the outcome.
    pub waited: u64,
    /// Blocks a free handed directly to a waiter.
    pub handed_off: u64,
    /// Waits given up (the future dropped, e.g. by a timeout) before a block came. (A future
    /// dropped after a block was handed to it counts in `handed_off`; the block's return is a
    /// free.)
    pub cancelled: u64,
    /// The longest queue seen.
    pub longest_queue: usize,
}

/// A waiter's look at its place ([`Waiters::look`]).
#[derive(Debug, PartialEq, Eq)]
pub enum Look {
    /// Still waiting, and its waker is the one given.
    Waiting,
    /// Still waiting, with a waker that would not wake the task polling now.
    StaleWaker,
    /// Served: its block (its link), taken out of its slot, which is free again.
    Served(u32),
    /// Served, and its block moved to the overflow list: the caller takes one from there.
    Evicted,
}

/// What giving up a place found ([`Waiters::cancel`]).
#[derive(Debug)]
pub enum GiveUp {
    /// The waiter still waited: it left the queue; its waker, to drop after the lock.
    Left(Option<Waker>),
    /// The waiter was served: its block (its link), out of its slot, to pass on.
    Served(u32),
    /// The waiter was served and evicted: the caller passes on a block of the overflow list.
    Evicted,
}

/// What a new waiter got ([`Waiters::enqueue`]).
#[derive(Debug)]
pub enum Enqueued {
    /// A place.
    Queued(Ticket),
    /// A place, in a slot whose uncollected block (this link) the caller moves to the overflow
    /// list.
    Evicting(Ticket, u32),
    /// No place: `K` already wait. The waker, to drop after the lock.
    Full(Waker),
}

/// One slot: free (`number == 0`), waiting (`block == 0`), or served (`block != 0`: the block
/// handed to its waiter, not collected yet).
#[derive(Debug)]
struct Slot {
    number: u64,
    waker: Option<Waker>,
    block: u32,
}

/// Up to `K` waiting allocations (`K <= 32`), FIFO.
#[derive(Debug)]
pub struct Waiters<const K: usize> {
    slots: [Slot; K],
    /// The waiting slots, oldest first, from `head` (a ring of `len` entries).
    order: [u8; K],
    head: u8,
    len: u8,
    /// The last number given out.
    last: u64,
    /// The overflow list's head: blocks of served waiters evicted from their slots, a link
    /// (block offset + 4), 0 when empty.
    overflow: u32,
    stats: WaitStats,
}

impl<const K: usize> Waiters<K> {
    const CHECKED: () = assert!(K >= 1 && K <= 32, "a pool has 1 to 32 waiter slots");

    /// Whether `K` futures already wait.
    pub fn is_full(&self) -> bool {
        self.len as usize >= K
    }

    /// A place for a new waiter, who will be woken by `waker`: a free slot, else the slot of a
    /// served waiter whose block the caller moves to the overflow list; [`Enqueued::Full`]
    /// when `K` already wait.
    pub fn enqueue(&mut self, waker: Waker) -> Enqueued {
        let () = Self::CHECKED;
        if self.is_full() {
            return Enqueued::Full(waker);
        }
        // Fewer than `K` wait, so some slot is free or served (not waiting).
        let free = self.slots.iter().position(|slot| slot.number == 0);
        let Some(at) = free.or_else(|| self.slots.iter().position(|slot| slot.block != 0)) else {
            return Enqueued::Full(waker);
        };
        let at = at % K;
        self.last += 1;
        let place = &mut self.slots[at];
        let evicted = core::mem::replace(&mut place.block, 0);
        place.number = self.last;
        // A free or served slot holds no waker (every path that frees or serves a slot moves
        // it out), so this assignment drops nothing.
        place.waker = Some(waker);
        self.order[(self.head as usize + self.len as usize) % K] = at as u8;
        self.len += 1;
        self.stats.waited += 1;
        self.stats.longest_queue = self.stats.longest_queue.max(self.len as usize);
        let ticket = Ticket { slot: at as u8, number: self.last };
        if evicted != 0 { Enqueued::Evicting(ticket, evicted) } else { Enqueued::Queued(ticket) }
    }

    /// The slot of `ticket`, while it still holds that waiter.
    fn slot(&mut self, ticket: Ticket) -> Option<&mut Slot> {
        self.slots.get_mut(ticket.slot as usize).filter(|slot| slot.number == ticket.number)
    }

    /// Where the waiter of `ticket` stands, polled with `waker`. A served waiter's block comes
    /// out of its slot (which is free again): the waiter owns it now.
    pub fn look(&mut self, ticket: Ticket, waker: &Waker) -> Look {
        let Some(slot) = self.slot(ticket) else { return Look::Evicted };
        if slot.block != 0 {
            let block = slot.block;
            *slot = Slot { number: 0, waker: None, block: 0 };
            return Look::Served(block);
        }
        // `will_wake` compares the two wakers' data and vtable pointers: no user code.
        match &slot.waker {
            Some(kept) if kept.will_wake(waker) => Look::Waiting,
            _ => Look::StaleWaker,
        }
    }

    /// Gives the waiter of `ticket` the waker `waker`: `Ok` with the one it replaces, or
    /// `Err(waker)` when the waiter was served meanwhile. Either is dropped after the lock.
    pub fn replace_waker(&mut self, ticket: Ticket, waker: Waker) -> Result<Option<Waker>, Waker> {
        match self.slot(ticket) {
            Some(slot) if slot.block == 0 => Ok(slot.waker.replace(waker)),
            _ => Err(waker),
        }
    }

    /// The waiter of `ticket` gives up: still waiting, it leaves the ring (the younger waiters
    /// move up one place) and its waker comes out; served, its block comes out of its slot (or
    /// it was evicted).
    pub fn cancel(&mut self, ticket: Ticket) -> GiveUp {
        let Some(slot) = self.slot(ticket) else { return GiveUp::Evicted };
        let (waker, block) = (slot.waker.take(), slot.block);
        *slot = Slot { number: 0, waker: None, block: 0 };
        if block != 0 {
            return GiveUp::Served(block);
        }
        self.stats.cancelled += 1;
        let len = self.len as usize;
        let at = |i: usize| (self.head as usize + i) % K;
        if let Some(position) = (0..len).find(|&i| self.order[at(i)] == ticket.slot) {
            for i in position..len - 1 {
                self.order[at(i)] = self.order[at(i + 1)];
            }
            self.len -= 1;
        }
        GiveUp::Left(waker)
    }

    /// The overflow list's head (0: empty).
    pub fn overflow(&self) -> u32 {
        self.overflow
    }

    /// Sets the overflow list's head.
    pub fn set_overflow(&mut self, link: u32) {
        self.overflow = link;
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
        slots: [const { Slot { number: 0, waker: None, block: 0 } }; K],
        order: [0; K],
        head: 0,
        len: 0,
        last: 0,
        overflow: 0,
        stats: WaitStats { waited: 0, handed_off: 0, cancelled: 0, longest_queue: 0 },
    };
    type Wake = Option<Waker>;

    #[inline]
    fn hand_off(&mut self, link: u32) -> Option<Option<Waker>> {
        if self.len == 0 {
            return None;
        }
        let at = self.order[self.head as usize % K] as usize % K;
        self.head = ((self.head as usize + 1) % K) as u8;
        self.len -= 1;
        self.stats.handed_off += 1;
        let slot = &mut self.slots[at];
        slot.block = link;
        Some(slot.waker.take())
    }

    fn handed(&self) -> (impl Iterator<Item = u32>, u32) {
        (self.slots.iter().map(|slot| slot.block).filter(|&block| block != 0), self.overflow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_count_waiters_only_and_a_served_waiter_gets_its_own_block() {
        let mut q = Waiters::<1>::EMPTY;
        let waker = Waker::noop();
        let Enqueued::Queued(first) = q.enqueue(waker.clone()) else { panic!("a free slot") };
        assert!(matches!(q.enqueue(waker.clone()), Enqueued::Full(_)), "one waits: full");
        assert!(q.hand_off(8).expect("one waits").is_some(), "its waker comes out");
        // The served waiter keeps its block in its slot; a new waiter takes the slot and the
        // block moves to the overflow list.
        let Enqueued::Evicting(second, 8) = q.enqueue(waker.clone()) else { panic!("evicts") };
        assert_eq!(second.slot, first.slot);
        assert_eq!(q.look(first, waker), Look::Evicted, "its slot holds another number");
        assert_ne!(q.look(second, waker), Look::Evicted, "the new waiter still waits");
        assert!(matches!(q.cancel(first), GiveUp::Evicted));
        assert!(matches!(q.cancel(second), GiveUp::Left(Some(_))), "its waker comes out");
        assert!(q.hand_off(12).is_none(), "nobody waits");
        let Enqueued::Queued(third) = q.enqueue(waker.clone()) else { panic!("a free slot") };
        let _ = q.hand_off(16);
        assert_eq!(q.look(third, waker), Look::Served(16), "its own block");
        assert_eq!(
            q.stats(),
            WaitStats { waited: 3, handed_off: 2, cancelled: 1, longest_queue: 1 }
        );
    }
}
