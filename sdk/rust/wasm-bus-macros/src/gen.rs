//! Emits the code for a bus trait: the object-safe trait, request and callback
//! types, the client and the service.

use crate::model::{field_attrs, ident, pascal_case, ArgKind, BusTrait, Method, Ret};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{Path, Type};

/// `path::To::Trait` -> `path::To::TraitClient` (or `...Service`).
fn sibling(path: &Path, suffix: &str) -> Path {
    let mut p = path.clone();
    if let Some(last) = p.segments.last_mut() {
        last.ident = format_ident!("{}{}", last.ident, suffix);
    }
    p
}

struct Pieces {
    /// `a: A, cb: ::wasm_bus::Callback<C>` as the trait declares them.
    trait_params: Vec<TokenStream>,
    /// `a: A, cb: impl Fn(C) + 'static` for the client's inherent method.
    client_params: Vec<TokenStream>,
    /// `a, cb`
    names: Vec<syn::Ident>,
    /// The reply type inside `Result<_, BusError>`.
    ret: TokenStream,
}

fn pieces(m: &Method) -> Pieces {
    let mut trait_params = Vec::new();
    let mut client_params = Vec::new();
    let mut names = Vec::new();
    for a in &m.args {
        let name = &a.ident;
        match &a.kind {
            ArgKind::Value(ty) => {
                trait_params.push(quote!(#name: #ty));
                client_params.push(quote!(#name: #ty));
            }
            ArgKind::Callback(ty) => {
                trait_params.push(quote!(#name: ::wasm_bus::Callback<#ty>));
                client_params.push(quote!(#name: impl ::core::ops::Fn(#ty) + 'static));
            }
        }
        names.push(name.clone());
    }
    let ret = match &m.ret {
        Ret::Value(ty) => quote!(#ty),
        // As written, so the author's `use std::sync::Arc` is used.
        Ret::Object(ty, _) => quote!(#ty),
    };
    Pieces { trait_params, client_params, names, ret }
}

pub fn expand(t: &BusTrait) -> TokenStream {
    let vis = &t.vis;
    let name = &t.ident;
    let attrs = &t.attrs;
    let client = format_ident!("{}Client", name);
    let service = format_ident!("{}Service", name);
    let codec_ident = ident(t.format.codec(), name.span());
    let codec = quote!(::wasm_bus::format::#codec_ident);
    let serde_derive = quote! {
        #[derive(Debug, Clone, ::wasm_bus::serde::Serialize, ::wasm_bus::serde::Deserialize)]
        #[serde(crate = "::wasm_bus::serde")]
    };

    let mut types = Vec::new();
    let mut trait_methods = Vec::new();
    let mut client_methods = Vec::new();
    let mut client_impls = Vec::new();
    let mut registrations = Vec::new();
    let mut topics = Vec::new();

    for m in &t.methods {
        let method = &m.ident;
        let blocking = format_ident!("blocking_{}", method);
        let topic = &m.topic;
        let mattrs = &m.attrs;
        let Pieces { trait_params, client_params, names, ret } = pieces(m);
        topics.push(topic.clone());

        // The request: the named non-callback arguments, in order.
        let request = format_ident!("{}{}Request", name, pascal_case(&method.to_string()));
        let fields = m.args.iter().filter_map(|a| match &a.kind {
            ArgKind::Value(ty) => {
                let (id, at) = (&a.ident, field_attrs(&a.attrs));
                Some(quote!(#at pub #id: #ty,))
            }
            ArgKind::Callback(_) => None,
        });
        let field_names: Vec<_> =
            m.args.iter().filter(|a| matches!(a.kind, ArgKind::Value(_))).map(|a| a.ident.clone()).collect();
        let doc = format!("The request of topic `{topic}`.");
        types.push(quote! {
            #[doc = #doc]
            #serde_derive
            #vis struct #request { #(#fields)* }
        });

        // Callbacks: a newtype per callback (carrying the argument's attributes),
        // registered by the client, invoked through the responder by the server.
        let mut client_callbacks = Vec::new();
        let mut server_callbacks = Vec::new();
        for a in &m.args {
            let ArgKind::Callback(ty) = &a.kind else { continue };
            let arg = &a.ident;
            let cb_topic = arg.to_string();
            let wrapper =
                format_ident!("{}{}{}Callback", name, pascal_case(&method.to_string()), pascal_case(&cb_topic));
            let at = field_attrs(&a.attrs);
            let doc = format!("The data of callback `{cb_topic}` of topic `{topic}`.");
            types.push(quote! {
                #[doc = #doc]
                #serde_derive
                #vis struct #wrapper(#at pub #ty);
            });
            client_callbacks.push(quote! {
                .callback_as::<#codec, #wrapper>(#cb_topic, move |data: #wrapper| #arg(data.0))
            });
            server_callbacks.push(quote! {
                // `impl Fn(T)` returns nothing (the original crate's API): a refusal is kept
                // for `wasm_bus::last_callback_error()` and logged once per call by the responder.
                let #arg: ::wasm_bus::Callback<#ty> = ::std::boxed::Box::new(move |data: #ty| {
                    let _ = responder.callback_as::<#codec, #wrapper>(#cb_topic, &#wrapper(data));
                });
            });
        }

        trait_methods.push(quote! {
            #(#mattrs)*
            fn #method(&self, #(#trait_params),*) -> ::wasm_bus::BoxFuture<'_, ::core::result::Result<#ret, ::wasm_bus::BusError>>;
        });
        // No `blocking_` methods on the trait: they would put `block_on` (and so
        // the `poll` import, which makes the build asyncify the module)
        // into the vtable of every server. The client has them.
        let blocking_doc = format!("[`{method}`](Self::{method}), waiting in `block_on`.");

        let (keepalive, finish, serve_reply) = match &m.ret {
            Ret::Value(ty) => (
                quote!(),
                quote!(call.reply_as::<#codec, #ty>().await),
                quote!(::wasm_bus::Payload::encode::<#codec, #ty>(&reply)),
            ),
            Ret::Object(_, path) => {
                let sub_client = sibling(path, "Client");
                let sub_service = sibling(path, "Service");
                (
                    quote!(.keepalive()),
                    quote! {
                        (&mut call).await?;
                        ::core::result::Result::Ok(::std::sync::Arc::new(#sub_client::attach(self.wapm.clone(), call)))
                    },
                    quote! {
                        #sub_service::attach(reply, handle)?;
                        ::wasm_bus::Payload::encode::<#codec, ()>(&())
                    },
                )
            }
        };
        let call_doc = format!("Calls topic `{topic}`.");
        client_methods.push(quote! {
            #[doc = #call_doc]
            pub async fn #method(&self, #(#client_params),*) -> ::core::result::Result<#ret, ::wasm_bus::BusError> {
                let request = #request { #(#field_names),* };
                #[allow(unused_mut)]
                let mut call = ::wasm_bus::CallBuilder::new(&self.wapm, #topic)
                    .parent_opt(self.call.as_deref())
                    #keepalive
                    #(#client_callbacks)*
                    .send_as::<#codec, #request>(&request)?;
                #finish
            }
            #[doc = #blocking_doc]
            pub fn #blocking(&self, #(#client_params),*) -> ::core::result::Result<#ret, ::wasm_bus::BusError> {
                ::wasm_bus::block_on(self.#method(#(#names),*))
            }
        });
        client_impls.push(quote! {
            fn #method(&self, #(#trait_params),*) -> ::wasm_bus::BoxFuture<'_, ::core::result::Result<#ret, ::wasm_bus::BusError>> {
                ::std::boxed::Box::pin(#client::#method(self, #(#names),*))
            }
        });

        let args_from_request = m.args.iter().map(|a| {
            let id = &a.ident;
            match a.kind {
                ArgKind::Value(_) => quote!(request.#id),
                ArgKind::Callback(_) => quote!(#id),
            }
        });
        registrations.push(quote! {
            {
                let me = me.clone();
                ::wasm_bus::attach(parent, #topic, move |req: ::wasm_bus::Request| {
                    let me = me.clone();
                    async move {
                        let request: #request = req.decode_as::<#codec, #request>()?;
                        #[allow(unused_variables)]
                        let responder = req.responder();
                        #[allow(unused_variables)]
                        let handle = req.handle();
                        #(#server_callbacks)*
                        let reply = me.#method(#(#args_from_request),*).await?;
                        #serve_reply
                    }
                })?;
            }
        });
    }

    let trait_doc = format!(
        "Bus API `{}` ({} format): topics {}.",
        name,
        t.format.codec().to_lowercase(),
        topics.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
    );
    let client_doc = format!("Calls the `{name}` API of a module (or `\"os\"`) by its wapm name.");
    let service_doc = format!("Serves an `Arc<dyn {name}>` on the bus.");

    quote! {
        #(#attrs)*
        #[doc = ""]
        #[doc = #trait_doc]
        #vis trait #name {
            #(#trait_methods)*

            /// The client behind this object, if it is one.
            fn as_client(&self) -> ::core::option::Option<#client> {
                ::core::option::Option::None
            }
        }

        #(#types)*

        #[doc = #client_doc]
        #[derive(Clone)]
        #vis struct #client {
            wapm: ::std::rc::Rc<str>,
            call: ::core::option::Option<::std::rc::Rc<::wasm_bus::Call>>,
        }

        impl ::core::fmt::Debug for #client {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(::core::stringify!(#client))
                    .field("wapm", &&*self.wapm)
                    .field("handle", &self.call.as_ref().map(|c| c.handle()))
                    .finish()
            }
        }

        #[allow(clippy::too_many_arguments)]
        impl #client {
            /// A client of the module (or `"os"` for the host's services) named `wapm`.
            pub fn new(wapm: &str) -> Self {
                Self { wapm: ::std::rc::Rc::from(wapm), call: ::core::option::Option::None }
            }

            /// The client of a relative object: `call` is the kept-alive call that made it.
            #[doc(hidden)]
            pub fn attach(wapm: ::std::rc::Rc<str>, call: ::wasm_bus::Call) -> Self {
                Self { wapm, call: ::core::option::Option::Some(::std::rc::Rc::new(call)) }
            }

            /// The wapm name this client calls.
            pub fn wapm(&self) -> &str {
                &self.wapm
            }

            /// The kept-alive call this relative object lives on (None for a top-level client).
            /// It ends when the last clone of the client is dropped.
            pub fn call(&self) -> ::core::option::Option<&::wasm_bus::Call> {
                self.call.as_deref()
            }

            #(#client_methods)*
        }

        #[allow(clippy::too_many_arguments)]
        impl #name for #client {
            #(#client_impls)*

            fn as_client(&self) -> ::core::option::Option<#client> {
                ::core::option::Option::Some(self.clone())
            }
        }

        #[doc = #service_doc]
        #vis struct #service;

        impl #service {
            /// The topics this API serves; declare them in `module.json`.
            pub const TOPICS: &'static [&'static str] = &[#(#topics),*];

            /// Serves the API's topics (the `listen` import for each): call it from `_initialize`.
            pub fn listen(me: ::std::sync::Arc<dyn #name>) -> ::core::result::Result<(), ::wasm_bus::BusError> {
                Self::attach(me, ::wasm_bus::abi::NO_HANDLE)
            }

            /// Serves the API as the relative object made by inbound call `parent`
            /// (0: as the module's own topics). Its handlers go when `parent` ends.
            #[doc(hidden)]
            pub fn attach(me: ::std::sync::Arc<dyn #name>, parent: u32) -> ::core::result::Result<(), ::wasm_bus::BusError> {
                #(#registrations)*
                let _ = me;
                ::core::result::Result::Ok(())
            }

            /// Blocks in `poll`, serving calls forever (command-style programs).
            pub fn serve_forever() -> ! {
                ::wasm_bus::serve_forever()
            }

            /// Blocks in `poll`, serving calls forever: `serve_forever`, by its old name.
            #[deprecated(note = "use serve_forever: `serve` means serving a topic elsewhere")]
            pub fn serve() -> ! {
                ::wasm_bus::serve_forever()
            }
        }
    }
}

/// Whether a type is `()`: used by tests.
#[allow(dead_code)]
pub fn is_unit(ty: &Type) -> bool {
    matches!(ty, Type::Tuple(t) if t.elems.is_empty())
}
