//! The workload each core runs on a shared heap, and the records that prove no block was held
//! twice.
//!
//! A core allocates blocks of pseudo-random size and alignment, stamps every word of each
//! block with its owner core and a serial number, holds up to [`SLOTS`] blocks for
//! pseudo-random times, re-checks a held block's stamp every round and checks it again before
//! each free. A claim table with one entry per 16-byte granule of the heap is set on
//! allocation and cleared before the free: a block handed out while it is claimed is a
//! violation, and so is a stamp that changed (a second holder overwrites the first's).

use core::alloc::Layout;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU8, AtomicU32, Ordering};

use detalloc::{Heap, PoolSpec};

/// Rounds of the workload per core and per heap (each round allocates or frees one block).
pub const ITERATIONS: u32 = 500_000;
/// Blocks a core holds at most. A core allocates only into an empty slot, so while it
/// allocates it holds at most 7 other blocks and the other core at most 8 (one of them maybe
/// being freed): 15 of a pool's 16 blocks. No allocation can find its pool exhausted, so each
/// core's sequence of operations depends only on its seed.
const SLOTS: usize = 8;
/// Pools per heap (both heaps have the same two).
pub const POOLS: usize = 2;

/// What one core did on one heap.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Tally {
    pub allocs: [u32; POOLS],
    pub frees: [u32; POOLS],
    /// Allocations that returned `Err` (none expected).
    pub failures: u32,
    /// Frees that returned `Err` (none expected).
    pub refused_frees: u32,
    /// Blocks handed out while claimed, or freed while not claimed by this core.
    pub claim_violations: u32,
    /// Stamps found overwritten.
    pub stamp_violations: u32,
    /// Blocks outside the heap or misaligned for their layout.
    pub bad_blocks: u32,
    /// Operations during which the other core was inside an operation on the same heap.
    pub overlapped: u32,
    /// Allocations of a block that the other core had freed last.
    pub handovers: u32,
}

impl Tally {
    pub const ZERO: Tally = Tally {
        allocs: [0; POOLS],
        frees: [0; POOLS],
        failures: 0,
        refused_frees: 0,
        claim_violations: 0,
        stamp_violations: 0,
        bad_blocks: 0,
        overlapped: 0,
        handovers: 0,
    };

    pub fn violations(&self) -> u32 {
        self.failures
            + self.refused_frees
            + self.claim_violations
            + self.stamp_violations
            + self.bad_blocks
    }
}

/// Claim table entries: free and never claimed, or the core that holds / last freed it.
const HELD: u8 = 0x10;
const FREED: u8 = 0x20;

/// The instrumentation both cores share for one heap of `GRANULES * 16` bytes.
pub struct Arena<const GRANULES: usize> {
    /// One entry per 16-byte granule of the heap: every block starts on its own granule
    /// (blocks are 16 or 64 bytes, aligned to their size, inside the heap).
    claims: [AtomicU8; GRANULES],
    /// Per core: odd while the core is inside `allocate`/`deallocate` on this heap.
    busy: [AtomicU32; 2],
}

impl<const GRANULES: usize> Arena<GRANULES> {
    pub const fn new() -> Self {
        Arena {
            claims: [const { AtomicU8::new(0) }; GRANULES],
            busy: [const { AtomicU32::new(0) }; 2],
        }
    }
}

#[path = "../../shared/xorshift.rs"]
mod xorshift;

// A fixed sequence per seed.
use xorshift::XorShift32 as Rng;

/// The value of word `word` of a block stamped with `stamp`.
fn stamp_word(stamp: u32, word: usize) -> u32 {
    stamp.rotate_left(word as u32) ^ word as u32
}

/// A block a core holds.
#[derive(Clone, Copy)]
struct Held {
    ptr: NonNull<u8>,
    layout: Layout,
    pool: usize,
    granule: usize,
    stamp: u32,
}

impl Held {
    /// The block's words, as atomics. The block is this core's, so no other access to it is
    /// expected; with atomics, a block wrongly handed out to both cores at once makes their
    /// stamps disagree instead of making their accesses a data race.
    fn words(&self) -> &[AtomicU32] {
        // SAFETY: `ptr` came from `allocate(layout)` and is not freed yet (a `Held` is taken
        // out of its slot before its block is freed, and the slice borrows the `Held`), so
        // `layout.size()` bytes from it (a multiple of 4: the workload's sizes are whole
        // words) are valid for reads and writes; `Worker::allocate` made a `Held` only for an
        // address that is a multiple of 16, more than `AtomicU32`'s alignment; and every
        // access this program makes to a held block is atomic.
        unsafe {
            core::slice::from_raw_parts(
                self.ptr.as_ptr().cast::<AtomicU32>(),
                self.layout.size() / 4,
            )
        }
    }

    fn write_stamp(&self) {
        for (i, word) in self.words().iter().enumerate() {
            word.store(stamp_word(self.stamp, i), Ordering::Relaxed);
        }
    }

    fn stamp_intact(&self) -> bool {
        let expected =
            |(i, w): (usize, &AtomicU32)| w.load(Ordering::Relaxed) == stamp_word(self.stamp, i);
        self.words().iter().enumerate().all(expected)
    }
}

/// The pool that serves `layout`: the first whose block fits size and alignment.
fn pool_for(pools: &[PoolSpec], layout: Layout) -> usize {
    pools
        .iter()
        .position(|p| p.block_size >= layout.size() && p.align >= layout.align())
        .expect("every layout of the workload fits a pool")
}

/// One core's view of one heap during the workload.
struct Worker<'a, const G: usize> {
    heap: &'a dyn Heap,
    pools: &'static [PoolSpec],
    arena: &'a Arena<G>,
    /// The heap's address: its blocks lie in `base .. base + G * 16`.
    base: usize,
    me: usize,
    /// Operations so far (the busy flag's sequence).
    ops: u32,
    tally: Tally,
}

impl<const G: usize> Worker<'_, G> {
    /// Runs one allocator call with this core's busy flag up, and counts it as overlapped
    /// if the other core's flag was up, or went up or down, meanwhile. SeqCst: the flags
    /// and loads of both cores are in one total order, so an overlap counted is real (of the
    /// two calls with their flag stores and loads around them).
    fn bracket<R>(&mut self, op: impl FnOnce() -> R) -> R {
        self.ops += 1;
        let (mine, other) = (&self.arena.busy[self.me], &self.arena.busy[1 - self.me]);
        mine.store(2 * self.ops - 1, Ordering::SeqCst);
        let before = other.load(Ordering::SeqCst);
        let result = op();
        let after = other.load(Ordering::SeqCst);
        mine.store(2 * self.ops, Ordering::SeqCst);
        if before % 2 == 1 || after % 2 == 1 || before != after {
            self.tally.overlapped += 1;
        }
        result
    }

    /// Allocates, checks the block's place, claims and stamps it.
    fn allocate(&mut self, layout: Layout, stamp: u32) -> Option<Held> {
        let heap = self.heap;
        let Ok(ptr) = self.bracket(|| heap.allocate(layout)) else {
            self.tally.failures += 1;
            return None;
        };
        let pool = pool_for(self.pools, layout);
        let offset = (ptr.as_ptr() as usize).wrapping_sub(self.base);
        let aligned = (ptr.as_ptr() as usize).is_multiple_of(self.pools[pool].align.max(16));
        if offset >= G * 16 || !aligned {
            // Never touched (it may not be ours), never freed.
            self.tally.bad_blocks += 1;
            return None;
        }
        let granule = offset / 16;
        let previous = self.arena.claims[granule].swap(HELD | self.me as u8, Ordering::AcqRel);
        if previous & HELD != 0 {
            self.tally.claim_violations += 1;
        } else if previous == FREED | (1 - self.me) as u8 {
            self.tally.handovers += 1;
        }
        let held = Held { ptr, layout, pool, granule, stamp };
        held.write_stamp();
        self.tally.allocs[pool] += 1;
        Some(held)
    }

    /// Checks the block's stamp and claim, gives up the claim, frees the block.
    fn free(&mut self, held: Held) {
        if !held.stamp_intact() {
            self.tally.stamp_violations += 1;
        }
        let previous =
            self.arena.claims[held.granule].swap(FREED | self.me as u8, Ordering::AcqRel);
        if previous != HELD | self.me as u8 {
            self.tally.claim_violations += 1;
        }
        let heap = self.heap;
        // SAFETY: `held` came from `heap.allocate(held.layout)` and is freed once: the caller
        // took it out of its slot, and `Held` values are never duplicated otherwise.
        match self.bracket(|| unsafe { heap.deallocate(held.ptr, held.layout) }) {
            Ok(()) => self.tally.frees[held.pool] += 1,
            Err(_) => self.tally.refused_frees += 1,
        }
    }
}

/// Runs the workload of core `me` on heap number `heap_index` and returns what it did.
pub fn hammer<const G: usize>(
    heap: &dyn Heap,
    pools: &'static [PoolSpec],
    arena: &Arena<G>,
    heap_index: u32,
    me: u32,
) -> Tally {
    let base = core::ptr::from_ref(heap).cast::<u8>() as usize;
    let me_index = me as usize;
    let mut worker = Worker { heap, pools, arena, base, me: me_index, ops: 0, tally: Tally::ZERO };
    let seed = 0x9e37_79b9
        ^ (me + 1).wrapping_mul(0x85eb_ca6b)
        ^ (heap_index + 1).wrapping_mul(0xc2b2_ae35);
    let mut rng = Rng(seed);
    let mut slots: [Option<Held>; SLOTS] = [None; SLOTS];

    for serial in 0..ITERATIONS {
        let r = rng.next_u32();
        let slot = &mut slots[r as usize % SLOTS];
        if let Some(held) = slot.take() {
            worker.free(held);
        } else {
            // Half small (4..=16 bytes), half large (20..=64 bytes); alignment 1..=16.
            let words = if r & 0x100 == 0 { 1 + (r >> 9) % 4 } else { 5 + (r >> 9) % 12 };
            let layout = Layout::from_size_align(4 * words as usize, 1 << ((r >> 16) % 5))
                .expect("a valid layout");
            *slot = worker.allocate(layout, (me << 31) | (heap_index << 30) | serial);
        }
        // Look at another held block: its stamp must still be intact.
        if let Some(held) = &slots[(r >> 24) as usize % SLOTS]
            && !held.stamp_intact()
        {
            worker.tally.stamp_violations += 1;
        }
    }
    for held in slots.iter_mut().filter_map(Option::take) {
        worker.free(held);
    }
    worker.tally
}
