//! `#[eddy_sdk::handler]`: put it on `impl Handler for YourType` and the
//! component exports that type as the app's handler.
#![deny(missing_docs)]

use proc_macro::TokenStream;
use quote::quote;
use syn::{ItemImpl, parse_macro_input};

/// Exports the implementing type as the component's handler.
///
/// Built for `wasm32-wasip2`, the attribute exports the component's hooks;
/// a native build exports nothing, so the same handler runs under the SDK's
/// mock host in `cargo test`, as here:
///
/// ```
/// use eddy_sdk::{Context, Event, EventResult, Handler, json};
///
/// struct Echo;
///
/// #[eddy_sdk::handler]
/// impl Handler for Echo {
///     fn on_event(cx: &Context, event: Event) -> EventResult {
///         cx.emit("message-back").raw_args(event.args.raw(), event.attachments).send()?;
///         Ok(None)
///     }
/// }
///
/// let host = eddy_sdk::testing::MockHost::new();
/// let cx = host.context("socket-1");
/// host.event::<Echo>(&cx, Event::new("message", json!(["hi", 2]))).unwrap();
/// assert_eq!(host.take_emitted()[0].args, json!(["hi", 2]));
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
