//! Waiting for a block (`waiters: K`) on a real executor (tokio's current-thread runtime, with
//! its timer): FIFO hand-off, the `K + 1`-th waiter refused at once, cancellation at every
//! step, a timeout, and the blocking `allocate_timeout` across threads.

use std::alloc::Layout;
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use detalloc::{AllocError, Heap, detalloc};

detalloc! { struct Waiting<pools: [16 x 2, 64 x 1], sync: spin, validate: true, waiters: 3>; }
detalloc! { struct Spilling<pools: [16 x 1, 64 x 1], sync: spin, validate: true, spill: true, waiters: 2>; }
detalloc! { static SHARED: SharedWaiting<pools: [16 x 1], sync: spin, validate: true, waiters: 4>; }

const SMALL: Layout = Layout::new::<u64>();

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap()
}

/// A waker that counts its wakes.
#[derive(Default)]
struct Counting(Mutex<usize>);
impl Wake for Counting {
    fn wake(self: Arc<Self>) {
        *self.0.lock().unwrap() += 1;
    }
}

fn poll<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(waker))
}

/// Frees `block` (a live `SMALL` block of `heap`).
fn free(heap: &dyn Heap, block: NonNull<u8>) {
    // SAFETY: every block freed here came from `heap.allocate(SMALL)` or a wait for `SMALL`,
    // and is freed once.
    unsafe { heap.deallocate(block, SMALL) }.unwrap();
}

#[test]
fn a_free_block_is_ready_at_once() {
    let heap = Waiting::new();
    let waker = Waker::from(Arc::new(Counting::default()));
    let mut wait = heap.allocate_wait(SMALL);
    let Poll::Ready(Ok(block)) = poll(&mut wait, &waker) else { panic!("a free block") };
    drop(wait);
    assert_eq!(heap.pool_stats(0).unwrap().in_use, 1);
    assert_eq!(heap.wait_stats(0).unwrap().waited, 0);
    free(&heap, block);
    heap.validate().unwrap();
}

#[test]
fn waiters_are_served_in_order_and_the_extra_one_fails_at_once() {
    let heap = Waiting::new();
    let held = [heap.allocate(SMALL).unwrap(), heap.allocate(SMALL).unwrap()];
    let wakers: Vec<Arc<Counting>> = (0..3).map(|_| Arc::new(Counting::default())).collect();
    let mut waits: Vec<_> = (0..3).map(|_| heap.allocate_wait(SMALL)).collect();
    for (wait, counter) in waits.iter_mut().zip(&wakers) {
        assert!(poll(wait, &Waker::from(counter.clone())).is_pending());
    }
    // The fourth waiter of a 3-waiter pool is refused at once, and counted.
    let failures = heap.stats().failures;
    let refused = poll(&mut heap.allocate_wait(SMALL), &Waker::noop().clone());
    assert_eq!(refused, Poll::Ready(Err(AllocError)));
    assert_eq!(heap.stats().failures, failures + 1);
    // A plain allocate cannot barge past the waiters.
    free(&heap, held[0]);
    assert!(heap.allocate(SMALL).is_err(), "the freed block went to the oldest waiter");
    assert_eq!(*wakers[0].0.lock().unwrap(), 1, "the oldest waiter was woken");
    assert_eq!(*wakers[1].0.lock().unwrap(), 0);
    let Poll::Ready(Ok(first)) = poll(&mut waits[0], &Waker::from(wakers[0].clone())) else {
        panic!("the oldest waiter has its block")
    };
    assert_eq!(first, held[0]);
    assert!(poll(&mut waits[1], &Waker::from(wakers[1].clone())).is_pending());
    free(&heap, held[1]);
    let Poll::Ready(Ok(second)) = poll(&mut waits[1], &Waker::from(wakers[1].clone())) else {
        panic!("the second waiter is served next")
    };
    assert_eq!(second, held[1]);
    free(&heap, first);
    let Poll::Ready(Ok(third)) = poll(&mut waits[2], &Waker::from(wakers[2].clone())) else {
        panic!("the third waiter is served last")
    };
    drop(waits);
    free(&heap, second);
    free(&heap, third);
    let w = heap.wait_stats(0).unwrap();
    assert_eq!((w.waited, w.handed_off, w.cancelled, w.longest_queue), (3, 3, 0, 3));
    heap.validate().unwrap();
    let s = heap.pool_stats(0).unwrap();
    assert_eq!((s.in_use, s.allocs, s.frees), (0, 5, 5));
}

/// Cancellation at each step: before any block comes (the place is given up and the next
/// waiter moves up), and after a block was handed over but not taken (it goes to the next
/// waiter, or back to the pool). Nothing is lost, nothing handed out twice.
#[test]
fn cancellation_at_every_step_loses_nothing() {
    let heap = Waiting::new();
    let held = [heap.allocate(SMALL).unwrap(), heap.allocate(SMALL).unwrap()];
    let waker = Waker::noop().clone();
    let mut a = heap.allocate_wait(SMALL);
    let mut b = heap.allocate_wait(SMALL);
    let mut c = heap.allocate_wait(SMALL);
    for wait in [&mut a, &mut b, &mut c] {
        assert!(poll(wait, &waker).is_pending());
    }
    // `b` gives up while waiting: `a` and then `c` are next.
    drop(b);
    free(&heap, held[0]); // handed to `a`
    // `a` is dropped with its block handed over but not taken: the block goes on to `c`.
    drop(a);
    let Poll::Ready(Ok(got)) = poll(&mut c, &waker) else { panic!("c gets a's block") };
    assert_eq!(got, held[0]);
    drop(c);
    // A block handed to a waiter that is then dropped, with nobody behind it, goes back.
    let mut d = heap.allocate_wait(SMALL);
    assert!(poll(&mut d, &waker).is_pending());
    free(&heap, held[1]);
    drop(d);
    assert_eq!(heap.pool_stats(0).unwrap().in_use, 1, "only c's block is live");
    let again = heap.allocate(SMALL).unwrap();
    assert_eq!(again, held[1], "the untaken block is back in the pool");
    free(&heap, got);
    free(&heap, again);
    heap.validate().unwrap();
    let w = heap.wait_stats(0).unwrap();
    assert_eq!((w.waited, w.handed_off, w.cancelled), (4, 3, 1));
    let s = heap.pool_stats(0).unwrap();
    assert_eq!((s.in_use, s.allocs, s.frees), (0, s.frees, s.allocs));
}

#[test]
fn spill_is_tried_before_waiting() {
    let heap = Spilling::new();
    let small = heap.allocate(SMALL).unwrap();
    let waker = Waker::noop().clone();
    let Poll::Ready(Ok(spilled)) = poll(&mut heap.allocate_wait(SMALL), &waker) else {
        panic!("the larger pool serves it")
    };
    assert_eq!(heap.pool_stats(1).unwrap().in_use, 1);
    let mut wait = heap.allocate_wait(SMALL);
    assert!(poll(&mut wait, &waker).is_pending(), "both pools are full: it waits on pool 0");
    free(&heap, small);
    let Poll::Ready(Ok(got)) = poll(&mut wait, &waker) else { panic!("handed over") };
    assert_eq!(got, small);
    free(&heap, got);
    free(&heap, spilled);
    heap.validate().unwrap();
}

#[test]
fn tasks_wait_on_the_executor_and_time_out_through_its_timer() {
    let heap = Waiting::new();
    let held = [heap.allocate(SMALL).unwrap(), heap.allocate(SMALL).unwrap()];
    let order = Mutex::new(Vec::new());
    runtime().block_on(async {
        let timed_out =
            tokio::time::timeout(Duration::from_millis(20), heap.allocate_wait(SMALL)).await;
        assert!(timed_out.is_err(), "nothing was freed: the wait times out");
        let waiter = |n: usize| {
            let (heap, order) = (&heap, &order);
            async move {
                let block = heap.allocate_wait(SMALL).await.unwrap();
                order.lock().unwrap().push(n);
                tokio::time::sleep(Duration::from_millis(1)).await;
                free(heap, block);
            }
        };
        let freer = async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            free(&heap, held[0]);
            free(&heap, held[1]);
        };
        tokio::join!(waiter(0), waiter(1), waiter(2), freer);
    });
    assert_eq!(*order.lock().unwrap(), [0, 1, 2], "served in the order they waited");
    heap.validate().unwrap();
    assert_eq!(heap.stats().in_use_bytes, 0);
    assert_eq!(heap.wait_stats(0).unwrap().cancelled, 1, "the timed-out wait");
}

#[test]
fn allocate_timeout_blocks_across_threads() {
    let first = SHARED.allocate(SMALL).unwrap();
    assert_eq!(SHARED.allocate_timeout(SMALL, Duration::from_millis(10)), Err(AllocError));
    let got = std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            SHARED.allocate_timeout(SMALL, Duration::from_secs(20)).map(|b| b.as_ptr().addr())
        });
        while SHARED.wait_stats(0).unwrap().waited < 2 {
            std::thread::yield_now();
        }
        free(&SHARED, first);
        waiter.join().unwrap()
    });
    assert_eq!(got, Ok(first.as_ptr().addr()), "the parked thread was handed the block");
    free(&SHARED, first);
    SHARED.validate().unwrap();
}

detalloc! { struct LeanWaiting<pools: [16 x 1, 64 x 1], sync: critical_section, stats: false, validate: false, waiters: 2>; }

/// Without validation a free finds its pool by address: the block goes to that pool's oldest
/// waiter, even when the free names a layout of another pool (a block a shrink kept in place).
#[test]
fn without_validation_a_free_found_by_address_hands_over_to_the_waiter() {
    let heap = LeanWaiting::new();
    let small = heap.allocate(SMALL).unwrap();
    let big = heap.allocate(Layout::new::<[u64; 8]>()).unwrap();
    let counter = Arc::new(Counting::default());
    let waker = Waker::from(counter.clone());
    let mut wait = heap.allocate_wait(SMALL);
    assert!(poll(&mut wait, &waker).is_pending());
    // The 16-byte pool's block, freed with the 64-byte layout: by address, pool 0's waiter.
    // SAFETY: `small` is live; without validation the free goes by its address.
    unsafe { heap.deallocate(small, Layout::new::<[u64; 8]>()) }.unwrap();
    assert_eq!(*counter.0.lock().unwrap(), 1, "the waiter was woken");
    let Poll::Ready(Ok(got)) = poll(&mut wait, &waker) else { panic!("handed over") };
    assert_eq!(got, small);
    assert!(heap.allocate(SMALL).is_err(), "the block went to the waiter, not the free list");
    drop(wait);
    free(&heap, got);
    // SAFETY: live, freed once with its layout.
    unsafe { heap.deallocate(big, Layout::new::<[u64; 8]>()) }.unwrap();
    heap.validate().unwrap();
}

// ---- Regressions of issue 22 (defects 2 and 3) ----

detalloc! { static REENTERED: Reentered<pools: [16 x 1, 64 x 2], sync: spin, validate: true, waiters: 2>; }
detalloc! { struct OneWaiter<pools: [16 x 1], sync: critical_section, validate: true, waiters: 1>; }

/// A waker whose clone, wake and drop each allocate from pool 0 of `REENTERED` (the pool it
/// waits on, so the allocation takes that pool's lock) and free what they got: what an `Arc`
/// waker does when the heap is the global allocator.
mod reentrant_waker {
    use std::task::{RawWaker, RawWakerVTable, Waker};

    use detalloc::Heap;

    use super::{REENTERED, SMALL};

    /// Allocates from pool 0 of `REENTERED` and frees the block at once, if one was free.
    fn touch_the_pool() {
        if let Ok(block) = REENTERED.allocate(SMALL) {
            // SAFETY: just allocated with this layout, freed once.
            unsafe { REENTERED.deallocate(block, SMALL) }.unwrap();
        }
    }

    const VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake, drop);
    fn clone(_: *const ()) -> RawWaker {
        touch_the_pool();
        RawWaker::new(std::ptr::null(), &VTABLE)
    }
    fn wake(_: *const ()) {
        touch_the_pool();
    }
    fn drop(_: *const ()) {
        touch_the_pool();
    }

    /// The waker.
    pub fn waker() -> Waker {
        // SAFETY: every vtable function ignores the data pointer, so null is fine, and none
        // of them has any other contract to keep.
        unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &VTABLE)) }
    }
}

/// No user code runs inside a pool's lock: a waker that allocates from the very pool it waits
/// on, in its clone, wake and drop, through the whole life of a wait (queued, re-polled with
/// another waker, handed a block, dropped after and before a hand-over). Before the fix the
/// waker was cloned under the pool's spin lock and the thread deadlocked on its own ticket
/// (here: the watchdog's failure after 10 s).
#[test]
fn a_waker_that_allocates_from_its_pool_never_runs_inside_the_lock() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let held = REENTERED.allocate(SMALL).unwrap();
        let waker = reentrant_waker::waker();
        let mut wait = REENTERED.allocate_wait(SMALL);
        assert!(poll(&mut wait, &waker).is_pending(), "pool 0 is full: it waits");
        let other = Waker::noop().clone();
        assert!(poll(&mut wait, &other).is_pending(), "a re-poll replaces the waker");
        assert!(poll(&mut wait, &waker).is_pending(), "and back");
        free(&REENTERED, held); // handed to the waiter: its waker's `wake` runs after the lock
        let Poll::Ready(Ok(got)) = poll(&mut wait, &waker) else { panic!("handed over") };
        assert_eq!(got, held);
        drop(wait);
        let mut cancelled = REENTERED.allocate_wait(SMALL);
        assert!(poll(&mut cancelled, &waker).is_pending());
        drop(cancelled); // its waker is dropped after the lock
        let mut untaken = REENTERED.allocate_wait(SMALL);
        assert!(poll(&mut untaken, &waker).is_pending());
        free(&REENTERED, got);
        drop(untaken); // a handed block not taken goes back to the pool
        REENTERED.validate().unwrap();
        assert_eq!(REENTERED.stats().in_use_bytes, 0);
        done.send(()).unwrap();
    });
    finished
        .recv_timeout(Duration::from_secs(10))
        .expect("deadlock: a waker ran inside the pool's lock and re-entered it");
}

/// The queue bound counts futures waiting, nothing else: with `waiters: 1`, once the one
/// waiter was handed a block (and has not collected it yet), a second future may wait. Before
/// the fix the handed-over block kept the only slot and the second wait was refused at once.
#[test]
fn a_waiter_handed_a_block_no_longer_counts_against_the_bound() {
    let heap = OneWaiter::new();
    let held = heap.allocate(SMALL).unwrap();
    let waker = Waker::noop().clone();
    let mut f = heap.allocate_wait(SMALL);
    assert!(poll(&mut f, &waker).is_pending());
    free(&heap, held); // handed to `f`, not yet collected
    let mut g = heap.allocate_wait(SMALL);
    assert!(poll(&mut g, &waker).is_pending(), "nobody waits: `g` may wait");
    let Poll::Ready(Ok(got)) = poll(&mut f, &waker) else { panic!("f has its block") };
    free(&heap, got); // handed to `g`
    let Poll::Ready(Ok(next)) = poll(&mut g, &waker) else { panic!("g has its block") };
    free(&heap, next);
    heap.validate().unwrap();
    let w = heap.wait_stats(0).unwrap();
    assert_eq!((w.waited, w.handed_off, w.cancelled), (2, 2, 0));
}

/// The exact rule with `spill`: waiting is per pool. A waiter on pool 0 is served by blocks
/// freed into pool 0; a block freed into pool 1 goes to pool 1's free list, where a plain
/// allocation that spills may take it while the pool-0 waiter still waits.
#[test]
fn with_spill_waiting_is_per_pool() {
    let heap = Spilling::new();
    let waker = Waker::noop().clone();
    let small = heap.allocate(SMALL).unwrap();
    let spilled = heap.allocate(SMALL).unwrap();
    assert_eq!(heap.pool_stats(1).unwrap().in_use, 1, "the second one spilled");
    let mut wait = heap.allocate_wait(SMALL);
    assert!(poll(&mut wait, &waker).is_pending());
    free(&heap, spilled); // into pool 1: not handed to pool 0's waiter
    assert!(poll(&mut wait, &waker).is_pending(), "a pool-1 block does not serve it");
    let barged = heap.allocate(SMALL).expect("a plain allocation spills into pool 1");
    assert_eq!(barged, spilled);
    free(&heap, small); // into pool 0: handed to the waiter
    let Poll::Ready(Ok(got)) = poll(&mut wait, &waker) else { panic!("handed over") };
    assert_eq!(got, small);
    free(&heap, got);
    free(&heap, barged);
    heap.validate().unwrap();
}

/// With validation, a second free of a block already handed to a waiter (a double free by its
/// previous owner) is refused as `DoubleFree`: the handed block is recorded as the queue's, not
/// as live. Before, it was still marked live, the second free was accepted and put the block
/// on the free list while the waiter still had it coming.
#[test]
fn a_double_free_of_a_handed_block_is_refused() {
    let heap = OneWaiter::new();
    let held = heap.allocate(SMALL).unwrap();
    let waker = Waker::noop().clone();
    let mut f = heap.allocate_wait(SMALL);
    assert!(poll(&mut f, &waker).is_pending());
    free(&heap, held); // handed to `f`
    // SAFETY: validation is on: a double free is refused, not undefined.
    assert_eq!(unsafe { heap.deallocate(held, SMALL) }, Err(detalloc::FreeError::DoubleFree));
    heap.validate().unwrap();
    assert!(heap.allocate(SMALL).is_err(), "the block is still the waiter's");
    let Poll::Ready(Ok(got)) = poll(&mut f, &waker) else { panic!("f has its block") };
    assert_eq!(got, held);
    heap.validate().unwrap();
    free(&heap, got);
    heap.validate().unwrap();
    let s = heap.stats();
    assert_eq!((s.invalid_frees, s.in_use_bytes), (1, 0));
}

/// A heap of more than 256 pools with waiters: a waiter of pool 256 waits on pool 256 (its
/// place named pool 0 before: the pool index was 8 bits, and the generated literal was
/// silently truncated), and the block freed into pool 256 goes to it.
mod many_pools {
    use super::*;

    detalloc! { struct Many<pools: [4 x 1, 8 x 1, 12 x 1, 16 x 1, 20 x 1, 24 x 1, 28 x 1, 32 x 1, 36 x 1, 40 x 1, 44 x 1, 48 x 1, 52 x 1, 56 x 1, 60 x 1, 64 x 1, 68 x 1, 72 x 1, 76 x 1, 80 x 1, 84 x 1, 88 x 1, 92 x 1, 96 x 1, 100 x 1, 104 x 1, 108 x 1, 112 x 1, 116 x 1, 120 x 1, 124 x 1, 128 x 1, 132 x 1, 136 x 1, 140 x 1, 144 x 1, 148 x 1, 152 x 1, 156 x 1, 160 x 1, 164 x 1, 168 x 1, 172 x 1, 176 x 1, 180 x 1, 184 x 1, 188 x 1, 192 x 1, 196 x 1, 200 x 1, 204 x 1, 208 x 1, 212 x 1, 216 x 1, 220 x 1, 224 x 1, 228 x 1, 232 x 1, 236 x 1, 240 x 1, 244 x 1, 248 x 1, 252 x 1, 256 x 1, 260 x 1, 264 x 1, 268 x 1, 272 x 1, 276 x 1, 280 x 1, 284 x 1, 288 x 1, 292 x 1, 296 x 1, 300 x 1, 304 x 1, 308 x 1, 312 x 1, 316 x 1, 320 x 1, 324 x 1, 328 x 1, 332 x 1, 336 x 1, 340 x 1, 344 x 1, 348 x 1, 352 x 1, 356 x 1, 360 x 1, 364 x 1, 368 x 1, 372 x 1, 376 x 1, 380 x 1, 384 x 1, 388 x 1, 392 x 1, 396 x 1, 400 x 1, 404 x 1, 408 x 1, 412 x 1, 416 x 1, 420 x 1, 424 x 1, 428 x 1, 432 x 1, 436 x 1, 440 x 1, 444 x 1, 448 x 1, 452 x 1, 456 x 1, 460 x 1, 464 x 1, 468 x 1, 472 x 1, 476 x 1, 480 x 1, 484 x 1, 488 x 1, 492 x 1, 496 x 1, 500 x 1, 504 x 1, 508 x 1, 512 x 1, 516 x 1, 520 x 1, 524 x 1, 528 x 1, 532 x 1, 536 x 1, 540 x 1, 544 x 1, 548 x 1, 552 x 1, 556 x 1, 560 x 1, 564 x 1, 568 x 1, 572 x 1, 576 x 1, 580 x 1, 584 x 1, 588 x 1, 592 x 1, 596 x 1, 600 x 1, 604 x 1, 608 x 1, 612 x 1, 616 x 1, 620 x 1, 624 x 1, 628 x 1, 632 x 1, 636 x 1, 640 x 1, 644 x 1, 648 x 1, 652 x 1, 656 x 1, 660 x 1, 664 x 1, 668 x 1, 672 x 1, 676 x 1, 680 x 1, 684 x 1, 688 x 1, 692 x 1, 696 x 1, 700 x 1, 704 x 1, 708 x 1, 712 x 1, 716 x 1, 720 x 1, 724 x 1, 728 x 1, 732 x 1, 736 x 1, 740 x 1, 744 x 1, 748 x 1, 752 x 1, 756 x 1, 760 x 1, 764 x 1, 768 x 1, 772 x 1, 776 x 1, 780 x 1, 784 x 1, 788 x 1, 792 x 1, 796 x 1, 800 x 1, 804 x 1, 808 x 1, 812 x 1, 816 x 1, 820 x 1, 824 x 1, 828 x 1, 832 x 1, 836 x 1, 840 x 1, 844 x 1, 848 x 1, 852 x 1, 856 x 1, 860 x 1, 864 x 1, 868 x 1, 872 x 1, 876 x 1, 880 x 1, 884 x 1, 888 x 1, 892 x 1, 896 x 1, 900 x 1, 904 x 1, 908 x 1, 912 x 1, 916 x 1, 920 x 1, 924 x 1, 928 x 1, 932 x 1, 936 x 1, 940 x 1, 944 x 1, 948 x 1, 952 x 1, 956 x 1, 960 x 1, 964 x 1, 968 x 1, 972 x 1, 976 x 1, 980 x 1, 984 x 1, 988 x 1, 992 x 1, 996 x 1, 1000 x 1, 1004 x 1, 1008 x 1, 1012 x 1, 1016 x 1, 1020 x 1, 1024 x 1, 1028 x 1], sync: spin, validate: true, waiters: 1>; }

    #[test]
    fn a_waiter_of_pool_256_waits_on_pool_256() {
        let heap = Many::new();
        let (big, tiny) =
            (Layout::from_size_align(1028, 4).unwrap(), Layout::from_size_align(4, 4).unwrap());
        let held_big = heap.allocate(big).unwrap();
        let held_tiny = heap.allocate(tiny).unwrap();
        let waker = Waker::noop().clone();
        let mut w0 = heap.allocate_wait(tiny);
        assert!(poll(&mut w0, &waker).is_pending());
        let mut w256 = heap.allocate_wait(big);
        assert!(poll(&mut w256, &waker).is_pending());
        // SAFETY: live, freed once with its layout.
        unsafe { heap.deallocate(held_tiny, tiny) }.unwrap();
        assert!(poll(&mut w256, &waker).is_pending(), "a pool-0 block does not serve pool 256");
        let Poll::Ready(Ok(got0)) = poll(&mut w0, &waker) else {
            panic!("pool 0's waiter is served")
        };
        // SAFETY: live, freed once with its layout.
        unsafe { heap.deallocate(held_big, big) }.unwrap();
        let Poll::Ready(Ok(got256)) = poll(&mut w256, &waker) else { panic!("pool 256's waiter") };
        assert_eq!((got0, got256), (held_tiny, held_big));
        // SAFETY: live, freed once with their layouts.
        unsafe { heap.deallocate(got0, tiny) }.unwrap();
        // SAFETY: as above.
        unsafe { heap.deallocate(got256, big) }.unwrap();
        heap.validate().unwrap();
        assert_eq!(heap.stats().in_use_bytes, 0);
    }
}

/// `allocate_timeout` with the longest timeout waits without a deadline instead of panicking
/// on the overflow of `now + timeout`.
#[test]
fn allocate_timeout_with_duration_max_does_not_panic() {
    let block = SHARED_MAX.allocate_timeout(SMALL, Duration::MAX).expect("a free block at once");
    free(&SHARED_MAX, block);
}

detalloc! { static SHARED_MAX: SharedMax<pools: [16 x 1], sync: spin, waiters: 1>; }

/// A handed block freed with a layout of another pool is a `WrongPool`, as the same free of a
/// free block is (the handed state is the kept bit alone, and was taken for "kept": the free
/// went on to `DoubleFree`).
#[test]
fn a_handed_block_freed_with_another_pools_layout_is_wrong_pool() {
    detalloc! { struct TwoPools<pools: [16 x 1, 64 x 1], validate: true, waiters: 1>; }
    let (small, big) = (Layout::new::<[u8; 16]>(), Layout::new::<[u8; 64]>());
    let heap = TwoPools::new();
    let waker = Waker::noop().clone();
    let b = heap.allocate(big).unwrap();
    let mut w = heap.allocate_wait(big);
    assert!(poll(&mut w, &waker).is_pending());
    // SAFETY: live, freed once with its layout: handed to `w`.
    unsafe { heap.deallocate(b, big) }.unwrap();
    // SAFETY: validation is on: a wrong free is refused, not undefined.
    assert_eq!(unsafe { heap.deallocate(b, small) }, Err(detalloc::FreeError::WrongPool));
    let Poll::Ready(Ok(got)) = poll(&mut w, &waker) else { panic!("w has its block") };
    // SAFETY: live, freed once with its layout.
    unsafe { heap.deallocate(got, big) }.unwrap();
    heap.validate().unwrap();
}
