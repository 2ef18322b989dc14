//! A pool's queue of waiting allocations (`waiters: K`): up to `K` futures *waiting*, served
//! in the order they arrived. It lives in the pool's state and is touched only under the
//! pool's lock, where **no user code runs**: a waker is cloned by the caller before it takes
//! the lock and handed in by value; a waker leaving the queue (handed over, replaced, given
//! up) is moved out and returned, to be woken or dropped after the lock is released.
//!
//! A waiter holds a [`Ticket`]: its slot and a number unique in its pool. A free into a pool
//! with waiters takes the oldest one off the queue ([`WaitQueue::hand_off`], constant time: a
//! ring of slot numbers), clears its slot (free for the next waiter at once) and puts the
//! block on the pool's *handed* list: blocks given to waiters that have not collected them
//! yet, linked through their first bytes as the free list is. A served waiter finds its slot
//! no longer carries its number and takes a block from that list (any one: they are all this
//! pool's blocks, one per served waiter). So the bound `K` counts futures waiting, nothing
//! else, and a handed block never goes back on the free list where an `allocate` could barge
//! past the waiter. A waiter that gives up (its future is dropped) leaves the ring: that
//! shifts the younger waiters' places, at most `K - 1` of them, on the cancelling task's
//! path, never on an allocation's or a free's. `NoWaiters` (`waiters: 0`, the default) is a
//! zero-sized queue whose every operation compiles to nothing.

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
    /// Gives the block whose link (its offset + 4) is `link` to the oldest waiter, if any:
    /// `link` becomes the head of the handed list; returned are the waiter's waker (to wake
    /// after the lock) and the previous head, which the caller writes into the block as its
    /// link. `None` when nobody waits (the block goes on the free list).
    fn hand_off(&mut self, link: u32) -> Option<(Self::Wake, u32)>;
    /// The head of the handed list (0: empty), for validation.
    fn handed(&self) -> u32;
}

/// No queue (`waiters: 0`): nothing waits, nothing is stored.
#[derive(Debug)]
pub struct NoWaiters;

impl WaitQueue for NoWaiters {
    const ENABLED: bool = false;
    const EMPTY: Self = NoWaiters;
    type Wake = ();
    #[inline(always)]
    fn hand_off(&mut self, _: u32) -> Option<((), u32)> {
        None
    }
    #[inline(always)]
    fn handed(&self) -> u32 {
        0
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
    /// Buffer a free handed directly to a waiter.
    pub handed_off: u64,
    /// Waits given up (the future dropped, e.g. by a timeout) before a block came.
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
    /// Served: a block waits on the handed list.
    Served,
}

/// What giving up a place found ([`Waiters::cancel`]).
#[derive(Debug)]
pub enum GiveUp {
    /// The waiter still waited: it left the queue; its waker, to drop after the lock.
    Left(Option<Waker>),
    /// The waiter was served: a block for it waits on the handed list.
    Served,
}

/// Up to `K` waiting allocations (`K <= 32`), FIFO.
#[derive(Debug)]
pub struct Waiters<const K: usize> {
    /// The number of the waiter in each slot; 0: the slot is free.
    numbers: [u64; K],
    /// The waker of the waiter in each slot (`None` in a free slot).
    wakers: [Option<Waker>; K],
    /// The waiting slots, oldest first, from `head` (a ring of `len` entries).
    order: [u8; K],
    head: u8,
    len: u8,
    /// The last number given out.
    last: u64,
    /// The handed list's head: a link (block offset + 4), 0 when empty.
    handed: u32,
    stats: WaitStats,
}

impl<const K: usize> Waiters<K> {
    const CHECKED: () = assert!(K >= 1 && K <= 32, "a pool has 1 to 32 waiter slots");

    /// Whether `K` futures already wait.
    pub fn is_full(&self) -> bool {
        self.len as usize >= K
    }

    /// A place for a new waiter, who will be woken by `waker`; `Err(waker)` when `K` already
    /// wait (the caller drops it after the lock).
    pub fn enqueue(&mut self, waker: Waker) -> Result<Ticket, Waker> {
        let () = Self::CHECKED;
        if self.is_full() {
            return Err(waker);
        }
        // Fewer than `K` wait, so a slot below `K` is free: the first one whose number is 0.
        let Some(slot) = self.numbers.iter().position(|&n| n == 0) else { return Err(waker) };
        let slot = slot % K;
        self.last += 1;
        self.numbers[slot] = self.last;
        // A free slot holds no waker (every path that frees a slot moves it out), so this
        // assignment drops nothing.
        self.wakers[slot] = Some(waker);
        self.order[(self.head as usize + self.len as usize) % K] = slot as u8;
        self.len += 1;
        self.stats.waited += 1;
        self.stats.longest_queue = self.stats.longest_queue.max(self.len as usize);
        Ok(Ticket { slot: slot as u8, number: self.last })
    }

    /// Whether `ticket` still waits.
    fn waits(&self, ticket: Ticket) -> bool {
        self.numbers.get(ticket.slot as usize) == Some(&ticket.number)
    }

    /// Where the waiter of `ticket` stands, polled with `waker`.
    pub fn look(&self, ticket: Ticket, waker: &Waker) -> Look {
        if !self.waits(ticket) {
            return Look::Served;
        }
        // `will_wake` compares the two wakers' data and vtable pointers: no user code.
        match self.wakers.get(ticket.slot as usize) {
            Some(Some(kept)) if kept.will_wake(waker) => Look::Waiting,
            _ => Look::StaleWaker,
        }
    }

    /// Gives the waiter of `ticket` the waker `waker`: `Ok` with the one it replaces, or
    /// `Err(waker)` when the waiter was served meanwhile. Either is dropped after the lock.
    pub fn replace_waker(&mut self, ticket: Ticket, waker: Waker) -> Result<Option<Waker>, Waker> {
        match self.wakers.get_mut(ticket.slot as usize) {
            Some(kept) if self.numbers.get(ticket.slot as usize) == Some(&ticket.number) => {
                Ok(kept.replace(waker))
            }
            _ => Err(waker),
        }
    }

    /// The waiter of `ticket` gives up: [`GiveUp::Left`] with its waker (to drop after the
    /// lock) when it was still waiting, its slot freed and the younger waiters moved up one
    /// place; [`GiveUp::Served`] when it was served (the caller passes a handed block on).
    pub fn cancel(&mut self, ticket: Ticket) -> GiveUp {
        if !self.waits(ticket) {
            return GiveUp::Served;
        }
        let slot = ticket.slot;
        let slot_index = slot as usize % K;
        self.numbers[slot_index] = 0;
        let waker = self.wakers[slot_index].take();
        self.stats.cancelled += 1;
        let len = self.len as usize;
        let at = |i: usize| (self.head as usize + i) % K;
        if let Some(position) = (0..len).find(|&i| self.order[at(i)] == slot) {
            for i in position..len - 1 {
                self.order[at(i)] = self.order[at(i + 1)];
            }
            self.len -= 1;
        }
        GiveUp::Left(waker)
    }

    /// Sets the handed list's head (after a served waiter took the block at its head).
    pub fn set_handed(&mut self, link: u32) {
        self.handed = link;
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
        numbers: [0; K],
        wakers: [const { None }; K],
        order: [0; K],
        head: 0,
        len: 0,
        last: 0,
        handed: 0,
        stats: WaitStats { waited: 0, handed_off: 0, cancelled: 0, longest_queue: 0 },
    };
    type Wake = Option<Waker>;

    #[inline]
    fn hand_off(&mut self, link: u32) -> Option<(Option<Waker>, u32)> {
        if self.len == 0 {
            return None;
        }
        let slot = self.order[self.head as usize % K] as usize % K;
        self.head = ((self.head as usize + 1) % K) as u8;
        self.len -= 1;
        self.numbers[slot] = 0;
        self.stats.handed_off += 1;
        let next = core::mem::replace(&mut self.handed, link);
        Some((self.wakers[slot].take(), next))
    }

    #[inline]
    fn handed(&self) -> u32 {
        self.handed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_count_waiters_only_and_tickets_tell_a_reused_slot() {
        let mut q = Waiters::<1>::EMPTY;
        let waker = Waker::noop();
        let first = q.enqueue(waker.clone()).unwrap();
        assert!(q.enqueue(waker.clone()).is_err(), "one waits: the queue is full");
        let (woken, next) = q.hand_off(8).unwrap();
        assert!(woken.is_some());
        assert_eq!((next, q.handed()), (0, 8));
        let second = q.enqueue(waker.clone()).expect("the served waiter left its slot");
        assert_eq!(second.slot, first.slot);
        assert_eq!(q.look(first, waker), Look::Served, "its slot holds another number");
        assert_ne!(q.look(second, waker), Look::Served, "the new waiter still waits");
        assert!(matches!(q.cancel(first), GiveUp::Served), "a served waiter has no place");
        assert!(matches!(q.cancel(second), GiveUp::Left(Some(_))), "its waker comes out");
        assert!(q.hand_off(12).is_none(), "nobody waits");
        assert_eq!(
            q.stats(),
            WaitStats { waited: 2, handed_off: 1, cancelled: 1, longest_queue: 1 }
        );
    }
}
