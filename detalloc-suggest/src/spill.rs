//! Counts for a `spill: true` heap, found by replay: start from the counts that reach the
//! lower bound for the block sizes, replay every run under every free policy, and where an
//! allocation finds every pool it may use full, give the pool it selects one more block;
//! repeat until every replay passes untouched.

use detalloc::PoolSpec;

use crate::bound::{bound_for_sizes, class_peaks};
use crate::recording::Recording;
use crate::simulate::elastic_all;

/// Rounds of replay before the counts fall back to each class's own peak.
const MAX_ROUNDS: usize = 24;

/// The counts a spill heap with these block sizes needs, and the replay rounds it took.
///
/// Each round replays every run under every policy from the current counts; an allocation
/// that finds its pool and every larger pool it may spill to full adds a block to the pool it
/// selects (the cheapest that serves it) and goes on. The largest growth of each pool over the
/// replays is added, and the next round starts from the start. A round in which no replay grew
/// is a plain replay that passed under every policy: those counts are returned. After
/// `MAX_ROUNDS`, each pool gets at least its own class's peak, with which no request ever
/// spills (by induction over the events: a pool holds only its own class's blocks), and the
/// rounds go on from there.
pub(crate) fn fit_counts(
    pools: &[PoolSpec],
    runs: &[Recording],
    start: &[u64],
) -> (Vec<u64>, usize) {
    let mut capacity = start.to_vec();
    for round in 1.. {
        let outcomes = elastic_all(pools, true, runs, &capacity, true);
        let mut grown = vec![0u64; pools.len()];
        for (_, _, outcome) in &outcomes {
            for (g, &o) in grown.iter_mut().zip(&outcome.grown) {
                *g = (*g).max(o);
            }
        }
        if grown.iter().all(|&g| g == 0) {
            return (capacity, round);
        }
        for (c, g) in capacity.iter_mut().zip(grown) {
            *c += g;
        }
        if round == MAX_ROUNDS {
            for (c, (_, own)) in capacity.iter_mut().zip(class_peaks(pools, runs)) {
                *c = (*c).max(own);
            }
        }
    }
    unreachable!("the rounds return")
}

/// [`fit_counts`] from the bound's counts `start`, then one pass of trades, largest pool
/// first: for each pool above its bound count, one block less and the replay's fit from there
/// (which may add cheaper blocks elsewhere); kept when it has fewer bytes. Every counts
/// returned passed the replays. Returns the counts and the replay rounds.
pub(crate) fn fit_and_trade(
    pools: &[PoolSpec],
    runs: &[Recording],
    start: &[u64],
) -> (Vec<u64>, usize) {
    let bytes = |counts: &[u64]| -> u128 {
        pools.iter().zip(counts).map(|(p, &c)| p.block_size as u128 * u128::from(c)).sum()
    };
    let (mut best, mut rounds) = fit_counts(pools, runs, start);
    for j in (0..pools.len()).rev() {
        if best[j] <= start[j] {
            continue;
        }
        let mut fewer = best.clone();
        fewer[j] -= 1;
        let (counts, more) = fit_counts(pools, runs, &fewer);
        rounds += more;
        if bytes(&counts) < bytes(&best) {
            best = counts;
        }
    }
    (best, rounds)
}

/// The counts a `spill: true` heap with the block sizes of `pools` (their `blocks` are
/// ignored) needs to serve every run in `runs` under every
/// [`FreePolicy`](crate::FreePolicy), found by replay from the lower bound for those sizes
/// ([`bound_for_sizes`]), without margin.
///
/// ```
/// use std::alloc::Layout;
/// use detalloc::PoolSpec;
/// use detalloc_suggest::{Event, Recording, replay_all, spill_counts};
///
/// let (small, big) = (Layout::new::<[u64; 2]>(), Layout::new::<[u64; 8]>());
/// let run = Recording::from_events([
///     Event::Alloc(small), Event::Alloc(small), Event::Alloc(small),
///     Event::Free(small), Event::Free(small), Event::Alloc(big), Event::Alloc(big),
/// ]);
/// let sizes = [PoolSpec::new(16, 0), PoolSpec::new(64, 0)];
/// let pools = spill_counts(&sizes, &[run.clone()]);
/// // The bound's counts, 1 + 2, fail when the 16-byte block is freed first: two small blocks
/// // stay in the 64-byte pool and the second big one finds it full. The fix that costs least
/// // is in the small pool (48 + 128 bytes, where a third 64-byte block makes 16 + 192):
/// assert_eq!(pools, [PoolSpec::new(16, 3), PoolSpec::new(64, 2)]);
/// assert!(replay_all(&pools, true, &[run]).iter().all(|(_, _, r)| r.passed()));
/// ```
pub fn spill_counts(pools: &[PoolSpec], runs: &[Recording]) -> Vec<PoolSpec> {
    let bound = bound_for_sizes(pools, runs);
    let (counts, _) = fit_and_trade(pools, runs, &bound.blocks);
    with_counts(pools, &counts)
}

/// `pools` with these block counts.
pub(crate) fn with_counts(pools: &[PoolSpec], counts: &[u64]) -> Vec<PoolSpec> {
    pools
        .iter()
        .zip(counts)
        .map(|(p, &c)| PoolSpec::new(p.block_size, usize::try_from(c).unwrap_or(usize::MAX)))
        .collect()
}
