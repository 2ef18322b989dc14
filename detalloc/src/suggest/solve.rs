//! [`suggest`]: the optimal pool list for a recording, by dynamic programming.

use core::fmt;
use std::boxed::Box;
use std::vec;
use std::vec::Vec;

use super::report::{SuggestedPool, Suggestion};
use super::{MAX_BLOCK_ALIGN, Recording, SizeRecord};
use crate::PoolSpec;

/// The smallest block: a free block holds a 4-byte link.
const MIN_BLOCK: usize = 4;
/// The most bytes one pool may have: links are 32-bit offsets into its buffer.
const MAX_POOL_BYTES: u128 = u32::MAX as u128;

/// Why [`suggest`] gave no suggestion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuggestError {
    /// The recording holds no size a pool could serve with a peak above 0.
    Empty,
    /// `pools` was 0.
    NoPools,
    /// A record's `max_align` is not a power of two.
    InvalidAlign {
        /// The record's size.
        size: usize,
        /// Its alignment.
        align: usize,
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
            SuggestError::Empty => {
                f.write_str("nothing to size: the recording has no size a pool can serve")
            }
            SuggestError::NoPools => f.write_str("a heap needs at least one pool"),
            SuggestError::InvalidAlign { size, align } => {
                write!(f, "size {size}: alignment {align} is not a power of two")
            }
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

/// One distinct servable size, normalised.
#[derive(Clone, Copy)]
struct Item {
    size: usize,
    align: usize,
    peak: usize,
}

/// The pool list with at most `pools` pools that serves every recorded peak in the fewest
/// bytes of blocks, under the model described in the [module documentation](super): the
/// pools split the sorted distinct sizes into contiguous classes, a class's block is the
/// smallest `S >= 4` holding its largest size and a multiple of its largest alignment, its
/// count is the sum of its sizes' peaks, and a block stays below the next class's smallest
/// size (so the heap's dispatch sends each request to its class's pool). Exact, by dynamic
/// programming in `O(pools x m^2)` time and `O(pools x m)` memory for `m` distinct sizes.
/// Among equally small configurations the one with fewer pools is returned.
///
/// A record's peak is `max(peak, live)`; size 0 counts as 1; a `max_align` of 0 as 1;
/// records with a peak of 0 are skipped; repeated sizes are merged (peaks added). Sizes
/// aligned to more than 4096 cannot be served: they are listed in
/// [`Suggestion::unservable`], with the recording's oversize and overaligned counts, and are
/// not part of the total or the budget.
///
/// # Errors
/// [`SuggestError::NoPools`] for `pools == 0`; [`Empty`](SuggestError::Empty) when no
/// servable size has a peak; [`InvalidAlign`](SuggestError::InvalidAlign) for an alignment
/// that is not a power of two; [`TooLarge`](SuggestError::TooLarge) when no configuration
/// keeps each pool within 32-bit offsets; [`OverBudget`](SuggestError::OverBudget) when the
/// best configuration needs more than `budget` bytes.
pub fn suggest(
    recording: &Recording,
    pools: usize,
    budget: Option<usize>,
) -> Result<Suggestion, SuggestError> {
    if pools == 0 {
        return Err(SuggestError::NoPools);
    }
    let (items, unservable) = normalise(&recording.sizes)?;
    if items.is_empty() {
        return Err(SuggestError::Empty);
    }
    let classes = optimise(&items, pools).ok_or(SuggestError::TooLarge { pools })?;
    let mut specs = Vec::with_capacity(classes.len());
    let mut total: usize = 0;
    for &(start, end) in &classes {
        let pool = describe(&items[start..end]).ok_or(SuggestError::TooLarge { pools })?;
        total = total
            .checked_add(pool.spec.bytes())
            .filter(|&t| t <= isize::MAX as usize)
            .ok_or(SuggestError::TooLarge { pools })?;
        specs.push(pool);
    }
    let suggestion = Suggestion::new(specs, pools, budget, unservable, recording);
    match budget {
        Some(budget) if total > budget => {
            Err(SuggestError::OverBudget { needed: total, budget, best: Box::new(suggestion) })
        }
        _ => Ok(suggestion),
    }
}

/// Sorted, merged, servable items with a peak; the records no pool can serve.
fn normalise(records: &[SizeRecord]) -> Result<(Vec<Item>, Vec<SizeRecord>), SuggestError> {
    let mut items = Vec::with_capacity(records.len());
    let mut unservable = Vec::new();
    for record in records {
        let peak = record.peak.max(record.live);
        let size = record.size.max(1);
        let align = record.max_align.max(1);
        if !align.is_power_of_two() {
            return Err(SuggestError::InvalidAlign { size, align });
        }
        if peak == 0 {
            continue;
        }
        if align > MAX_BLOCK_ALIGN {
            unservable.push(SizeRecord { size, max_align: align, peak, live: record.live });
            continue;
        }
        items.push(Item { size, align, peak });
    }
    items.sort_unstable_by_key(|item| item.size);
    let mut merged: Vec<Item> = Vec::with_capacity(items.len());
    for item in items {
        match merged.last_mut() {
            Some(last) if last.size == item.size => {
                last.peak = last.peak.saturating_add(item.peak);
                last.align = last.align.max(item.align);
            }
            _ => merged.push(item),
        }
    }
    unservable.sort_unstable_by_key(|r| (r.size, r.max_align));
    Ok((merged, unservable))
}

/// The smallest block of at least `largest` bytes (and 4) that is a multiple of `align` (a
/// power of two at most 4096, so the block's alignment is at least `align`).
fn block_for(largest: usize, align: usize) -> Option<usize> {
    largest.max(MIN_BLOCK).checked_next_multiple_of(align)
}

/// The optimal classes as `(start, end)` index ranges of `items` (sorted, distinct), or
/// `None` when every partition has a pool over `MAX_POOL_BYTES`.
///
/// `best[c][i]`: the fewest bytes covering `items[..i]` with exactly `c` classes, the last
/// class's block below `items[i].size` (when `i < m`). A class `start..=j` extends
/// `best[c - 1][start]`.
fn optimise(items: &[Item], pools: usize) -> Option<Vec<(usize, usize)>> {
    let m = items.len();
    let k = pools.min(m);
    let mut best = vec![vec![u128::MAX; m + 1]; k + 1];
    let mut from = vec![vec![0usize; m + 1]; k + 1];
    best[0][0] = 0;
    for c in 1..=k {
        let (done, todo) = best.split_at_mut(c);
        let (previous, current) = (&done[c - 1], &mut todo[0]);
        for (start, &base) in previous.iter().enumerate().take(m) {
            if base == u128::MAX {
                continue;
            }
            let mut align = 1;
            let mut blocks: u128 = 0;
            for j in start..m {
                let item = items[j];
                align = align.max(item.align);
                blocks += item.peak as u128;
                // The block and the count only grow with `j`: once over, always over.
                let Some(block) = block_for(item.size, align) else { break };
                let bytes = block as u128 * blocks;
                if bytes > MAX_POOL_BYTES {
                    break;
                }
                if items.get(j + 1).is_some_and(|next| block >= next.size) {
                    continue; // this block would take requests of the next class
                }
                if base + bytes < current[j + 1] {
                    current[j + 1] = base + bytes;
                    from[c][j + 1] = start;
                }
            }
        }
    }
    // The fewest bytes; among equals, the fewest pools.
    let mut chosen = None;
    for (c, row) in best.iter().enumerate().skip(1) {
        if row[m] != u128::MAX && chosen.is_none_or(|(_, bytes)| row[m] < bytes) {
            chosen = Some((c, row[m]));
        }
    }
    let (mut c, _) = chosen?;
    let mut classes = Vec::with_capacity(c);
    let mut end = m;
    while c > 0 {
        let start = from[c][end];
        classes.push((start, end));
        end = start;
        c -= 1;
    }
    classes.reverse();
    Some(classes)
}

/// The pool serving `class` (non-empty, sorted): block, count, and the figures of its table
/// row. `None` on overflow (not reachable for a class `optimise` accepted).
fn describe(class: &[Item]) -> Option<SuggestedPool> {
    let first = class.first()?;
    let last = class.last()?;
    let max_align = class.iter().map(|item| item.align).max()?;
    let block = block_for(last.size, max_align)?;
    let mut blocks: usize = 0;
    let mut requested: usize = 0;
    for item in class {
        blocks = blocks.checked_add(item.peak)?;
        requested = requested.checked_add(item.size.checked_mul(item.peak)?)?;
    }
    let spec = PoolSpec::new(block, blocks);
    let bytes = block.checked_mul(blocks)?;
    Some(SuggestedPool {
        spec,
        min_size: first.size,
        max_size: last.size,
        sizes: class.len(),
        max_align,
        requested_bytes: requested,
        wasted_bytes: bytes - requested,
    })
}
