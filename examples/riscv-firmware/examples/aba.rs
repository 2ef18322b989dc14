//! A deterministic ABA reproduction on the lock-free pool's LR/SC head, under QEMU (`virt`,
//! riscv32imac).
//!
//! Built with `--cfg detalloc_aba_hook`, detalloc calls `detalloc_aba_hook` (defined here)
//! inside a pop's window, after the link is read and before the `sc.w`. The armed call makes
//! an interloper run there: what a higher-priority context may do meanwhile. It makes 65 532
//! pushes and pops of the top block (the head goes away from and back to its value 32 766
//! times), then pops `A` and `B`, the pool's last two free blocks (its never-used blocks are
//! all handed out), and tries one more pop, on the now-empty pool: an `lr.w` that reads 0.
//!
//! The suspended pop read head = `A` and link = `B`. If its `sc.w` succeeds, it installs `B`,
//! which the interloper owns, and hands `A` out a second time (and the next allocation `B`).
//!
//! The interloper runs twice, in two rounds:
//!
//! 1. **interrupt**: the hook pends the machine software interrupt and waits; its handler is
//!    the interloper. QEMU clears the reservation on every trap entry and return (its
//!    `riscv_cpu_set_mode` sets `load_res = -1`, "Version 2.2 of the ISA specification
//!    explicitly requires this behaviour"), so here the suspended `sc.w` fails whatever the
//!    pop does: this round shows no double hand-out in either build.
//! 2. **kept reservation**: the hook calls the interloper directly, which is what an interrupt
//!    is on a core whose trap entry and return keep the reservation, as the current ISA
//!    allows (riscv-rt's trap entry and exit execute no SC either).
//!
//! * With detalloc's pop, the empty pool's pop ends its window with an `sc.w` too, which ends
//!   the reservation: the suspended `sc.w` fails, the pop retries, finds the pool empty and
//!   `main`'s allocation fails as it should. No double hand-out in either round.
//! * With `--cfg detalloc_aba_demo` (a test build whose pop leaves the window without an SC
//!   when the pool is empty), the interloper's last `lr.w` leaves a reservation on the head
//!   behind, and in round 2 the suspended `sc.w` pairs with it and succeeds: `A` and `B` are
//!   handed out twice. (QEMU implements `sc.w` as a compare-and-swap against the value the last
//!   `lr.w` read, so the stale store lands when the head holds that value, 0, as here.)
//!
//! The program prints the head's strategy and, per round, `double hand-out: detected` or
//! `none`, and exits with success; `run-check.sh` builds both and checks each verdict. Without
//! `--cfg detalloc_aba_hook` the hook never runs and the program fails.
#![no_std]
#![no_main]

use core::alloc::Layout;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use detalloc::{Heap, detalloc};
use riscv::interrupt::Interrupt;
use riscv_rt::{core_interrupt, entry};
use riscv_semihosting::debug::{self, EXIT_FAILURE, EXIT_SUCCESS};
use riscv_semihosting::{heprintln, hprintln};

#[path = "../src/clint.rs"]
mod clint;
#[path = "../src/panic.rs"]
mod panic;

detalloc! {
    /// Four blocks, so the stack's order is easy to follow.
    pub struct AbaHeap<pools: [16 x 4], sync: lock_free, stats: false, validate: false>;
}

static HEAP: AbaHeap = AbaHeap::new();

detalloc! {
    /// The global allocator every program of this crate needs (its detalloc has the `alloc`
    /// feature, for `src/main.rs`); this program allocates nothing through it.
    pub struct Global<pools: [16 x 1], sync: critical_section>;
}

#[global_allocator]
static GLOBAL: Global = Global::new();
const LAYOUT: Layout = Layout::new::<[u8; 16]>();

/// Set by `main` just before the allocation whose pop the hook interrupts: how the
/// interloper runs (`INTERRUPT` or `CALL`), or `OFF`.
static ARMED: AtomicUsize = AtomicUsize::new(OFF);
const OFF: usize = 0;
const INTERRUPT: usize = 1;
const CALL: usize = 2;
/// Whether the interloper ran this round (false: built without `--cfg detalloc_aba_hook`).
static RAN: AtomicBool = AtomicBool::new(false);
/// The blocks the interloper keeps (`A`, `B`).
static KEPT: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];
/// Pushes and pops the interloper made.
static OPERATIONS: AtomicUsize = AtomicUsize::new(0);

/// Called by detalloc inside a pop's window (test builds only). The armed call runs the
/// interloper: through the machine software interrupt, or by a call. Plain loads and stores
/// only: an atomic read-modify-write would be an LR/SC pair or an AMO, and an SC would end the
/// reservation of the pop around it.
#[unsafe(no_mangle)]
pub extern "C" fn detalloc_aba_hook() {
    match ARMED.load(Ordering::Relaxed) {
        INTERRUPT => {
            ARMED.store(OFF, Ordering::Relaxed);
            clint::set_software_interrupt(true);
            while !RAN.load(Ordering::Acquire) {
                core::hint::spin_loop();
            }
        }
        CALL => {
            ARMED.store(OFF, Ordering::Relaxed);
            interloper();
        }
        _ => {}
    }
}

fn take() -> Option<NonNull<u8>> {
    HEAP.allocate(LAYOUT).ok()
}

fn give(block: NonNull<u8>) {
    // SAFETY: every block given back here was taken with `LAYOUT` and is freed once.
    unsafe { HEAP.deallocate(block, LAYOUT) }.expect("a valid free");
}

/// The pushes and pops of a context that runs inside the suspended pop's window.
fn interloper() {
    let mut operations = 0;
    while operations < 65_532 {
        give(take().expect("A is on top"));
        operations += 2;
    }
    let a = take().expect("A");
    let b = take().expect("B");
    // The pool is empty: this pop's `lr.w` reads 0.
    assert!(take().is_none(), "the pool is empty");
    KEPT[0].store(a.as_ptr() as usize, Ordering::Relaxed);
    KEPT[1].store(b.as_ptr() as usize, Ordering::Relaxed);
    OPERATIONS.store(operations + 3, Ordering::Relaxed);
    RAN.store(true, Ordering::Release);
}

#[core_interrupt(Interrupt::MachineSoft)]
fn machine_soft() {
    clint::set_software_interrupt(false);
    interloper();
}

/// One round: the free stack set to A -> B with every other block held by `main`, then an
/// allocation whose pop the interloper interrupts (`how`), and one more. Returns whether a
/// block was handed out twice; gives every block back when none was.
fn round(name: &str, how: usize) -> bool {
    // Every block handed out once (the never-used ones are gone too), then `A` and `B` freed.
    let [held_0, held_1, b, a] = [(); 4].map(|()| take().expect("a block"));
    give(b);
    give(a);
    RAN.store(false, Ordering::Relaxed);
    ARMED.store(how, Ordering::Relaxed);
    let first = take(); // its pop is interrupted by the interloper
    let second = take(); // `B` again if the stale pop succeeded
    if !RAN.load(Ordering::Acquire) {
        heprintln!("aba: the hook never ran: build with RUSTFLAGS=\"--cfg detalloc_aba_hook\"");
        debug::exit(EXIT_FAILURE);
    }

    let kept = KEPT.each_ref().map(|k| k.load(Ordering::Relaxed));
    let mine = [Some(held_0), Some(held_1), first, second];
    let handed: [usize; 4] = mine.map(|b| b.map_or(0, |b| b.as_ptr() as usize));
    let held_twice = handed
        .iter()
        .enumerate()
        .any(|(i, &p)| p != 0 && (kept.contains(&p) || handed[i + 1..].contains(&p)));
    hprintln!(
        "aba: {}: {} pushes and pops inside the pop's window, the last on the empty pool; main's allocation: {}",
        name,
        OPERATIONS.load(Ordering::Relaxed),
        if first.is_some() { "a block" } else { "none (the pool is exhausted)" }
    );
    hprintln!("aba: {}: double hand-out: {}", name, if held_twice { "detected" } else { "none" });
    if !held_twice {
        for block in mine.into_iter().flatten() {
            give(block);
        }
        for address in kept {
            give(NonNull::new(address as *mut u8).expect("a kept block"));
        }
    }
    held_twice
}

#[entry]
fn main() -> ! {
    hprintln!("aba: head {}", detalloc::LOCK_FREE_HEAD);
    // SAFETY: the handler only touches the pool and this program's statics.
    unsafe {
        riscv::interrupt::enable_interrupt(Interrupt::MachineSoft);
        riscv::interrupt::enable();
    }
    if !round("interrupt", INTERRUPT) {
        round("kept reservation", CALL);
    }
    debug::exit(EXIT_SUCCESS);
    loop {
        riscv::asm::wfi();
    }
}
