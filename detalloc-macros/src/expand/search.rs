//! The generated searches, one arm per pool with the sizes as immediates, no loop and no table
//! (so every path through them is loop-free at every opt-level, whatever the optimizer
//! unrolls):
//!
//! * [`Generator::by_layout`]: the smallest pool a layout fits (the size-class dispatch): a
//!   balanced search on `max(size, align)` when every block size is a power of two, else
//!   `if fits(0) { arm(0) } else if fits(1) { arm(1) } ... else { none }`;
//! * [`Generator::by_address`]: the pool whose buffer holds a pointer;
//! * [`Generator::by_index`]: the pool of a run-time index.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::{Generator, lit};

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
            let first = self.buffer(order[0].0);
            return quote!({
                let off = ptr.as_ptr().addr().wrapping_sub(#first.base().as_ptr().addr());
                #search
            });
        }
        let mut chain = quote!({ #none });
        for (i, d) in self.indexed().collect::<Vec<_>>().into_iter().rev() {
            let (buffer, bytes, body) = (self.buffer(i), lit(d.bytes()), arm(i));
            chain = quote!({
                let offset = addr.wrapping_sub(#buffer.base().as_ptr().addr());
                if offset < #bytes { #body } else #chain
            });
        }
        quote!({
            let addr = ptr.as_ptr().addr();
            #chain
        })
    }

    /// `if pool == 0 { arm(0) } else if pool == 1 { arm(1) } ... else { None }`: one arm per
    /// pool on a run-time index `pool` (`usize`).
    pub fn by_index(&self, arm: impl Fn(usize) -> TokenStream) -> TokenStream {
        let mut chain = quote!({ ::core::option::Option::None });
        for i in (0..self.cfg.pools.len()).rev() {
            let (idx, body) = (Literal::usize_unsuffixed(i), arm(i));
            chain = quote!(if pool == #idx { #body } else #chain);
        }
        chain
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
