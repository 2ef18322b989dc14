//! A deterministic ABA reproduction on the lock-free pool, under QEMU (thumbv7m, Cortex-M3).
//!
//! Built with `--cfg detalloc_aba_hook`, detalloc calls `detalloc_aba_hook` (defined here)
//! inside a pop's window, after the link is read: before the STREX with the LL/SC head,
//! before the compare-and-swap with the tagged head. The first call
//! pends SysTick and takes it at once (`dsb; isb`). The handler then does what a
//! high-priority context may do while a pop is suspended there: it allocates the top three
//! blocks `a0`, `a1`, `a2`, keeps `a1` and `a2`, frees `a0` (so `a0` is on top again, over
//! `a3`), then allocates and frees `a0` 32 766 times: 65 536 pushes and pops in all, a whole
//! turn of a 16-bit tag.
//!
//! The suspended pop read head = `a0` and link = `a1`. If its store succeeds, it installs `a1`
//! (which the handler owns) as the head, and the next allocation hands `a1` out a second time.
//!
//! * With the LL/SC head (thumbv7m's default): the exception entry and return clear the
//!   exclusive monitor, so the STREX fails and the pop retries with the current head. No
//!   double hand-out. (Under QEMU the handler's own STREXes clear the emulated monitor too;
//!   QEMU emulates STREX as a compare-and-swap of the value LDREX loaded, cleared by every
//!   STREX and by exception entry and return. On silicon the exception entry alone suffices.)
//! * With `--cfg detalloc_cas16` (the 16-bit index + 16-bit tag compare-and-swap detalloc used
//!   on 32-bit targets before): the tag is back where it was, the compare-and-swap succeeds,
//!   and `a1` is handed out twice.
//!
//! The program prints the head's strategy and `double hand-out: detected` or `none`, and exits
//! with success in both cases; `run-check.sh` builds both and checks each verdict. Without
//! `--cfg detalloc_aba_hook` the hook never runs and the program fails.
#![no_std]
#![no_main]

use core::alloc::Layout;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use cortex_m::peripheral::SCB;
use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::{debug, hprintln};
use detalloc::{Heap, detalloc};
use panic_semihosting as _;

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

/// Set by `main` just before the allocation whose pop the hook interrupts.
static ARMED: AtomicBool = AtomicBool::new(false);
/// Whether the hook pended the interrupt (false: built without `--cfg detalloc_aba_hook`).
static HOOK_RAN: AtomicBool = AtomicBool::new(false);
/// The blocks the handler keeps (`a1`, `a2`).
static KEPT: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];
/// Pushes and pops the handler made.
static OPERATIONS: AtomicUsize = AtomicUsize::new(0);

/// Called by detalloc inside a pop's window (test builds only). The first call after `main`
/// arms it pends SysTick; `dsb; isb` make the exception happen here, inside the window. Plain
/// loads and stores only: an atomic read-modify-write is an LDREX/STREX pair, whose STREX
/// would clear the exclusive monitor of the pop around it.
#[unsafe(no_mangle)]
pub extern "C" fn detalloc_aba_hook() {
    if ARMED.load(Ordering::Relaxed) {
        ARMED.store(false, Ordering::Relaxed);
        HOOK_RAN.store(true, Ordering::Relaxed);
        SCB::set_pendst();
        cortex_m::asm::dsb();
        cortex_m::asm::isb();
    }
}

fn take() -> NonNull<u8> {
    HEAP.allocate(LAYOUT).expect("the handler's pool has a block")
}

fn give(block: NonNull<u8>) {
    // SAFETY: every block given back here was taken with `LAYOUT` and is freed once.
    unsafe { HEAP.deallocate(block, LAYOUT) }.expect("a valid free");
}

#[exception]
fn SysTick() {
    let a0 = take();
    let a1 = take();
    let a2 = take();
    give(a0);
    let mut operations = 4;
    while operations < 65_536 {
        give(take());
        operations += 2;
    }
    KEPT[0].store(a1.as_ptr() as usize, Ordering::Relaxed);
    KEPT[1].store(a2.as_ptr() as usize, Ordering::Relaxed);
    OPERATIONS.store(operations, Ordering::Relaxed);
}

#[entry]
fn main() -> ! {
    // Every block handed out once and freed in reverse: the stack is a0 -> a1 -> a2 -> a3.
    let blocks = [take(), take(), take(), take()];
    for block in blocks.into_iter().rev() {
        give(block);
    }
    ARMED.store(true, Ordering::Relaxed);
    let first = take(); // its pop is interrupted by the handler
    let second = take(); // a1 again if the stale pop succeeded
    let kept = [KEPT[0].load(Ordering::Relaxed), KEPT[1].load(Ordering::Relaxed)];
    let held_twice =
        [first, second].iter().any(|b| kept.contains(&(b.as_ptr() as usize))) || first == second;
    hprintln!("aba: head {}", detalloc::LOCK_FREE_HEAD);
    if !HOOK_RAN.load(Ordering::Relaxed) {
        hprintln!("aba: the hook never ran: build with RUSTFLAGS=\"--cfg detalloc_aba_hook\"");
        debug::exit(debug::EXIT_FAILURE);
    }
    hprintln!(
        "aba: the handler made {} pushes and pops inside the pop's window",
        OPERATIONS.load(Ordering::Relaxed)
    );
    hprintln!("aba: double hand-out: {}", if held_twice { "detected" } else { "none" });
    debug::exit(debug::EXIT_SUCCESS);
    loop {
        cortex_m::asm::wfi();
    }
}
