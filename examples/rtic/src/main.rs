//! detalloc as the global allocator of an RTIC 2 app, on a Cortex-M3 under QEMU (`-machine
//! lm3s6965evb`).
//!
//! - The heap is a plain `static` outside `#[rtic::app]`, not an RTIC resource: `#[shared]`
//!   and `#[local]` values are made by `init` at run time and reached through a task's context
//!   (and its locks), while every `Box::new`, at any priority, calls the global allocator
//!   directly. Its synchronisation is its `sync:` mode. `new()` is all-zero (`.bss`), so `init`
//!   does not set it up.
//! - `init` fills every pool to its declared capacity, sees the next request fail, frees it
//!   all, then starts SysTick.
//! - `tick` (SysTick, priority 3) never allocates. Each tick spawns `producer` (priority 2),
//!   which makes one message per run: a stamped `Box<[u8; 48]>` header and a stamped 200-byte
//!   `Vec<u8>` payload, after a 16-byte scratch `Box` it frees itself. It sends the message
//!   over an rtic-sync channel to `consumer` (priority 1), which checks every stamp, allocates
//!   a small summary `Box` and frees all three blocks. Blocks allocated at priority 2 are freed
//!   at priority 1, and a tick can start the producer in the middle of the consumer's
//!   allocations and frees, on the same pools.
//! - After the last message the consumer checks every counter against what the tasks did,
//!   runs `HEAP.validate()`, prints the report over semihosting and exits with success. Any
//!   failed check panics, and the panic handler exits with failure.
//!
//! The same source builds with `sync: lock_free` (default) and `sync: critical_section`
//! (feature `critical-section-heap`). stdout is deterministic; how the ticks interleaved with
//! the tasks depends on the host's speed and goes to stderr.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};

use panic_semihosting as _; // prints the panic message, then exits QEMU with failure

// `lock_free` on ARMv7-M: each pool update is one LDREX/STREX window, and no interrupt is
// masked. An exception taken inside the window clears the exclusive monitor, so the interrupted
// STREX fails and the update retries: a preempting task can never take the same block.
#[cfg(not(feature = "critical-section-heap"))]
detalloc::detalloc! {
    /// The app's heap, used by every task.
    pub struct RticHeap<pools: [16 x 32, 64 x 16, 256 x 8], sync: lock_free, validate: true>;
}
// `critical_section` with cortex-m's `critical-section-single-core`: `cpsid i` (PRIMASK) around
// each pool update, which masks *every* interrupt for those few instructions, whatever its
// priority: `tick` too, although it never allocates. (RTIC's resource locks on ARMv7-M raise
// BASEPRI only to the resource's ceiling. But RTIC's `spawn` and rtic-sync's channel take a
// `critical_section` of their own, in both modes: `lock_free` removes the heap's share only.)
#[cfg(feature = "critical-section-heap")]
detalloc::detalloc! {
    /// The app's heap, used by every task.
    pub struct RticHeap<pools: [16 x 32, 64 x 16, 256 x 8], sync: critical_section, validate: true>;
}

#[global_allocator]
static HEAP: RticHeap = RticHeap::new();

/// Messages the producer sends.
const MESSAGES: u32 = 200;
/// Channel slots. `make_channel!` puts the channel in a `static`: it never allocates; a
/// `Message` in a slot is a sequence number and two pointers to heap blocks.
const CAPACITY: usize = 4;
/// SysTick reload value: a tick every 1 200 core cycles (about 0.1 ms at the LM3S6965's clock).
const RELOAD: u32 = 1_200 - 1;

/// What the producer allocates and the consumer frees.
#[derive(Debug)]
pub struct Message {
    seq: u32,
    header: Box<[u8; 48]>, // the 64-byte pool
    payload: Vec<u8>,      // 200 bytes: the 256-byte pool
}

fn header_stamp(seq: u32) -> u8 {
    seq as u8 ^ 0xa5
}

fn payload_stamp(seq: u32) -> u8 {
    seq as u8 ^ 0x5a
}

/// Set by the producer after its last message; `tick` then stops SysTick.
static DONE: AtomicBool = AtomicBool::new(false);
/// Set while the consumer checks a message and allocates and frees.
static CONSUMER_BUSY: AtomicBool = AtomicBool::new(false);
/// Host-speed dependent figures (stderr), written by `tick` only: a load and a store suffice
/// (thumbv6m has no atomic read-modify-write).
static TICKS: AtomicU32 = AtomicU32::new(0);
static PREEMPTIONS: AtomicU32 = AtomicU32::new(0);

fn bump(counter: &AtomicU32) {
    counter.store(counter.load(Relaxed) + 1, Relaxed);
}

/// Takes every block of every pool through `Heap::allocate`, checks that one more is refused,
/// and frees them all: each pool's peak is then its capacity (the same report on every run),
/// and each pool counts one failure.
fn fill_every_pool() {
    use core::{alloc::Layout, ptr::NonNull};
    use detalloc::Heap;
    for spec in RticHeap::POOLS {
        let layout = Layout::from_size_align(spec.block_size, 1).expect("a valid layout");
        let mut blocks: [Option<NonNull<u8>>; 32] = [None; 32]; // the largest pool's count
        for slot in &mut blocks[..spec.blocks] {
            *slot = Some(HEAP.allocate(layout).expect("the pool's declared capacity"));
        }
        assert!(
            HEAP.allocate(layout).is_err(),
            "pool of {} B: one block too many",
            spec.block_size
        );
        for block in blocks.iter().flatten() {
            // SAFETY: each block came from `HEAP.allocate(layout)` above and is freed once.
            unsafe { HEAP.deallocate(*block, layout) }.expect("a valid free");
        }
    }
}

#[rtic::app(device = lm3s6965, dispatchers = [GPIOA, GPIOB])]
mod app {
    use super::*;
    use cortex_m::peripheral::{SYST, syst::SystClkSource};
    use cortex_m_semihosting::{debug, heprintln, hprint, hprintln};
    use detalloc::Heap;
    use rtic_sync::channel::{Receiver, Sender};
    use rtic_sync::make_channel;

    #[shared]
    struct Shared {}

    #[local]
    struct Local {
        tx: Sender<'static, Message, CAPACITY>,
        syst: SYST,
    }

    #[init]
    fn init(cx: init::Context) -> (Shared, Local) {
        hprintln!("{}", RticHeap::SUMMARY);
        fill_every_pool();
        let [small, medium, large] = RticHeap::POOLS else { unreachable!("three pools") };
        let (small, medium, large) = (small.blocks, medium.blocks, large.blocks);
        hprintln!("init: the pools hand out {small} / {medium} / {large} blocks, then refuse");

        let (tx, rx) = make_channel!(Message, CAPACITY);
        assert!(consumer::spawn(rx).is_ok(), "the consumer is spawned once");

        let mut syst = cx.core.SYST;
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(RELOAD);
        syst.clear_current();
        syst.enable_interrupt();
        syst.enable_counter();
        (Shared {}, Local { tx, syst })
    }

    /// Priority 3, above every task that allocates, and never allocates itself: with `sync:
    /// lock_free` the heap never delays it; with `sync: critical_section` each pool update
    /// does, by the few instructions it masks interrupts for.
    #[task(binds = SysTick, priority = 3, local = [syst])]
    fn tick(cx: tick::Context) {
        bump(&TICKS);
        if DONE.load(Relaxed) {
            cx.local.syst.disable_interrupt();
            cx.local.syst.disable_counter();
            return;
        }
        let busy = CONSUMER_BUSY.load(Relaxed);
        // Err while the producer still runs (waiting on a full channel): no message this tick.
        if producer::spawn().is_ok() && busy {
            bump(&PREEMPTIONS); // the producer runs before the consumer resumes
        }
    }

    /// Priority 2: one message per run.
    #[task(priority = 2, local = [tx, seq: u32 = 0])]
    async fn producer(cx: producer::Context) {
        let seq = *cx.local.seq;
        if seq == MESSAGES {
            return;
        }
        let scratch = Box::new([seq; 4]); // the 16-byte pool, freed below
        let header = Box::new([header_stamp(scratch[0]); 48]);
        let payload = alloc::vec![payload_stamp(scratch[3]); 200];
        drop(scratch);
        cx.local.tx.send(Message { seq, header, payload }).await.expect("the consumer listens");
        *cx.local.seq = seq + 1;
        DONE.store(seq + 1 == MESSAGES, Relaxed);
    }

    /// Priority 1: checks and frees every message, then checks the heap.
    #[task(priority = 1)]
    async fn consumer(_: consumer::Context, mut rx: Receiver<'static, Message, CAPACITY>) {
        for expected in 0..MESSAGES {
            let Message { seq, header, payload } = rx.recv().await.expect("a message");
            CONSUMER_BUSY.store(true, Relaxed);
            assert_eq!(seq, expected, "messages arrive in order");
            assert!(header.iter().all(|&b| b == header_stamp(seq)), "header {seq} damaged");
            assert_eq!(payload.len(), 200, "payload {seq}");
            assert!(payload.iter().all(|&b| b == payload_stamp(seq)), "payload {seq} damaged");
            let summary = Box::new([seq, header.len() as u32, payload.len() as u32]); // 16 B
            assert_eq!(summary[0], seq);
            drop((header, payload, summary)); // two blocks from priority 2, one from here
            CONSUMER_BUSY.store(false, Relaxed);
        }

        let m = u64::from(MESSAGES);
        hprintln!("producer (priority 2): {m} messages, 3 allocations and 1 free each");
        hprintln!(
            "consumer (priority 1): {m} messages in order, stamps intact, 1 alloc, 3 frees each"
        );
        hprintln!("tick (SysTick, priority 3): spawned the producer, never allocated");
        hprintln!();
        hprint!("{}", HEAP.report());

        // Every count against what the program did: init's fill, 3 + 1 allocations per message.
        let init: u64 = RticHeap::POOLS.iter().map(|spec| spec.blocks as u64).sum();
        let allocs = init + 3 * m + m;
        let s = HEAP.stats();
        assert_eq!((s.allocs, s.frees, s.in_use_bytes), (allocs, allocs, 0), "heap counts");
        assert_eq!((s.failures, s.invalid_frees), (3, 0), "one refusal per pool, in init");
        let per_message = [2, 1, 1]; // 16 B: scratch and summary; 64 B: header; 256 B: payload
        for (pool, spec) in RticHeap::POOLS.iter().enumerate() {
            let p = HEAP.pool_stats(pool).expect("a pool");
            let n = spec.blocks as u64 + per_message[pool] * m;
            assert_eq!(
                (p.allocs, p.frees, p.in_use, p.peak),
                (n, n, 0, spec.blocks),
                "pool {pool}"
            );
        }
        HEAP.validate().expect("a clean audit");
        hprintln!(
            "counts: {allocs} allocs = {init} (init) + {} (producer) + {m} (consumer)",
            3 * m
        );
        hprintln!("audit: clean; every block intact, every count matches the program");

        heprintln!(
            "ticks: {}; producer runs that preempted the consumer mid-message: {}",
            TICKS.load(Relaxed),
            PREEMPTIONS.load(Relaxed)
        );
        debug::exit(debug::EXIT_SUCCESS);
    }
}
