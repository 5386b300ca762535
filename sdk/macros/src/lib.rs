//! `#[eddy_sdk::handler]`: put it on `impl Handler for YourType` and the
//! component exports that type as the app's handler.
#![deny(missing_docs)]

use proc_macro::TokenStream;
use quote::quote;
use syn::{ItemImpl, parse_macro_input};

/// Exports the implementing type as the component's handler.
///
/// ```ignore
/// struct Echo;
///
/// #[eddy_sdk::handler]
/// impl eddy_sdk::Handler for Echo {
///     fn on_event(cx: &eddy_sdk::Context, event: eddy_sdk::Event) -> eddy_sdk::EventResult {
///         cx.reply("message-back").raw_args(event.args.raw()).send()?;
///         Ok(None)
///     }
/// }
/// ```
#[proc_macro_attribute]
pub fn handler(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return syn::Error::new(
            proc_macro2::Span::call_site(),
            "#[handler] takes no arguments",
        )
        .to_compile_error()
        .into();
    }
    let block = parse_macro_input!(item as ItemImpl);
    if block.trait_.is_none() {
        return syn::Error::new_spanned(
            &block,
            "#[handler] goes on `impl eddy_sdk::Handler for YourType`",
        )
        .to_compile_error()
        .into();
    }
    let ty = &block.self_ty;
    quote! {
        #block
        ::eddy_sdk::export!(#ty);
    }
    .into()
}
