//! The generated API: constants, the `Heap` trait (also as `dyn`), `GlobalAlloc`, the
//! allocator-api2 `Allocator`, hooks, reports and statistics resets.

use std::alloc::{GlobalAlloc, Layout};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

use detalloc::allocator_api2::boxed::Box as ApiBox;
use detalloc::allocator_api2::vec::Vec as ApiVec;
use detalloc::{Heap, Hooks, PoolSpec, detalloc};

detalloc! {
    /// The design's example heap.
    pub struct AudioHeap<pools: [16 x 64, 64 x 32, 256 x 8], sync: spin>;
}

detalloc! { struct Mixed<pools: [12 x 4, 48 x 4, 96 x 2, 8192 x 1], validate: true>; }

#[test]
fn constants_describe_the_memory_map() {
    assert_eq!(
        AudioHeap::POOLS,
        &[
            PoolSpec { block_size: 16, blocks: 64, align: 16 },
            PoolSpec { block_size: 64, blocks: 32, align: 64 },
            PoolSpec { block_size: 256, blocks: 8, align: 256 },
        ]
    );
    assert_eq!(AudioHeap::TOTAL_BYTES, 5120);
    let metadata = size_of::<AudioHeap>() - AudioHeap::TOTAL_BYTES;
    let expected = format!(
        "AudioHeap: 3 pools [16 x 64, 64 x 32, 256 x 8], 5120 B of blocks + {metadata} B metadata, \
         sync=spin stats=on validate=debug"
    );
    assert_eq!(AudioHeap::SUMMARY, expected);
    // The alignment rule: largest power of two dividing the size, capped at 4096.
    let aligns: Vec<usize> = Mixed::POOLS.iter().map(|p| p.align).collect();
    assert_eq!(aligns, [4, 16, 32, 4096]);
    assert!(align_of::<Mixed>() >= 4096);
}

#[test]
fn blocks_are_aligned_to_their_pool() {
    let heap = Mixed::new();
    for spec in Mixed::POOLS {
        let layout = Layout::from_size_align(spec.block_size, 1).unwrap();
        let block = heap.allocate(layout).unwrap();
        assert_eq!(block.as_ptr() as usize % spec.align, 0);
        // SAFETY: valid free.
        unsafe { heap.deallocate(block, layout) }.unwrap();
    }
}

#[test]
fn a_heap_is_usable_as_dyn_heap() {
    let heaps: [&dyn Heap; 2] = [&AudioHeap::new(), &Mixed::new()];
    for heap in heaps {
        let layout = Layout::new::<[u8; 10]>();
        let block = heap.allocate(layout).unwrap();
        heap.prefetch(layout);
        // SAFETY: valid free.
        unsafe { heap.deallocate(block, layout) }.unwrap();
        assert_eq!(heap.stats().allocs, 1);
    }
    assert_eq!(heaps[0].name(), "AudioHeap");
}

#[test]
fn report_has_the_summary_the_totals_and_a_row_per_pool() {
    let heap = AudioHeap::new();
    let held = heap.allocate(Layout::new::<[u8; 40]>()).unwrap();
    let report = heap.report().to_string();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], AudioHeap::SUMMARY);
    assert!(lines[1].starts_with("in use 64 of 5120 B (peak 64 B); 1 allocs, 0 frees"), "{report}");
    assert_eq!(lines.len(), 3 + AudioHeap::POOLS.len());
    let row: Vec<&str> = lines[4].split_whitespace().collect();
    assert_eq!(row, ["1", "64", "64", "32", "1", "1", "1", "0", "0"]);
    // SAFETY: valid free.
    unsafe { heap.deallocate(held, Layout::new::<[u8; 40]>()) }.unwrap();
}

#[test]
fn reset_stats_zeroes_counters_and_sets_peaks_to_current_use() {
    let heap = AudioHeap::new();
    let layout = Layout::new::<u64>();
    let blocks: Vec<_> = (0..5).map(|_| heap.allocate(layout).unwrap()).collect();
    for &b in &blocks[2..] {
        // SAFETY: valid frees.
        unsafe { heap.deallocate(b, layout) }.unwrap();
    }
    assert!(heap.allocate(Layout::new::<[u8; 4096]>()).is_err());
    assert_eq!(heap.pool_stats(0).unwrap().peak, 5);
    heap.reset_stats();
    let s = heap.stats();
    assert_eq!((s.allocs, s.frees, s.failures, s.invalid_frees), (0, 0, 0, 0));
    assert_eq!((s.in_use_bytes, s.peak_bytes), (32, 32));
    let p = heap.pool_stats(0).unwrap();
    assert_eq!((p.in_use, p.peak, p.allocs), (2, 2, 0));
    heap.validate().unwrap();
    for &b in &blocks[..2] {
        // SAFETY: valid frees.
        unsafe { heap.deallocate(b, layout) }.unwrap();
    }
    // The blocks live across the reset are counted as they come back, from zero.
    let p = heap.pool_stats(0).unwrap();
    assert_eq!((p.in_use, p.peak, p.allocs, p.frees), (0, 2, 0, 2));
    let again = heap.allocate(layout).unwrap();
    let p = heap.pool_stats(0).unwrap();
    assert_eq!((p.in_use, p.peak, p.allocs, p.frees), (1, 2, 1, 2));
    heap.validate().unwrap();
    // SAFETY: valid free.
    unsafe { heap.deallocate(again, layout) }.unwrap();
}

static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static FREES: AtomicUsize = AtomicUsize::new(0);
static FAILS: AtomicUsize = AtomicUsize::new(0);
static LAST_POOL: AtomicUsize = AtomicUsize::new(usize::MAX);

struct Counting;
impl Hooks for Counting {
    fn on_alloc(pool: usize, ptr: NonNull<u8>, layout: Layout) {
        assert!((ptr.as_ptr() as usize).is_multiple_of(layout.align()));
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        LAST_POOL.store(pool, Ordering::Relaxed);
    }
    fn on_free(pool: usize, _ptr: NonNull<u8>, _layout: Layout) {
        FREES.fetch_add(1, Ordering::Relaxed);
        LAST_POOL.store(pool, Ordering::Relaxed);
    }
    fn on_fail(layout: Layout) {
        assert_eq!(layout.size(), 100);
        FAILS.fetch_add(1, Ordering::Relaxed);
    }
}

detalloc! { struct Hooked<pools: [16 x 2, 64 x 1], hooks: Counting>; }

#[test]
fn hooks_fire_with_the_pool_and_the_counts() {
    let heap = Hooked::new();
    let a = heap.allocate(Layout::new::<u32>()).unwrap();
    assert_eq!(LAST_POOL.load(Ordering::Relaxed), 0);
    let b = heap.allocate(Layout::new::<[u8; 50]>()).unwrap();
    assert_eq!(LAST_POOL.load(Ordering::Relaxed), 1);
    assert!(heap.allocate(Layout::new::<[u8; 100]>()).is_err());
    // SAFETY: valid frees.
    unsafe {
        heap.deallocate(b, Layout::new::<[u8; 50]>()).unwrap();
        assert_eq!(LAST_POOL.load(Ordering::Relaxed), 1);
        heap.deallocate(a, Layout::new::<u32>()).unwrap();
    }
    assert_eq!(LAST_POOL.load(Ordering::Relaxed), 0);
    let counts = [&ALLOCS, &FREES, &FAILS].map(|c| c.load(Ordering::Relaxed));
    assert_eq!(counts, [2, 2, 1]);
}

#[test]
fn global_alloc_realloc_stays_in_place_within_a_block() {
    let heap = Mixed::new();
    let layout = Layout::from_size_align(20, 4).unwrap();
    // SAFETY: `GlobalAlloc` used per its contract: non-zero size, pointers from `alloc`.
    unsafe {
        let p = heap.alloc(layout);
        assert!(!p.is_null());
        p.write_bytes(7, 20);
        let same = heap.realloc(p, layout, 48);
        assert_eq!(same, p, "20 -> 48 bytes stays in the 48-byte block");
        let moved = heap.realloc(same, Layout::from_size_align(48, 4).unwrap(), 90);
        assert_ne!(moved, p);
        assert!(std::slice::from_raw_parts(moved, 20).iter().all(|&b| b == 7));
        assert!(heap.realloc(moved, Layout::from_size_align(90, 4).unwrap(), 100_000).is_null());
        heap.dealloc(moved, Layout::from_size_align(90, 4).unwrap());
    }
    heap.validate().unwrap();
    assert_eq!(heap.stats().in_use_bytes, 0);
}

#[test]
fn allocator_api2_vec_and_box_live_in_the_heap() {
    let heap = Mixed::new();
    let mut v: ApiVec<u32, &Mixed> = ApiVec::new_in(&heap);
    v.push(1);
    let first = v.as_ptr();
    v.extend([2, 3]);
    assert_eq!(v.as_ptr(), first, "12 bytes fit the first block: grown in place");
    v.extend(4..=20);
    assert_eq!(v.iter().sum::<u32>(), 210);
    assert_eq!(heap.pool_stats(2).unwrap().in_use, 1, "80 bytes live in the 96-byte pool");
    let b = ApiBox::new_in([9u64; 4], &heap);
    assert_eq!(b.iter().sum::<u64>(), 36);
    drop((v, b));
    assert_eq!(heap.stats().in_use_bytes, 0);
    heap.validate().unwrap();
}

detalloc! { struct Timed<pools: [16 x 4, 64 x 4], wcet: detalloc::clock::Instant>; }
// The hardware counter of the target: the TSC on x86_64, the generic timer on aarch64.
#[cfg(target_arch = "x86_64")]
detalloc! { struct TimedSpin<pools: [16 x 4, 64 x 4], sync: spin, wcet: detalloc::clock::Tsc>; }
#[cfg(target_arch = "aarch64")]
detalloc! { struct TimedSpin<pools: [16 x 4, 64 x 4], sync: spin, wcet: detalloc::clock::Cntvct>; }

#[test]
fn wcet_is_recorded_with_a_clock_and_zero_without() {
    let timed = Timed::new();
    let layout = Layout::new::<u64>();
    for _ in 0..10 {
        let b = timed.allocate(layout).unwrap();
        // SAFETY: valid free.
        unsafe { timed.deallocate(b, layout) }.unwrap();
    }
    assert!(timed.allocate(Layout::new::<[u8; 1000]>()).is_err());
    let t = timed.timing().unwrap();
    assert_eq!((t.alloc.count, t.free.count), (11, 10), "failed allocations are timed too");
    assert!(t.alloc.max > 0 && t.free.max > 0, "{t:?}");
    assert!(t.alloc.mean() <= t.alloc.max);
    let s = timed.stats();
    assert_eq!((s.wcet_alloc_cycles, s.wcet_free_cycles), (t.alloc.max, t.free.max));
    assert!(timed.report().to_string().contains("wcet: alloc max"));
    assert!(Timed::SUMMARY.ends_with("wcet=Instant"), "{}", Timed::SUMMARY);
    timed.reset_stats();
    assert_eq!(timed.timing().unwrap(), detalloc::Timing::default());

    // The hardware counter advances across some allocation and some free. One call may read 0
    // ticks of the generic timer (a fixed 1-100 MHz counter, not cycles), 1 000 do not.
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    if !cfg!(miri) {
        let spin = TimedSpin::new();
        for _ in 0..1_000 {
            let b = spin.allocate(layout).unwrap();
            // SAFETY: valid free.
            unsafe { spin.deallocate(b, layout) }.unwrap();
        }
        let s = spin.stats();
        assert!(s.wcet_alloc_cycles > 0 && s.wcet_free_cycles > 0, "the counter advances: {s:?}");
    }

    let untimed = AudioHeap::new();
    let b = untimed.allocate(layout).unwrap();
    // SAFETY: valid free.
    unsafe { untimed.deallocate(b, layout) }.unwrap();
    assert_eq!(untimed.timing(), None);
    let s = untimed.stats();
    assert_eq!((s.wcet_alloc_cycles, s.wcet_free_cycles), (0, 0));
    assert!(!untimed.report().to_string().contains("wcet"));
}
