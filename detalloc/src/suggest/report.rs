//! [`Suggestion`]: the chosen pools, their figures, and the printable table.

use core::fmt;
use std::format;
use std::string::String;
use std::vec::Vec;

use super::{OutsideRecord, Recording, SizeRecord};
use crate::PoolSpec;

/// One suggested pool and the recorded sizes it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SuggestedPool {
    /// Block size, block count (the sum of the served sizes' peaks) and block alignment.
    pub spec: PoolSpec,
    /// The smallest request size this pool serves.
    pub min_size: usize,
    /// The largest request size this pool serves.
    pub max_size: usize,
    /// How many distinct recorded sizes it serves.
    pub sizes: usize,
    /// The largest alignment requested at those sizes (at most `spec.align`).
    pub max_align: usize,
    /// `sum(size x peak)` over the served sizes: the bytes the program asked for.
    pub requested_bytes: usize,
    /// `sum((block_size - size) x peak)`: `spec.bytes() - requested_bytes`.
    pub wasted_bytes: usize,
}

/// The result of [`suggest`](super::suggest): a pool list and the figures behind it.
///
/// Its `Display` output starts with a line to paste into a declaration, then the whole
/// declaration, then a table (figures from a recorded run):
///
/// ```text
/// pools: [256 x 703, 1464 x 32, 5840 x 13, 22800 x 1],
/// detalloc! { pub struct SizedHeap<pools: [256 x 703, 1464 x 32, 5840 x 13, 22800 x 1]>; }
/// 4 pools (at most 4 asked): 325536 B of blocks for 185753 B requested at the per-size peaks, 139783 B wasted (42.9 %)
/// pool  block  align  blocks  sizes served  distinct  requested B  wasted B   waste
///    0    256    256     703  4..255             221        72689    107279  59.6 %
///    1   1464      8      32  480..1460            6        27976     18872  40.3 %
///    2   5840     16      13  1920..5840           4        62288     13632  18.0 %
///    3  22800     16       1  22800..22800         1        22800         0   0.0 %
/// total                  749                     232       185753    139783  42.9 %
/// ```
///
/// followed, when there are any, by the budget and the requests no pool can serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pools: Vec<SuggestedPool>,
    max_pools: usize,
    budget: Option<usize>,
    unservable: Vec<SizeRecord>,
    oversize: OutsideRecord,
    overaligned: OutsideRecord,
    max_size: usize,
}

impl Suggestion {
    pub(super) fn new(
        pools: Vec<SuggestedPool>,
        max_pools: usize,
        budget: Option<usize>,
        unservable: Vec<SizeRecord>,
        recording: &Recording,
    ) -> Self {
        Self {
            pools,
            max_pools,
            budget,
            unservable,
            oversize: recording.oversize,
            overaligned: recording.overaligned,
            max_size: recording.max_size,
        }
    }

    /// The pools, ascending by block size, with the sizes each serves.
    pub fn pools(&self) -> &[SuggestedPool] {
        &self.pools
    }

    /// The pools as the `PoolSpec`s a heap declared with [`pools_line`](Self::pools_line)
    /// has in its `POOLS` constant.
    pub fn pool_specs(&self) -> Vec<PoolSpec> {
        self.pools.iter().map(|p| p.spec).collect()
    }

    /// Bytes of blocks in all pools: the `TOTAL_BYTES` of the declared heap.
    pub fn total_bytes(&self) -> usize {
        self.pools.iter().map(|p| p.spec.bytes()).sum()
    }

    /// Blocks in all pools.
    pub fn blocks(&self) -> usize {
        self.pools.iter().map(|p| p.spec.blocks).sum()
    }

    /// `sum(size x peak)` over the served sizes.
    pub fn requested_bytes(&self) -> usize {
        self.pools.iter().map(|p| p.requested_bytes).sum()
    }

    /// [`total_bytes`](Self::total_bytes) minus [`requested_bytes`](Self::requested_bytes):
    /// what rounding requests up to block sizes costs. This is what `suggest` minimises.
    pub fn wasted_bytes(&self) -> usize {
        self.pools.iter().map(|p| p.wasted_bytes).sum()
    }

    /// The pool count asked for (the suggestion may use fewer).
    pub fn max_pools(&self) -> usize {
        self.max_pools
    }

    /// The budget asked for, if any.
    pub fn budget(&self) -> Option<usize> {
        self.budget
    }

    /// Recorded sizes no pool can serve because they asked for an alignment above 4096 (only
    /// in hand-built recordings: a [`Recorder`](super::Recorder) counts those requests in
    /// [`overaligned`](Self::overaligned)).
    pub fn unservable(&self) -> &[SizeRecord] {
        &self.unservable
    }

    /// The recording's requests above its size cap: no pool serves them.
    pub fn oversize(&self) -> &OutsideRecord {
        &self.oversize
    }

    /// The recording's requests aligned to more than 4096: no pool serves them.
    pub fn overaligned(&self) -> &OutsideRecord {
        &self.overaligned
    }

    /// The pool list: `[16 x 120, 48 x 30, 256 x 8]`.
    pub fn pools_list(&self) -> String {
        format!("{}", List(&self.pools))
    }

    /// The line to paste into a declaration: `pools: [16 x 120, 48 x 30, 256 x 8],`.
    pub fn pools_line(&self) -> String {
        format!("pools: {},", List(&self.pools))
    }

    /// A whole declaration of a heap named `name` with these pools:
    /// `detalloc! { pub struct SizedHeap<pools: [16 x 120, 48 x 30]>; }`.
    pub fn declaration(&self, name: &str) -> String {
        format!("detalloc! {{ pub struct {name}<pools: {}>; }}", List(&self.pools))
    }
}

/// Writes `[S x N, ...]` without allocating.
struct List<'a>(&'a [SuggestedPool]);

impl fmt::Display for List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (index, pool) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{} x {}", pool.spec.block_size, pool.spec.blocks)?;
        }
        f.write_str("]")
    }
}

/// `part` of `whole` as a percentage with one decimal, `0.0 %` for an empty whole.
struct Percent(usize, usize);

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Percent(part, whole) = *self;
        let tenths =
            if whole == 0 { 0 } else { (part as u128 * 1000 + whole as u128 / 2) / whole as u128 };
        let text = format!("{}.{} %", tenths / 10, tenths % 10);
        f.pad(&text)
    }
}

impl fmt::Display for Suggestion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = List(&self.pools);
        let (total, requested, wasted) =
            (self.total_bytes(), self.requested_bytes(), self.wasted_bytes());
        writeln!(f, "pools: {list},")?;
        writeln!(f, "detalloc! {{ pub struct SizedHeap<pools: {list}>; }}")?;
        writeln!(
            f,
            "{} pools (at most {} asked): {total} B of blocks for {requested} B requested at the \
             per-size peaks, {wasted} B wasted ({})",
            self.pools.len(),
            self.max_pools,
            Percent(wasted, total)
        )?;
        writeln!(
            f,
            "pool  block  align  blocks  sizes served  distinct  requested B  wasted B   waste"
        )?;
        for (index, pool) in self.pools.iter().enumerate() {
            let served = format!("{}..{}", pool.min_size, pool.max_size);
            writeln!(
                f,
                "{index:>4}  {:>5}  {:>5}  {:>6}  {served:<12}  {:>8}  {:>11}  {:>8}  {:>6}",
                pool.spec.block_size,
                pool.spec.align,
                pool.spec.blocks,
                pool.sizes,
                pool.requested_bytes,
                pool.wasted_bytes,
                Percent(pool.wasted_bytes, pool.spec.bytes())
            )?;
        }
        let distinct: usize = self.pools.iter().map(|p| p.sizes).sum();
        writeln!(
            f,
            "total               {:>6}                {distinct:>8}  {requested:>11}  {wasted:>8}  {:>6}",
            self.blocks(),
            Percent(wasted, total)
        )?;
        if let Some(budget) = self.budget {
            writeln!(f, "budget {budget} B: {} B to spare", budget.saturating_sub(total))?;
        }
        let outside = [
            (&self.oversize, format!("oversize (above {} B)", self.max_size)),
            (&self.overaligned, String::from("overaligned (align above 4096)")),
        ];
        if !self.unservable.is_empty() || outside.iter().any(|(o, _)| !o.is_empty()) {
            writeln!(f, "not served by any pool (place these elsewhere):")?;
        }
        for (record, what) in outside {
            if !record.is_empty() {
                writeln!(
                    f,
                    "  {what}: {} requests, peak {} live ({} B), largest {} B (align {})",
                    record.requests,
                    record.peak,
                    record.peak_bytes,
                    record.largest_size,
                    record.largest_align
                )?;
            }
        }
        for record in &self.unservable {
            writeln!(
                f,
                "  size {} aligned to {}: peak {} live",
                record.size, record.max_align, record.peak
            )?;
        }
        Ok(())
    }
}
