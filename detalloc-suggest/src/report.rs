//! [`Suggestion`]: the chosen pools, their figures, and the declaration to paste.

use std::fmt::{self, Write as _};

use detalloc::PoolSpec;

use crate::bound::{PoolsBound, SizesBound};
use crate::options::{Options, SyncChoice};
use crate::peaks::{Candidates, Unservable};
use crate::recording::Recording;

/// One suggested pool and the recorded sizes it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SuggestedPool {
    /// Block size, block count (the largest peak plus the margin) and block alignment.
    pub spec: PoolSpec,
    /// The smallest request size this pool serves.
    pub min_size: usize,
    /// The largest request size this pool serves.
    pub max_size: usize,
    /// How many distinct recorded sizes it serves.
    pub sizes: usize,
    /// The largest alignment requested at those sizes (at most `spec.align`).
    pub max_align: usize,
    /// The smallest, over the runs, of the most blocks of its sizes live at once.
    pub peak_min: u64,
    /// The largest, over the runs, of the most blocks of its sizes live at once.
    pub peak_max: u64,
    /// The sum of its kinds' own peaks (each the maximum over the runs): what the count
    /// would be if every size peaked at the same moment.
    pub own_peaks: u64,
}

/// How the counts of a spill suggestion were found ([`Suggestion::spill_fit`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SpillFit {
    /// Per pool, the counts replay found before the margin: every run passes under every
    /// [`FreePolicy`](crate::FreePolicy) with them.
    pub fitted: Vec<u64>,
    /// The pool that took the margin's spare blocks ([`spare_pool`](crate::spare_pool)).
    pub spare: usize,
    /// Replay rounds (each: every run under every policy) it took, the margin's check
    /// included.
    pub rounds: usize,
}

/// The lower bounds and the spill fit behind a suggestion.
pub(crate) struct Bounds {
    pub sizes: SizesBound,
    pub pools: PoolsBound,
    pub spill: Option<SpillFit>,
}

/// The result of [`suggest`](crate::suggest): a pool list, the figures behind it, and a
/// complete declaration.
///
/// Its `Display` output is Rust source: a comment saying what it covers, the `detalloc!`
/// declaration with `pools:` and `sync:`, the `#[global_allocator]` static (unless
/// [`Options::global`] is `None`), and the table behind the pools as comments. Pasted into a
/// program (which depends on `detalloc`), it compiles as that program's global allocator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pools: Vec<SuggestedPool>,
    options: Options,
    runs: usize,
    threads: usize,
    events: usize,
    sync: &'static str,
    distinct_sizes: usize,
    candidates: usize,
    grouping: Option<u32>,
    unservable: Vec<Unservable>,
    peak_live_bytes: (u128, u128),
    sizes_bound: SizesBound,
    pools_bound: PoolsBound,
    spill_fit: Option<SpillFit>,
}

impl Suggestion {
    pub(crate) fn new(
        pools: Vec<SuggestedPool>,
        options: Options,
        runs: &[Recording],
        candidates: &Candidates,
        bounds: Bounds,
    ) -> Self {
        let threads = runs.iter().map(Recording::threads).max().unwrap_or(1);
        let sync = match options.sync.keyword() {
            Some(keyword) => keyword,
            None if options.global.is_some() || threads > 1 => "spin",
            None => "local",
        };
        let peaks = runs.iter().map(Recording::peak_live_bytes);
        let peak_live_bytes = (peaks.clone().min().unwrap_or(0), peaks.max().unwrap_or(0));
        Self {
            pools,
            runs: runs.len(),
            threads,
            events: runs.iter().map(Recording::events).sum(),
            sync,
            distinct_sizes: candidates.buckets.iter().map(|b| b.sizes).sum(),
            candidates: candidates.buckets.len(),
            grouping: candidates.grouping,
            unservable: candidates.unservable.clone(),
            peak_live_bytes,
            options,
            sizes_bound: bounds.sizes,
            pools_bound: bounds.pools,
            spill_fit: bounds.spill,
        }
    }

    /// The pools, ascending by block size, with the sizes each serves.
    pub fn pools(&self) -> &[SuggestedPool] {
        &self.pools
    }

    /// The pools as the `PoolSpec`s of the declared heap's `POOLS` constant.
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

    /// The options it was made with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// How many recorded runs it covers.
    pub fn runs(&self) -> usize {
        self.runs
    }

    /// The most threads seen allocating in one run.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The `sync:` mode of the declaration.
    pub fn sync(&self) -> &'static str {
        self.sync
    }

    /// The smallest and the largest, over the runs, of the most requested bytes live at once
    /// (in logged order).
    pub fn peak_live_bytes(&self) -> (u128, u128) {
        self.peak_live_bytes
    }

    /// Whether every distinct size was its own candidate (the optimum is then exact over
    /// every contiguous split of the sizes); otherwise sizes within a factor `1 + 2^-g` of
    /// each other were grouped, `g` returned here.
    pub fn grouping(&self) -> Option<u32> {
        self.grouping
    }

    /// Request kinds no pool can serve (aligned to more than 4096): the program needs
    /// another allocator for them, or the heap fails them.
    pub fn unservable(&self) -> &[Unservable] {
        &self.unservable
    }

    /// The least bytes any heap with this suggestion's block sizes can have and serve the
    /// recorded runs, spill or not ([`bound_for_sizes`](crate::bound_for_sizes)).
    pub fn sizes_bound(&self) -> &SizesBound {
        &self.sizes_bound
    }

    /// The least bytes any heap of at most [`Options::pools`] pools, with any block sizes and
    /// counts, spill or not, can have and serve the recorded runs
    /// ([`bound_for_pools`](crate::bound_for_pools)).
    pub fn pools_bound(&self) -> &PoolsBound {
        &self.pools_bound
    }

    /// With [`Options::spill`]: how the counts were found.
    pub fn spill_fit(&self) -> Option<&SpillFit> {
        self.spill_fit.as_ref()
    }

    /// The pool list: `[16 x 120, 48 x 30, 256 x 8]`.
    pub fn pools_list(&self) -> String {
        let mut list = String::from("[");
        for (index, pool) in self.pools.iter().enumerate() {
            let sep = if index > 0 { ", " } else { "" };
            let _ = write!(list, "{sep}{} x {}", pool.spec.block_size, pool.spec.blocks);
        }
        list.push(']');
        list
    }

    /// The `pools:` line: `pools: [16 x 120, 48 x 30, 256 x 8],`.
    pub fn pools_line(&self) -> String {
        format!("pools: {},", self.pools_list())
    }

    /// The declaration alone (no comments): the `detalloc!` item and, unless
    /// [`Options::global`] is `None`, the `#[global_allocator]` static.
    pub fn declaration(&self) -> String {
        let name = &self.options.name;
        let mut text = format!(
            "detalloc::detalloc! {{\n    /// Pools sized by detalloc-suggest from {} recorded run{}.\n    \
             pub struct {name}<\n        {}\n        sync: {},{}\n    >;\n}}\n",
            self.runs,
            plural(self.runs),
            self.pools_line(),
            self.sync,
            if self.options.spill { "\n        spill: true," } else { "" }
        );
        if let Some(global) = &self.options.global {
            let _ =
                write!(text, "\n#[global_allocator]\nstatic {global}: {name} = {name}::new();\n");
        }
        text
    }

    fn why_sync(&self) -> String {
        let threads = format!("{} thread{} allocated", self.threads, plural(self.threads));
        match (self.options.sync, self.options.global.is_some()) {
            (SyncChoice::Auto, true) if self.threads > 1 => threads,
            (SyncChoice::Auto, true) => {
                format!(
                    "{threads}, and a global allocator must be Sync (critical_section also \
                         works on one core)"
                )
            }
            (SyncChoice::Auto, false) => threads,
            _ => format!("as asked ({threads})"),
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `part / whole` with two decimals.
struct Ratio(u128, u128);

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Ratio(part, whole) = *self;
        if whole == 0 {
            return f.write_str("-");
        }
        let hundredths = (part * 100 + whole / 2) / whole;
        write!(f, "{}.{:02}x", hundredths / 100, hundredths % 100)
    }
}

impl fmt::Display for Suggestion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Options { pools, budget, margin, .. } = &self.options;
        writeln!(
            f,
            "// Suggested by detalloc-suggest from {} recorded run{} ({} events): at most {pools} \
             pools,\n// each counting the most blocks of its sizes live at once in any run, \
             margin {margin}.",
            self.runs,
            plural(self.runs),
            self.events
        )?;
        f.write_str(&self.declaration())?;
        writeln!(f)?;
        writeln!(
            f,
            "// pool     block  align    blocks  peak over runs  sum of size peaks  from here up     bound  sizes served           distinct            bytes"
        )?;
        for (index, pool) in self.pools.iter().enumerate() {
            let peaks = format!("{}..{}", pool.peak_min, pool.peak_max);
            let served = format!("{}..{}", pool.min_size, pool.max_size);
            writeln!(
                f,
                "// {index:>4}  {:>8}  {:>5}  {:>8}  {peaks:>14}  {:>17}  {:>12}  {:>8}  {served:<21}  {:>8}  {:>15}",
                pool.spec.block_size,
                pool.spec.align,
                pool.spec.blocks,
                pool.own_peaks,
                self.sizes_bound.suffix_peaks.get(index).copied().unwrap_or(0),
                self.sizes_bound.blocks.get(index).copied().unwrap_or(0),
                pool.sizes,
                pool.spec.bytes()
            )?;
        }
        let own: u64 = self.pools.iter().map(|p| p.own_peaks).sum();
        let bound_blocks: u64 = self.sizes_bound.blocks.iter().sum();
        writeln!(
            f,
            "// total                  {:>8}                  {own:>17}                {bound_blocks:>8}                         {:>8}  {:>15}",
            self.blocks(),
            self.distinct_sizes,
            self.total_bytes()
        )?;
        let (low, high) = self.peak_live_bytes;
        writeln!(
            f,
            "// {} B of blocks; peak of live requested bytes {low}..{high} B over the runs: \
             {} the largest.",
            self.total_bytes(),
            Ratio(self.total_bytes() as u128, high)
        )?;
        let total = self.total_bytes() as u128;
        writeln!(
            f,
            "// Lower bound for these block sizes, any counts, spill or not: {} B ({} of it).",
            self.sizes_bound.bytes,
            Ratio(total, self.sizes_bound.bytes)
        )?;
        let classes: Vec<String> = self
            .pools_bound
            .classes
            .iter()
            .map(|(size, blocks)| format!("{size} x {blocks}"))
            .collect();
        writeln!(
            f,
            "// Lower bound for any heap of at most {} pools, any sizes and counts, spill or not: \
             {} B ({} of it), at [{}].",
            self.pools_bound.pools,
            self.pools_bound.bytes,
            Ratio(total, self.pools_bound.bytes),
            classes.join(", ")
        )?;
        if let Some(fit) = &self.spill_fit {
            let fitted: u128 = self
                .pools
                .iter()
                .zip(&fit.fitted)
                .map(|(p, &c)| p.spec.block_size as u128 * u128::from(c))
                .sum();
            writeln!(
                f,
                "// spill: counts found by replaying every run under 4 free policies ({} rounds): \
                 {fitted} B before the margin ({} of the bound for these sizes); margin {}: \
                 spare blocks in pool {}.",
                fit.rounds,
                Ratio(fitted, self.sizes_bound.bytes),
                self.options.margin,
                fit.spare
            )?;
        }
        writeln!(f, "// sync: {}: {}.", self.sync, self.why_sync())?;
        match self.grouping {
            None => writeln!(
                f,
                "// Candidates: every distinct size ({}): the fewest bytes over every split.",
                self.distinct_sizes
            )?,
            Some(g) => writeln!(
                f,
                "// Candidates: {} distinct sizes in {} groups of sizes within 1/{} of each \
                 other: the fewest bytes over the splits between groups.",
                self.distinct_sizes,
                self.candidates,
                1u64 << g
            )?,
        }
        if let Some(budget) = budget {
            writeln!(
                f,
                "// Budget {budget} B: {} B to spare.",
                budget.saturating_sub(self.total_bytes())
            )?;
        }
        for kind in &self.unservable {
            writeln!(
                f,
                "// NOT SERVED by any pool (aligned above 4096): {} B aligned to {}, peak {} \
                 live: the heap fails these requests.",
                kind.size, kind.align, kind.peak
            )?;
        }
        Ok(())
    }
}
