//! Resizing never loses a block and a shrink never fails: `GlobalAlloc::realloc` and
//! allocator-api2's `shrink` move a block to the smaller pool when it has room and otherwise
//! keep it where it is; the later free, which names the smaller layout, is accepted (and a
//! wrong one still refused). Also the per-pool audit.

use std::alloc::{GlobalAlloc, Layout};
use std::ptr::NonNull;

use detalloc::allocator_api2::vec::Vec as ApiVec;
use detalloc::{FreeError, Heap, detalloc};

detalloc! { struct Checked<pools: [16 x 2, 64 x 4, 256 x 2], validate: true>; }
detalloc! { struct Lean<pools: [16 x 2, 64 x 4, 256 x 2], stats: false, validate: false>; }
detalloc! { struct LockFree<pools: [16 x 2, 64 x 4, 256 x 2], sync: lock_free, validate: true>; }

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, 8).unwrap()
}

/// Fills pool 0 (two 16-byte blocks) and returns them.
fn exhaust_small(heap: &dyn Heap) -> [NonNull<u8>; 2] {
    [heap.allocate(layout(16)).unwrap(), heap.allocate(layout(16)).unwrap()]
}

/// A 200-byte block shrunk to 10 bytes while the 16-byte pool is full stays where it is,
/// keeps its contents, and is freed with the small layout; the pools then refill exactly.
fn shrink_keeps_in_place<H: Heap + GlobalAlloc>(heap: &H) {
    let small = exhaust_small(heap);
    let big = heap.allocate(layout(200)).unwrap();
    // SAFETY: `big` is a live 200-byte block; the bytes written lie inside it.
    unsafe { big.as_ptr().copy_from_nonoverlapping(b"0123456789".as_ptr(), 10) };
    let before = heap.stats();
    // SAFETY: `big` was allocated by this heap with `layout(200)`.
    let shrunk = unsafe { heap.realloc(big.as_ptr(), layout(200), 10) };
    assert_eq!(shrunk, big.as_ptr(), "the small pool is full: the block stays in place");
    // SAFETY: 10 bytes of the live block.
    assert_eq!(unsafe { std::slice::from_raw_parts(shrunk, 10) }, b"0123456789");
    let after = heap.stats();
    assert_eq!(after.failures, before.failures, "a kept shrink is not a failed allocation");
    let stats_on = after.allocs > 0;
    if stats_on {
        assert_eq!(heap.pool_stats(2).unwrap().in_use, 1);
    }
    heap.validate().unwrap();
    // SAFETY: the block is live and its current layout is `layout(10)`.
    unsafe { heap.deallocate(big, layout(10)) }.unwrap();
    for block in small {
        // SAFETY: allocated above with this layout.
        unsafe { heap.deallocate(block, layout(16)) }.unwrap();
    }
    heap.validate().unwrap();
    assert_eq!(heap.stats().in_use_bytes, 0);
    // Every block is back: each pool hands out its whole capacity again.
    let capacity: Vec<_> = [(16, 2), (64, 4), (256, 2)]
        .into_iter()
        .map(|(size, blocks)| (0..blocks).filter(|_| heap.allocate(layout(size)).is_ok()).count())
        .collect();
    assert_eq!(capacity, [2, 4, 2]);
    assert!(heap.allocate(layout(200)).is_err());
}

#[test]
fn a_shrink_into_a_full_pool_keeps_the_block() {
    shrink_keeps_in_place(&Checked::new());
    shrink_keeps_in_place(&Lean::new());
    shrink_keeps_in_place(&LockFree::new());
}

#[test]
fn a_shrink_moves_to_the_smaller_pool_when_it_has_room() {
    let heap = Checked::new();
    let big = heap.allocate(layout(200)).unwrap();
    // SAFETY: `big` was allocated by this heap with `layout(200)`.
    let moved = unsafe { heap.realloc(big.as_ptr(), layout(200), 10) };
    assert_ne!(moved, big.as_ptr());
    assert_eq!(heap.pool_stats(0).unwrap().in_use, 1);
    assert_eq!(heap.pool_stats(2).unwrap().in_use, 0, "the large block went back");
    // SAFETY: `moved` is live with `layout(10)`.
    unsafe { heap.deallocate(NonNull::new(moved).unwrap(), layout(10)) }.unwrap();
    heap.validate().unwrap();
}

#[test]
fn a_vec_shrinks_to_fit_with_its_smaller_pool_exhausted_and_keeps_running() {
    let heap = Checked::new();
    let small = exhaust_small(&heap);
    let mut v: ApiVec<u8, &Checked> = ApiVec::with_capacity_in(200, &heap);
    v.extend_from_slice(b"hello");
    v.shrink_to_fit();
    assert_eq!(&v[..], b"hello");
    assert!(v.capacity() >= 5);
    v.push(b'!');
    assert_eq!(&v[..], b"hello!");
    drop(v);
    for block in small {
        // SAFETY: allocated above with this layout.
        unsafe { heap.deallocate(block, layout(16)) }.unwrap();
    }
    heap.validate().unwrap();
    let s = heap.stats();
    assert_eq!((s.in_use_bytes, s.invalid_frees, s.failures), (0, 0, 0));
}

#[test]
fn a_kept_block_is_still_checked_on_free() {
    let heap = Checked::new();
    let small = exhaust_small(&heap);
    let big = heap.allocate(layout(200)).unwrap();
    let other = heap.allocate(layout(200)).unwrap();
    // SAFETY: `big` was allocated by this heap with `layout(200)`.
    unsafe { heap.realloc(big.as_ptr(), layout(200), 10) };
    // A block never shrunk is still a wrong-pool free with a small layout.
    // SAFETY: validation is on: a wrong free is refused, not undefined.
    assert_eq!(unsafe { heap.deallocate(other, layout(10)) }, Err(FreeError::WrongPool));
    // SAFETY: the kept block, freed once with its new layout...
    unsafe { heap.deallocate(big, layout(10)) }.unwrap();
    // ...and a second time: refused.
    // SAFETY: as above.
    assert!(unsafe { heap.deallocate(big, layout(10)) }.is_err());
    // SAFETY: valid frees.
    unsafe { heap.deallocate(other, layout(200)) }.unwrap();
    for block in small {
        // SAFETY: allocated above with this layout.
        unsafe { heap.deallocate(block, layout(16)) }.unwrap();
    }
    heap.validate().unwrap();
    assert_eq!(heap.stats().invalid_frees, 2);
}

#[test]
fn each_pool_can_be_audited_alone() {
    let heap = Checked::new();
    let block = heap.allocate(layout(40)).unwrap();
    for pool in 0..Checked::POOLS.len() {
        assert_eq!(heap.validate_pool(pool), Some(Ok(())));
    }
    assert_eq!(heap.validate_pool(Checked::POOLS.len()), None);
    // SAFETY: allocated above with this layout.
    unsafe { heap.deallocate(block, layout(40)) }.unwrap();
}
