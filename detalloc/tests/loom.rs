//! Loom models of one pool under each shared mode: two threads and the main thread allocate
//! and free in every interleaving loom explores (preemptions bounded), asserting that no
//! block is ever handed out twice and that nothing is lost (afterwards the pool hands out
//! exactly its capacity, and its audit is clean).
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p detalloc --features critical-section --release --test loom`
#![cfg(loom)]

use std::ptr::NonNull;

use detalloc::__private::{
    Align16, Buffer, CriticalSection, LockFreePool, Pool, SharedLock, Spin, StatsOn,
};
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const BLOCKS: usize = 2;
type Storage = Buffer<16, BLOCKS, Align16>;

/// What the models need of a pool, over both pool kinds.
trait ModelPool: Send + Sync + 'static {
    fn alloc(&self, buffer: &Storage) -> Option<NonNull<u8>>;
    /// # Safety
    /// `ptr` is a live block of this pool.
    unsafe fn free(&self, buffer: &Storage, ptr: NonNull<u8>);
    fn validate(&self, buffer: &Storage);
}

impl<L: SharedLock + Send + 'static> ModelPool for Pool<16, BLOCKS, 1, L, StatsOn> {
    fn alloc(&self, buffer: &Storage) -> Option<NonNull<u8>> {
        // SAFETY: the models pass each pool its own `Shared::buffer`.
        unsafe { Pool::alloc(self, buffer) }
    }
    unsafe fn free(&self, buffer: &Storage, ptr: NonNull<u8>) {
        // SAFETY: forwarded.
        unsafe { Pool::free(self, buffer, ptr) }.unwrap();
    }
    fn validate(&self, buffer: &Storage) {
        // SAFETY: `buffer` is this pool's buffer.
        unsafe { Pool::validate(self, buffer.base(), 0) }.unwrap();
    }
}

impl ModelPool for LockFreePool<16, BLOCKS, 1, StatsOn> {
    fn alloc(&self, buffer: &Storage) -> Option<NonNull<u8>> {
        // SAFETY: the models pass each pool its own `Shared::buffer`.
        unsafe { LockFreePool::alloc(self, buffer) }
    }
    unsafe fn free(&self, buffer: &Storage, ptr: NonNull<u8>) {
        // SAFETY: forwarded.
        unsafe { LockFreePool::free(self, buffer, ptr) }.unwrap();
    }
    fn validate(&self, _buffer: &Storage) {
        LockFreePool::validate(self, 0).unwrap();
    }
}

struct Shared<P> {
    pool: P,
    buffer: Storage,
    owned: [AtomicBool; BLOCKS],
    handed_out: AtomicUsize,
}

/// Allocates, claims the block (it must not be claimed already), releases it, frees it.
fn cycle<P: ModelPool>(s: &Shared<P>, rounds: usize) {
    for _ in 0..rounds {
        let Some(block) = s.pool.alloc(&s.buffer) else { continue };
        let index = (block.as_ptr() as usize - s.buffer.base().as_ptr() as usize) / 16;
        assert!(!s.owned[index].swap(true, Ordering::AcqRel), "block {index} handed out twice");
        s.handed_out.fetch_add(1, Ordering::Relaxed);
        s.owned[index].store(false, Ordering::Release);
        // SAFETY: `block` is this thread's live block.
        unsafe { s.pool.free(&s.buffer, block) };
    }
}

/// `spawned` threads doing `rounds` cycles each, next to the main thread doing one.
fn model<P: ModelPool>(new: fn() -> P, spawned: usize, rounds: usize) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(move || {
        let shared = Arc::new(Shared {
            pool: new(),
            buffer: Buffer::new(),
            owned: [AtomicBool::new(false), AtomicBool::new(false)],
            handed_out: AtomicUsize::new(0),
        });
        let threads: Vec<_> = (0..spawned)
            .map(|_| {
                let shared = Arc::clone(&shared);
                loom::thread::spawn(move || cycle(&shared, rounds))
            })
            .collect();
        cycle(&shared, 1);
        for t in threads {
            t.join().unwrap();
        }
        // Nothing lost: exactly `BLOCKS` distinct blocks, then exhaustion.
        shared.pool.validate(&shared.buffer);
        let all: Vec<_> = (0..BLOCKS)
            .map(|_| shared.pool.alloc(&shared.buffer).expect("a block was lost"))
            .collect();
        assert_ne!(all[0], all[1]);
        assert!(shared.pool.alloc(&shared.buffer).is_none(), "more than the pool's capacity");
        assert!(shared.handed_out.load(Ordering::Relaxed) > 0);
    });
}

// The two lock-based modes are modelled with two threads: with a third, a waiter spinning
// behind a FIFO ticket makes loom's paths exceed its branch bound (loom explores the
// waiter's every re-check), whatever the bound; two threads still cover every interleaving
// of lock hand-over with the pool's update.

#[test]
fn spin_pool() {
    model(Pool::<16, BLOCKS, 1, Spin, StatsOn>::new, 1, 2);
}

#[test]
fn critical_section_pool() {
    model(Pool::<16, BLOCKS, 1, CriticalSection, StatsOn>::new, 1, 2);
}

#[test]
fn lock_free_pool_three_threads() {
    model(LockFreePool::<16, BLOCKS, 1, StatsOn>::new, 2, 2);
}

type StatsPool = LockFreePool<16, BLOCKS, 1, StatsOn>;

/// A `lock_free` pool holding one block, a thread allocating the second and a thread resetting
/// the statistics, in every interleaving: `during` runs on the main thread while they race,
/// `after` once both are joined.
fn allocation_racing_a_reset(during: fn(&StatsPool), after: fn(&StatsPool, &Storage)) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(move || {
        let shared = Arc::new((StatsPool::new(), Storage::new()));
        let _first = ModelPool::alloc(&shared.0, &shared.1).expect("a block");
        let allocator = {
            let shared = Arc::clone(&shared);
            loom::thread::spawn(move || {
                ModelPool::alloc(&shared.0, &shared.1).expect("the second block");
            })
        };
        let resetter = {
            let shared = Arc::clone(&shared);
            loom::thread::spawn(move || shared.0.reset())
        };
        during(&shared.0);
        allocator.join().unwrap();
        resetter.join().unwrap();
        after(&shared.0, &shared.1);
    });
}

/// `reset_stats` racing an allocation on a `lock_free` pool (issue 22, defect 4): the peak
/// restarts at the current use, and the quiescent pool's validation finds it no lower than its
/// use. Before the fix the reset's store of the peak could overwrite a concurrent allocation's
/// `fetch_max`, and validation reported `PeakBelowInUse`.
#[test]
fn lock_free_reset_against_an_allocation() {
    allocation_racing_a_reset(
        |_| {},
        |pool, buffer| {
            ModelPool::validate(pool, buffer);
            let stats = pool.stats();
            assert_eq!((stats.in_use, stats.peak), (2, 2));
        },
    );
}

/// Statistics read while `reset_stats` races an allocation on a `lock_free` pool are figures
/// of some moment: never the wrapped difference of a count and a base the reset moved past it
/// (before, `allocs` read as about 2^64 and summing it overflowed).
#[test]
fn lock_free_stats_read_during_a_reset() {
    allocation_racing_a_reset(
        |pool| {
            let seen = pool.stats();
            assert!(seen.allocs <= 2 && seen.frees == 0, "read during a reset: {seen:?}");
        },
        |_, _| {},
    );
}

/// A critical-section implementation loom can see: a ticket lock on loom atomics (a
/// test-and-set lock makes loom's paths explode).
mod loom_critical_section {
    use loom::sync::atomic::{AtomicU32, Ordering};

    loom::lazy_static! {
        static ref NEXT: AtomicU32 = AtomicU32::new(0);
        static ref SERVING: AtomicU32 = AtomicU32::new(0);
    }

    struct LoomCriticalSection;
    critical_section::set_impl!(LoomCriticalSection);

    // SAFETY: `acquire` returns only when its ticket is served, `release` serves the next
    // ticket; the pool never nests critical sections.
    unsafe impl critical_section::Impl for LoomCriticalSection {
        unsafe fn acquire() -> critical_section::RawRestoreState {
            let ticket = NEXT.fetch_add(1, Ordering::Relaxed);
            while SERVING.load(Ordering::Acquire) != ticket {
                loom::thread::yield_now();
            }
        }
        unsafe fn release(_: critical_section::RawRestoreState) {
            SERVING.fetch_add(1, Ordering::Release);
        }
    }
}

/// Waiting (`waiters: K`) against a concurrent free: one block, held by the main thread. A
/// thread frees it while another waits for a block and then either takes it or gives up
/// (cancels), in every interleaving. Afterwards nothing is lost (the pool hands out its one
/// block again, its audit is clean) and no block was held twice.
mod waiting {
    use std::task::Waker;

    use detalloc::__private::{Align16, Buffer, Pool, Spin, StatsOn, WaitStart, Waiters};
    use loom::sync::Arc;

    type WaitPool = Pool<16, 1, 1, Spin, StatsOn, Waiters<2>>;

    struct Shared {
        pool: WaitPool,
        buffer: Buffer<16, 1, Align16>,
    }

    fn model(cancel: bool) {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(2);
        builder.check(move || {
            let shared = Arc::new(Shared { pool: WaitPool::new(), buffer: Buffer::new() });
            // SAFETY (each call below): the pool is only ever given its own `buffer`.
            let held = unsafe { shared.pool.alloc(&shared.buffer) }.expect("the one block");
            let freer = {
                let s = Arc::clone(&shared);
                let held = held.as_ptr().addr();
                loom::thread::spawn(move || {
                    let block =
                        s.buffer.base().with_addr(core::num::NonZeroUsize::new(held).unwrap());
                    // SAFETY: the main thread's live block, handed to this thread to free.
                    unsafe { s.pool.free(&s.buffer, block) }.unwrap().wake();
                })
            };
            let waiter = {
                let s = Arc::clone(&shared);
                loom::thread::spawn(move || {
                    let waker = Waker::noop();
                    // SAFETY: as above.
                    match unsafe { s.pool.wait_start(&s.buffer, waker, true) } {
                        WaitStart::Ready(block) => {
                            unsafe { s.pool.free(&s.buffer, block) }.unwrap().wake()
                        }
                        WaitStart::Queued(slot) if cancel => {
                            unsafe { s.pool.wait_cancel(&s.buffer, slot) }.wake()
                        }
                        WaitStart::Queued(slot) => loop {
                            if let Some(block) = unsafe { s.pool.wait_take(&s.buffer, slot, waker) }
                            {
                                unsafe { s.pool.free(&s.buffer, block) }.unwrap().wake();
                                break;
                            }
                            loom::thread::yield_now();
                        },
                        WaitStart::Full => panic!("one waiter in a 2-waiter queue"),
                    }
                })
            };
            freer.join().unwrap();
            waiter.join().unwrap();
            // SAFETY: the pool's own buffer.
            unsafe { shared.pool.validate(shared.buffer.base(), 0) }.unwrap();
            let again = unsafe { shared.pool.alloc(&shared.buffer) }.expect("the block is back");
            assert_eq!(again, held);
            assert!(unsafe { shared.pool.alloc(&shared.buffer) }.is_none(), "one block, once");
        });
    }

    trait WakeExt {
        fn wake(self);
    }
    impl WakeExt for Option<Waker> {
        fn wake(self) {
            detalloc::__private::Wake::wake(self);
        }
    }

    #[test]
    fn hand_off_against_a_concurrent_free() {
        model(false);
    }

    #[test]
    fn cancellation_against_a_concurrent_free() {
        model(true);
    }
}
