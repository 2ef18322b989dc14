//! A suggestion from `detalloc-suggest`, declared with `detalloc!`, is a heap that serves the
//! recorded run: the same events replayed on it all succeed, and each pool's measured peak
//! is the simultaneous peak the suggestion computed.

use std::alloc::Layout;
use std::ptr::NonNull;

use detalloc::{Heap, detalloc};
use detalloc_suggest::{Event, Options, Recording, suggest};
use detalloc_tests::{Rng, select};

/// A run over a few layouts: bursts of allocations, frees of random live blocks.
fn run(seed: u64) -> Vec<Event> {
    let layouts = [(8, 8), (12, 4), (24, 8), (32, 32), (40, 8), (100, 4), (3000, 8), (70_000, 16)]
        .map(|(size, align)| Layout::from_size_align(size, align).unwrap());
    let mut rng = Rng::new(seed);
    let mut live: Vec<Layout> = Vec::new();
    let mut events = Vec::new();
    for _ in 0..4000 {
        if live.is_empty() || rng.below(100) < 52 {
            // Sizes come in phases, so that they do not all peak at once.
            let phase = events.len() / 1000 % 3;
            let layout = layouts[(phase * 2 + rng.below(4)) % layouts.len()];
            live.push(layout);
            events.push(Event::Alloc(layout));
        } else {
            events.push(Event::Free(live.swap_remove(rng.below(live.len()))));
        }
    }
    events
}

#[test]
fn the_suggested_heap_serves_the_recorded_run_at_its_simultaneous_peaks() {
    let events = run(0x5EED_0017);
    let recording = Recording::from_events(events.iter().copied());
    let suggestion = suggest(&[recording], &Options::new(3)).unwrap();
    // If this changes, paste the new line into `Replay` below (and look at why).
    assert_eq!(suggestion.pools_line(), "pools: [128 x 111, 3000 x 28, 70000 x 33],");
    detalloc! {
        struct Replay<pools: [128 x 111, 3000 x 28, 70000 x 33], sync: spin, validate: true>;
    }
    static HEAP: Replay = Replay::new(); // 2.4 MB: not on a test thread's stack
    assert_eq!(Replay::POOLS, suggestion.pool_specs().as_slice());
    assert_eq!(Replay::TOTAL_BYTES, suggestion.total_bytes());

    let heap = &HEAP;
    let mut live: Vec<(NonNull<u8>, Layout)> = Vec::new();
    for event in &events {
        match *event {
            Event::Alloc(layout) => {
                let block = heap.allocate(layout).unwrap_or_else(|_| {
                    panic!("{layout:?} (pool {:?}) fits", select(Replay::POOLS, layout))
                });
                live.push((block, layout));
            }
            Event::Free(layout) => {
                let at = live.iter().rposition(|&(_, l)| l == layout).unwrap();
                let (block, layout) = live.swap_remove(at);
                // SAFETY: `block` came from `heap.allocate(layout)` and is freed once.
                unsafe { heap.deallocate(block, layout) }.unwrap();
            }
        }
    }
    for (index, pool) in suggestion.pools().iter().enumerate() {
        let stats = heap.pool_stats(index).unwrap();
        assert_eq!(stats.peak as u64, pool.peak_max, "pool {index}: the peak the run reached");
        assert!(pool.peak_max <= pool.own_peaks);
    }
    let own: u64 = suggestion.pools().iter().map(|p| p.own_peaks).sum();
    assert!(own > suggestion.blocks() as u64, "sizes that do not peak together share blocks");
    assert_eq!(heap.stats().failures, 0);
    heap.validate().unwrap();
}
