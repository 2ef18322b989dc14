//! A heap used through `detalloc::Heap` only: no `#[global_allocator]`, no `alloc` crate.
#![no_std]
#![no_main]

use core::alloc::Layout;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use detalloc::{Heap, detalloc};
use panic_semihosting as _;

detalloc! {
    /// Message buffers for one driver.
    pub struct DriverHeap<pools: [32 x 8, 128 x 4], sync: critical_section, validate: true>;
}

static HEAP: DriverHeap = DriverHeap::new();

// Exported for the static audit alone: nothing calls them, and `audit_wrappers!` keeps them in
// the image anyway (`.ci/run` audits them).
detalloc::audit_wrappers!(DriverHeap, audit_alloc_driver, audit_free_driver);

#[entry]
fn main() -> ! {
    let layout = Layout::from_size_align(100, 4).expect("a valid layout");
    let block = HEAP.allocate(layout).expect("a fresh heap has room");
    // SAFETY: `block` came from `HEAP.allocate(layout)` and is freed once.
    unsafe { HEAP.deallocate(block, layout) }.expect("a valid free");
    let ok = HEAP.validate().is_ok() && HEAP.stats().allocs == 1 && HEAP.stats().frees == 1;
    hprintln!("heap-only: {}", if ok { "ok" } else { "FAILED" });
    debug::exit(if ok { debug::EXIT_SUCCESS } else { debug::EXIT_FAILURE });
    loop {}
}
