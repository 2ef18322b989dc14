//! What only the target can decide, as items spanned at the user's tokens:
//!
//! * **Its pointer width.** The pools must fit the target's `isize`. The heap is generated
//!   only for the pointer widths it fits; on the others the expansion is one `compile_error!`
//!   per oversized pool (or one on the pool list when only the total is too big) plus the
//!   fallback stub, so one mistake gives one error, not the secondary ones an array too big
//!   for the target would add.
//! * **Its atomics.** `spin` without 32-bit compare-and-swap, `lock_free` without LL/SC or a
//!   64-bit compare-and-swap, `critical_section` without the feature: one `compile_error!`
//!   spanned at the mode (the last two through switch macros `detalloc` defines per build).

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::Generator;
use crate::fallback;
use crate::model::SyncMode;

/// The pointer widths Rust targets have, as `target_pointer_width` values.
const WIDTHS: [(u32, &str); 3] = [(16, "16"), (32, "32"), (64, "64")];

/// `items` (each one item) for the widths the pools fit, the errors and the stub for the
/// others, and the sync mode's guard.
pub fn gate(g: &Generator<'_>, items: Vec<TokenStream>) -> TokenStream {
    let cfg = g.cfg;
    let max = |bits: u32| (1u128 << (bits - 1)) - 1;
    let fit: Vec<&str> = WIDTHS
        .iter()
        .filter(|(b, _)| u128::from(cfg.total_bytes) <= max(*b))
        .map(|(_, w)| *w)
        .collect();
    let mut out = if fit.len() == WIDTHS.len() {
        quote!(#(#items)*)
    } else {
        let stub = fallback::stub(&cfg.attrs, &cfg.vis, &cfg.form, &cfg.ident);
        let pred = quote!(any(#(target_pointer_width = #fit),*));
        let mut gated = quote!(#(#[cfg(#pred)] #items)*);
        gated.extend(quote!(#(#[cfg(not(#pred))] #stub)*));
        for (bits, width) in WIDTHS.iter().filter(|(_, w)| !fit.contains(w)) {
            gated.extend(width_errors(g, *bits, width, max(*bits)));
        }
        gated
    };
    out.extend(sync_guard(g));
    out
}

/// The errors on a `width`-bit target: each pool over `isize::MAX`, or the total.
fn width_errors(g: &Generator<'_>, bits: u32, width: &str, max: u128) -> TokenStream {
    let cfg = g.cfg;
    let mut errors = TokenStream::new();
    for (i, d) in g.indexed().filter(|(_, d)| u128::from(d.bytes()) > max) {
        let msg = format!(
            "pool {i} ({} x {}) needs {} B, more than `isize::MAX` ({max}) on this {bits}-bit target",
            d.size,
            d.count,
            d.bytes()
        );
        errors.extend(quote_spanned! {d.span=>
            #[cfg(target_pointer_width = #width)]
            ::core::compile_error! { #msg }
        });
    }
    if errors.is_empty() {
        let msg = format!(
            "the pools need {} B in all, more than `isize::MAX` ({max}) on this {bits}-bit target",
            cfg.total_bytes
        );
        errors.extend(quote_spanned! {cfg.pools_span=>
            #[cfg(target_pointer_width = #width)]
            ::core::compile_error! { #msg }
        });
    }
    errors
}

/// The sync mode's requirement on the target, spanned at the mode.
pub(super) fn sync_guard(g: &Generator<'_>) -> TokenStream {
    let span = g.cfg.sync.span;
    match g.cfg.sync.value {
        SyncMode::Spin => quote_spanned! {span=>
            #[cfg(not(target_has_atomic = "32"))]
            ::core::compile_error! {
                "`sync: spin` needs 32-bit compare-and-swap, which this target lacks: use `sync: critical_section`"
            }
        },
        // The whole path is spanned at the mode (an interpolated path would keep its own
        // spans), so the switch's `compile_error!` points at the mode.
        SyncMode::CriticalSection => quote_spanned! {span=>
            ::detalloc::__private::require_critical_section! {}
        },
        SyncMode::LockFree => quote_spanned! {span=> ::detalloc::__private::require_lock_free! {} },
        SyncMode::Local => TokenStream::new(),
    }
}
