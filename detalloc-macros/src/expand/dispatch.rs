//! The generated chains: one arm per pool, the pool sizes as immediates, no loop and no table
//! (so `allocate` and `deallocate` are loop-free at every opt-level, whatever the optimizer
//! unrolls).
//!
//! * [`Generator::by_layout`]: the smallest pool a layout fits, the size-class dispatch: a
//!   balanced search on `max(size, align)` when every block size is a power of two, else
//!   `if fits(0) { arm(0) } else if fits(1) { arm(1) } ... else { none }`.
//! * [`Generator::by_address`]: the pool whose buffer holds a pointer: the free without
//!   validation, and with validation a free the selected pool does not hold (refused,
//!   spilled, or a block kept in place by a shrink).

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::{Generator, lit, runtime};

impl Generator<'_> {
    /// Whether a request `size`/`align` fits pool `i`: `size <= S && align <= A`. For a
    /// power-of-two size (`A == S`) that is `max(size, align) <= S`: one comparison against
    /// `key`, which the dispatch computes once.
    pub fn fits(&self, i: usize) -> TokenStream {
        let d = &self.cfg.pools[i];
        let (s, a) = (lit(d.size), lit(d.align()));
        if d.align() == d.size { quote!(key <= #s) } else { quote!(size <= #s && align <= #a) }
    }

    /// The size-class dispatch over `size` and `align` (in scope where it is used).
    ///
    /// When every block size is a power of two, each pool takes a range of `key` (sizes are
    /// strictly ascending) and the dispatch is a balanced search: `ceil(log2(pools + 1))`
    /// compares on every path. Otherwise a chain, the pools in order (a pool of another size
    /// fits by size and alignment apart).
    pub fn by_layout(&self, arm: impl Fn(usize) -> TokenStream, none: TokenStream) -> TokenStream {
        let search = if self.cfg.pools.iter().all(|d| d.align() == d.size) {
            let mut outcomes: Vec<_> = self.indexed().map(|(i, d)| (d.size + 1, arm(i))).collect();
            outcomes.push((0, quote!({ #none })));
            binary_search(&quote!(key), &outcomes)
        } else {
            let mut chain = quote!({ #none });
            for i in (0..self.cfg.pools.len()).rev() {
                let (cond, body) = (self.fits(i), arm(i));
                chain = quote!(if #cond { #body } else #chain);
            }
            chain
        };
        quote!({
            let key = if size > align { size } else { align };
            #search
        })
    }

    /// The pool whose buffer holds `ptr` (in scope where it is used): `arm(i)` runs with
    /// `offset`, the byte offset of `ptr` in pool `i`; `none` when no pool holds it.
    ///
    /// The struct form's buffers are one range (see [`Generator::buffer_order`]): one
    /// subtraction, then a balanced search over the buffers' ends (`ceil(log2(pools + 1))`
    /// compares). The static form's buffers are statics the linker places, in an order not
    /// known here: a subtraction and a compare per pool, in declaration order.
    pub fn by_address(&self, arm: impl Fn(usize) -> TokenStream, none: TokenStream) -> TokenStream {
        if self.buffers_in_struct() {
            let order = self.buffer_order();
            let mut outcomes: Vec<_> = order
                .iter()
                .map(|&(i, start)| {
                    let (at, body) = (lit(start), arm(i));
                    let end = start + self.cfg.pools[i].bytes();
                    (end, quote!({ let offset = off.wrapping_sub(#at); #body }))
                })
                .collect();
            outcomes.push((0, quote!({ #none })));
            let search = binary_search(&quote!(off), &outcomes);
            let first = self.blocks(order[0].0);
            return quote!({
                let off = ptr.as_ptr().addr().wrapping_sub(#first.base().as_ptr().addr());
                #search
            });
        }
        let mut chain = quote!({ #none });
        for (i, d) in self.indexed().collect::<Vec<_>>().into_iter().rev() {
            let (blocks, bytes, body) = (self.blocks(i), lit(d.bytes()), arm(i));
            chain = quote!({
                let offset = addr.wrapping_sub(#blocks.base().as_ptr().addr());
                if offset < #bytes { #body } else #chain
            });
        }
        quote!({
            let addr = ptr.as_ptr().addr();
            #chain
        })
    }

    /// Pool `i` serves the request; with `spill`, the larger pools the request fits are tried
    /// in turn when it is exhausted. `Option<(pool, whole block)>`.
    pub fn alloc_arm(&self, i: usize) -> TokenStream {
        let take = |j: usize| self.take_arm(j);
        let first = take(i);
        if !self.cfg.spill {
            return first;
        }
        let known = self.cfg.pools[i].align();
        let more = (i + 1..self.cfg.pools.len()).map(|j| {
            let next = take(j);
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

    /// Pool `i` alone hands out a block: `Option<(pool, whole block)>`.
    pub fn take_arm(&self, i: usize) -> TokenStream {
        let (blocks, pool) = (self.blocks(i), self.pool(i));
        let (idx, s) = (Literal::usize_unsuffixed(i), lit(self.cfg.pools[i].size));
        // SAFETY (in the expansion): each pool is paired with its own buffer.
        quote! {
            unsafe { #pool.alloc(&#blocks) }
                .map(|block| (#idx, ::core::ptr::NonNull::slice_from_raw_parts(block, #s)))
        }
    }

    /// The free of a layout that selects pool `i`: that pool's free (`Result<pool,
    /// FreeError>`), or, when the pointer lies outside it, a tail call of the whole rest of
    /// the free to the cold by-address search (so the hot path merges nothing with it).
    pub fn free_arm(&self, i: usize) -> TokenStream {
        let p = runtime();
        let (blocks, pool, idx) = (self.blocks(i), self.pool(i), Literal::usize_unsuffixed(i));
        let found = self.free_found_call();
        quote! {
            match unsafe { #pool.free(&#blocks, ptr) } {
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
                let (blocks, pool) = (self.blocks(i), self.pool(i));
                let idx = Literal::usize_unsuffixed(i);
                // SAFETY (in the expansion): the pool is paired with its own buffer, and the
                // search put `offset` below its `S * N`; that `ptr` is a block start this
                // pool handed out and not freed since is `deallocate`'s contract, which
                // without validation is trusted (as the layout is).
                quote! {
                    unsafe { #pool.free_found(&#blocks, offset, true) }.map(|wake| {
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

    /// `self.__free_found(ptr, layout, mark)`: the rest of a free whose pool is found by
    /// address, finish included.
    pub fn free_found_call(&self) -> TokenStream {
        quote!(unsafe { self.__free_found(ptr, layout, mark) })
    }

    /// The body of `__free_found`: the pool holding `ptr` by address. Not at a block start:
    /// `Misaligned`; a pool the layout does not fit: `WrongPool`; otherwise that pool decides
    /// (right with `spill`, or for a block kept there by a shrink). In no pool: `Foreign`.
    pub fn found_free(&self) -> TokenStream {
        let p = runtime();
        let spill = self.cfg.spill;
        self.by_address(
            |i| {
                let d = &self.cfg.pools[i];
                let (blocks, pool, s) = (self.blocks(i), self.pool(i), lit(d.size));
                let idx = Literal::usize_unsuffixed(i);
                let fits = self.fits(i);
                quote! {
                    if offset % #s != 0 {
                        ::core::result::Result::Err(#p::FreeError::Misaligned)
                    } else if { let key = if size > align { size } else { align }; #fits } {
                        unsafe { #pool.free_found(&#blocks, offset, #spill) }.map(|wake| {
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

    /// The body of `Dispatch::holder`: the pool whose buffer holds `ptr`, when `ptr` is one
    /// of its block starts, with the pool's block size and alignment as immediates.
    pub fn holder(&self) -> TokenStream {
        let p = runtime();
        self.by_address(
            |i| {
                let d = &self.cfg.pools[i];
                let (s, a, idx) = (lit(d.size), lit(d.align()), Literal::usize_unsuffixed(i));
                quote! {
                    if offset % #s == 0 {
                        ::core::option::Option::Some(#p::Holder {
                            pool: #idx,
                            offset,
                            block_size: #s,
                            align: #a,
                        })
                    } else {
                        ::core::option::Option::None
                    }
                }
            },
            quote!(::core::option::Option::None),
        )
    }

    /// The body of `Dispatch::keep`: marks the block at `offset` of pool `pool` as kept.
    pub fn keep(&self) -> TokenStream {
        let arms = self.by_index(|i| {
            let pool = self.pool(i);
            quote!({
                #pool.keep(offset);
                ::core::option::Option::Some(())
            })
        });
        quote!(let _ = #arms;)
    }
}

/// A balanced search over consecutive ranges of `value`: outcome `k` covers `[end of k - 1,
/// end of k)` (the first from 0, the last one everything beyond): `ceil(log2(outcomes))`
/// compares on every path, where a chain would need one per outcome before it.
fn binary_search(value: &TokenStream, outcomes: &[(u64, TokenStream)]) -> TokenStream {
    if let [(_, only)] = outcomes {
        return only.clone();
    }
    let mid = outcomes.len() / 2;
    let bound = lit(outcomes[mid - 1].0);
    let below = binary_search(value, &outcomes[..mid]);
    let above = binary_search(value, &outcomes[mid..]);
    quote!(if #value < #bound { #below } else { #above })
}
