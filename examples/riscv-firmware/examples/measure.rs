//! Instruction counts of the firmware heap on a RISC-V hart (RV32IMAC or RV32IMC), for the
//! static audit's ratio (`detalloc-audit/tests/ratio.rs`): the Cortex-M firmware's
//! `examples/measure.rs`, on QEMU's `virt` board.
//!
//! - `fw_alloc` / `fw_free` wrap `Heap::allocate` / `Heap::deallocate` of `FirmwareHeap` (the
//!   heap of `src/main.rs`: stats and validation on, `sync: critical_section`), `fw_alloc_lean`
//!   / `fw_free_lean` those of `LeanHeap` (the same pools, stats and validation off, also
//!   `critical_section`). Each is `#[inline(never)]` and `#[no_mangle]`, takes the layout as an
//!   argument (so the size-class dispatch is measured) and is called here once per measured
//!   case, in the order of the `case` lines it prints, with interrupts enabled and no interrupt
//!   source running. Filling calls go through `Heap::allocate` inlined into `main`, so every
//!   call of a wrapper is a measured case.
//! - `FirmwareHeap` is also the global allocator, so the binary holds `__rust_alloc`,
//!   `__rust_dealloc` and `__rust_realloc` as a firmware using it would.
//! - `fw_validate` / `fw_validate_pool` wrap the audits, run with every free list as long as
//!   its pool.
//!
//! `cargo run --release --example measure` (add `--target riscv32imc-unknown-none-elf` for
//! RV32IMC) runs it under QEMU; the ratio test runs it with one guest instruction per
//! translated block and every executed block logged, and counts each wrapper call.
#![no_std]
#![no_main]

extern crate alloc;

use riscv_rt::entry;
use riscv_semihosting::debug::{self, EXIT_SUCCESS};

#[macro_use]
#[path = "../../shared/heaps.rs"]
mod heaps;
#[path = "../src/panic.rs"]
mod panic;

// `FirmwareHeap`, the heap of `src/main.rs` (the Cortex-M firmware's declaration).
include!("../../firmware/src/heap.rs");

// The same pools without counters and without validation.
heaps!([16 x 64, 64 x 32, 256 x 16] { LeanHeap: critical_section lean });

#[global_allocator]
static HEAP: FirmwareHeap = FirmwareHeap::new();
static LEAN: LeanHeap = LeanHeap::new();

/// A line on the host's stdout (semihosting), for the shared cases.
macro_rules! say {
    ($($arg:tt)*) => {
        ::riscv_semihosting::hprintln!($($arg)*)
    };
}

// The wrappers and the measured cases: the Cortex-M firmware's.
#[path = "../../shared/measure_cases.rs"]
mod measure;

#[entry]
fn main() -> ! {
    measure::run();
    debug::exit(EXIT_SUCCESS);
    loop {
        riscv::asm::wfi();
    }
}
