//! Lower bounds on the bytes of blocks a heap needs to serve recorded runs: for given block
//! sizes ([`bound_for_sizes`]) and for any heap of at most N pools ([`bound_for_pools`]),
//! with or without spill.
//!
//! Both rest on one fact about detalloc's rule. A request is served by the pool it selects
//! (the smallest whose blocks fit its size and alignment) or, with spill, by a larger pool;
//! never by a smaller one. So at every moment of every run, the requests that select pool
//! `j` or a larger one lie in the blocks of pools `j` and larger:
//!
//! ```text
//! live requests selecting a pool >= j   <=   C_j = c_j + c_(j+1) + ... + c_N     (every j)
//! ```
//!
//! where `c_i` is pool `i`'s block count. No heap that serves the runs, whatever it does on
//! exhaustion, can break it.

use detalloc::PoolSpec;

use crate::peaks::{HistoryTree, MAX_BLOCK_ALIGN, deltas};
use crate::recording::{FREE, Recording};
use crate::simulate::select_size;

/// The least bytes of blocks any heap with given block sizes can have and serve the runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SizesBound {
    /// Per pool `j`, the most requests selecting pool `j` or a larger one live at once, the
    /// maximum over the runs (`P_j`, never increasing with `j`).
    pub suffix_peaks: Vec<u64>,
    /// Per pool, the counts that reach the bound: `P_j - P_(j+1)`.
    pub blocks: Vec<u64>,
    /// The bound: `sum of block_size_j x (P_j - P_(j+1))`.
    pub bytes: u128,
}

/// The least bytes of blocks any heap with these block sizes (the `blocks` of `pools` are
/// ignored) can have and serve every run in `runs`, spill or not.
///
/// **Why it is a lower bound.** Let `S_1 < ... < S_N` be the block sizes, `c_j` any counts
/// that serve the runs and `C_j = c_j + ... + c_N`. By the module's fact, `C_j >= P_j` for
/// every `j`, where `P_j` is the most requests selecting a pool `>= j` live at once in a
/// run. The bytes are `sum S_j c_j = S_1 C_1 + sum_(j >= 2) (S_j - S_(j-1)) C_j`: every
/// coefficient is positive (sizes strictly ascend), so the bytes are at least the same sum
/// with `C_j = P_j`, which is `sum S_j (P_j - P_(j+1))` (`P_(N+1) = 0`). Those counts are
/// the returned `blocks`; without spill a heap needs each pool's own peak instead, at least
/// as much. Requests no pool fits are left out (no count serves them).
///
/// ```
/// use std::alloc::Layout;
/// use detalloc::PoolSpec;
/// use detalloc_suggest::{Event, Recording, bound_for_sizes};
///
/// let (small, big) = (Layout::new::<[u64; 2]>(), Layout::new::<[u64; 8]>());
/// // 3 small blocks live, then 2 of them give way to 2 big ones: 3 live at most, 2 big.
/// let run = Recording::from_events([
///     Event::Alloc(small), Event::Alloc(small), Event::Alloc(small),
///     Event::Free(small), Event::Free(small), Event::Alloc(big), Event::Alloc(big),
/// ]);
/// let bound = bound_for_sizes(&[PoolSpec::new(16, 0), PoolSpec::new(64, 0)], &[run]);
/// assert_eq!(bound.suffix_peaks, [3, 2]);
/// assert_eq!(bound.blocks, [1, 2]); // one 16-byte block; small ones spill into the rest
/// assert_eq!(bound.bytes, 16 + 2 * 64);
/// ```
pub fn bound_for_sizes(pools: &[PoolSpec], runs: &[Recording]) -> SizesBound {
    let n = pools.len();
    let mut suffix_peaks = vec![0u64; n];
    for run in runs {
        let homes: Vec<Option<u32>> = run
            .sizes()
            .iter()
            .map(|k| select_size(pools, k.size, k.align).map(|p| (n - 1 - p) as u32))
            .collect();
        // Position `n - 1 - j` counts the requests selecting a pool >= j.
        let events = deltas(run.raw_events(), &homes);
        let mut tree = HistoryTree::new(n);
        for &(position, delta) in &events {
            tree.suffix_add(position as usize, delta);
        }
        let maxima = tree.maxima(n);
        for (j, peak) in suffix_peaks.iter_mut().enumerate() {
            *peak = (*peak).max(u64::from(maxima[n - 1 - j]));
        }
    }
    let blocks: Vec<u64> = (0..n)
        .map(|j| suffix_peaks[j].saturating_sub(suffix_peaks.get(j + 1).copied().unwrap_or(0)))
        .collect();
    let bytes = pools.iter().zip(&blocks).map(|(p, &b)| p.block_size as u128 * b as u128).sum();
    SizesBound { suffix_peaks, blocks, bytes }
}

/// The least bytes of blocks any heap of at most N pools can have and serve the runs, and
/// the split that reaches it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolsBound {
    /// N.
    pub pools: usize,
    /// The bound.
    pub bytes: u128,
    /// The sizes and counts that reach it, as `(largest size of the class, blocks)`: block
    /// sizes that are recorded sizes, not rounded to an alignment (so possibly no real heap).
    pub classes: Vec<(usize, u64)>,
}

/// Per distinct servable size (ascending), the most requests of that size or larger live at
/// once, the maximum over the runs; and the sizes.
pub(crate) fn size_suffix_peaks(runs: &[Recording]) -> (Vec<usize>, Vec<u64>) {
    let mut sizes: Vec<usize> = runs
        .iter()
        .flat_map(|r| r.sizes().iter().filter(|k| k.align <= MAX_BLOCK_ALIGN).map(|k| k.size))
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    let n = sizes.len();
    let mut peaks = vec![0u64; n];
    for run in runs {
        let positions: Vec<Option<u32>> = run
            .sizes()
            .iter()
            .map(|k| {
                (k.align <= MAX_BLOCK_ALIGN)
                    .then(|| (n - 1 - sizes.partition_point(|&s| s < k.size)) as u32)
            })
            .collect();
        let events = deltas(run.raw_events(), &positions);
        let mut tree = HistoryTree::new(n);
        for &(position, delta) in &events {
            tree.suffix_add(position as usize, delta);
        }
        let maxima = tree.maxima(n);
        for (i, peak) in peaks.iter_mut().enumerate() {
            *peak = (*peak).max(u64::from(maxima[n - 1 - i]));
        }
    }
    (sizes, peaks)
}

/// The least bytes of blocks any heap of at most `pools` pools (any block sizes, any counts,
/// spill or not) can have and serve every run in `runs`. Requests aligned above 4096 are left
/// out (no pool serves them).
///
/// **Why it is a lower bound.** Take any heap that serves the runs, with block sizes
/// `T_1 < ... < T_N` (`N <= pools`), counts `c_j`, `C_j = c_j + ... + c_N`, `T_0 = 0`, and
/// let `Q(x)` be the most requests of size `> x` live at once in a run (so `Q` never
/// increases). A request larger than `T_(j-1)` fits no pool below `j`, so by the module's
/// fact `C_j >= Q(T_(j-1))`, and the bytes are
/// `sum T_j c_j = sum_j (T_j - T_(j-1)) C_j >= f(T) = sum_j (T_j - T_(j-1)) Q(T_(j-1))`.
/// Now lower each `T_j`, `j = 1..N` in turn, to `t = max(T_(j-1), the largest recorded size
/// <= T_j)` (for `j = N` that is the largest recorded size, which `T_N` must hold): no
/// recorded size lies in `(t, T_j]`, so `Q(t) = Q(T_j)`, only terms `j` and `j + 1` change,
/// and `f` changes by `(T_j - t) (Q(T_j) - Q(T_(j-1))) <= 0`. The result is a split of the
/// recorded sizes, ascending, into at most N contiguous classes (equal `T`s add nothing),
/// class `j` ending at size `m_j`, with
/// `f = sum_j (m_j - m_(j-1)) Q(m_(j-1)) = sum_j m_j (Q(m_(j-1)) - Q(m_j))`. The minimum of
/// that over every such split, which this function computes exactly, is therefore at most
/// the bytes of any heap of at most `pools` pools that serves the runs. (A real heap also
/// rounds blocks up to 4 bytes and to alignments, and without spill needs each class's own
/// peak: all of that only adds.)
///
/// The minimum is a dynamic program over the class ends, `O(pools x n log n)` for `n`
/// distinct sizes: class `lo..=hi` costs `m_hi x (Q'(lo) - Q'(hi + 1))` with `Q'(i)` the peak
/// of sizes `>= s_i`, and the best start for each end is a lowest-line query at `m_hi`
/// (a Li Chao tree over the sizes).
///
/// ```
/// use std::alloc::Layout;
/// use detalloc_suggest::{Event, Recording, bound_for_pools};
///
/// let (small, big) = (Layout::new::<[u64; 2]>(), Layout::new::<[u64; 8]>());
/// let run = Recording::from_events([
///     Event::Alloc(small), Event::Alloc(small), Event::Alloc(small),
///     Event::Free(small), Event::Free(small), Event::Alloc(big), Event::Alloc(big),
/// ]);
/// // One pool: 3 blocks of 64 bytes. Two: one 16-byte block, two of 64.
/// assert_eq!(bound_for_pools(&[run.clone()], 1).bytes, 3 * 64);
/// assert_eq!(bound_for_pools(&[run], 2).classes, [(16, 1), (64, 2)]);
/// ```
pub fn bound_for_pools(runs: &[Recording], pools: usize) -> PoolsBound {
    let (sizes, peaks) = size_suffix_peaks(runs);
    let n = sizes.len();
    if n == 0 || pools == 0 {
        return PoolsBound { pools, bytes: 0, classes: Vec::new() };
    }
    let q = |i: usize| peaks.get(i).copied().unwrap_or(0) as u128;
    let k = pools.min(n);
    // best[c][i]: least cost of sizes ..i in exactly c classes; from[c][i]: the last start.
    let mut best = vec![vec![None::<u128>; n + 1]; k + 1];
    let mut from = vec![vec![0usize; n + 1]; k + 1];
    best[0][0] = Some(0);
    for c in 1..=k {
        let mut tree = LiChao::new(&sizes);
        for hi in 0..n {
            if let Some(base) = best[c - 1][hi] {
                tree.insert(Line { slope: q(hi), intercept: base, start: hi });
            }
            if let Some((value, start)) = tree.lowest(hi) {
                best[c][hi + 1] = Some(value - sizes[hi] as u128 * q(hi + 1));
                from[c][hi + 1] = start;
            }
        }
    }
    let (mut c, bytes) = (1..=k)
        .filter_map(|c| best[c][n].map(|b| (c, b)))
        .min_by_key(|&(c, b)| (b, c))
        .unwrap_or((0, 0));
    let mut classes = Vec::with_capacity(c);
    let mut end = n;
    while c > 0 {
        let lo = from[c][end];
        classes.push((sizes[end - 1], (q(lo) - q(end)) as u64));
        end = lo;
        c -= 1;
    }
    classes.reverse();
    PoolsBound { pools, bytes, classes }
}

/// `intercept + slope x`, from class start `start`.
#[derive(Debug, Clone, Copy)]
struct Line {
    slope: u128,
    intercept: u128,
    start: usize,
}

impl Line {
    fn at(&self, x: usize) -> u128 {
        self.intercept + self.slope * x as u128
    }
}

/// The lowest of a set of lines at the points `xs` (ascending): a Li Chao tree over their
/// indexes, each node keeping the line lowest at its middle.
struct LiChao<'a> {
    xs: &'a [usize],
    nodes: Vec<Option<Line>>,
}

impl<'a> LiChao<'a> {
    fn new(xs: &'a [usize]) -> Self {
        Self { xs, nodes: vec![None; 4 * xs.len().max(1)] }
    }

    fn insert(&mut self, mut line: Line) {
        let (mut node, mut lo, mut hi) = (1, 0, self.xs.len() - 1);
        loop {
            let Some(current) = self.nodes[node] else {
                self.nodes[node] = Some(line);
                return;
            };
            let mid = (lo + hi) / 2;
            let left_lower = line.at(self.xs[lo]) < current.at(self.xs[lo]);
            let mid_lower = line.at(self.xs[mid]) < current.at(self.xs[mid]);
            if mid_lower {
                self.nodes[node] = Some(line);
                line = current;
            }
            if lo == hi {
                return;
            }
            if left_lower != mid_lower {
                (node, hi) = (2 * node, mid);
            } else {
                (node, lo) = (2 * node + 1, mid + 1);
            }
        }
    }

    /// The lowest value at `xs[i]` and its line's start.
    fn lowest(&self, i: usize) -> Option<(u128, usize)> {
        let (mut node, mut lo, mut hi) = (1, 0, self.xs.len() - 1);
        let mut best: Option<(u128, usize)> = None;
        loop {
            if let Some(line) = self.nodes[node] {
                let value = line.at(self.xs[i]);
                if best.is_none_or(|(b, _)| value < b) {
                    best = Some((value, line.start));
                }
            }
            if lo == hi {
                return best;
            }
            let mid = (lo + hi) / 2;
            if i <= mid {
                (node, hi) = (2 * node, mid);
            } else {
                (node, lo) = (2 * node + 1, mid + 1);
            }
        }
    }
}

/// Per run, per pool of `pools`, the most requests selecting that pool or a larger one live
/// at once (for the margin's choice: which pools' needs differ between runs).
pub(crate) fn suffix_peaks_per_run(pools: &[PoolSpec], runs: &[Recording]) -> Vec<Vec<u64>> {
    runs.iter().map(|run| bound_for_sizes(pools, std::slice::from_ref(run)).suffix_peaks).collect()
}

/// Per class of `pools` (the requests each selects), the most live at once, the maximum
/// over the runs, and the minimum of those per-run peaks.
pub(crate) fn class_peaks(pools: &[PoolSpec], runs: &[Recording]) -> Vec<(u64, u64)> {
    let n = pools.len();
    let mut out = vec![(u64::MAX, 0u64); n];
    for run in runs {
        let homes: Vec<Option<usize>> =
            run.sizes().iter().map(|k| select_size(pools, k.size, k.align)).collect();
        let (mut live, mut peak) = (vec![0u64; n], vec![0u64; n]);
        for &event in run.raw_events() {
            let Some(pool) = homes[(event >> 1) as usize] else { continue };
            if event & FREE == 0 {
                live[pool] += 1;
                peak[pool] = peak[pool].max(live[pool]);
            } else {
                live[pool] -= 1;
            }
        }
        for (o, p) in out.iter_mut().zip(peak) {
            *o = (o.0.min(p), o.1.max(p));
        }
    }
    out.iter().map(|&(lo, hi)| (if lo == u64::MAX { 0 } else { lo }, hi)).collect()
}
