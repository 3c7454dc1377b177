//! Procedural macros of the wasm-bus Rust SDK; use them through the `wasm-bus`
//! crate (`use wasm_bus::macros::*;`).

use proc_macro::TokenStream;
use syn::parse_macro_input;

mod entry;
mod gen;
mod impls;
mod model;
#[cfg(test)]
mod tests;

/// On a trait: generates the bus API: the object-safe trait (async methods
/// become boxed futures returning `Result<_, BusError>`), request and callback
/// types, `<Trait>Client` and `<Trait>Service`.
///
/// Arguments: `format = "json" | "msgpack" | "bincode"` (default json) and
/// `service = "..."` (default: the trait name in snake_case; `""` for bare
/// method names). Topic of a method: `<service>.<method>`.
///
/// Rules (each broken one is a compile error naming it): every method is
/// `async fn` taking `&self` and named, owned arguments; a callback argument is
/// `impl Fn(T)`; the return type is a serde type or `Arc<dyn OtherTrait>` (a
/// relative object); no generics, supertraits, associated items or bodies.
///
/// On `impl Trait for Type`: rewrites its `async fn`s to the trait's
/// boxed-future signatures, so implementations are written as plain `async fn`.
#[proc_macro_attribute]
pub fn wasm_bus(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand(attr.into(), item.into()).unwrap_or_else(|e| e.to_compile_error()).into()
}

pub(crate) fn expand(
    attr: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> syn::Result<proc_macro2::TokenStream> {
    let item: syn::Item = syn::parse2(item)?;
    match item {
        syn::Item::Trait(t) => {
            let args: model::Args = syn::parse2(attr)?;
            let model = model::parse_trait(args, t)?;
            Ok(gen::expand(&model))
        }
        syn::Item::Impl(i) => {
            // Arguments (as the original allowed: `#[wasm_bus(format = "json")]`) are accepted and unused.
            let _: model::Args = syn::parse2(attr)?;
            impls::expand(i)
        }
        other => Err(syn::Error::new_spanned(
            other,
            "#[wasm_bus] goes on a trait (to generate its client and server) or on an impl of one",
        )),
    }
}

/// On the setup function of a server (cdylib): exports `_initialize`, which the
/// host calls once after instantiation, to run it (sync or async; returning
/// `()` or `Result<(), E>`, whose error is logged).
#[proc_macro_attribute]
pub fn init(attr: TokenStream, item: TokenStream) -> TokenStream {
    let f = parse_macro_input!(item as syn::ItemFn);
    entry::init(attr.into(), f).unwrap_or_else(|e| e.to_compile_error()).into()
}

/// On `async fn main()` of a command (wasm32-wasip1): runs its body in
/// `wasm_bus::block_on`.
#[proc_macro_attribute]
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    let f = parse_macro_input!(item as syn::ItemFn);
    entry::main(attr.into(), f).unwrap_or_else(|e| e.to_compile_error()).into()
}
