//! detalloc on a RISC-V hart, run under QEMU (`-machine virt`): one heap, declared with
//! `detalloc!`, is the global allocator for `main` and for the machine timer interrupt's
//! handler. The workload and every check are those of the Cortex-M firmware
//! (`examples/shared/firmware_checks.rs`), on the same heap (`examples/firmware/src/heap.rs`):
//!
//! 1. A self-test fills every pool to its declared capacity, sees the next request fail, and
//!    frees everything again.
//! 2. The CLINT's machine timer interrupts every `PERIOD` ticks of `mtime`, exactly `TICKS`
//!    times. Each tick allocates a short message (freed in the same handler) and a frame that
//!    it keeps until the next tick (freed by the next handler; the last one by `main`).
//! 3. Meanwhile `main` runs `ROUNDS` rounds of `Vec` / `String` / `BTreeMap` work on the same
//!    pools, so ticks interrupt it in the middle of allocations and frees.
//! 4. `main` prints the summary and the heap's report over semihosting, audits the heap and
//!    checks every counter against the allocations the program made, then exits with success.
//!    Any failed check panics, and the panic handler exits with failure.
//!
//! `sync: critical_section` with the `riscv` crate's single-hart implementation: `mstatus.MIE`
//! cleared for the few instructions of each pool update, then restored; with the feature
//! `lock-free` (riscv32imac only), the same pools with `sync: lock_free`, whose pops and
//! pushes are LR.W/SC.W windows that a tick may interrupt anywhere. Everything on stdout
//! is deterministic; how many ticks hit `main`'s rounds depends on the host's speed and goes
//! to stderr. `run-check.sh` also runs the image with one guest instruction per translated
//! block, where a tick can land between any two instructions.
//!
//! The same source builds for `riscv32imac-unknown-none-elf` and `riscv32imc-unknown-none-elf`
//! (no A extension: the tick counter only uses atomic loads and stores, and the heap's mode
//! needs no atomic read-modify-write).
#![no_std]
#![no_main]

extern crate alloc;

use core::sync::atomic::{AtomicU32, Ordering};

use detalloc::Heap;
use riscv::interrupt::Interrupt;
use riscv_rt::{core_interrupt, entry};
use riscv_semihosting::debug::{self, EXIT_SUCCESS};
use riscv_semihosting::{heprintln, hprint, hprintln};

#[path = "../../shared/firmware_checks.rs"]
mod checks;
mod clint;
mod panic;

// The heap, `FirmwareHeap`: the Cortex-M firmware's declaration, unchanged.
#[cfg(not(feature = "lock-free"))]
include!("../../firmware/src/heap.rs");

#[cfg(feature = "lock-free")]
detalloc::detalloc! {
    /// The same pools with `sync: lock_free` (riscv32imac: the LR.W/SC.W head): `main` and
    /// the handler update the pools with no interrupt masked.
    pub struct FirmwareHeap<pools: [16 x 64, 64 x 32, 256 x 16], sync: lock_free, validate: true>;
}

// `FirmwareHeap::new()` is all-zero, so this static lands in `.bss`, which riscv-rt zeroes
// before `main`: the heap needs no initialisation code.
#[global_allocator]
static HEAP: FirmwareHeap = FirmwareHeap::new();

/// The timer interrupts the program exactly this many times.
const TICKS: u32 = 100;
/// Rounds of collection work in `main` (round 0 runs before the timer starts, to count its
/// allocations; the others run while it ticks).
const ROUNDS: u32 = 128;
/// `mtime` ticks between interrupts: 50 µs at the board's 10 MHz timebase.
const PERIOD: u64 = 500;

/// Ticks handled so far. Only the timer handler writes it (a load and a store, no
/// read-modify-write: riscv32imc has none).
static TICK: AtomicU32 = AtomicU32::new(0);

#[core_interrupt(Interrupt::MachineTimer)]
fn machine_timer() {
    let tick = TICK.load(Ordering::Relaxed) + 1;
    if tick >= TICKS {
        // The last tick: the timer stops (its interrupt is level-triggered by `mtimecmp`).
        clint::alarm_at(u64::MAX);
    } else {
        clint::alarm_at(clint::now() + PERIOD);
    }
    if tick > TICKS {
        return;
    }
    checks::on_tick(tick);
    TICK.store(tick, Ordering::Release);
}

/// Sleeps until the timer handler has run `TICKS` times.
fn wait_for_ticks() {
    loop {
        // With interrupts masked, a tick that arrives between the check and `wfi` stays
        // pending and wakes `wfi` (which waits for a pending enabled interrupt whatever
        // `mstatus.MIE` says); it runs when interrupts are unmasked.
        riscv::interrupt::disable();
        let done = TICK.load(Ordering::Acquire) == TICKS;
        if !done {
            riscv::asm::wfi();
        }
        // SAFETY: interrupts were enabled before this loop; no critical section is open here.
        unsafe { riscv::interrupt::enable() };
        if done {
            return;
        }
    }
}

#[entry]
fn main() -> ! {
    hprintln!("{}", FirmwareHeap::SUMMARY);

    let [small, medium, large] = checks::self_test();
    hprintln!(
        "self-test: the pools hand out {} / {} / {} blocks, then refuse",
        small,
        medium,
        large
    );

    // Round 0 alone, to count the allocations one round makes in each pool.
    let before = checks::pool_allocs();
    checks::work(0);
    let after = checks::pool_allocs();
    let per_round: [u64; 3] = core::array::from_fn(|pool| after[pool] - before[pool]);

    clint::alarm_at(clint::now() + PERIOD);
    // SAFETY: the heap's critical sections nest inside this state (they save and restore
    // `mstatus.MIE`); the handler only touches the heap and `TICK`.
    unsafe {
        riscv::interrupt::enable_interrupt(Interrupt::MachineTimer);
        riscv::interrupt::enable();
    }
    for round in 1..ROUNDS {
        checks::work(round);
    }
    let ticks_during_rounds = TICK.load(Ordering::Acquire);
    wait_for_ticks();
    riscv::interrupt::disable_interrupt(Interrupt::MachineTimer);
    checks::take_last_frame(TICKS);

    hprintln!(
        "main: {} rounds of Vec/String/BTreeMap work, {} + {} + {} allocations per round",
        ROUNDS,
        per_round[0],
        per_round[1],
        per_round[2]
    );
    hprintln!(
        "machine timer: {} ticks, {} allocations; the handler freed {}, main freed the last frame",
        TICKS,
        2 * TICKS,
        2 * TICKS - 1
    );
    // Not deterministic (it depends on the host's speed), so not on stdout.
    heprintln!("ticks during main's rounds: {} of {}", ticks_during_rounds, TICKS);
    hprintln!();
    hprint!("{}", HEAP.report());

    checks::check_counts(ROUNDS, per_round, TICKS);
    hprintln!("audit: free lists, bitmap and counters agree; every count matches the program");

    debug::exit(EXIT_SUCCESS);
    loop {
        riscv::asm::wfi();
    }
}
