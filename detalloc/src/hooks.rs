//! Per-heap event hooks (`hooks: MyHooks` in the declaration).
//!
//! The hooks type is never instantiated: its functions are associated functions, called
//! after the pool's lock is released, with no global state anywhere. A heap declared without
//! `hooks` uses [`NoHooks`], whose empty functions inline to nothing.

use core::alloc::Layout;
use core::ptr::NonNull;

use crate::FreeError;

/// Event hooks of one heap. Every function has an empty default.
///
/// ```
/// use core::alloc::Layout;
/// use core::ptr::NonNull;
/// use core::sync::atomic::{AtomicUsize, Ordering};
/// use detalloc::{detalloc, Heap, Hooks};
///
/// static FAILED: AtomicUsize = AtomicUsize::new(0);
/// struct CountFailures;
/// impl Hooks for CountFailures {
///     fn on_fail(_layout: Layout) {
///         FAILED.fetch_add(1, Ordering::Relaxed);
///     }
/// }
///
/// detalloc! { struct Tiny<pools: [16 x 1], hooks: CountFailures>; }
/// let heap = Tiny::new();
/// let layout = Layout::new::<u64>();
/// let _kept = heap.allocate(layout).unwrap();
/// assert!(heap.allocate(layout).is_err());
/// assert_eq!(FAILED.load(Ordering::Relaxed), 1);
/// ```
pub trait Hooks {
    /// A block of pool `pool` was handed out for `layout`.
    #[inline(always)]
    fn on_alloc(pool: usize, ptr: NonNull<u8>, layout: Layout) {
        let _ = (pool, ptr, layout);
    }

    /// A block of pool `pool` came back.
    #[inline(always)]
    fn on_free(pool: usize, ptr: NonNull<u8>, layout: Layout) {
        let _ = (pool, ptr, layout);
    }

    /// An allocation for `layout` failed (no pool fits, or exhausted).
    #[inline(always)]
    fn on_fail(layout: Layout) {
        let _ = layout;
    }

    /// A free of `ptr` with `layout` was refused with `error`.
    #[inline(always)]
    fn on_invalid_free(ptr: NonNull<u8>, layout: Layout, error: FreeError) {
        let _ = (ptr, layout, error);
    }
}

/// No hooks (the default): every function is empty.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl Hooks for NoHooks {}
