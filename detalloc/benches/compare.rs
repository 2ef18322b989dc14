//! detalloc next to the allocators a real-time Rust engineer would pick instead, in one run:
//! `cargo bench -p detalloc --features critical-section --bench compare`. Quote ratios to the
//! bare free list from one run, not times.
//!
//! * `pair64`: one alloc + free of 64 bytes, hot (also: `local` lean with a constant layout,
//!   and `lock_free` without statistics, for what they cost).
//! * `live64_lifo` / `live64_fifo`: 64 allocations of 64 bytes, then 64 frees in reverse
//!   (LIFO) or the same (FIFO) order; time per operation.
//! * `mixed`: a seeded sequence of 20 000 operations, sizes 16..=256, up to 1 000 live; time
//!   per operation (heapless's single-size pool and the bare list cannot run it).

#[path = "../../examples/peers.rs"]
mod peers;

use std::alloc::Layout;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use detalloc::Heap;
use peers::{
    BareFreeList, Buddy, Detalloc, Heapless, LinkedList, MixedChecked, MixedLean, MixedLockFree,
    MixedLockFreeLean, MixedSpin, Op, Rlsf, Subject, Sys, Talc,
};

const L64: Layout = match Layout::from_size_align(64, 8) {
    Ok(l) => l,
    Err(_) => panic!("valid layout"),
};

fn pair<S: Subject>(g: &mut BenchmarkGroup<'_, WallTime>, s: &mut S) {
    g.bench_function(s.name(), |b| {
        b.iter(|| {
            let h = s.alloc(black_box(L64)).expect("room for one block");
            s.free(black_box(h));
        })
    });
}

fn live64<S: Subject>(g: &mut BenchmarkGroup<'_, WallTime>, s: &mut S, fifo: bool) {
    let mut held: Vec<S::Handle> = Vec::with_capacity(64);
    g.bench_function(s.name(), |b| {
        b.iter(|| {
            for _ in 0..64 {
                held.push(s.alloc(black_box(L64)).expect("room for 64 blocks"));
            }
            if fifo {
                for h in held.drain(..) {
                    s.free(h);
                }
            } else {
                while let Some(h) = held.pop() {
                    s.free(h);
                }
            }
        })
    });
}

fn run_mixed<S: Subject>(s: &mut S, ops: &[Op], slots: &mut [Option<S::Handle>]) {
    for op in ops {
        match *op {
            Op::Alloc { slot, size } => slots[slot] = s.alloc(black_box(peers::layout_of(size))),
            Op::Free { slot } => {
                if let Some(h) = slots[slot].take() {
                    s.free(h);
                }
            }
        }
    }
}

fn mixed<S: Subject>(g: &mut BenchmarkGroup<'_, WallTime>, s: &mut S, ops: &[Op]) {
    let mut slots: Vec<Option<S::Handle>> = (0..1000).map(|_| None).collect();
    g.bench_function(s.name(), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                run_mixed(s, ops, &mut slots);
                total += start.elapsed();
            }
            total
        })
    });
}

/// Calls `$f(group, subject, extra..)` for every subject that supports `$layout`.
macro_rules! each_subject {
    ($g:expr, $f:ident, $layout:expr $(, $extra:expr)*) => {{
        if $layout.size() <= 64 {
            $f($g, &mut Heapless $(, $extra)*);
        }
        $f($g, &mut Detalloc::<MixedLean>::new("detalloc local lean") $(, $extra)*);
        $f($g, &mut Detalloc::<MixedChecked>::new("detalloc local stats+validate") $(, $extra)*);
        $f($g, &mut Detalloc::<MixedSpin>::new("detalloc spin") $(, $extra)*);
        $f($g, &mut Detalloc::<MixedLockFree>::new("detalloc lock_free") $(, $extra)*);
        #[cfg(feature = "critical-section")]
        $f($g, &mut Detalloc::<peers::MixedCritical>::new("detalloc critical_section (host)") $(, $extra)*);
        $f($g, &mut Rlsf::new() $(, $extra)*);
        $f($g, &mut Talc::new() $(, $extra)*);
        $f($g, &mut LinkedList::new() $(, $extra)*);
        $f($g, &mut Buddy::new() $(, $extra)*);
        $f($g, &mut Sys $(, $extra)*);
    }};
}

fn benches(c: &mut Criterion) {
    // heapless's pool is one static per process: give it its blocks once.
    let _ = Heapless::new(64);

    let mut g = c.benchmark_group("pair64");
    pair(&mut g, &mut BareFreeList::new(1024));
    // The layout a constant, as `Box::new` has it: the size-class dispatch folds away.
    let lean = Detalloc::<MixedLean>::new("");
    g.bench_function("detalloc local lean, constant layout", |b| {
        b.iter(|| {
            const LAYOUT: Layout = Layout::new::<[u64; 8]>();
            let p = lean.heap().allocate(LAYOUT).expect("room for one block");
            // SAFETY: allocated just above with this layout.
            let _ = unsafe { lean.heap().deallocate(black_box(p), LAYOUT) };
        })
    });
    // What `lock_free`'s statistics cost: the same heap without them, in the same run.
    pair(&mut g, &mut Detalloc::<MixedLockFreeLean>::new("detalloc lock_free, stats off"));
    each_subject!(&mut g, pair, L64);
    g.finish();

    for (name, fifo) in [("live64_lifo", false), ("live64_fifo", true)] {
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements(128));
        live64(&mut g, &mut BareFreeList::new(1024), fifo);
        each_subject!(&mut g, live64, L64, fifo);
        g.finish();
    }

    let ops = peers::mixed_workload(0x5EED, 20_000, 1000);
    let mut g = c.benchmark_group("mixed");
    g.throughput(Throughput::Elements(ops.len() as u64));
    g.sample_size(20);
    each_subject!(&mut g, mixed, Layout::new::<[u8; 256]>(), &ops);
    g.finish();
}

criterion_group! {
    name = compare;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2));
    targets = benches
}
criterion_main!(compare);
