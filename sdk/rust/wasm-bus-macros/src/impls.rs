//! `#[wasm_bus] impl Trait for Type { async fn ... }`: rewrites each `async fn`
//! into the boxed-future signature the generated trait declares (as
//! async-trait does, without `Send`), and each `impl Fn(T)` argument into
//! `wasm_bus::Callback<T>`, so an implementation can copy the declaration.

use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{Error, FnArg, ImplItem, ItemImpl, PathArguments, ReturnType, Type, TypeParamBound};

pub fn expand(mut item: ItemImpl) -> syn::Result<TokenStream> {
    if item.trait_.is_none() {
        return Err(Error::new(
            item.self_ty.span(),
            "wasm_bus: on an impl block, #[wasm_bus] goes on `impl BusTrait for Type` (it rewrites the async methods)",
        ));
    }
    for impl_item in &mut item.items {
        let ImplItem::Fn(f) = impl_item else { continue };
        if f.sig.asyncness.is_none() {
            continue;
        }
        f.sig.asyncness = None;
        for input in f.sig.inputs.iter_mut() {
            let FnArg::Typed(pt) = input else { continue };
            if let Type::ImplTrait(it) = &*pt.ty {
                if let Some(arg) = fn_argument(it) {
                    *pt.ty = syn::parse_quote_spanned!(pt.ty.span()=> ::wasm_bus::Callback<#arg>);
                }
            }
        }
        let output: Type = match &f.sig.output {
            ReturnType::Default => syn::parse_quote!(()),
            ReturnType::Type(_, ty) => (**ty).clone(),
        };
        f.sig.output = syn::parse_quote_spanned!(output.span()=> -> ::wasm_bus::BoxFuture<'_, #output>);
        let body = &f.block;
        f.block = syn::parse_quote_spanned!(body.span()=> {
            ::std::boxed::Box::pin(async move {
                let __wasm_bus_ret: #output = #body;
                #[allow(unreachable_code)]
                __wasm_bus_ret
            })
        });
    }
    Ok(quote!(#item))
}

/// `impl Fn(T)` -> `T`.
fn fn_argument(it: &syn::TypeImplTrait) -> Option<Type> {
    it.bounds.iter().find_map(|b| {
        let TypeParamBound::Trait(t) = b else { return None };
        let last = t.path.segments.last()?;
        if last.ident != "Fn" {
            return None;
        }
        let PathArguments::Parenthesized(p) = &last.arguments else { return None };
        (p.inputs.len() == 1).then(|| p.inputs[0].clone())
    })
}
