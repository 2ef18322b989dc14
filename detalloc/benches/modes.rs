//! Each sync mode's cost per alloc+free pair of 64 bytes: uncontended (one thread), and with
//! two threads hammering the same heap, next to `local` (`cargo bench -p detalloc
//! --features critical-section --bench modes`). Quote ratios from one run, not times.

mod common;

use std::alloc::Layout;
use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use common::{Lean, LocalStats, LockFree, LockFreeLean, Spin, SpinLean};
use criterion::{Criterion, criterion_group, criterion_main};
use detalloc::Heap;

const LAYOUT: Layout = match Layout::from_size_align(64, 8) {
    Ok(layout) => layout,
    Err(_) => panic!("a valid layout"),
};

#[inline(always)]
fn pair(heap: &dyn Heap) {
    let layout = black_box(LAYOUT);
    let p = heap.allocate(layout).unwrap();
    // SAFETY: allocated just above with this layout.
    let _ = unsafe { heap.deallocate(black_box(p), layout) };
}

fn uncontended(c: &mut Criterion) {
    let mut group = c.benchmark_group("uncontended");
    let heaps: Vec<(&str, Box<dyn Heap>)> = vec![
        ("local_lean", Box::new(Lean::new())),
        ("local_stats", Box::new(LocalStats::new())),
        ("spin_lean", Box::new(SpinLean::new())),
        ("spin_stats", Box::new(Spin::new())),
        ("lock_free_lean", Box::new(LockFreeLean::new())),
        ("lock_free_stats", Box::new(LockFree::new())),
        #[cfg(feature = "critical-section")]
        ("critical_section_host", Box::new(common::Critical::new())),
    ];
    for (name, heap) in &heaps {
        group.bench_function(*name, |b| b.iter(|| pair(&**heap)));
    }
    group.finish();
}

/// Two threads doing `iters` pairs each on the same heap; the time per pair of one thread.
fn two_threads(heap: &(dyn Heap + Sync), iters: u64) -> Duration {
    let barrier = Barrier::new(2);
    let times: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..iters {
                        pair(heap);
                    }
                    start.elapsed()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    times.into_iter().max().unwrap_or_default()
}

fn contended(c: &mut Criterion) {
    let mut group = c.benchmark_group("two_threads");
    let heaps: Vec<(&str, Box<dyn Heap + Sync>)> = vec![
        ("spin_stats", Box::new(Spin::new())),
        ("lock_free_stats", Box::new(LockFree::new())),
        ("lock_free_lean", Box::new(LockFreeLean::new())),
        #[cfg(feature = "critical-section")]
        ("critical_section_host", Box::new(common::Critical::new())),
    ];
    for (name, heap) in &heaps {
        group.bench_function(*name, |b| b.iter_custom(|iters| two_threads(&**heap, iters)));
    }
    group.finish();
}

criterion_group!(benches, uncontended, contended);
criterion_main!(benches);
