//! Sizing pools from a real run: record what a program allocates, then compute the pool
//! list that serves that run in the fewest bytes. Needs the `std` feature.
//!
//! 1. Install a [`Recorder`] as the global allocator (it forwards every call to the allocator
//!    it wraps, here `System`), or wrap just the allocator one subsystem uses.
//! 2. Run a representative workload, worst case included.
//! 3. Take a [`snapshot`](Recorder::snapshot) and call [`suggest`] with a pool count and an
//!    optional budget. The [`Suggestion`] prints a ready-to-paste `pools: [...]` line and the
//!    table behind it.
//!
//! ```
//! use std::alloc::{GlobalAlloc, Layout, System};
//! use detalloc::suggest::{Recorder, suggest};
//!
//! // In a real program: `#[global_allocator] static RECORDER: Recorder<System> = ...;`
//! static RECORDER: Recorder<System> = Recorder::new(System);
//!
//! let small = Layout::from_size_align(24, 8).unwrap();
//! let large = Layout::from_size_align(200, 8).unwrap();
//! // SAFETY: the layouts have non-zero sizes; every block is freed once, with its layout.
//! unsafe {
//!     let blocks: Vec<*mut u8> = (0..10).map(|_| RECORDER.alloc(small)).collect();
//!     let big = RECORDER.alloc(large);
//!     for block in blocks { RECORDER.dealloc(block, small) }
//!     RECORDER.dealloc(big, large);
//! }
//!
//! let suggestion = suggest(&RECORDER.snapshot(), 2, None).unwrap();
//! assert_eq!(suggestion.pools_line(), "pools: [24 x 10, 200 x 1],");
//! assert_eq!(suggestion.total_bytes(), 24 * 10 + 200);
//! println!("{suggestion}");
//! ```
//!
//! # What is recorded
//! Per request size (`max(size, 1)`, up to the recorder's cap, 64 KiB by default): the blocks
//! live now, the peak of live blocks, and the largest alignment requested. `realloc` counts as
//! an allocation of the new size and a free of the old one. Requests above the cap, and
//! requests aligned to more than 4096 (no block is), are counted apart, as *oversize* and
//! *overaligned*: no pool can serve them, so the suggestion lists them for you to place
//! elsewhere (a static buffer, a second allocator).
//!
//! The per-size peaks are recorded independently. A pool's block count is the sum of the
//! peaks of the sizes it serves: an upper bound of what the run had live at once in that
//! pool, never less. Every recorded peak is served.
//!
//! # What `suggest` optimises
//! The pools split the distinct recorded sizes, in ascending order, into at most `pools`
//! contiguous classes. A class's block size is the smallest `S >= 4` that holds its largest
//! size and is a multiple of its largest requested alignment (a block is aligned to the largest
//! power of two dividing `S`, capped at 4096). Its block count is the sum of its sizes' peaks.
//! One more rule: a pool's block size stays below the smallest size of the next class. That
//! rule is what makes the heap's dispatch (the smallest pool with `S >= size` and enough
//! alignment) send every recorded request to its own class's pool, whatever its alignment up
//! to the recorded one. Without it a block rounded up for alignment would take requests the
//! next class counted, and the smaller pool would run out. Among these configurations
//! [`suggest`] returns the one with the fewest bytes of blocks, exactly (dynamic programming,
//! `O(pools x m^2)` for `m` distinct sizes: milliseconds for hundreds of sizes, about half a
//! second for 5 000 in a release build).
//!
//! # Reading the result
//! The counts are safe for the recorded run, not tight: sizes that share a pool rarely peak at
//! the same moment, so the sum of their peaks can be well above what the pool ever holds. To
//! trim, declare the suggested heap with `stats: true`, run the same workload on it, and read
//! each pool's `peak` in [`Heap::report`](crate::Heap::report). A recording covers only what
//! the run did: a path the run never took is not in it.

mod recorder;
mod report;
mod solve;

use std::vec::Vec;

pub use recorder::Recorder;
pub use report::{SuggestedPool, Suggestion};
pub use solve::{SuggestError, suggest};

/// The default cap of a [`Recorder`]: requests above 64 KiB are counted as oversize.
pub const DEFAULT_MAX_SIZE: usize = 64 * 1024;

/// The largest block alignment the pools' rule gives: requests aligned to more are
/// *overaligned* and no pool can serve them.
pub const MAX_BLOCK_ALIGN: usize = 4096;

/// The peak of one request size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SizeRecord {
    /// Requested bytes. A zero-size request is recorded as 1 (a pool serves `max(size, 1)`).
    pub size: usize,
    /// The largest alignment requested at this size (a power of two; 0 is read as 1).
    pub max_align: usize,
    /// Most blocks of this size live at once. [`suggest`] uses `max(peak, live)`.
    pub peak: usize,
    /// Blocks of this size live when the snapshot was taken.
    pub live: usize,
}

impl SizeRecord {
    /// A record of `peak` blocks of `size` bytes aligned to `max_align`, none live now.
    pub const fn new(size: usize, max_align: usize, peak: usize) -> Self {
        Self { size, max_align, peak, live: 0 }
    }
}

/// Requests no pool can serve (oversize, or overaligned), counted together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutsideRecord {
    /// Allocations (including the new block of a `realloc`) since the last reset.
    pub requests: usize,
    /// Blocks live now.
    pub live: usize,
    /// Most blocks live at once.
    pub peak: usize,
    /// Bytes live now (requested sizes).
    pub live_bytes: usize,
    /// Most bytes live at once.
    pub peak_bytes: usize,
    /// The largest size requested since the last reset.
    pub largest_size: usize,
    /// The largest alignment requested since the last reset.
    pub largest_align: usize,
}

impl OutsideRecord {
    /// Nothing requested, nothing live.
    pub const EMPTY: Self = Self {
        requests: 0,
        live: 0,
        peak: 0,
        live_bytes: 0,
        peak_bytes: 0,
        largest_size: 0,
        largest_align: 0,
    };

    /// Whether nothing was requested and nothing is live.
    pub const fn is_empty(&self) -> bool {
        self.requests == 0 && self.live == 0 && self.peak == 0
    }
}

/// What a [`Recorder`] saw, from [`Recorder::snapshot`], or built by hand with
/// [`Recording::add`]. The input of [`suggest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// One record per size with a peak, ascending by size ([`suggest`] accepts any order and
    /// merges repeated sizes).
    pub sizes: Vec<SizeRecord>,
    /// Requests above [`max_size`](Recording::max_size).
    pub oversize: OutsideRecord,
    /// Requests of at most `max_size` bytes aligned to more than [`MAX_BLOCK_ALIGN`].
    pub overaligned: OutsideRecord,
    /// The recorder's cap: larger requests are oversize.
    pub max_size: usize,
    /// Successful allocations recorded since the last reset (`realloc` counts one).
    pub allocs: usize,
    /// Frees recorded since the last reset (`realloc` counts one).
    pub frees: usize,
}

impl Default for Recording {
    fn default() -> Self {
        Self::new()
    }
}

impl Recording {
    /// An empty recording with the default cap.
    pub const fn new() -> Self {
        Self {
            sizes: Vec::new(),
            oversize: OutsideRecord::EMPTY,
            overaligned: OutsideRecord::EMPTY,
            max_size: DEFAULT_MAX_SIZE,
            allocs: 0,
            frees: 0,
        }
    }

    /// Adds `peak` blocks of `size` bytes aligned to `align` (checked by [`suggest`], not here).
    /// A size already present gets the sum of the peaks and the larger alignment.
    pub fn add(&mut self, size: usize, align: usize, peak: usize) -> &mut Self {
        match self.sizes.iter_mut().find(|r| r.size == size) {
            Some(r) => {
                r.peak = r.peak.saturating_add(peak);
                r.max_align = r.max_align.max(align);
            }
            None => self.sizes.push(SizeRecord::new(size, align, peak)),
        }
        self
    }

    /// The sum of the per-size peaks (saturating): the blocks a one-pool-per-size heap needs.
    pub fn peak_blocks(&self) -> usize {
        self.sizes.iter().fold(0usize, |sum, r| sum.saturating_add(r.peak.max(r.live)))
    }

    /// `sum(size x peak)` (saturating): the bytes requested at the per-size peaks, a lower
    /// bound for any pool configuration's total.
    pub fn peak_bytes(&self) -> usize {
        self.sizes.iter().fold(0usize, |sum, r| {
            sum.saturating_add(r.size.max(1).saturating_mul(r.peak.max(r.live)))
        })
    }

    /// [`suggest`] for this recording.
    ///
    /// # Errors
    /// See [`SuggestError`].
    pub fn suggest(&self, pools: usize, budget: Option<usize>) -> Result<Suggestion, SuggestError> {
        suggest(self, pools, budget)
    }
}
