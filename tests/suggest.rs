//! Sizing from a recorded run: the `Recorder`'s counting, and `suggest`'s optimum checked
//! against brute force, its alignment and dispatch guarantees, its errors and its output.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ptr;

use detalloc::suggest::{Recorder, Recording, SizeRecord, SuggestError, Suggestion, suggest};
use detalloc::{Heap, PoolSpec, detalloc};
use detalloc_tests::{Rng, select};

// ---------------------------------------------------------------------------------------
// An independent statement of the model, for brute force.

/// The block of a class: smallest `S >= max(largest, 4)` that is a multiple of `align`.
fn block(largest: usize, align: usize) -> usize {
    largest.max(4).div_ceil(align) * align
}

/// `(size, max_align, peak)`, sorted by size, distinct sizes.
type Input = Vec<(usize, usize, usize)>;

/// The cost and pool count of the best contiguous partition into at most `k` classes
/// where each block stays below the next class's smallest size; `None` if there is none.
fn brute_force_contiguous(items: &Input, k: usize) -> Option<(usize, usize)> {
    let m = items.len();
    let mut best: Option<(usize, usize)> = None;
    for cuts in 0u32..(1 << (m - 1)) {
        let classes = cuts.count_ones() as usize + 1;
        if classes > k {
            continue;
        }
        let mut bounds = vec![0];
        bounds.extend((0..m - 1).filter(|g| cuts & (1 << g) != 0).map(|g| g + 1));
        bounds.push(m);
        let mut cost = 0;
        let mut ok = true;
        for w in bounds.windows(2) {
            let class = &items[w[0]..w[1]];
            let align = class.iter().map(|i| i.1).max().unwrap();
            let s = block(class.last().unwrap().0, align);
            if w[1] < m && s >= items[w[1]].0 {
                ok = false;
            }
            cost += s * class.iter().map(|i| i.2).sum::<usize>();
        }
        if ok && best.is_none_or(|(c, p)| (cost, classes) < (c, p)) {
            best = Some((cost, classes));
        }
    }
    best
}

/// The best grouping of the items into at most `k` groups *of any shape* (every set
/// partition), a group's block being `max(largest, 4)`: meaningful for alignment 1 only.
fn brute_force_any_grouping(items: &Input, k: usize) -> usize {
    fn go(items: &Input, k: usize, index: usize, groups: &mut Vec<Vec<usize>>, best: &mut usize) {
        if index == items.len() {
            let cost = groups
                .iter()
                .map(|g| {
                    let largest = g.iter().map(|&i| items[i].0).max().unwrap();
                    block(largest, 1) * g.iter().map(|&i| items[i].2).sum::<usize>()
                })
                .sum();
            *best = (*best).min(cost);
            return;
        }
        for g in 0..groups.len() {
            groups[g].push(index);
            go(items, k, index + 1, groups, best);
            groups[g].pop();
        }
        if groups.len() < k {
            groups.push(vec![index]);
            go(items, k, index + 1, groups, best);
            groups.pop();
        }
    }
    let mut best = usize::MAX;
    go(items, k, 0, &mut Vec::new(), &mut best);
    best
}

fn random_input(rng: &mut Rng, max_items: usize, aligned: bool) -> Input {
    let m = 1 + rng.below(max_items);
    let mut sizes: Vec<usize> = Vec::new();
    while sizes.len() < m {
        // Mostly small sizes, close together, so that rounding and ties matter.
        let size = match rng.below(4) {
            0 => 1 + rng.below(8),
            1 | 2 => 1 + rng.below(80),
            _ => 1 + rng.below(600),
        };
        if !sizes.contains(&size) {
            sizes.push(size);
        }
    }
    sizes.sort_unstable();
    sizes
        .into_iter()
        .map(|size| {
            let align = if aligned { 1 << [0, 0, 2, 3, 3, 3, 4, 5, 6][rng.below(9)] } else { 1 };
            (size, align, 1 + rng.below(40))
        })
        .collect()
}

fn recording_of(items: &Input) -> Recording {
    let mut recording = Recording::new();
    for &(size, align, peak) in items {
        recording.add(size, align, peak);
    }
    recording
}

/// Every request the recording describes (each size, each power-of-two alignment up to the
/// recorded one) must be dispatched, by the heap's own rule, to the pool whose range holds
/// its size, and each pool's count must be the sum of its sizes' peaks.
fn assert_dispatch_matches(items: &Input, suggestion: &Suggestion) {
    let specs = suggestion.pool_specs();
    let mut counted = vec![0usize; specs.len()];
    for &(size, max_align, peak) in items {
        let home = suggestion
            .pools()
            .iter()
            .position(|p| (p.min_size..=p.max_size).contains(&size))
            .unwrap_or_else(|| panic!("size {size} served by no pool: {suggestion}"));
        let mut align = 1;
        while align <= max_align {
            let layout = Layout::from_size_align(size, align).unwrap();
            assert_eq!(select(&specs, layout), Some(home), "{layout:?} in {suggestion}");
            align *= 2;
        }
        assert_eq!(specs[home].block_size % max_align, 0);
        counted[home] += peak;
    }
    let blocks: Vec<usize> = specs.iter().map(|s| s.blocks).collect();
    assert_eq!(blocks, counted);
    for pair in specs.windows(2) {
        assert!(pair[0].block_size < pair[1].block_size, "{suggestion}");
    }
}

// ---------------------------------------------------------------------------------------
// suggest

#[test]
fn the_optimum_matches_brute_force_over_contiguous_partitions() {
    let mut rng = Rng::new(0x5EED_0001);
    for case in 0..3000 {
        let items = random_input(&mut rng, 7, true);
        let k = 1 + rng.below(4);
        let suggestion = suggest(&recording_of(&items), k, None).unwrap();
        let (cost, pools) = brute_force_contiguous(&items, k).unwrap();
        assert_eq!(suggestion.total_bytes(), cost, "case {case}: {items:?}, k={k}\n{suggestion}");
        assert_eq!(suggestion.pools().len(), pools, "case {case}: fewest pools among equals");
        assert!(suggestion.pools().len() <= k);
        assert_eq!(suggestion.wasted_bytes(), cost - suggestion.requested_bytes());
        assert_dispatch_matches(&items, &suggestion);
    }
}

#[test]
fn without_alignment_contiguous_classes_are_the_optimum_of_any_grouping() {
    let mut rng = Rng::new(0x5EED_0002);
    for case in 0..1000 {
        let items = random_input(&mut rng, 7, false);
        let k = 1 + rng.below(4);
        let suggestion = suggest(&recording_of(&items), k, None).unwrap();
        let best = brute_force_any_grouping(&items, k);
        assert_eq!(suggestion.total_bytes(), best, "case {case}: {items:?}, k={k}");
    }
}

#[test]
fn an_aligned_size_lands_in_a_block_that_is_a_multiple_of_its_alignment() {
    // 40 bytes aligned to 64 between plain sizes: its block is 64, and the 48 above it
    // shares the 64-byte pool rather than a 48-byte pool the 40s would not fit.
    let items: Input = vec![(16, 8, 50), (40, 64, 3), (48, 8, 10), (200, 8, 2)];
    for k in 1..=4 {
        let suggestion = suggest(&recording_of(&items), k, None).unwrap();
        let pool = suggestion.pools().iter().find(|p| (p.min_size..=p.max_size).contains(&40));
        let pool = pool.unwrap();
        assert_eq!(pool.spec.block_size % 64, 0, "k={k}: {suggestion}");
        assert!(pool.spec.align >= 64);
        assert_dispatch_matches(&items, &suggestion);
    }
    let four = suggest(&recording_of(&items), 4, None).unwrap();
    assert_eq!(four.pools_line(), "pools: [16 x 50, 64 x 13, 200 x 2],");
}

#[test]
fn a_block_rounded_up_for_alignment_never_takes_the_next_classes_requests() {
    // With 2 pools, [16 x 1000, 224 x 3] (4 | 8, 12, 200) would look cheapest, but the heap
    // would send the 12-byte requests to the 16-byte pool (16 >= 12, 16-aligned), which has
    // no block for them. The suggestion keeps every class's requests in its own pool.
    let items: Input = vec![(4, 16, 1000), (8, 32, 1), (12, 1, 1), (200, 1, 1)];
    let suggestion = suggest(&recording_of(&items), 2, None).unwrap();
    assert_dispatch_matches(&items, &suggestion);
    assert_eq!(suggestion.pools_line(), "pools: [32 x 1002, 200 x 1],");
}

#[test]
fn the_suggestion_is_a_heap_that_holds_every_recorded_peak_at_once() {
    let items: Input = vec![
        (8, 8, 30),
        (12, 4, 10),
        (24, 8, 20),
        (32, 32, 4),
        (40, 8, 6),
        (100, 4, 3),
        (3000, 8, 1),
    ];
    let suggestion = suggest(&recording_of(&items), 3, None).unwrap();
    assert_eq!(suggestion.pools_line(), "pools: [32 x 64, 104 x 9, 3000 x 1],");
    detalloc! { struct Replay<pools: [32 x 64, 104 x 9, 3000 x 1], validate: true>; }
    assert_eq!(Replay::POOLS, suggestion.pool_specs().as_slice());
    assert_eq!(Replay::TOTAL_BYTES, suggestion.total_bytes());

    // Every peak live at once, each size with every alignment up to its recorded one.
    let heap = Replay::new();
    let mut live = Vec::new();
    for &(size, max_align, peak) in &items {
        for n in 0..peak {
            let align = 1 << (n % (max_align.trailing_zeros() as usize + 1));
            let layout = Layout::from_size_align(size, align).unwrap();
            live.push((heap.allocate(layout).expect("a recorded peak fits"), layout));
        }
    }
    for spec in Replay::POOLS {
        let layout = Layout::from_size_align(spec.block_size, 1).unwrap();
        assert!(heap.allocate(layout).is_err(), "every pool is exactly full");
    }
    for (block, layout) in live {
        // SAFETY: each block came from `heap.allocate(layout)` and is freed once.
        unsafe { heap.deallocate(block, layout) }.unwrap();
    }
    heap.validate().unwrap();
}

#[test]
fn a_budget_the_optimum_exceeds_is_an_error_that_says_by_how_much() {
    let items: Input = vec![(16, 8, 100), (64, 8, 10), (256, 8, 4)];
    let recording = recording_of(&items);
    let best = suggest(&recording, 3, None).unwrap();
    assert_eq!(best.total_bytes(), 16 * 100 + 64 * 10 + 256 * 4);
    let fits = suggest(&recording, 3, Some(best.total_bytes())).unwrap();
    assert_eq!(fits.pool_specs(), best.pool_specs());
    assert!(fits.to_string().contains("budget 3264 B: 0 B to spare"), "{fits}");

    let error = suggest(&recording, 3, Some(3000)).unwrap_err();
    let SuggestError::OverBudget { needed, budget, best: ref over } = error else {
        panic!("{error:?}")
    };
    assert_eq!((needed, budget), (3264, 3000));
    assert_eq!(over.pool_specs(), best.pool_specs());
    assert_eq!(
        error.to_string(),
        "the best 3 pool configuration needs 3264 B, 264 B over the 3000 B budget: \
         [16 x 100, 64 x 10, 256 x 4]"
    );
    // Fewer pools need more bytes, so the same budget fails by more.
    let Err(SuggestError::OverBudget { needed: one_pool, .. }) = suggest(&recording, 1, Some(3000))
    else {
        panic!()
    };
    assert_eq!(one_pool, 256 * 114);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    assert_eq!(suggest(&Recording::new(), 4, None).unwrap_err(), SuggestError::Empty);
    let mut zero_peaks = Recording::new();
    zero_peaks.add(24, 8, 0).add(48, 8, 0);
    assert_eq!(suggest(&zero_peaks, 4, None).unwrap_err(), SuggestError::Empty);
    assert_eq!(
        suggest(&recording_of(&vec![(8, 8, 1)]), 0, None).unwrap_err(),
        SuggestError::NoPools
    );
    let mut odd = Recording::new();
    odd.add(24, 12, 3);
    assert_eq!(
        suggest(&odd, 2, None).unwrap_err(),
        SuggestError::InvalidAlign { size: 24, align: 12 }
    );
    // A pool would exceed 32-bit block offsets.
    let mut huge = Recording::new();
    huge.add(65536, 8, 1 << 20);
    assert_eq!(suggest(&huge, 2, None).unwrap_err(), SuggestError::TooLarge { pools: 2 });
    // Extreme values overflow nothing.
    let mut extreme = Recording::new();
    extreme.add(usize::MAX, 1, usize::MAX).add(usize::MAX - 1, 4096, 1);
    assert_eq!(suggest(&extreme, 3, None).unwrap_err(), SuggestError::TooLarge { pools: 3 });
    assert_eq!(extreme.peak_blocks(), usize::MAX);
}

#[test]
fn odd_records_are_normalised_and_unservable_alignments_reported() {
    let mut recording = Recording::new();
    recording.sizes = vec![
        SizeRecord::new(0, 0, 5), // zero size counts as 1, align 0 as 1
        SizeRecord::new(40, 8, 2),
        SizeRecord::new(40, 16, 3), // repeated size: peaks add, alignments max
        SizeRecord::new(24, 8, 0),  // no peak: skipped
        SizeRecord { size: 24, max_align: 8, peak: 0, live: 2 }, // but live blocks count
        SizeRecord::new(100, 8192, 2), // no block is 8192-aligned
    ];
    let suggestion = suggest(&recording, 8, None).unwrap();
    assert_eq!(suggestion.pools_line(), "pools: [4 x 5, 24 x 2, 48 x 5],");
    assert_eq!(suggestion.unservable(), &[SizeRecord::new(100, 8192, 2)]);
    let text = suggestion.to_string();
    assert!(text.contains("not served by any pool"), "{text}");
    assert!(text.contains("size 100 aligned to 8192: peak 2 live"), "{text}");
}

#[test]
fn the_display_starts_with_a_pools_line_that_parses_back_to_the_pools() {
    let mut rng = Rng::new(0x5EED_0003);
    for _ in 0..200 {
        let items = random_input(&mut rng, 12, true);
        let suggestion = suggest(&recording_of(&items), 1 + rng.below(6), None).unwrap();
        let text = suggestion.to_string();
        let mut lines = text.lines();
        let first = lines.next().unwrap();
        let list = first.strip_prefix("pools: [").unwrap().strip_suffix("],").unwrap();
        let parsed: Vec<PoolSpec> = list
            .split(", ")
            .map(|pool| {
                let (size, count) = pool.split_once(" x ").unwrap();
                PoolSpec::new(size.parse().unwrap(), count.parse().unwrap())
            })
            .collect();
        assert_eq!(parsed, suggestion.pool_specs());
        let declaration = format!("detalloc! {{ pub struct SizedHeap<pools: [{list}]>; }}");
        assert_eq!(lines.next(), Some(declaration.as_str()));
        assert_eq!(suggestion.declaration("SizedHeap"), declaration);
        assert!(text.contains(&format!("{} B of blocks", suggestion.total_bytes())));
        let rows = text.lines().filter(|l| l.starts_with("   ")).count();
        assert_eq!(rows, suggestion.pools().len(), "{text}");
    }
}

// ---------------------------------------------------------------------------------------
// Recorder

/// `System`, but a zero-size request gets a 1-byte block (the trait leaves zero sizes to
/// the allocator's discretion; this one serves them).
struct ZeroOk;

fn at_least_one(layout: Layout) -> Layout {
    Layout::from_size_align(layout.size().max(1), layout.align()).unwrap()
}

// SAFETY: every call goes to `System` with a non-zero size: the size `alloc` used is the
// size `dealloc` passes, since both apply `at_least_one` to the same layout.
unsafe impl GlobalAlloc for ZeroOk {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: non-zero size.
        unsafe { System.alloc(at_least_one(layout)) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc(at_least_one(layout))`.
        unsafe { System.dealloc(ptr, at_least_one(layout)) }
    }
}

/// `System` for requests of at most 32 bytes; refuses larger ones and every `realloc`.
struct Stingy;

// SAFETY: what it hands out comes from `System` and goes back to `System` with the same
// layout; a refusal hands out nothing.
unsafe impl GlobalAlloc for Stingy {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > 32 {
            return ptr::null_mut();
        }
        // SAFETY: the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc(layout)` above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, _: *mut u8, _: Layout, _: usize) -> *mut u8 {
        ptr::null_mut()
    }
}

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

#[test]
fn the_recorder_counts_live_and_peak_blocks_per_size() {
    static R: Recorder<System, 256> = Recorder::new(System);
    let (l24, l100) = (layout(24, 8), layout(100, 4));
    // SAFETY: non-zero sizes; every block is freed once with its own layout.
    unsafe {
        let a: Vec<*mut u8> = (0..5).map(|_| R.alloc(l24)).collect();
        assert_eq!((R.live(24), R.peak(24)), (5, 5));
        for &p in &a[..3] {
            R.dealloc(p, l24);
        }
        assert_eq!((R.live(24), R.peak(24)), (2, 5));
        let b: Vec<*mut u8> = (0..2).map(|_| R.alloc_zeroed(l100)).collect();
        let c = R.alloc(layout(24, 16)); // same size, larger alignment
        assert_eq!((R.live(24), R.peak(24), R.max_align(24)), (3, 5, 16));
        assert_eq!((R.live(100), R.peak(100), R.max_align(100)), (2, 2, 4));
        R.dealloc(c, layout(24, 16));
        for p in b {
            R.dealloc(p, l100);
        }
        for &p in &a[3..] {
            R.dealloc(p, l24);
        }
    }
    assert_eq!((R.live(24), R.live(100)), (0, 0));
    let snapshot = R.snapshot();
    assert_eq!(snapshot.sizes, [SizeRecord::new(24, 16, 5), SizeRecord::new(100, 4, 2)]);
    assert_eq!((snapshot.allocs, snapshot.frees, snapshot.max_size), (8, 8, 256));
    assert!(snapshot.oversize.is_empty() && snapshot.overaligned.is_empty());
    assert_eq!(R.snapshot().suggest(2, None).unwrap().pools_line(), "pools: [32 x 5, 100 x 2],");
}

#[test]
fn realloc_is_a_free_of_the_old_size_and_an_alloc_of_the_new() {
    static R: Recorder<System, 256> = Recorder::new(System);
    // SAFETY: each pointer is the live result of the previous call and is passed with the
    // layout it was allocated or reallocated with.
    unsafe {
        let mut p = R.alloc(layout(16, 8));
        p = R.realloc(p, layout(16, 8), 32);
        assert_eq!((R.live(16), R.peak(16), R.live(32), R.peak(32)), (0, 1, 1, 1));
        p = R.realloc(p, layout(32, 8), 32); // same size: nothing changes
        assert_eq!((R.live(32), R.peak(32)), (1, 1));
        p = R.realloc(p, layout(32, 8), 1000); // above the cap: oversize
        assert_eq!(R.live(32), 0);
        let oversize = R.snapshot().oversize;
        assert_eq!((oversize.live, oversize.live_bytes, oversize.largest_size), (1, 1000, 1000));
        p = R.realloc(p, layout(1000, 8), 8); // back under the cap
        assert_eq!((R.live(8), R.snapshot().oversize.live), (1, 0));
        R.dealloc(p, layout(8, 8));
    }
    let snapshot = R.snapshot();
    assert_eq!((snapshot.allocs, snapshot.frees), (4, 4));
    assert_eq!(snapshot.oversize.requests, 1);
    assert_eq!(snapshot.oversize.peak, 1);
    let sizes: Vec<(usize, usize, usize)> =
        snapshot.sizes.iter().map(|r| (r.size, r.peak, r.live)).collect();
    assert_eq!(sizes, [(8, 1, 0), (16, 1, 0), (32, 1, 0)]);
}

#[test]
fn zero_size_counts_as_one_and_outsiders_are_counted_apart() {
    static R: Recorder<ZeroOk, 64> = Recorder::new(ZeroOk);
    // SAFETY: `ZeroOk` serves zero sizes; every block is freed once with its own layout.
    unsafe {
        let zero = R.alloc(layout(0, 1));
        let one = R.alloc(layout(1, 1));
        assert_eq!((R.live(0), R.live(1), R.peak(1)), (2, 2, 2));
        let big = R.alloc(layout(65, 8)); // above this recorder's 64-byte cap
        let paged = R.alloc(layout(16, 8192)); // no block is 8192-aligned
        assert!(!big.is_null() && !paged.is_null());
        assert_eq!(R.live(16), 0);
        let snapshot = R.snapshot();
        assert_eq!((snapshot.oversize.live, snapshot.oversize.largest_size), (1, 65));
        assert_eq!((snapshot.overaligned.live, snapshot.overaligned.largest_align), (1, 8192));
        let text = snapshot.suggest(4, None).unwrap().to_string();
        assert!(text.contains("oversize (above 64 B): 1 requests, peak 1 live (65 B)"), "{text}");
        assert!(text.contains("overaligned (align above 4096): 1 requests"), "{text}");
        R.dealloc(zero, layout(0, 1));
        R.dealloc(one, layout(1, 1));
        R.dealloc(big, layout(65, 8));
        R.dealloc(paged, layout(16, 8192));
    }
    let snapshot = R.snapshot();
    assert_eq!(snapshot.sizes, [SizeRecord::new(1, 1, 2)]);
    assert_eq!((snapshot.oversize.live, snapshot.overaligned.live), (0, 0));
    assert_eq!((snapshot.oversize.peak, snapshot.overaligned.peak), (1, 1));
}

#[test]
fn a_failed_allocation_is_taken_back() {
    static R: Recorder<Stingy, 64> = Recorder::new(Stingy);
    // SAFETY: non-zero sizes; the one block handed out is freed once with its layout (a
    // failed realloc leaves it in place).
    unsafe {
        assert!(R.alloc(layout(40, 8)).is_null());
        assert!(R.alloc_zeroed(layout(100, 8)).is_null());
        let block = R.alloc(layout(8, 8));
        assert!(!block.is_null());
        assert!(R.realloc(block, layout(8, 8), 16).is_null());
        assert_eq!((R.live(8), R.live(16), R.live(40)), (1, 0, 0));
        R.dealloc(block, layout(8, 8));
    }
    let snapshot = R.snapshot();
    assert_eq!((snapshot.allocs, snapshot.frees), (1, 1));
    assert_eq!((snapshot.oversize.live, snapshot.oversize.requests), (0, 0));
    // Counting comes first, so a failed request may leave a peak of 1: conservative.
    assert_eq!((R.peak(8), R.peak(16), R.peak(40)), (1, 1, 1));
}

#[test]
fn reset_and_pause_scope_the_recording() {
    static R: Recorder<System, 128> = Recorder::new(System);
    let l = layout(40, 8);
    // SAFETY: non-zero sizes; every block is freed once with its own layout.
    unsafe {
        let warm_up: Vec<*mut u8> = (0..10).map(|_| R.alloc(l)).collect();
        let kept = R.alloc(layout(64, 64));
        for p in warm_up {
            R.dealloc(p, l);
        }
        R.reset(); // peaks to what is live: 0 blocks of 40, 1 of 64
        assert_eq!((R.peak(40), R.peak(64), R.max_align(40), R.max_align(64)), (0, 1, 0, 64));
        let two = [R.alloc(l), R.alloc(l)];
        assert_eq!(R.peak(40), 2);
        R.pause();
        assert!(!R.is_recording());
        let more: Vec<*mut u8> = (0..5).map(|_| R.alloc(l)).collect();
        assert_eq!(R.live(40), 7, "paused: live counts follow every block");
        for p in more {
            R.dealloc(p, l);
        }
        assert_eq!(R.peak(40), 2, "a peak reached and left while paused is not recorded");
        R.resume();
        let third = R.alloc(l);
        assert_eq!(R.peak(40), 3);
        for p in two.into_iter().chain([third]) {
            R.dealloc(p, l);
        }
        let snapshot = R.snapshot();
        assert_eq!(
            snapshot.sizes,
            [SizeRecord::new(40, 8, 3), SizeRecord { live: 1, ..SizeRecord::new(64, 64, 1) }]
        );
        assert_eq!((snapshot.allocs, snapshot.frees), (8, 8));
        R.dealloc(kept, layout(64, 64));
    }
}

#[test]
fn the_recorder_counts_exactly_under_threads() {
    static R: Recorder<System, 512> = Recorder::new(System);
    std::thread::scope(|scope| {
        for t in 0..4usize {
            scope.spawn(move || {
                let l = layout(8 + 8 * t, 8);
                for _ in 0..2000 {
                    // SAFETY: non-zero size; each block is freed once with its layout.
                    unsafe {
                        let blocks = [R.alloc(l), R.alloc(l), R.alloc(l)];
                        for b in blocks {
                            R.dealloc(b, l);
                        }
                    }
                }
            });
        }
    });
    for t in 0..4usize {
        assert_eq!((R.live(8 + 8 * t), R.peak(8 + 8 * t)), (0, 3));
    }
    let snapshot = R.snapshot();
    assert_eq!((snapshot.allocs, snapshot.frees), (24_000, 24_000));
}
