//! The API calls behind the operations, shared by the single-thread runner and the thread
//! workers: each applies its API's contract to the generator's numbers (a `GlobalAlloc` call
//! never sees size 0, a grow never shrinks, a shrink never grows, a realloc keeps the
//! alignment) and returns what the API returned.

use std::alloc::Layout;
use std::ptr::NonNull;

use detalloc::FreeError;

use crate::heaps::Target;
use crate::ops::{AllocApi, FreeApi, ResizeApi};

/// A `Layout` from the generator's numbers (`None` when invalid).
pub fn layout(size: usize, align: u32) -> Option<Layout> {
    Layout::from_size_align(size, align as usize).ok()
}

/// `size/align`, as the messages print layouts.
pub fn show(layout: Layout) -> String {
    format!("{}/{}", layout.size(), layout.align())
}

/// The layout an allocation through `api` asks for (`GlobalAlloc` never asks for 0 bytes).
pub fn alloc_layout(api: AllocApi, size: u32, align: u32) -> Option<Layout> {
    let global = matches!(api, AllocApi::Global | AllocApi::GlobalZeroed);
    layout(if global { size.max(1) } else { size } as usize, align)
}

/// Allocates through `api`: the block and the bytes reported, and how many bytes the API
/// zeroed.
pub fn alloc<H: Target>(
    heap: &H,
    api: AllocApi,
    layout: Layout,
) -> (Option<(NonNull<u8>, usize)>, usize) {
    let size = layout.size();
    match api {
        AllocApi::Heap => (heap.allocate(layout).ok().map(|p| (p, size)), 0),
        // SAFETY: `alloc_layout` gives `GlobalAlloc` a non-zero size.
        AllocApi::Global => (NonNull::new(unsafe { heap.alloc(layout) }).map(|p| (p, size)), 0),
        AllocApi::GlobalZeroed => {
            // SAFETY: as above.
            let ptr = unsafe { heap.alloc_zeroed(layout) };
            (NonNull::new(ptr).map(|p| (p, size)), size)
        }
        AllocApi::Api2 | AllocApi::Api2Zeroed => {
            let zeroed = api == AllocApi::Api2Zeroed;
            let got = heap.api2_allocate(layout, zeroed).map(|s| (s.cast(), s.len()));
            (got, if zeroed { got.map_or(0, |g| g.1) } else { 0 })
        }
    }
}

/// Frees through `api`; the result when the API has one (`GlobalAlloc` with a zero-size layout,
/// which it never allocates, falls back to `Heap::deallocate`).
///
/// # Safety
/// `ptr` is a live block of `heap` last requested with `layout`, freed once.
pub unsafe fn free<H: Target>(
    heap: &H,
    api: FreeApi,
    ptr: NonNull<u8>,
    layout: Layout,
) -> Option<Result<(), FreeError>> {
    match api {
        FreeApi::Global if layout.size() > 0 => {
            // SAFETY: the caller's promise (a `GlobalAlloc` layout: non-zero size).
            unsafe { heap.dealloc(ptr.as_ptr(), layout) };
            None
        }
        FreeApi::Api2 => {
            // SAFETY: the caller's promise; the layout last requested fits the block.
            unsafe { heap.api2_deallocate(ptr, layout) };
            None
        }
        FreeApi::Heap | FreeApi::Global => {
            // SAFETY: the caller's promise.
            Some(unsafe { heap.deallocate(ptr, layout) })
        }
    }
}

/// The layout a resize through `api` of a block allocated for `old` asks for.
pub fn resize_layout(api: ResizeApi, old: Layout, size: u32, align: u32) -> Option<Layout> {
    match api {
        ResizeApi::Realloc if old.size() == 0 => None,
        ResizeApi::Realloc => layout((size as usize).max(1), old.align() as u32),
        ResizeApi::Grow | ResizeApi::GrowZeroed => layout((size as usize).max(old.size()), align),
        ResizeApi::Shrink => layout((size as usize).min(old.size()), align),
    }
}

/// Resizes through `api`: where the contents are now and the bytes reported, or `None`.
///
/// # Safety
/// `ptr` is a live block of `heap` allocated for `old`, and `new` came from
/// [`resize_layout`] for the same `api` and `old`.
pub unsafe fn resize<H: Target>(
    heap: &H,
    api: ResizeApi,
    ptr: NonNull<u8>,
    old: Layout,
    new: Layout,
) -> Option<(NonNull<u8>, usize)> {
    match api {
        ResizeApi::Realloc => {
            // SAFETY: the caller's promise; `resize_layout` asks for a non-zero size with the
            // block's alignment.
            let ptr = unsafe { heap.realloc(ptr.as_ptr(), old, new.size()) };
            NonNull::new(ptr).map(|p| (p, new.size()))
        }
        ResizeApi::Grow | ResizeApi::GrowZeroed => {
            let zeroed = api == ResizeApi::GrowZeroed;
            // SAFETY: the caller's promise; `resize_layout` never asks a grow to shrink.
            unsafe { heap.api2_grow(ptr, old, new, zeroed) }.map(|s| (s.cast(), s.len()))
        }
        ResizeApi::Shrink => {
            // SAFETY: the caller's promise; `resize_layout` never asks a shrink to grow.
            unsafe { heap.api2_shrink(ptr, old, new) }.map(|s| (s.cast(), s.len()))
        }
    }
}
