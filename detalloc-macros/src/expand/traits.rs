//! The trait shells, assembled from the paths' parts: the inherent helpers, `Dispatch` (what
//! the generic resize and allocator-api2 helpers call), `Heap` (the runtime trait),
//! `GlobalAlloc`, and the allocator-api2 switch. Every method body is built in the file of its
//! path (`alloc.rs`, `free.rs`, `resize.rs`, `waiting.rs`).

use proc_macro2::TokenStream;
use quote::quote;

use super::{Generator, alloc, free, resize, runtime, waiting};

/// All of the heap's behaviour, in one `const _` block (the allow-list keeps users' lints off
/// generated code).
pub fn items(g: &Generator<'_>) -> TokenStream {
    let p = runtime();
    let name = &g.cfg.ident;
    let (inherent, dispatch, heap, global) = (inherent(g), dispatch(g), heap(g), global_alloc(g));
    quote! {
        #[allow(unused_qualifications, unused_unsafe, clippy::all, clippy::pedantic, clippy::nursery)]
        const _: () = {
            #inherent

            #dispatch

            #heap

            #global

            #p::allocator_api2_impl!(#name);
        };
    }
}

/// The inherent helpers the trait methods call: the pools' allocation, the cold ends of a
/// free, and the pools' views for the cold inspection paths.
fn inherent(g: &Generator<'_>) -> TokenStream {
    let p = runtime();
    let name = &g.cfg.ident;
    let count = g.cfg.pools.len();
    let alloc_in_pools = alloc::alloc_in_pools(g);
    let cold_ends = free::cold_ends(g);
    let views = (0..count).map(|i| {
        let (buffer, pool) = (g.buffer(i), g.pool(i));
        quote!(unsafe { #p::PoolView::new(&#pool, &#buffer) })
    });
    quote! {
        impl #name {
            #alloc_in_pools

            #cold_ends

            #[inline(always)]
            fn __views(&self) -> [#p::PoolView<'_>; #count] {
                // SAFETY: each pool state is paired with its own buffer.
                [#(#views),*]
            }
        }
    }
}

/// `impl Dispatch`.
fn dispatch(g: &Generator<'_>) -> TokenStream {
    let p = runtime();
    let name = &g.cfg.ident;
    let methods = [
        resize::select(g),
        resize::holder(g),
        resize::locate(g),
        alloc::allocate_block(g),
        alloc::allocate_quietly(g),
        resize::keep(g),
    ];
    let validates = g.validating();
    quote! {
        impl #p::Dispatch for #name {
            const VALIDATES: bool = #validates;
            #(#methods)*
        }
    }
}

/// `impl Heap`: the hot paths from their files, the cold inspection paths through the pools'
/// views.
fn heap(g: &Generator<'_>) -> TokenStream {
    let p = runtime();
    let name = &g.cfg.ident;
    let name_str = name.to_string();
    let allocate = alloc::heap_allocate();
    let deallocate = free::heap_deallocate(g);
    let prefetch = alloc::prefetch(g);
    let wait_methods = waiting::heap_methods(g);
    let reset_waits = waiting::reset(g);
    quote! {
        impl #p::Heap for #name {
            #[inline]
            fn name(&self) -> &'static str {
                #name_str
            }

            #allocate

            #deallocate

            fn stats(&self) -> #p::Stats {
                #p::stats(&self.__views(), &self.__heap)
            }

            fn pool_stats(&self, pool: usize) -> ::core::option::Option<#p::PoolStats> {
                #p::pool_stats(&self.__views(), pool)
            }

            fn reset_stats(&self) {
                #p::reset_stats(&self.__views(), &self.__heap);
                #reset_waits
            }

            #wait_methods

            fn validate(&self) -> ::core::result::Result<(), #p::Corruption> {
                #p::validate(&self.__views())
            }

            fn validate_pool(
                &self,
                pool: usize,
            ) -> ::core::option::Option<::core::result::Result<(), #p::Corruption>> {
                #p::validate_pool(&self.__views(), pool)
            }

            #prefetch

            fn report(&self) -> #p::Report<'_> {
                #p::Report::new(self, Self::SUMMARY, Self::POOLS)
            }

            fn timing(&self) -> ::core::option::Option<#p::Timing> {
                self.__heap.timing()
            }
        }
    }
}

/// `impl GlobalAlloc`: `Heap`'s calls, null for `Err`, `realloc` by the resize rule.
fn global_alloc(g: &Generator<'_>) -> TokenStream {
    let p = runtime();
    let name = &g.cfg.ident;
    quote! {
        unsafe impl ::core::alloc::GlobalAlloc for #name {
            #[inline]
            unsafe fn alloc(&self, layout: ::core::alloc::Layout) -> *mut u8 {
                match #p::Heap::allocate(self, layout) {
                    ::core::result::Result::Ok(block) => block.as_ptr(),
                    ::core::result::Result::Err(_) => ::core::ptr::null_mut(),
                }
            }

            #[inline]
            unsafe fn dealloc(&self, ptr: *mut u8, layout: ::core::alloc::Layout) {
                // SAFETY: `GlobalAlloc::dealloc` is only called with a pointer `alloc`
                // returned, which is never null.
                let ptr = unsafe { ::core::ptr::NonNull::new_unchecked(ptr) };
                // SAFETY: forwarded from `GlobalAlloc::dealloc`'s contract.
                let _ = unsafe { #p::Heap::deallocate(self, ptr, layout) };
            }

            #[inline]
            unsafe fn realloc(
                &self,
                ptr: *mut u8,
                layout: ::core::alloc::Layout,
                new_size: usize,
            ) -> *mut u8 {
                // SAFETY: forwarded from `GlobalAlloc::realloc`'s contract.
                unsafe { #p::realloc(self, ptr, layout, new_size) }
            }
        }
    }
}
