//! `allocator_api2::alloc::Allocator` for `&Heap` (feature `allocator-api2`, on by default),
//! so `allocator_api2::vec::Vec::new_in(&HEAP)` and `Box::new_in(x, &HEAP)` work on stable.
//!
//! A block is returned whole: its length is the block size of the pool that holds it. `grow`
//! and `shrink` follow the one resize rule (`resize.rs`): in place when the holding pool's
//! blocks fit the new layout.

#[cfg(feature = "allocator-api2")]
mod imp {
    use core::alloc::Layout;
    use core::ptr::{self, NonNull};

    use allocator_api2::alloc::AllocError;

    use crate::dispatch::Dispatch;
    use crate::resize::resize;

    /// `Allocator::allocate`: the whole block of the pool that serves the request (with
    /// `spill`, possibly a larger one than `layout` selects).
    #[inline]
    pub fn api2_allocate<H: Dispatch>(
        heap: &H,
        layout: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        heap.allocate_block(layout).map_err(|_| AllocError)
    }

    /// `Allocator::grow` (and `grow_zeroed` with `zeroed`).
    ///
    /// # Safety
    /// As `Allocator::grow`: `ptr` is a live block of `heap` for `old`, `new.size() >= old.size()`.
    pub unsafe fn api2_grow<H: Dispatch>(
        heap: &H,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        zeroed: bool,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded.
        let grown = unsafe { resize(heap, ptr, old, new) }.map_err(|_| AllocError)?;
        if zeroed {
            let start = grown.cast::<u8>().as_ptr();
            // SAFETY: `grown` is the whole block that now holds the contents (`resize` reports
            // the block size of the pool holding it), so bytes `old.size()..grown.len()` lie
            // inside it (`grown.len() >= new.size() >= old.size()`), and the caller owns them.
            unsafe { ptr::write_bytes(start.add(old.size()), 0, grown.len() - old.size()) };
        }
        Ok(grown)
    }

    /// `Allocator::shrink`: never fails when the block already holds `new` (see `resize`).
    ///
    /// # Safety
    /// As `Allocator::shrink`: `ptr` is a live block of `heap` for `old`, `new.size() <= old.size()`.
    pub unsafe fn api2_shrink<H: Dispatch>(
        heap: &H,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded.
        unsafe { resize(heap, ptr, old, new) }.map_err(|_| AllocError)
    }
}

#[cfg(feature = "allocator-api2")]
pub use imp::{api2_allocate, api2_grow, api2_shrink};

/// With `allocator-api2`: `Allocator for &$heap`. Without: nothing.
#[cfg(feature = "allocator-api2")]
#[doc(hidden)]
#[macro_export]
macro_rules! __allocator_api2_impl {
    ($heap:ty) => {
        // SAFETY: blocks stay valid until deallocated and are never handed out twice
        // (the pool's invariant); `&$heap` copies refer to the same heap.
        unsafe impl $crate::allocator_api2::alloc::Allocator for &$heap {
            #[inline]
            fn allocate(
                &self,
                layout: ::core::alloc::Layout,
            ) -> ::core::result::Result<
                ::core::ptr::NonNull<[u8]>,
                $crate::allocator_api2::alloc::AllocError,
            > {
                $crate::__private::api2_allocate(*self, layout)
            }

            #[inline]
            unsafe fn deallocate(
                &self,
                ptr: ::core::ptr::NonNull<u8>,
                layout: ::core::alloc::Layout,
            ) {
                // SAFETY: the caller promises `ptr` is a live block of this heap for `layout`.
                let _ = unsafe { $crate::Heap::deallocate(*self, ptr, layout) };
            }

            $crate::__private::api2_resize_method!(grow, api2_grow(false));
            $crate::__private::api2_resize_method!(grow_zeroed, api2_grow(true));
            $crate::__private::api2_resize_method!(shrink, api2_shrink());
        }
    };
}

/// One of `Allocator`'s resizing methods (`grow`, `grow_zeroed`, `shrink`), forwarded to its
/// helper with the extra arguments given.
#[cfg(feature = "allocator-api2")]
#[doc(hidden)]
#[macro_export]
macro_rules! __api2_resize_method {
    ($method:ident, $helper:ident($($extra:expr),*)) => {
        unsafe fn $method(
            &self,
            ptr: ::core::ptr::NonNull<u8>,
            old: ::core::alloc::Layout,
            new: ::core::alloc::Layout,
        ) -> ::core::result::Result<
            ::core::ptr::NonNull<[u8]>,
            $crate::allocator_api2::alloc::AllocError,
        > {
            // SAFETY: forwarded from the `Allocator` method's contract (`ptr` is a live block
            // of this heap for `old`; `new` grows or shrinks it as the method says).
            unsafe { $crate::__private::$helper(*self, ptr, old, new $(, $extra)*) }
        }
    };
}

/// With `allocator-api2`: `Allocator for &$heap`. Without: nothing.
#[cfg(not(feature = "allocator-api2"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __allocator_api2_impl {
    ($heap:ty) => {};
}
