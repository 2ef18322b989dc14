//! What a heap declared with `waiters: K` provides to the future [`AllocateWait`]: the
//! [`Waiting`] trait, implemented by the generated code. Not public API: reached only through
//! `__private`, and its operations on a queued future's [`Place`] are `unsafe`.
//!
//! [`AllocateWait`]: super::AllocateWait

use core::alloc::Layout;
use core::ptr::NonNull;
use core::task::Waker;

use super::Ticket;
use crate::{AllocError, Heap};

/// The first look of a waiting allocation at its pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitStart {
    /// A block at once.
    Ready(NonNull<u8>),
    /// No block: queued with this ticket.
    Queued(Ticket),
    /// No block and the queue is full.
    Full,
}

/// A queued waiter's place: its pool and its ticket there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// The pool waited on.
    pub pool: usize,
    /// The ticket in that pool's queue.
    pub ticket: Ticket,
}

/// What a heap declared with `waiters: K` provides to `AllocateWait`: generated code, not
/// public API (hidden, reached only through `__private`). A [`Place`] is a future's own; the
/// operations that take one are `unsafe` because a forged or reused place would take the
/// block handed to another future, or give up another future's place.
///
/// # Safety
/// Implemented by `detalloc!` only: `wait_start` hands out each `Place` once, and the
/// pool operations behind `wait_take` and `wait_cancel` keep the queue's invariants.
pub unsafe trait Waiting: Heap {
    /// The first poll: `Ok(Ok(block))` or `Ok(Err(AllocError))` when decided at once
    /// (counted and hooked like `allocate`), or `Err(place)` when queued.
    fn wait_start(
        &self,
        layout: Layout,
        waker: &Waker,
    ) -> Result<Result<NonNull<u8>, AllocError>, Place>;

    /// A later poll of the waiter at `place`: its block, once handed over.
    ///
    /// # Safety
    /// `place` came from this heap's `wait_start` and has neither taken its block nor been
    /// given up.
    unsafe fn wait_take(&self, place: Place, layout: Layout, waker: &Waker) -> Option<NonNull<u8>>;

    /// The waiter at `place` gives up (a block already handed to it is passed on).
    ///
    /// # Safety
    /// As for [`wait_take`](Self::wait_take); the place is not used again.
    unsafe fn wait_cancel(&self, place: Place);
}
