//! `sync: critical_section`: each operation is one short critical section of the
//! `critical-section` crate (on a single-core MCU: interrupts masked). Safe to call from
//! interrupt handlers; nothing in the section loops.

use super::{Lock, SharedLock};

/// A lock that is a `critical_section::with` around the pool's loop-free update.
#[derive(Debug)]
pub struct CriticalSection(());

// SAFETY: `critical_section::with` runs `f` with every other critical section excluded
// (interrupts masked on one core; the implementation's lock on multi-core or hosted targets),
// and the pool never calls user code inside it.
unsafe impl Lock for CriticalSection {
    #[cfg(not(loom))]
    const INIT: Self = CriticalSection(());
    #[cfg(loom)]
    fn init() -> Self {
        CriticalSection(())
    }

    #[inline(always)]
    fn with<R>(&self, f: impl FnOnce() -> R) -> R {
        critical_section::with(|_| f())
    }
}

// SAFETY: critical sections exclude each other across threads and interrupts, and the
// implementations acquire on entry and release on exit.
unsafe impl SharedLock for CriticalSection {}
