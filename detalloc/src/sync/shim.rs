//! The atomics and cells the shared modes use: `core`'s, or (under `--cfg loom`) `loom`'s, so
//! the loom models in `tests/loom.rs` explore the real locks and the real lock-free stack.

// Without compare-and-swap (thumbv6m) only the cells are used: `spin` and `lock_free` are
// compile errors there.
#![cfg_attr(not(target_has_atomic = "32"), allow(unused_imports, dead_code))]
#![cfg_attr(not(detalloc_lock_free), allow(dead_code))]

#[cfg(all(loom, target_has_atomic = "64"))]
pub use loom::sync::atomic::AtomicU64;
#[cfg(loom)]
pub use loom::sync::atomic::{AtomicU32, Ordering};

#[cfg(all(not(loom), target_has_atomic = "64"))]
pub use core::sync::atomic::AtomicU64;
#[cfg(not(loom))]
pub use core::sync::atomic::{AtomicU32, Ordering};

/// A spin-wait hint (loom's, so a model explores the other threads while one waits).
#[inline(always)]
pub fn spin_loop() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    core::hint::spin_loop();
}

/// `N` zeroed atomics.
#[cfg(not(loom))]
pub const fn zeroed<const N: usize>() -> [AtomicU32; N] {
    [const { AtomicU32::new(0) }; N]
}

/// `N` zeroed atomics.
#[cfg(loom)]
pub fn zeroed<const N: usize>() -> [AtomicU32; N] {
    core::array::from_fn(|_| AtomicU32::new(0))
}

/// Declares `fn`s that are `const` in normal builds and plain under `--cfg loom` (loom's
/// atomics and cells have no `const` constructors).
macro_rules! loom_const_fn {
    ($($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block)*) => {$(
        #[cfg(not(loom))]
        $(#[$meta])*
        $vis const fn $name($($arg: $ty),*) -> $ret $body
        #[cfg(loom)]
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) -> $ret $body
    )*};
}
pub(crate) use loom_const_fn;

/// A cell for state guarded by a lock: `core::cell::UnsafeCell`, or loom's, which checks
/// that accesses really are exclusive.
pub struct StateCell<T> {
    cell: StateCellInner<T>,
}

impl<T> StateCell<T> {
    loom_const_fn! {
        /// A cell holding `value`.
        pub fn new(value: T) -> Self {
            Self { cell: StateCellInner::new(value) }
        }
    }

    /// Runs `f` with a pointer to the value.
    #[inline(always)]
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        #[cfg(not(loom))]
        {
            f(self.cell.get())
        }
        #[cfg(loom)]
        {
            self.cell.with_mut(f)
        }
    }
}

#[cfg(not(loom))]
type StateCellInner<T> = core::cell::UnsafeCell<T>;
#[cfg(loom)]
type StateCellInner<T> = loom::cell::UnsafeCell<T>;
