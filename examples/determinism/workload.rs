//! The request sequence every allocator runs: a heap filled from empty to 95 % of its blocks
//! and drained back to empty, with random frees during the fill and random allocations during
//! the drain, so that the general-purpose allocators see their free space fragment.

// Seeded: every allocator sees the same sequence.
use crate::peers::xorshift::XorShift64Star as Rng;

/// The size range requested for each pool of the `[16, 64, 256]` heaps (align 8 always): a
/// size is drawn in its pool's range, so the pool a request lands in is known in advance.
pub const CLASSES: [(usize, usize); 3] = [(8, 16), (17, 64), (65, 256)];

/// Percent of each pool the fill reaches.
pub const FILL_PERCENT: usize = 95;

/// One call of the sequence.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// Allocate into, or free, this slot.
    pub op: Op,
    /// The slot (a live allocation's index, reused after its free).
    pub slot: usize,
    /// The requested size (an allocation's, or the freed allocation's).
    pub size: usize,
    /// The detalloc pool the size falls in.
    pub class: usize,
    /// Blocks live before the call.
    pub live: usize,
    /// What the call does in a detalloc pool: hand out a freed block (`reuse`), one never used
    /// before (`bump`), or take one back (`free`).
    pub path: Path,
}

/// Allocate or free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// An allocation.
    Alloc,
    /// A free.
    Free,
}

impl Op {
    /// The name in records and the CSV.
    pub fn name(self) -> &'static str {
        match self {
            Op::Alloc => "alloc",
            Op::Free => "free",
        }
    }
}

/// The path a call takes in a detalloc pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// An allocation served from the pool's free list.
    Reuse,
    /// An allocation served from the never-used part of the pool.
    Bump,
    /// A free.
    Free,
}

impl Path {
    /// The name in records and the CSV.
    pub fn name(self) -> &'static str {
        match self {
            Path::Reuse => "reuse",
            Path::Bump => "bump",
            Path::Free => "free",
        }
    }
}

/// The fill-and-drain sequence for pools of `blocks` blocks: while filling, 3 calls in 4
/// allocate (a pool drawn with weight its room left below 95 %) and 1 in 4 frees a random live
/// allocation; once 95 % of every pool is live, the other way round until nothing is live.
pub fn fill_and_drain(blocks: [usize; 3], seed: u64) -> Vec<Step> {
    let target = blocks.map(|b| b * FILL_PERCENT / 100);
    let most: usize = target.iter().sum();
    let mut rng = Rng(seed | 1);
    let mut free_slots: Vec<usize> = (0..most).rev().collect();
    // Live allocations: (slot, size, class).
    let mut live: Vec<(usize, usize, usize)> = Vec::with_capacity(most);
    let (mut in_pool, mut used) = ([0usize; 3], [0usize; 3]);
    let mut steps = Vec::new();
    let mut filling = true;
    loop {
        if filling && live.len() == most {
            filling = false;
        }
        if !filling && live.is_empty() {
            return steps;
        }
        let room: [usize; 3] = std::array::from_fn(|k| target[k] - in_pool[k]);
        let room_left: usize = room.iter().sum();
        let grow_odds = if filling { 3 } else { 1 };
        let alloc = live.is_empty() || (room_left > 0 && rng.below(4) < grow_odds);
        let before = live.len();
        if alloc {
            let (mut pick, mut class) = (rng.below(room_left), 0);
            while pick >= room[class] {
                pick -= room[class];
                class += 1;
            }
            let (lo, hi) = CLASSES[class];
            let size = lo + rng.below(hi - lo + 1);
            let slot = free_slots.pop().expect("a slot for every live allocation");
            let path = if in_pool[class] < used[class] { Path::Reuse } else { Path::Bump };
            in_pool[class] += 1;
            used[class] = used[class].max(in_pool[class]);
            live.push((slot, size, class));
            steps.push(Step { op: Op::Alloc, slot, size, class, live: before, path });
        } else {
            let (slot, size, class) = live.swap_remove(rng.below(live.len()));
            in_pool[class] -= 1;
            free_slots.push(slot);
            steps.push(Step { op: Op::Free, slot, size, class, live: before, path: Path::Free });
        }
    }
}

/// The most allocations live at once in `fill_and_drain(blocks, _)`.
pub fn most_live(blocks: [usize; 3]) -> usize {
    blocks.iter().map(|b| b * FILL_PERCENT / 100).sum()
}
