//! Sizing for [detalloc](https://docs.rs/detalloc) heaps from recorded runs: record what a
//! program allocates, then get the pools that serve it in the fewest bytes, as a declaration
//! that compiles as the program's global allocator.
//!
//! Host tooling (it needs `std`); the heap it sizes is `detalloc`'s, on any target.
//!
//! 1. Make a [`Recorder`] the global allocator of a host build of the program and
//!    [`save`](Recorder::save) its recording as the program's last step. Every request is
//!    logged, whatever its size.
//! 2. Run it several times (threads interleave differently each time), worst case driven.
//! 3. [`suggest`] with the recordings and [`Options`] (pool count, budget, [`Margin`]), or run
//!    the `detalloc-suggest` command on the files. The [`Suggestion`] prints the declaration
//!    and the table behind it.
//!
//! ```
//! use std::alloc::{GlobalAlloc, Layout, System};
//! use detalloc_suggest::{Options, Recorder, suggest};
//!
//! // In a real program: `#[global_allocator] static RECORDER: Recorder<System> = ...;`
//! static RECORDER: Recorder<System> = Recorder::new(System);
//!
//! let (small, large) = (Layout::new::<[u64; 3]>(), Layout::new::<[u64; 25]>());
//! // SAFETY: the layouts have non-zero sizes; every block is freed once, with its layout.
//! unsafe {
//!     let blocks: Vec<*mut u8> = (0..10).map(|_| RECORDER.alloc(small)).collect();
//!     for block in blocks { RECORDER.dealloc(block, small) }
//!     let big = RECORDER.alloc(large); // after the small ones are gone
//!     RECORDER.dealloc(big, large);
//! }
//! let run = RECORDER.recording();
//! let suggestion = suggest(&[run], &Options::new(2)).unwrap();
//! assert_eq!(suggestion.pools_line(), "pools: [24 x 10, 200 x 1],");
//! println!("{suggestion}"); // the declaration, then the table
//! ```
//!
//! # The model
//! A heap's request goes to the smallest pool whose block holds it and is aligned enough. So
//! the pools split the recorded sizes, ascending, into contiguous classes, and a class's pool
//! needs as many blocks as the class ever has live **at one time**. The recorder logs every
//! allocation and free in one order; for every range of sizes, the peak of its live blocks
//! over that order is computed (see [`Recorder`] for why the order never undercounts under
//! threads). The count of a pool is that peak, the maximum over the runs given, plus the
//! [`Margin`]. Summing each size's own peak instead counts blocks that are never live
//! together: three times the blocks for the packet pipeline of detalloc's `suggest` example.
//!
//! A class's block is the smallest `S >= 4` that holds its largest size and is a multiple of
//! its largest alignment (a block is aligned to the largest power of two dividing `S`, capped
//! at 4096: [`detalloc::PoolSpec::new`]). It stays below the next class's smallest size, so
//! the heap sends each request to the pool that counted it. Requests aligned to more than
//! 4096 fit no pool: they are listed, loudly.
//!
//! # What `suggest` optimises, and its bound
//! Among the splits into at most `pools` classes, [`suggest`] returns the one with the fewest
//! bytes of blocks, exactly: dynamic programming over the class boundaries, `O(pools x n^2)`
//! after the peaks of the `n x n` ranges are computed (one sweep of the events per range
//! start, a segment tree keeping each range's highest count: `O(n x E x log n)` for `E`
//! events, spread over the cores). The candidates `n` are every distinct size when there are
//! at most [`EXACT_SIZES`] of them; above that, sizes within a factor `1 + 2^-g` of each other
//! are grouped (the finest `g` that gives at most `EXACT_SIZES` groups; the output says which)
//! and the optimum is exact over the splits between groups. Checked against brute force over
//! every split and every order of events in the crate's tests.
//!
//! # Runs differ
//! With threads, what is live together changes from run to run. Give [`suggest`] several
//! recordings: each pool covers the largest peak seen, and the table shows the spread
//! (`peak over runs`, smallest..largest). A [`Margin`] adds blocks on top for what the runs
//! did not show.
//!
//! # With spill, and the bounds
//! [`Options::spill`] sizes a `spill: true` heap: the split that minimises the lower bound
//! for its block sizes ([`bound_for_sizes`]), counts found by [`replay`]ing every run under
//! every [`FreePolicy`] with detalloc's exact selection and spill rule, and a [`Margin`] whose
//! `blocks` are spare blocks in one pool ([`spare_pool`]). Every [`Suggestion`] carries the
//! bound for its sizes and the bound for any heap of as many pools ([`bound_for_pools`]);
//! [`leave_one_out`] measures how a margin covers a run the suggestion did not see.
#![deny(missing_docs)]

mod bound;
mod held_out;
mod margin;
mod options;
mod peaks;
mod recorder;
mod recording;
mod report;
mod simulate;
mod solve;
mod spill;

pub use bound::{PoolsBound, SizesBound, bound_for_pools, bound_for_sizes};
pub use held_out::{HeldOut, leave_one_out};
pub use margin::spare_pool;
pub use options::{Margin, Options, SyncChoice};
pub use peaks::{EXACT_SIZES, Unservable};
pub use recorder::Recorder;
pub use recording::{Event, Recording, SizeRecord};
pub use report::{SpillFit, SuggestedPool, Suggestion};
pub use simulate::{Failure, FreePolicy, Replay, replay, replay_all, select};
pub use solve::{SuggestError, suggest};
pub use spill::spill_counts;
