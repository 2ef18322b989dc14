//! `suggest` against brute force on random small recordings, and the property that matters:
//! replayed through the heap's own dispatch rule, every recorded run fits the suggested pools.

use std::alloc::Layout;

use detalloc::PoolSpec;
use detalloc_suggest::{
    Event, Margin, Options, Recording, SuggestError, Suggestion, SyncChoice, suggest,
};

#[path = "../../examples/shared/xorshift.rs"]
mod xorshift;

// Seeded, so that a failing case can be rerun.
use xorshift::XorShift64Star as Rng;

/// A random run over a few layouts: allocations and frees of live blocks, in random order.
fn random_run(rng: &mut Rng, layouts: &[Layout], events: usize) -> Vec<Event> {
    let mut live: Vec<Layout> = Vec::new();
    let mut out = Vec::with_capacity(events);
    for _ in 0..events {
        if live.is_empty() || rng.below(100) < 55 {
            let layout = layouts[rng.below(layouts.len())];
            live.push(layout);
            out.push(Event::Alloc(layout));
        } else {
            out.push(Event::Free(live.swap_remove(rng.below(live.len()))));
        }
    }
    out
}

fn random_layouts(rng: &mut Rng, max: usize) -> Vec<Layout> {
    let count = 1 + rng.below(max);
    let mut layouts: Vec<Layout> = Vec::new();
    while layouts.len() < count {
        let size = match rng.below(4) {
            0 => 1 + rng.below(8),
            1 | 2 => 1 + rng.below(80),
            _ => 1 + rng.below(600),
        };
        let align = 1 << [0, 0, 2, 3, 3, 3, 4, 5, 6][rng.below(9)];
        let layout = Layout::from_size_align(size, align).unwrap();
        if !layouts.contains(&layout) {
            layouts.push(layout);
        }
    }
    layouts
}

// ---------------------------------------------------------------------------------------
// An independent statement of the model, for brute force.

/// The most blocks of sizes `lo..=hi` live at one point of `run`, by plain replay.
fn simultaneous_peak(run: &[Event], lo: usize, hi: usize) -> u64 {
    let (mut live, mut peak) = (0i64, 0i64);
    for event in run {
        let (layout, delta) = match event {
            Event::Alloc(l) => (l, 1),
            Event::Free(l) => (l, -1),
        };
        if (lo..=hi).contains(&layout.size().max(1)) {
            live += delta;
            peak = peak.max(live);
        }
    }
    peak as u64
}

/// `(bytes, pools)` of the best split of the distinct sizes into at most `k` contiguous
/// classes, each block the smallest `S >= 4` holding its largest size, a multiple of its
/// largest alignment and below the next class's smallest size, each count the largest
/// simultaneous peak over the runs plus the margin.
fn brute_force(runs: &[Vec<Event>], k: usize, margin: Margin) -> Option<(usize, usize)> {
    let mut sizes: Vec<(usize, usize)> = Vec::new(); // (size, max align)
    for event in runs.iter().flatten() {
        let (Event::Alloc(l) | Event::Free(l)) = event;
        match sizes.iter_mut().find(|(s, _)| *s == l.size().max(1)) {
            Some((_, align)) => *align = (*align).max(l.align()),
            None => sizes.push((l.size().max(1), l.align())),
        }
    }
    sizes.sort_unstable();
    let m = sizes.len();
    let mut best: Option<(usize, usize)> = None;
    for cuts in 0u32..(1 << (m - 1)) {
        let classes = cuts.count_ones() as usize + 1;
        if classes > k {
            continue;
        }
        let mut bounds = vec![0];
        bounds.extend((0..m - 1).filter(|g| cuts & (1 << g) != 0).map(|g| g + 1));
        bounds.push(m);
        let mut bytes = 0;
        let mut valid = true;
        for w in bounds.windows(2) {
            let class = &sizes[w[0]..w[1]];
            let align = class.iter().map(|c| c.1).max().unwrap();
            let block = class.last().unwrap().0.max(4).div_ceil(align) * align;
            if w[1] < m && block >= sizes[w[1]].0 {
                valid = false;
            }
            let (lo, hi) = (class[0].0, class.last().unwrap().0);
            let peak = runs.iter().map(|run| simultaneous_peak(run, lo, hi)).max().unwrap();
            bytes += block * margin.apply(peak) as usize;
        }
        if valid && best.is_none_or(|b| (bytes, classes) < b) {
            best = Some((bytes, classes));
        }
    }
    best
}

/// Replays every run through the heap's rule (the smallest pool with a block that holds the
/// size and is aligned enough) and asserts that no pool ever holds more than its blocks, and
/// that every request lands in the pool whose size range holds it.
fn assert_every_run_fits(runs: &[Vec<Event>], suggestion: &Suggestion) {
    let specs: Vec<PoolSpec> = suggestion.pool_specs();
    let pick = |l: &Layout| {
        specs.iter().position(|p| p.block_size >= l.size().max(1) && p.align >= l.align())
    };
    for run in runs {
        let mut live = vec![0usize; specs.len()];
        for event in run {
            let (Event::Alloc(layout) | Event::Free(layout)) = event;
            let pool = pick(layout).unwrap_or_else(|| panic!("{layout:?} fits no pool"));
            let home = &suggestion.pools()[pool];
            assert!((home.min_size..=home.max_size).contains(&layout.size().max(1)));
            match event {
                Event::Alloc(_) => live[pool] += 1,
                Event::Free(_) => live[pool] -= 1,
            }
            assert!(live[pool] <= specs[pool].blocks, "pool {pool} overflows: {suggestion}");
        }
    }
}

#[test]
fn the_optimum_matches_brute_force() {
    let mut rng = Rng(0x5EED_0017);
    for case in 0..1500 {
        let layouts = random_layouts(&mut rng, 7);
        let runs: Vec<Vec<Event>> =
            (0..1 + rng.below(3)).map(|_| random_run(&mut rng, &layouts, 60)).collect();
        let k = 1 + rng.below(4);
        let margin = [Margin::NONE, Margin { percent: 25, blocks: 1 }][rng.below(2)];
        let recordings: Vec<Recording> =
            runs.iter().map(|r| Recording::from_events(r.iter().copied())).collect();
        let suggestion = suggest(&recordings, &Options::new(k).margin(margin)).unwrap();
        let (bytes, pools) = brute_force(&runs, k, margin).unwrap();
        assert_eq!(suggestion.total_bytes(), bytes, "case {case}: k={k}\n{suggestion}");
        assert_eq!(suggestion.pools().len(), pools, "case {case}: fewest pools among equals");
        assert_every_run_fits(&runs, &suggestion);
        for pool in suggestion.pools() {
            assert!(pool.peak_min <= pool.peak_max && pool.peak_max <= pool.own_peaks);
            assert_eq!(pool.spec.blocks as u64, margin.apply(pool.peak_max));
        }
    }
}

#[test]
fn counts_are_simultaneous_peaks_not_sums_of_per_size_peaks() {
    let (a, b) = (Layout::new::<[u8; 40]>(), Layout::new::<[u8; 48]>());
    // 30 of each, never together: one pool of 48-byte blocks needs 30, not 60.
    let mut run: Vec<Event> = vec![Event::Alloc(a); 30];
    run.extend(vec![Event::Free(a); 30]);
    run.extend(vec![Event::Alloc(b); 30]);
    run.extend(vec![Event::Free(b); 30]);
    let one = suggest(&[Recording::from_events(run)], &Options::new(1)).unwrap();
    assert_eq!(one.pools_list(), "[48 x 30]");
    assert_eq!((one.pools()[0].peak_max, one.pools()[0].own_peaks), (30, 60));
}

#[test]
fn several_runs_cover_the_largest_peak_and_show_the_spread() {
    let l = Layout::new::<u64>();
    let runs: Vec<Recording> =
        [3, 7, 5].iter().map(|&n| Recording::from_events(vec![Event::Alloc(l); n])).collect();
    let suggestion = suggest(&runs, &Options::new(1)).unwrap();
    let pool = suggestion.pools()[0];
    assert_eq!((pool.spec.blocks, pool.peak_min, pool.peak_max), (7, 3, 7));
    let text = suggestion.to_string();
    assert!(text.contains("from 3 recorded runs"), "{text}");
    assert!(text.contains("3..7"), "{text}");
}

#[test]
fn large_requests_get_pools_like_any_other() {
    let (small, huge) = (Layout::new::<[u64; 2]>(), Layout::from_size_align(1 << 21, 8).unwrap());
    let run = Recording::from_events([Event::Alloc(small), Event::Alloc(huge), Event::Free(huge)]);
    let suggestion = suggest(&[run], &Options::new(2)).unwrap();
    assert_eq!(suggestion.pools_list(), "[16 x 1, 2097152 x 1]");
}

#[test]
fn many_distinct_sizes_are_grouped_and_every_run_still_fits() {
    let mut rng = Rng(0x5EED_0018);
    let layouts: Vec<Layout> =
        (1..=300).map(|i| Layout::from_size_align(i * 3, 1 << rng.below(4)).unwrap()).collect();
    let runs: Vec<Vec<Event>> = (0..2).map(|_| random_run(&mut rng, &layouts, 5_000)).collect();
    let recordings: Vec<Recording> =
        runs.iter().map(|r| Recording::from_events(r.iter().copied())).collect();
    let options = Options { exact_sizes: 100, ..Options::new(6) };
    let suggestion = suggest(&recordings, &options).unwrap();
    assert_eq!(suggest(&recordings, &Options::new(6)).unwrap().grouping(), None);
    let g = suggestion.grouping().expect("more sizes than EXACT_SIZES are grouped");
    assert!(suggestion.to_string().contains(&format!("within 1/{}", 1u64 << g)));
    assert_every_run_fits(&runs, &suggestion);
}

#[test]
fn the_declaration_names_sync_from_what_was_seen() {
    let run = Recording::from_events([Event::Alloc(Layout::new::<u64>())]);
    let global = suggest(std::slice::from_ref(&run), &Options::new(1)).unwrap();
    assert_eq!(global.sync(), "spin", "a global allocator must be Sync");
    assert!(global.declaration().contains("#[global_allocator]\nstatic HEAP: SizedHeap"));
    let local = suggest(std::slice::from_ref(&run), &Options::new(1).global(None)).unwrap();
    assert_eq!(local.sync(), "local");
    assert!(!local.declaration().contains("global_allocator"));
    let mut threaded = run.clone();
    threaded.set_threads(3);
    let threaded = suggest(&[threaded], &Options::new(1).global(None)).unwrap();
    assert_eq!(threaded.sync(), "spin");
    let chosen = Options::new(1).sync(SyncChoice::CriticalSection).name("FwHeap");
    let chosen = suggest(&[run], &chosen).unwrap();
    let text = chosen.declaration();
    assert!(text.contains("pub struct FwHeap<") && text.contains("sync: critical_section,"));
}

#[test]
fn errors_say_what_is_wrong() {
    let run = Recording::from_events([Event::Alloc(Layout::new::<[u8; 64]>())]);
    assert_eq!(suggest(&[], &Options::new(2)).unwrap_err(), SuggestError::NoRuns);
    assert_eq!(
        suggest(std::slice::from_ref(&run), &Options::new(0)).unwrap_err(),
        SuggestError::NoPools
    );
    let empty = Recording::from_events([]);
    assert_eq!(suggest(&[empty], &Options::new(2)).unwrap_err(), SuggestError::Empty);
    let error = suggest(std::slice::from_ref(&run), &Options::new(2).budget(60)).unwrap_err();
    let SuggestError::OverBudget { needed: 64, budget: 60, .. } = error else { panic!("{error}") };
    assert!(error.to_string().contains("4 B over the 60 B budget: [64 x 1]"), "{error}");
    // A pool over 32-bit block offsets.
    let huge = Layout::from_size_align(1 << 20, 8).unwrap();
    let many = Recording::from_events(vec![Event::Alloc(huge); 4096]);
    assert_eq!(
        suggest(&[many], &Options::new(3)).unwrap_err(),
        SuggestError::TooLarge { pools: 3 }
    );
}

#[test]
fn overaligned_requests_are_listed_loudly() {
    let paged = Layout::from_size_align(100, 8192).unwrap();
    let plain = Layout::new::<u32>();
    let run = Recording::from_events([Event::Alloc(paged), Event::Alloc(plain)]);
    let suggestion = suggest(&[run], &Options::new(4)).unwrap();
    assert_eq!(suggestion.pools_list(), "[4 x 1]");
    assert_eq!(suggestion.unservable().len(), 1);
    let text = suggestion.to_string();
    assert!(text.contains("NOT SERVED by any pool (aligned above 4096): 100 B aligned to 8192"));
}
