//! detalloc on two Cortex-M33 cores at once, under QEMU (`-machine mps2-an521`: an Arm SSE-200
//! subsystem with two Cortex-M33s sharing memory).
//!
//! 1. Core 0 boots through cortex-m-rt (which initialises `.data` and zeroes `.bss`, where the
//!    heaps live), then releases core 1 ([`sse200::release_core1`]): it writes the address of
//!    core 1's own vector table (its own stack top and entry function) to the SSE-200 register
//!    INITSVTOR1 and clears bit 1 of CPUWAIT, which powers core 1 on. Each core first programs
//!    its own MPU ([`mpu`]): the statics that both cores update with LDREX/STREX (the heaps,
//!    the instrumentation, the barrier and the lock) become Shareable memory, without which a
//!    core's exclusive monitor would not see the other core's stores; core 0 checks both cores'
//!    MPU registers as read back and prints them.
//! 2. For each heap, `sync: lock_free` then `sync: spin`, both cores meet at a barrier and run
//!    [`ITERATIONS`] rounds of the same workload ([`workload`]) on that one static heap:
//!    stamped blocks of pseudo-random size and alignment, held for pseudo-random times, each
//!    stamp checked before its block is freed, and a claim table that catches a block handed
//!    out while another holder has it. Each core's SysTick fires every [`TICK_CYCLES`]
//!    cycles meanwhile (its handler only counts): exceptions inside allocator calls, and under
//!    QEMU's round-robin TCG each SysTick moves emulation on to the other core.
//! 3. Core 0 waits for core 1 at a barrier, then checks that no block was held twice, no
//!    stamp changed, no allocation failed and no free was refused; that every counter of each
//!    heap equals what the two cores did; that every block is back and `validate()` is clean.
//!    Then it fills each pool to capacity alone (a self-test, which also makes the printed
//!    report independent of the interleaving), prints the reports and exits with success over
//!    semihosting. A failed check panics; the panic handler exits with failure.
//!
//! Everything on stdout is deterministic: no allocation can fail, so each core's sequence of
//! operations depends only on its seed. The interleaving-dependent figures (overlapping
//! operations, blocks handed over between the cores, concurrent peaks, SysTick counts) go to
//! stderr, where `run-check.sh` checks that they are not zero.
//!
//! `-append lock_free` or `-append spin` on QEMU's command line (read over semihosting) runs
//! the workload on that heap only.
//!
//! Which TCG mode: round-robin (`-accel tcg,thread=single`, the runner in
//! `.cargo/config.toml`). QEMU 7.2 emulates STREX as a compare-and-swap against the value
//! LDREX read, not as an exclusive monitor that another core's store clears (a STREX succeeds
//! after the other core stored 2 and then 1 over the 1 its LDREX read, in both modes). Under
//! MTTCG (`thread=multi`, one host thread per core) a core whose host thread is descheduled
//! inside a pop's LDREX..STREX window can complete a stale pop after the other core popped
//! and pushed back the same head (ABA), which real hardware forbids: the lock-free heap then
//! hands a block out twice (19 of 20 MTTCG runs of 500 000 rounds failed so). Round-robin
//! switches cores only between translation blocks, and each pop window is straight-line code
//! inside one block (`run-check.sh` checks that no window straddles QEMU's 1 KiB page, where
//! a block would end), so there the emulation keeps the hardware's guarantee (20 of 20 runs
//! clean). `sync: spin` (a ticket lock) is sound under both modes: `run-check.sh` also runs
//! it alone under MTTCG.
#![no_std]
#![no_main]

mod mpu;
mod sse200;
mod sync;
mod workload;

use core::alloc::Layout;
use core::cell::Cell;
use core::fmt;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m_rt::{ExceptionFrame, entry, exception};
use cortex_m_semihosting::{debug, heprintln, hprint, hprintln};
use critical_section::Mutex;
use detalloc::{Heap, PoolSpec, detalloc};
use panic_semihosting as _; // prints the panic message, then exits QEMU with failure

use mpu::Shared;
use sse200::{TICKS, core_id};
use sync::barrier;
use workload::{Arena, ITERATIONS, Tally, hammer};

detalloc! {
    /// Shared by both cores, one Treiber stack per pool (LDREX/STREX on the M33).
    pub struct LockFreeHeap<pools: [16 x 16, 64 x 16], sync: lock_free, validate: true>;
}

detalloc! {
    /// Shared by both cores, one ticket lock per pool.
    pub struct SpinHeap<pools: [16 x 16, 64 x 16], sync: spin, validate: true>;
}

static LOCK_FREE: LockFreeHeap = LockFreeHeap::new();
static SPIN: SpinHeap = SpinHeap::new();
static LOCK_FREE_ARENA: Arena<{ size_of::<LockFreeHeap>() / 16 }> = Arena::new();
static SPIN_ARENA: Arena<{ size_of::<SpinHeap>() / 16 }> = Arena::new();

/// Processor cycles between two SysTick exceptions on each core (20 MHz: 100 µs).
const TICK_CYCLES: u32 = 2_000;

/// Core 1's tallies, per heap, for core 0 to check.
static CORE1_TALLY: Mutex<Cell<[Tally; 2]>> = Mutex::new(Cell::new([Tally::ZERO; 2]));

/// Heaps to run the workload on: bit 0 `lock_free`, bit 1 `spin`. Core 0 sets it from the
/// command line before the first barrier.
static SELECTED: AtomicU32 = AtomicU32::new(0b11);

/// The statics both cores use, which each core's MPU must make Shareable ([`mpu`]) wherever
/// the cores update them with exclusive accesses: the heaps' state first (pool heads, links,
/// counters: each heap is one static), then the instrumentation and the synchronisation words.
fn shared_statics() -> [Shared; 8] {
    let [barrier, lock] = sync::statics();
    [
        Shared::of("LOCK_FREE", &LOCK_FREE),
        Shared::of("SPIN", &SPIN),
        Shared::of("LOCK_FREE_ARENA", &LOCK_FREE_ARENA),
        Shared::of("SPIN_ARENA", &SPIN_ARENA),
        Shared::of("SELECTED", &SELECTED),
        Shared::of("TICKS", &TICKS),
        barrier,
        lock,
    ]
}

/// Checks a core's MPU readback and prints it: the line on stdout is the same on every run,
/// the addresses go to stderr.
fn report_mpu(core: u32, readback: &mpu::Readback) {
    readback.check(core, &shared_statics());
    hprintln!("core {core}: {readback}");
    let (first, last) = readback.range();
    let heap = |h: &dyn Heap| core::ptr::from_ref(h).cast::<u8>() as usize;
    heprintln!(
        "core {core}: MPU region 0 {first:#010x}..={last:#010x} (RBAR {:#010x}, RLAR {:#010x}, \
         MAIR0 {:#010x}, CTRL {:#x}); LOCK_FREE at {:#010x}, SPIN at {:#010x}",
        readback.rbar,
        readback.rlar,
        readback.mair0,
        readback.ctrl,
        heap(&LOCK_FREE),
        heap(&SPIN),
    );
}

/// Runs the selected heaps' workloads on core `me`, each started and ended by a barrier, then
/// stops this core's SysTick.
fn run_core(me: u32) -> [Tally; 2] {
    let selected = SELECTED.load(Ordering::Relaxed); // published by barrier 1
    let mut tallies = [Tally::ZERO; 2];
    for (heap_index, round) in [(0u32, 2u32), (1, 4)] {
        assert!(barrier(round, || false), "barrier");
        tallies[heap_index as usize] = match heap_index {
            _ if selected & (1 << heap_index) == 0 => Tally::ZERO,
            0 => hammer(&LOCK_FREE, LockFreeHeap::POOLS, &LOCK_FREE_ARENA, 0, me),
            _ => hammer(&SPIN, SpinHeap::POOLS, &SPIN_ARENA, 1, me),
        };
        if me == 1 {
            critical_section::with(|cs| CORE1_TALLY.borrow(cs).set(tallies));
        }
        assert!(barrier(round + 1, || false), "barrier");
    }
    sse200::stop_systick();
    tallies
}

/// The heaps the semihosting command line names (QEMU: `-append "spin"`, `-append
/// "lock_free"`), as bits for [`SELECTED`]; both when it names neither.
fn heaps_from_command_line() -> u32 {
    let mut buffer = [0u8; 256];
    let mut block = [buffer.as_mut_ptr() as usize, buffer.len()];
    // SAFETY: SYS_GET_CMDLINE takes the address of a two-word block {buffer, length}; the
    // host writes at most `length` bytes (the command line and a NUL) into `buffer` and the
    // string's length into the block's second word. Both are live locals, valid for writes,
    // and not otherwise borrowed during the call.
    let status = unsafe {
        cortex_m_semihosting::syscall1(
            cortex_m_semihosting::nr::GET_CMDLINE,
            block.as_mut_ptr() as usize,
        )
    };
    let line = buffer.get(..block[1]).filter(|_| status == 0).unwrap_or_default();
    let words = core::str::from_utf8(line).unwrap_or_default().split_whitespace();
    let named = words.fold(0, |bits, word| match word {
        "lock_free" => bits | 0b01,
        "spin" => bits | 0b10,
        _ => bits,
    });
    if named == 0 { 0b11 } else { named }
}

/// Core 1, after its reset handler: the workload, then parked (core 0 ends the program).
fn core1_main() -> ! {
    sse200::start_systick(TICK_CYCLES - 1);
    barrier(1, || false); // core 0 waits here for core 1 to start
    run_core(1);
    loop {
        cortex_m::asm::wfe();
    }
}

#[exception]
fn SysTick() {
    sse200::tick();
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    panic!("core {}: HardFault at pc {:#010x}", core_id(), frame.pc());
}

// ---------------------------------------------------------------------------------------
// Core 0: start-up, checks, report.

/// Core 0's SysTick exceptions before it gives up on core 1: 1 s of guest time (a few seconds
/// of host time under QEMU).
const START_TICKS: u32 = 10_000;

/// Per-core counts of one heap, for stdout (deterministic).
struct Counts<'a>(&'a [Tally; 2]);

impl fmt::Display for Counts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (core, t) in self.0.iter().enumerate() {
            let sep = if core == 0 { "" } else { "; " };
            let (a, fr) = (t.allocs, t.frees);
            write!(f, "{sep}core {core}: {} + {} allocs, {} + {} frees", a[0], a[1], fr[0], fr[1])?;
        }
        Ok(())
    }
}

/// Checks one heap after both cores ran their workload on it.
fn check_concurrent(name: &str, heap: &dyn Heap, pools: &[PoolSpec], t: &[Tally; 2]) {
    for (core, tally) in t.iter().enumerate() {
        assert_eq!(tally.violations(), 0, "{name}: core {core}: {tally:?}");
    }
    let stats = heap.stats();
    let allocs: u64 = t.iter().flat_map(|t| t.allocs).map(u64::from).sum();
    let frees: u64 = t.iter().flat_map(|t| t.frees).map(u64::from).sum();
    assert_eq!(stats.allocs, allocs, "{name}: allocs = both cores' allocations");
    assert_eq!(stats.frees, frees, "{name}: frees = both cores' frees");
    assert_eq!(stats.allocs, stats.frees, "{name}: every block is back");
    assert_eq!((stats.in_use_bytes, stats.failures, stats.invalid_frees), (0, 0, 0), "{name}");
    let total: usize = pools.iter().map(|p| p.block_size * p.blocks).sum();
    assert_eq!(stats.total_bytes, total, "{name}: total bytes");
    let mut peak_bytes = 0;
    for (pool, spec) in pools.iter().enumerate() {
        let p = heap.pool_stats(pool).expect("a pool");
        let a = u64::from(t[0].allocs[pool] + t[1].allocs[pool]);
        let f = u64::from(t[0].frees[pool] + t[1].frees[pool]);
        assert_eq!((p.allocs, p.frees, p.in_use, p.failures), (a, f, 0, 0), "{name}: pool {pool}");
        assert!(p.peak >= 1 && p.peak <= spec.blocks, "{name}: pool {pool}: peak {}", p.peak);
        peak_bytes += p.peak * spec.block_size;
    }
    assert_eq!(stats.peak_bytes, peak_bytes, "{name}: peak bytes = the pools' peaks");
    if let Err(corruption) = heap.validate() {
        panic!("{name}: audit failed: {corruption:?}");
    }
    // Interleaving-dependent: stderr.
    let peak = |pool| heap.pool_stats(pool).map_or(0, |p| p.peak);
    heprintln!(
        "{name}: overlapped operations: core 0 {}, core 1 {}; blocks handed over between \
         cores: {} + {}; concurrent peaks {} / {} blocks",
        t[0].overlapped,
        t[1].overlapped,
        t[0].handovers,
        t[1].handovers,
        peak(0),
        peak(1),
    );
}

/// Core 0 alone: fills each pool to capacity, checks that the next request fails, frees.
fn self_test(heap: &dyn Heap, pools: &[PoolSpec]) {
    for spec in pools {
        let layout = Layout::from_size_align(spec.block_size, spec.align).expect("a layout");
        let mut blocks: [Option<NonNull<u8>>; 16] = [None; 16];
        let mut count = 0;
        while let Ok(block) = heap.allocate(layout) {
            assert!(count < blocks.len(), "a pool hands out more than its blocks");
            blocks[count] = Some(block);
            count += 1;
        }
        assert_eq!(count, spec.blocks, "pool of {} B", spec.block_size);
        for block in blocks[..count].iter().flatten() {
            // SAFETY: each block came from `heap.allocate(layout)` above and is freed once.
            unsafe { heap.deallocate(*block, layout) }.expect("a valid free");
        }
    }
}

/// The counts after the self-test: the concurrent ones plus one full pool, one failure each.
fn check_final(name: &str, heap: &dyn Heap, pools: &[PoolSpec], t: &[Tally; 2]) {
    for (pool, spec) in pools.iter().enumerate() {
        let p = heap.pool_stats(pool).expect("a pool");
        let a = u64::from(t[0].allocs[pool] + t[1].allocs[pool]) + spec.blocks as u64;
        let expected = (a, a, 0, 1, spec.blocks);
        assert_eq!((p.allocs, p.frees, p.in_use, p.failures, p.peak), expected, "{name}: {pool}");
    }
    let stats = heap.stats();
    assert_eq!((stats.in_use_bytes, stats.invalid_frees, stats.failures), (0, 0, 2), "{name}");
    assert_eq!(stats.peak_bytes, stats.total_bytes, "{name}: the self-test's peak");
    if let Err(corruption) = heap.validate() {
        panic!("{name}: audit failed: {corruption:?}");
    }
}

#[entry]
fn main() -> ! {
    unsafe extern "C" {
        /// cortex-m-rt: the end of `.bss` / `.uninit`, the lowest address core 0's stack
        /// may use.
        static _stack_end: u8;
    }
    // SAFETY: MSPLIM = the lowest address of core 0's stack (cortex-m-rt's `_stack_end`,
    // above every static, core 1's stack included): a push below it faults instead of
    // overwriting them. The current SP is far above it.
    unsafe { cortex_m::register::msplim::write(&raw const _stack_end as u32) };
    // Before any exclusive access to a static (the critical section of `hprintln!` is one).
    let mpu0 = mpu::share_statics();
    assert_eq!(core_id(), 0, "core 0 reads its own CPU_IDENTITY");

    hprintln!("{}", LockFreeHeap::SUMMARY);
    hprintln!("{}", SpinHeap::SUMMARY);
    report_mpu(0, &mpu0);

    let selected = heaps_from_command_line();
    SELECTED.store(selected, Ordering::Relaxed); // published to core 1 by barrier 1
    sse200::start_systick(TICK_CYCLES - 1);
    let (vectors, cpuwait) = sse200::release_core1();
    heprintln!("core 1: vector table at {vectors:#010x}, CPUWAIT was {cpuwait:#x}");
    if !barrier(1, || TICKS[0].load(Ordering::Relaxed) > START_TICKS) {
        panic!("core 1 did not start within {START_TICKS} ticks (CPUWAIT was {cpuwait:#x})");
    }
    hprintln!("core 1 started (INITSVTOR1 = its vector table, CPUWAIT bit 1 cleared)");
    report_mpu(1, &mpu::core1()); // published by core 1 before barrier 1

    let tallies = run_core(0);
    let core1 = critical_section::with(|cs| CORE1_TALLY.borrow(cs).get());

    hprintln!("{ITERATIONS} rounds per core and heap, both cores at once");
    let heaps: [(&str, &dyn Heap, &[PoolSpec]); 2] =
        [("lock_free", &LOCK_FREE, LockFreeHeap::POOLS), ("spin", &SPIN, SpinHeap::POOLS)];
    let both = |i: usize| [tallies[i], core1[i]];
    for (i, &(name, heap, pools)) in heaps.iter().enumerate() {
        let pad = 10 - name.len(); // aligns the two heaps' lines
        if selected & (1 << i) == 0 {
            hprintln!("{name}:{:pad$}not run (command line)", "");
            continue;
        }
        hprintln!("{name}:{:pad$}{}", "", Counts(&both(i)));
        check_concurrent(name, heap, pools, &both(i));
    }
    let ticks = TICKS.each_ref().map(|t| t.load(Ordering::Relaxed));
    heprintln!("SysTick exceptions: core 0 {}, core 1 {}", ticks[0], ticks[1]);
    hprintln!("no block held twice, every stamp intact, counts exact, audit clean");

    for (i, &(name, heap, pools)) in heaps.iter().enumerate() {
        self_test(heap, pools);
        check_final(name, heap, pools, &both(i));
    }
    hprintln!("self-test (core 0 alone): each pool hands out all its blocks, then refuses");
    for (_, heap, _) in heaps {
        hprintln!();
        hprint!("{}", heap.report());
    }

    debug::exit(debug::EXIT_SUCCESS);
    loop {
        cortex_m::asm::wfi();
    }
}
