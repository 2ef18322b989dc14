//! Model-based tests: random allocate/free sequences against a model of the pools, with
//! every invariant checked after every step (see `run_model`), for each mode and option.

use detalloc::{Heap, detalloc};
use detalloc_tests::{ops, run_model};

detalloc! { struct LocalChecked<pools: [16 x 8, 48 x 6, 64 x 4, 256 x 3], validate: true>; }
detalloc! { struct LocalLean<pools: [16 x 8, 48 x 6, 64 x 4, 256 x 3], stats: false, validate: false>; }
detalloc! { struct LocalStatsOnly<pools: [8 x 5, 12 x 5, 4096 x 2], validate: false>; }
detalloc! { struct Spilling<pools: [16 x 4, 32 x 4, 96 x 3, 128 x 2], validate: true, spill: true>; }
detalloc! { struct SpillingLean<pools: [16 x 4, 32 x 4, 96 x 3, 128 x 2], validate: false, spill: true>; }
detalloc! { struct SpinChecked<pools: [16 x 8, 64 x 8, 256 x 4], sync: spin, validate: true>; }
detalloc! { struct CriticalChecked<pools: [16 x 8, 64 x 8, 256 x 4], sync: critical_section, validate: true>; }
detalloc! { struct LockFreeChecked<pools: [16 x 8, 64 x 8, 256 x 4], sync: lock_free, validate: true>; }
detalloc! { struct LockFreeLean<pools: [16 x 8, 64 x 8, 256 x 4], sync: lock_free, stats: false, validate: false, spill: true>; }
detalloc! { struct Odd<pools: [5 x 7, 6 x 3, 7 x 9, 33 x 2], validate: true>; }
detalloc! { struct OddLean<pools: [5 x 7, 6 x 3, 7 x 9, 33 x 2, 64 x 3], stats: false, validate: false>; }
detalloc! { struct EightLean<pools: [4 x 8, 8 x 8, 16 x 8, 32 x 8, 64 x 8, 128 x 4, 256 x 4, 512 x 2], stats: false, validate: false>; }
detalloc! { struct EightChecked<pools: [4 x 8, 8 x 8, 16 x 8, 32 x 8, 64 x 8, 128 x 4, 256 x 4, 512 x 2], validate: true>; }
detalloc! { struct Preset<preset: embedded, validate: true>; }

const OPS: usize = ops(20_000);

#[test]
fn local_with_validation() {
    run_model(&LocalChecked::new(), LocalChecked::POOLS, 1, OPS, false, true);
}

#[test]
fn local_lean_without_stats_or_validation() {
    let heap = LocalLean::new();
    run_model(&heap, LocalLean::POOLS, 2, OPS, false, false);
    let s = heap.stats();
    assert_eq!(
        (s.allocs, s.frees, s.failures, s.peak_bytes),
        (0, 0, 0, 0),
        "counters compiled out"
    );
    assert_eq!(s.total_bytes, LocalLean::TOTAL_BYTES, "total_bytes stays true");
}

#[test]
fn local_stats_without_validation() {
    run_model(&LocalStatsOnly::new(), LocalStatsOnly::POOLS, 3, OPS, false, true);
}

#[test]
fn spill_with_validation() {
    run_model(&Spilling::new(), Spilling::POOLS, 4, OPS, true, true);
}

#[test]
fn spill_without_validation() {
    run_model(&SpillingLean::new(), SpillingLean::POOLS, 5, OPS, true, true);
}

#[test]
fn spin_single_thread() {
    run_model(&SpinChecked::new(), SpinChecked::POOLS, 6, OPS, false, true);
}

#[test]
fn critical_section_single_thread() {
    run_model(&CriticalChecked::new(), CriticalChecked::POOLS, 7, OPS, false, true);
}

#[test]
fn lock_free_single_thread() {
    run_model(&LockFreeChecked::new(), LockFreeChecked::POOLS, 10, OPS, false, true);
}

#[test]
fn lock_free_lean_with_spill() {
    run_model(&LockFreeLean::new(), LockFreeLean::POOLS, 11, OPS, true, false);
}

#[test]
fn odd_sizes_use_unaligned_links() {
    run_model(&Odd::new(), Odd::POOLS, 8, OPS, false, true);
}

#[test]
fn odd_sizes_without_validation_find_pools_by_address() {
    run_model(&OddLean::new(), OddLean::POOLS, 12, OPS, false, false);
}

/// Eight pools: the balanced searches (dispatch and by address) four compares deep.
#[test]
fn eight_pools_searched_in_balance() {
    run_model(&EightLean::new(), EightLean::POOLS, 13, OPS, false, false);
    run_model(&EightChecked::new(), EightChecked::POOLS, 14, OPS, false, true);
}

#[test]
fn preset_heap() {
    run_model(&Preset::new(), Preset::POOLS, 9, OPS, false, true);
}

#[test]
fn many_seeds_on_a_tiny_heap() {
    for seed in 10..(if cfg!(miri) { 12 } else { 60 }) {
        run_model(&LocalChecked::new(), LocalChecked::POOLS, seed, ops(2_000), false, true);
    }
}

#[test]
fn a_moved_empty_heap_still_works() {
    let heap = LocalChecked::new();
    let moved = Box::new(heap);
    run_model(&*moved, LocalChecked::POOLS, 99, ops(2_000), false, true);
}
