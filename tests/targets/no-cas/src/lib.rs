//! One heap per feature; see Cargo.toml.
#![no_std]

use detalloc::detalloc;

#[cfg(feature = "spin-mode")]
detalloc! { pub struct SpinHeap<pools: [16 x 8, 64 x 4], sync: spin>; }

#[cfg(feature = "lock-free-mode")]
detalloc! { pub struct LockFreeHeap<pools: [16 x 8, 64 x 4], sync: lock_free>; }

#[cfg(feature = "critical-section-mode")]
detalloc! { pub struct CsHeap<pools: [16 x 8, 64 x 4], sync: critical_section>; }

#[cfg(feature = "lock-free-big")]
detalloc! { pub struct BigLockFree<pools: [16 x 8, 64 x 70_000], sync: lock_free>; }

#[cfg(feature = "oversized-pool")]
detalloc! { pub struct Oversized<pools: [16 x 8, 3221225472 x 1]>; }

/// An allocation and its free on the lock-free heap: a non-generic function, so the crate's
/// build generates (and assembles) the pool's pop, push and bump for the target.
#[cfg(feature = "lock-free-mode")]
pub fn lock_free_round_trip(heap: &LockFreeHeap) -> bool {
    use detalloc::Heap;
    let layout = core::alloc::Layout::new::<u64>();
    let Ok(block) = heap.allocate(layout) else { return false };
    // SAFETY: `block` came from `heap.allocate(layout)` just above and is freed once.
    unsafe { heap.deallocate(block, layout) }.is_ok()
}
