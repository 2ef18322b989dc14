//! What the two cores share besides the heaps: barriers, and a critical section for both
//! cores (cortex-m-semihosting's `hprintln!` and the panic handler take one).

use core::sync::atomic::{AtomicU32, Ordering};

use crate::mpu::Shared;
use crate::sse200::core_id;

/// Arrivals at barriers so far, both cores together.
static ARRIVED: AtomicU32 = AtomicU32::new(0);

/// The words of this module that both cores update with exclusive accesses (for the check that
/// each core's MPU makes them Shareable).
pub fn statics() -> [Shared; 2] {
    [Shared::of("ARRIVED", &ARRIVED), Shared::of("CS_OWNER", &CS_OWNER)]
}

/// Waits until both cores have arrived at barrier `round` (1, 2, ... in the same order on
/// both cores). Returns false if `give_up()` says so first. Everything a core wrote before it
/// arrived is visible to the other core after the barrier (release/acquire on `ARRIVED`).
pub fn barrier(round: u32, give_up: impl Fn() -> bool) -> bool {
    ARRIVED.fetch_add(1, Ordering::AcqRel);
    while ARRIVED.load(Ordering::Acquire) < 2 * round {
        if give_up() {
            return false;
        }
        core::hint::spin_loop();
    }
    true
}

/// Masks interrupts on this core and takes a spin lock shared by both cores. Nested
/// sections on the core that owns the lock pass through.
struct DualCoreCriticalSection;
critical_section::set_impl!(DualCoreCriticalSection);

/// 0 = free, otherwise the owner's core number + 1.
static CS_OWNER: AtomicU32 = AtomicU32::new(0);
/// In the token: this acquire took the lock.
const CS_OUTER: u32 = 1;
/// In the token: interrupts were enabled before this acquire.
const CS_UNMASK: u32 = 2;

// SAFETY: `acquire` returns only when this core holds `CS_OWNER` (taken with an Acquire
// compare-and-swap, given back with a Release store by the outermost `release`), with
// interrupts masked on this core, so no other core and no interrupt handler runs a critical
// section at the same time. A nested acquire sees its own core's number (only this core
// stores it, and it is still there because the outer section has not ended) and keeps the
// lock; its release leaves the lock and the interrupt mask as they were.
unsafe impl critical_section::Impl for DualCoreCriticalSection {
    unsafe fn acquire() -> u32 {
        let unmask = if cortex_m::register::primask::read().is_active() { CS_UNMASK } else { 0 };
        cortex_m::interrupt::disable();
        let me = core_id() + 1;
        if CS_OWNER.load(Ordering::Relaxed) == me {
            return unmask;
        }
        while CS_OWNER.compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed).is_err() {
            core::hint::spin_loop();
        }
        unmask | CS_OUTER
    }

    unsafe fn release(token: u32) {
        if token & CS_OUTER != 0 {
            CS_OWNER.store(0, Ordering::Release);
        }
        if token & CS_UNMASK != 0 {
            // SAFETY: interrupts were enabled when the matching `acquire` ran, so this
            // restores the state from before the section.
            unsafe { cortex_m::interrupt::enable() };
        }
    }
}
