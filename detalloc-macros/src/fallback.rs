//! After an error: a stub type with the declared name, so uses of the heap elsewhere (its
//! `static`, `#[global_allocator]`, `Heap` calls) do not each add a secondary error.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Ident, Visibility};

pub fn stub(vis: &Visibility, ident: &Ident) -> TokenStream {
    quote!(::detalloc::__private::fallback_heap!(#vis #ident);)
}
