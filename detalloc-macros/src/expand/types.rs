//! The heap's struct and its constants: one pool state field per pool and the heap-level state,
//! and (struct form) one `Buffer` field per pool, the buffers back to back (`repr(C)`); `new`,
//! `POOLS`, `TOTAL_BYTES`, `SECTIONS`, `SUMMARY`.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use super::{Generator, lit, runtime};
use crate::model::{Config, Form, PoolDef, SyncMode, Validate};

/// The struct and its inherent constants (and, for the static form, the buffer statics and the
/// heap static), one item each.
pub fn items(g: &Generator<'_>) -> Vec<TokenStream> {
    let mut items = vec![strukt(g), constants(g)];
    items.extend(statics(g));
    items
}

/// The struct form (`repr(C)`) holds the buffers largest alignment first: one range with
/// offsets known here (the lean free finds a pool by address with a balanced search).
fn buffer_fields(g: &Generator<'_>) -> Vec<(Ident, TokenStream, u64)> {
    let order = if g.buffers_in_struct() { g.buffer_order() } else { Vec::new() };
    order
        .iter()
        .map(|&(i, at)| (g.buffer_field(i).clone(), buffer_type(&g.cfg.pools[i]), at))
        .collect()
}

/// The heap's struct: one state per pool and the heap state; in the struct form the buffers
/// too. The states go first, within an immediate offset of the heap's address, when that costs
/// no byte: when the buffers' total is a multiple of their largest alignment (the padding after
/// the states is then what the type's size rounds up to anyway); otherwise after them, in the
/// padding the size rounds up to.
fn strukt(g: &Generator<'_>) -> TokenStream {
    let name = &g.cfg.ident;
    let vis = item_vis(g.cfg);
    let order = if g.buffers_in_struct() { g.buffer_order() } else { Vec::new() };
    let states_first = order
        .first()
        .is_none_or(|&(i, _)| g.cfg.total_bytes.is_multiple_of(g.cfg.pools[i].align()));
    let (fields, field_types): (Vec<_>, Vec<_>) =
        buffer_fields(g).into_iter().map(|(field, ty, _)| (field, ty)).unzip();
    let pools: Vec<_> = g.indexed().map(|(i, _)| g.pool_field(i).clone()).collect();
    let pool_types: Vec<_> = g.cfg.pools.iter().map(|d| pool_type(g.cfg, d)).collect();
    let heap_state = heap_state(g.cfg);
    let (attrs, docs) = match &g.cfg.form {
        Form::Struct => (&g.cfg.attrs[..], quote!(#[repr(C)])),
        Form::Static { value } => {
            let doc = format!(
                "The heap type of [`{value}`], declared with `detalloc!`'s static form: that \
                 static is its only value (each pool's buffer is a static of its own, so there \
                 is no `new()`)."
            );
            (&[][..], quote!(#[doc = #doc]))
        }
    };
    let states = quote! {
        #(#pools: #pool_types,)*
        __heap: #heap_state,
    };
    let buffers = quote!(#(#fields: #field_types,)*);
    let fields = if states_first { quote!(#states #buffers) } else { quote!(#buffers #states) };
    quote! {
        #(#attrs)*
        #docs
        #vis struct #name {
            #fields
        }
    }
}

/// The constructor (`new`, or the static form's private `__new`), `POOLS`, `SECTIONS`,
/// `TOTAL_BYTES`, `SUMMARY`, and the assertion that the struct form's buffers lie back to back.
fn constants(g: &Generator<'_>) -> TokenStream {
    let p = runtime();
    let name = &g.cfg.ident;
    let buffers = buffer_fields(g);
    let fields: Vec<_> = buffers.iter().map(|(field, _, _)| field.clone()).collect();
    let starts = buffers.iter().map(|&(_, _, at)| Literal::usize_unsuffixed(at as usize));
    let first = fields.first();
    let pools: Vec<_> = g.indexed().map(|(i, _)| g.pool_field(i).clone()).collect();
    let pool_types: Vec<_> = g.cfg.pools.iter().map(|d| pool_type(g.cfg, d)).collect();
    let specs = g.cfg.pools.iter().map(|d| {
        let (s, n, a) = (lit(d.size), lit(d.count), lit(d.align()));
        quote!(#p::PoolSpec { block_size: #s, blocks: #n, align: #a })
    });
    let total = Literal::usize_suffixed(g.cfg.total_bytes as usize);
    let summary = summary(g.cfg, &total);
    let sections = g.cfg.pools.iter().map(|d| match &d.section {
        Some(name) => quote!(::core::option::Option::Some(#name)),
        None => quote!(::core::option::Option::None),
    });
    let init = quote! {
        Self {
            #(#fields: #p::Buffer::new(),)*
            #(#pools: <#pool_types>::new(),)*
            __heap: #p::HeapState::new(),
        }
    };
    let constructor = match &g.cfg.form {
        Form::Struct => quote! {
            /// The empty heap. Writes nothing: its all-zero state is the empty heap, so a
            /// `static` lands in `.bss`.
            #[inline]
            pub const fn new() -> Self {
                #init
            }
        },
        // Private: only the heap static (in the same hidden module) is made with it.
        Form::Static { .. } => quote! {
            const fn __new() -> Self {
                #init
            }
        },
    };
    quote! {
        #[allow(unused_qualifications, clippy::all, clippy::pedantic, clippy::nursery)]
        const _: () = {
            impl #name {
                #constructor

                /// The pools in declaration order: block size, block count, block alignment.
                pub const POOLS: &'static [#p::PoolSpec] = &[#(#specs),*];

                /// The linker section of each pool's buffer (`in unsafe("SECTION")` in the static
                /// form), in declaration order; `None` where Rust places it.
                pub const SECTIONS: &'static [::core::option::Option<&'static str>] = &[#(#sections),*];

                /// Bytes of blocks in all pools (buffers only, no metadata).
                pub const TOTAL_BYTES: usize = #total;

                /// One line describing the heap, built at compile time for the target (the
                /// metadata figure is the size of everything but the pools' buffers).
                pub const SUMMARY: &'static str = #summary;
            }

            // The buffers lie back to back from the first (what the by-address free assumes).
            #(assert!(
                ::core::mem::offset_of!(#name, #fields) - ::core::mem::offset_of!(#name, #first)
                    == #starts
            );)*
        };
    }
}

/// The static form's statics: one per pool buffer (in its section, if placed) and the heap.
fn statics(g: &Generator<'_>) -> Vec<TokenStream> {
    let p = runtime();
    let (name, vis) = (&g.cfg.ident, item_vis(g.cfg));
    let Form::Static { value } = &g.cfg.form else { return Vec::new() };
    let mut items: Vec<TokenStream> = g
        .indexed()
        .map(|(i, d)| {
            let (ty, buffer) = (buffer_type(d), g.buffer_static(i));
            // `unsafe(link_section)` stands on the user's promise, written as
            // `in unsafe("SECTION")` (`check` refuses a section without it).
            let place = d.section.as_ref().map(|name| quote!(#[unsafe(link_section = #name)]));
            quote! {
                #place
                static #buffer: #ty = #p::Buffer::new();
            }
        })
        .collect();
    let heap_attrs = &g.cfg.attrs;
    items.push(quote! {
        #(#heap_attrs)*
        #vis static #value: #name = #name::__new();
    });
    items
}

/// The static form's items inside a hidden module (so nothing but the heap static can make a
/// value of the type: its fields and constructor are private to that module), and the `use`
/// that exports the type and the static with the declared visibility.
pub fn hidden_module(
    cfg: &Config,
    value: &syn::Ident,
    items: Vec<TokenStream>,
) -> Vec<TokenStream> {
    let (vis, name) = (&cfg.vis, &cfg.ident);
    let module = format_ident!("__detalloc_{}", value);
    vec![
        quote! {
            #[doc(hidden)]
            #[allow(non_snake_case, unused_imports)]
            mod #module {
                use super::*;
                #(#items)*
            }
        },
        quote! {
            #[allow(unused_imports)]
            #vis use #module::{#name, #value};
        },
    ]
}

/// The visibility of the type and the static (a heap's or an arena's): as declared; inside the
/// static form's hidden module, `pub(super)` for a private declaration and `pub(crate)` for a
/// restricted one (`pub(super)`, `pub(in path)`: inside the hidden module those would name the
/// declaring module itself, narrower than the `use` beside it that re-exports them).
pub fn item_vis(cfg: &Config) -> TokenStream {
    match (&cfg.form, &cfg.vis) {
        (Form::Static { .. }, syn::Visibility::Inherited) => quote!(pub(super)),
        (Form::Static { .. }, syn::Visibility::Restricted(_)) => quote!(pub(crate)),
        (_, vis) => quote!(#vis),
    }
}

fn buffer_type(d: &PoolDef) -> TokenStream {
    let p = runtime();
    let (s, n) = (lit(d.size), lit(d.count));
    let marker = format_ident!("Align{}", d.align());
    quote!(#p::Buffer<#s, #n, #p::#marker>)
}

fn pool_type(cfg: &Config, d: &PoolDef) -> TokenStream {
    let p = runtime();
    let (s, n, w) = (lit(d.size), lit(d.count), words(d, cfg.validate));
    let stats = stats_mode(cfg);
    let waiters = (cfg.waiters > 0).then(|| {
        let k = lit(cfg.waiters);
        quote!(, #p::Waiters<#k>)
    });
    match lock(cfg.sync.value) {
        Some(lock) => quote!(#p::Pool<#s, #n, #w, #lock, #stats #waiters>),
        None => quote!(#p::LockFreePool<#s, #n, #w, #stats>),
    }
}

fn stats_mode(cfg: &Config) -> TokenStream {
    let p = runtime();
    if cfg.stats { quote!(#p::StatsOn) } else { quote!(#p::StatsOff) }
}

/// The lock of the pools and of the heap's error counters; `None` for `lock_free`, whose
/// pools are Treiber stacks and whose error counters are atomics.
fn lock(mode: SyncMode) -> Option<TokenStream> {
    let p = runtime();
    match mode {
        SyncMode::Local => Some(quote!(#p::Local)),
        SyncMode::Spin => Some(quote!(#p::Spin)),
        SyncMode::CriticalSection => Some(quote!(#p::CriticalSection)),
        SyncMode::LockFree => None,
    }
}

/// `HeapState<errors, timer>`: the error counters no pool owns, and the WCET record.
fn heap_state(cfg: &Config) -> TokenStream {
    let p = runtime();
    let errors = match (cfg.stats, lock(cfg.sync.value)) {
        (false, _) => quote!(#p::NoCounters),
        (true, None) => quote!(#p::AtomicErrors),
        (true, Some(lock)) => quote!(#p::LockedErrors<#lock>),
    };
    let timer = timer(cfg);
    quote!(#p::HeapState<#errors, #timer>)
}

/// The heap's WCET timer: `NoTimer`, or the clock with a record suited to the sync mode.
pub fn timer(cfg: &Config) -> TokenStream {
    let p = runtime();
    match &cfg.wcet {
        None => quote!(#p::NoTimer),
        Some(clock) => {
            let record = match cfg.sync.value {
                SyncMode::Local => quote!(#p::LocalTicks),
                SyncMode::CriticalSection => quote!(#p::CriticalTicks),
                SyncMode::Spin | SyncMode::LockFree => quote!(#p::AtomicTicks),
            };
            quote!(#p::Timed<#clock, #record>)
        }
    }
}

/// Bitmap words for a pool: two bits per block, `ceil(N / 16)` when validating, 0 when not,
/// and for `debug` a const expression evaluated in the user's crate (so it follows *their*
/// build profile).
fn words(d: &PoolDef, validate: Validate) -> TokenStream {
    let (w, validating) = (lit(d.count.div_ceil(16)), super::validating(validate));
    quote!({ if #validating { #w } else { 0 } })
}

fn summary(cfg: &Config, total: &Literal) -> TokenStream {
    let name = &cfg.ident;
    let list = cfg
        .pools
        .iter()
        .map(|d| match &d.section {
            Some(section) => format!("{} x {} in {section}", d.size, d.count),
            None => format!("{} x {}", d.size, d.count),
        })
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
    // The metadata: all of the type but the buffers (in the static form the buffers are
    // statics of their own, so the type is all metadata).
    let metadata = match cfg.form {
        Form::Struct => quote!(::core::mem::size_of::<#name>() - #total),
        Form::Static { .. } => quote!(::core::mem::size_of::<#name>()),
    };
    quote! {
        ::detalloc::__private::const_format::concatcp!(
            #head, #total, " B of blocks + ", #metadata, #tail
        )
    }
}
