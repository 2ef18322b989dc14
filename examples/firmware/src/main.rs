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
//! The workload and the checks are `examples/shared/firmware_checks.rs`, which the RISC-V
//! firmware (`examples/riscv-firmware`) runs too.
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

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::{debug, heprintln, hprint, hprintln};
use detalloc::Heap;
use panic_semihosting as _; // prints the panic message, then exits QEMU with failure

#[path = "../../shared/firmware_checks.rs"]
mod checks;
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

/// Ticks handled so far. Only the SysTick handler writes it (a load and a store, no
/// read-modify-write: thumbv6m has no atomic RMW).
static TICK: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    let tick = TICK.load(Ordering::Relaxed) + 1;
    if tick > TICKS {
        // A tick that became pending while the last counted one ran, before it stopped the
        // timer (disabling SysTick does not clear a pending exception).
        return;
    }
    checks::on_tick(tick);
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

    let [small, medium, large] = checks::self_test();
    hprintln!("self-test: the pools hand out {small} / {medium} / {large} blocks, then refuse");

    // Round 0 alone, to count the allocations one round makes in each pool.
    let before = checks::pool_allocs();
    checks::work(0);
    let after = checks::pool_allocs();
    let per_round: [u64; 3] = core::array::from_fn(|pool| after[pool] - before[pool]);

    systick::start(peripherals.SYST, RELOAD);
    for round in 1..ROUNDS {
        checks::work(round);
    }
    let ticks_during_rounds = TICK.load(Ordering::Acquire);
    wait_for_ticks();
    checks::take_last_frame(TICKS);

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

    checks::check_counts(ROUNDS, per_round, TICKS);
    hprintln!("audit: free lists, bitmap and counters agree; every count matches the program");

    debug::exit(debug::EXIT_SUCCESS);
    loop {
        cortex_m::asm::wfi();
    }
}
