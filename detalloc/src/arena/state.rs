//! What an arena keeps between scopes: its buffer ([`ArenaBuffer`]) and its shared state
//! ([`ArenaState`]: the committed top, the open-scope flag, the counters) behind the lock of
//! its sync mode; the bump itself ([`bump`]); the WCET stopwatch ([`Stopwatch`]).

use core::alloc::Layout;
use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::NonNull;
use core::sync::atomic::{Ordering, compiler_fence};

use crate::Clock;
use crate::pool::buffer::Align;
use crate::sync::{Lock, SharedLock, new_lock};

/// `N` bytes aligned to `A::ALIGN`, uninitialised until handed out. The arena writes into it
/// only to poison memory a scope gave back (`poison:`).
#[repr(C)]
pub struct ArenaBuffer<const N: usize, A: Align> {
    _align: [A; 0],
    bytes: UnsafeCell<MaybeUninit<[u8; N]>>,
}

impl<const N: usize, A: Align> ArenaBuffer<N, A> {
    /// Uninitialised storage; writes nothing.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self { _align: [], bytes: UnsafeCell::new(MaybeUninit::uninit()) }
    }

    /// The first byte. Every pointer the arena hands out is derived from it, so it carries the
    /// whole buffer's provenance.
    #[inline(always)]
    pub fn base(&self) -> NonNull<u8> {
        // SAFETY: `UnsafeCell::get` never returns null.
        unsafe { NonNull::new_unchecked(self.bytes.get().cast::<u8>()) }
    }
}

impl<const N: usize, A: Align> core::fmt::Debug for ArenaBuffer<N, A> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ArenaBuffer({N} B, align {})", A::ALIGN)
    }
}

// SAFETY: the bytes are only reached through pointers the arena hands out, to the one context
// whose scope (or raw allocation) owns them; the buffer holds no thread-affine state.
unsafe impl<const N: usize, A: Align> Sync for ArenaBuffer<N, A> {}

/// The bump: where a block for `layout` starts at or after `cursor` in a buffer of `capacity`
/// bytes at address `base`, and where it ends (the new cursor). `None` when it does not fit.
/// Align-up and one bounds check: no loop, no table.
///
/// No addition overflows (they wrap only to keep debug builds free of overflow checks):
/// `cursor <= capacity <= isize::MAX` (the macro checks the capacity for the target), and
/// `pad + size <= (align - 1) + size <= isize::MAX` (a `Layout`'s invariant), so
/// `cursor + pad + size <= 2 * isize::MAX < usize::MAX`.
#[inline(always)]
pub fn bump(base: usize, cursor: usize, capacity: usize, layout: Layout) -> Option<(usize, usize)> {
    let pad = base.wrapping_add(cursor).wrapping_neg() & (layout.align() - 1);
    let start = cursor.wrapping_add(pad);
    let end = start.wrapping_add(layout.size());
    if end <= capacity { Some((start, end)) } else { None }
}

/// The shared record of an arena, all zero when empty.
#[derive(Debug, Clone, Copy)]
pub struct Record {
    /// Bytes below the top: raw allocations (outside every scope). A scope starts here.
    pub top: usize,
    /// A scope is open: its context owns the bytes above `top` until it closes.
    pub open: bool,
    /// The high-water mark, bytes.
    pub peak: usize,
    /// Successful allocations (closed scopes and raw).
    pub allocs: u64,
    /// Allocations answered with `Err`.
    pub failures: u64,
    /// Top-level scopes closed.
    pub scopes: u64,
    /// Scopes, raw allocations and resets refused because a scope was open.
    pub busy: u64,
    /// The longest measured allocation, in ticks (0 without `wcet`).
    pub wcet: u64,
}

impl Record {
    const ZERO: Self = Record {
        top: 0,
        open: false,
        peak: 0,
        allocs: 0,
        failures: 0,
        scopes: 0,
        busy: 0,
        wcet: 0,
    };
}

/// An arena's state behind the lock `L` of its sync mode. The lock is taken only to open or
/// close a top-level scope, for a raw allocation or a reset, and to read the statistics:
/// allocation inside a scope takes no lock (the scope owns the bytes above `top`).
pub struct ArenaState<L: Lock> {
    lock: L,
    record: UnsafeCell<Record>,
}

impl<L: Lock> ArenaState<L> {
    /// The empty state (all-zero bytes).
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self { lock: new_lock::<L>(), record: UnsafeCell::new(Record::ZERO) }
    }

    /// Runs `f` on the record under the lock. `f` never calls user code.
    #[inline(always)]
    pub fn with<R>(&self, f: impl FnOnce(&mut Record) -> R) -> R {
        self.lock.with(|| {
            // SAFETY: `Lock::with` gives this closure exclusive access among every `with` on
            // this lock (the type is `!Sync` for `local`), and `with` is the only path to the
            // record besides `get_mut`, which needs `&mut self`; `f` does not re-enter.
            f(unsafe { &mut *self.record.get() })
        })
    }

    /// The record, through exclusive access (no lock needed).
    #[inline(always)]
    pub fn get_mut(&mut self) -> &mut Record {
        self.record.get_mut()
    }
}

impl<L: Lock> core::fmt::Debug for ArenaState<L> {
    /// Does not take the lock (a `Debug` call may come from anywhere): the figures are read
    /// with `Arena::stats`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ArenaState").finish_non_exhaustive()
    }
}

// SAFETY: the record is only reached inside `SharedLock::with`, which excludes other threads
// and interrupt handlers with acquire/release ordering.
unsafe impl<L: SharedLock> Sync for ArenaState<L> {}

/// Measures allocations for `wcet:`: [`NoWcet`] reads nothing.
pub trait Stopwatch {
    /// Whether anything is measured.
    const ON: bool;
    /// Reads the clock at the start of an allocation (fenced after).
    fn start() -> u64;
    /// Ticks since `start` (fenced before the read).
    fn stop(start: u64) -> u64;
}

/// No WCET measurement.
#[derive(Debug)]
pub struct NoWcet;

impl Stopwatch for NoWcet {
    const ON: bool = false;
    #[inline(always)]
    fn start() -> u64 {
        0
    }
    #[inline(always)]
    fn stop(_: u64) -> u64 {
        0
    }
}

/// WCET measurement with clock `C`.
#[derive(Debug)]
pub struct Wcet<C: Clock>(PhantomData<fn() -> C>);

impl<C: Clock> Stopwatch for Wcet<C> {
    const ON: bool = true;
    #[inline(always)]
    fn start() -> u64 {
        let mark = C::now();
        compiler_fence(Ordering::SeqCst);
        mark
    }
    #[inline(always)]
    fn stop(start: u64) -> u64 {
        compiler_fence(Ordering::SeqCst);
        C::elapsed(start, C::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bump_aligns_and_bounds() {
        let l = |s, a| Layout::from_size_align(s, a).unwrap();
        assert_eq!(bump(0x1000, 0, 64, l(8, 8)), Some((0, 8)));
        assert_eq!(bump(0x1000, 1, 64, l(8, 8)), Some((8, 16)));
        assert_eq!(bump(0x1001, 0, 64, l(4, 4)), Some((3, 7)));
        assert_eq!(bump(0x1000, 60, 64, l(4, 4)), Some((60, 64)));
        assert_eq!(bump(0x1000, 61, 64, l(4, 4)), None);
        assert_eq!(bump(0x1000, 64, 64, l(0, 1)), Some((64, 64)));
        assert_eq!(bump(0x1000, 1, 64, l(0, 4096)), None);
        let huge = l(isize::MAX as usize - 4095, 4096);
        assert_eq!(bump(0x1000, 64, 64, huge), None);
    }
}
