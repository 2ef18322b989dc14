//! A valid [`Config`] to the heap's code, one file per generated concern:
//!
//! * `layout.rs`: the struct, `new`, `POOLS`, `TOTAL_BYTES`, `SUMMARY`;
//! * `dispatch.rs`: the generated chains, one arm per pool with the sizes as immediates: the
//!   size-class dispatch of `allocate`/`deallocate`, and the by-address chain of a free the
//!   selected pool does not hold;
//! * `impls.rs`: `Dispatch`, `Heap`, `GlobalAlloc`, allocator-api2;
//! * `guards.rs`: what only the target can decide (its pointer width, its atomics).
//!
//! Runtime items are named only through `::detalloc::__private` ([`runtime`]).

mod dispatch;
mod guards;
mod impls;
mod layout;

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use crate::model::{Config, PoolDef};

/// The path of every runtime item the expansion names.
pub fn runtime() -> TokenStream {
    quote!(::detalloc::__private)
}

pub fn expand(cfg: &Config) -> TokenStream {
    let g = Generator::new(cfg);
    let mut items = layout::items(&g);
    items.push(impls::items(&g));
    guards::gate(&g, items)
}

/// The configuration with the names of the generated fields.
pub struct Generator<'a> {
    pub cfg: &'a Config,
    blocks: Vec<Ident>,
    pools: Vec<Ident>,
}

impl<'a> Generator<'a> {
    fn new(cfg: &'a Config) -> Self {
        let count = cfg.pools.len();
        Self {
            cfg,
            blocks: (0..count).map(|i| format_ident!("__blocks_{}", i)).collect(),
            pools: (0..count).map(|i| format_ident!("__pool_{}", i)).collect(),
        }
    }

    /// The pools with their index.
    pub fn indexed(&self) -> impl Iterator<Item = (usize, &PoolDef)> {
        self.cfg.pools.iter().enumerate()
    }

    /// Pool `i`'s buffer, as a place: `self.__blocks_i`.
    pub fn blocks(&self, i: usize) -> TokenStream {
        let b = &self.blocks[i];
        quote!(self.#b)
    }

    /// Pool `i`'s state, as a place: `self.__pool_i`.
    pub fn pool(&self, i: usize) -> TokenStream {
        let p = &self.pools[i];
        quote!(self.#p)
    }

    pub fn block_field(&self, i: usize) -> &Ident {
        &self.blocks[i]
    }

    pub fn pool_field(&self, i: usize) -> &Ident {
        &self.pools[i]
    }

    /// The hooks type (`NoHooks` without `hooks:`).
    pub fn hooks(&self) -> TokenStream {
        let p = runtime();
        match &self.cfg.hooks {
            Some(ty) => quote!(#ty),
            None => quote!(#p::NoHooks),
        }
    }
}

/// An integer literal without suffix (a `usize` in its context).
pub fn lit(value: u64) -> Literal {
    Literal::u64_unsuffixed(value)
}
