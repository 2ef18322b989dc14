//! The heap's behaviour: the generated `Dispatch` (what the generic resize and allocator-api2
//! helpers call), `Heap` (the runtime trait), `GlobalAlloc` and allocator-api2's `Allocator`.
//!
//! One `allocate`: `Dispatch::allocate_block` reads the clock (with `wcet`), runs the
//! size-class chain to one pool's `alloc`, and ends in `HeapState::finish_alloc` (WCET
//! record, counters, hooks). One `deallocate` with validation: the same chain to one pool's
//! `free`; a pointer outside that pool goes to the cold, generated `__free_found` (by address
//! and classified); without validation, the pool found by address (the layout is trusted);
//! then `HeapState::finish_free`.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::{Generator, layout, runtime, waiting};

pub fn items(g: &Generator<'_>) -> TokenStream {
    let p = runtime();
    let name = &g.cfg.ident;
    let name_str = name.to_string();
    let hooks = g.hooks();
    let count = g.cfg.pools.len();
    let none = quote!(::core::option::Option::None);
    let unserved = quote!({
        ::core::hint::cold_path();
        ::core::option::Option::None
    });
    let alloc_chain = g.by_layout(|i| g.alloc_arm(i), unserved);
    let found = g.free_found_call();
    let checked_free = g.by_layout(|i| g.free_arm(i), quote!(return #found));
    let trusting_free = g.trusting_free();
    let validating = g.validating();
    let timer = layout::timer(g.cfg);
    let wait_methods = waiting::heap_methods(g);
    let reset_waits = waiting::reset(g);
    let found_free = g.found_free();
    let keep = g.keep();
    let select = g.by_layout(
        |i| {
            let i = Literal::usize_unsuffixed(i);
            quote!(::core::option::Option::Some(#i))
        },
        none.clone(),
    );
    let holder = g.holder();
    let selected_only = g.by_layout(|i| g.take_arm(i), none.clone());
    let prefetch = g.by_layout(
        |i| {
            let (blocks, pool) = (g.blocks(i), g.pool(i));
            quote!(#pool.prefetch(&#blocks))
        },
        quote!(()),
    );
    let views = (0..count).map(|i| {
        let (blocks, pool) = (g.blocks(i), g.pool(i));
        quote!(unsafe { #p::PoolView::new(&#pool, &#blocks) })
    });

    quote! {
        #[allow(unused_qualifications, unused_unsafe, clippy::all, clippy::pedantic, clippy::nursery)]
        const _: () = {
            impl #name {
                /// The pool that serves `size`/`align` hands out a block, with its index.
                #[inline(always)]
                fn __alloc_in_pools(
                    &self,
                    size: usize,
                    align: usize,
                ) -> ::core::option::Option<(usize, ::core::ptr::NonNull<[u8]>)> {
                    #alloc_chain
                }

                /// The rest of a free the selected pool does not hold: the pool found by
                /// address, then the end of `deallocate`.
                #[cold]
                #[inline(never)]
                unsafe fn __free_found(
                    &self,
                    ptr: ::core::ptr::NonNull<u8>,
                    layout: ::core::alloc::Layout,
                    mark: <#timer as #p::Timer>::Mark,
                ) -> ::core::result::Result<(), #p::FreeError> {
                    let size = layout.size();
                    let align = layout.align();
                    let outcome: ::core::result::Result<usize, #p::FreeError> = #found_free;
                    self.__heap.finish_free::<#hooks>(mark, outcome, ptr, layout)
                }

                /// The rest of a free without validation that no pool holds: `Foreign`.
                #[cold]
                #[inline(never)]
                fn __free_foreign(
                    &self,
                    ptr: ::core::ptr::NonNull<u8>,
                    layout: ::core::alloc::Layout,
                    mark: <#timer as #p::Timer>::Mark,
                ) -> ::core::result::Result<(), #p::FreeError> {
                    let outcome = ::core::result::Result::Err(#p::FreeError::Foreign);
                    self.__heap.finish_free::<#hooks>(mark, outcome, ptr, layout)
                }

                #[inline(always)]
                fn __views(&self) -> [#p::PoolView<'_>; #count] {
                    // SAFETY: each pool state is paired with its own buffer.
                    [#(#views),*]
                }
            }

            impl #p::Dispatch for #name {
                #[inline(always)]
                fn select(size: usize, align: usize) -> ::core::option::Option<usize> {
                    #select
                }

                #[inline]
                fn holder(
                    &self,
                    ptr: ::core::ptr::NonNull<u8>,
                ) -> ::core::option::Option<#p::Holder> {
                    #holder
                }

                #[inline(always)]
                fn allocate_block(
                    &self,
                    layout: ::core::alloc::Layout,
                ) -> ::core::result::Result<::core::ptr::NonNull<[u8]>, #p::AllocError> {
                    let mark = self.__heap.start();
                    let outcome = self.__alloc_in_pools(layout.size(), layout.align());
                    self.__heap.finish_alloc::<#hooks>(mark, outcome, layout)
                }

                fn allocate_quietly(
                    &self,
                    layout: ::core::alloc::Layout,
                ) -> ::core::option::Option<::core::ptr::NonNull<[u8]>> {
                    let size = layout.size();
                    let align = layout.align();
                    let (pool, block) = #selected_only?;
                    <#hooks as #p::Hooks>::on_alloc(pool, block.cast(), layout);
                    ::core::option::Option::Some(block)
                }

                unsafe fn keep(&self, at: #p::Holder) {
                    let pool = at.pool;
                    let offset = at.offset;
                    #keep
                }
            }

            impl #p::Heap for #name {
                #[inline]
                fn name(&self) -> &'static str {
                    #name_str
                }

                #[inline]
                fn allocate(
                    &self,
                    layout: ::core::alloc::Layout,
                ) -> ::core::result::Result<::core::ptr::NonNull<u8>, #p::AllocError> {
                    #p::Dispatch::allocate_block(self, layout).map(|block| block.cast::<u8>())
                }

                #[inline]
                unsafe fn deallocate(
                    &self,
                    ptr: ::core::ptr::NonNull<u8>,
                    layout: ::core::alloc::Layout,
                ) -> ::core::result::Result<(), #p::FreeError> {
                    let mark = self.__heap.start();
                    let size = layout.size();
                    let align = layout.align();
                    let outcome: ::core::result::Result<usize, #p::FreeError> =
                        if #validating { #checked_free } else { #trusting_free };
                    self.__heap.finish_free::<#hooks>(mark, outcome, ptr, layout)
                }

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

                #[inline]
                fn prefetch(&self, layout: ::core::alloc::Layout) {
                    let size = layout.size();
                    let align = layout.align();
                    #prefetch
                }

                fn report(&self) -> #p::Report<'_> {
                    #p::Report::new(self, Self::SUMMARY, Self::POOLS)
                }

                fn timing(&self) -> ::core::option::Option<#p::Timing> {
                    self.__heap.timing()
                }
            }

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

            #p::allocator_api2_impl!(#name);
        };
    }
}
