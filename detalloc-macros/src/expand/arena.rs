//! An arena declaration (`arena: SIZE`) to its code: the struct (the state behind the sync
//! mode's lock and, in the struct form, the buffer), `new`, `SECTION`, and the `Arena` impl
//! whose hidden items give the runtime the buffer, the state and the configuration. In the
//! static form the buffer is a static of its own, placed where the declaration promised.
//! Everything an arena does is the runtime's generic code (`detalloc::arena`): unlike a heap's
//! dispatch there is nothing per-declaration to generate but the constants.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use super::{Generator, runtime, validating};
use crate::model::{ArenaDef, Config, Form, SyncMode};

/// The arena's items (inside the static form's hidden module when it has one), the width
/// guard and the sync mode's guard.
pub fn expand(g: &Generator<'_>, arena: &ArenaDef) -> TokenStream {
    let cfg = g.cfg;
    let mut items = vec![strukt(cfg, arena), constants(cfg, arena), arena_impl(cfg, arena)];
    items.extend(statics(cfg, arena));
    let items = match &cfg.form {
        Form::Struct => items,
        Form::Static { value } => super::types::hidden_module(cfg, value, items),
    };
    let mut out = width_gate(cfg, arena, items);
    out.extend(super::guards::sync_guard(g));
    out
}

/// The items for the pointer widths whose `isize` holds the buffer; on the others one error
/// spanned at the size and the stub (so the uses add no second error).
fn width_gate(cfg: &Config, arena: &ArenaDef, items: Vec<TokenStream>) -> TokenStream {
    let size = arena.size.value;
    let too_small: Vec<(u32, &str)> = [(16, "16"), (32, "32")]
        .into_iter()
        .filter(|(bits, _)| u128::from(size) > (1u128 << (bits - 1)) - 1)
        .collect();
    if too_small.is_empty() {
        return quote!(#(#items)*);
    }
    let widths: Vec<&str> = too_small.iter().map(|(_, w)| *w).collect();
    let pred = quote!(any(#(target_pointer_width = #widths),*));
    let (vis, name) = (&cfg.vis, &cfg.ident);
    let mut out = quote! {
        #(#[cfg(not(#pred))] #items)*
        #[cfg(#pred)]
        ::detalloc::__private::fallback_arena!(#vis #name);
    };
    if let Form::Static { value } = &cfg.form {
        let attrs = &cfg.attrs;
        out.extend(quote!(#[cfg(#pred)] #(#attrs)* #vis static #value: #name = #name::new();));
    }
    for (bits, width) in too_small {
        let msg = format!(
            "the arena needs {size} B, more than `isize::MAX` ({}) on this {bits}-bit target",
            (1u128 << (bits - 1)) - 1
        );
        out.extend(quote_spanned! {arena.size.span=>
            #[cfg(target_pointer_width = #width)]
            ::core::compile_error! { #msg }
        });
    }
    out
}

fn buffer_type(arena: &ArenaDef) -> TokenStream {
    let p = runtime();
    let size = Literal::u64_unsuffixed(arena.size.value);
    let marker = format_ident!("Align{}", arena.align);
    quote!(#p::ArenaBuffer<#size, #p::#marker>)
}

fn lock(cfg: &Config) -> TokenStream {
    let p = runtime();
    match cfg.sync.value {
        SyncMode::Local => quote!(#p::Local),
        SyncMode::Spin => quote!(#p::Spin),
        // `check` refuses `lock_free` for an arena.
        SyncMode::CriticalSection | SyncMode::LockFree => quote!(#p::CriticalSection),
    }
}

/// The struct: the state (first, at the type's address) and, in the struct form, the buffer.
fn strukt(cfg: &Config, arena: &ArenaDef) -> TokenStream {
    let p = runtime();
    let (name, lock, vis) = (&cfg.ident, lock(cfg), super::types::item_vis(cfg));
    let (attrs, doc, buffer) = match &cfg.form {
        Form::Struct => {
            let ty = buffer_type(arena);
            (&cfg.attrs[..], quote!(#[repr(C)]), Some(quote!(__buffer: #ty,)))
        }
        Form::Static { value } => {
            let doc = format!(
                "The arena type of [`{value}`], declared with `detalloc!`'s static form: that \
                 static is its only value (its buffer is a static of its own, so there is no \
                 `new()`)."
            );
            (&[][..], quote!(#[doc = #doc]), None)
        }
    };
    quote! {
        #(#attrs)*
        #doc
        #vis struct #name {
            __arena: #p::ArenaState<#lock>,
            #buffer
        }
    }
}

/// The constructor (`new`, or the static form's private `__new`) and `SECTION`.
fn constants(cfg: &Config, arena: &ArenaDef) -> TokenStream {
    let p = runtime();
    let name = &cfg.ident;
    let buffer =
        matches!(cfg.form, Form::Struct).then(|| quote!(__buffer: #p::ArenaBuffer::new(),));
    let init = quote!(Self { __arena: #p::ArenaState::new(), #buffer });
    let constructor = match &cfg.form {
        Form::Struct => quote! {
            /// The empty arena. Writes nothing: its all-zero state is the empty arena, so a
            /// `static` lands in `.bss`.
            #[inline]
            pub const fn new() -> Self {
                #init
            }
        },
        Form::Static { .. } => quote! {
            const fn __new() -> Self {
                #init
            }
        },
    };
    let section = match &arena.section {
        Some(name) => quote!(::core::option::Option::Some(#name)),
        None => quote!(::core::option::Option::None),
    };
    quote! {
        #[allow(unused_qualifications, clippy::all, clippy::pedantic, clippy::nursery)]
        const _: () = {
            impl #name {
                #constructor

                /// The linker section of the arena's buffer (`in unsafe("SECTION")` in the
                /// static form); `None` where Rust places it.
                pub const SECTION: ::core::option::Option<&'static str> = #section;
            }
        };
    }
}

/// `unsafe impl Arena`: the configuration as constants and types, the buffer and the state.
fn arena_impl(cfg: &Config, arena: &ArenaDef) -> TokenStream {
    let p = runtime();
    let (name, lock) = (&cfg.ident, lock(cfg));
    let size = Literal::usize_suffixed(arena.size.value as usize);
    let align = Literal::usize_unsuffixed(arena.align as usize);
    let stats = cfg.stats;
    let poison = validating(cfg.poison);
    let wcet = match &cfg.wcet {
        Some(clock) => quote!(#p::Wcet<#clock>),
        None => quote!(#p::NoWcet),
    };
    let base = match &cfg.form {
        Form::Struct => quote!(self.__buffer.base()),
        Form::Static { .. } => quote!(__ARENA_BUFFER.base()),
    };
    let summary = summary(cfg, arena, &size);
    quote! {
        #[allow(unused_qualifications, clippy::all, clippy::pedantic, clippy::nursery)]
        const _: () = {
            // SAFETY: `__base` is the start of this arena's own buffer of `CAPACITY` bytes (a
            // field, or the static form's buffer static, which only this type names), the same
            // on every call; `CAPACITY` fits the target's `isize` (the width guard); `__state`
            // is always the same field.
            unsafe impl #p::Arena for #name {
                const CAPACITY: usize = #size;
                const ALIGN: usize = #align;
                const SUMMARY: &'static str = #summary;
                const __STATS: bool = #stats;
                const __POISON: bool = #poison;
                type __Lock = #lock;
                type __Wcet = #wcet;
                #[inline(always)]
                fn __base(&self) -> ::core::ptr::NonNull<u8> {
                    #base
                }
                #[inline(always)]
                fn __state(&self) -> &#p::ArenaState<#lock> {
                    &self.__arena
                }
                #[inline(always)]
                fn __state_mut(&mut self) -> &mut #p::ArenaState<#lock> {
                    &mut self.__arena
                }
            }
        };
    }
}

/// The static form's buffer static (in its section, if placed) and the arena static.
fn statics(cfg: &Config, arena: &ArenaDef) -> Vec<TokenStream> {
    let p = runtime();
    let Form::Static { value } = &cfg.form else { return Vec::new() };
    let (name, vis, ty) = (&cfg.ident, super::types::item_vis(cfg), buffer_type(arena));
    // `unsafe(link_section)` stands on the user's promise, written as `in unsafe("SECTION")`
    // (`check` refuses a section without it).
    let place = arena.section.as_ref().map(|name| quote!(#[unsafe(link_section = #name)]));
    let attrs = &cfg.attrs;
    vec![
        quote! {
            #place
            static __ARENA_BUFFER: #ty = #p::ArenaBuffer::new();
        },
        quote! {
            #(#attrs)*
            #vis static #value: #name = #name::__new();
        },
    ]
}

/// `Scratch: arena 16384 B (align 64) in .sram2 + 48 B metadata, sync=spin stats=on poison=off`.
fn summary(cfg: &Config, arena: &ArenaDef, size: &Literal) -> TokenStream {
    let name = &cfg.ident;
    let place = arena.section.as_ref().map(|s| format!(" in {s}")).unwrap_or_default();
    let head = format!("{name}: arena {} B (align {}){place} + ", arena.size.value, arena.align);
    let mut tail = format!(
        " B metadata, sync={} stats={} poison={}",
        cfg.sync.value.name(),
        if cfg.stats { "on" } else { "off" },
        cfg.poison.name()
    );
    if let Some(clock) = &cfg.wcet {
        let shown = match &**clock {
            syn::Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
            _ => None,
        };
        tail.push_str(" wcet=");
        tail.push_str(shown.as_deref().unwrap_or("on"));
    }
    let metadata = match cfg.form {
        Form::Struct => quote!(::core::mem::size_of::<#name>() - #size),
        Form::Static { .. } => quote!(::core::mem::size_of::<#name>()),
    };
    quote!(::detalloc::__private::const_format::concatcp!(#head, #metadata, #tail))
}
