//! The `detalloc!` macro. Use it through the `detalloc` crate, which re-exports it and holds
//! the runtime the expansion names.
//!
//! The pipeline: `parse` reads the tokens into a spanned model, `check` applies every
//! rule and collects every error, `expand` generates code from a configuration known to be
//! valid. After an error, `fallback` emits a stub type of the declared name so one mistake
//! does not cascade into errors at every use of the heap.

mod check;
mod errors;
mod expand;
mod fallback;
mod model;
mod parse;
mod presets;

#[cfg(test)]
mod tests;

use proc_macro2::TokenStream;

/// Declares a heap of fixed-block pools. See the `detalloc` crate for the grammar.
#[proc_macro]
pub fn detalloc(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    expand_declaration(input.into()).into()
}

/// The whole macro on `proc_macro2` tokens: errors or code, never a panic.
fn expand_declaration(input: TokenStream) -> TokenStream {
    let mut errors = errors::Errors::default();
    let declaration = parse::parse(input, &mut errors);
    let stub = declaration.as_ref().map(fallback::stub_for);
    let config = declaration.and_then(|d| check::check(d, &mut errors));
    match (errors.into_error(), config) {
        (None, Some(config)) => expand::expand(&config),
        (error, _) => {
            let error = error.unwrap_or_else(|| {
                syn::Error::new(
                    proc_macro2::Span::call_site(),
                    "detalloc!: the declaration could not be read",
                )
            });
            let mut tokens = error.into_compile_error();
            tokens.extend(stub.into_iter().flatten());
            tokens
        }
    }
}
