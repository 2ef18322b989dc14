//! Waiting allocations (`waiters: K`) on a Cortex-M3 under QEMU (`-machine lm3s6965evb`):
//! tasks of embassy-executor's thread-mode executor wait on an exhausted pool, and the SysTick
//! exception frees blocks, each handed directly to the oldest waiter.
//!
//! 1. `main` takes the pool's three blocks (A, B, C) and puts them in the *free schedule*: the
//!    list of blocks SysTick frees, in order. Then it runs the executor.
//! 2. Four tasks arrive one after the other (each spawns the next once it waits): each one's
//!    `allocate_wait` finds the pool empty and queues it. A fifth task finds four already
//!    waiting: its `allocate_wait` fails at once, and so does a plain `allocate`. It starts
//!    SysTick.
//! 3. Each tick frees the next block of the schedule (the first tick frees two, so two waiters
//!    are woken before the executor polls either). While tasks wait, the free hands the block
//!    to the oldest one and wakes it; a plain `allocate` right after finds nothing (nobody
//!    barges past a waiter). A served task writes its mark into its block and gives it back to
//!    the schedule (task `i`'s block is freed `3 + i`-th): it holds it for at least two ticks. The
//!    last three frees find nobody waiting and return the blocks to the pool.
//! 4. After the seventh free, the fifth task checks everything (each task got the block of its
//!    place in the queue, the frees and hand-offs, every counter, a clean `validate()`),
//!    prints the story and the heap's report over semihosting and exits with success. Any
//!    failed check panics, and the panic handler exits with failure.
//!
//! Everything on stdout is deterministic: when a tick lands depends on the host's speed, so no
//! printed figure depends on it. The tick counts and the order in which the executor polled
//! the served tasks go to stderr. `run-check.sh` also runs the image with one guest instruction
//! per translation block, where a tick can land between any two instructions of a task.
#![no_std]
#![no_main]

use core::alloc::Layout;
use core::cell::RefCell;
use core::future::{Future, poll_fn};
use core::pin::{Pin, pin};
use core::task::{Poll, Waker};

use cortex_m::peripheral::SCB;
use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::{debug, heprintln, hprintln};
use critical_section::Mutex;
use detalloc::wait::WaitStats;
use detalloc::{AllocError, Heap, detalloc};
use embassy_executor::{Executor, Spawner};
use panic_semihosting as _; // prints the panic message, then exits QEMU with failure

#[path = "../../shared/systick.rs"]
mod systick;

detalloc! {
    /// One pool of three 64-byte blocks, shared by the tasks (thread mode) and the SysTick
    /// handler: `sync: critical_section`. Up to four allocations wait for a block.
    pub static HEAP: AsyncHeap<
        pools: [64 x 3],
        sync: critical_section,
        validate: true,
        waiters: 4,
    >;
}

/// What every allocation here asks for: a whole 64-byte block.
type Packet = [u8; 64];
const LAYOUT: Layout = Layout::new::<Packet>();

/// The pool's blocks, all taken by `main`.
const BLOCKS: usize = 3;
/// The tasks that wait (the heap's `waiters: 4`).
const WAITERS: usize = 4;
/// Frees SysTick makes: `main`'s blocks, then each waiter's.
const FREES: usize = BLOCKS + WAITERS;
/// SysTick reload value: a tick every 1 200 core cycles (about 0.1 ms at the LM3S6965's clock).
const RELOAD: u32 = 1_200 - 1;
/// A run that needs more ticks than this has lost a waiter: SysTick panics.
const MAX_TICKS: u32 = 20_000;

mod block {
    use core::ptr::NonNull;

    use super::LAYOUT;

    /// A block of `HEAP` (an allocation of `LAYOUT`) and its ownership, passed between
    /// `main`, the tasks and the SysTick handler: whoever holds the `Block` owns the block.
    /// Every byte of it holds its owner's mark (its index in the free schedule + 1), written
    /// when the `Block` was made: `new` is the only way to make one.
    #[derive(Debug)]
    pub struct Block(NonNull<u8>);

    // SAFETY: a `Block` is the address of a heap block plus the ownership of that block, which
    // moves with the value; no thread-local state is behind it. Its bytes are only read or
    // written by the one context that holds the `Block`, and `HEAP` (`sync:
    // critical_section`) may free it from any context.
    unsafe impl Send for Block {}

    impl Block {
        /// Takes ownership of `block` and fills it with `mark`.
        ///
        /// # Safety
        /// `block` is a live block of `HEAP` for `LAYOUT`, owned by the caller and given up to
        /// the `Block`: nothing else reads, writes or frees it.
        pub unsafe fn new(block: NonNull<u8>, mark: u8) -> Self {
            // SAFETY: the caller's promise: `LAYOUT.size()` writable bytes that nothing else
            // touches (alignment 1).
            unsafe { block.as_ptr().write_bytes(mark, LAYOUT.size()) };
            Self(block)
        }

        /// Whether every byte of the block is still `mark`.
        pub fn is_marked(&self, mark: u8) -> bool {
            // SAFETY: `self` owns a live block of `LAYOUT.size()` bytes, all written by `new`
            // and since then reachable only through `self` (`new`'s contract).
            let bytes = unsafe { core::slice::from_raw_parts(self.0.as_ptr(), LAYOUT.size()) };
            bytes.iter().all(|&byte| byte == mark)
        }

        /// The block's address, to name it.
        pub fn addr(&self) -> usize {
            self.0.addr().get()
        }

        /// Gives up the block: its pointer, for `HEAP.deallocate`.
        pub fn into_ptr(self) -> NonNull<u8> {
            self.0
        }
    }
}

use block::Block;

/// What the tasks and the SysTick handler share, under one critical section.
struct Shared {
    /// The blocks SysTick frees, in this order: `main`'s three, then the block of the task at
    /// place `i` of the queue at `3 + i`. Each is marked with its index + 1.
    schedule: [Option<Block>; FREES],
    /// The fifth task's waker, while it waits for the last free.
    done_waker: Option<Waker>,
    log: Log,
}

/// What happened, with blocks by address (`Block::addr`).
#[derive(Clone, Copy)]
struct Log {
    /// `main`'s blocks: A, B, C.
    main_blocks: [usize; BLOCKS],
    /// The frees made so far: the block, and whether the free handed it to a waiter.
    frees: [Option<(usize, bool)>; FREES],
    freed: usize,
    /// The blocks the frees handed to waiters, in the order of the hand-offs.
    handoffs: [Option<usize>; WAITERS],
    handed: usize,
    /// The waiting tasks, in the order their `allocate_wait` queued them.
    arrivals: [Option<usize>; WAITERS],
    arrived: usize,
    /// The block each task got.
    got: [Option<usize>; WAITERS],
    /// The served tasks, in the order the executor polled them (host-speed dependent: stderr).
    polled: [Option<usize>; WAITERS],
    served: usize,
    /// The most hand-offs whose task had not been polled yet, at any one time (stderr).
    most_unpolled: usize,
    /// Plain `allocate`s tried right after a hand-off (each one must fail).
    barge_attempts: u64,
    /// Ticks so far, and those that found the next scheduled block not yet given back.
    ticks: u32,
    idle_ticks: u32,
    /// Set by the last free.
    done: bool,
}

static SHARED: Mutex<RefCell<Shared>> = Mutex::new(RefCell::new(Shared {
    schedule: [const { None }; FREES],
    done_waker: None,
    log: Log {
        main_blocks: [0; BLOCKS],
        frees: [None; FREES],
        freed: 0,
        handoffs: [None; WAITERS],
        handed: 0,
        arrivals: [None; WAITERS],
        arrived: 0,
        got: [None; WAITERS],
        polled: [None; WAITERS],
        served: 0,
        most_unpolled: 0,
        barge_attempts: 0,
        ticks: 0,
        idle_ticks: 0,
        done: false,
    },
}));

fn shared<R>(f: impl FnOnce(&mut Shared) -> R) -> R {
    critical_section::with(|cs| f(&mut SHARED.borrow_ref_mut(cs)))
}

/// A future that polls `future` once and returns what that poll returned.
fn poll_once<F: Future>(mut future: Pin<&mut F>) -> impl Future<Output = Poll<F::Output>> {
    poll_fn(move |cx| Poll::Ready(future.as_mut().poll(cx)))
}

/// A waiting task: queues on the empty pool, lets the next task arrive, then waits for its
/// block; once served, marks the block and gives it to the free schedule.
#[embassy_executor::task(pool_size = WAITERS)]
async fn waiter(spawner: Spawner, id: usize) {
    let mut wait = pin!(HEAP.allocate_wait(LAYOUT));
    // The first poll finds the pool empty and takes a place in its queue.
    assert!(poll_once(wait.as_mut()).await.is_pending(), "task {id}: the pool is empty");
    let place = shared(|s| {
        let place = s.log.arrived;
        s.log.arrivals[place] = Some(id);
        s.log.arrived += 1;
        place
    });
    if id + 1 < WAITERS {
        spawner.spawn(waiter(spawner, id + 1).expect("a free slot in the waiters' pool"));
    } else {
        spawner.spawn(latecomer().expect("spawned once"));
    }

    let block = wait.await.expect("a queued allocation is served, never refused");
    let slot = BLOCKS + place;
    // SAFETY: `block` is the live block `allocate_wait` just gave this task for `LAYOUT`; the
    // task gives it up to the `Block`, which goes to the schedule.
    let block = unsafe { Block::new(block, slot as u8 + 1) };
    shared(|s| {
        // FIFO: the task at `place` in the queue has the block of the `place`-th hand-off.
        // (A block can be handed off twice, A here, but a task served out of turn would
        // already fail here, or leave its schedule slot empty, which stalls SysTick.)
        let handoff = s.log.handoffs[place];
        assert_eq!(handoff, Some(block.addr()), "task {id}, at place {place} of the queue");
        s.log.got[id] = Some(block.addr());
        s.log.polled[s.log.served] = Some(id);
        s.log.served += 1;
        s.schedule[slot] = Some(block);
    });
}

/// The fifth task: refused at once; starts SysTick, then waits for the last free and checks
/// and prints everything.
#[embassy_executor::task]
async fn latecomer() {
    // Four already wait: refused at once, not queued.
    let refused = poll_once(pin!(HEAP.allocate_wait(LAYOUT))).await;
    assert_eq!(refused, Poll::Ready(Err(AllocError)), "the fifth waiter is refused at once");
    assert!(HEAP.allocate(LAYOUT).is_err(), "the pool is empty");
    assert_eq!(HEAP.wait_stats(0).map(|w| (w.waited, w.longest_queue)), Some((4, 4)));

    // SAFETY: `Peripherals::steal` must not alias a live `SYST`: nothing took the core
    // peripherals before (`main` does not), and `systick::start` consumes this one; the next
    // `steal` is in the SysTick handler after the last free.
    systick::start(unsafe { cortex_m::Peripherals::steal() }.SYST, RELOAD);

    poll_fn(|cx| {
        shared(|s| {
            if s.log.done {
                Poll::Ready(())
            } else {
                s.done_waker = Some(cx.waker().clone());
                Poll::Pending
            }
        })
    })
    .await;

    check_and_print();
    debug::exit(debug::EXIT_SUCCESS);
}

/// The name of a block: the letter of `main`'s block at that address.
fn name(main_blocks: &[usize; BLOCKS], addr: usize) -> char {
    let index = main_blocks.iter().position(|&a| a == addr).expect("one of main's blocks");
    char::from(b'A' + index as u8)
}

const ORDINALS: [&str; WAITERS] = ["1st", "2nd", "3rd", "4th"];

fn check_and_print() {
    let log = critical_section::with(|cs| SHARED.borrow_ref(cs).log);
    let Log { main_blocks, arrivals, got, frees, polled, barge_attempts, most_unpolled, .. } = log;
    let (ticks, idle_ticks) = (log.ticks, log.idle_ticks);

    // The tasks queued in spawn order (each spawned the next once it waited).
    assert_eq!(arrivals, [Some(0), Some(1), Some(2), Some(3)]);
    for (place, id) in arrivals.iter().flatten().enumerate() {
        hprintln!("task {id}: allocate_wait pending, {} in the queue", ORDINALS[place]);
    }
    hprintln!(
        "task 4: allocate_wait refused at once ({WAITERS} already wait); a plain allocate \
         fails too; starts SysTick"
    );

    // The frees: A, B, C (main's), then the waiters' blocks in queue order; the first four
    // handed to the waiters in queue order, the last three back to the pool.
    let [a, b, c] = main_blocks;
    let expected = [a, b, c, a, b, c, a];
    let mut handoffs = 0;
    for (index, free) in frees.iter().enumerate() {
        let (addr, handed) = free.expect("seven frees");
        assert_eq!(addr, expected[index], "free {}", index + 1);
        assert_eq!(handed, index < WAITERS, "free {}: hand-off", index + 1);
        let block = name(&main_blocks, addr);
        let owner = match index.checked_sub(BLOCKS) {
            None => "main",
            Some(place) => ["task 0", "task 1", "task 2", "task 3"][place],
        };
        if handed {
            let to = arrivals[handoffs].expect("a waiter");
            hprintln!(
                "SysTick free {}: block {block} ({owner}'s) -> handed to task {to} (waiting {})",
                index + 1,
                ORDINALS[handoffs]
            );
            handoffs += 1;
        } else {
            hprintln!("SysTick free {}: block {block} ({owner}'s) -> back to the pool", index + 1);
        }
    }
    let got = got.map(|addr| name(&main_blocks, addr.expect("every waiter served")));
    hprintln!(
        "served in queue order: task 0 got {}, task 1 got {}, task 2 got {}, task 3 got {}",
        got[0],
        got[1],
        got[2],
        got[3]
    );
    assert_eq!(got, ['A', 'B', 'C', 'A']);
    assert_eq!(barge_attempts, WAITERS as u64);
    hprintln!(
        "no barging: a plain allocate right after each of the {barge_attempts} hand-offs failed"
    );

    // Counters: `main`'s 3 allocations + the 4 hand-offs, 7 frees. Failures: the refused wait
    // and 5 plain allocates on the empty pool (the fifth task's, one after each hand-off). The
    // pool counts its exhaustion also for each of the 4 waits that queued.
    let stats = HEAP.stats();
    assert_eq!((stats.allocs, stats.frees, stats.in_use_bytes), (7, 7, 0));
    assert_eq!((stats.failures, stats.invalid_frees, stats.peak_bytes), (6, 0, 3 * 64));
    let pool = HEAP.pool_stats(0).expect("pool 0");
    assert_eq!((pool.allocs, pool.frees, pool.in_use, pool.peak, pool.failures), (7, 7, 0, 3, 10));
    let waits = HEAP.wait_stats(0).expect("waiters");
    let expected = WaitStats { waited: 4, handed_off: 4, cancelled: 0, longest_queue: 4 };
    assert_eq!(waits, expected);
    HEAP.validate().expect("a clean audit");

    hprintln!("");
    hprintln!("{}", HEAP.report());
    hprintln!(
        "failures: 6 refused calls (the 5th wait, 5 plain allocates); the pool also counts \
         its exhaustion for the 4 waits that queued (10)"
    );
    hprintln!("audit: clean; every waiter served in queue order; every count matches the program");

    // Host-speed dependent: stderr, not compared.
    heprintln!(
        "ticks: {ticks} ({idle_ticks} found the next block not yet given back); the executor \
         polled the served tasks in the order {:?}; at most {most_unpolled} hand-offs not yet \
         polled at once",
        polled.map(|id| id.map_or(-1, |id| id as i32))
    );
}

#[exception]
fn SysTick() {
    // The first tick frees two blocks (two waiters woken in one handler); the others one.
    let burst = shared(|s| {
        s.log.ticks += 1;
        assert!(s.log.ticks <= MAX_TICKS, "{MAX_TICKS} ticks and a waiter still waits");
        if s.log.freed == 0 { 2 } else { 1 }
    });
    for tick_free in 0..burst {
        let next = shared(|s| {
            let index = s.log.freed;
            s.schedule.get_mut(index).and_then(Option::take).map(|block| (index, block))
        });
        let Some((index, block)) = next else {
            if tick_free == 0 {
                shared(|s| s.log.idle_ticks += 1);
            }
            return;
        };
        assert!(block.is_marked(index as u8 + 1), "block of free {} damaged", index + 1);
        let addr = block.addr();

        // Nothing else frees while this handler runs (thread mode is preempted, no other
        // interrupt is enabled): the hand-off counter tells what this free did.
        let handed_before = handed_off();
        // SAFETY: `block` owns a live block of `HEAP` for `LAYOUT` (from `main`'s `allocate`
        // or a task's `allocate_wait`), given to the schedule once and taken out of it above:
        // it is freed exactly once, here.
        unsafe { HEAP.deallocate(block.into_ptr(), LAYOUT) }.expect("a valid free");
        let handed = handed_off() == handed_before + 1;
        // A block handed to a waiter never reaches the free list: nobody can take it.
        let barged = handed && HEAP.allocate(LAYOUT).is_ok();
        assert!(!barged, "a plain allocate took the block handed to a waiter");

        let done = shared(|s| {
            s.log.frees[index] = Some((addr, handed));
            s.log.freed += 1;
            if handed {
                s.log.handoffs[s.log.handed] = Some(addr);
                s.log.handed += 1;
                s.log.barge_attempts += 1;
                s.log.most_unpolled = s.log.most_unpolled.max(s.log.handed - s.log.served);
            }
            s.log.done = s.log.freed == FREES;
            s.log.done.then(|| s.done_waker.take())
        });
        if let Some(waker) = done {
            stop_systick();
            if let Some(waker) = waker {
                waker.wake();
            }
            return;
        }
    }
}

fn handed_off() -> u64 {
    HEAP.wait_stats(0).map_or(0, |w| w.handed_off)
}

fn stop_systick() {
    // SAFETY: `Peripherals::steal` must not alias a live `SYST`: the only other one was
    // consumed by `systick::start`, and this runs once (after the last free).
    let mut syst = unsafe { cortex_m::Peripherals::steal() }.SYST;
    syst.disable_interrupt();
    syst.disable_counter();
    SCB::clear_pendst();
}

#[entry]
fn main() -> ! {
    hprintln!("{}", AsyncHeap::SUMMARY);
    // Take the whole pool; SysTick frees these three first.
    for index in 0..BLOCKS {
        let block = HEAP.allocate(LAYOUT).expect("the pool has three blocks");
        // SAFETY: `block` is the live block `allocate` just returned for `LAYOUT`; `main`
        // gives it up to the `Block`, which goes to the schedule.
        let block = unsafe { Block::new(block, index as u8 + 1) };
        shared(|s| {
            s.log.main_blocks[index] = block.addr();
            s.schedule[index] = Some(block);
        });
    }
    hprintln!(
        "main: takes the pool's {BLOCKS} blocks (A, B, C), gives them to SysTick to free, runs \
         the executor"
    );

    let executor = cortex_m::singleton!(: Executor = Executor::new()).expect("run once");
    executor.run(|spawner| spawner.spawn(waiter(spawner, 0).expect("the first waiter")))
}
