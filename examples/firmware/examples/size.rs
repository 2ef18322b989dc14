//! The smallest firmware that uses `FirmwareHeap` as its global allocator: one `Box`, one
//! growing `Vec` (so `alloc`, `dealloc` and `realloc` are all linked), then exit. `measure.sh`
//! reads the allocator's code size from this binary's symbols. With `--features lean` the heap
//! has the same pools without counters and validation; with `--features baseline` the global
//! allocator is a bump allocator that never frees, for the difference in `.text`.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::hint::black_box;

use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
use panic_semihosting as _;

// The heap of `src/main.rs`.
#[cfg(not(any(feature = "baseline", feature = "lean")))]
include!("../src/heap.rs");

#[cfg(all(feature = "lean", not(feature = "baseline")))]
#[macro_use]
#[path = "../../shared/heaps.rs"]
mod heaps;

// The same pools without counters and without validation.
#[cfg(all(feature = "lean", not(feature = "baseline")))]
heaps!([16 x 64, 64 x 32, 256 x 16] { FirmwareHeap: critical_section lean });

#[cfg(not(feature = "baseline"))]
#[global_allocator]
static HEAP: FirmwareHeap = FirmwareHeap::new();

/// The baseline: a bump allocator over a static buffer that never frees.
#[cfg(feature = "baseline")]
mod baseline {
    use core::alloc::{GlobalAlloc, Layout};
    use core::cell::UnsafeCell;
    use core::ptr;

    pub struct Bump(UnsafeCell<([u8; 8192], usize)>);
    // SAFETY: this example has one thread and no interrupt handler that allocates.
    unsafe impl Sync for Bump {}

    // SAFETY: hands out disjoint, aligned ranges of the buffer, or null.
    unsafe impl GlobalAlloc for Bump {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: single-threaded (see `Sync`).
            let (buffer, used) = unsafe { &mut *self.0.get() };
            let start = (buffer.as_ptr() as usize + *used).next_multiple_of(layout.align());
            let offset = start - buffer.as_ptr() as usize;
            if offset + layout.size() > buffer.len() {
                return ptr::null_mut();
            }
            *used = offset + layout.size();
            buffer[offset..].as_mut_ptr()
        }
        unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
    }

    #[global_allocator]
    static HEAP: Bump = Bump(UnsafeCell::new(([0; 8192], 0)));
}

#[entry]
fn main() -> ! {
    let mut v: Vec<u32> = Vec::new();
    for i in 0..40 {
        v.push(black_box(i));
    }
    let b = Box::new(black_box(7u64));
    black_box((&v, &b));
    drop((v, b));
    debug::exit(debug::EXIT_SUCCESS);
    loop {
        cortex_m::asm::wfi();
    }
}
