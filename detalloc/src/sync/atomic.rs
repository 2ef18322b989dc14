//! The atomics the shared modes use, from `core` or (under `--cfg loom`) from `loom`, so the
//! loom models explore the real lock and lock-free stack. Also the tagged head's width for
//! this target.

// Without compare-and-swap (thumbv6m) only the cells are used: `spin` and `lock_free` are
// compile errors there.
#![cfg_attr(not(target_has_atomic = "32"), allow(unused_imports, dead_code))]

#[cfg(loom)]
pub use loom::sync::atomic::{AtomicU32, Ordering};

#[cfg(not(loom))]
pub use core::sync::atomic::{AtomicU32, Ordering};

/// The lock-free head: `index + 1` in the low bits, a tag in the high bits. 64 bits (32 + 32)
/// where the target has 64-bit compare-and-swap.
#[cfg(all(target_has_atomic = "64", not(loom)))]
pub use core::sync::atomic::AtomicU64 as AtomicHead;
#[cfg(all(target_has_atomic = "64", loom))]
pub use loom::sync::atomic::AtomicU64 as AtomicHead;
/// The head's integer type.
#[cfg(target_has_atomic = "64")]
pub type HeadWord = u64;
/// Bits of the head that hold `index + 1`.
#[cfg(target_has_atomic = "64")]
pub const HEAD_INDEX_BITS: u32 = 32;

/// With only 32-bit compare-and-swap the head is 16-bit index + 16-bit tag.
#[cfg(all(target_has_atomic = "32", not(target_has_atomic = "64")))]
pub use AtomicU32 as AtomicHead;
/// The head's integer type.
#[cfg(all(target_has_atomic = "32", not(target_has_atomic = "64")))]
pub type HeadWord = u32;
/// Bits of the head that hold `index + 1`.
#[cfg(all(target_has_atomic = "32", not(target_has_atomic = "64")))]
pub const HEAD_INDEX_BITS: u32 = 16;

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
    #[cfg(not(loom))]
    cell: core::cell::UnsafeCell<T>,
    #[cfg(loom)]
    cell: loom::cell::UnsafeCell<T>,
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
