//! The heap's printable report: its summary line, its totals and one row per pool.

use core::fmt;

use crate::{Heap, PoolSpec};

/// A snapshot-on-print report of a heap, from [`Heap::report`]. Its `Display` output:
///
/// ```text
/// AudioHeap: 3 pools [16 x 64, 64 x 32, 256 x 8], 5120 B of blocks + 256 B metadata, sync=spin stats=on validate=debug
/// in use 144 of 5120 B (peak 400 B); 9 allocs, 6 frees, 1 failures, 0 invalid frees
/// pool  block  align  blocks  in use  peak  allocs  frees  failures
///    0     16     16      64       2     4       5      3         0
///    1     64     64      32       1     2       3      2         1
///    2    256    256       8       0     1       1      1         0
/// ```
///
/// With `wcet` configured a line after the totals gives the longest and the mean measured
/// alloc and free, in clock ticks; with `waiters` a second table gives each pool's waits.
pub struct Report<'a> {
    heap: &'a dyn Heap,
    summary: &'static str,
    pools: &'static [PoolSpec],
}

impl<'a> Report<'a> {
    #[doc(hidden)]
    pub fn new(heap: &'a dyn Heap, summary: &'static str, pools: &'static [PoolSpec]) -> Self {
        Self { heap, summary, pools }
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.heap.stats();
        writeln!(f, "{}", self.summary)?;
        write!(
            f,
            "in use {} of {} B (peak {} B); {} allocs, {} frees, {} failures, {} invalid frees",
            s.in_use_bytes,
            s.total_bytes,
            s.peak_bytes,
            s.allocs,
            s.frees,
            s.failures,
            s.invalid_frees
        )?;
        if let Some(t) = self.heap.timing() {
            write!(
                f,
                "\nwcet: alloc max {} mean {} ticks ({} ops); free max {} mean {} ticks ({} ops)",
                t.alloc.max,
                t.alloc.mean(),
                t.alloc.count,
                t.free.max,
                t.free.mean(),
                t.free.count
            )?;
        }
        writeln!(f)?;
        writeln!(f, "pool  block  align  blocks  in use  peak  allocs  frees  failures")?;
        for (index, spec) in self.pools.iter().enumerate() {
            let p = self.heap.pool_stats(index).unwrap_or_default();
            writeln!(
                f,
                "{index:>4}  {:>5}  {:>5}  {:>6}  {:>6}  {:>4}  {:>6}  {:>5}  {:>8}",
                spec.block_size,
                spec.align,
                spec.blocks,
                p.in_use,
                p.peak,
                p.allocs,
                p.frees,
                p.failures
            )?;
        }
        if self.heap.wait_stats(0).is_some() {
            writeln!(f, "pool  waited  handed  cancelled  longest queue")?;
            for index in 0..self.pools.len() {
                let w = self.heap.wait_stats(index).unwrap_or_default();
                writeln!(
                    f,
                    "{index:>4}  {:>6}  {:>6}  {:>9}  {:>13}",
                    w.waited, w.handed_off, w.cancelled, w.longest_queue
                )?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
