//! Synchronisation strategies, one module each, behind the small [`Lock`] trait.
//!
//! A pool keeps its state (free-list head, high-water mark, counters, bitmap) in an
//! `UnsafeCell` and touches it only inside [`Lock::with`]. The strategy decides what `with`
//! costs and whether the pool may be shared between threads ([`SharedLock`]).
//!
//! | mode               | type                  | shared | promise |
//! |--------------------|-----------------------|--------|---------|
//! | `local`            | [`Local`]             | no (`!Sync`) | no atomics, no waiting |
//! | `critical_section` | `CriticalSection`     | yes    | interrupts masked for one short, loop-free section |
//! | `spin`             | `Spin` (ticket lock)  | yes    | FIFO: waiting bounded by the contenders' critical sections |
//!
//! Each pool has its own lock; there is no global lock. `sync: lock_free` takes no lock at all:
//! its pools are the other pool kind (`pool::treiber`). [`shim`] holds the atomics and cells
//! both use, swapped for loom's under `--cfg loom`.

mod local;
pub mod shim;
#[cfg(target_has_atomic = "32")]
pub mod wide;
pub use local::Local;

#[cfg(target_has_atomic = "32")]
mod spin;
#[cfg(target_has_atomic = "32")]
pub use spin::Spin;
#[cfg(not(target_has_atomic = "32"))]
pub use unsupported::Unsupported as Spin;

#[cfg(feature = "critical-section")]
mod critical_section;
#[cfg(feature = "critical-section")]
pub use critical_section::CriticalSection;
#[cfg(not(feature = "critical-section"))]
pub use unsupported::Unsupported as CriticalSection;

#[cfg(any(not(target_has_atomic = "32"), not(feature = "critical-section")))]
mod unsupported;

/// Runs a closure with exclusive access to the state it guards.
///
/// # Safety
/// While `f` runs inside [`with`](Lock::with), no other call of `with` on the same lock may
/// run `f` (on any thread, or re-entered from an interrupt), unless the implementing type is
/// `!Sync` and `f` never re-enters. The state guarded is all-zero initialised: `INIT` must be
/// the all-zero value of the lock itself.
pub unsafe trait Lock {
    /// The unlocked lock (all-zero bytes).
    #[cfg(not(loom))]
    const INIT: Self;
    /// The unlocked lock (loom's atomics have no `const` constructor).
    #[cfg(loom)]
    fn init() -> Self;
    /// Runs `f` with exclusive access.
    fn with<R>(&self, f: impl FnOnce() -> R) -> R;
}

/// A [`Lock`] that excludes other threads and interrupt handlers, so the pool it guards may
/// be shared (`Sync`).
///
/// # Safety
/// [`Lock::with`] must give mutual exclusion across threads, with acquire/release ordering
/// between one holder's end and the next holder's start.
#[diagnostic::on_unimplemented(
    message = "a `sync: local` heap is not `Sync`: it cannot be a `static` or the `#[global_allocator]`",
    label = "a heap declared without `sync:` (or with `sync: local`) used where it is shared",
    note = "declare it with `sync: spin` (threads on their own cores), `sync: critical_section` (main code and interrupt handlers on one core) or `sync: lock_free`; or keep a `local` heap in one thread (a local variable, a `Box`, a `thread_local!`)"
)]
pub unsafe trait SharedLock: Lock + Sync {}

/// The unlocked `L`, in `const` context where the build allows it.
#[cfg(not(loom))]
pub const fn new_lock<L: Lock>() -> L {
    L::INIT
}

/// The unlocked `L`.
#[cfg(loom)]
pub fn new_lock<L: Lock>() -> L {
    L::init()
}

/// With the `critical-section` feature: nothing. Without: the error the macro's
/// `sync: critical_section` needs.
#[cfg(feature = "critical-section")]
#[doc(hidden)]
#[macro_export]
macro_rules! __critical_section_available {
    () => {};
}

/// With the `critical-section` feature: nothing. Without: the error the macro's
/// `sync: critical_section` needs.
#[cfg(not(feature = "critical-section"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __critical_section_available {
    () => {
        ::core::compile_error! {
            "`sync: critical_section` needs detalloc's `critical-section` feature: \
detalloc = { version = \"..\", features = [\"critical-section\"] }, \
and a critical-section implementation for the target"
        }
    };
}
