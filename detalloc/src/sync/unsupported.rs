//! Stand-in lock for a mode this build cannot provide (`spin` on a target without
//! compare-and-swap, `critical_section` without the `critical-section` feature).
//!
//! Whenever the macro names this type it also emits a `compile_error!` spanned at the
//! `sync:` value, so no program using it ever builds; the stand-in only keeps that one clear
//! error from being buried under secondary ones (unknown type, `Sync` not implemented).

use super::{Lock, SharedLock};

/// A lock that is never granted. Only ever named next to a `compile_error!`.
#[derive(Debug)]
pub struct Unsupported(());

// SAFETY: `with` never runs `f`, so it trivially never runs two at once.
unsafe impl Lock for Unsupported {
    #[cfg(not(loom))]
    const INIT: Self = Unsupported(());
    #[cfg(loom)]
    fn init() -> Self {
        Unsupported(())
    }

    fn with<R>(&self, _f: impl FnOnce() -> R) -> R {
        loop {
            core::hint::spin_loop();
        }
    }
}

// SAFETY: as above: no closure ever runs, so there is nothing to order.
unsafe impl SharedLock for Unsupported {}
