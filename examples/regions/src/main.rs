//! detalloc's static form on a board with two RAM banks (QEMU `-machine mps2-an385`): one heap
//! whose pools live where the declaration says.
//!
//! | pool | section | where (memory.x) | initialised at boot |
//! |---|---|---|---|
//! | `16 x 64` | none: Rust's choice, `.bss` | SRAM | zeroed (it is all-zero anyway) |
//! | `256 x 32` | `.uninit.dma` | SRAM, cortex-m-rt's NOLOAD `.uninit` | no |
//! | `65536 x 256` (16 MiB) | `.psram.frames` | PSRAM, this crate's NOLOAD `.psram` | no |
//!
//! The heap static itself (the pool states: free-list heads, counters, bitmaps) is in `.bss`,
//! zeroed by cortex-m-rt: all-zero is the empty heap.
//!
//! 1. Every pool is filled to capacity, and every block it hands out is checked to lie inside
//!    its section's region, from the linker's symbols (`__sbss`/`__ebss`,
//!    `__suninit`/`__euninit`, `__spsram`/`__epsram`).
//! 2. The usual workload runs on the heap as the global allocator (`Vec`, `String`,
//!    `BTreeMap`), with frames taken from PSRAM.
//! 3. The report is printed, the heap audited, every counter checked; exit status 0, or a
//!    panic (exit status 1) on any failure.
//!
//! `run-check.sh` also checks with `llvm-readelf` that `.uninit` and `.psram` are NOBITS: the
//! 16 MiB pool adds nothing to the image.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::alloc::Layout;
use core::ptr::{NonNull, addr_of};

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprint, hprintln};
use detalloc::{Heap, detalloc};
use panic_semihosting as _; // prints the panic message, then exits QEMU with failure

detalloc! {
    /// The firmware's heap: small blocks in SRAM's `.bss`, DMA buffers in SRAM that start-up
    /// never touches, large frames in the PSRAM bank.
    #[global_allocator]
    pub static HEAP: RegionHeap<
        pools: [16 x 64, 256 x 32 in unsafe(".uninit.dma"), 65536 x 256 in unsafe(".psram.frames")],
        sync: critical_section,
        validate: true,
    >;
}

unsafe extern "C" {
    static __sbss: u8;
    static __ebss: u8;
    static __suninit: u8;
    static __euninit: u8;
    static __spsram: u8;
    static __epsram: u8;
}

/// The address range of a linker-defined region `[start, end)`.
fn region(start: *const u8, end: *const u8) -> (usize, usize) {
    (start as usize, end as usize)
}

/// Every pool's region, in declaration order.
fn regions() -> [(usize, usize, &'static str); 3] {
    // Only the symbols' addresses are taken (the linker's section bounds), never read through.
    let bss = region(addr_of!(__sbss), addr_of!(__ebss));
    let uninit = region(addr_of!(__suninit), addr_of!(__euninit));
    let psram = region(addr_of!(__spsram), addr_of!(__epsram));
    [(bss.0, bss.1, ".bss"), (uninit.0, uninit.1, ".uninit"), (psram.0, psram.1, ".psram")]
}

/// Fills each pool, checks every block against its region, and frees them again.
fn check_placement() {
    for ((pool, spec), (start, end, name)) in RegionHeap::POOLS.iter().enumerate().zip(regions()) {
        let layout = Layout::from_size_align(spec.block_size, 4).expect("a layout");
        // On the stack: a `Vec` would take a block of the heap under test.
        let mut held = [None::<NonNull<u8>>; 256];
        let mut count = 0;
        while let Ok(block) = HEAP.allocate(layout) {
            let at = block.as_ptr() as usize;
            assert!(
                start <= at && at + spec.block_size <= end,
                "pool {pool}: block {at:#x} outside {name} [{start:#x}, {end:#x})"
            );
            held[count] = Some(block);
            count += 1;
        }
        assert_eq!(count, spec.blocks, "pool {pool} hands out all its blocks");
        hprintln!(
            "pool {pool} ({} x {}, section {}): every block inside {name}",
            spec.block_size,
            spec.blocks,
            RegionHeap::SECTIONS[pool].unwrap_or("-"),
        );
        for block in held.into_iter().flatten() {
            // SAFETY: each block came from `HEAP.allocate(layout)` and is freed once.
            unsafe { HEAP.deallocate(block, layout) }.expect("a valid free");
        }
    }
}

/// Ordinary work on the heap as the global allocator, with a few PSRAM frames.
fn workload() -> u32 {
    let mut index: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    let text = "the quick brown fox jumps over the lazy dog the end";
    for (n, word) in text.split(' ').enumerate() {
        index.entry(String::from(word)).or_default().push(n as u32);
    }
    let frames: Vec<Vec<u8>> = (0..4u8).map(|i| alloc::vec![i; 40_000]).collect();
    let sum = frames.iter().map(|f| u32::from(f[39_999])).sum::<u32>();
    index.values().map(|v| v.iter().sum::<u32>()).sum::<u32>() + sum
}

#[entry]
fn main() -> ! {
    hprintln!("{}", RegionHeap::SUMMARY);
    check_placement();
    let result = workload();
    hprintln!("work: {result}");
    hprint!("{}", HEAP.report());
    HEAP.validate().expect("free lists, bitmaps and counters agree");
    let s = HEAP.stats();
    assert_eq!(s.in_use_bytes, 0, "every block came back");
    assert_eq!((s.failures, s.invalid_frees), (RegionHeap::POOLS.len() as u64, 0));
    hprintln!("audit: clean; every pool in its region");
    debug::exit(debug::EXIT_SUCCESS);
    loop {
        cortex_m::asm::wfi();
    }
}
