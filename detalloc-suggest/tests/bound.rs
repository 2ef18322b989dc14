//! The lower bounds against brute force, and against every heap that passes: no heap that
//! serves the recorded runs (by replay, spill or not) has fewer bytes than either bound. And
//! the spill suggestion serves every run under every free policy.

use std::alloc::Layout;

use detalloc::PoolSpec;
use detalloc_suggest::{
    Event, Options, Recording, bound_for_pools, bound_for_sizes, replay_all, suggest,
};

#[path = "../../examples/shared/xorshift.rs"]
mod xorshift;

use xorshift::XorShift64Star as Rng;

fn random_runs(rng: &mut Rng) -> Vec<Recording> {
    let sizes: Vec<usize> = (0..1 + rng.below(6)).map(|_| 1 + rng.below(300)).collect();
    let layouts: Vec<Layout> = sizes
        .iter()
        .map(|&s| Layout::from_size_align(s, 1 << [0, 2, 3, 3, 4][rng.below(5)]).unwrap())
        .collect();
    (0..1 + rng.below(3))
        .map(|_| {
            let mut live: Vec<Layout> = Vec::new();
            let mut events = Vec::new();
            for _ in 0..rng.below(40) {
                if live.is_empty() || rng.below(100) < 55 {
                    let layout = layouts[rng.below(layouts.len())];
                    live.push(layout);
                    events.push(Event::Alloc(layout));
                } else {
                    events.push(Event::Free(live.swap_remove(rng.below(live.len()))));
                }
            }
            Recording::from_events(events)
        })
        .collect()
}

/// `Q(x)`: the most requests of size `> x` live at once in any run, by plain replay.
fn live_above(runs: &[Recording], x: usize) -> u128 {
    let mut best = 0;
    for run in runs {
        let mut live = 0i64;
        for event in run.iter() {
            match event {
                Event::Alloc(l) if l.size().max(1) > x => live += 1,
                Event::Free(l) if l.size().max(1) > x => live -= 1,
                _ => {}
            }
            best = best.max(live);
        }
    }
    best as u128
}

/// The least `sum m_j (Q(m_(j-1)) - Q(m_j))` over every split of the distinct sizes into at
/// most `pools` classes, by enumerating the subsets of class ends.
fn brute_pools_bound(runs: &[Recording], pools: usize) -> u128 {
    let mut sizes: Vec<usize> =
        runs.iter().flat_map(|r| r.sizes().iter().map(|k| k.size)).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let n = sizes.len();
    if n == 0 {
        return 0;
    }
    let mut best = u128::MAX;
    // Bit i set: a class ends at sizes[i]; the last size always ends one.
    for mask in 0u32..1 << (n - 1) {
        let mut ends: Vec<usize> =
            (0..n - 1).filter(|&i| mask & 1 << i != 0).map(|i| sizes[i]).collect();
        ends.push(sizes[n - 1]);
        if ends.len() > pools {
            continue;
        }
        let mut previous = 0;
        let mut bytes = 0;
        for &end in &ends {
            bytes += end as u128 * (live_above(runs, previous) - live_above(runs, end));
            previous = end;
        }
        best = best.min(bytes);
    }
    best
}

#[test]
fn the_pools_bound_is_the_least_over_every_split() {
    let mut rng = Rng(0xB0_0001);
    for case in 0..300 {
        let runs = random_runs(&mut rng);
        for pools in 1..=4 {
            let bound = bound_for_pools(&runs, pools);
            assert_eq!(bound.bytes, brute_pools_bound(&runs, pools), "case {case}, {pools} pools");
            let classes: u128 = bound.classes.iter().map(|&(s, b)| s as u128 * b as u128).sum();
            assert_eq!(classes, bound.bytes, "case {case}: the classes reach the bound");
        }
    }
}

#[test]
fn no_heap_that_passes_is_below_either_bound() {
    let mut rng = Rng(0xB0_0002);
    let mut passing = 0;
    for case in 0..400 {
        let runs = random_runs(&mut rng);
        // The last pool holds every size (and alignment) a run asks for.
        let mut blocks: Vec<usize> = (0..rng.below(4)).map(|_| 4 + rng.below(300)).collect();
        blocks.push(320);
        blocks.sort_unstable();
        blocks.dedup();
        let pools: Vec<PoolSpec> =
            blocks.iter().map(|&b| PoolSpec::new(b, rng.below(16))).collect();
        let bytes: u128 = pools.iter().map(|p| p.bytes() as u128).sum();
        for spill in [false, true] {
            if !replay_all(&pools, spill, &runs).iter().all(|(_, _, r)| r.passed()) {
                continue;
            }
            passing += 1;
            let sizes = bound_for_sizes(&pools, &runs).bytes;
            let any = bound_for_pools(&runs, pools.len()).bytes;
            assert!(sizes <= bytes, "case {case}: {pools:?} passes with {bytes} B < {sizes}");
            assert!(any <= sizes, "case {case}: the N-pool bound {any} above the sizes' {sizes}");
        }
    }
    assert!(passing > 100, "only {passing} heaps passed: the check means little");
}

#[test]
fn the_spill_suggestion_serves_every_run_and_respects_its_bound() {
    let mut rng = Rng(0xB0_0003);
    for case in 0..200 {
        let runs = random_runs(&mut rng);
        let pools = 1 + rng.below(4);
        let Ok(suggestion) = suggest(&runs, &Options::new(pools).spill(true)) else { continue };
        let specs = suggestion.pool_specs();
        assert!(specs.iter().all(|p| p.blocks > 0), "case {case}: a pool of no block");
        let replays = replay_all(&specs, true, &runs);
        assert!(replays.iter().all(|(_, _, r)| r.passed()), "case {case}: {specs:?} {replays:?}");
        let bytes = suggestion.total_bytes() as u128;
        assert!(suggestion.sizes_bound().bytes <= bytes, "case {case}");
        assert!(suggestion.pools_bound().bytes <= suggestion.sizes_bound().bytes, "case {case}");
    }
}
