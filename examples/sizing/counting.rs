//! [`Counting`]: the true peak of live requested bytes, measured around any allocator.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A `GlobalAlloc` that counts the requested bytes live, and their peak, around `inner`.
/// An allocation is counted once it succeeded, a free before it is forwarded: the count is
/// never above what is really live, so [`peak`](Counting::peak) never overstates the peak.
pub struct Counting<A> {
    inner: A,
    live: AtomicUsize,
    peak: AtomicUsize,
}

impl<A> Counting<A> {
    /// Counting around `inner`.
    pub const fn new(inner: A) -> Self {
        Self { inner, live: AtomicUsize::new(0), peak: AtomicUsize::new(0) }
    }

    /// The wrapped allocator.
    pub const fn inner(&self) -> &A {
        &self.inner
    }

    /// The most requested bytes live at once so far.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    fn grow(&self, bytes: usize) {
        let live = self.live.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.peak.fetch_max(live, Ordering::Relaxed);
    }

    fn shrink(&self, bytes: usize) {
        self.live.fetch_sub(bytes, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded to `inner` unchanged; the counting touches only atomics.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, forwarded.
        let block = unsafe { self.inner.alloc(layout) };
        if !block.is_null() {
            self.grow(layout.size());
        }
        block
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, forwarded.
        let block = unsafe { self.inner.alloc_zeroed(layout) };
        if !block.is_null() {
            self.grow(layout.size());
        }
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        self.shrink(layout.size());
        // SAFETY: the caller's contract, forwarded.
        unsafe { self.inner.dealloc(block, layout) }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if new_size < old {
            self.shrink(old - new_size);
        }
        // SAFETY: the caller's contract, forwarded.
        let moved = unsafe { self.inner.realloc(block, layout, new_size) };
        match (moved.is_null(), new_size < old) {
            (true, true) => self.grow(old - new_size), // nothing changed after all
            (false, false) => self.grow(new_size - old),
            _ => {}
        }
        moved
    }
}
