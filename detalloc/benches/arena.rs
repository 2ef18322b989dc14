//! The arena (issue 26) next to bumpalo and bump-scope, in one run:
//! `cargo bench -p detalloc --bench arena`. Quote ratios from one run, not times.
//!
//! * `scope64`: open a scope (bumpalo: nothing to open), 64 allocations of 16 to 256 bytes
//!   (8-aligned, a fixed mixed sequence, uninitialised), close it (bumpalo: `reset`); time per
//!   allocation, the open and the reset included.
//! * `alloc`: one 64-byte allocation in an open scope, the scope reset every 256 allocations
//!   outside the timed loop's inner work (amortised: the cost of the bump itself).
//!
//! Every arena holds 64 KiB, allocated before timing; none of them ever asks the global
//! allocator for more during the run (bumpalo and bump-scope would: detalloc cannot).

use std::alloc::Layout;
use std::hint::black_box;
use std::mem::MaybeUninit;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use detalloc::arena::Arena;

detalloc::detalloc! { struct Scratch<arena: 64 KiB>; }
detalloc::detalloc! { struct Lean<arena: 64 KiB, stats: false>; }

/// The 64 lengths, in `u64`s (16 to 256 bytes).
const LENS: [usize; 64] = {
    let mut lens = [0; 64];
    let mut i = 0;
    while i < 64 {
        lens[i] = 2 + (i * 7) % 31;
        i += 1;
    }
    lens
};

fn layout(n: usize) -> Layout {
    Layout::array::<u64>(n).expect("small")
}

fn scope64(c: &mut Criterion) {
    let mut g = c.benchmark_group("arena/scope64");
    g.throughput(Throughput::Elements(64));
    let mut scratch = Box::new(Scratch::new());
    g.bench_function("detalloc", |b| {
        b.iter(|| {
            scratch.scope(|s| {
                for &n in &LENS {
                    let _ = black_box(s.allocate(black_box(layout(n))));
                }
            })
        })
    });
    let mut lean = Box::new(Lean::new());
    g.bench_function("detalloc stats off", |b| {
        b.iter(|| {
            lean.scope(|s| {
                for &n in &LENS {
                    let _ = black_box(s.allocate(black_box(layout(n))));
                }
            })
        })
    });
    let mut bump = bumpalo::Bump::with_capacity(64 * 1024);
    g.bench_function("bumpalo", |b| {
        b.iter(|| {
            for &n in &LENS {
                let _ = black_box(bump.try_alloc_layout(black_box(layout(n))));
            }
            bump.reset();
        })
    });
    let mut scoped: bump_scope::Bump = bump_scope::Bump::with_size(64 * 1024);
    g.bench_function("bump-scope", |b| {
        b.iter(|| {
            scoped.scoped(|s| {
                for &n in &LENS {
                    let _ =
                        black_box(s.try_alloc_uninit_slice::<u64>(black_box(n)).map(|b| b.len()));
                }
            })
        })
    });
    g.finish();
}

fn alloc(c: &mut Criterion) {
    let mut g = c.benchmark_group("arena/alloc64");
    g.throughput(Throughput::Elements(256));
    let l = Layout::new::<[u64; 8]>();
    let mut scratch = Box::new(Scratch::new());
    g.bench_function("detalloc", |b| {
        b.iter(|| {
            scratch.scope(|s| {
                for _ in 0..256 {
                    let _ = black_box(s.allocate(black_box(l)));
                }
            })
        })
    });
    let mut bump = bumpalo::Bump::with_capacity(64 * 1024);
    g.bench_function("bumpalo", |b| {
        b.iter(|| {
            for _ in 0..256 {
                let _ = black_box(bump.try_alloc_layout(black_box(l)));
            }
            bump.reset();
        })
    });
    let mut scoped: bump_scope::Bump = bump_scope::Bump::with_size(64 * 1024);
    g.bench_function("bump-scope", |b| {
        b.iter(|| {
            scoped.scoped(|s| {
                for _ in 0..256 {
                    let _ = black_box(
                        s.try_alloc_uninit_slice::<MaybeUninit<u64>>(black_box(8)).map(|b| b.len()),
                    );
                }
            })
        })
    });
    g.finish();
}

criterion_group!(benches, scope64, alloc);
criterion_main!(benches);
