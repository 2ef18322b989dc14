//! The firmware examples' workload and checks, the same on every core (included by path in the
//! crate root, after the heap: `#[path = ".../shared/firmware_checks.rs"] mod checks;`, with
//! `HEAP: FirmwareHeap` a static of the root).
//!
//! - [`self_test`]: fills each pool to its declared capacity, sees the next request fail, and
//!   frees everything again.
//! - [`on_tick`]: what each timer interrupt does: a short message allocated and freed in the
//!   handler, and a frame kept until the next tick (freed by the next handler; the last one by
//!   `main`, [`take_last_frame`]).
//! - [`work`]: one round of `Vec` / `String` / `BTreeMap` work in `main`, on the same pools, so
//!   ticks interrupt it in the middle of allocations and frees.
//! - [`check_counts`]: every counter of the heap against what the program did, and
//!   `validate()`. Any failed check panics.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::alloc::Layout;
use core::cell::RefCell;
use core::ptr::NonNull;

use critical_section::Mutex;
use detalloc::Heap;

use crate::{FirmwareHeap, HEAP};

/// A frame of samples, kept from one tick to the next: 192 bytes, served by the 256-byte pool.
pub type Frame = [u32; 48];

/// The frame the last tick allocated; the next tick frees it.
static LAST_FRAME: Mutex<RefCell<Option<Box<Frame>>>> = Mutex::new(RefCell::new(None));

/// The allocations of timer tick `tick` (1, 2, ...), in the interrupt handler.
pub fn on_tick(tick: u32) {
    // A short-lived message: allocated and freed within this handler (16-byte pool, which
    // `main` is using at the same time).
    let message = Box::new([tick, !tick, tick.rotate_left(16)]);
    // A frame that outlives this handler (256-byte pool, also used by `main`).
    let frame: Box<Frame> = Box::new([tick; 48]);
    assert!(message[1] == !message[0] && message[2] == tick.rotate_left(16));
    drop(message);

    let previous = critical_section::with(|cs| LAST_FRAME.borrow_ref_mut(cs).replace(frame));
    if let Some(previous) = previous {
        assert!(
            previous.iter().all(|&sample| sample == tick - 1),
            "frame of tick {} damaged",
            tick - 1
        );
        drop(previous); // a block allocated by the previous interrupt, freed by this one
    }
}

/// Takes and frees the last tick's frame (allocated in the handler, freed by `main`), checking
/// it was not damaged.
pub fn take_last_frame(ticks: u32) {
    let last = critical_section::with(|cs| LAST_FRAME.borrow_ref_mut(cs).take()).expect("a frame");
    assert!(last.iter().all(|&sample| sample == ticks));
}

/// One round of ordinary collection work. Its allocation pattern does not depend on `round`
/// (fixed-width strings), so every round makes the same allocations from the same pools.
pub fn work(round: u32) {
    // Grows one push at a time: 16 -> 32 -> 64 -> 128 bytes, i.e. `realloc` from the 16-byte
    // pool to the 64-byte pool (in place once) to the 256-byte pool.
    let mut samples: Vec<u32> = Vec::new();
    for i in 0..24 {
        samples.push(round * 1000 + i);
    }

    // BTreeMap nodes (a leaf and an internal node: 65 to 256 bytes on 32-bit targets, the
    // 256-byte pool; 12 entries make two leaves and a root) and 7-byte Strings
    // (the 16-byte pool).
    let mut labels: BTreeMap<u16, String> = BTreeMap::new();
    for i in 0..12u16 {
        labels.insert(i, format!("r{round:03}:{i:02}"));
    }

    // A vector that names its heap (allocator-api2): 40 bytes, the 64-byte pool.
    let mut scratch = detalloc::allocator_api2::vec::Vec::with_capacity_in(10, &HEAP);
    scratch.extend(samples.iter().rev().take(10).copied());

    let joined = labels.values().map(String::as_str).collect::<Vec<_>>().join(",");

    assert_eq!(samples.iter().sum::<u32>(), 24 * round * 1000 + (0..24).sum::<u32>());
    assert_eq!(scratch[0], round * 1000 + 23);
    assert_eq!(joined.len(), 12 * 7 + 11);
    assert!(joined.starts_with(&format!("r{round:03}:00,r{round:03}:01,")));
}

/// Allocations per pool so far.
pub fn pool_allocs() -> [u64; 3] {
    core::array::from_fn(|pool| HEAP.pool_stats(pool).map_or(0, |p| p.allocs))
}

/// Fills each pool to its capacity through `Heap::allocate`, checks that the next request
/// fails, and frees every block again. Returns each pool's block count.
pub fn self_test() -> [usize; 3] {
    for spec in FirmwareHeap::POOLS {
        let layout = Layout::from_size_align(spec.block_size, 1).expect("a valid layout");
        let mut blocks: [Option<NonNull<u8>>; 64] = [None; 64];
        let mut count = 0;
        while let Ok(block) = HEAP.allocate(layout) {
            assert!(
                count < blocks.len(),
                "pool of {} B hands out too many blocks",
                spec.block_size
            );
            blocks[count] = Some(block);
            count += 1;
        }
        assert_eq!(count, spec.blocks, "pool of {} B", spec.block_size);
        for block in blocks[..count].iter().flatten() {
            // SAFETY: each block came from `HEAP.allocate(layout)` above and is freed once.
            unsafe { HEAP.deallocate(*block, layout) }.expect("a valid free");
        }
    }
    core::array::from_fn(|pool| FirmwareHeap::POOLS[pool].blocks)
}

/// Every counter against what the program did: the self-test, `rounds` rounds of `work` that
/// each made `per_round` allocations per pool, and `ticks` ticks; then the heap's audit.
pub fn check_counts(rounds: u32, per_round: [u64; 3], ticks: u32) {
    let stats = HEAP.stats();
    assert_eq!(stats.in_use_bytes, 0, "every block is back");
    assert_eq!(stats.allocs, stats.frees, "allocs == frees");
    assert_eq!(stats.invalid_frees, 0, "no free was refused");
    assert_eq!(stats.failures, 3, "one failure per pool, all from the self-test");
    let ticks = u64::from(ticks);
    let from_isr = [ticks, 0, ticks]; // messages in the 16-byte pool, frames in the 256-byte pool
    for (pool, spec) in FirmwareHeap::POOLS.iter().enumerate() {
        let p = HEAP.pool_stats(pool).expect("a pool");
        let expected = spec.blocks as u64 + u64::from(rounds) * per_round[pool] + from_isr[pool];
        assert_eq!(p.allocs, expected, "pool {pool}: self-test + rounds + ticks");
        assert_eq!((p.frees, p.in_use, p.failures), (expected, 0, 1), "pool {pool}");
        assert_eq!(p.peak, spec.blocks, "pool {pool}: the self-test's peak");
    }
    if let Err(corruption) = HEAP.validate() {
        panic!("audit failed: {corruption:?}");
    }
}
