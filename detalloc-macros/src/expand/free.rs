//! The free path: `Heap::deallocate` with validation (the size-class dispatch to the selected
//! pool's `free`, and for a pointer outside it the cold, generated `__free_by_address`, which finds
//! the pool by address and classifies the free) or without (the pool found by address, the
//! layout trusted; `__free_foreign` for a pointer in no pool); then
//! `HeapState::finish_free` (WCET record, counters, hooks).

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::{Generator, lit, runtime, types};

impl Generator<'_> {
    /// The free of a layout that selects pool `i`: that pool's free (`Result<pool,
    /// FreeError>`), or, when the pointer lies outside it, a tail call of the whole rest of
    /// the free to the cold by-address search (so the hot path merges nothing with it).
    pub fn free_arm(&self, i: usize) -> TokenStream {
        let p = runtime();
        let (buffer, pool, idx) = (self.buffer(i), self.pool(i), Literal::usize_unsuffixed(i));
        let found = self.free_by_address_call();
        quote! {
            match unsafe { #pool.free(&#buffer, ptr) } {
                ::core::result::Result::Ok(wake) => {
                    #p::Wake::wake(wake);
                    ::core::result::Result::Ok(#idx)
                }
                ::core::result::Result::Err(#p::FreeError::Foreign) => return #found,
                ::core::result::Result::Err(error) => ::core::result::Result::Err(error),
            }
        }
    }

    /// The free without validation (the layout is trusted, DESIGN): the pool found by address,
    /// so a block a shrink kept in place or a spilled one goes back where it is, whatever the
    /// layout says; outside every pool, `__free_foreign` refuses it. No other check:
    /// nothing records what is live.
    pub fn trusting_free(&self) -> TokenStream {
        let p = runtime();
        self.by_address(
            |i| {
                let (buffer, pool) = (self.buffer(i), self.pool(i));
                let idx = Literal::usize_unsuffixed(i);
                // SAFETY (in the expansion): the pool is paired with its own buffer, and the
                // search put `offset` below its `S * N`; that `ptr` is a block start this
                // pool handed out and not freed since is `deallocate`'s contract, which
                // without validation is trusted (as the layout is).
                quote! {
                    unsafe { #pool.free_by_address(&#buffer, offset, true) }.map(|wake| {
                        #p::Wake::wake(wake);
                        #idx
                    })
                }
            },
            // `Foreign`, as a tail call to the cold end of a refused free, so the hot path
            // spends one compare and one branch on it and merges nothing with it.
            quote!(return self.__free_foreign(ptr, layout, mark)),
        )
    }

    /// `self.__free_by_address(ptr, layout, mark)`: the rest of a free whose pool is found by
    /// address, finish included.
    pub fn free_by_address_call(&self) -> TokenStream {
        quote!(unsafe { self.__free_by_address(ptr, layout, mark) })
    }

    /// The body of `__free_by_address`: the pool holding `ptr` by address. Not at a block start:
    /// `Misaligned`; a pool the layout does not fit: `WrongPool`; otherwise that pool decides
    /// (right with `spill`, or for a block kept there by a shrink). In no pool: `Foreign`.
    pub fn free_by_address_body(&self) -> TokenStream {
        let p = runtime();
        let spill = self.cfg.spill;
        self.by_address(
            |i| {
                let d = &self.cfg.pools[i];
                let (buffer, pool, s) = (self.buffer(i), self.pool(i), lit(d.size));
                let idx = Literal::usize_unsuffixed(i);
                let fits = self.fits(i);
                quote! {
                    if offset % #s != 0 {
                        ::core::result::Result::Err(#p::FreeError::Misaligned)
                    } else if { let key = if size > align { size } else { align }; #fits } {
                        unsafe { #pool.free_by_address(&#buffer, offset, #spill) }.map(|wake| {
                            #p::Wake::wake(wake);
                            #idx
                        })
                    } else {
                        ::core::result::Result::Err(#p::FreeError::WrongPool)
                    }
                }
            },
            quote!(::core::result::Result::Err(#p::FreeError::Foreign)),
        )
    }
}

/// The inherent `__free_by_address` (a free the selected pool does not hold, by address) and
/// `__free_foreign` (a free without validation that no pool holds), both cold and out of line
/// so the hot path merges nothing with them.
pub fn cold_ends(g: &Generator<'_>) -> TokenStream {
    let p = runtime();
    let hooks = g.hooks();
    let timer = types::timer(g.cfg);
    let free_by_address_body = g.free_by_address_body();
    quote! {
        /// The rest of a free the selected pool does not hold: the pool found by
        /// address, then the end of `deallocate`.
        #[cold]
        #[inline(never)]
        unsafe fn __free_by_address(
            &self,
            ptr: ::core::ptr::NonNull<u8>,
            layout: ::core::alloc::Layout,
            mark: <#timer as #p::Timer>::Mark,
        ) -> ::core::result::Result<(), #p::FreeError> {
            let size = layout.size();
            let align = layout.align();
            let outcome: ::core::result::Result<usize, #p::FreeError> = #free_by_address_body;
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
    }
}

/// `Heap::deallocate`: checked (validating) or trusting, as the declaration's `validate` says
/// in the user's build.
pub fn heap_deallocate(g: &Generator<'_>) -> TokenStream {
    let p = runtime();
    let hooks = g.hooks();
    let found = g.free_by_address_call();
    let checked_free = g.by_layout(|i| g.free_arm(i), quote!(return #found));
    let trusting_free = g.trusting_free();
    let validating = g.validating();
    quote! {
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
    }
}
