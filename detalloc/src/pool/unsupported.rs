//! Stand-in for `LockFreePool` on targets where `sync: lock_free` is a compile error (no LL/SC
//! and no 64-bit compare-and-swap). Only ever named next to that `compile_error!`, so no
//! program using it builds; it keeps the one clear error from being buried under secondary
//! ones. It hands out nothing and refuses every free.

use core::marker::PhantomData;
use core::ptr::NonNull;

use crate::PoolStats;
use crate::counters::StatsMode;
use crate::inspect::{Geometry, Inspect};
use crate::pool::buffer::{Align, Buffer};
use crate::{Corruption, FreeError};

/// The stand-in pool.
pub struct UnsupportedPool<const S: usize, const N: usize, const W: usize, M>(PhantomData<M>);

impl<const S: usize, const N: usize, const W: usize, M: StatsMode> UnsupportedPool<S, N, W, M> {
    /// Stand-in.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self(PhantomData)
    }

    /// Stand-in: nothing to hand out.
    ///
    /// # Safety
    /// None needed; `unsafe` only to match the real pool.
    pub unsafe fn alloc<A: Align>(&self, _: &Buffer<S, N, A>) -> Option<NonNull<u8>> {
        None
    }

    /// Stand-in: refuses.
    ///
    /// # Safety
    /// None needed; `unsafe` only to match the real pool.
    pub unsafe fn free<A: Align>(
        &self,
        _: &Buffer<S, N, A>,
        _: NonNull<u8>,
    ) -> Result<(), FreeError> {
        Err(FreeError::Foreign)
    }

    /// Stand-in: refuses.
    ///
    /// # Safety
    /// None needed; `unsafe` only to match the real pool.
    pub unsafe fn free_by_address<A: Align>(
        &self,
        _: &Buffer<S, N, A>,
        _: usize,
        _: bool,
    ) -> Result<(), FreeError> {
        Err(FreeError::Foreign)
    }

    /// Stand-in.
    pub fn keep(&self, _: usize) {}

    /// Stand-in.
    pub fn is_live(&self, _: usize) -> bool {
        false
    }

    /// Stand-in.
    pub fn prefetch<A: Align>(&self, _: &Buffer<S, N, A>) {}
}

impl<const S: usize, const N: usize, const W: usize, M> Geometry<S, N>
    for UnsupportedPool<S, N, W, M>
{
}

impl<const S: usize, const N: usize, const W: usize, M> Inspect for UnsupportedPool<S, N, W, M> {
    fn stats(&self) -> PoolStats {
        PoolStats { block_size: S, blocks: N, ..PoolStats::default() }
    }
    fn reset(&self) {}
    unsafe fn validate(&self, _: NonNull<u8>, _: usize) -> Result<(), Corruption> {
        Ok(())
    }
}
