//! Code size and instruction counts of the firmware heap on a Cortex-M3 (see `measure.sh`).
//!
//! The wrappers and cases are `examples/shared/measure_cases.rs` (the RISC-V firmware measures
//! the same):
//!
//! - `fw_alloc` / `fw_free` wrap `Heap::allocate` / `Heap::deallocate` of `FirmwareHeap` (the
//!   heap of `src/main.rs`: stats and validation on), `fw_alloc_lean` / `fw_free_lean` those
//!   of `LeanHeap` (the same pools, stats and validation off). Each is `#[inline(never)]` and
//!   `#[no_mangle]`, takes the layout as an argument (so the size-class dispatch is measured)
//!   and is called here once per measured case, in the order of `CASES`, with interrupts
//!   enabled and no interrupt source running. Filling calls go through `Heap::allocate`
//!   inlined into `main`, so every call of a wrapper is a measured case.
//! - `FirmwareHeap` is also the global allocator, so the binary holds `__rust_alloc`,
//!   `__rust_dealloc` and `__rust_realloc` as a firmware using it would.
//! - `fw_validate` / `fw_validate_pool` wrap the audits, measured with every free list as long
//!   as its pool: their longest run with interrupts masked is the walk of one pool.
//! - The DWT cycle counter is read around a delay, to show whether the emulator implements it.
#![no_std]
#![no_main]

extern crate alloc;

use core::hint::black_box;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use detalloc::Clock;
use detalloc::clock::Dwt;
use panic_semihosting as _;

#[macro_use]
#[path = "../../shared/heaps.rs"]
mod heaps;

// `FirmwareHeap`, the heap of `src/main.rs`.
include!("../src/heap.rs");

// The same pools without counters and without validation.
heaps!([16 x 64, 64 x 32, 256 x 16] { LeanHeap: critical_section lean });

#[global_allocator]
static HEAP: FirmwareHeap = FirmwareHeap::new();
static LEAN: LeanHeap = LeanHeap::new();

/// A line on the host's stdout (semihosting), for the shared cases.
macro_rules! say {
    ($($arg:tt)*) => {
        ::cortex_m_semihosting::hprintln!($($arg)*)
    };
}

// The wrappers and the measured cases: the same on the RISC-V firmware.
#[path = "../../shared/measure_cases.rs"]
mod measure;

#[entry]
fn main() -> ! {
    // SAFETY: a Cortex-M3 (ARMv7-M) core; nothing else touches DEMCR or DWT_CTRL.
    unsafe { Dwt::enable() };
    let start = Dwt::now();
    for i in 0..1000u32 {
        black_box(i);
    }
    let end = Dwt::now();
    hprintln!("dwt: CYCCNT read {start} before and {end} after a 1000-iteration loop");

    measure::run();
    debug::exit(debug::EXIT_SUCCESS);
    loop {
        cortex_m::asm::wfi();
    }
}
