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

// ---- Regression: a resize decides by the pool that holds the block (issue 22, defect 1) ----

use detalloc::allocator_api2::alloc::Allocator;

detalloc! { struct Mixed<pools: [96 x 4, 128 x 1], validate: true>; }
detalloc! { struct SpillMixed<pools: [64 x 1, 96 x 4], validate: true, spill: true>; }
detalloc! { struct TinyAndPage<pools: [8 x 4, 4096 x 1], validate: true>; }

fn lay(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

/// Stamps `len` bytes at `ptr` with `byte`.
///
/// # Safety
/// `ptr..ptr + len` lies in a live block this test owns.
unsafe fn stamp(ptr: NonNull<u8>, len: usize, byte: u8) {
    // SAFETY: the caller's promise.
    unsafe { ptr.as_ptr().write_bytes(byte, len) };
}

/// Whether `len` bytes at `ptr` all hold `byte`.
///
/// # Safety
/// As for `stamp`.
unsafe fn stamped(ptr: NonNull<u8>, len: usize, byte: u8) -> bool {
    // SAFETY: the caller's promise.
    unsafe { std::slice::from_raw_parts(ptr.as_ptr(), len) }.iter().all(|&b| b == byte)
}

/// Pools `[96 x 4, 128 x 1]`, the 128 pool full, a 96-byte block P that happens to be
/// 128-aligned: shrinking P to 64/128 cannot stay in the 96 pool (its blocks are only
/// 32-aligned) and the 128 pool is full, so the shrink fails and P stays as it was. Before the
/// fix it was kept with a slice of 128 bytes, and a `grow_zeroed` to 128/128 then zeroed 32
/// bytes of the next block.
#[test]
fn a_resize_never_reports_more_than_the_block_that_holds_it() {
    let heap = Mixed::new();
    let a = &heap;
    let big = Allocator::allocate(&a, lay(128, 8)).unwrap();
    let blocks: Vec<NonNull<u8>> =
        (0..4).map(|_| Allocator::allocate(&a, lay(96, 8)).unwrap().cast::<u8>()).collect();
    for (i, b) in blocks.iter().enumerate() {
        // SAFETY: each 96-byte block is live and owned here.
        unsafe { stamp(*b, 96, i as u8 + 1) };
    }
    let (at, &p) = blocks
        .iter()
        .enumerate()
        .find(|(_, b)| b.as_ptr().addr().is_multiple_of(128))
        .expect("the struct form puts the 96 pool right after the 128-aligned 128 pool");
    let mut current = lay(96, 8);
    let mut ptr = p;
    // SAFETY: `p` is live with layout 96/8; 64 <= 96.
    match unsafe { Allocator::shrink(&a, p, current, lay(64, 128)) } {
        Ok(block) => {
            assert!(block.cast::<u8>().as_ptr().addr().is_multiple_of(128));
            assert!(
                block.cast::<u8>() != p || block.len() <= 96,
                "kept in the 96 pool, the block has 96 bytes, not {}",
                block.len()
            );
            ptr = block.cast();
            current = lay(64, 128);
            // SAFETY: `ptr` is live with `current`; 128 >= 64.
            if let Ok(grown) = unsafe { Allocator::grow_zeroed(&a, ptr, current, lay(128, 128)) } {
                assert!(grown.cast::<u8>() != p || grown.len() <= 96, "grown past its block");
                ptr = grown.cast();
                current = lay(128, 128);
            }
        }
        Err(_) => {
            // SAFETY: the failed shrink left P live with its old contents.
            assert!(unsafe { stamped(p, 96, at as u8 + 1) }, "a failed shrink changed nothing");
        }
    }
    for (i, b) in blocks.iter().enumerate().filter(|&(i, _)| i != at) {
        // SAFETY: the other 96-byte blocks are still live and owned here.
        assert!(unsafe { stamped(*b, 96, i as u8 + 1) }, "block {i} was overwritten");
    }
    // SAFETY: `ptr` is live with `current`.
    unsafe { Heap::deallocate(&heap, ptr, current) }.expect("a live block frees with its layout");
    for b in blocks.iter().enumerate().filter(|&(i, _)| i != at).map(|(_, b)| *b) {
        // SAFETY: allocated above with this layout, freed once.
        unsafe { Heap::deallocate(&heap, b, lay(96, 8)) }.unwrap();
    }
    // SAFETY: allocated above with this layout, freed once.
    unsafe { Heap::deallocate(&heap, big.cast(), lay(128, 8)) }.unwrap();
    heap.validate().unwrap();
    let s = heap.stats();
    assert_eq!((s.in_use_bytes, s.invalid_frees), (0, 0));
}

/// Pools `[64 x 1, 96 x 4]` with spill: a 64/8 request spills into the 96 pool (32-aligned
/// blocks); growing it to 64/64 must return a 64-aligned block, so it moves (or fails) when
/// its block is not. Before the fix both layouts selected pool 0 and it stayed in place.
#[test]
fn a_grow_honours_the_new_alignment_of_a_spilled_block() {
    let heap = SpillMixed::new();
    let a = &heap;
    let first = Allocator::allocate(&a, lay(64, 8)).unwrap();
    let spilled: Vec<NonNull<u8>> =
        (0..3).map(|_| Allocator::allocate(&a, lay(64, 8)).unwrap().cast::<u8>()).collect();
    assert_eq!(heap.pool_stats(1).unwrap().in_use, 3, "the pool of 64 is full: they spill");
    let mut grown = Vec::new();
    for p in spilled {
        // SAFETY: `p` is live with layout 64/8; the new size is the same.
        match unsafe { Allocator::grow(&a, p, lay(64, 8), lay(64, 64)) } {
            Ok(block) => {
                assert!(block.cast::<u8>().as_ptr().addr().is_multiple_of(64), "misaligned");
                grown.push((block.cast::<u8>(), lay(64, 64)));
            }
            Err(_) => grown.push((p, lay(64, 8))),
        }
    }
    for (p, l) in grown {
        // SAFETY: live with its current layout.
        unsafe { Heap::deallocate(&heap, p, l) }.expect("a live block frees with its layout");
    }
    // SAFETY: allocated above with this layout.
    unsafe { Heap::deallocate(&heap, first.cast(), lay(64, 8)) }.unwrap();
    heap.validate().unwrap();
    assert_eq!(heap.stats().invalid_frees, 0);
}

/// Pools `[8 x 4, 4096 x 1]`, the page pool full: an 8/4 block that happens to be
/// 4096-aligned, shrunk to 8/256, cannot stay (its pool's blocks are 8-aligned). Before the
/// fix it was kept (`Ok`, with a slice of 4096 bytes) and its free with 8/256 was then
/// refused as `WrongPool`: a leak.
#[test]
fn a_block_kept_by_a_shrink_frees_with_its_new_layout() {
    let heap = TinyAndPage::new();
    let a = &heap;
    let page = Allocator::allocate(&a, lay(4096, 8)).unwrap();
    let p = Allocator::allocate(&a, lay(8, 4)).unwrap().cast::<u8>();
    assert!(p.as_ptr().addr().is_multiple_of(4096), "the 8 pool follows the page pool");
    // SAFETY: `p` is live with layout 8/4; 8 <= 8.
    let (ptr, current) = match unsafe { Allocator::shrink(&a, p, lay(8, 4), lay(8, 256)) } {
        Ok(block) => {
            assert!(block.len() <= 8 || block.cast::<u8>() != p, "{} bytes", block.len());
            (block.cast::<u8>(), lay(8, 256))
        }
        Err(_) => (p, lay(8, 4)),
    };
    // SAFETY: live with its current layout.
    unsafe { Heap::deallocate(&heap, ptr, current) }.expect("a live block frees with its layout");
    // SAFETY: allocated above with this layout.
    unsafe { Heap::deallocate(&heap, page.cast(), lay(4096, 8)) }.unwrap();
    heap.validate().unwrap();
    assert_eq!(heap.stats().in_use_bytes, 0);
}

/// A block stays in place when the pool holding it fits the new layout, even when the new
/// layout selects a smaller pool (a spilled block grown within its block), and its free with
/// the new layout is accepted; the reported length is the holding pool's block size.
#[test]
fn a_spilled_block_grows_in_place_and_reports_its_pools_size() {
    let heap = SpillMixed::new();
    let a = &heap;
    let first = Allocator::allocate(&a, lay(64, 8)).unwrap();
    let spilled = Allocator::allocate(&a, lay(16, 8)).unwrap();
    assert_eq!(spilled.len(), 96, "allocate reports the serving pool's block size");
    // SAFETY: live with 16/8; 90 >= 16.
    let grown = unsafe { Allocator::grow(&a, spilled.cast(), lay(16, 8), lay(90, 8)) }.unwrap();
    assert_eq!(grown.cast::<u8>(), spilled.cast::<u8>(), "the 96-byte block holds 90 bytes");
    assert_eq!(grown.len(), 96);
    // SAFETY: live with 90/8.
    let shrunk = unsafe { Allocator::shrink(&a, grown.cast(), lay(90, 8), lay(40, 8)) }.unwrap();
    assert_eq!((shrunk.cast::<u8>(), shrunk.len()), (spilled.cast::<u8>(), 96));
    // SAFETY: live with 40/8.
    unsafe { Heap::deallocate(&heap, shrunk.cast(), lay(40, 8)) }.unwrap();
    // SAFETY: allocated above with this layout.
    unsafe { Heap::deallocate(&heap, first.cast(), lay(64, 8)) }.unwrap();
    heap.validate().unwrap();
    assert_eq!(heap.stats().invalid_frees, 0);
}

/// With validation, a resize of a block that is not live (freed already) is refused, as its
/// free would be: `realloc` returns null and `grow`/`shrink` `Err`, and nothing changes. Before,
/// a resize in place returned the freed pointer, which the next allocation handed out again.
#[test]
fn a_resize_of_a_freed_block_is_refused_with_validation() {
    let heap = Checked::new();
    let p = Heap::allocate(&heap, layout(8)).unwrap();
    // SAFETY: allocated above with this layout, freed once.
    unsafe { Heap::deallocate(&heap, p, layout(8)) }.unwrap();
    // SAFETY: validation is on: a resize of a block that is not live is refused, not undefined.
    let r = unsafe { heap.realloc(p.as_ptr(), layout(8), 12) };
    assert!(r.is_null(), "a freed block cannot be resized");
    // SAFETY: as above.
    assert!(unsafe { Allocator::grow(&&heap, p, layout(8), layout(14)) }.is_err());
    // SAFETY: as above.
    assert!(unsafe { Allocator::shrink(&&heap, p, layout(8), layout(4)) }.is_err());
    let again = Heap::allocate(&heap, layout(8)).unwrap();
    let other = Heap::allocate(&heap, layout(8)).unwrap();
    assert_ne!(again, other, "nothing handed out twice");
    // SAFETY: live, freed once each.
    unsafe { Heap::deallocate(&heap, again, layout(8)) }.unwrap();
    // SAFETY: as above.
    unsafe { Heap::deallocate(&heap, other, layout(8)) }.unwrap();
    heap.validate().unwrap();
}
