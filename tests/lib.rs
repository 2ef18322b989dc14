//! Shared helpers of the integration tests: a seeded generator and the model-based checker.

use std::alloc::Layout;
use std::ptr::NonNull;

use detalloc::{Heap, PoolSpec};

/// xorshift64*: small, seeded, good enough to pick operations.
pub struct Rng(u64);

impl Rng {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Operations per model run: long natively, short under Miri.
pub const fn ops(native: usize) -> usize {
    if cfg!(miri) { native / 100 } else { native }
}

/// The pool a layout selects under the documented rule, or `None`.
pub fn select(pools: &[PoolSpec], layout: Layout) -> Option<usize> {
    pools.iter().position(|p| p.block_size >= layout.size().max(1) && p.align >= layout.align())
}

struct Live {
    ptr: NonNull<u8>,
    layout: Layout,
    pool: usize,
    stamp: u8,
}

/// Runs `ops` random allocations and frees against `heap` and checks, after every step:
/// alignment, no two live blocks overlap, every live block's contents intact, exhaustion
/// exactly when the model says the pool is full, every counter equal to the model's, and
/// (every `audit_every` steps) `validate()` clean. Then frees everything and checks every
/// pool refills to exactly its capacity (nothing lost).
///
/// `spill`: whether the heap was declared with `spill: true`. `stats`: with `stats: true`.
pub fn run_model(
    heap: &dyn Heap,
    pools: &[PoolSpec],
    seed: u64,
    ops: usize,
    spill: bool,
    stats: bool,
) {
    let mut rng = Rng::new(seed);
    let mut live: Vec<Live> = Vec::new();
    let mut in_use = vec![0usize; pools.len()];
    let mut peak = vec![0usize; pools.len()];
    let (mut allocs, mut frees, mut failures) = (0u64, 0u64, 0u64);
    let mut pool_failures = vec![0u64; pools.len()];
    let largest = pools.last().map_or(0, |p| p.block_size);
    let audit_every = (ops / 50).max(1);

    for step in 0..ops {
        let grow = live.is_empty() || rng.below(100) < 55;
        if grow {
            let size = rng.below(largest + largest / 4 + 1);
            let align = 1usize << rng.below(8);
            let layout = Layout::from_size_align(size, align).unwrap();
            let selected = select(pools, layout);
            let served = selected.and_then(|first| {
                let candidates = if spill { first..pools.len() } else { first..first + 1 };
                candidates.clone().filter(|&p| pools[p].align >= align).find(|&p| {
                    let full = in_use[p] == pools[p].blocks;
                    if full {
                        pool_failures[p] += 1;
                    }
                    !full
                })
            });
            match (heap.allocate(layout), served) {
                (Ok(ptr), Some(pool)) => {
                    let addr = ptr.as_ptr() as usize;
                    assert_eq!(addr % pools[pool].align, 0, "block not aligned to its pool");
                    assert_eq!(addr % layout.align(), 0, "block not aligned to the request");
                    for other in &live {
                        let o = other.ptr.as_ptr() as usize;
                        let o_end = o + pools[other.pool].block_size;
                        assert!(addr + pools[pool].block_size <= o || o_end <= addr, "overlap");
                    }
                    let stamp = rng.next_u64() as u8;
                    // SAFETY: the block is live, owned here, and at least `size` bytes long.
                    unsafe { ptr.as_ptr().write_bytes(stamp, layout.size()) };
                    live.push(Live { ptr, layout, pool, stamp });
                    in_use[pool] += 1;
                    peak[pool] = peak[pool].max(in_use[pool]);
                    allocs += 1;
                }
                (Err(_), None) => failures += 1,
                (got, want) => {
                    panic!("step {step}: {layout:?}: heap gave {got:?}, model wants pool {want:?}")
                }
            }
        } else {
            let index = rng.below(live.len());
            let block = live.swap_remove(index);
            // SAFETY: reading the bytes this test wrote into its own live block.
            let bytes =
                unsafe { std::slice::from_raw_parts(block.ptr.as_ptr(), block.layout.size()) };
            assert!(bytes.iter().all(|&b| b == block.stamp), "step {step}: block contents changed");
            // SAFETY: the block came from this heap with this layout and is freed once.
            unsafe { heap.deallocate(block.ptr, block.layout) }.expect("a valid free is accepted");
            in_use[block.pool] -= 1;
            frees += 1;
        }
        if stats {
            for (pool, spec) in pools.iter().enumerate() {
                let p = heap.pool_stats(pool).unwrap();
                assert_eq!(p.in_use, in_use[pool], "step {step}: pool {pool} in_use");
                assert_eq!(p.peak, peak[pool], "step {step}: pool {pool} peak");
                assert_eq!(p.failures, pool_failures[pool], "step {step}: pool {pool} failures");
                assert_eq!((p.block_size, p.blocks), (spec.block_size, spec.blocks));
            }
            let s = heap.stats();
            assert_eq!((s.allocs, s.frees, s.failures), (allocs, frees, failures), "step {step}");
            let bytes: usize = pools.iter().zip(&in_use).map(|(p, n)| p.block_size * n).sum();
            assert_eq!(s.in_use_bytes, bytes);
        }
        if step % audit_every == 0 {
            heap.validate().unwrap_or_else(|c| panic!("step {step}: {c}"));
        }
    }

    for block in live.drain(..) {
        // SAFETY: every remaining block is live and freed once.
        unsafe { heap.deallocate(block.ptr, block.layout) }.unwrap();
    }
    heap.validate().unwrap();
    assert_refills(heap, pools, spill);
}

/// Every pool hands out exactly its capacity, then refuses (without `spill`); all blocks
/// distinct. Leaves the heap as it found it.
pub fn assert_refills(heap: &dyn Heap, pools: &[PoolSpec], spill: bool) {
    for (pool, spec) in pools.iter().enumerate() {
        let layout = Layout::from_size_align(spec.block_size, spec.align).unwrap();
        assert_eq!(select(pools, layout), Some(pool));
        let blocks: Vec<NonNull<u8>> = (0..spec.blocks)
            .map(|_| heap.allocate(layout).expect("pool refills to its capacity"))
            .collect();
        let mut addrs: Vec<usize> = blocks.iter().map(|p| p.as_ptr() as usize).collect();
        addrs.sort_unstable();
        addrs.dedup();
        assert_eq!(addrs.len(), spec.blocks, "pool {pool} handed out a block twice");
        let spills = spill && pool + 1 < pools.len();
        if !spills {
            assert!(heap.allocate(layout).is_err(), "pool {pool} holds more than its capacity");
        }
        for block in blocks {
            // SAFETY: allocated above with this layout, freed once.
            unsafe { heap.deallocate(block, layout) }.unwrap();
        }
    }
    heap.validate().unwrap();
}
