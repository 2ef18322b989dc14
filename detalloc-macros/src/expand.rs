//! A valid [`Config`] to the heap's code: the struct, its constants, the generated dispatch
//! (pool sizes as immediates), and the `Heap` / `GlobalAlloc` / `Allocator` impls. Runtime
//! items are named only through `::detalloc::__private`.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use crate::model::{Config, PoolDef, SyncMode, Validate};

pub fn expand(cfg: &Config) -> TokenStream {
    let p = quote!(::detalloc::__private);
    let Config { attrs, vis, ident: name, .. } = cfg;
    let g = Generator::new(cfg);
    let lock = g.lock();
    let stats = if cfg.stats { quote!(#p::StatsOn) } else { quote!(#p::StatsOff) };
    let timer = g.timer();
    let errors = match (cfg.stats, cfg.sync.value) {
        (false, _) => quote!(#p::NoErrors),
        (true, SyncMode::LockFree) => quote!(#p::AtomicErrors),
        (true, _) => quote!(#p::LockedErrors<#lock>),
    };
    let hooks = match &cfg.hooks {
        Some(ty) => quote!(#ty),
        None => quote!(#p::NoHooks),
    };
    let (blocks, pools) = (&g.blocks, &g.pools);
    let blocks_types = cfg.pools.iter().map(|d| {
        let (s, n) = (usize_lit(d.size), usize_lit(d.count));
        let marker = format_ident!("Align{}", d.align());
        quote!(#p::Blocks<#s, #n, #p::#marker>)
    });
    let pool_types = cfg.pools.iter().map(|d| {
        let (s, n, w) = (usize_lit(d.size), usize_lit(d.count), words(d, cfg.validate));
        if cfg.sync.value == SyncMode::LockFree {
            quote!(#p::LockFreePool<#s, #n, #w, #stats>)
        } else {
            quote!(#p::Pool<#s, #n, #w, #lock, #stats>)
        }
    });
    let pool_types: Vec<TokenStream> = pool_types.collect();
    let count = cfg.pools.len();
    let specs = cfg.pools.iter().map(|d| {
        let (s, n, a) = (usize_lit(d.size), usize_lit(d.count), usize_lit(d.align()));
        quote!(#p::PoolSpec { block_size: #s, blocks: #n, align: #a })
    });
    let total = Literal::usize_suffixed(cfg.total_bytes as usize);
    let summary = summary(cfg, &total);
    let name_str = name.to_string();
    let allocate = g.dispatch(|i| g.alloc_arm(i), quote!(::core::option::Option::None));
    let deallocate = g.dispatch(
        |i| g.free_arm(i),
        quote!(::core::result::Result::Err(#p::classify(&self.__ranges(), ptr))),
    );
    let prefetch = g.dispatch(
        |i| {
            let (b, pl) = (&blocks[i], &pools[i]);
            quote!(self.#pl.prefetch(&self.#b))
        },
        quote!(()),
    );
    let select = g.dispatch(
        |i| {
            let i = Literal::usize_unsuffixed(i);
            quote!(::core::option::Option::Some(#i))
        },
        quote!(::core::option::Option::None),
    );
    let guards = target_guards(cfg);

    quote! {
        #(#attrs)*
        #vis struct #name {
            #(#blocks: #blocks_types,)*
            #(#pools: #pool_types,)*
            __heap: #p::HeapState<#errors, #timer>,
        }

        #guards

        #[allow(unused_qualifications, unused_unsafe, clippy::all, clippy::pedantic, clippy::nursery)]
        const _: () = {
            impl #name {
                /// The empty heap. Writes nothing: its all-zero state is the empty heap, so a
                /// `static` lands in `.bss`.
                #[inline]
                pub const fn new() -> Self {
                    Self {
                        #(#blocks: #p::Blocks::new(),)*
                        #(#pools: <#pool_types>::new(),)*
                        __heap: #p::HeapState::new(),
                    }
                }

                /// The pools in declaration order: block size, block count, block alignment.
                pub const POOLS: &'static [#p::PoolSpec] = &[#(#specs),*];

                /// Bytes of blocks in all pools (buffers only, no metadata).
                pub const TOTAL_BYTES: usize = #total;

                /// One line describing the heap, built at compile time for the target
                /// (the metadata figure is `size_of::<Self>() - TOTAL_BYTES`).
                pub const SUMMARY: &'static str = #summary;

                #[inline(always)]
                fn __views(&self) -> [#p::PoolView<'_>; #count] {
                    // SAFETY: each pool field is paired with its own blocks field.
                    [#(unsafe { #p::PoolView::new(&self.#pools, &self.#blocks) }),*]
                }

                #[inline(always)]
                fn __ranges(&self) -> [#p::PoolRange; #count] {
                    [#(#p::PoolRange::new(&self.#blocks)),*]
                }
            }

            impl #p::Dispatch for #name {
                const SPECS: &'static [#p::PoolSpec] = Self::POOLS;

                #[inline(always)]
                fn select(size: usize, align: usize) -> ::core::option::Option<usize> {
                    #select
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
                    let mark = self.__heap.start();
                    let size = layout.size();
                    let align = layout.align();
                    let outcome = #allocate;
                    #p::finish_alloc::<#hooks, _, _>(&self.__heap, mark, outcome, layout)
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
                    let outcome: ::core::result::Result<usize, #p::FreeError> = #deallocate;
                    #p::finish_free::<#hooks, _, _>(&self.__heap, mark, outcome, ptr, layout)
                }

                fn stats(&self) -> #p::Stats {
                    #p::stats(&self.__views(), &self.__heap)
                }

                fn pool_stats(&self, pool: usize) -> ::core::option::Option<#p::PoolStats> {
                    #p::pool_stats(&self.__views(), pool)
                }

                fn reset_stats(&self) {
                    #p::reset_stats(&self.__views(), &self.__heap)
                }

                fn validate(&self) -> ::core::result::Result<(), #p::Corruption> {
                    #p::validate(&self.__views())
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

/// Field names and per-pool code fragments.
struct Generator<'a> {
    cfg: &'a Config,
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

    fn lock(&self) -> TokenStream {
        let p = quote!(::detalloc::__private);
        match self.cfg.sync.value {
            SyncMode::Local => quote!(#p::Local),
            SyncMode::Spin => quote!(#p::Spin),
            SyncMode::CriticalSection => quote!(#p::CriticalSection),
            // No lock: named only by the error counters, which are atomics in this mode.
            SyncMode::LockFree => quote!(#p::Local),
        }
    }

    /// The heap's timer: none, or the clock with a record suited to the sync mode.
    fn timer(&self) -> TokenStream {
        let p = quote!(::detalloc::__private);
        let Some(clock) = &self.cfg.wcet else { return quote!(#p::NoTimer) };
        let record = match self.cfg.sync.value {
            SyncMode::Local => quote!(#p::LocalTicks),
            SyncMode::CriticalSection => quote!(#p::CriticalTicks),
            SyncMode::Spin | SyncMode::LockFree => quote!(#p::AtomicTicks),
        };
        quote!(#p::Timed<#clock, #record>)
    }

    /// Whether a request fits pool `i`: `size <= S && align <= A`. For a power-of-two size
    /// (`A == S`) that is `max(size, align) <= S`: one comparison against `key`, which the
    /// dispatch computes once.
    fn fits(&self, i: usize) -> TokenStream {
        let d = &self.cfg.pools[i];
        let (s, a) = (usize_lit(d.size), usize_lit(d.align()));
        if d.align() == d.size { quote!(key <= #s) } else { quote!(size <= #s && align <= #a) }
    }

    /// `if fits(0) { arm(0) } else if fits(1) { arm(1) } ... else { none }`: the smallest pool
    /// that fits, with the sizes as immediates.
    fn dispatch(&self, arm: impl Fn(usize) -> TokenStream, none: TokenStream) -> TokenStream {
        let mut chain = quote!({ #none });
        for i in (0..self.cfg.pools.len()).rev() {
            let (cond, body) = (self.fits(i), arm(i));
            chain = quote!(if #cond { #body } else #chain);
        }
        quote!({
            let key = if size > align { size } else { align };
            #chain
        })
    }

    /// Pool `i` serves the request; with `spill`, the larger pools the request fits are tried
    /// in turn when it is exhausted.
    fn alloc_arm(&self, i: usize) -> TokenStream {
        let take = |j: usize| {
            let (b, pl, idx) = (&self.blocks[j], &self.pools[j], Literal::usize_unsuffixed(j));
            // SAFETY (in the expansion): each pool field is paired with its own blocks field.
            quote!(unsafe { self.#pl.alloc(&self.#b) }.map(|block| (#idx, block)))
        };
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
                let a = usize_lit(a);
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

    /// The free for a layout that selects pool `i`. Without `spill` the block must be in pool
    /// `i`; with it, in `i` or a larger pool the layout fits, found by address.
    fn free_arm(&self, i: usize) -> TokenStream {
        let p = quote!(::detalloc::__private);
        let release = |j: usize| {
            let (b, pl, idx) = (&self.blocks[j], &self.pools[j], Literal::usize_unsuffixed(j));
            quote!(unsafe { self.#pl.free(&self.#b, ptr) }.map(|()| #idx))
        };
        if !self.cfg.spill {
            let (b, pl, idx) = (&self.blocks[i], &self.pools[i], Literal::usize_unsuffixed(i));
            return quote! {
                #p::refine(unsafe { self.#pl.free(&self.#b, ptr) }, || #p::classify(&self.__ranges(), ptr))
                    .map(|()| #idx)
            };
        }
        let known = self.cfg.pools[i].align();
        let mut chain =
            quote!({ ::core::result::Result::Err(#p::classify(&self.__ranges(), ptr)) });
        for j in (i..self.cfg.pools.len()).rev() {
            let b = &self.blocks[j];
            let owns = quote!(self.#b.offset_of(ptr).is_some());
            let a = self.cfg.pools[j].align();
            let cond = if a >= known {
                owns
            } else {
                let a = usize_lit(a);
                quote!(align <= #a && #owns)
            };
            let body = release(j);
            chain = quote!(if #cond { #body } else #chain);
        }
        chain
    }
}

fn usize_lit(value: u64) -> Literal {
    Literal::u64_unsuffixed(value)
}

/// Bitmap words for a pool: `ceil(N / 32)` when validating, 0 when not, and for `debug` a
/// const expression evaluated in the user's crate (so it follows *their* build profile).
fn words(d: &PoolDef, validate: Validate) -> TokenStream {
    let w = usize_lit(d.count.div_ceil(32));
    match validate {
        Validate::On => quote!(#w),
        Validate::Off => quote!(0),
        Validate::Debug => quote!({ if ::core::cfg!(debug_assertions) { #w } else { 0 } }),
    }
}

fn summary(cfg: &Config, total: &Literal) -> TokenStream {
    let name = &cfg.ident;
    let list = cfg
        .pools
        .iter()
        .map(|d| format!("{} x {}", d.size, d.count))
        .collect::<Vec<_>>()
        .join(", ");
    let plural = if cfg.pools.len() == 1 { "" } else { "s" };
    let head = format!("{name}: {} pool{plural} [{list}], ", cfg.pools.len());
    let mut tail = format!(
        " B metadata, sync={} stats={} validate={}",
        cfg.sync.value.name(),
        if cfg.stats { "on" } else { "off" },
        cfg.validate.name()
    );
    if cfg.spill {
        tail.push_str(" spill=on");
    }
    if let Some(clock) = &cfg.wcet {
        let shown = match &**clock {
            syn::Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
            _ => None,
        };
        tail.push_str(" wcet=");
        tail.push_str(shown.as_deref().unwrap_or("on"));
    }
    if let Some(preset) = cfg.preset {
        tail.push_str(" preset=");
        tail.push_str(preset.name());
    }
    quote! {
        ::detalloc::__private::const_format::concatcp!(
            #head, #total, " B of blocks + ", ::core::mem::size_of::<#name>() - #total, #tail
        )
    }
}

/// Checks only the target can make, as standalone items spanned at the user's tokens: the
/// pools must fit the target's `isize`, and the sync mode must be one the target can do.
fn target_guards(cfg: &Config) -> TokenStream {
    let mut out = TokenStream::new();
    for (i, d) in cfg.pools.iter().enumerate() {
        let bytes = Literal::u128_suffixed(u128::from(d.bytes()));
        let msg = format!(
            "pool {i} ({} x {}) needs {} B, more than `isize::MAX` on this target",
            d.size,
            d.count,
            d.bytes()
        );
        out.extend(quote_spanned! {d.span=>
            const _: () = ::core::assert!(#bytes <= ::core::primitive::isize::MAX as u128, #msg);
        });
    }
    let total = Literal::u128_suffixed(u128::from(cfg.total_bytes));
    let msg = format!(
        "the pools need {} B in all, more than `isize::MAX` on this target",
        cfg.total_bytes
    );
    out.extend(quote_spanned! {cfg.pools_span=>
        const _: () = ::core::assert!(#total <= ::core::primitive::isize::MAX as u128, #msg);
    });
    let span = cfg.sync.span;
    match cfg.sync.value {
        SyncMode::Spin => out.extend(quote_spanned! {span=>
            #[cfg(not(target_has_atomic = "32"))]
            ::core::compile_error! {
                "`sync: spin` needs 32-bit compare-and-swap, which this target lacks: use `sync: critical_section`"
            }
        }),
        SyncMode::CriticalSection => out.extend(quote_spanned! {span=>
            ::detalloc::__private::require_critical_section! {}
        }),
        SyncMode::LockFree => {
            out.extend(quote_spanned! {span=>
                #[cfg(not(target_has_atomic = "32"))]
                ::core::compile_error! {
                    "`sync: lock_free` needs compare-and-swap, which this target lacks: use `sync: critical_section`"
                }
            });
            for (i, d) in cfg.pools.iter().enumerate() {
                let blocks = Literal::u64_unsuffixed(d.count);
                let msg = format!(
                    "pool {i} ({} x {}) has {} blocks; `sync: lock_free` on a target with only 32-bit \
                     compare-and-swap indexes at most 65535 blocks per pool (16-bit index + 16-bit tag): \
                     split the pool or use `sync: spin`",
                    d.size, d.count, d.count
                );
                out.extend(quote_spanned! {d.span=>
                    #[cfg(all(target_has_atomic = "32", not(target_has_atomic = "64")))]
                    const _: () = ::core::assert!(#blocks <= 65535u64, #msg);
                });
            }
        }
        SyncMode::Local => {}
    }
    out
}
