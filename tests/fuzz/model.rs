//! The model of one heap used by one thread: which blocks are live and who owns them, each
//! pool's counters, each pool's queue of waiting futures. It is driven by the events the
//! heap's hooks and the harness's wakers log, checks each against what the contract allows at
//! that moment, and compares its counters with the heap's.
//!
//! The log is in the order things happened on the thread, except that a hook runs after the
//! pool operation it reports and after the callbacks the heap makes once the pool's lock is
//! released. Two corrections follow: a wake announces the hand-off its free is about to report
//! (`pending`), and a waiting future's own decision is taken before the waker drops that follow
//! it (`waits.rs`).
//!
//! The model predicts, never trusts: a block's pool comes from `on_alloc`, and must be the pool
//! the documented rule picks (the smallest pool the layout fits, or with `spill` the first such
//! pool with a free block); a failure must happen exactly when every such pool is full; a
//! block must lie where its pool's other blocks lie, aligned, overlapping no live block; a free
//! into a pool with waiters hands the block to the oldest one, which must be woken.

use std::alloc::Layout;
use std::collections::{BTreeMap, VecDeque};
use std::ptr::NonNull;

use detalloc::FreeError;

use crate::ctx::{Call, Event};
use crate::heaps::Shape;
use crate::ops::Id;

/// A violated invariant: `kind` names the class (the shrinker keeps it), `msg` says what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail {
    /// The class of failure, e.g. `"region-bounds"`.
    pub kind: &'static str,
    /// What happened.
    pub msg: String,
}

/// A [`Fail`] of `kind`.
pub fn fail(kind: &'static str, msg: String) -> Fail {
    Fail { kind, msg }
}

/// Who owns a live block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The harness's allocation `id`.
    Region(Id),
    /// A hook's or waker's block (the bag, or a block being allocated and freed at once).
    Anon,
    /// Handed to waiting future `id`, not taken yet.
    Handed(Id),
}

/// A live block.
#[derive(Debug, Clone, Copy)]
pub struct Block {
    /// Its pool.
    pub pool: usize,
    /// Its owner.
    pub owner: Owner,
    /// Its address, as the heap handed it out.
    pub ptr: NonNull<u8>,
}

/// A waiting future the heap knows about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fut {
    /// In `pool`'s queue.
    Waiting { pool: usize },
    /// A free handed it a block of `pool` (`None` until that free's own event is seen).
    Handed { pool: usize, block: Option<NonNull<u8>> },
    /// Handed a block, then evicted from its slot by a new waiter: its block went on top of
    /// `pool`'s overflow stack, and it takes the top of that stack when it polls.
    Evicted { pool: usize },
}

/// The counters of one pool, as the heap should report them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Blocks allocated now (handed-over blocks included).
    pub in_use: usize,
    /// Most blocks allocated at once since the last reset.
    pub peak: usize,
    /// Allocations (hand-overs included).
    pub allocs: u64,
    /// Frees.
    pub frees: u64,
    /// Times the pool was asked for a block while exhausted.
    pub failures: u64,
}

/// The model of one heap.
pub struct Model {
    /// The declaration.
    pub shape: Shape,
    /// Per pool.
    pub counts: Vec<Counts>,
    /// Per pool: the futures waiting on it, oldest first.
    pub queues: Vec<VecDeque<Id>>,
    /// Per pool: the future in each of its `K` slots (a waiting one, or a served one that has
    /// not collected its block), as the heap assigns them: a new waiter takes the lowest free
    /// slot, else the lowest slot of a served future, which is then evicted.
    pub slots: Vec<Vec<Option<Id>>>,
    /// Per pool: the blocks of evicted futures, a stack (the heap's overflow list).
    pub overflow: Vec<Vec<NonNull<u8>>>,
    /// The heap's failed allocations.
    pub failures: u64,
    /// The heap's refused frees.
    pub invalid_frees: u64,
    /// Live blocks by address.
    pub blocks: BTreeMap<usize, Block>,
    /// Futures the heap has queued or handed a block to.
    pub futs: BTreeMap<Id, Fut>,
    /// Per pool: the lowest and highest block address seen.
    spans: Vec<Option<(usize, usize)>>,
    /// Waiters woken for a hand-off whose free has not reported yet: (pool, depth, future).
    pending: Vec<(usize, u8, Id)>,
    /// Waiters handed a block in this step that were not woken yet.
    must_wake: Vec<Id>,
    /// The heap's address, to print addresses as offsets into it.
    base: usize,
}

impl Model {
    /// The model of an empty heap of `shape` at address `base`.
    pub fn new(shape: Shape, base: usize) -> Self {
        let n = shape.pools.len();
        Self {
            shape,
            counts: vec![Counts::default(); n],
            queues: vec![VecDeque::new(); n],
            slots: vec![vec![None; shape.waiters]; n],
            overflow: vec![Vec::new(); n],
            failures: 0,
            invalid_frees: 0,
            blocks: BTreeMap::new(),
            futs: BTreeMap::new(),
            spans: vec![None; n],
            pending: Vec::new(),
            must_wake: Vec::new(),
            base,
        }
    }

    /// Gives future `id`, queued on `pool`, its slot as the heap does, evicting the served
    /// future in the lowest slot when none is free.
    pub fn take_slot(&mut self, pool: usize, id: Id) {
        let slots = &mut self.slots[pool];
        let at = slots.iter().position(Option::is_none).or_else(|| {
            let futs = &self.futs;
            slots.iter().position(|f| {
                f.is_some_and(|f| matches!(futs.get(&f), Some(Fut::Handed { block: Some(_), .. })))
            })
        });
        let Some(at) = at else { return };
        if let Some(old) = slots[at].replace(id)
            && let Some(Fut::Handed { block: Some(block), .. }) = self.futs.get(&old).copied()
        {
            self.overflow[pool].push(block);
            self.futs.insert(old, Fut::Evicted { pool });
        }
    }

    /// Future `id` leaves its slot (it collected its block, or gave up).
    pub fn leave_slot(&mut self, id: Id) {
        for pool in &mut self.slots {
            for slot in pool.iter_mut().filter(|s| **s == Some(id)) {
                *slot = None;
            }
        }
    }

    /// An address as an offset into the heap value (stable between runs).
    pub fn at(&self, addr: usize) -> String {
        match addr.checked_sub(self.base) {
            Some(off) => format!("heap+{off:#x}"),
            None => format!("heap-{:#x}", self.base - addr),
        }
    }

    /// Block size of `pool`.
    pub fn size(&self, pool: usize) -> usize {
        self.shape.pools[pool].block_size
    }

    /// The pool `layout` selects: the smallest whose blocks fit its size and alignment.
    pub fn select(&self, layout: Layout) -> Option<usize> {
        (0..self.shape.pools.len()).find(|&p| self.fits(p, layout))
    }

    /// Whether `layout` fits a block of `pool` (size and alignment).
    pub fn fits(&self, pool: usize, layout: Layout) -> bool {
        let spec = self.shape.pools[pool];
        spec.block_size >= layout.size().max(1) && spec.align >= layout.align()
    }

    /// The pools an allocation for `layout` tries, in order: the selected one, and with
    /// `spill` every larger one it fits.
    pub fn candidates(&self, layout: Layout) -> Vec<usize> {
        let Some(first) = self.select(layout) else { return Vec::new() };
        let last = if self.shape.spill { self.shape.pools.len() } else { first + 1 };
        (first..last).filter(|&p| self.fits(p, layout)).collect()
    }

    /// Whether every block of `pool` is allocated.
    pub fn full(&self, pool: usize) -> bool {
        self.counts[pool].in_use >= self.shape.pools[pool].blocks
    }

    /// An allocation for `layout`: the pool that must serve it (`None`: it must fail), with the
    /// exhaustion of every pool tried on the way counted.
    pub fn serve(&mut self, layout: Layout) -> Option<usize> {
        for pool in self.candidates(layout) {
            if !self.full(pool) {
                return Some(pool);
            }
            self.counts[pool].failures += 1;
        }
        None
    }

    /// Counts the failures a refused (or queued) allocation for `layout` adds to the pools.
    pub fn count_exhaustion(&mut self, layout: Layout) {
        for pool in self.candidates(layout) {
            self.counts[pool].failures += 1;
        }
    }

    /// Pool `pool` handed out the block at `ptr` to `owner`: it must be aligned, lie among its
    /// pool's other blocks, overlap no live block, and the pool must have had a free block.
    pub fn take(&mut self, pool: usize, ptr: NonNull<u8>, owner: Owner) -> Result<(), Fail> {
        let spec = self.shape.pools[pool];
        let addr = ptr.as_ptr().addr();
        if !addr.is_multiple_of(spec.align) {
            return Err(fail(
                "block-placement",
                format!(
                    "pool {pool} handed out {}, not aligned to its {} bytes",
                    self.at(addr),
                    spec.align
                ),
            ));
        }
        let (lo, hi) =
            self.spans[pool].map_or((addr, addr), |(lo, hi)| (lo.min(addr), hi.max(addr)));
        if !(addr - lo).is_multiple_of(spec.block_size)
            || hi - lo > spec.block_size * (spec.blocks - 1)
        {
            return Err(fail(
                "block-placement",
                format!(
                    "pool {pool} ({} x {}) handed out {}, which is no block of the buffer its other \
                     blocks ({}..={}) lie in",
                    spec.block_size,
                    spec.blocks,
                    self.at(addr),
                    self.at(lo),
                    self.at(hi)
                ),
            ));
        }
        self.spans[pool] = Some((lo, hi));
        for (other, span) in self.spans.iter().enumerate() {
            if let Some((olo, ohi)) = *span
                && other != pool
                && olo < hi + spec.block_size
                && lo < ohi + self.size(other)
            {
                return Err(fail("block-placement", format!("pools {pool} and {other} overlap")));
            }
        }
        let before = self.blocks.range(..=addr).next_back().map(|(&a, b)| (a, *b));
        let after = self.blocks.range(addr + 1..).next().map(|(&a, b)| (a, *b));
        let clash = before
            .filter(|&(a, b)| a + self.size(b.pool) > addr)
            .or(after.filter(|&(a, _)| addr + spec.block_size > a));
        if let Some((a, b)) = clash {
            return Err(fail(
                "overlap",
                format!(
                    "pool {pool} handed out the block at {} ({} B), which overlaps the live block at \
                     {} (pool {}, owned by {:?})",
                    self.at(addr),
                    spec.block_size,
                    self.at(a),
                    b.pool,
                    b.owner
                ),
            ));
        }
        if self.full(pool) {
            return Err(fail(
                "pool-choice",
                format!("pool {pool} handed out more than its {} blocks", spec.blocks),
            ));
        }
        self.blocks.insert(addr, Block { pool, owner, ptr });
        let c = &mut self.counts[pool];
        c.in_use += 1;
        c.allocs += 1;
        c.peak = c.peak.max(c.in_use);
        Ok(())
    }

    /// The live block at `addr` came back to `pool`: to the waiter a wake announced, else to
    /// the oldest waiter (which must then be woken in this step), else to the free list.
    pub fn release(&mut self, pool: usize, addr: usize, depth: u8) -> Result<(), Fail> {
        let Some(block) = self.blocks.get(&addr).copied() else {
            return Err(fail(
                "hooks",
                format!("on_free reported {}, which is no live block", self.at(addr)),
            ));
        };
        if block.pool != pool {
            return Err(fail(
                "hooks",
                format!(
                    "on_free reported pool {pool} for {}, a block of pool {}",
                    self.at(addr),
                    block.pool
                ),
            ));
        }
        self.counts[pool].frees += 1;
        let announced = self.pending.iter().rposition(|&(p, d, _)| p == pool && d == depth);
        let waiter = match announced {
            Some(i) => Some(self.pending.remove(i).2),
            None => {
                let next = self.queues[pool].pop_front();
                self.must_wake.extend(next);
                next
            }
        };
        match waiter {
            Some(fut) => {
                self.futs.insert(fut, Fut::Handed { pool, block: Some(block.ptr) });
                self.blocks.insert(addr, Block { owner: Owner::Handed(fut), ..block });
                let c = &mut self.counts[pool];
                c.allocs += 1;
                c.peak = c.peak.max(c.in_use);
            }
            None => {
                self.blocks.remove(&addr);
                self.counts[pool].in_use -= 1;
            }
        }
        Ok(())
    }

    /// A waker of `fut` was woken (by a free at `depth`).
    fn woken(&mut self, fut: Id, depth: u8) -> Result<(), Fail> {
        match self.futs.get(&fut).copied() {
            Some(Fut::Waiting { pool }) => {
                let oldest = self.queues[pool].front().copied();
                if oldest != Some(fut) {
                    return Err(fail(
                        "fifo",
                        format!(
                            "future {fut} was woken for a block of pool {pool}, but future {oldest:?} waited longer"
                        ),
                    ));
                }
                self.queues[pool].pop_front();
                self.futs.insert(fut, Fut::Handed { pool, block: None });
                self.pending.push((pool, depth, fut));
            }
            Some(Fut::Handed { .. } | Fut::Evicted { .. }) => self.must_wake.retain(|&f| f != fut),
            None => {} // a spurious wake of a future that is done: allowed
        }
        Ok(())
    }

    /// An event that is not the harness call's own: a callback's heap call, a waker call, or
    /// an anomaly a callback saw.
    pub fn nested(&mut self, event: &Event) -> Result<(), Fail> {
        match *event {
            Event::Waker { depth, call: Call::Wake | Call::WakeByRef, fut } => {
                self.woken(fut, depth)
            }
            Event::Waker { .. } => Ok(()),
            Event::Anomaly { kind, ref msg } => Err(fail(kind, msg.clone())),
            Event::Alloc { depth: 1.., pool, ptr, layout } => {
                let want = self.serve(layout);
                if want != Some(pool) {
                    return Err(fail(
                        "pool-choice",
                        format!(
                            "a callback's allocate({}/{}) was served by pool {pool}; the rule picks {want:?}",
                            layout.size(),
                            layout.align()
                        ),
                    ));
                }
                self.take(pool, ptr, Owner::Anon)
            }
            Event::Fail { depth: 1.., layout } => {
                if let Some(pool) = self.serve(layout) {
                    return Err(fail(
                        "pool-choice",
                        format!(
                            "a callback's allocate({}/{}) failed though pool {pool} has a free block",
                            layout.size(),
                            layout.align()
                        ),
                    ));
                }
                self.failures += 1;
                Ok(())
            }
            Event::Free { depth: depth @ 1.., pool, ptr, .. } => {
                let addr = ptr.as_ptr().addr();
                match self.blocks.get(&addr) {
                    Some(b) if b.owner == Owner::Anon => self.release(pool, addr, depth),
                    other => Err(fail(
                        "hooks",
                        format!(
                            "a callback freed {}, which it does not own ({other:?})",
                            self.at(addr)
                        ),
                    )),
                }
            }
            Event::InvalidFree { depth: 1.., ptr, layout, error } => Err(fail(
                "refused-free",
                format!(
                    "a callback's free of its live block {} ({}/{}) was refused: {error}",
                    self.at(ptr.as_ptr().addr()),
                    layout.size(),
                    layout.align()
                ),
            )),
            ref own => Err(fail("hooks", format!("unexpected event for this operation: {own:?}"))),
        }
    }

    /// The end of a step: every announced hand-off happened, every waiter handed a block was
    /// woken.
    pub fn end_step(&mut self) -> Result<(), Fail> {
        if let Some(&(pool, _, fut)) = self.pending.first() {
            return Err(fail(
                "wake",
                format!("future {fut} was woken, but no free handed it a block of pool {pool}"),
            ));
        }
        if let Some(&fut) = self.must_wake.first() {
            return Err(fail("wake", format!("future {fut} was handed a block but never woken")));
        }
        Ok(())
    }

    /// Checks a region the heap just returned: inside the block holding it, as long as the
    /// request, aligned as requested. Nothing is written before this passes.
    pub fn check_region(
        &self,
        what: &str,
        ptr: NonNull<u8>,
        len: usize,
        layout: Layout,
        pool: usize,
        block: usize,
    ) -> Result<(), Fail> {
        let (start, end, size) = (ptr.as_ptr().addr(), ptr.as_ptr().addr() + len, self.size(pool));
        if start < block || end > block + size {
            return Err(fail(
                "region-bounds",
                format!(
                    "{what} returned {len} bytes at {}, but the block holding it ({}, pool {pool}, {size} B) \
                     ends at {}: the region runs {} bytes past it",
                    self.at(start),
                    self.at(block),
                    self.at(block + size),
                    end.saturating_sub(block + size)
                ),
            ));
        }
        if len < layout.size() {
            return Err(fail(
                "region-bounds",
                format!("{what} returned {len} bytes for {} requested", layout.size()),
            ));
        }
        if !start.is_multiple_of(layout.align()) {
            return Err(fail(
                "region-align",
                format!(
                    "{what} returned {}, not aligned to the requested {} bytes",
                    self.at(start),
                    layout.align()
                ),
            ));
        }
        Ok(())
    }

    /// What a free of a block of `pool` with `layout` must be refused with: `None` when it is
    /// right (the layout selects the pool, or with `spill` fits it); a live block is then freed,
    /// a freed one is a double free.
    pub fn verdict(&self, pool: usize, layout: Layout, live: bool) -> Option<FreeError> {
        let right =
            self.select(layout) == Some(pool) || (self.shape.spill && self.fits(pool, layout));
        match (right, live) {
            (true, true) => None,
            (true, false) => Some(FreeError::DoubleFree),
            (false, _) => Some(FreeError::WrongPool),
        }
    }
}

/// A free refused with `error` when the model expects `expect`.
pub fn expect_refusal(
    what: &str,
    error: detalloc::FreeError,
    expect: detalloc::FreeError,
) -> Result<(), Fail> {
    if error == expect {
        return Ok(());
    }
    Err(fail("bad-free", format!("{what} was refused as {error:?}, expected {expect:?}")))
}
