//! The simulator against the real heap: random recordings replayed on heaps that `detalloc!`
//! declares (with spill, without, pools of mixed alignment), every allocation through
//! `Heap::allocate`, every free through `Heap::deallocate` of the block the free policy picks.
//! The simulator must fail at exactly the event where the heap first refuses an allocation,
//! pass exactly when the heap serves the whole run, and agree on every pool's peak and on the
//! spill count.

use std::alloc::Layout;
use std::ptr::NonNull;

use detalloc::{Heap, PoolSpec, detalloc};
use detalloc_suggest::{Event, FreePolicy, Recording, replay, select};

#[path = "../../examples/shared/xorshift.rs"]
mod xorshift;

use xorshift::XorShift64Star as Rng;

detalloc! { struct Spilling<pools: [16 x 6, 48 x 3, 256 x 2], sync: local, validate: true, spill: true>; }
// 24 is 8-aligned, 80 16-aligned, 64 and 512 64-aligned: spill skips pools aligned too little.
detalloc! { struct Mixed<pools: [24 x 5, 64 x 3, 80 x 3, 512 x 2], sync: local, validate: true, spill: true>; }
detalloc! { struct Strict<pools: [16 x 6, 48 x 3, 256 x 2], sync: local, validate: true>; }

/// A live block on the real heap: its pointer, layout, pool, and allocation order.
struct Live {
    ptr: NonNull<u8>,
    layout: Layout,
    pool: usize,
    order: usize,
}

/// What the real heap did with `run` under `policy`: the first refused allocation's event
/// index, each pool's peak, the allocations served outside the pool they select.
fn real_replay(
    heap: &dyn Heap,
    pools: &[PoolSpec],
    run: &Recording,
    policy: FreePolicy,
) -> (Option<usize>, Vec<u64>, u64) {
    let mut live: Vec<Live> = Vec::new();
    let mut failure = None;
    let mut spills = 0;
    for (index, event) in run.iter().enumerate() {
        match event {
            Event::Alloc(layout) => {
                let before: Vec<usize> =
                    (0..pools.len()).map(|p| heap.pool_stats(p).unwrap().in_use).collect();
                let Ok(ptr) = heap.allocate(layout) else {
                    failure = Some(index);
                    break;
                };
                let pool = (0..pools.len())
                    .find(|&p| heap.pool_stats(p).unwrap().in_use == before[p] + 1)
                    .expect("one pool has one more block in use");
                if Some(pool) != select(pools, layout) {
                    spills += 1;
                }
                live.push(Live { ptr, layout, pool, order: index });
            }
            Event::Free(layout) => {
                let of_kind = live.iter().enumerate().filter(|(_, l)| l.layout == layout);
                let chosen = match policy {
                    FreePolicy::SmallestPool => of_kind.min_by_key(|(_, l)| (l.pool, l.order)),
                    FreePolicy::LargestPool => of_kind.max_by_key(|(_, l)| (l.pool, l.order)),
                    FreePolicy::Newest => of_kind.max_by_key(|(_, l)| l.order),
                    FreePolicy::Oldest => of_kind.min_by_key(|(_, l)| l.order),
                };
                let (at, _) = chosen.expect("a recording frees only live blocks");
                let block = live.swap_remove(at);
                // SAFETY: `block.ptr` came from `heap.allocate(block.layout)` and is freed once.
                unsafe { heap.deallocate(block.ptr, block.layout) }.expect("a valid free");
            }
        }
    }
    let peaks = (0..pools.len()).map(|p| heap.pool_stats(p).unwrap().peak as u64).collect();
    for block in live {
        // SAFETY: as above.
        unsafe { heap.deallocate(block.ptr, block.layout) }.expect("a valid free");
    }
    heap.validate().expect("the heap is consistent");
    (failure, peaks, spills)
}

/// A random run over `layouts`: up to `events` allocations and frees of live kinds.
fn random_run(rng: &mut Rng, layouts: &[Layout], events: usize, free_percent: usize) -> Recording {
    let mut live: Vec<Layout> = Vec::new();
    let mut out = Vec::with_capacity(events);
    for _ in 0..events {
        if live.is_empty() || rng.below(100) >= free_percent {
            let layout = layouts[rng.below(layouts.len())];
            live.push(layout);
            out.push(Event::Alloc(layout));
        } else {
            out.push(Event::Free(live.swap_remove(rng.below(live.len()))));
        }
    }
    Recording::from_events(out)
}

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

/// Replays many random runs on `make()` heaps under every policy; returns how many replays
/// passed and how many failed (both must occur for the comparison to mean something).
fn compare(
    make: &dyn Fn() -> Box<dyn Heap>,
    spill: bool,
    layouts: &[Layout],
    seed: u64,
) -> (usize, usize) {
    let pools = make().pools_specs();
    let mut rng = Rng(seed);
    let (mut passed, mut failed) = (0, 0);
    for case in 0..250 {
        let (events, free_percent) = (10 + rng.below(60), 30 + rng.below(25));
        let run = random_run(&mut rng, layouts, events, free_percent);
        for policy in FreePolicy::ALL {
            let heap = make();
            let (failure, peaks, spills) = real_replay(&*heap, &pools, &run, policy);
            let simulated = replay(&pools, spill, &run, policy);
            let context = format!(
                "case {case}, {policy:?}, spill {spill}, run {:?}",
                run.iter().collect::<Vec<_>>()
            );
            assert_eq!(simulated.failure.map(|f| f.event), failure, "first failure: {context}");
            assert_eq!(simulated.peaks, peaks, "pool peaks: {context}");
            assert_eq!(simulated.spills, spills, "spills: {context}");
            if failure.is_none() { passed += 1 } else { failed += 1 }
        }
    }
    (passed, failed)
}

/// The pools of a declared heap, as `PoolSpec`s, from its `pool_stats`.
trait PoolsSpecs {
    fn pools_specs(&self) -> Vec<PoolSpec>;
}

impl PoolsSpecs for Box<dyn Heap> {
    fn pools_specs(&self) -> Vec<PoolSpec> {
        (0..)
            .map_while(|p| self.pool_stats(p))
            .map(|s| PoolSpec::new(s.block_size, s.blocks))
            .collect()
    }
}

#[test]
fn the_simulator_fails_exactly_where_a_spilling_heap_does() {
    let layouts = [layout(8, 8), layout(16, 8), layout(40, 8), layout(48, 16), layout(200, 8)];
    let (passed, failed) = compare(&|| Box::new(Spilling::new()), true, &layouts, 0x5EED_0001);
    assert!(passed > 100 && failed > 100, "{passed} passed, {failed} failed");
}

#[test]
fn the_simulator_follows_alignment_when_spilling() {
    // 8 bytes aligned to 64 selects the 64-byte pool and spills past the 16-aligned 80-byte
    // pool to the 512-byte one; 72 bytes aligned to 16 selects 80.
    let layouts = [
        layout(8, 8),
        layout(20, 4),
        layout(8, 64),
        layout(72, 16),
        layout(64, 64),
        layout(300, 8),
    ];
    let (passed, failed) = compare(&|| Box::new(Mixed::new()), true, &layouts, 0x5EED_0002);
    assert!(passed > 100 && failed > 100, "{passed} passed, {failed} failed");
}

#[test]
fn the_simulator_fails_exactly_where_a_heap_without_spill_does() {
    let layouts = [layout(8, 8), layout(16, 8), layout(40, 8), layout(48, 16), layout(200, 8)];
    let (passed, failed) = compare(&|| Box::new(Strict::new()), false, &layouts, 0x5EED_0003);
    assert!(passed > 100 && failed > 100, "{passed} passed, {failed} failed");
}

#[test]
fn a_request_no_pool_fits_fails_in_both() {
    let run = Recording::from_events([Event::Alloc(layout(8, 8)), Event::Alloc(layout(600, 8))]);
    let heap: Box<dyn Heap> = Box::new(Spilling::new());
    let pools = heap.pools_specs();
    let (failure, _, _) = real_replay(&*heap, &pools, &run, FreePolicy::Newest);
    assert_eq!(failure, Some(1));
    let simulated = replay(&pools, true, &run, FreePolicy::Newest).failure.unwrap();
    assert_eq!((simulated.event, simulated.pool), (1, None));
}
