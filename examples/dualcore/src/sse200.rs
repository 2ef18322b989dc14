//! The Arm SSE-200 subsystem of QEMU's `mps2-an521`: which core runs, how core 0 starts
//! core 1, and each core's SysTick.
//!
//! Registers (Arm CoreLink SSE-200 Subsystem TRM, 101104; both cores run in Secure state
//! from reset, so the secure aliases at `0x5xxx_xxxx` are used):
//! * System control element at `0x5002_1000`: INITSVTOR1 (`+0x114`), the address of the vector
//!   table core 1 boots from; CPUWAIT (`+0x118`), bit *n* holds core *n* in reset.
//! * CPU_IDENTITY at `0x5001_f000`: each core reads its own number there.
//!
//! What QEMU 7.2 does with them (`hw/arm/armsse.c`, `hw/misc/iotkit-sysctl.c`): the SSE-200's
//! CPUWAIT resets to `0b10` (`cpuwait_rst = 2`: core 1 is created `start-powered-off`); a write
//! to INITSVTOR1 sets core 1's `init-svtor`; a write that clears CPUWAIT bit 1 calls
//! `arm_set_cpu_on_and_reset(1)`, and core 1 comes out of reset with SP and PC loaded from the
//! vector table at `init-svtor`. The `0x5000_0000` alias is mapped per core, so each core
//! reaches its own CPU_IDENTITY block.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::SYST;

/// SSE-200 system control element (secure alias).
const SYSCTL: usize = 0x5002_1000;
/// Initial secure vector table address of core 1, read when core 1 comes out of reset.
const INITSVTOR1: *mut u32 = (SYSCTL + 0x114) as *mut u32;
/// Bit n holds core n in reset.
const CPUWAIT: *mut u32 = (SYSCTL + 0x118) as *mut u32;
/// CPU_IDENTITY (secure alias): this core's number.
const CPUID: *const u32 = 0x5001_f000 as *const u32;

/// This core's number: 0 or 1.
pub fn core_id() -> u32 {
    // SAFETY: CPUID is the SSE-200's CPU_IDENTITY register, a read-only 32-bit register that
    // each core maps privately at this (word-aligned) address; a volatile read of it has no
    // side effect.
    unsafe { CPUID.read_volatile() }
}

/// SysTick exceptions taken so far, per core.
pub static TICKS: [AtomicU32; 2] = [AtomicU32::new(0), AtomicU32::new(0)];

/// Starts this core's SysTick: an exception every `reload + 1` processor clock cycles. Each
/// core has its own SysTick at the same address (the System Control Space is per core).
pub fn start_systick(reload: u32) {
    // SAFETY: `SYST::PTR` is the architected SysTick block of the core that runs this code;
    // RVR takes a 24-bit reload value (`reload` is masked to it), any write to CVR clears it,
    // and CSR = ENABLE | TICKINT | CLKSOURCE (processor clock) starts it. No other code uses
    // SysTick; the only effect is a SysTick exception at a fixed rate, whose handlers (core
    // 0: `main.rs`'s `SysTick`, core 1: `core1_systick`) only count.
    unsafe {
        let syst = &*SYST::PTR;
        syst.rvr.write(reload & 0x00ff_ffff);
        syst.cvr.write(0);
        syst.csr.write(0b111);
    }
}

/// Stops this core's SysTick.
pub fn stop_systick() {
    // SAFETY: as in `start_systick`; CSR = 0 disables the counter and its exception.
    unsafe { (*SYST::PTR).csr.write(0) };
}

/// Counts one SysTick exception of this core.
pub fn tick() {
    TICKS[core_id() as usize].fetch_add(1, Ordering::Relaxed);
}

// ---------------------------------------------------------------------------------------
// Core 1: its own stack and vector table.

/// Words of core 1's stack (8 KiB; the workload used 736 B when measured).
const CORE1_STACK_WORDS: usize = 1024;

/// Core 1's stack. No Rust code reads or writes it through this static: only core 1's stack
/// pointer (loaded by the hardware from [`CORE1_VECTORS`]) points into it.
#[repr(C, align(8))]
struct Core1Stack(UnsafeCell<[u64; CORE1_STACK_WORDS]>);

// SAFETY: no Rust code accesses the contents (only its address is taken); the only user is
// core 1's stack pointer, and only core 1 runs on it.
unsafe impl Sync for Core1Stack {}

/// In `.bss` (all zero), below cortex-m-rt's stack of core 0 at the end of RAM.
static CORE1_STACK: Core1Stack = Core1Stack(UnsafeCell::new([0; CORE1_STACK_WORDS]));

/// The first 16 entries of an Armv8-M vector table: initial SP, reset, 14 exceptions.
/// INITSVTOR ignores address bits [6:0]: the table must be 128-byte aligned.
#[repr(C, align(128))]
struct VectorTable {
    initial_sp: *mut u64,
    reset: extern "C" fn() -> !,
    exceptions: [Option<extern "C" fn()>; 14],
}

// SAFETY: the table is immutable; the raw pointer in it is only an address for the hardware.
unsafe impl Sync for VectorTable {}

/// Core 1's vector table (in flash), whose address core 0 writes to INITSVTOR1. Core 1
/// enables no external interrupt, so the table ends after SysTick.
static CORE1_VECTORS: VectorTable = VectorTable {
    initial_sp: CORE1_STACK.0.get().cast::<u64>().wrapping_add(CORE1_STACK_WORDS),
    reset: core1_reset,
    exceptions: {
        let fault = Some(core1_fault as extern "C" fn());
        // Exceptions 2..=15: NMI, HardFault, MemManage, BusFault, UsageFault, SecureFault,
        // 3 reserved, SVCall, DebugMonitor, 1 reserved, PendSV, SysTick.
        [
            fault,
            fault,
            fault,
            fault,
            fault,
            fault,
            None,
            None,
            None,
            fault,
            fault,
            None,
            fault,
            Some(core1_systick),
        ]
    },
};

/// Core 1's fault handler: reports the exception and exits QEMU with failure.
extern "C" fn core1_fault() {
    panic!("core 1: {:?}", cortex_m::peripheral::SCB::vect_active());
}

/// Core 1's SysTick handler.
extern "C" fn core1_systick() {
    tick();
}

/// Core 1's reset handler, entered with SP = the top of [`CORE1_STACK`]. Core 0 initialised
/// RAM before it released core 1, so statics are ready; core 1 then programs its own MPU
/// (each core has one) so that the shared statics are Shareable for its exclusives too.
extern "C" fn core1_reset() -> ! {
    let base = CORE1_STACK.0.get() as u32;
    // SAFETY: MSPLIM = the lowest address of core 1's own stack, so a push below it faults
    // (stack overflow) instead of writing into the statics under it; SP is above it.
    unsafe { cortex_m::register::msplim::write(base) };
    // Core 1's own MPU, before its first exclusive access to a static (SysTick's counter, the
    // barrier); core 0 checks and prints the readback after barrier 1.
    crate::mpu::publish(&crate::mpu::share_statics());
    assert_eq!(core_id(), 1, "core 1 reads its own CPU_IDENTITY");
    crate::core1_main()
}

/// Releases core 1: INITSVTOR1 = its vector table, then CPUWAIT bit 1 cleared. Returns the
/// vector table's address and CPUWAIT as it was. Call once, from core 0, with RAM initialised.
pub fn release_core1() -> (u32, u32) {
    let vectors = core::ptr::from_ref(&CORE1_VECTORS) as u32;
    // SAFETY: INITSVTOR1 and CPUWAIT are the SSE-200 system control registers at their
    // documented secure addresses, word-aligned; core 0 runs in Secure state and is their
    // only writer. INITSVTOR1 takes a 128-byte-aligned vector table address (CORE1_VECTORS is
    // `align(128)`); clearing CPUWAIT bit 1 only starts core 1, whose vector table, stack and
    // entry function are valid from now on. The DSB completes every earlier write (RAM
    // initialisation, INITSVTOR1) before core 1 can start.
    let cpuwait = unsafe {
        INITSVTOR1.write_volatile(vectors);
        let cpuwait = CPUWAIT.read_volatile();
        cortex_m::asm::dsb();
        CPUWAIT.write_volatile(cpuwait & !0b10);
        cpuwait
    };
    (vectors, cpuwait)
}
