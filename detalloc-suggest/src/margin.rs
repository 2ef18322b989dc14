//! The margin as spare capacity: with spill, spare blocks in the one pool that covers the
//! largest sizes at risk, instead of one block per pool. How well a margin covers a run the
//! suggestion did not see is measured in [`held_out`](crate::held_out).

use detalloc::PoolSpec;

use crate::bound::suffix_peaks_per_run;
use crate::options::Margin;
use crate::recording::Recording;
use crate::simulate::select_size;

/// The pool that takes a spill heap's spare blocks ([`Margin::blocks`] with
/// [`Options::spill`](crate::Options::spill)): the one that covers the largest sizes at risk.
///
/// A spare block of pool `j` serves, by spill, an overflow of pool `j` or of any smaller pool
/// whose requests it is aligned enough for. The sizes at risk are those whose need differs
/// between the recorded runs: pool `j` is at risk when the most requests selecting pool `j`
/// or a larger one live at once is not the same in every run (a thread interleaving moved
/// it). The spare pool is the largest pool at risk, or the next larger one aligned enough for
/// every request that selects a pool up to it; the largest pool when no pool is at risk
/// (one run, or runs that agree: nothing tells which sizes vary).
///
/// ```
/// use std::alloc::Layout;
/// use detalloc::PoolSpec;
/// use detalloc_suggest::{Event, Recording, spare_pool};
///
/// let (small, big) = (Layout::new::<[u64; 2]>(), Layout::new::<[u64; 8]>());
/// // Two runs: the small blocks peak at 2, then at 3; the big ones at 1 in both.
/// let run = |smalls: usize| {
///     let mut events = vec![Event::Alloc(small); smalls];
///     events.extend(vec![Event::Free(small); smalls]);
///     events.push(Event::Alloc(big));
///     Recording::from_events(events)
/// };
/// let pools = [PoolSpec::new(16, 3), PoolSpec::new(64, 1)];
/// assert_eq!(spare_pool(&pools, &[run(2), run(3)]), 0); // the 64-byte blocks need never varies
/// assert_eq!(spare_pool(&pools, &[run(2)]), 1); // one run: no evidence, the largest pool
/// ```
pub fn spare_pool(pools: &[PoolSpec], runs: &[Recording]) -> usize {
    let n = pools.len();
    if n == 0 {
        return 0;
    }
    let per_run = suffix_peaks_per_run(pools, runs);
    let varies = |j: usize| {
        let peaks = per_run.iter().map(|p| p[j]);
        peaks.clone().min() != peaks.max()
    };
    let risk = if runs.len() < 2 { None } else { (0..n).rev().find(|&j| varies(j)) };
    let Some(risk) = risk else { return n - 1 };
    let need = runs
        .iter()
        .flat_map(|r| r.sizes())
        .filter(|k| select_size(pools, k.size, k.align).is_some_and(|p| p <= risk))
        .map(|k| k.align)
        .max()
        .unwrap_or(1);
    (risk..n).find(|&j| pools[j].align >= need).unwrap_or(risk)
}

/// Adds `margin` to a spill heap's counts: `round(count x percent / 100)` to each pool, and
/// `margin.blocks` spare blocks to [`spare_pool`]. Returns the spare pool.
pub(crate) fn add_spill_margin(
    pools: &mut [PoolSpec],
    margin: Margin,
    runs: &[Recording],
) -> usize {
    let spare = spare_pool(pools, runs);
    for pool in pools.iter_mut() {
        let with = Margin { percent: margin.percent, blocks: 0 }.apply(pool.blocks as u64);
        pool.blocks = usize::try_from(with).unwrap_or(usize::MAX);
    }
    if let Some(pool) = pools.get_mut(spare) {
        let blocks = usize::try_from(margin.blocks).unwrap_or(usize::MAX);
        pool.blocks = pool.blocks.saturating_add(blocks);
    }
    spare
}
