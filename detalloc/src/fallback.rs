//! The stand-in the macro emits after a compile error (`__private::fallback_heap!`), so the
//! uses of the heap's name add no secondary errors. Never part of a successful build.

/// A type of the declared name with the generated API, which allocates nothing.
#[doc(hidden)]
#[macro_export]
macro_rules! __fallback_heap {
    ($vis:vis $name:ident) => {
        $vis struct $name;
        #[allow(unused, clippy::all)]
        const _: () = {
            impl $name {
                /// Stand-in.
                pub const fn new() -> Self {
                    $name
                }
                /// Stand-in.
                pub const POOLS: &'static [$crate::PoolSpec] = &[];
                /// Stand-in.
                pub const TOTAL_BYTES: usize = 0;
                /// Stand-in.
                pub const SUMMARY: &'static str = "";
            }
            impl $crate::__private::Dispatch for $name {
                const VALIDATES: bool = false;
                fn select(_: usize, _: usize) -> ::core::option::Option<usize> {
                    ::core::option::Option::None
                }
                fn holder(
                    &self,
                    _: ::core::ptr::NonNull<u8>,
                ) -> ::core::option::Option<$crate::__private::Holder> {
                    ::core::option::Option::None
                }
                fn locate(
                    &self,
                    _: ::core::ptr::NonNull<u8>,
                ) -> ::core::option::Option<$crate::__private::Holder> {
                    ::core::option::Option::None
                }
                fn allocate_block(
                    &self,
                    _: ::core::alloc::Layout,
                ) -> ::core::result::Result<::core::ptr::NonNull<[u8]>, $crate::AllocError> {
                    ::core::result::Result::Err($crate::AllocError)
                }
                fn allocate_quietly(
                    &self,
                    _: ::core::alloc::Layout,
                ) -> ::core::option::Option<::core::ptr::NonNull<[u8]>> {
                    ::core::option::Option::None
                }
                unsafe fn keep(&self, _: $crate::__private::Holder) {}
            }
            impl $crate::Heap for $name {
                fn name(&self) -> &'static str {
                    ::core::stringify!($name)
                }
                fn allocate(
                    &self,
                    _: ::core::alloc::Layout,
                ) -> ::core::result::Result<::core::ptr::NonNull<u8>, $crate::AllocError> {
                    ::core::result::Result::Err($crate::AllocError)
                }
                unsafe fn deallocate(
                    &self,
                    _: ::core::ptr::NonNull<u8>,
                    _: ::core::alloc::Layout,
                ) -> ::core::result::Result<(), $crate::FreeError> {
                    ::core::result::Result::Err($crate::FreeError::Foreign)
                }
                fn stats(&self) -> $crate::Stats {
                    $crate::Stats::default()
                }
                fn pool_stats(&self, _: usize) -> ::core::option::Option<$crate::PoolStats> {
                    ::core::option::Option::None
                }
                fn reset_stats(&self) {}
                fn validate(&self) -> ::core::result::Result<(), $crate::Corruption> {
                    ::core::result::Result::Ok(())
                }
                fn validate_pool(
                    &self,
                    _: usize,
                ) -> ::core::option::Option<::core::result::Result<(), $crate::Corruption>> {
                    ::core::option::Option::None
                }
                fn prefetch(&self, _: ::core::alloc::Layout) {}
                fn report(&self) -> $crate::Report<'_> {
                    $crate::Report::new(self, "", &[])
                }
            }
            // SAFETY: never allocates.
            unsafe impl ::core::alloc::GlobalAlloc for $name {
                unsafe fn alloc(&self, _: ::core::alloc::Layout) -> *mut u8 {
                    ::core::ptr::null_mut()
                }
                unsafe fn dealloc(&self, _: *mut u8, _: ::core::alloc::Layout) {}
            }
            $crate::__allocator_api2_impl!($name);
        };
    };
}
