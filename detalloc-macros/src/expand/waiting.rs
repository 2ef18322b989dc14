//! `waiters: K`: `allocate_wait` (a future), `allocate_timeout` (with `std`), the generated
//! `Waiting` impl that future calls (one arm per pool, as every dispatch), and the `Heap`
//! methods that report and reset the waits. Nothing is generated with `waiters: 0`.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::{Generator, lit, runtime};

/// The inherent `allocate_wait` and the `Waiting` impl (empty without waiters).
pub fn items(g: &Generator<'_>) -> TokenStream {
    if g.cfg.waiters == 0 {
        return TokenStream::new();
    }
    let p = runtime();
    let name = &g.cfg.ident;
    let waiting = waiting_impl(g);
    quote! {
        #[allow(unused_qualifications, unused_unsafe, clippy::all, clippy::pedantic, clippy::nursery)]
        const _: () = {
            impl #name {
                /// Allocates a block for `layout`, waiting for one when its pool is exhausted:
                /// ready at once with a free block, `Err(AllocError)` at once when no pool fits
                /// or the pool's queue is full; otherwise the oldest waiter of the pool gets
                /// the next block freed into it. Dropping the future gives up its place.
                pub fn allocate_wait(&self, layout: ::core::alloc::Layout) -> #p::AllocateWait<'_, Self> {
                    #p::AllocateWait::new(self, layout)
                }
            }

            #waiting

            #p::allocate_timeout_impl!(#name);
        };
    }
}

/// `unsafe impl Waiting`: the first look (with `spill`, the larger pools tried first), a
/// later poll and giving up, each on the pool the place names.
fn waiting_impl(g: &Generator<'_>) -> TokenStream {
    let p = runtime();
    let name = &g.cfg.ident;
    let hooks = g.hooks();
    // With `spill`, the pools the request fits are tried first, as `allocate` does; the wait
    // is then on the selected pool, whose exhaustion that try already counted.
    let (first_try, count) = if g.cfg.spill {
        (
            quote! {
                if let ::core::option::Option::Some(taken) = self.__alloc_in_pools(size, align) {
                    return ::core::result::Result::Ok(
                        self.__heap
                            .finish_alloc::<#hooks>(mark, ::core::option::Option::Some(taken), layout)
                            .map(|block| block.cast::<u8>()),
                    );
                }
            },
            false,
        )
    } else {
        (TokenStream::new(), true)
    };
    let start = g.by_layout(
        |i| {
            let (buffer, pool, idx) = (g.buffer(i), g.pool(i), Literal::usize_unsuffixed(i));
            let s = lit(g.cfg.pools[i].size);
            quote! {
                match unsafe { #pool.wait_start(&#buffer, waker, #count) } {
                    #p::WaitStart::Ready(block) => ::core::result::Result::Ok(
                        ::core::option::Option::Some((#idx, ::core::ptr::NonNull::slice_from_raw_parts(block, #s))),
                    ),
                    #p::WaitStart::Queued(ticket) => ::core::result::Result::Err(#p::Place { pool: #idx, ticket }),
                    #p::WaitStart::Full => ::core::result::Result::Ok(::core::option::Option::None),
                }
            }
        },
        quote!(::core::result::Result::Ok(::core::option::Option::None)),
    );
    // SAFETY (in the expansion): each pool is paired with its own buffer, and the place is
    // the caller's, from `wait_start` of this pool (the trait method's contract).
    let take = g.by_index(|i| {
        let (buffer, pool) = (g.buffer(i), g.pool(i));
        quote!(unsafe { #pool.wait_take(&#buffer, place.ticket, waker) })
    });
    let cancel = g.by_index(|i| {
        let (buffer, pool) = (g.buffer(i), g.pool(i));
        quote!(unsafe { #pool.wait_cancel(&#buffer, place.ticket) })
    });
    quote! {
    // SAFETY: `wait_start` hands out each place once (a pool's ticket numbers are
    // unique), and `wait_take`/`wait_cancel` go to the pool the place names.
    unsafe impl #p::Waiting for #name {
        fn wait_start(
            &self,
            layout: ::core::alloc::Layout,
            waker: &::core::task::Waker,
        ) -> ::core::result::Result<
            ::core::result::Result<::core::ptr::NonNull<u8>, #p::AllocError>,
            #p::Place,
        > {
            let mark = self.__heap.start();
            let size = layout.size();
            let align = layout.align();
            #first_try
            let started: ::core::result::Result<
                ::core::option::Option<(usize, ::core::ptr::NonNull<[u8]>)>,
                #p::Place,
            > = #start;
            started.map(|outcome| {
                self.__heap.finish_alloc::<#hooks>(mark, outcome, layout).map(|block| block.cast::<u8>())
            })
        }

        unsafe fn wait_take(
            &self,
            place: #p::Place,
            layout: ::core::alloc::Layout,
            waker: &::core::task::Waker,
        ) -> ::core::option::Option<::core::ptr::NonNull<u8>> {
            let pool = place.pool;
            let block = #take?;
            <#hooks as #p::Hooks>::on_alloc(pool, block, layout);
            ::core::option::Option::Some(block)
        }

        unsafe fn wait_cancel(&self, place: #p::Place) {
            let pool = place.pool;
            let wake: ::core::option::Option<::core::task::Waker> = #cancel;
            #p::Wake::wake(wake);
        }
    }
    }
}

/// The `Heap` methods of a heap with waiters: its pools' wait counters, and their reset.
pub fn heap_methods(g: &Generator<'_>) -> TokenStream {
    if g.cfg.waiters == 0 {
        return TokenStream::new();
    }
    let p = runtime();
    let stats = g.by_index(|i| {
        let pool = g.pool(i);
        quote!(::core::option::Option::Some(#pool.wait_stats()))
    });
    quote! {
        fn wait_stats(&self, pool: usize) -> ::core::option::Option<#p::WaitStats> {
            #stats
        }
    }
}

/// What `reset_stats` also resets with waiters: every pool's wait counters.
pub fn reset(g: &Generator<'_>) -> TokenStream {
    if g.cfg.waiters == 0 {
        return TokenStream::new();
    }
    let pools = (0..g.cfg.pools.len()).map(|i| g.pool(i));
    quote!(#(#pools.reset_waits();)*)
}
