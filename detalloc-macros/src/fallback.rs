//! After an error: a stub type with the declared name (and, for the static form, the static),
//! so uses of the heap elsewhere (its `static`, `#[global_allocator]`, `Heap` calls) do not
//! each add a secondary error.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Attribute, Ident, Visibility};

use crate::model::{Declaration, Form};

/// The stub of a declaration: `fallback_heap!` for the type; the static form's attributes
/// (`#[global_allocator]` among them) go on a stub static of that type.
pub fn stub(attrs: &[Attribute], vis: &Visibility, form: &Form, ident: &Ident) -> Vec<TokenStream> {
    let mut items = vec![quote!(::detalloc::__private::fallback_heap!(#vis #ident);)];
    if let Form::Static { value } = form {
        items.push(quote! {
            #(#attrs)*
            #vis static #value: #ident = #ident::new();
        });
    }
    items
}

/// The stub of a declaration that had errors: an arena's (`fallback_arena!`) when it has an
/// `arena` key, else the heap's.
pub fn stub_for(d: &Declaration) -> Vec<TokenStream> {
    let mut items = stub(&d.attrs, &d.vis, &d.form, &d.ident);
    if d.entries.iter().any(|e| e.key == "arena") {
        let (vis, ident) = (&d.vis, &d.ident);
        items[0] = quote!(::detalloc::__private::fallback_arena!(#vis #ident););
    }
    items
}
