//! `sync: spin`: a per-pool ticket lock. FIFO, so a waiter is served after at most one
//! critical section of each thread ahead of it; never a test-and-set lock.
//!
//! # When not to use it
//! * In interrupt handlers on one core: the handler would spin on a lock its own core holds.
//!   Use `critical_section`.
//! * On a host with more runnable threads than cores: the FIFO handoff can go to a waiter the
//!   scheduler has descheduled, and every thread behind it then waits a whole time slice.
//!   With the `std` feature a waiter yields its time slice after [`SPINS_BEFORE_YIELD`] spins,
//!   which bounds that stall to a scheduler round instead of a time slice per waiter; prefer
//!   `lock_free` there.

use super::shim::{AtomicU32, Ordering};

use super::{Lock, SharedLock};

/// With the `std` feature, spins a waiter makes before it starts yielding its time slice.
#[cfg_attr(not(feature = "std"), allow(dead_code))]
pub const SPINS_BEFORE_YIELD: u32 = 128;

/// A ticket lock: `next` hands out tickets, `serving` is the ticket allowed in.
#[derive(Debug)]
pub struct Spin {
    next: AtomicU32,
    serving: AtomicU32,
}

/// Unlocks when dropped (serves the next ticket), so the lock is released even on unwind.
struct Unlock<'a>(&'a AtomicU32, u32);

impl Drop for Unlock<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        self.0.store(self.1.wrapping_add(1), Ordering::Release);
    }
}

// SAFETY: a thread runs `f` only while `serving` equals its ticket; tickets are unique
// (`fetch_add`), and `serving` moves to the next ticket only when the holder is done.
// Acquire on the load pairs with the Release store of the previous holder.
unsafe impl Lock for Spin {
    #[cfg(not(loom))]
    const INIT: Self = Spin { next: AtomicU32::new(0), serving: AtomicU32::new(0) };
    #[cfg(loom)]
    fn init() -> Self {
        Spin { next: AtomicU32::new(0), serving: AtomicU32::new(0) }
    }

    #[inline(always)]
    fn with<R>(&self, f: impl FnOnce() -> R) -> R {
        let ticket = self.next.fetch_add(1, Ordering::Relaxed);
        if self.serving.load(Ordering::Acquire) != ticket {
            self.wait(ticket);
        }
        let _unlock = Unlock(&self.serving, ticket);
        f()
    }
}

impl Spin {
    #[cold]
    fn wait(&self, ticket: u32) {
        #[cfg(all(feature = "std", not(loom)))]
        let mut spins = 0u32;
        while self.serving.load(Ordering::Acquire) != ticket {
            #[cfg(all(feature = "std", not(loom)))]
            {
                if spins < SPINS_BEFORE_YIELD {
                    spins += 1;
                } else {
                    std::thread::yield_now();
                    continue;
                }
            }
            super::shim::spin_loop();
        }
    }
}

// SAFETY: see `Lock`: tickets give mutual exclusion with acquire/release ordering.
unsafe impl SharedLock for Spin {}
