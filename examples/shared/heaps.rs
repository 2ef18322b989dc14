//! The heaps the audits, measurements and comparisons declare, by sync mode and level, so that
//! "lean" or "checked" means the same keys in every binary that measures one.
//!
//! ```text
//! heaps!([16 x 64, 64 x 32, 256 x 16] {
//!     LeanHeap: local lean => audit_alloc_lean, audit_free_lean,
//!     CsHeap: critical_section checked,
//! });
//! ```
//!
//! declares, at the invocation (names, and so symbols, as the caller gives them), one heap
//! per entry over the pool list: `sync:` the mode (`local`, `spin`, `lock_free`,
//! `critical_section`), and the level's keys: `lean` (`stats: false, validate: false`), `stats`
//! (`validate: false`), `checked` (`stats: true, validate: true`), `waiting` (`validate: true,
//! waiters: 4`). After `=>`, the names of the heap's exported, never-inlined wrapper pair
//! (`detalloc::audit_wrappers!`), which [`Wrapped`] then names too. `audit_heaps!()` declares the
//! heaps of the static audit.
//!
//! Included by path (`#[macro_use] #[path = ".../shared/heaps.rs"] mod heaps;`, in the module
//! that invokes it, or one whose `heaps` is in scope there) by the crates that declare such heaps:
//! examples/audit_targets.rs and examples/determinism, the benches, the cortex-compare and
//! firmware measurements, and the audit's thumb-heaps fixture; each uses a part of it.
#![allow(dead_code, unused_macros)]

use core::alloc::Layout;
use core::ptr::NonNull;

use detalloc::{AllocError, FreeError, Heap};

/// A heap with its exported wrapper pair (`heaps!` implements it for each heap given one), so
/// that generic code can call a heap through its wrappers.
pub trait Wrapped: Heap + Sized {
    /// The allocation wrapper.
    const ALLOC: fn(&Self, Layout) -> Result<NonNull<u8>, AllocError>;
    /// The free wrapper.
    const FREE: unsafe fn(&Self, NonNull<u8>, Layout) -> Result<(), FreeError>;
}

/// Declares heaps over one pool list: see the module. An entry's doc comments (or other
/// attributes) go on its heap, after the line its mode and level give.
macro_rules! heaps {
    ($pools:tt {
        $($(#[$attr:meta])* $name:ident: $sync:ident $level:ident
            $(=> $alloc:ident, $free:ident)?),* $(,)?
    }) => {
        $(heaps!(@$level [$(#[$attr])*] $name $pools $sync);)*
        $($(
            ::detalloc::audit_wrappers!($name, $alloc, $free);
            impl heaps::Wrapped for $name {
                const ALLOC: fn(
                    &Self,
                    ::core::alloc::Layout,
                ) -> ::core::result::Result<::core::ptr::NonNull<u8>, ::detalloc::AllocError> =
                    $alloc;
                const FREE: unsafe fn(
                    &Self,
                    ::core::ptr::NonNull<u8>,
                    ::core::alloc::Layout,
                ) -> ::core::result::Result<(), ::detalloc::FreeError> = $free;
            }
        )?)*
    };
    (@lean $($heap:tt)*) => {
        heaps!(@declare $($heap)* "stats and validation off" [stats: false, validate: false]);
    };
    (@stats $($heap:tt)*) => {
        heaps!(@declare $($heap)* "stats on, validation off" [validate: false]);
    };
    (@checked $($heap:tt)*) => {
        heaps!(@declare $($heap)* "stats and validation on" [stats: true, validate: true]);
    };
    (@waiting $($heap:tt)*) => {
        heaps!(@declare $($heap)* "stats and validation on, up to 4 allocations waiting per pool"
            [validate: true, waiters: 4]);
    };
    (@declare [$($attr:tt)*] $name:ident $pools:tt $sync:ident $doc:literal [$($keys:tt)*]) => {
        ::detalloc::detalloc! {
            #[doc = concat!("`", stringify!($sync), "`, ", $doc, ".")]
            $($attr)*
            pub struct $name<pools: $pools, sync: $sync, $($keys)*>;
        }
    };
}

/// The heaps of the static audit: `[16 x 64, 64 x 32, 256 x 16]` in five modes, `lean`
/// (`local`) and `checked` in every sync mode, each with its `audit_alloc_<mode>` /
/// `audit_free_<mode>` pair: what `examples/audit_targets.rs` exports for the host, the
/// thumb-heaps fixture for Cortex-M, and the determinism example measures. `spin` and
/// `lock_free` need compare-and-swap: not on thumbv6m.
macro_rules! audit_heaps {
    () => {
        heaps!([16 x 64, 64 x 32, 256 x 16] {
            LeanHeap: local lean => audit_alloc_lean, audit_free_lean,
            CheckedHeap: local checked => audit_alloc_checked, audit_free_checked,
        });
        #[cfg(target_has_atomic = "32")]
        heaps!([16 x 64, 64 x 32, 256 x 16] {
            SpinHeap: spin checked => audit_alloc_spin, audit_free_spin,
            LockFreeHeap: lock_free checked => audit_alloc_lock_free, audit_free_lock_free,
        });
        heaps!([16 x 64, 64 x 32, 256 x 16] {
            CsHeap: critical_section checked
                => audit_alloc_critical_section, audit_free_critical_section,
        });
    };
}
