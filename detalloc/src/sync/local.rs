//! `sync: local`: one thread, no atomics, no waiting. The heap is `!Sync`.

use core::cell::Cell;
use core::marker::PhantomData;

use super::Lock;

/// No lock at all: the pool is `!Sync`, so only one thread can reach it, and the allocator
/// never calls out while it holds the state, so nothing re-enters.
#[derive(Debug)]
pub struct Local(PhantomData<Cell<()>>);

// SAFETY: `Local` is `!Sync` (it holds a `Cell`), so `with` runs on one thread only, and the
// pool never calls user code inside `with`, so `f` is never re-entered.
unsafe impl Lock for Local {
    #[cfg(not(loom))]
    const INIT: Self = Local(PhantomData);
    #[cfg(loom)]
    fn init() -> Self {
        Local(PhantomData)
    }

    #[inline(always)]
    fn with<R>(&self, f: impl FnOnce() -> R) -> R {
        f()
    }
}
