//! The bad-free catalogue: every `FreeError`, in the documented order, refused and counted,
//! with nothing else changed; and the hook sees each one.

use std::alloc::Layout;
use std::cell::RefCell;
use std::ptr::NonNull;

use detalloc::{FreeError, Heap, Hooks, detalloc};

thread_local! {
    static REFUSED: RefCell<Vec<(usize, Layout, FreeError)>> = const { RefCell::new(Vec::new()) };
}

struct RecordRefusals;
impl Hooks for RecordRefusals {
    fn on_invalid_free(ptr: NonNull<u8>, layout: Layout, error: FreeError) {
        REFUSED.with(|r| r.borrow_mut().push((ptr.as_ptr() as usize, layout, error)));
    }
}

detalloc! { struct Checked<pools: [16 x 4, 64 x 4, 256 x 2], validate: true, hooks: RecordRefusals>; }
detalloc! { struct Other<pools: [16 x 4], validate: true>; }
detalloc! { struct Spill<pools: [16 x 1, 64 x 2], validate: true, spill: true>; }

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, 1).unwrap()
}

/// Refuses `ptr` with `error`, and checks that nothing but `invalid_frees` changed.
fn assert_refused(heap: &Checked, ptr: NonNull<u8>, layout: Layout, error: FreeError) {
    let before = heap.stats();
    let pools_before: Vec<_> = (0..3).map(|i| heap.pool_stats(i)).collect();
    // SAFETY: validation is on: a bad free is detected and refused, not undefined.
    let got = unsafe { heap.deallocate(ptr, layout) };
    assert_eq!(got, Err(error));
    let after = heap.stats();
    assert_eq!(after.invalid_frees, before.invalid_frees + 1);
    assert_eq!(detalloc::Stats { invalid_frees: before.invalid_frees, ..after }, before);
    let pools_after: Vec<_> = (0..3).map(|i| heap.pool_stats(i)).collect();
    assert_eq!(pools_after, pools_before);
    heap.validate().unwrap();
    let last = REFUSED.with(|r| r.borrow().last().copied());
    assert_eq!(last, Some((ptr.as_ptr() as usize, layout, error)));
}

#[test]
fn each_free_error_is_refused_and_counted() {
    let heap = Checked::new();
    let small = heap.allocate(layout(8)).unwrap();
    let medium = heap.allocate(layout(40)).unwrap();

    let mut local = 0u64;
    let stack = NonNull::from(&mut local).cast::<u8>();
    assert_refused(&heap, stack, layout(8), FreeError::Foreign);

    let other = Other::new();
    let theirs = other.allocate(layout(8)).unwrap();
    assert_refused(&heap, theirs, layout(8), FreeError::Foreign);

    // SAFETY: one byte past a block start is still inside the pool.
    let interior = unsafe { NonNull::new_unchecked(small.as_ptr().add(1)) };
    assert_refused(&heap, interior, layout(8), FreeError::Misaligned);
    // Misaligned wins over WrongPool: an interior pointer of another pool.
    // SAFETY: as above.
    let interior_medium = unsafe { NonNull::new_unchecked(medium.as_ptr().add(3)) };
    assert_refused(&heap, interior_medium, layout(8), FreeError::Misaligned);

    // A block of the 64-byte pool freed with a layout that selects the 16-byte pool.
    assert_refused(&heap, medium, layout(8), FreeError::WrongPool);
    // A layout that fits no pool at all, with a real block.
    assert_refused(&heap, small, layout(1000), FreeError::WrongPool);

    // SAFETY: valid free.
    unsafe { heap.deallocate(small, layout(8)) }.unwrap();
    assert_refused(&heap, small, layout(8), FreeError::DoubleFree);

    // A block start never handed out is not allocated either: `medium` is the first block of
    // the 64-byte pool (the only one handed out), so the next block start was never used.
    // SAFETY: one block further is still inside the 4-block pool.
    let never = unsafe { NonNull::new_unchecked(medium.as_ptr().add(64)) };
    assert_refused(&heap, never, layout(40), FreeError::DoubleFree);

    assert_eq!(heap.stats().invalid_frees, 8);
    // SAFETY: valid frees.
    unsafe {
        heap.deallocate(medium, layout(40)).unwrap();
        other.deallocate(theirs, layout(8)).unwrap();
    }
    heap.validate().unwrap();
    assert_eq!(heap.pool_stats(0).unwrap().in_use + heap.pool_stats(1).unwrap().in_use, 0);
}

#[test]
fn refused_frees_leave_the_free_list_alone() {
    let heap = Checked::new();
    let a = heap.allocate(layout(16)).unwrap();
    let b = heap.allocate(layout(16)).unwrap();
    // SAFETY: valid free, then a refused double free.
    unsafe {
        heap.deallocate(a, layout(16)).unwrap();
        assert_eq!(heap.deallocate(a, layout(16)), Err(FreeError::DoubleFree));
    }
    // A double free must not have linked `a` twice: the next two allocations are distinct.
    let c = heap.allocate(layout(16)).unwrap();
    let d = heap.allocate(layout(16)).unwrap();
    assert_eq!(c, a);
    assert_ne!(d, c);
    assert_ne!(d, b);
    heap.validate().unwrap();
}

#[test]
fn spill_frees_into_the_larger_pool_and_still_refuses_a_smaller_one() {
    let heap = Spill::new();
    let first = heap.allocate(layout(8)).unwrap();
    let spilled = heap.allocate(layout(8)).unwrap();
    assert_eq!(heap.pool_stats(1).unwrap().in_use, 1, "the second 8-byte request spilled");
    assert_eq!(heap.pool_stats(0).unwrap().failures, 1, "pool 0's exhaustion is counted");
    assert_eq!(heap.stats().failures, 0, "a spilled success is not a failure");
    // SAFETY: valid frees; the spilled block is found in the larger pool.
    unsafe {
        heap.deallocate(spilled, layout(8)).unwrap();
        heap.deallocate(first, layout(8)).unwrap();
    }
    let big = heap.allocate(layout(64)).unwrap();
    let small = heap.allocate(layout(8)).unwrap();
    // SAFETY: validation is on: a block of pool 0 freed with a layout selecting pool 1.
    assert_eq!(unsafe { heap.deallocate(small, layout(64)) }, Err(FreeError::WrongPool));
    // SAFETY: valid frees.
    unsafe {
        heap.deallocate(small, layout(8)).unwrap();
        heap.deallocate(big, layout(64)).unwrap();
    }
    heap.validate().unwrap();
}

#[test]
fn requests_no_pool_fits_fail_cleanly() {
    let heap = Checked::new();
    assert!(heap.allocate(layout(257)).is_err());
    assert!(
        heap.allocate(Layout::from_size_align(8, 512).unwrap()).is_err(),
        "align above every pool"
    );
    // Alignment decides the pool: 8 bytes aligned to 64 goes to the 64-byte pool.
    let aligned = heap.allocate(Layout::from_size_align(8, 64).unwrap()).unwrap();
    assert_eq!(aligned.as_ptr() as usize % 64, 0);
    assert_eq!(heap.pool_stats(1).unwrap().in_use, 1);
    let s = heap.stats();
    assert_eq!((s.failures, s.allocs), (2, 1));
    assert_eq!(heap.pool_stats(0).unwrap().failures, 0, "no pool fits is not a pool's exhaustion");
    // SAFETY: valid free.
    unsafe { heap.deallocate(aligned, Layout::from_size_align(8, 64).unwrap()) }.unwrap();
    // Zero-sized requests take a block of the smallest pool.
    let zst = heap.allocate(layout(0)).unwrap();
    assert_eq!(heap.pool_stats(0).unwrap().in_use, 1);
    // SAFETY: valid free.
    unsafe { heap.deallocate(zst, layout(0)) }.unwrap();
}

detalloc! { struct Lean<pools: [16 x 4, 64 x 4, 256 x 2], validate: false, hooks: RecordRefusals>; }

/// Without validation the free finds the pool by address: a pointer in no pool (on the stack,
/// in another heap, just past this heap's value) is still refused as `Foreign`, counted and
/// hooked, and the pools are untouched.
#[test]
fn without_validation_a_pointer_in_no_pool_is_refused() {
    let heap = Lean::new();
    let block = heap.allocate(layout(16)).unwrap();
    let mut local = 0u64;
    let stack = NonNull::from(&mut local).cast::<u8>();
    let other = Other::new();
    let theirs = other.allocate(layout(8)).unwrap();
    // One past the end of the heap's value: its buffers and states all lie before it.
    // SAFETY: one past the end of the same allocation (the heap value).
    let past = unsafe { NonNull::from(&heap).cast::<u8>().add(size_of::<Lean>()) };
    let before: Vec<_> = (0..3).map(|i| heap.pool_stats(i)).collect();
    for ptr in [stack, theirs, past] {
        // SAFETY: a pointer in no pool is refused without touching the heap.
        assert_eq!(unsafe { heap.deallocate(ptr, layout(16)) }, Err(FreeError::Foreign));
        let last = REFUSED.with(|r| r.borrow().last().copied());
        assert_eq!(last, Some((ptr.as_ptr() as usize, layout(16), FreeError::Foreign)));
    }
    assert_eq!((0..3).map(|i| heap.pool_stats(i)).collect::<Vec<_>>(), before);
    assert_eq!(heap.stats().invalid_frees, 3);
    // The real block, freed with the layout of another pool: the pool its address names
    // takes it back (without validation the layout is not checked).
    // SAFETY: `block` is live; without validation the free goes by its address.
    unsafe { heap.deallocate(block, layout(200)) }.unwrap();
    assert_eq!(heap.pool_stats(0).unwrap().in_use, 0);
    assert_eq!(heap.allocate(layout(16)).unwrap(), block, "back on pool 0's free list");
    heap.validate().unwrap();
    // SAFETY: valid free.
    unsafe { other.deallocate(theirs, layout(8)) }.unwrap();
}
