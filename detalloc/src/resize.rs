//! Resizing a block, the one rule behind `GlobalAlloc::realloc` and allocator-api2's `grow`
//! and `shrink`:
//!
//! * the new layout selects the same pool: the block stays where it is;
//! * a shrink (the block already holds the new layout) moves to the smaller pool when that
//!   pool has a block, and otherwise **keeps the block in place** instead of failing: a
//!   shrink never fails (a `Vec::shrink_to_fit` cannot abort on an exhausted small pool). The
//!   kept block is marked (with validation), so its later free, which names the smaller
//!   layout, finds it by address and is accepted;
//! * a grow to another pool allocates there, copies and frees the old block; `Err` (null from
//!   `realloc`) when that pool is exhausted, with the old block untouched.

use core::alloc::Layout;
use core::ptr::{self, NonNull};

use crate::AllocError;
use crate::dispatch::Dispatch;

/// Whether a block allocated for `old` serves `new` where it is: both select the same pool.
#[inline]
pub fn same_pool<H: Dispatch>(old: Layout, new: Layout) -> bool {
    let pool = H::select(new.size(), new.align());
    pool.is_some() && pool == H::select(old.size(), old.align())
}

/// The block `ptr`, allocated for `old`, resized for `new` (the rule above): `Ok` with where
/// the contents now are (the first `min(old, new)` bytes kept), or `Err` with nothing changed.
///
/// # Safety
/// `ptr` is a live block of `heap` allocated for `old` (or kept in place for it).
pub unsafe fn resize<H: Dispatch>(
    heap: &H,
    ptr: NonNull<u8>,
    old: Layout,
    new: Layout,
) -> Result<NonNull<u8>, AllocError> {
    if same_pool::<H>(old, new) {
        return Ok(ptr);
    }
    let holds = new.size() <= old.size() && ptr.as_ptr().addr().is_multiple_of(new.align());
    let moved = if holds {
        let Some(moved) = heap.allocate_quietly(new) else {
            // SAFETY: `ptr` is a live block of `heap` (the caller's promise).
            unsafe { heap.keep(ptr) };
            return Ok(ptr);
        };
        moved
    } else {
        heap.allocate(new)?
    };
    // SAFETY: two distinct live blocks (`moved` was just handed out, `ptr` is still live);
    // `ptr` holds `old.size()` bytes and `moved` at least `new.size()`.
    unsafe { ptr::copy_nonoverlapping(ptr.as_ptr(), moved.as_ptr(), old.size().min(new.size())) };
    // SAFETY: `ptr` came from `heap` for `old` (the caller's promise) and is freed once.
    let _ = unsafe { heap.deallocate(ptr, old) };
    Ok(moved)
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
        Ok(block) => block.as_ptr(),
        Err(_) => ptr::null_mut(),
    }
}
