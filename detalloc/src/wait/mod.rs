//! Waiting for a block (`waiters: K`): [`AllocateWait`], the future `allocate_wait` returns,
//! and (with `std`) the blocking `allocate_timeout`.
//!
//! * A free block: ready at once, exactly like `allocate` (with `spill`, the larger pools are
//!   tried first too).
//! * No pool fits the layout, or `K` tasks already wait on its pool: `Err(AllocError)` at
//!   once, counted as a failure.
//! * Otherwise the task waits in its pool's queue. A free into that pool hands the block
//!   directly to the oldest waiter and wakes it: the block never goes back on the free list
//!   while someone waits, so a plain `allocate` cannot barge past a waiter. The free stays
//!   constant-time and loop-free (the ring's head); the wake is the executor's cost, paid
//!   after the pool's lock is released.
//! * Dropping a waiting future (a timeout, a `select`) gives up its place; a block already
//!   handed to it goes on to the next waiter or back to the pool. Nothing is lost, nothing is
//!   handed out twice.
//! * The bound `K` counts futures *waiting*: a future that was handed a block and has not
//!   been polled since holds no place.
//! * Waiting is per pool. A future waits on the pool its layout selects and is served by
//!   blocks freed into that pool only. With `spill: true`, a block freed into a larger pool
//!   goes to that pool's own waiters or its free list, and a plain `allocate` that spills may
//!   take it while a smaller pool's waiters wait: "no barging" holds within each pool.
//! * **No user code runs while a pool's lock is held.** A waker is cloned before the lock is
//!   taken, and a waker leaving the queue (handed a block, replaced by a newer one, given up)
//!   is woken or dropped after the lock is released: a waker whose clone, wake or drop
//!   allocates from this very heap (an `Arc` waker when the heap is the global allocator) is
//!   fine.

pub(crate) mod queue;
pub(crate) mod waiting;

use core::alloc::Layout;
use core::future::Future;
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::{Context, Poll};

pub use queue::WaitStats;
pub(crate) use queue::{Enqueued, GiveUp, Look, NoWaiters, Ticket, WaitQueue, Waiters};
pub(crate) use waiting::{Place, WaitStart, Waiting};

use crate::AllocError;

/// The future of `allocate_wait(layout)`: resolves to a block for `layout`, or
/// `Err(AllocError)` when no pool fits it or its pool's queue is full. Dropping it while it
/// waits gives up its place (cancellation-safe).
#[must_use = "a future does nothing unless polled"]
#[derive(Debug)]
pub struct AllocateWait<'a, H: Waiting + ?Sized> {
    heap: &'a H,
    layout: Layout,
    /// The place while queued.
    queued: Option<Place>,
    done: bool,
}

impl<'a, H: Waiting + ?Sized> AllocateWait<'a, H> {
    /// A waiting allocation of `layout` from `heap` (what `allocate_wait` returns).
    pub fn new(heap: &'a H, layout: Layout) -> Self {
        Self { heap, layout, queued: None, done: false }
    }
}

impl<H: Waiting + ?Sized> Future for AllocateWait<'_, H> {
    type Output = Result<NonNull<u8>, AllocError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(Err(AllocError));
        }
        match this.queued {
            None => match this.heap.wait_start(this.layout, cx.waker()) {
                Ok(result) => {
                    this.done = true;
                    Poll::Ready(result)
                }
                Err(place) => {
                    this.queued = Some(place);
                    Poll::Pending
                }
            },
            Some(place) => {
                // SAFETY: `place` came from this heap's `wait_start` (above, on an earlier
                // poll), and is dropped from `queued` as soon as it takes its block, and on
                // drop is given up once: it is used by this future only, while still valid.
                match unsafe { this.heap.wait_take(place, this.layout, cx.waker()) } {
                    Some(block) => {
                        this.queued = None;
                        this.done = true;
                        Poll::Ready(Ok(block))
                    }
                    None => Poll::Pending,
                }
            }
        }
    }
}

impl<H: Waiting + ?Sized> Drop for AllocateWait<'_, H> {
    fn drop(&mut self) {
        if let Some(place) = self.queued.take() {
            // SAFETY: as in `poll`: this future's own place, still valid, given up once.
            unsafe { self.heap.wait_cancel(place) };
        }
    }
}

/// `allocate_timeout`: waits for a block like [`AllocateWait`], parking the calling thread,
/// for at most `timeout`; `Err(AllocError)` when the time is up (the place in the queue is
/// given up) or at once as `allocate_wait` would.
#[cfg(feature = "std")]
pub fn allocate_timeout<H: Waiting + ?Sized>(
    heap: &H,
    layout: Layout,
    timeout: std::time::Duration,
) -> Result<NonNull<u8>, AllocError> {
    use std::sync::Arc;

    /// Unparks the waiting thread.
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }

    // No deadline when `now + timeout` is beyond what `Instant` can hold: waits until served.
    let deadline = std::time::Instant::now().checked_add(timeout);
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut wait = AllocateWait::new(heap, layout);
    loop {
        if let Poll::Ready(result) = Pin::new(&mut wait).poll(&mut cx) {
            return result;
        }
        let Some(deadline) = deadline else {
            std::thread::park();
            continue;
        };
        let now = std::time::Instant::now();
        if now >= deadline {
            return Err(AllocError); // dropping `wait` gives up the place
        }
        std::thread::park_timeout(deadline - now);
    }
}

/// With `std`: `allocate_timeout` for `$heap`. Without: nothing.
#[cfg(feature = "std")]
#[doc(hidden)]
#[macro_export]
macro_rules! __allocate_timeout_impl {
    ($heap:ty) => {
        impl $heap {
            /// Waits for a block for `layout` at most `timeout`, parking the calling thread
            /// (FIFO with every other waiter of its pool); `Err(AllocError)` when the time is
            /// up, or at once when no pool fits or the pool's queue is full.
            ///
            /// # Errors
            /// [`AllocError`]($crate::AllocError) as described.
            pub fn allocate_timeout(
                &self,
                layout: ::core::alloc::Layout,
                timeout: ::std::time::Duration,
            ) -> ::core::result::Result<::core::ptr::NonNull<u8>, $crate::AllocError> {
                $crate::__private::allocate_timeout(self, layout, timeout)
            }
        }
    };
}

/// With `std`: `allocate_timeout` for `$heap`. Without: nothing.
#[cfg(not(feature = "std"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __allocate_timeout_impl {
    ($heap:ty) => {};
}
