//! [`suggest`]: the pool list with the fewest bytes that serves every recorded run, by
//! dynamic programming over the candidate class boundaries.

use std::fmt;

use detalloc::PoolSpec;

use crate::bound::{bound_for_pools, bound_for_sizes, class_peaks};
use crate::margin::add_spill_margin;
use crate::options::{Margin, Options};
use crate::peaks::{Candidates, MAX_BLOCK_ALIGN};
use crate::recording::Recording;
use crate::report::{Bounds, SpillFit, SuggestedPool, Suggestion};
use crate::spill::{fit_and_trade, fit_counts, with_counts};

/// The smallest block: a free block holds a 4-byte link.
const MIN_BLOCK: usize = 4;
/// The most bytes one pool may have: links are 32-bit offsets into its buffer.
const MAX_POOL_BYTES: u128 = u32::MAX as u128;

/// Why [`suggest`] gave no suggestion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuggestError {
    /// No recording was given.
    NoRuns,
    /// `pools` was 0.
    NoPools,
    /// The recordings hold no request a pool could serve.
    Empty,
    /// A recording misses events (its recorder's log was full, or a thread was still
    /// writing): it could undercount a pool, so it is not used.
    Incomplete {
        /// Which recording (0-based, in the order given).
        run: usize,
        /// How many events it misses.
        dropped: u64,
    },
    /// Every configuration with at most `pools` pools has a pool over 4 GiB - 1 bytes (block
    /// links are 32-bit offsets), or the total does not fit `isize`.
    TooLarge {
        /// The pool count asked for.
        pools: usize,
    },
    /// Even the best configuration needs more bytes than the budget.
    OverBudget {
        /// Bytes of blocks the best configuration needs.
        needed: usize,
        /// The budget.
        budget: usize,
        /// The best configuration, for a look at where the bytes go.
        best: Box<Suggestion>,
    },
}

impl fmt::Display for SuggestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SuggestError::NoRuns => f.write_str("nothing to size: no recording given"),
            SuggestError::NoPools => f.write_str("a heap needs at least one pool"),
            SuggestError::Empty => {
                f.write_str("nothing to size: the recordings hold no request a pool can serve")
            }
            SuggestError::Incomplete { run, dropped } => write!(
                f,
                "recording {run} misses {dropped} events (its log was full, or a thread was \
                 still allocating when it was taken): it could undercount a pool"
            ),
            SuggestError::TooLarge { pools } => write!(
                f,
                "no configuration with at most {pools} pools keeps every pool within \
                 4294967295 bytes (32-bit block offsets) and the total within isize"
            ),
            SuggestError::OverBudget { needed, budget, best } => write!(
                f,
                "the best {} pool configuration needs {needed} B, {} B over the {budget} B \
                 budget: {}",
                best.pools().len(),
                needed.saturating_sub(*budget),
                best.pools_list()
            ),
        }
    }
}

impl std::error::Error for SuggestError {}

/// The pool list with at most `options.pools` pools that serves every run in `runs` in the
/// fewest bytes of blocks, and the declaration that pastes it.
///
/// The model (see the [crate documentation](crate) for why): the pools split the candidate
/// sizes, ascending, into contiguous classes; a class's block is the smallest `S >= 4` that
/// holds its largest size and is a multiple of its largest alignment, and stays below the next
/// class's smallest size (so the heap sends every request to its class's pool); its count is
/// the most blocks of its sizes live at one point of a run, the maximum over the runs, plus
/// the [margin](Options::margin). Among all such configurations the one with the fewest
/// bytes (then the fewest pools) is returned: exact, by dynamic programming over the class
/// boundaries, in `O(pools x n^2 x runs)` after the peaks are computed.
///
/// # Errors
/// See [`SuggestError`].
///
/// ```
/// use std::alloc::Layout;
/// use detalloc_suggest::{Event, Options, Recording, suggest};
///
/// let (small, big) = (Layout::new::<[u64; 2]>(), Layout::new::<[u64; 32]>());
/// // Ten small blocks, all freed, then one big one: never live together.
/// let mut events: Vec<Event> = (0..10).map(|_| Event::Alloc(small)).collect();
/// events.extend((0..10).map(|_| Event::Free(small)));
/// events.push(Event::Alloc(big));
/// let run = Recording::from_events(events);
///
/// let two = suggest(&[run.clone()], &Options::new(2)).unwrap();
/// assert_eq!(two.pools_list(), "[16 x 10, 256 x 1]");
/// // One pool: its blocks serve both sizes, and it never holds more than 10 at once.
/// let one = suggest(&[run], &Options::new(1)).unwrap();
/// assert_eq!(one.pools_list(), "[256 x 10]");
/// ```
pub fn suggest(runs: &[Recording], options: &Options) -> Result<Suggestion, SuggestError> {
    if runs.is_empty() {
        return Err(SuggestError::NoRuns);
    }
    if options.pools == 0 {
        return Err(SuggestError::NoPools);
    }
    if let Some((run, recording)) = runs.iter().enumerate().find(|(_, r)| r.dropped() > 0) {
        return Err(SuggestError::Incomplete { run, dropped: recording.dropped() });
    }
    let candidates = Candidates::new(runs, options.exact_sizes, !options.spill);
    if candidates.buckets.is_empty() {
        return Err(SuggestError::Empty);
    }
    let too_large = SuggestError::TooLarge { pools: options.pools };
    let (pools, spill) = if options.spill {
        let (pools, spill) = spill_pools(&candidates, runs, options).ok_or(too_large.clone())?;
        (pools, Some(spill))
    } else {
        let margin = options.margin;
        let cost = |lo: usize, hi: usize, block: usize| {
            block as u128 * count(candidates.peaks(lo, hi), margin)
        };
        let classes = optimise(&candidates, options.pools, cost).ok_or(too_large.clone())?;
        let mut pools = Vec::with_capacity(classes.len());
        for &(lo, hi) in &classes {
            pools.push(describe(&candidates, lo, hi, margin).ok_or(too_large.clone())?);
        }
        (pools, None)
    };
    let mut total: usize = 0;
    for pool in &pools {
        total = total
            .checked_add(pool.spec.bytes())
            .filter(|&t| t <= isize::MAX as usize)
            .ok_or(too_large.clone())?;
    }
    if pools.iter().any(|p| p.spec.bytes() as u128 > MAX_POOL_BYTES) {
        return Err(too_large);
    }
    let specs: Vec<PoolSpec> = pools.iter().map(|p| p.spec).collect();
    let bounds = Bounds {
        sizes: bound_for_sizes(&specs, runs),
        pools: bound_for_pools(runs, options.pools),
        spill,
    };
    let suggestion = Suggestion::new(pools, options.clone(), runs, &candidates, bounds);
    match options.budget {
        Some(budget) if total > budget => {
            Err(SuggestError::OverBudget { needed: total, budget, best: Box::new(suggestion) })
        }
        _ => Ok(suggestion),
    }
}

/// The smallest block of at least `largest` bytes (and 4) that is a multiple of `align` (a
/// power of two at most 4096, so the block's alignment is at least `align`).
fn block_for(largest: usize, align: usize) -> Option<usize> {
    largest.max(MIN_BLOCK).checked_next_multiple_of(align)
}

/// The blocks a class with these per-run peaks gets: the largest peak plus the margin.
fn count(peaks: impl Iterator<Item = u32>, margin: Margin) -> u128 {
    margin.apply(u64::from(peaks.max().unwrap_or(0))).into()
}

/// The optimal classes as `(lo, hi)` inclusive bucket ranges, or `None` when every
/// partition has a pool over `MAX_POOL_BYTES`. `class_cost(lo, hi, block)` is the bytes of the
/// class of buckets `lo..=hi` with blocks of `block` bytes; it must not decrease with `hi`.
///
/// `best[c][i]`: the fewest bytes covering buckets `..i` with exactly `c` classes, the last
/// class's block below bucket `i`'s smallest size (when `i < n`).
fn optimise(
    candidates: &Candidates,
    pools: usize,
    class_cost: impl Fn(usize, usize, usize) -> u128,
) -> Option<Vec<(usize, usize)>> {
    let buckets = &candidates.buckets;
    let n = buckets.len();
    let k = pools.min(n);
    // The cost of every valid class, once: `cost[lo * n + hi]`, `u128::MAX` when invalid.
    let mut cost = vec![u128::MAX; n * n];
    for lo in 0..n {
        let mut align = 1;
        for hi in lo..n {
            align = align.max(buckets[hi].max_align);
            let Some(block) = block_for(buckets[hi].max_size, align) else { break };
            let bytes = class_cost(lo, hi, block);
            // The block and the count only grow with `hi`: once over, always over.
            if bytes > MAX_POOL_BYTES {
                break;
            }
            if buckets.get(hi + 1).is_some_and(|next| block >= next.min_size) {
                continue; // this block would take requests of the next class
            }
            cost[lo * n + hi] = bytes;
        }
    }
    let mut best = vec![vec![u128::MAX; n + 1]; k + 1];
    let mut from = vec![vec![0usize; n + 1]; k + 1];
    best[0][0] = 0;
    for c in 1..=k {
        for end in 1..=n {
            for lo in 0..end {
                let (base, bytes) = (best[c - 1][lo], cost[lo * n + end - 1]);
                if base == u128::MAX || bytes == u128::MAX {
                    continue;
                }
                if base + bytes < best[c][end] {
                    best[c][end] = base + bytes;
                    from[c][end] = lo;
                }
            }
        }
    }
    // The fewest bytes; among equals, the fewest pools.
    let mut chosen = None;
    for (c, row) in best.iter().enumerate().skip(1) {
        if row[n] != u128::MAX && chosen.is_none_or(|(_, bytes)| row[n] < bytes) {
            chosen = Some((c, row[n]));
        }
    }
    let (mut c, _) = chosen?;
    let mut classes = Vec::with_capacity(c);
    let mut end = n;
    while c > 0 {
        let lo = from[c][end];
        classes.push((lo, end - 1));
        end = lo;
        c -= 1;
    }
    classes.reverse();
    Some(classes)
}

/// The pool serving buckets `lo..=hi`, with its table figures. `None` on overflow (not
/// reachable for a class `optimise` accepted).
fn describe(
    candidates: &Candidates,
    lo: usize,
    hi: usize,
    margin: Margin,
) -> Option<SuggestedPool> {
    let class = &candidates.buckets[lo..=hi];
    let max_align = class.iter().map(|b| b.max_align).max()?.min(MAX_BLOCK_ALIGN);
    let block = block_for(class.last()?.max_size, max_align)?;
    let peak_min = candidates.peaks(lo, hi).min()?;
    let peak_max = candidates.peaks(lo, hi).max()?;
    let blocks = usize::try_from(margin.apply(u64::from(peak_max))).ok()?;
    block.checked_mul(blocks)?;
    Some(SuggestedPool {
        spec: PoolSpec::new(block, blocks),
        min_size: class.first()?.min_size,
        max_size: class.last()?.max_size,
        sizes: class.iter().map(|b| b.sizes).sum(),
        max_align,
        peak_min: u64::from(peak_min),
        peak_max: u64::from(peak_max),
        own_peaks: candidates.own_peaks[lo..=hi].iter().sum(),
    })
}

/// The pools of a spill suggestion: the classes that minimise the lower bound for their block
/// sizes (each class's count is then what the requests of its sizes and larger need beyond
/// the larger classes' counts), the counts found by replay, the margin, and the replay again
/// (a margin only adds blocks, but the replay is what says a heap passes). `None` when every
/// split has a pool over `MAX_POOL_BYTES`.
fn spill_pools(
    candidates: &Candidates,
    runs: &[Recording],
    options: &Options,
) -> Option<(Vec<SuggestedPool>, SpillFit)> {
    let suffix = &candidates.suffix;
    let cost = |lo: usize, hi: usize, block: usize| {
        block as u128 * u128::from(suffix[lo].saturating_sub(suffix[hi + 1]))
    };
    let classes = optimise(candidates, options.pools, cost)?;
    let block = |lo: usize, hi: usize| {
        let class = &candidates.buckets[lo..=hi];
        let max_align = class.iter().map(|b| b.max_align).max().unwrap_or(1);
        block_for(class.last()?.max_size, max_align.min(MAX_BLOCK_ALIGN))
    };
    let specs = classes
        .iter()
        .map(|&(lo, hi)| Some(PoolSpec::new(block(lo, hi)?, 0)))
        .collect::<Option<Vec<_>>>()?;
    let start = bound_for_sizes(&specs, runs).blocks;
    let (counts, rounds) = fit_and_trade(&specs, runs, &start);
    // A pool left with no block is left out (the macro refuses a count of 0): its requests
    // now select the next larger pool aligned enough, where they spilled anyway. For the
    // table, its sizes join the next pool's.
    let (mut kept, mut specs_kept, mut counts_kept) = (Vec::new(), Vec::new(), Vec::new());
    let mut carried = None;
    for (&(lo, hi), (spec, &count)) in classes.iter().zip(specs.iter().zip(&counts)) {
        if count == 0 {
            carried = carried.or(Some(lo));
            continue;
        }
        kept.push((carried.take().unwrap_or(lo), hi));
        specs_kept.push(*spec);
        counts_kept.push(count);
    }
    let fitted = with_counts(&specs_kept, &counts_kept);
    let mut margined = fitted.clone();
    let spare = add_spill_margin(&mut margined, options.margin, runs);
    let start: Vec<u64> = margined.iter().map(|p| p.blocks as u64).collect();
    let (counts, checks) = fit_counts(&specs_kept, runs, &start);
    let specs = with_counts(&specs_kept, &counts);
    let peaks = class_peaks(&specs, runs);
    let mut pools = Vec::with_capacity(specs.len());
    for ((spec, &(lo, hi)), (peak_min, peak_max)) in specs.iter().zip(&kept).zip(peaks) {
        let class = &candidates.buckets[lo..=hi];
        let max_align = class.iter().map(|b| b.max_align).max()?.min(MAX_BLOCK_ALIGN);
        pools.push(SuggestedPool {
            spec: *spec,
            min_size: class.first()?.min_size,
            max_size: class.last()?.max_size,
            sizes: class.iter().map(|b| b.sizes).sum(),
            max_align,
            peak_min,
            peak_max,
            own_peaks: candidates.own_peaks[lo..=hi].iter().sum(),
        });
    }
    let fitted_counts = fitted.iter().map(|p| p.blocks as u64).collect();
    Some((pools, SpillFit { fitted: fitted_counts, spare, rounds: rounds + checks }))
}
