//! `allocator_api2::alloc::Allocator` for `&Scope` (feature `allocator-api2`), so
//! `Vec::new_in(&*scope)` and `Box::new_in(x, &*scope)` allocate in a scope. Their type holds
//! `&Scope<'s, A>`, so they cannot leave the scope either, and they keep the scope borrowed:
//! a nested scope cannot open while one of them lives.
//!
//! A block is exactly the size asked for. `deallocate` gives the bytes back only when the
//! block is the scope's last (a pop); `grow` extends the last block in place; `shrink` stays
//! in place. Every returned slice's length is the block's real size.

#[cfg(feature = "allocator-api2")]
mod imp {
    use core::alloc::Layout;
    use core::ptr::{self, NonNull};

    use allocator_api2::alloc::{AllocError, Allocator};

    use crate::arena::{Arena, Scope};

    impl<A: Arena> Scope<'_, A> {
        /// Whether the block at `offset` of `size` bytes ends at the cursor and lies in this
        /// scope (at or above its mark): the last block this scope handed out.
        #[inline(always)]
        fn is_last(&self, offset: usize, size: usize) -> bool {
            offset >= self.mark() && offset.wrapping_add(size) == self.cursor()
        }
    }

    // SAFETY: blocks are disjoint byte ranges of the arena's buffer, valid until the scope
    // closes, and a `&Scope` cannot outlive the scope (its brand); `deallocate` only moves the
    // cursor down over the block being freed when it is the last one, so no live block is
    // handed out twice; `grow`/`shrink` return slices of exactly the block's bytes and keep
    // the contents (copied when the block moves).
    unsafe impl<A: Arena> Allocator for &Scope<'_, A> {
        #[inline]
        fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
            Scope::allocate(self, layout).map_err(|_| AllocError)
        }

        #[inline]
        unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
            let offset = self.offset(ptr);
            if self.is_last(offset, layout.size()) {
                self.set_cursor(offset);
            }
        }

        unsafe fn grow(
            &self,
            ptr: NonNull<u8>,
            old: Layout,
            new: Layout,
        ) -> Result<NonNull<[u8]>, AllocError> {
            let offset = self.offset(ptr);
            let fits = offset.checked_add(new.size()).is_some_and(|end| end <= A::CAPACITY);
            if self.is_last(offset, old.size())
                && ptr.as_ptr().addr() & (new.align() - 1) == 0
                && fits
            {
                self.set_cursor(offset + new.size());
                return Ok(NonNull::slice_from_raw_parts(ptr, new.size()));
            }
            let moved = Scope::allocate(self, new).map_err(|_| AllocError)?;
            // SAFETY: the caller's `ptr` holds `old.size()` bytes (the `Allocator::grow`
            // contract), `moved` holds `new.size() >= old.size()` fresh bytes, disjoint.
            unsafe {
                ptr::copy_nonoverlapping(ptr.as_ptr(), moved.cast::<u8>().as_ptr(), old.size())
            };
            Ok(moved)
        }

        unsafe fn shrink(
            &self,
            ptr: NonNull<u8>,
            old: Layout,
            new: Layout,
        ) -> Result<NonNull<[u8]>, AllocError> {
            if ptr.as_ptr().addr() & (new.align() - 1) == 0 {
                let offset = self.offset(ptr);
                if self.is_last(offset, old.size()) {
                    self.set_cursor(offset + new.size());
                }
                return Ok(NonNull::slice_from_raw_parts(ptr, new.size()));
            }
            let moved = Scope::allocate(self, new).map_err(|_| AllocError)?;
            // SAFETY: `ptr` holds `old.size() >= new.size()` bytes, `moved` holds `new.size()`
            // fresh bytes, disjoint.
            unsafe {
                ptr::copy_nonoverlapping(ptr.as_ptr(), moved.cast::<u8>().as_ptr(), new.size())
            };
            Ok(moved)
        }
    }
}
