//! Time per alloc+free pair of 64 bytes: detalloc next to a bare free list and the system
//! allocator, in one run (`cargo bench -p detalloc --bench pair`). Quote ratios, not times.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;

use common::{BareFreeList, Checked, Lean, Spin};
use criterion::{Criterion, criterion_group, criterion_main};
use detalloc::Heap;

fn pair(c: &mut Criterion) {
    let mut group = c.benchmark_group("pair64");
    let layout = Layout::from_size_align(64, 8).unwrap();

    let bare = BareFreeList::new();
    group.bench_function("bare_free_list", |b| {
        b.iter(|| {
            let p = bare.alloc();
            // SAFETY: `p` came from `alloc` (the list never runs dry in a pair loop).
            unsafe { bare.free(black_box(p)) };
        })
    });

    fn detalloc_pair<H: Heap>(
        c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
        name: &str,
        heap: &H,
        layout: Layout,
    ) {
        c.bench_function(name, |b| {
            b.iter(|| {
                let l = black_box(layout);
                let p = heap.allocate(l).unwrap();
                // SAFETY: allocated just above with this layout.
                let _ = unsafe { heap.deallocate(black_box(p), l) };
            })
        });
    }
    detalloc_pair(&mut group, "detalloc_lean", &Lean::new(), layout);
    detalloc_pair(&mut group, "detalloc_stats_validate", &Checked::new(), layout);
    detalloc_pair(&mut group, "detalloc_spin", &Spin::new(), layout);

    group.bench_function("system", |b| {
        b.iter(|| {
            // SAFETY: non-zero size; the pointer is freed with the same layout.
            unsafe {
                let p = System.alloc(black_box(layout));
                System.dealloc(black_box(p), layout);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, pair);
criterion_main!(benches);
