//! [`Scope`]: the handle through which a context allocates from an arena it owns for the
//! duration of a closure.
//!
//! The scope keeps its cursor in itself, not in the arena: while it is open, no other context
//! can open a scope, allocate raw or reset (the arena's flag says so, under its lock), so the
//! bytes above its start are its alone and allocating takes no lock, no atomic and no flag
//! check. Its counters are folded into the arena's record when it closes.

use core::alloc::Layout;
use core::cell::Cell;
use core::marker::PhantomData;
use core::ptr::{self, NonNull};

use super::Arena;
use super::state::{Stopwatch, bump};
use crate::AllocError;

/// The byte written over memory a scope gives back, with `poison` on.
pub const POISON: u8 = 0xA5;

/// An open scope of the arena `A`: everything it allocates lives until the closure that
/// received it returns, and not a moment longer.
///
/// `'s` is the scope's brand: references it hands out are `&'s mut T`, and the closure that
/// receives the scope is generic over `'s` (`for<'s> FnOnce(&mut Scope<'s, A>) -> R`), so
/// neither its result `R` nor any variable outside it can hold one: the borrow checker, not a
/// convention, keeps them inside. `'s` is invariant, so the references of two scopes never
/// unify. A nested scope ([`Scope::scope`]) borrows this one mutably for its whole life, so
/// this one cannot allocate (nor can a `Vec` or `Box` allocating through `&Scope`) while the
/// nested one is open: everything the nested scope rewinds over is its own.
///
/// `Scope` is neither `Send` nor `Sync`: its cursor is a plain cell, so `&Scope` shared between
/// threads would race; it is handed to the closure on the thread that opened it and stays there.
///
/// ```
/// use detalloc::arena::Arena;
///
/// detalloc::detalloc! { struct Scratch<arena: 4 KiB>; }
///
/// let mut arena = Scratch::new();
/// let sum = arena.scope(|s| {
///     let samples = s.alloc_slice_fill_with(64, |i| i as f32).unwrap();
///     let gain = s.alloc(0.5f32).unwrap();
///     samples.iter().map(|x| x * *gain).sum::<f32>()
/// });
/// assert_eq!(sum, 1008.0);
/// assert_eq!(arena.stats().used, 0); // everything went back when the scope closed
/// ```
pub struct Scope<'s, A: Arena> {
    arena: &'s A,
    base: NonNull<u8>,
    /// The cursor when this scope opened: it never goes below (a pop stops there).
    mark: usize,
    cursor: Cell<usize>,
    /// The highest cursor of the nested scopes closed so far (the peak is this or `cursor`).
    peak: Cell<usize>,
    allocs: Cell<u64>,
    failures: Cell<u64>,
    wcet: Cell<u64>,
    _brand: PhantomData<Brand<'s>>,
}

/// Invariant in `'s` (`fn(&'s ()) -> &'s ()`), neither `Send` nor `Sync` (`*mut ()`).
type Brand<'s> = (fn(&'s ()) -> &'s (), *mut ());

impl<'s, A: Arena> Scope<'s, A> {
    /// A scope owning the bytes of `arena` from `mark` up.
    pub(super) fn new(arena: &'s A, mark: usize) -> Self {
        Scope {
            arena,
            base: arena.__base(),
            mark,
            cursor: Cell::new(mark),
            peak: Cell::new(mark),
            allocs: Cell::new(0),
            failures: Cell::new(0),
            wcet: Cell::new(0),
            _brand: PhantomData,
        }
    }

    /// A block for `layout`: exactly `layout.size()` bytes, aligned to `layout.align()`, valid
    /// until this scope closes. Align-up and one bounds check; `Err` when the arena's bytes
    /// above the cursor do not hold it (counted in `failures`), never a panic.
    ///
    /// ```
    /// use core::alloc::Layout;
    /// use detalloc::arena::Arena;
    ///
    /// detalloc::detalloc! { struct Scratch<arena: 1 KiB>; }
    ///
    /// Scratch::new().scope(|s| {
    ///     let block = s.allocate(Layout::from_size_align(100, 64).unwrap()).unwrap();
    ///     assert_eq!((block.len(), block.cast::<u8>().as_ptr() as usize % 64), (100, 0));
    ///     assert!(s.allocate(Layout::new::<[u8; 2048]>()).is_err());
    /// });
    /// ```
    #[inline]
    pub fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let start = A::__Wcet::start();
        let block = self.bump(layout);
        if A::__Wcet::ON {
            self.wcet.set(self.wcet.get().max(A::__Wcet::stop(start)));
        }
        block
    }

    #[inline(always)]
    fn bump(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        match bump(self.base.as_ptr().addr(), self.cursor.get(), A::CAPACITY, layout) {
            Some((start, end)) => {
                self.cursor.set(end);
                if A::__STATS {
                    self.allocs.set(self.allocs.get().wrapping_add(1));
                }
                // SAFETY: `start <= end <= CAPACITY`, and the buffer at `base` holds
                // `CAPACITY` bytes (the `Arena` contract), so the pointer is inside it or one
                // past its end (only for a zero-sized block).
                let block = unsafe { self.base.add(start) };
                Ok(NonNull::slice_from_raw_parts(block, layout.size()))
            }
            None => self.fail(),
        }
    }

    #[cold]
    #[inline(never)]
    fn fail(&self) -> Result<NonNull<[u8]>, AllocError> {
        if A::__STATS {
            self.failures.set(self.failures.get().wrapping_add(1));
        }
        Err(AllocError)
    }

    /// Moves `value` into the scope. On exhaustion `value` is dropped and `Err` returned.
    /// The value's destructor never runs (the memory is reclaimed when the scope closes), as
    /// with every arena.
    ///
    /// Values in a scope may borrow from the scope itself (`&'s T`) or be `'static`, but not
    /// borrow locals: `T: 's`, and `'s` is any lifetime as far as the closure knows.
    #[inline]
    pub fn alloc<T>(&self, value: T) -> Result<&'s mut T, AllocError> {
        let block = self.allocate(Layout::new::<T>())?.cast::<T>();
        // SAFETY: `block` is aligned for `T`, `size_of::<T>()` bytes of this scope's memory,
        // handed out once; it stays valid for `'s`, the scope's life (nothing rewinds over it
        // while the scope is open: a nested scope cannot, it starts above it).
        unsafe {
            block.write(value);
            Ok(&mut *block.as_ptr())
        }
    }

    /// A slice of `len` values, `f(i)` for each index. If `f` panics the values written so far
    /// are leaked (never dropped), which is safe.
    #[inline]
    pub fn alloc_slice_fill_with<T>(
        &self,
        len: usize,
        mut f: impl FnMut(usize) -> T,
    ) -> Result<&'s mut [T], AllocError> {
        let layout = Layout::array::<T>(len).map_err(|_| AllocError)?;
        let first = self.allocate(layout)?.cast::<T>();
        for i in 0..len {
            // SAFETY: `first` points to `len` `T`s of this scope's memory, aligned; `i < len`.
            unsafe { first.add(i).write(f(i)) };
        }
        // SAFETY: all `len` elements were written just above; the memory is this scope's for `'s`.
        Ok(unsafe { core::slice::from_raw_parts_mut(first.as_ptr(), len) })
    }

    /// A copy of `src` in the scope.
    #[inline]
    pub fn alloc_slice_copy<T: Copy>(&self, src: &[T]) -> Result<&'s mut [T], AllocError> {
        let layout = Layout::for_value(src);
        let first = self.allocate(layout)?.cast::<T>();
        // SAFETY: `first` is `src.len()` fresh, aligned `T`s of this scope's memory, disjoint
        // from `src` (memory handed out once is never handed out again while it is live).
        unsafe {
            ptr::copy_nonoverlapping(src.as_ptr(), first.as_ptr(), src.len());
            Ok(core::slice::from_raw_parts_mut(first.as_ptr(), src.len()))
        }
    }

    /// A copy of `src` in the scope.
    #[inline]
    pub fn alloc_str(&self, src: &str) -> Result<&'s mut str, AllocError> {
        let bytes = self.alloc_slice_copy(src.as_bytes())?;
        // SAFETY: the bytes are a copy of a `str`, so valid UTF-8.
        Ok(unsafe { core::str::from_utf8_unchecked_mut(bytes) })
    }

    /// Runs `f` in a nested scope: it allocates above everything this scope holds, and
    /// everything it allocated goes back when `f` returns (O(1): this scope's cursor was never
    /// moved). This scope is borrowed mutably meanwhile, so it cannot allocate while the
    /// nested one is open; its earlier allocations stay usable inside.
    ///
    /// ```
    /// use detalloc::arena::Arena;
    ///
    /// detalloc::detalloc! { struct Scratch<arena: 1 KiB>; }
    ///
    /// Scratch::new().scope(|outer| {
    ///     let kept = outer.alloc([1u8; 100]).unwrap();
    ///     let inner_used = outer.scope(|inner| {
    ///         let tmp = inner.alloc_slice_copy(&kept[..]).unwrap();
    ///         tmp[0] = 7;
    ///         inner.used()
    ///     });
    ///     assert_eq!((inner_used, outer.used(), kept[0]), (200, 100, 1));
    /// });
    /// ```
    pub fn scope<R>(&mut self, f: impl for<'i> FnOnce(&mut Scope<'i, A>) -> R) -> R {
        /// Folds the nested scope into its parent when it closes, returning or unwinding (a
        /// panic caught by the parent must not lose the nested scope's peak and counts, nor
        /// leave its bytes unpoisoned).
        struct Absorb<'p, 'o, 'i, A: Arena> {
            outer: &'p Scope<'o, A>,
            inner: Scope<'i, A>,
        }
        impl<A: Arena> Drop for Absorb<'_, '_, '_, A> {
            fn drop(&mut self) {
                self.outer.absorb(&self.inner);
            }
        }
        let mut nested = Absorb { outer: self, inner: Scope::new(self.arena, self.cursor.get()) };
        f(&mut nested.inner)
    }

    /// Folds a closed nested scope's figures into this one, and poisons what it used.
    fn absorb(&self, inner: &Scope<'_, A>) {
        if A::__POISON {
            self.poison(inner.mark, inner.cursor.get());
        }
        if A::__STATS {
            self.peak.set(self.peak.get().max(inner.peak()));
            self.allocs.set(self.allocs.get().wrapping_add(inner.allocs.get()));
            self.failures.set(self.failures.get().wrapping_add(inner.failures.get()));
        }
        if A::__Wcet::ON {
            self.wcet.set(self.wcet.get().max(inner.wcet.get()));
        }
    }

    /// Overwrites bytes `from..to` with [`POISON`]: memory nothing may use any more.
    pub(super) fn poison(&self, from: usize, to: usize) {
        // SAFETY: `from <= to <= CAPACITY`: bytes of the arena's buffer that nothing may use
        // any more: those of a scope that just closed (its references are dead: its closure
        // returned or unwound) or those a popped or shrunk last block gave back (the
        // `Allocator` contract: the caller no longer uses them); no other context can reach
        // them (this context holds the arena's flag).
        unsafe { ptr::write_bytes(self.base.add(from).as_ptr(), POISON, to - from) };
    }

    /// Bytes of the arena in use now: everything below this scope's cursor, the allocations
    /// of the enclosing scopes and raw allocations included.
    pub fn used(&self) -> usize {
        self.cursor.get()
    }

    /// Bytes this scope could still allocate (before alignment padding).
    pub fn remaining(&self) -> usize {
        A::CAPACITY - self.cursor.get()
    }

    /// The highest `used()` so far in this scope and the nested scopes it closed.
    pub fn peak(&self) -> usize {
        self.peak.get().max(self.cursor.get())
    }

    /// The scope's counters, for the arena's record: (allocs, failures, longest allocation).
    pub(super) fn counters(&self) -> (u64, u64, u64) {
        (self.allocs.get(), self.failures.get(), self.wcet.get())
    }

    /// The arena this scope allocates from.
    pub(super) fn arena(&self) -> &'s A {
        self.arena
    }

    /// Where this scope started.
    pub(super) fn mark(&self) -> usize {
        self.mark
    }

    /// The offset of `ptr` in the arena's buffer (wrapping: meaningful for its own blocks).
    #[cfg(feature = "allocator-api2")]
    #[inline(always)]
    pub(super) fn offset(&self, ptr: NonNull<u8>) -> usize {
        ptr.as_ptr().addr().wrapping_sub(self.base.as_ptr().addr())
    }

    /// The cursor, for the allocator-api2 paths.
    #[cfg(feature = "allocator-api2")]
    #[inline(always)]
    pub(super) fn cursor(&self) -> usize {
        self.cursor.get()
    }

    /// Moves the cursor to `to` (a pop or a resize of the last block), keeping the peak.
    #[cfg(feature = "allocator-api2")]
    #[inline(always)]
    pub(super) fn set_cursor(&self, to: usize) {
        self.peak.set(self.peak());
        let from = self.cursor.get();
        if A::__POISON && to < from {
            // The bytes a popped block or a shrunk last block gave back.
            self.poison(to, from);
        }
        self.cursor.set(to);
    }
}

impl<A: Arena> core::fmt::Debug for Scope<'_, A> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Scope")
            .field("mark", &self.mark)
            .field("used", &self.cursor.get())
            .field("capacity", &A::CAPACITY)
            .finish()
    }
}
