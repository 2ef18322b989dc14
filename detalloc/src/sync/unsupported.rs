//! Stand-in for a mode this build cannot provide (`spin` on a target without compare-and-swap,
//! `critical_section` without the `critical-section` feature).
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

/// Stand-in for `LockFreePool` on targets without compare-and-swap, where `sync: lock_free`
/// is a compile error: it hands out nothing and refuses every free.
#[cfg(not(target_has_atomic = "32"))]
pub struct UnsupportedPool<const S: usize, const N: usize, const W: usize, M>(
    core::marker::PhantomData<M>,
);

#[cfg(not(target_has_atomic = "32"))]
impl<const S: usize, const N: usize, const W: usize, M: crate::stats::StatsMode>
    UnsupportedPool<S, N, W, M>
{
    /// Stand-in.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self(core::marker::PhantomData)
    }

    /// Stand-in: nothing to hand out.
    pub fn alloc<A: crate::blocks::Align>(
        &self,
        _: &crate::blocks::Blocks<S, N, A>,
    ) -> Option<core::ptr::NonNull<u8>> {
        None
    }

    /// Stand-in: refuses.
    ///
    /// # Safety
    /// None needed; `unsafe` only to match the real pool.
    pub unsafe fn free<A: crate::blocks::Align>(
        &self,
        _: &crate::blocks::Blocks<S, N, A>,
        _: core::ptr::NonNull<u8>,
    ) -> Result<(), crate::FreeError> {
        Err(crate::FreeError::Foreign)
    }

    /// Stand-in.
    pub fn prefetch<A: crate::blocks::Align>(&self, _: &crate::blocks::Blocks<S, N, A>) {}
}

#[cfg(not(target_has_atomic = "32"))]
impl<const S: usize, const N: usize, const W: usize, M> crate::view::Geometry<S, N>
    for UnsupportedPool<S, N, W, M>
{
}

#[cfg(not(target_has_atomic = "32"))]
impl<const S: usize, const N: usize, const W: usize, M> crate::view::PoolState
    for UnsupportedPool<S, N, W, M>
{
    fn counts(&self) -> crate::stats::PoolCounts {
        crate::stats::PoolCounts::default()
    }
    fn reset(&self) {}
    unsafe fn audit(&self, _: core::ptr::NonNull<u8>, _: usize) -> Result<(), crate::Corruption> {
        Ok(())
    }
}
