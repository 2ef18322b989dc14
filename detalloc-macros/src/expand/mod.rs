//! A valid [`Config`] to the heap's code, one file per generated concern (the rtic-macros
//! style): each path builds its own methods, the trait shells assemble them.
//!
//! * `types.rs`: the struct, `new`, `POOLS`, `TOTAL_BYTES`, `SECTIONS`, `SUMMARY`; for the
//!   static form, one static per pool buffer and the heap static, inside a hidden module;
//! * `search.rs`: the generated searches, one arm per pool with the sizes as immediates: by
//!   layout (the size-class dispatch), by address, by index;
//! * `alloc.rs`: the allocation path (`__alloc_in_pools`, `allocate_block`,
//!   `allocate_quietly`, `Heap::allocate`, `prefetch`);
//! * `free.rs`: the free path (`Heap::deallocate`, checked or trusting, and its cold ends);
//! * `resize.rs`: what resizing needs (`select`, `holder`, `keep`);
//! * `waiting.rs`: `waiters: K` (`allocate_wait`, the `Waiting` impl, the wait counters);
//! * `traits.rs`: the shells: the inherent helpers, `Dispatch`, `Heap`, `GlobalAlloc`,
//!   allocator-api2;
//! * `guards.rs`: what only the target can decide (its pointer width, its atomics);
//! * `arena.rs`: an arena declaration (`arena: SIZE`), on its own: its struct, constants and
//!   `Arena` impl.
//!
//! Runtime items are named only through `::detalloc::__private` ([`runtime`]).

mod alloc;
mod arena;
mod free;
mod guards;
mod resize;
mod search;
mod traits;
mod types;
mod waiting;

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use crate::model::{Config, Form, PoolDef, Validate};

/// The path of every runtime item the expansion names.
pub fn runtime() -> TokenStream {
    quote!(::detalloc::__private)
}

pub fn expand(cfg: &Config) -> TokenStream {
    let g = Generator::new(cfg);
    if let Some(arena) = &cfg.arena {
        return arena::expand(&g, arena);
    }
    let mut items = types::items(&g);
    items.push(traits::items(&g));
    items.push(waiting::items(&g));
    let items = match &cfg.form {
        Form::Struct => items,
        Form::Static { value } => types::hidden_module(cfg, value, items),
    };
    guards::gate(&g, items)
}

/// The configuration with the names of the generated fields.
pub struct Generator<'a> {
    pub cfg: &'a Config,
    buffers: Vec<Ident>,
    pools: Vec<Ident>,
}

impl<'a> Generator<'a> {
    fn new(cfg: &'a Config) -> Self {
        let count = cfg.pools.len();
        Self {
            cfg,
            buffers: (0..count).map(|i| format_ident!("__buffer_{}", i)).collect(),
            pools: (0..count).map(|i| format_ident!("__pool_{}", i)).collect(),
        }
    }

    /// The pools with their index.
    pub fn indexed(&self) -> impl Iterator<Item = (usize, &PoolDef)> {
        self.cfg.pools.iter().enumerate()
    }

    /// Pool `i`'s buffer, as a place: the field `self.__buffer_i` (struct form) or the static
    /// `__buffer_i` (static form: its address is a link-time constant).
    pub fn buffer(&self, i: usize) -> TokenStream {
        let b = &self.buffers[i];
        match self.cfg.form {
            Form::Struct => quote!(self.#b),
            Form::Static { .. } => {
                let s = self.buffer_static(i);
                quote!(#s)
            }
        }
    }

    /// The static form's static holding pool `i`'s buffer.
    pub fn buffer_static(&self, i: usize) -> Ident {
        format_ident!("__BUFFER_{}", i)
    }

    /// Whether the struct holds the buffers (struct form) or they are statics (static form).
    pub fn buffers_in_struct(&self) -> bool {
        matches!(self.cfg.form, Form::Struct)
    }

    /// Pool `i`'s state, as a place: `self.__pool_i`.
    pub fn pool(&self, i: usize) -> TokenStream {
        let p = &self.pools[i];
        quote!(self.#p)
    }

    pub fn buffer_field(&self, i: usize) -> &Ident {
        &self.buffers[i]
    }

    pub fn pool_field(&self, i: usize) -> &Ident {
        &self.pools[i]
    }

    /// The struct form's buffers in the order the struct (`repr(C)`) holds them: by
    /// alignment, largest first (declaration order among equals), with each one's offset from
    /// the first. A buffer's bytes are a multiple of its alignment, hence of every later one's,
    /// so no padding lies between them: together they are one range, `[0, last end)`.
    pub fn buffer_order(&self) -> Vec<(usize, u64)> {
        let mut order: Vec<usize> = (0..self.cfg.pools.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(self.cfg.pools[i].align()));
        let mut start = 0;
        order
            .into_iter()
            .map(|i| {
                let at = start;
                start += self.cfg.pools[i].bytes();
                (i, at)
            })
            .collect()
    }

    /// Whether the pools keep validation records (see [`validating`]).
    pub fn validating(&self) -> TokenStream {
        validating(self.cfg.validate)
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

/// Whether pools with `validate` keep validation records, as a `bool` const expression
/// evaluated in the user's crate (`validate: debug` follows *their* build profile).
pub fn validating(validate: Validate) -> TokenStream {
    match validate {
        Validate::On => quote!(true),
        Validate::Off => quote!(false),
        Validate::Debug => quote!(::core::cfg!(debug_assertions)),
    }
}
