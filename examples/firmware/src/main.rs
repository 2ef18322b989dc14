//! detalloc on a Cortex-M3, run under QEMU (`-machine lm3s6965evb`): one heap, declared with
//! `detalloc!`, is the global allocator for `main` and for the SysTick exception handler.
//!
//! 1. A self-test fills every pool to its declared capacity, sees the next request fail, and
//!    frees everything again.
//! 2. SysTick fires every 1 200 core cycles for exactly `TICKS` ticks. Each tick allocates a
//!    short message (freed in the same handler) and a frame that it keeps until the next tick
//!    (freed by the next handler; the last one is freed by `main`).
//! 3. Meanwhile `main` runs `ROUNDS` rounds of `Vec` / `String` / `BTreeMap` work on the same
//!    pools, so ticks interrupt it in the middle of allocations and frees.
//! 4. `main` prints the summary and the heap's report over semihosting, audits the heap and
//!    checks every counter against the allocations the program made, then exits with success.
//!    Any failed check panics, and the panic handler exits with failure.
//!
//! Everything printed on stdout is deterministic: how ticks interleave with `main` depends on
//! the host's speed, so no printed figure depends on it (the self-test sets each pool's peak
//! to its capacity, and the totals are sums of fixed counts). The one interleaving-dependent
//! figure (how many ticks hit `main`'s rounds) goes to stderr.
//!
//! QEMU takes an interrupt only between translated blocks (straight-line runs of guest code),
//! so with its defaults a tick never lands inside a pool update. `run-check.sh` therefore also
//! runs the image with one instruction per block, where a tick can land between any two
//! instructions: there, a critical-section implementation that masks nothing fails the checks.
//!
//! The same source builds for `thumbv6m-none-eabi` (no compare-and-swap: `sync:
//! critical_section` needs none; the tick counter only uses atomic loads and stores) and
//! `thumbv7em-none-eabihf`.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::alloc::Layout;
use core::cell::RefCell;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::{debug, heprintln, hprint, hprintln};
use critical_section::Mutex;
use detalloc::Heap;
use panic_semihosting as _; // prints the panic message, then exits QEMU with failure

#[path = "../../shared/systick.rs"]
mod systick;

// The heap, `FirmwareHeap`: one `detalloc!` declaration in `heap.rs`, which the measurements
// (`examples/measure.rs`, `examples/size.rs`) include too.
include!("heap.rs");

// `FirmwareHeap::new()` is all-zero, so this static lands in `.bss`, which cortex-m-rt zeroes
// before `main`: the heap needs no initialisation code. To place it elsewhere:
// - `#[unsafe(link_section = ".ccmram.HEAP")]` (another RAM region, e.g. an STM32F4's CCM
//   RAM) with a `.ccmram (NOLOAD)` output section in `memory.x`, between two symbols:
//   cortex-m-rt does not zero such a section, so zero it in a `__pre_init` written with
//   `global_asm!` (it runs before RAM initialisation); see the README's "Firmware" section.
// - an output section inside RAM added with `INSERT AFTER .bss;` is zeroed with `.bss`.
// - never `.uninit`: the heap's state must start all-zero.
#[global_allocator]
static HEAP: FirmwareHeap = FirmwareHeap::new();

/// SysTick interrupts the program exactly this many times.
const TICKS: u32 = 100;
/// Rounds of collection work in `main` (round 0 runs before SysTick starts, to count its
/// allocations; the others run while it ticks).
const ROUNDS: u32 = 128;
/// SysTick reload value: a tick every 1 200 core cycles (about 0.1 ms at the LM3S6965's clock).
const RELOAD: u32 = 1_200 - 1;

/// A frame of samples, kept from one tick to the next: 192 bytes, served by the 256-byte pool.
type Frame = [u32; 48];

/// Ticks handled so far. Only the SysTick handler writes it (a load and a store, no
/// read-modify-write: thumbv6m has no atomic RMW).
static TICK: AtomicU32 = AtomicU32::new(0);

/// The frame the last tick allocated; the next tick frees it.
static LAST_FRAME: Mutex<RefCell<Option<Box<Frame>>>> = Mutex::new(RefCell::new(None));

#[exception]
fn SysTick() {
    let tick = TICK.load(Ordering::Relaxed) + 1;
    if tick > TICKS {
        // A tick that became pending while the last counted one ran, before it stopped the
        // timer (disabling SysTick does not clear a pending exception).
        return;
    }

    // A short-lived message: allocated and freed within this handler (16-byte pool, which
    // `main` is using at the same time).
    let message = Box::new([tick, !tick, tick.rotate_left(16)]);
    // A frame that outlives this handler (256-byte pool, also used by `main`).
    let frame: Box<Frame> = Box::new([tick; 48]);
    assert!(message[1] == !message[0] && message[2] == tick.rotate_left(16));
    drop(message);

    let previous = critical_section::with(|cs| LAST_FRAME.borrow_ref_mut(cs).replace(frame));
    if let Some(previous) = previous {
        assert!(
            previous.iter().all(|&sample| sample == tick - 1),
            "frame of tick {} damaged",
            tick - 1
        );
        drop(previous); // a block allocated by the previous interrupt, freed by this one
    }

    if tick == TICKS {
        // SAFETY: only this handler touches SYST once `main` has started it; stopping the
        // counter and its interrupt is a write of SYST's control register.
        let mut syst = unsafe { cortex_m::Peripherals::steal() }.SYST;
        syst.disable_interrupt();
        syst.disable_counter();
        cortex_m::peripheral::SCB::clear_pendst();
    }
    TICK.store(tick, Ordering::Release);
}

/// One round of ordinary collection work. Its allocation pattern does not depend on `round`
/// (fixed-width strings), so every round makes the same allocations from the same pools.
fn work(round: u32) {
    // Grows one push at a time: 16 -> 32 -> 64 -> 128 bytes, i.e. `realloc` from the 16-byte
    // pool to the 64-byte pool (in place once) to the 256-byte pool.
    let mut samples: Vec<u32> = Vec::new();
    for i in 0..24 {
        samples.push(round * 1000 + i);
    }

    // BTreeMap nodes (a leaf and an internal node: 65 to 256 bytes on 32-bit targets, the
    // 256-byte pool; 12 entries make two leaves and a root) and 7-byte Strings
    // (the 16-byte pool).
    let mut labels: BTreeMap<u16, String> = BTreeMap::new();
    for i in 0..12u16 {
        labels.insert(i, format!("r{round:03}:{i:02}"));
    }

    // A vector that names its heap (allocator-api2): 40 bytes, the 64-byte pool.
    let mut scratch = detalloc::allocator_api2::vec::Vec::with_capacity_in(10, &HEAP);
    scratch.extend(samples.iter().rev().take(10).copied());

    let joined = labels.values().map(String::as_str).collect::<Vec<_>>().join(",");

    assert_eq!(samples.iter().sum::<u32>(), 24 * round * 1000 + (0..24).sum::<u32>());
    assert_eq!(scratch[0], round * 1000 + 23);
    assert_eq!(joined.len(), 12 * 7 + 11);
    assert!(joined.starts_with(&format!("r{round:03}:00,r{round:03}:01,")));
}

/// Allocations per pool so far.
fn pool_allocs() -> [u64; 3] {
    core::array::from_fn(|pool| HEAP.pool_stats(pool).map_or(0, |p| p.allocs))
}

/// Fills each pool to its capacity through `Heap::allocate`, checks that the next request
/// fails, and frees every block again.
fn self_test() {
    for spec in FirmwareHeap::POOLS {
        let layout = Layout::from_size_align(spec.block_size, 1).expect("a valid layout");
        let mut blocks: [Option<NonNull<u8>>; 64] = [None; 64];
        let mut count = 0;
        while let Ok(block) = HEAP.allocate(layout) {
            assert!(
                count < blocks.len(),
                "pool of {} B hands out too many blocks",
                spec.block_size
            );
            blocks[count] = Some(block);
            count += 1;
        }
        assert_eq!(count, spec.blocks, "pool of {} B", spec.block_size);
        for block in blocks[..count].iter().flatten() {
            // SAFETY: each block came from `HEAP.allocate(layout)` above and is freed once.
            unsafe { HEAP.deallocate(*block, layout) }.expect("a valid free");
        }
    }
}

/// Sleeps until the SysTick handler has run `TICKS` times.
fn wait_for_ticks() {
    loop {
        // With interrupts masked, a tick that arrives between the check and `wfi` stays
        // pending and wakes `wfi`; it runs when interrupts are unmasked.
        cortex_m::interrupt::disable();
        let done = TICK.load(Ordering::Acquire) == TICKS;
        if !done {
            cortex_m::asm::wfi();
        }
        // SAFETY: interrupts were enabled before this loop; no critical section is open here.
        unsafe { cortex_m::interrupt::enable() };
        if done {
            return;
        }
    }
}

#[entry]
fn main() -> ! {
    let peripherals = cortex_m::Peripherals::take().expect("taken once");
    hprintln!("{}", FirmwareHeap::SUMMARY);

    self_test();
    let [small, medium, large] = FirmwareHeap::POOLS else { unreachable!("three pools") };
    hprintln!(
        "self-test: the pools hand out {} / {} / {} blocks, then refuse",
        small.blocks,
        medium.blocks,
        large.blocks
    );

    // Round 0 alone, to count the allocations one round makes in each pool.
    let before = pool_allocs();
    work(0);
    let after = pool_allocs();
    let per_round: [u64; 3] = core::array::from_fn(|pool| after[pool] - before[pool]);

    systick::start(peripherals.SYST, RELOAD);
    for round in 1..ROUNDS {
        work(round);
    }
    let ticks_during_rounds = TICK.load(Ordering::Acquire);
    wait_for_ticks();

    // The last tick's frame: allocated in the handler, freed here.
    let last = critical_section::with(|cs| LAST_FRAME.borrow_ref_mut(cs).take()).expect("a frame");
    assert!(last.iter().all(|&sample| sample == TICKS));
    drop(last);

    hprintln!(
        "main: {ROUNDS} rounds of Vec/String/BTreeMap work, {} + {} + {} allocations per round",
        per_round[0],
        per_round[1],
        per_round[2]
    );
    hprintln!(
        "SysTick: {TICKS} ticks, {} allocations; the handler freed {}, main freed the last frame",
        2 * TICKS,
        2 * TICKS - 1
    );
    // Not deterministic (it depends on the host's speed), so not on stdout.
    heprintln!("ticks during main's rounds: {ticks_during_rounds} of {TICKS}");
    hprintln!();
    hprint!("{}", HEAP.report());

    // Every counter against what the program did.
    let stats = HEAP.stats();
    assert_eq!(stats.in_use_bytes, 0, "every block is back");
    assert_eq!(stats.allocs, stats.frees, "allocs == frees");
    assert_eq!(stats.invalid_frees, 0, "no free was refused");
    assert_eq!(stats.failures, 3, "one failure per pool, all from the self-test");
    let ticks = u64::from(TICKS);
    let from_isr = [ticks, 0, ticks]; // messages in the 16-byte pool, frames in the 256-byte pool
    for (pool, spec) in FirmwareHeap::POOLS.iter().enumerate() {
        let p = HEAP.pool_stats(pool).expect("a pool");
        let expected = spec.blocks as u64 + u64::from(ROUNDS) * per_round[pool] + from_isr[pool];
        assert_eq!(p.allocs, expected, "pool {pool}: self-test + rounds + SysTick");
        assert_eq!((p.frees, p.in_use, p.failures), (expected, 0, 1), "pool {pool}");
        assert_eq!(p.peak, spec.blocks, "pool {pool}: the self-test's peak");
    }
    if let Err(corruption) = HEAP.validate() {
        panic!("audit failed: {corruption:?}");
    }
    hprintln!("audit: free lists, bitmap and counters agree; every count matches the program");

    debug::exit(debug::EXIT_SUCCESS);
    loop {
        cortex_m::asm::wfi();
    }
}
