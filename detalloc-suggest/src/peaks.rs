//! The candidate classes and their simultaneous peaks: for every contiguous range of
//! candidate sizes, the most blocks of those sizes live at one point of each run.

use std::collections::BTreeMap;
use std::thread;

use crate::recording::{FREE, Recording};

/// The largest block alignment: the pools' rule caps it at 4096 (`detalloc::block_align`).
pub(crate) const MAX_BLOCK_ALIGN: usize = 4096;

/// The default of [`Options::exact_sizes`](crate::Options::exact_sizes): up to this many
/// distinct sizes, every size is its own candidate and the optimum is exact over every
/// contiguous split.
pub const EXACT_SIZES: usize = 1024;

/// Sizes that must share a pool (consecutive candidate boundaries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bucket {
    /// The smallest size in it.
    pub min_size: usize,
    /// The largest size in it.
    pub max_size: usize,
    /// The largest alignment requested at its sizes.
    pub max_align: usize,
    /// Distinct sizes in it.
    pub sizes: usize,
}

/// A request kind no pool serves (aligned to more than 4096).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unservable {
    /// Requested bytes.
    pub size: usize,
    /// Requested alignment.
    pub align: usize,
    /// Most blocks of this kind live at once, the maximum over the runs.
    pub peak: u64,
}

/// The candidates of a set of runs and, per run, the simultaneous peak of every range.
pub(crate) struct Candidates {
    pub buckets: Vec<Bucket>,
    /// `None`: one bucket per distinct size. `Some(g)`: sizes grouped so that the sizes of a
    /// bucket are within a factor `1 + 2^-g` of each other.
    pub grouping: Option<u32>,
    pub unservable: Vec<Unservable>,
    /// Per run, `n x n` (row `lo`, column `hi >= lo`): the most blocks of the sizes in buckets
    /// `lo..=hi` live at one point of the run.
    peaks: Vec<Vec<u32>>,
    /// Per bucket, the sum over its kinds of their own peaks (each the maximum over runs).
    pub own_peaks: Vec<u64>,
    /// Per bucket `b` (and `n`, 0), the most blocks of buckets `b..` live at one point of a
    /// run, the maximum over the runs: what the blocks of pools from `b` up must hold.
    pub suffix: Vec<u64>,
}

impl Candidates {
    /// The candidates of `runs`: every distinct size, or groups of sizes when there are more
    /// than `exact_sizes` (at least 64 groups, whatever `exact_sizes` says). With `ranges`,
    /// the peak of every range of buckets (`O(n x E log n)`); without, only the suffixes'
    /// (`O(E log n)`).
    pub fn new(runs: &[Recording], exact_sizes: usize, ranges: bool) -> Self {
        let mut sizes: BTreeMap<usize, usize> = BTreeMap::new();
        let mut outside: BTreeMap<(usize, usize), u64> = BTreeMap::new();
        for run in runs {
            for kind in run.sizes() {
                if kind.align > MAX_BLOCK_ALIGN {
                    let peak = outside.entry((kind.size, kind.align)).or_default();
                    *peak = (*peak).max(kind.peak);
                } else {
                    let align = sizes.entry(kind.size).or_default();
                    *align = (*align).max(kind.align);
                }
            }
        }
        let grouping = (sizes.len() > exact_sizes)
            .then(|| (0..=8).rev().find(|&g| groups(sizes.keys(), g) <= exact_sizes).unwrap_or(0));
        let mut buckets: Vec<Bucket> = Vec::new();
        let mut last_key = None;
        for (&size, &align) in &sizes {
            let key = grouping.map_or((0, size), |g| group_key(size, g));
            match buckets.last_mut() {
                Some(bucket) if last_key == Some(key) => {
                    bucket.max_size = size;
                    bucket.max_align = bucket.max_align.max(align);
                    bucket.sizes += 1;
                }
                _ => buckets.push(Bucket {
                    min_size: size,
                    max_size: size,
                    max_align: align,
                    sizes: 1,
                }),
            }
            last_key = Some(key);
        }
        let n = buckets.len();
        let bucket_of = |size: usize| buckets.partition_point(|b| b.max_size < size);
        let mut own_peaks = vec![0u64; n];
        let mut own: BTreeMap<(usize, usize), u64> = BTreeMap::new();
        let mut peaks = Vec::with_capacity(runs.len());
        let mut suffix = vec![0u64; n + 1];
        for run in runs {
            let kinds: Vec<Option<u32>> = run
                .sizes()
                .iter()
                .map(|k| (k.align <= MAX_BLOCK_ALIGN).then(|| bucket_of(k.size) as u32))
                .collect();
            for kind in run.sizes().iter().filter(|k| k.align <= MAX_BLOCK_ALIGN) {
                let peak = own.entry((kind.size, kind.align)).or_default();
                *peak = (*peak).max(kind.peak);
            }
            let reversed: Vec<Option<u32>> =
                kinds.iter().map(|k| k.map(|b| (n - 1) as u32 - b)).collect();
            let mut tree = HistoryTree::new(n);
            for (position, delta) in deltas(run.raw_events(), &reversed) {
                tree.suffix_add(position as usize, delta);
            }
            for (b, peak) in tree.maxima(n).into_iter().rev().enumerate() {
                suffix[b] = suffix[b].max(u64::from(peak));
            }
            if ranges {
                peaks.push(range_peaks(&deltas(run.raw_events(), &kinds), n));
            }
        }
        for (&(size, _), &peak) in &own {
            own_peaks[bucket_of(size)] += peak;
        }
        let unservable = outside
            .into_iter()
            .map(|((size, align), peak)| Unservable { size, align, peak })
            .collect();
        Self { buckets, grouping, unservable, peaks, own_peaks, suffix }
    }

    /// The simultaneous peak of buckets `lo..=hi` in each run.
    pub fn peaks(&self, lo: usize, hi: usize) -> impl Iterator<Item = u32> + '_ {
        let n = self.buckets.len();
        self.peaks.iter().map(move |run| run[lo * n + hi])
    }
}

/// How many groups `sizes` make at grouping `g`.
fn groups<'a>(sizes: impl Iterator<Item = &'a usize>, g: u32) -> usize {
    let mut count = 0;
    let mut last = None;
    for &size in sizes {
        let key = group_key(size, g);
        if last != Some(key) {
            count += 1;
            last = Some(key);
        }
    }
    count
}

/// Sizes with the same key are within a factor `1 + 2^-g` of each other: below `2^(g+1)`
/// each size is its own group; above, the octave `[2^e, 2^(e+1))` is cut into `2^g` steps.
fn group_key(size: usize, g: u32) -> (u32, usize) {
    let e = usize::BITS - 1 - size.leading_zeros();
    if e <= g { (0, size) } else { (e, size >> (e - g)) }
}

/// The events of a run as bucket deltas (`bucket`, `+k`/`-k`), unservable kinds left out and
/// runs of equal events merged.
pub(crate) fn deltas(events: &[u32], kinds: &[Option<u32>]) -> Vec<(u32, i32)> {
    let mut out: Vec<(u32, i32)> = Vec::with_capacity(events.len());
    for &event in events {
        let Some(bucket) = kinds[(event >> 1) as usize] else { continue };
        push_merged(&mut out, bucket, if event & FREE == 0 { 1 } else { -1 });
    }
    out
}

fn push_merged(out: &mut Vec<(u32, i32)>, bucket: u32, delta: i32) {
    match out.last_mut() {
        Some((b, d))
            if *b == bucket && (*d > 0) == (delta > 0) && d.checked_add(delta).is_some() =>
        {
            *d += delta;
        }
        _ => out.push((bucket, delta)),
    }
}

/// For every `lo <= hi < n`, the maximum over the run of the live blocks in buckets
/// `lo..=hi`: row-major `n x n`, zero below the diagonal.
///
/// One sweep of the events per `lo` (events below `lo` filtered out as `lo` grows), each
/// event a suffix add on a segment tree that keeps each leaf's historical maximum: `O(n x E'
/// x log n)` for `E'` merged events, spread over the machine's cores.
fn range_peaks(events: &[(u32, i32)], n: usize) -> Vec<u32> {
    let mut peaks = vec![0u32; n * n];
    if n == 0 {
        return peaks;
    }
    let workers = thread::available_parallelism().map_or(1, |p| p.get()).min(n);
    let rows: Vec<(usize, Vec<u32>)> = thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                scope.spawn(move || {
                    let mut tree = HistoryTree::new(n);
                    let mut own: Vec<(u32, i32)> = Vec::new();
                    let mut rows = Vec::new();
                    for lo in (worker..n).step_by(workers) {
                        let source = if own.is_empty() && lo == worker { events } else { &own };
                        let mut kept = Vec::with_capacity(source.len());
                        for &(bucket, delta) in source {
                            if bucket as usize >= lo {
                                push_merged(&mut kept, bucket, delta);
                            }
                        }
                        own = kept;
                        tree.clear();
                        for &(bucket, delta) in &own {
                            tree.suffix_add(bucket as usize, delta);
                        }
                        rows.push((lo, tree.maxima(n)));
                    }
                    rows
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("a peak worker panicked")).collect()
    });
    for (lo, row) in rows {
        for hi in lo..n {
            peaks[lo * n + hi] = row[hi];
        }
    }
    peaks
}

/// A segment tree over positions `0..n` starting at 0, with suffix adds, that remembers each
/// position's largest value. A node's pending tag is `(add, high)`: the adds not yet passed
/// to its children, and the largest partial sum of them (at least 0, the empty one).
pub(crate) struct HistoryTree {
    leaves: usize,
    add: Vec<i64>,
    high: Vec<i64>,
}

impl HistoryTree {
    pub(crate) fn new(n: usize) -> Self {
        let leaves = n.next_power_of_two();
        Self { leaves, add: vec![0; 2 * leaves], high: vec![0; 2 * leaves] }
    }

    fn clear(&mut self) {
        self.add.fill(0);
        self.high.fill(0);
    }

    fn apply(&mut self, node: usize, delta: i64) {
        self.high[node] = self.high[node].max(self.add[node] + delta);
        self.add[node] += delta;
    }

    fn push(&mut self, node: usize) {
        let (add, high) = (self.add[node], self.high[node]);
        if add == 0 && high == 0 {
            return;
        }
        for child in [2 * node, 2 * node + 1] {
            self.high[child] = self.high[child].max(self.add[child] + high);
            self.add[child] += add;
        }
        self.add[node] = 0;
        self.high[node] = 0;
    }

    /// Adds `delta` to every position `>= from`.
    pub(crate) fn suffix_add(&mut self, from: usize, delta: i32) {
        let delta = i64::from(delta);
        let (mut node, mut l, mut r) = (1, 0, self.leaves);
        loop {
            if from <= l {
                self.apply(node, delta);
                return;
            }
            if from >= r {
                return;
            }
            self.push(node);
            let mid = (l + r) / 2;
            if from <= mid {
                self.apply(2 * node + 1, delta);
                (node, r) = (2 * node, mid);
            } else {
                (node, l) = (2 * node + 1, mid);
            }
        }
    }

    /// Each position's largest value so far, for positions `0..n`.
    pub(crate) fn maxima(&mut self, n: usize) -> Vec<u32> {
        for node in 1..self.leaves {
            self.push(node);
        }
        self.high[self.leaves..self.leaves + n]
            .iter()
            .map(|&h| u32::try_from(h).unwrap_or(u32::MAX))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same maxima by brute force: replay and take every range's sum at every step.
    fn brute(events: &[(u32, i32)], n: usize) -> Vec<u32> {
        let mut live = vec![0i64; n];
        let mut best = vec![0u32; n * n];
        for &(bucket, delta) in events {
            live[bucket as usize] += i64::from(delta);
            for lo in 0..n {
                let mut sum = 0;
                for hi in lo..n {
                    sum += live[hi];
                    best[lo * n + hi] = best[lo * n + hi].max(sum as u32);
                }
            }
        }
        best
    }

    #[test]
    fn range_peaks_match_brute_force() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        for _ in 0..300 {
            let n = 1 + next(11) as usize;
            let mut live = vec![0i32; n];
            let mut events = Vec::new();
            for _ in 0..next(120) {
                let bucket = next(n as u64) as usize;
                let delta = if live[bucket] > 0 && next(5) < 2 { -1 } else { 1 };
                live[bucket] += delta;
                push_merged(&mut events, bucket as u32, delta);
            }
            assert_eq!(range_peaks(&events, n), brute(&events, n), "{events:?}");
        }
    }

    #[test]
    fn groups_hold_sizes_within_the_stated_factor() {
        for g in 0..=8 {
            let mut first: Option<((u32, usize), usize)> = None;
            for size in 1..5000usize {
                let key = group_key(size, g);
                match first {
                    Some((k, low)) if k == key => {
                        assert!(size * (1 << g) < low * ((1 << g) + 1), "g={g}: {low}..{size}");
                    }
                    _ => first = Some((key, size)),
                }
            }
        }
    }
}
