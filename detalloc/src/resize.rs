//! Resizing a block, the one rule behind `GlobalAlloc::realloc` and allocator-api2's `grow`
//! and `shrink`. Everything is decided by the pool that *holds* the block (found by its
//! address), never by the pool a layout would select: a spilled block, or one a shrink left in
//! a larger pool, lies in a pool its layout does not select.
//!
//! * The holding pool's blocks fit the new layout (size *and* alignment): the block stays
//!   where it is, and its length is that pool's block size. Only a shrink whose new layout
//!   selects a smaller pool moves first, when that pool has a block (so the larger block goes
//!   back), and stays when it has none: a shrink never fails when the block in hand already
//!   fits (a `Vec::shrink_to_fit` cannot abort on an exhausted small pool).
//! * A block staying in a pool its new layout does not select is marked *kept* (with
//!   validation), so its later free, which names the new layout, is accepted.
//! * Otherwise the block moves: a new block for the new layout, the contents copied, the old
//!   block freed; `Err` (null from `realloc`) when no block is free, with the old one untouched.

use core::alloc::Layout;
use core::ptr::{self, NonNull};

use crate::AllocError;
use crate::dispatch::Dispatch;

/// The block `ptr`, allocated for `old`, resized for `new` (the rule above): `Ok` with the
/// whole block the contents are now in (the first `min(old, new)` bytes kept; its length is
/// the block size of the pool holding it), or `Err` with nothing changed.
///
/// # Safety
/// `ptr` is a live block of `heap` whose current layout is `old`.
pub unsafe fn resize<H: Dispatch>(
    heap: &H,
    ptr: NonNull<u8>,
    old: Layout,
    new: Layout,
) -> Result<NonNull<[u8]>, AllocError> {
    // A live block of this heap always has a holder; `None` would be a broken contract, and
    // changing nothing is the answer that loses nothing.
    let at = heap.holder(ptr).ok_or(AllocError)?;
    if at.fits(new) {
        let selected = H::select(new.size(), new.align());
        if selected != Some(at.pool) {
            // `new` fits this pool, so it selects a smaller one (the smallest that fits).
            if new.size() <= old.size()
                && let Some(moved) = heap.allocate_quietly(new)
            {
                // SAFETY: `ptr` is live with `old` (the caller's promise); `moved` was just
                // handed out for `new`.
                return Ok(unsafe { move_block(heap, ptr, old, new, moved) });
            }
            // SAFETY: `at` is the holder of the live block `ptr`.
            unsafe { heap.keep(at) };
        }
        return Ok(NonNull::slice_from_raw_parts(ptr, at.block_size));
    }
    let moved = heap.allocate_block(new)?;
    // SAFETY: as above.
    Ok(unsafe { move_block(heap, ptr, old, new, moved) })
}

/// Copies the contents of `ptr` (live with `old`) into `moved` (just handed out for `new`) and
/// frees `ptr`: `moved`.
///
/// # Safety
/// `ptr` is a live block of `heap` with layout `old`; `moved` is another live block of `heap`
/// of at least `new.size()` bytes that nobody else uses yet.
unsafe fn move_block<H: Dispatch>(
    heap: &H,
    ptr: NonNull<u8>,
    old: Layout,
    new: Layout,
    moved: NonNull<[u8]>,
) -> NonNull<[u8]> {
    // SAFETY: two distinct live blocks (`moved` was just handed out, `ptr` is still live);
    // `ptr` holds `old.size()` bytes and `moved` at least `new.size()`.
    unsafe {
        ptr::copy_nonoverlapping(
            ptr.as_ptr(),
            moved.cast::<u8>().as_ptr(),
            old.size().min(new.size()),
        );
    }
    // SAFETY: `ptr` came from `heap` and its current layout is `old` (the caller's promise);
    // it is freed once, here. The free cannot be refused: it is a live block freed with its
    // own layout.
    let _ = unsafe { heap.deallocate(ptr, old) };
    moved
}

/// `GlobalAlloc::realloc`: `resize`, null (and the old block untouched) on `Err`.
///
/// # Safety
/// As `GlobalAlloc::realloc`: `ptr` is a live block of `heap` allocated with `layout`.
pub unsafe fn realloc<H: Dispatch>(
    heap: &H,
    ptr: *mut u8,
    layout: Layout,
    new_size: usize,
) -> *mut u8 {
    let Some(old) = NonNull::new(ptr) else { return ptr::null_mut() };
    let Ok(new) = Layout::from_size_align(new_size, layout.align()) else {
        return ptr::null_mut();
    };
    // SAFETY: the caller's promise.
    match unsafe { resize(heap, old, layout, new) } {
        Ok(block) => block.cast::<u8>().as_ptr(),
        Err(_) => ptr::null_mut(),
    }
}
