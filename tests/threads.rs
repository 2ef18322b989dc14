//! Shared modes under real threads: each block is stamped by its owner and checked before it
//! is freed; afterwards the counters are exact and `validate()` is clean.

use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::Barrier;

use detalloc::{Heap, detalloc};
use detalloc_tests::{Rng, assert_refills, ops};

detalloc! { struct SpinHeap<pools: [16 x 32, 64 x 16, 256 x 8], sync: spin, validate: true>; }
detalloc! { struct CsHeap<pools: [16 x 32, 64 x 16, 256 x 8], sync: critical_section, validate: true>; }

/// `threads` threads x `per_thread` operations; every block holds its owner's stamp.
fn hammer(heap: &(dyn Heap + Sync), threads: usize, per_thread: usize) -> u64 {
    let barrier = Barrier::new(threads);
    let served: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                s.spawn(move || {
                    let mut rng = Rng::new(0x9E37 + t as u64);
                    let mut mine: Vec<(NonNull<u8>, Layout, u8)> = Vec::new();
                    let mut served = 0u64;
                    barrier.wait();
                    for i in 0..per_thread {
                        if mine.len() < 6 && rng.below(2) == 0 {
                            let size = [8, 16, 40, 64, 200, 256][rng.below(6)];
                            let layout = Layout::from_size_align(size, 8).unwrap();
                            if let Ok(p) = heap.allocate(layout) {
                                let stamp = (t * 31 + i) as u8;
                                // SAFETY: a live block owned by this thread, `size` bytes.
                                unsafe { p.as_ptr().write_bytes(stamp, size) };
                                mine.push((p, layout, stamp));
                                served += 1;
                            }
                        } else if let Some((p, layout, stamp)) = mine.pop() {
                            // SAFETY: this thread's live block.
                            let bytes =
                                unsafe { std::slice::from_raw_parts(p.as_ptr(), layout.size()) };
                            assert!(
                                bytes.iter().all(|&b| b == stamp),
                                "another thread wrote my block"
                            );
                            // SAFETY: allocated with this layout, freed once.
                            unsafe { heap.deallocate(p, layout) }.unwrap();
                        }
                    }
                    for (p, layout, _) in mine {
                        // SAFETY: as above.
                        unsafe { heap.deallocate(p, layout) }.unwrap();
                    }
                    served
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let s = heap.stats();
    assert_eq!(s.allocs, served);
    assert_eq!(s.frees, served);
    assert_eq!((s.in_use_bytes, s.invalid_frees), (0, 0));
    heap.validate().unwrap();
    served
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8)
}

#[test]
fn spin_with_as_many_threads_as_cores() {
    let heap = SpinHeap::new();
    let served = hammer(&heap, cores(), ops(200_000));
    assert!(served > 0);
    assert_refills(&heap, SpinHeap::POOLS, false);
}

#[test]
fn critical_section_with_more_threads_than_cores() {
    let heap = CsHeap::new();
    hammer(&heap, 2 * cores(), ops(100_000));
    assert_refills(&heap, CsHeap::POOLS, false);
}
