//! `#[derive(Describe)]`: adds `fn describe() -> &'static str` listing the fields.
use proc_macro::TokenStream;
use quote::quote;
use syn::{parse_macro_input, Data, DeriveInput, Fields};

#[proc_macro_derive(Describe)]
pub fn derive_describe(input: TokenStream) -> TokenStream {
    let ast = parse_macro_input!(input as DeriveInput);
    let name = &ast.ident;
    let fields: Vec<String> = match &ast.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(n) => n.named.iter().map(|f| f.ident.as_ref().unwrap().to_string()).collect(),
            _ => vec![],
        },
        _ => vec![],
    };
    let text = format!("{}{{{}}}", name, fields.join(","));
    quote! {
        impl #name {
            pub fn describe() -> &'static str { #text }
        }
    }
    .into()
}
