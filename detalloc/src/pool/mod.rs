//! The two pool kinds. Both hand out `S`-byte blocks of their own [`Buffer`] buffer, keep a
//! free list plus a high-water mark, and run `alloc`/`free` without a loop of their own:
//!
//! * [`Pool`] (`locked.rs`): the free list threaded through the free blocks, its state behind
//!   the sync mode's [`Lock`](crate::sync::Lock) (`local`, `critical_section`, `spin`).
//! * `LockFreePool` (`treiber/`): `sync: lock_free`, a Treiber stack over block indices whose
//!   head is an LL/SC word or a tagged compare-and-swap word, chosen per target.
//!
//! [`Buffer`]: crate::pool::buffer::Buffer

pub mod bitmap;
pub mod buffer;
mod locked;
#[cfg(detalloc_lock_free)]
pub mod treiber;
#[cfg(not(detalloc_lock_free))]
mod unsupported;

pub use locked::Pool;
#[cfg(not(detalloc_lock_free))]
pub use unsupported::UnsupportedPool;

use crate::Corruption;

/// Where `sync: lock_free` has a head that makes ABA impossible (LL/SC, or a 64-bit
/// compare-and-swap): nothing. Elsewhere: the error the macro's `sync: lock_free` needs.
#[cfg(detalloc_lock_free)]
#[doc(hidden)]
#[macro_export]
macro_rules! __lock_free_available {
    () => {};
}

/// Where `sync: lock_free` has a head that makes ABA impossible (LL/SC, or a 64-bit
/// compare-and-swap): nothing. Elsewhere: the error the macro's `sync: lock_free` needs.
#[cfg(not(detalloc_lock_free))]
#[doc(hidden)]
#[macro_export]
macro_rules! __lock_free_available {
    () => {
        ::core::compile_error! {
            "`sync: lock_free` needs LL/SC (ARMv7-M, ARMv7E-M, ARMv8-M mainline, RISC-V with the A \
extension) or a 64-bit compare-and-swap, so that ABA is impossible, and this target has neither: use `sync: critical_section` \
(interrupt-safe on one core), or `sync: spin` where the target has 32-bit compare-and-swap"
        }
    };
}
use crate::PoolStats;

/// The last step of validation, for both pool kinds: the live blocks counted on the free list
/// against the bitmap's population (with validation) and the counters (with statistics).
pub(crate) fn check_records(
    pool: usize,
    blocks: usize,
    live: usize,
    marked: Option<usize>,
    counts: Option<PoolStats>,
) -> Result<(), Corruption> {
    if let Some(marked) = marked.filter(|&m| m != live) {
        return Err(Corruption::LiveCount { pool, by_free_list: live, recorded: marked });
    }
    if let Some(c) = counts {
        if c.in_use != live {
            return Err(Corruption::LiveCount { pool, by_free_list: live, recorded: c.in_use });
        }
        if c.peak < c.in_use {
            return Err(Corruption::PeakBelowInUse { pool, peak: c.peak, in_use: c.in_use });
        }
        if c.peak > blocks {
            return Err(Corruption::PeakAboveBlocks { pool, peak: c.peak, blocks });
        }
    }
    Ok(())
}
