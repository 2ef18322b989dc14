//! The model's counters against the heap's: `stats()` and every `pool_stats(i)` equal to what
//! the model counted (all zero with `stats: false`), and `reset_stats` as the model sees it.

use detalloc::{Heap, PoolStats};

use crate::model::{Counts, Fail, Model, fail};

impl Model {
    /// `reset_stats`: counters to 0, peaks to the current use.
    pub fn reset(&mut self) {
        for c in &mut self.counts {
            *c = Counts { in_use: c.in_use, peak: c.in_use, ..Counts::default() };
        }
        self.failures = 0;
        self.invalid_frees = 0;
    }

    /// The heap's counters against the model's (all zero with `stats: false`). `alt`: other
    /// pool failure counts the heap may have instead (a resize that may or may not have asked
    /// a full pool first); when they match, the model adopts them.
    pub fn check_stats(&mut self, heap: &dyn Heap, alt: Option<Vec<u64>>) -> Result<(), Fail> {
        let pools = self.shape.pools;
        if let Some(alt) = alt {
            let got: Vec<u64> =
                (0..pools.len()).map(|p| heap.pool_stats(p).map_or(0, |s| s.failures)).collect();
            if self.shape.stats && got == alt {
                for (c, f) in self.counts.iter_mut().zip(alt) {
                    c.failures = f;
                }
            }
        }
        let on = self.shape.stats;
        for (p, (spec, c)) in pools.iter().zip(&self.counts).enumerate() {
            let want = PoolStats {
                block_size: spec.block_size,
                blocks: spec.blocks,
                in_use: if on { c.in_use } else { 0 },
                peak: if on { c.peak } else { 0 },
                allocs: if on { c.allocs } else { 0 },
                frees: if on { c.frees } else { 0 },
                failures: if on { c.failures } else { 0 },
            };
            let got = heap.pool_stats(p);
            if got != Some(want) {
                return Err(fail(
                    "stats",
                    format!("pool_stats({p}): heap {got:?}, model {want:?}"),
                ));
            }
        }
        if let Some(extra) = heap.pool_stats(pools.len()) {
            return Err(fail(
                "stats",
                format!("pool_stats({}) past the last pool: {extra:?}", pools.len()),
            ));
        }
        let s = heap.stats();
        let sum = |f: &dyn Fn(&Counts, usize) -> usize| -> usize {
            if on {
                self.counts.iter().zip(pools).map(|(c, p)| f(c, p.block_size)).sum()
            } else {
                0
            }
        };
        let want = (
            pools.iter().map(|p| p.bytes()).sum::<usize>(),
            sum(&|c, s| c.in_use * s),
            sum(&|c, s| c.peak * s),
            sum(&|c, _| c.allocs as usize) as u64,
            sum(&|c, _| c.frees as usize) as u64,
            if on { self.failures } else { 0 },
            if on { self.invalid_frees } else { 0 },
        );
        let got = (
            s.total_bytes,
            s.in_use_bytes,
            s.peak_bytes,
            s.allocs,
            s.frees,
            s.failures,
            s.invalid_frees,
        );
        if got != want || (s.wcet_alloc_cycles, s.wcet_free_cycles) != (0, 0) {
            return Err(fail(
                "stats",
                format!(
                    "stats() (total, in use, peak bytes, allocs, frees, failures, invalid frees): \
                     heap {got:?}, model {want:?}"
                ),
            ));
        }
        Ok(())
    }
}
