//! What resizing and the C API need of the generated code (`Dispatch`): the pool a layout
//! selects, the pool that holds a block (by address: the resize rule decides by it), the pool
//! whose buffer an address lies in (the C free's classification of a refused pointer), and
//! marking a block kept in a pool its new layout does not select.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::{Generator, lit, runtime};

impl Generator<'_> {
    /// The body of `Dispatch::holder`: the pool whose buffer holds `ptr`, when `ptr` is one
    /// of its block starts and (with validation) a live block, with the pool's block size and
    /// alignment as immediates.
    pub fn holder_body(&self) -> TokenStream {
        let p = runtime();
        self.by_address(
            |i| {
                let d = &self.cfg.pools[i];
                let (s, a, idx) = (lit(d.size), lit(d.align()), Literal::usize_unsuffixed(i));
                let pool = self.pool(i);
                quote! {
                    if offset % #s == 0 && #pool.is_live(offset) {
                        ::core::option::Option::Some(#p::Holder {
                            pool: #idx,
                            offset,
                            block_size: #s,
                            align: #a,
                        })
                    } else {
                        ::core::option::Option::None
                    }
                }
            },
            quote!(::core::option::Option::None),
        )
    }

    /// The body of `Dispatch::locate`: the pool whose buffer holds `ptr`, wherever in it, with
    /// the offset as is.
    pub fn locate_body(&self) -> TokenStream {
        let p = runtime();
        self.by_address(
            |i| {
                let d = &self.cfg.pools[i];
                let (s, a, idx) = (lit(d.size), lit(d.align()), Literal::usize_unsuffixed(i));
                quote! {
                    ::core::option::Option::Some(#p::Holder {
                        pool: #idx,
                        offset,
                        block_size: #s,
                        align: #a,
                    })
                }
            },
            quote!(::core::option::Option::None),
        )
    }

    /// The body of `Dispatch::keep`: marks the block at `offset` of pool `pool` as kept.
    pub fn keep_body(&self) -> TokenStream {
        let arms = self.by_index(|i| {
            let pool = self.pool(i);
            quote!({
                #pool.keep(offset);
                ::core::option::Option::Some(())
            })
        });
        quote!(let _ = #arms;)
    }
}

/// `Dispatch::select`: the pool a request selects, by the size-class dispatch.
pub fn select(g: &Generator<'_>) -> TokenStream {
    let arms = g.by_layout(
        |i| {
            let i = Literal::usize_unsuffixed(i);
            quote!(::core::option::Option::Some(#i))
        },
        quote!(::core::option::Option::None),
    );
    quote! {
        #[inline(always)]
        fn select(size: usize, align: usize) -> ::core::option::Option<usize> {
            #arms
        }
    }
}

/// `Dispatch::holder`: the pool holding a block start, by address.
pub fn holder(g: &Generator<'_>) -> TokenStream {
    let p = runtime();
    let body = g.holder_body();
    quote! {
        #[inline]
        fn holder(
            &self,
            ptr: ::core::ptr::NonNull<u8>,
        ) -> ::core::option::Option<#p::Holder> {
            #body
        }
    }
}

/// `Dispatch::locate`: the pool whose buffer holds an address.
pub fn locate(g: &Generator<'_>) -> TokenStream {
    let p = runtime();
    let body = g.locate_body();
    quote! {
        #[inline]
        fn locate(
            &self,
            ptr: ::core::ptr::NonNull<u8>,
        ) -> ::core::option::Option<#p::Holder> {
            #body
        }
    }
}

/// `Dispatch::keep`: marks a block kept in its pool.
pub fn keep(g: &Generator<'_>) -> TokenStream {
    let p = runtime();
    let body = g.keep_body();
    quote! {
        unsafe fn keep(&self, at: #p::Holder) {
            let pool = at.pool;
            let offset = at.offset;
            #body
        }
    }
}
