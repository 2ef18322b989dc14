//! The deterministic arena: scratch memory with O(1) allocation and O(1) reset, declared with
//! [`detalloc!`](crate::detalloc!) like the pools (`arena: 64 KiB`), whose allocations cannot
//! outlive the scope that made them.
//!
//! ```
//! use detalloc::arena::Arena;
//!
//! detalloc::detalloc! {
//!     /// Scratch for one audio callback: 16 KiB, the buffer 64-byte aligned.
//!     pub static SCRATCH: Scratch<arena: 16 KiB align 64, sync: spin>;
//! }
//!
//! let peak = SCRATCH.try_scope(|s| {
//!     let frames = s.alloc_slice_fill_with(256, |i| i as f32 / 256.0).unwrap();
//!     let names = s.alloc_str("reverb").unwrap();
//!     assert_eq!(names.len(), 6);
//!     frames.len()
//! });
//! assert_eq!(peak, Ok(256));
//! assert_eq!(SCRATCH.stats().used, 0);          // the scope is closed: all of it is back
//! assert_eq!(SCRATCH.stats().peak, 1030);       // 1024 B of frames + 6 B of name
//! ```
//!
//! The chapter [`guide::arena`](crate::guide::arena) gives the semantics: the grammar, the
//! scope rules and why they are sound, sync modes, statistics, poisoning, allocator-api2.

mod api2;
mod fallback;
mod report;
mod scope;
mod state;

use core::alloc::Layout;
use core::fmt;
use core::ptr::NonNull;

pub use report::ArenaReport;
pub use scope::{POISON, Scope};
#[doc(hidden)]
pub use state::{ArenaBuffer, ArenaState, NoWcet, Stopwatch, Wcet};

use crate::AllocError;
use crate::sync::Lock;
use state::bump;

/// A scope could not open (or a raw allocation or reset was refused) because a scope of the
/// same arena is open, in this context or another (an interrupt handler, another thread).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ScopeBusy;

impl fmt::Display for ScopeBusy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scope of this arena is open")
    }
}

/// An arena's figures (see [`Arena::stats`]). Counters are 0 with `stats: false`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ArenaStats {
    /// The buffer's size in bytes.
    pub capacity: usize,
    /// Bytes held by raw allocations ([`Arena::allocate`]), outside every scope. While a
    /// scope is open its own bytes are not counted here: [`Scope::used`] has them.
    pub used: usize,
    /// The high-water mark in bytes: the most ever in use at once, scopes' allocations
    /// included (updated when a scope closes), alignment padding included.
    pub peak: usize,
    /// Successful allocations (of closed scopes, and raw).
    pub allocs: u64,
    /// Allocations answered with `Err`: the arena was full, or (raw) a scope was open.
    pub failures: u64,
    /// Top-level scopes closed.
    pub scopes: u64,
    /// Scopes, raw allocations and resets refused because a scope was open.
    pub busy: u64,
    /// Whether a scope is open now.
    pub open: bool,
    /// The longest measured allocation in ticks of the `wcet:` clock (0 without `wcet`).
    pub wcet_alloc_ticks: u64,
}

/// What [`detalloc!`](crate::detalloc!) generates for an arena declaration: scopes, raw
/// allocation and reset, statistics. Every method is provided; the declaration supplies the
/// hidden items (the buffer, the state, the configuration).
///
/// # Safety
/// Implemented by the macro. An implementation must give, from `__base`, the start of a
/// buffer of `CAPACITY` bytes (at most `isize::MAX`) that nothing but this arena uses, the same
/// on every call, and from `__state` the same state on every call.
pub unsafe trait Arena: Sized {
    /// The buffer's size in bytes.
    const CAPACITY: usize;
    /// The buffer's alignment (`arena: SIZE align A`; 16 when not declared).
    const ALIGN: usize;
    /// The declaration, in one line.
    const SUMMARY: &'static str;
    #[doc(hidden)]
    const __STATS: bool;
    #[doc(hidden)]
    const __POISON: bool;
    #[doc(hidden)]
    type __Lock: Lock;
    #[doc(hidden)]
    type __Wcet: Stopwatch;
    #[doc(hidden)]
    fn __base(&self) -> NonNull<u8>;
    #[doc(hidden)]
    fn __state(&self) -> &ArenaState<Self::__Lock>;
    #[doc(hidden)]
    fn __state_mut(&mut self) -> &mut ArenaState<Self::__Lock>;

    /// Opens a scope, runs `f` in it and closes it: everything allocated in it goes back, in
    /// O(1). Refused with [`ScopeBusy`] when a scope of this arena is open already (in this
    /// context, or in another one that this one interrupted); `f` then does not run.
    ///
    /// The open-scope flag is set and cleared under the arena's lock (the sync mode's), and
    /// cleared even if `f` panics. Nothing else takes the lock while the scope is open.
    ///
    /// ```
    /// use detalloc::arena::{Arena, ScopeBusy};
    ///
    /// detalloc::detalloc! { static ARENA: Scratch<arena: 1 KiB, sync: spin>; }
    ///
    /// let nested = ARENA.try_scope(|s| {
    ///     let x = s.alloc(41u32).unwrap();
    ///     *x += 1;
    ///     // The same arena cannot open a second, independent scope meanwhile.
    ///     (*x, ARENA.try_scope(|_| ()))
    /// });
    /// assert_eq!(nested, Ok((42, Err(ScopeBusy))));
    /// ```
    fn try_scope<R>(
        &self,
        f: impl for<'s> FnOnce(&mut Scope<'s, Self>) -> R,
    ) -> Result<R, ScopeBusy> {
        let top = self.__state().with(|r| {
            if r.open {
                if Self::__STATS {
                    r.busy = r.busy.wrapping_add(1);
                }
                None
            } else {
                r.open = true;
                Some(r.top)
            }
        });
        let Some(top) = top else { return Err(ScopeBusy) };
        let mut open = Open(Scope::new(self, top));
        Ok(f(&mut open.0))
    }

    /// Opens a scope on an arena this context holds exclusively (a local variable, a field, a
    /// `Box`): as [`try_scope`](Arena::try_scope), but it cannot be refused (`&mut self` proves
    /// that no scope is open: a scope borrows its arena for as long as it is open).
    fn scope<R>(&mut self, f: impl for<'s> FnOnce(&mut Scope<'s, Self>) -> R) -> R {
        let record = self.__state_mut().get_mut();
        record.open = true;
        let top = record.top;
        let mut open = Open(Scope::new(&*self, top));
        f(&mut open.0)
    }

    /// A raw allocation outside every scope: valid until [`reset`](Arena::reset), which only
    /// `unsafe` code can call. Refused (`Err`, counted in `failures` and `busy`) while a scope
    /// is open. Scopes opened later start above it.
    ///
    /// ```
    /// use core::alloc::Layout;
    /// use detalloc::arena::Arena;
    ///
    /// detalloc::detalloc! { struct Frame<arena: 256>; }
    ///
    /// let arena = Frame::new();
    /// let a = arena.allocate(Layout::new::<u64>()).unwrap();
    /// assert_eq!((a.len(), arena.stats().used), (8, 8));
    /// // SAFETY: `a` is not used after the reset.
    /// unsafe { arena.reset() }.unwrap();
    /// assert_eq!(arena.stats().used, 0);
    /// ```
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let base = self.__base();
        let mark = Self::__Wcet::start();
        let start = self.__state().with(|r| {
            let found = if r.open {
                if Self::__STATS {
                    r.busy = r.busy.wrapping_add(1);
                }
                None
            } else {
                bump(base.as_ptr().addr(), r.top, Self::CAPACITY, layout)
            };
            if let Some((_, end)) = found {
                r.top = end;
            }
            if Self::__STATS {
                match found {
                    Some(_) => {
                        r.allocs = r.allocs.wrapping_add(1);
                        r.peak = r.peak.max(r.top);
                    }
                    None => r.failures = r.failures.wrapping_add(1),
                }
            }
            found.map(|(start, _)| start)
        });
        if Self::__Wcet::ON {
            let ticks = Self::__Wcet::stop(mark);
            self.__state().with(|r| r.wcet = r.wcet.max(ticks));
        }
        let start = start.ok_or(AllocError)?;
        // SAFETY: `start + layout.size() <= CAPACITY` (the bump's check): inside the buffer,
        // or one past its end for a zero-sized block.
        let block = unsafe { base.add(start) };
        Ok(NonNull::slice_from_raw_parts(block, layout.size()))
    }

    /// Gives back every raw allocation at once (O(1); with `poison` on, the bytes are
    /// overwritten first, which is O(bytes)). Refused with [`ScopeBusy`] while a scope is
    /// open: a scope's references are safe code's, and a reset under them would hand their
    /// memory out again.
    ///
    /// # Safety
    /// No pointer returned by [`allocate`](Arena::allocate) on this arena before this call may
    /// be used after it (the memory will be handed out again).
    unsafe fn reset(&self) -> Result<(), ScopeBusy> {
        let top = self.__state().with(|r| {
            if r.open {
                if Self::__STATS {
                    r.busy = r.busy.wrapping_add(1);
                }
                return None;
            }
            let top = r.top;
            r.top = 0;
            // Poisoning runs outside the lock: the flag keeps every other context out.
            r.open = Self::__POISON;
            Some(top)
        });
        let top = top.ok_or(ScopeBusy)?;
        if Self::__POISON {
            // SAFETY: bytes `0..top` of the buffer held raw allocations, which the caller
            // promises are no longer used; the flag set above keeps other contexts out.
            unsafe { core::ptr::write_bytes(self.__base().as_ptr(), POISON, top) };
            self.__state().with(|r| r.open = false);
        }
        Ok(())
    }

    /// A snapshot of the figures.
    fn stats(&self) -> ArenaStats {
        let r = self.__state().with(|r| *r);
        ArenaStats {
            capacity: Self::CAPACITY,
            used: r.top,
            peak: r.peak,
            allocs: r.allocs,
            failures: r.failures,
            scopes: r.scopes,
            busy: r.busy,
            open: r.open,
            wcet_alloc_ticks: r.wcet,
        }
    }

    /// Counters and the longest allocation to 0, the peak to what is used now.
    fn reset_stats(&self) {
        self.__state().with(|r| {
            r.peak = r.top;
            (r.allocs, r.failures, r.scopes, r.busy, r.wcet) = (0, 0, 0, 0, 0);
        });
    }

    /// The summary line and the figures, for `Display`:
    ///
    /// ```text
    /// Scratch: arena 16384 B (align 64) + 48 B metadata, sync=critical_section stats=on poison=off
    /// used 0 of 16384 B (peak 1030 B); 2 allocs, 0 failures; 1 scopes, 0 refused
    /// ```
    fn report(&self) -> ArenaReport<'_, Self> {
        ArenaReport::new(self)
    }
}

/// A top-level scope until it closes: closing (on return or unwind) poisons what it used, folds
/// its counters into the record and clears the flag, in that order (once the flag is clear
/// another context may allocate, so nothing may touch the bytes after).
struct Open<'s, A: Arena>(Scope<'s, A>);

impl<A: Arena> Drop for Open<'_, A> {
    fn drop(&mut self) {
        let scope = &self.0;
        let (mark, end, peak) = (scope.mark(), scope.used(), scope.peak());
        if A::__POISON {
            scope.poison(mark, end);
        }
        let (allocs, failures, wcet) = scope.counters();
        scope.arena().__state().with(|r| {
            if A::__STATS {
                r.peak = r.peak.max(peak);
                r.allocs = r.allocs.wrapping_add(allocs);
                r.failures = r.failures.wrapping_add(failures);
                r.scopes = r.scopes.wrapping_add(1);
            }
            r.wcet = r.wcet.max(wcet);
            r.open = false;
        });
    }
}
