//! Shared modes under real threads: each block is stamped by its owner and checked before it
//! is freed; afterwards the counters are exact and `validate()` is clean.

use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::Barrier;

use detalloc::{Heap, detalloc};
use detalloc_tests::{Rng, assert_refills};

detalloc! { struct SpinHeap<pools: [16 x 32, 64 x 16, 256 x 8], sync: spin, validate: true>; }
detalloc! { struct CsHeap<pools: [16 x 32, 64 x 16, 256 x 8], sync: critical_section, validate: true>; }
detalloc! { struct LockFreeHeap<pools: [16 x 32, 64 x 16, 256 x 8], sync: lock_free, validate: true>; }
detalloc! { struct LockFreeTiny<pools: [16 x 3, 256 x 2], sync: lock_free, validate: false>; }
detalloc! { struct LockFreeOne<pools: [16 x 1], sync: lock_free>; }

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

/// Operations per thread: 10^6 natively, a few thousand under Miri, divided by
/// `DETALLOC_THREADS_DIVISOR` when it is set (CI sets 10 for the AArch64 run under
/// `qemu-aarch64`, which emulates every thread on the host's cores).
fn per_thread() -> usize {
    scaled(if cfg!(miri) { 2_000 } else { 1_000_000 })
}

/// `ops` divided by `DETALLOC_THREADS_DIVISOR` (1 when unset or not a positive number).
fn scaled(ops: usize) -> usize {
    let divisor = std::env::var("DETALLOC_THREADS_DIVISOR").ok().and_then(|d| d.parse().ok());
    ops / divisor.filter(|&d: &usize| d > 0).unwrap_or(1)
}

#[test]
fn spin_with_as_many_threads_as_cores() {
    let heap = SpinHeap::new();
    let served = hammer(&heap, cores(), per_thread());
    assert!(served > 0);
    assert_refills(&heap, SpinHeap::POOLS, false);
}

#[test]
fn critical_section_with_twice_as_many_threads_as_cores() {
    let heap = CsHeap::new();
    hammer(&heap, 2 * cores(), per_thread());
    assert_refills(&heap, CsHeap::POOLS, false);
}

#[test]
fn lock_free_with_twice_as_many_threads_as_cores() {
    let heap = LockFreeHeap::new();
    hammer(&heap, 2 * cores(), per_thread());
    assert_refills(&heap, LockFreeHeap::POOLS, false);
}

/// Threads that each take a block of a tiny pool, stamp it, check the stamp is still
/// theirs, and give it back. Returns the anomalies seen: a stamp overwritten (a block handed
/// out twice) or an audit failure.
fn aba_stress(heap: &(dyn Heap + Sync), threads: usize, per_thread: usize) -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let anomalies = AtomicUsize::new(0);
    let layout = Layout::new::<u64>();
    std::thread::scope(|s| {
        for t in 0..threads {
            let anomalies = &anomalies;
            s.spawn(move || {
                let stamp = 0x0101_0101_0101_0101u64 * (t as u64 + 1);
                for _ in 0..per_thread {
                    let Ok(p) = heap.allocate(layout) else { continue };
                    let p = p.cast::<u64>();
                    // SAFETY: a live 16-byte block owned by this thread (as far as it knows).
                    unsafe { p.as_ptr().write_volatile(stamp) };
                    std::hint::spin_loop();
                    // SAFETY: as above.
                    if unsafe { p.as_ptr().read_volatile() } != stamp {
                        anomalies.fetch_add(1, Ordering::Relaxed);
                    }
                    // SAFETY: allocated above with this layout.
                    let _ = unsafe { heap.deallocate(p.cast(), layout) };
                }
            });
        }
    });
    anomalies.load(Ordering::Relaxed) + usize::from(heap.validate().is_err())
}

/// A tiny pool, 4x as many threads as cores, no validation: a popper preempted between
/// reading the head and its CAS is routine here. With the tag, no block is ever handed out
/// twice. (Whether a stress without the tag finds the corruption depends on the scheduler,
/// so the proof that the tag is what prevents it is deterministic: `aba.rs`, and the loom
/// model.)
#[test]
fn lock_free_tag_prevents_aba() {
    let heap = LockFreeTiny::new();
    assert_eq!(aba_stress(&heap, 4 * cores(), per_thread()), 0);
    assert_refills(&heap, LockFreeTiny::POOLS, false);
}

/// The reproduction of a counting race: a free pushed its block before counting, so another
/// thread could pop it and count its allocation first, and a one-block pool at rest reported
/// `peak: 2` (`peak_bytes` above `total_bytes`). The free now counts first, and the peak an
/// allocation records can never exceed the pool.
#[test]
fn lock_free_peak_never_exceeds_the_pool() {
    let heap = LockFreeOne::new();
    let layout = Layout::new::<u64>();
    let rounds = scaled(if cfg!(miri) { 200 } else { 200_000 });
    let served = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..rounds {
                    if let Ok(block) = heap.allocate(layout) {
                        served.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        // SAFETY: allocated just above with this layout, freed once.
                        unsafe { heap.deallocate(block, layout) }.unwrap();
                    }
                }
            });
        }
    });
    let (stats, pool) = (heap.stats(), heap.pool_stats(0).unwrap());
    assert!(pool.peak <= pool.blocks, "peak {} of a {}-block pool", pool.peak, pool.blocks);
    assert!(stats.peak_bytes <= stats.total_bytes);
    assert_eq!(pool.peak, 1);
    assert_eq!((pool.in_use, pool.allocs, pool.frees), (0, served.into_inner(), pool.allocs));
    heap.validate().unwrap();
}
