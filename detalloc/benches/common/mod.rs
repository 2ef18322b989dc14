//! What the benches share: the heaps measured and the reference free list.

#![allow(dead_code)]

use std::cell::{Cell, UnsafeCell};
use std::ptr;

use detalloc::detalloc;

#[macro_use]
#[path = "../../../examples/shared/heaps.rs"]
mod heaps;

heaps!([16 x 1024, 64 x 1024, 256 x 1024] {
    /// The leanest configuration.
    Lean: local lean,
    Checked: local checked,
    Spin: spin stats,
    LockFree: lock_free stats,
    LockFreeLean: lock_free lean,
    SpinLean: spin lean,
    /// The shared modes' configuration, without sharing.
    LocalStats: local stats,
});
#[cfg(feature = "critical-section")]
heaps!([16 x 1024, 64 x 1024, 256 x 1024] {
    /// One critical section per operation (the host implementation: a global mutex).
    Critical: critical_section stats,
});

// For the pool-size comparison: 65 536 blocks per pool.
heaps!([16 x 65536, 64 x 65536, 256 x 65536] { LeanLarge: local lean, CheckedLarge: local checked });

/// Hooks whose functions are all the empty defaults: a heap declared with them must cost
/// exactly what a heap without `hooks` costs.
pub struct EmptyHooks;
impl detalloc::Hooks for EmptyHooks {}

detalloc! {
    /// `Lean` with `hooks: EmptyHooks`.
    pub struct LeanHooked<pools: [16 x 1024, 64 x 1024, 256 x 1024], stats: false, validate: false, hooks: EmptyHooks>;
}

/// The physical limit of a pool: one size, an intrusive list of raw pointers, no dispatch,
/// no checks, no counters. Threaded once at start-up.
pub struct BareFreeList {
    head: Cell<*mut u8>,
    blocks: Box<UnsafeCell<[[u64; 8]; 1024]>>,
}

impl BareFreeList {
    pub fn new() -> Self {
        let list = Self {
            head: Cell::new(ptr::null_mut()),
            blocks: Box::new(UnsafeCell::new([[0; 8]; 1024])),
        };
        let base = list.blocks.get().cast::<[u64; 8]>();
        for i in (0..1024).rev() {
            // SAFETY: `i < 1024`: inside the buffer; each block is 64 bytes, room for a pointer.
            let block = unsafe { base.add(i) }.cast::<u8>();
            // SAFETY: `block` is a free block of this list.
            unsafe { list.free(block) };
        }
        list
    }

    #[inline(always)]
    pub fn alloc(&self) -> *mut u8 {
        let head = self.head.get();
        if !head.is_null() {
            // SAFETY: a free block holds the next pointer.
            self.head.set(unsafe { head.cast::<*mut u8>().read() });
        }
        head
    }

    /// # Safety
    /// `block` came from `alloc` (or `new`) and is not free.
    #[inline(always)]
    pub unsafe fn free(&self, block: *mut u8) {
        // SAFETY: the caller gives back a block of this list; it is 8-aligned and 64 bytes.
        unsafe { block.cast::<*mut u8>().write(self.head.get()) };
        self.head.set(block);
    }
}
