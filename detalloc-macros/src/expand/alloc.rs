//! The allocation path: the inherent `__alloc_in_pools` (the size-class dispatch to one pool's
//! `alloc`, with `spill` the larger pools after it), `Dispatch::allocate_block` (clock, pools,
//! `HeapState::finish_alloc`: WCET record, counters, hooks), `Dispatch::allocate_quietly` (the
//! selected pool only, for a shrink), `Heap::allocate` and `Heap::prefetch`.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::{Generator, lit, runtime};

impl Generator<'_> {
    /// Pool `i` alone hands out a block: `Option<(pool, whole block)>`.
    pub fn take_arm(&self, i: usize) -> TokenStream {
        let (buffer, pool) = (self.buffer(i), self.pool(i));
        let (idx, s) = (Literal::usize_unsuffixed(i), lit(self.cfg.pools[i].size));
        // SAFETY (in the expansion): each pool is paired with its own buffer.
        quote! {
            unsafe { #pool.alloc(&#buffer) }
                .map(|block| (#idx, ::core::ptr::NonNull::slice_from_raw_parts(block, #s)))
        }
    }

    /// Pool `i` serves the request; with `spill`, the larger pools the request fits are tried
    /// in turn when it is exhausted. `Option<(pool, whole block)>`.
    pub fn alloc_arm(&self, i: usize) -> TokenStream {
        let first = self.take_arm(i);
        if !self.cfg.spill {
            return first;
        }
        let known = self.cfg.pools[i].align();
        let more = (i + 1..self.cfg.pools.len()).map(|j| {
            let next = self.take_arm(j);
            let a = self.cfg.pools[j].align();
            let cond = if a >= known {
                quote!(outcome.is_none())
            } else {
                let a = lit(a);
                quote!(outcome.is_none() && align <= #a)
            };
            quote!(if #cond { outcome = #next; })
        });
        quote!({
            let mut outcome = #first;
            #(#more)*
            outcome
        })
    }
}

/// The inherent `__alloc_in_pools(size, align)`: the pool that serves the request hands out a
/// block, with its index; `None` when none fits or every candidate is exhausted.
pub fn alloc_in_pools(g: &Generator<'_>) -> TokenStream {
    let unserved = quote!({
        ::core::hint::cold_path();
        ::core::option::Option::None
    });
    let chain = g.by_layout(|i| g.alloc_arm(i), unserved);
    quote! {
        /// The pool that serves `size`/`align` hands out a block, with its index.
        #[inline(always)]
        fn __alloc_in_pools(
            &self,
            size: usize,
            align: usize,
        ) -> ::core::option::Option<(usize, ::core::ptr::NonNull<[u8]>)> {
            #chain
        }
    }
}

/// `Dispatch::allocate_block`: the one allocation path every API takes.
pub fn allocate_block(g: &Generator<'_>) -> TokenStream {
    let p = runtime();
    let hooks = g.hooks();
    quote! {
        #[inline(always)]
        fn allocate_block(
            &self,
            layout: ::core::alloc::Layout,
        ) -> ::core::result::Result<::core::ptr::NonNull<[u8]>, #p::AllocError> {
            let mark = self.__heap.start();
            let outcome = self.__alloc_in_pools(layout.size(), layout.align());
            self.__heap.finish_alloc::<#hooks>(mark, outcome, layout)
        }
    }
}

/// `Dispatch::allocate_quietly`: the selected pool only, its exhaustion not a failure.
pub fn allocate_quietly(g: &Generator<'_>) -> TokenStream {
    let p = runtime();
    let hooks = g.hooks();
    let selected_only = g.by_layout(|i| g.take_arm(i), quote!(::core::option::Option::None));
    quote! {
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
    }
}

/// `Heap::allocate`.
pub fn heap_allocate() -> TokenStream {
    let p = runtime();
    quote! {
        #[inline]
        fn allocate(
            &self,
            layout: ::core::alloc::Layout,
        ) -> ::core::result::Result<::core::ptr::NonNull<u8>, #p::AllocError> {
            #p::Dispatch::allocate_block(self, layout).map(|block| block.cast::<u8>())
        }
    }
}

/// `Heap::prefetch`: the selected pool warms the block it would hand out next.
pub fn prefetch(g: &Generator<'_>) -> TokenStream {
    let chain = g.by_layout(
        |i| {
            let (buffer, pool) = (g.buffer(i), g.pool(i));
            quote!(#pool.prefetch(&#buffer))
        },
        quote!(()),
    );
    quote! {
        #[inline]
        fn prefetch(&self, layout: ::core::alloc::Layout) {
            let size = layout.size();
            let align = layout.align();
            #chain
        }
    }
}
