//! The heaps the fuzzer runs against, and [`Target`], the one interface the harness uses for
//! all of them: `Heap`, `GlobalAlloc`, allocator-api2 (through `&Heap`) and, with
//! `waiters: K`, `allocate_wait`, each through the public API only.
//!
//! Every heap reports to [`FuzzHooks`], so the model learns which pool served each block.
//! Between them the declarations cover: every sync mode (`local`, `critical_section`, `spin`,
//! `lock_free`), validation on and off, `spill` on and off, `stats: false`, pools whose block
//! size is not a power of two (so some blocks happen to be more aligned than their pool), a
//! 4096-byte pool above an 8-byte one, and `waiters: 1..=3` in the locked modes.

use std::alloc::{GlobalAlloc, Layout};
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;

use detalloc::allocator_api2::alloc::Allocator;
use detalloc::{Heap, PoolSpec, detalloc};

use crate::ctx::FuzzHooks;

/// A waiting allocation, type-erased: the block, or `None` for `Err`.
pub type WaitFuture<'a> = Pin<Box<dyn Future<Output = Option<NonNull<u8>>> + 'a>>;

/// What the model and the generator need to know about a heap's declaration.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// The type name.
    pub name: &'static str,
    /// `POOLS`.
    pub pools: &'static [PoolSpec],
    /// `spill: true`.
    pub spill: bool,
    /// `validate: true`.
    pub validate: bool,
    /// `stats: true`.
    pub stats: bool,
    /// `waiters: K`.
    pub waiters: usize,
    /// The sync mode.
    pub sync: &'static str,
}

/// A declared heap, as the harness drives it.
pub trait Target: Heap + GlobalAlloc + Sized + 'static {
    /// The declaration.
    const SHAPE: Shape;

    /// A new, empty heap (`new()`).
    fn fresh() -> Self;

    /// `allocate_wait(layout)` (`None` without waiters).
    fn wait(&self, layout: Layout) -> Option<WaitFuture<'_>>;

    /// allocator-api2 `allocate` (or `allocate_zeroed`).
    fn api2_allocate(&self, layout: Layout, zeroed: bool) -> Option<NonNull<[u8]>>;

    /// allocator-api2 `deallocate`.
    ///
    /// # Safety
    /// As `Allocator::deallocate`: `ptr` is a live block of this heap that `layout` fits.
    unsafe fn api2_deallocate(&self, ptr: NonNull<u8>, layout: Layout);

    /// allocator-api2 `grow` (or `grow_zeroed`).
    ///
    /// # Safety
    /// As `Allocator::grow`: `ptr` is a live block for `old`, `new.size() >= old.size()`.
    unsafe fn api2_grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        zeroed: bool,
    ) -> Option<NonNull<[u8]>>;

    /// allocator-api2 `shrink`.
    ///
    /// # Safety
    /// As `Allocator::shrink`: `ptr` is a live block for `old`, `new.size() <= old.size()`.
    unsafe fn api2_shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Option<NonNull<[u8]>>;
}

/// A heap placed at a chosen address modulo 4096 (the largest alignment a request can ask),
/// so a case sees the same block addresses modulo every alignment on every run: whether a
/// block "happens" to be more aligned than its pool is part of the case, not luck.
pub struct Placed<H: Target> {
    /// Where the heap is. (No reference is kept here: the heap is dropped through this
    /// pointer, which a reference passed along with it would forbid.)
    slot: NonNull<H>,
    memory: NonNull<u8>,
    layout: Layout,
}

impl<H: Target> Placed<H> {
    /// The heap; futures and callbacks borrow it until it is [`reclaim`]ed.
    pub fn heap(&self) -> &'static H {
        // SAFETY: `place` initialised the heap at `slot`, and it stays there, never moved or
        // written through `slot`, until `reclaim` (whose caller promises no reference is used
        // after it).
        unsafe { self.slot.as_ref() }
    }
}

/// A new heap at an address that is `at` modulo 4096 (rounded down to the heap's alignment).
pub fn place<H: Target>(at: usize) -> Placed<H> {
    let align = std::mem::align_of::<H>();
    let offset = (at % 4096) / align * align;
    // 4096 bytes for the offset, and at least 4096 more after the heap: a heap that reports a
    // region longer than its block (a defect the fuzzer looks for) and writes it, as
    // `grow_zeroed` does, overruns into this slack, not into someone else's memory.
    let layout = Layout::from_size_align(std::mem::size_of::<H>() + 8192, 4096).expect("a layout");
    // SAFETY: the layout has a non-zero size.
    let memory = NonNull::new(unsafe { std::alloc::alloc(layout) }).expect("memory for a heap");
    // SAFETY: `offset + size_of::<H>()` lies inside the allocation, and `memory + offset` is
    // aligned for `H` (4096 and `offset` are multiples of its alignment).
    let slot = unsafe {
        let slot = memory.add(offset).cast::<H>();
        slot.write(H::fresh());
        slot
    };
    Placed { slot, memory, layout }
}

/// Drops and frees a heap made by [`place`].
///
/// # Safety
/// Nothing refers to the heap any more (no future, no installed context, no block in use).
pub unsafe fn reclaim<H: Target>(placed: Placed<H>) {
    // SAFETY: `place` wrote the heap there and allocated `memory` with `layout`; the caller
    // promises nothing uses it any more.
    unsafe {
        std::ptr::drop_in_place(placed.slot.as_ptr());
        std::alloc::dealloc(placed.memory.as_ptr(), placed.layout);
    }
}

/// Something to do with one heap type, chosen by name at run time.
pub trait Visit {
    /// The result.
    type Out;
    /// Does it with heap type `H`.
    fn visit<H: Target>(self) -> Self::Out;
}

/// Something to do with one thread-safe heap type, chosen by name at run time.
pub trait VisitShared {
    /// The result.
    type Out;
    /// Does it with heap type `H`.
    fn visit<H: Target + Sync>(self) -> Self::Out;
}

macro_rules! wait_impl {
    (0, $heap:ident, $layout:ident) => {{
        let _ = ($heap, $layout);
        None
    }};
    ($k:literal, $heap:ident, $layout:ident) => {
        Some(Box::pin(async move { $heap.allocate_wait($layout).await.ok() }))
    };
}

macro_rules! target {
    ($name:ident { pools: [$($pools:tt)*], sync: $sync:ident, spill: $spill:literal,
        validate: $validate:literal, stats: $stats:literal, waiters: $k:tt }) => {
        detalloc! {
            #[doc = concat!("Fuzzed heap `", stringify!($name), "`.")]
            pub struct $name<
                pools: [$($pools)*],
                sync: $sync,
                spill: $spill,
                validate: $validate,
                stats: $stats,
                waiters: $k,
                hooks: FuzzHooks,
            >;
        }

        impl Target for $name {
            const SHAPE: Shape = Shape {
                name: stringify!($name),
                pools: $name::POOLS,
                spill: $spill,
                validate: $validate,
                stats: $stats,
                waiters: $k,
                sync: stringify!($sync),
            };

            fn fresh() -> Self {
                $name::new()
            }

            fn wait(&self, layout: Layout) -> Option<WaitFuture<'_>> {
                wait_impl!($k, self, layout)
            }

            fn api2_allocate(&self, layout: Layout, zeroed: bool) -> Option<NonNull<[u8]>> {
                let result = if zeroed {
                    Allocator::allocate_zeroed(&self, layout)
                } else {
                    Allocator::allocate(&self, layout)
                };
                result.ok()
            }

            unsafe fn api2_deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
                // SAFETY: the caller's promise.
                unsafe { Allocator::deallocate(&self, ptr, layout) }
            }

            unsafe fn api2_grow(
                &self,
                ptr: NonNull<u8>,
                old: Layout,
                new: Layout,
                zeroed: bool,
            ) -> Option<NonNull<[u8]>> {
                // SAFETY: the caller's promise.
                let result = unsafe {
                    if zeroed {
                        Allocator::grow_zeroed(&self, ptr, old, new)
                    } else {
                        Allocator::grow(&self, ptr, old, new)
                    }
                };
                result.ok()
            }

            unsafe fn api2_shrink(
                &self,
                ptr: NonNull<u8>,
                old: Layout,
                new: Layout,
            ) -> Option<NonNull<[u8]>> {
                // SAFETY: the caller's promise.
                unsafe { Allocator::shrink(&self, ptr, old, new) }.ok()
            }
        }
    };
}

macro_rules! heaps {
    (single: [$($single:ident { $($s:tt)* })*] shared: [$($shared:ident { $($t:tt)* })*]) => {
        $(target!($single { $($s)* });)*
        $(target!($shared { $($t)* });)*

        /// The heaps of the single-thread fuzz test.
        pub const SINGLE: &[&str] = &[$(stringify!($single)),*];
        /// The heaps of the multi-thread fuzz test.
        pub const SHARED: &[&str] = &[$(stringify!($shared)),*];

        /// Runs `v` with the heap type named `name` (any heap); `None` for an unknown name.
        pub fn with_heap<V: Visit>(name: &str, v: V) -> Option<V::Out> {
            match name {
                $(stringify!($single) => Some(v.visit::<$single>()),)*
                $(stringify!($shared) => Some(v.visit::<$shared>()),)*
                _ => None,
            }
        }

        /// Runs `v` with the thread-safe heap type named `name` (a `SHARED` heap).
        pub fn with_shared<V: VisitShared>(name: &str, v: V) -> Option<V::Out> {
            match name {
                $(stringify!($shared) => Some(v.visit::<$shared>()),)*
                _ => None,
            }
        }
    };
}

heaps! {
    single: [
        // Defect 1's pools: a 96-byte block 0 is 128-aligned, so a shrink to an alignment of
        // 128 selects the 128-byte pool while the block stays where it is.
        Api96 { pools: [96 x 4, 128 x 1], sync: local, spill: false, validate: true, stats: true, waiters: 0 }
        Spill64 { pools: [64 x 1, 96 x 4], sync: local, spill: true, validate: true, stats: true, waiters: 0 }
        Big4096 { pools: [8 x 4, 4096 x 1], sync: local, spill: false, validate: true, stats: true, waiters: 0 }
        Lean { pools: [16 x 4, 48 x 2, 256 x 2], sync: local, spill: false, validate: false, stats: true, waiters: 0 }
        NoStats { pools: [16 x 2, 64 x 2], sync: local, spill: true, validate: true, stats: false, waiters: 0 }
        LocalWait { pools: [16 x 2, 64 x 2], sync: local, spill: false, validate: true, stats: true, waiters: 3 }
        LocalWait1 { pools: [16 x 1, 64 x 1], sync: local, spill: false, validate: true, stats: true, waiters: 1 }
        CsWait { pools: [32 x 2, 96 x 2], sync: critical_section, spill: false, validate: true, stats: true, waiters: 2 }
        CsSpillWait { pools: [16 x 1, 64 x 1], sync: critical_section, spill: true, validate: false, stats: true, waiters: 2 }
        SpinWait { pools: [16 x 2, 64 x 1], sync: spin, spill: false, validate: true, stats: true, waiters: 3 }
        LockFree { pools: [16 x 3, 96 x 2, 128 x 1], sync: lock_free, spill: false, validate: true, stats: true, waiters: 0 }
        SpinLean { pools: [8 x 4, 4096 x 1], sync: spin, spill: false, validate: false, stats: true, waiters: 0 }
    ]
    shared: [
        MtSpin { pools: [16 x 4, 64 x 2, 96 x 2], sync: spin, spill: false, validate: true, stats: true, waiters: 0 }
        MtCs { pools: [16 x 4, 64 x 2], sync: critical_section, spill: true, validate: false, stats: true, waiters: 0 }
        MtLockFree { pools: [16 x 4, 64 x 2, 96 x 2], sync: lock_free, spill: false, validate: true, stats: true, waiters: 0 }
        MtLockFreeLean { pools: [16 x 2, 128 x 2], sync: lock_free, spill: true, validate: false, stats: true, waiters: 0 }
    ]
}
