//! A per-callback scratch arena on a Cortex-M (issue 26): an audio-style block loop whose
//! every callback builds data of a different size (voices, events, a nested scratch for the
//! mix) in one scope of a static arena, all of it given back in O(1) when the callback ends.
//! The SysTick handler shares the arena: pended inside the callback's scope it is refused
//! (`ScopeBusy`: its scope would rewind under the callback's), pended after it is served.
//! `run-check.sh` diffs the output with `arena-expected.txt` (thumbv7m and thumbv6m), and the
//! static audit reads `fw_arena_alloc`, one allocation in a scope.
#![no_std]
#![no_main]

use core::alloc::Layout;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::SCB;
use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::{debug, hprint, hprintln};
use detalloc::AllocError;
use detalloc::arena::{Arena, Scope};
use panic_semihosting as _;

// The crate links `alloc` (detalloc's `alloc` feature): the heap of `src/main.rs` serves it,
// beside the arena.
include!("../src/heap.rs");
#[global_allocator]
static HEAP: FirmwareHeap = FirmwareHeap::new();

detalloc::detalloc! {
    /// The callback's scratch: 4 KiB, shared with an interrupt handler.
    pub static SCRATCH: Scratch<arena: 4 KiB align 8, sync: critical_section>;
}

/// One allocation in a scope of `SCRATCH`, never inlined, for the static audit.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn fw_arena_alloc(
    scope: &Scope<'_, Scratch>,
    layout: Layout,
) -> Result<NonNull<[u8]>, AllocError> {
    scope.allocate(layout)
}

/// `fw_arena_alloc`'s signature.
type ArenaAlloc = fn(&Scope<'_, Scratch>, Layout) -> Result<NonNull<[u8]>, AllocError>;

/// Keeps `fw_arena_alloc` in the image whatever the linker drops.
#[used]
static KEEP: ArenaAlloc = fw_arena_alloc;

/// What the SysTick handler got: scopes opened, scopes refused (written only by the handler).
static OPENED: AtomicU32 = AtomicU32::new(0);
static REFUSED: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    let counter = match SCRATCH.try_scope(|s| s.alloc([0u8; 32]).is_ok()) {
        Ok(_) => &OPENED,
        Err(_) => &REFUSED,
    };
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// Runs the SysTick handler now (pending it; interrupts are enabled, so it runs at once).
fn interrupt() {
    SCB::set_pendst();
    cortex_m::asm::dsb();
    cortex_m::asm::isb();
}

/// One callback: `voices` voices of 64 frames, `events` note events, mixed through a nested
/// scratch scope. Returns the mix's checksum and the scope's peak.
fn callback(s: &mut Scope<'_, Scratch>, round: u32, voices: usize, events: usize) -> (i32, usize) {
    let notes = s.alloc_slice_fill_with(events, |i| (round as i32 * 7 + i as i32) % 12).unwrap();
    let mut mix = [0i32; 64];
    for v in 0..voices {
        let buffer = s.alloc_slice_fill_with(64, |f| (f as i32 * (v as i32 + 1)) % 97).unwrap();
        let gain = s.alloc(notes[v % events] + 1).unwrap();
        for (m, x) in mix.iter_mut().zip(buffer.iter()) {
            *m += *x * *gain;
        }
    }
    // A nested scope for a filter's temporary: given back before the callback ends.
    let filtered = s.scope(|t| {
        let tmp = t.alloc_slice_copy(&mix).unwrap();
        for i in 1..tmp.len() {
            tmp[i] = (tmp[i] + tmp[i - 1]) / 2;
        }
        tmp.iter().sum::<i32>()
    });
    if round == 2 {
        interrupt(); // inside the scope: the handler's scope is refused
    }
    (filtered, s.peak())
}

#[entry]
fn main() -> ! {
    for round in 0..8u32 {
        let (voices, events) = (1 + (round as usize * 5) % 7, 1 + (round as usize * 3) % 5);
        let (sum, peak) = SCRATCH.try_scope(|s| callback(s, round, voices, events)).unwrap();
        hprintln!(
            "callback {}: {} voices, {} events, checksum {}, peak {} B",
            round,
            voices,
            events,
            sum,
            peak
        );
    }
    interrupt(); // no scope open: the handler's scope is served
    let (opened, refused) = (OPENED.load(Ordering::Relaxed), REFUSED.load(Ordering::Relaxed));
    hprintln!(
        "interrupt: {} scope(s) refused while the callback's was open, {} served after",
        refused,
        opened
    );
    hprint!("{}", SCRATCH.report());
    let s = SCRATCH.stats();
    let ok = s.used == 0 && s.busy == 1 && s.scopes == 9 && refused == 1 && opened == 1;
    hprintln!("arena: {}", if ok { "ok" } else { "FAILED" });
    debug::exit(if ok { debug::EXIT_SUCCESS } else { debug::EXIT_FAILURE });
    loop {
        cortex_m::asm::wfi();
    }
}
