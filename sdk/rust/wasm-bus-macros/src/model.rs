//! Reads a `#[wasm_bus]` trait into a model, checking every rule of the
//! original crate. Each violation is a `syn::Error` spanned at the offending
//! tokens, naming the rule.

use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    Attribute, Error, FnArg, GenericArgument, Ident, ItemTrait, LitStr, Pat, Path, PathArguments, ReturnType, Token,
    TraitItem, Type, TypeParamBound, Visibility,
};

/// The serialization format named by `format = "..."`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Msgpack,
    Bincode,
}

impl Format {
    pub fn codec(self) -> &'static str {
        match self {
            Format::Json => "Json",
            Format::Msgpack => "Msgpack",
            Format::Bincode => "Bincode",
        }
    }
}

/// `#[wasm_bus(format = "json", service = "ws")]`
#[derive(Debug, Clone)]
pub struct Args {
    pub format: Format,
    pub service: Option<String>,
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut format = None;
        let mut service = None;
        let pairs = Punctuated::<syn::MetaNameValue, Token![,]>::parse_terminated(input)?;
        for pair in pairs {
            let key = pair.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
            let value = match &pair.value {
                syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => s.clone(),
                other => return Err(Error::new(other.span(), format!("wasm_bus: `{key}` takes a string literal"))),
            };
            match key.as_str() {
                "format" => {
                    if format.is_some() {
                        return Err(Error::new(pair.span(), "wasm_bus: `format` is given twice"));
                    }
                    format = Some(match value.value().as_str() {
                        "json" => Format::Json,
                        "msgpack" => Format::Msgpack,
                        "bincode" => Format::Bincode,
                        other => {
                            return Err(Error::new(
                                value.span(),
                                format!("wasm_bus: unknown format \"{other}\"; the format is \"json\", \"msgpack\" or \"bincode\""),
                            ))
                        }
                    });
                }
                "service" => {
                    if service.is_some() {
                        return Err(Error::new(pair.span(), "wasm_bus: `service` is given twice"));
                    }
                    service = Some(check_service(&value)?);
                }
                _ => {
                    return Err(Error::new(
                        pair.path.span(),
                        format!("wasm_bus: unknown argument `{key}`; expected `format = \"json\" | \"msgpack\" | \"bincode\"` and optionally `service = \"...\"`"),
                    ))
                }
            }
        }
        Ok(Args { format: format.unwrap_or(Format::Json), service })
    }
}

fn check_service(value: &LitStr) -> syn::Result<String> {
    let s = value.value();
    let ok = s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
        && !s.starts_with('.')
        && !s.ends_with('.');
    if !ok {
        return Err(Error::new(
            value.span(),
            "wasm_bus: a service name is part of a topic: lower-case letters, digits, `_` and inner dots only (or \"\" for bare method names)",
        ));
    }
    Ok(s)
}

/// A bus trait: its methods become topics `<service>.<method>`.
pub struct BusTrait {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub ident: Ident,
    pub format: Format,
    pub methods: Vec<Method>,
}

pub struct Method {
    pub attrs: Vec<Attribute>,
    pub ident: Ident,
    pub topic: String,
    pub args: Vec<Arg>,
    pub ret: Ret,
}

pub struct Arg {
    /// Attributes for the request field (or the callback's wrapper), e.g. `#[serde(with = "serde_bytes")]`.
    pub attrs: Vec<Attribute>,
    pub ident: Ident,
    pub kind: ArgKind,
}

pub enum ArgKind {
    /// A field of the request.
    Value(Type),
    /// `impl Fn(T)`: the callback topic named like the argument, carrying a `T`.
    Callback(Type),
}

pub enum Ret {
    /// The reply (unit when the method declares no return type).
    Value(Type),
    /// `Arc<dyn Trait>` (as written, and the trait's path): a relative object;
    /// the reply is unit, the call stays alive.
    Object(Type, Path),
}

/// Names the generated client and service take, and that clash with them.
const RESERVED: [&str; 5] = ["new", "attach", "wapm", "call", "as_client"];

pub fn parse_trait(args: Args, item: ItemTrait) -> syn::Result<BusTrait> {
    let mut errors: Option<Error> = None;
    let mut push = |e: Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
        push(Error::new(
            item.generics.span(),
            "wasm_bus: a bus trait cannot be generic: its topics and wire types are fixed",
        ));
    }
    if let Some(colon) = &item.colon_token {
        push(Error::new(
            colon.span().join(item.supertraits.span()).unwrap_or(colon.span()),
            "wasm_bus: a bus trait cannot have supertraits: it is implemented by generated clients",
        ));
    }
    if let Some(unsafety) = &item.unsafety {
        push(Error::new(unsafety.span(), "wasm_bus: a bus trait cannot be unsafe"));
    }
    if let Some(auto) = &item.auto_token {
        push(Error::new(auto.span(), "wasm_bus: a bus trait cannot be an auto trait"));
    }
    let service = args.service.clone().unwrap_or_else(|| snake_case(&item.ident.to_string()));
    let mut methods = Vec::new();
    for trait_item in item.items {
        match trait_item {
            TraitItem::Fn(f) => match parse_method(&service, f) {
                Ok(m) => methods.push(m),
                Err(e) => push(e),
            },
            other => push(Error::new(
                other.span(),
                "wasm_bus: a bus trait contains only `async fn` methods: associated types, consts and macros have no meaning on the wire",
            )),
        }
    }
    if let Some(e) = errors {
        return Err(e);
    }
    Ok(BusTrait { attrs: item.attrs, vis: item.vis, ident: item.ident, format: args.format, methods })
}

fn parse_method(service: &str, f: syn::TraitItemFn) -> syn::Result<Method> {
    let sig = &f.sig;
    let name = sig.ident.to_string();
    if sig.asyncness.is_none() {
        return Err(Error::new(
            sig.fn_token.span(),
            format!("wasm_bus: bus method `{name}` must be `async fn`: every bus call is asynchronous"),
        ));
    }
    if let Some(t) = &sig.constness {
        return Err(Error::new(t.span(), "wasm_bus: bus methods are plain `async fn`, not const"));
    }
    if let Some(t) = &sig.unsafety {
        return Err(Error::new(t.span(), "wasm_bus: bus methods are plain `async fn`, not unsafe"));
    }
    if let Some(t) = &sig.abi {
        return Err(Error::new(t.span(), "wasm_bus: bus methods are plain `async fn`, not extern"));
    }
    if let Some(v) = &sig.variadic {
        return Err(Error::new(v.span(), "wasm_bus: bus methods cannot be variadic"));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(Error::new(
            sig.generics.span(),
            format!("wasm_bus: bus method `{name}` cannot be generic: its request type is fixed"),
        ));
    }
    if let Some(body) = &f.default {
        return Err(Error::new(
            body.span(),
            format!("wasm_bus: bus method `{name}` has no default body: the server implements it"),
        ));
    }
    if !is_topic_word(&name) {
        return Err(Error::new(
            sig.ident.span(),
            format!("wasm_bus: method `{name}` becomes topic `{service}.{name}`; topics are lower-case: name it in snake_case"),
        ));
    }
    if RESERVED.contains(&name.as_str()) || name.starts_with("blocking_") {
        return Err(Error::new(
            sig.ident.span(),
            format!("wasm_bus: method name `{name}` is taken by the generated client (reserved: new, attach, wapm, call, as_client, blocking_*)"),
        ));
    }
    let mut inputs = sig.inputs.iter();
    match inputs.next() {
        Some(FnArg::Receiver(r)) if r.reference.is_some() && r.mutability.is_none() && r.colon_token.is_none() => {}
        Some(FnArg::Receiver(r)) => {
            return Err(Error::new(
                r.span(),
                format!("wasm_bus: bus method `{name}` takes `&self` (not `self` or `&mut self`): calls run concurrently on a shared object"),
            ))
        }
        _ => return Err(Error::new(sig.ident.span(), format!("wasm_bus: bus method `{name}` takes `&self` as its first argument"))),
    }
    let mut args = Vec::new();
    for input in inputs {
        let FnArg::Typed(pt) = input else { unreachable!("a receiver after the first argument does not parse") };
        let ident = match &*pt.pat {
            Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => p.ident.clone(),
            other => return Err(Error::new(
                other.span(),
                "wasm_bus: bus method arguments are plain names (`url: String`): each becomes a field of the request",
            )),
        };
        let kind = match &*pt.ty {
            Type::ImplTrait(it) => ArgKind::Callback(callback_type(it)?),
            ty => {
                check_owned(ty)?;
                ArgKind::Value(ty.clone())
            }
        };
        args.push(Arg { attrs: pt.attrs.clone(), ident, kind });
    }
    let ret = match &sig.output {
        ReturnType::Default => Ret::Value(syn::parse_quote!(())),
        ReturnType::Type(_, ty) => parse_return(ty)?,
    };
    Ok(Method {
        attrs: f.attrs.clone(),
        ident: sig.ident.clone(),
        topic: if service.is_empty() { name } else { format!("{service}.{name}") },
        args,
        ret,
    })
}

/// `impl Fn(T)` -> `T`.
fn callback_type(it: &syn::TypeImplTrait) -> syn::Result<Type> {
    const RULE: &str = "wasm_bus: a callback argument is `impl Fn(T)` with exactly one argument and no return value; its data is the callback's payload";
    let mut fns = it.bounds.iter().filter_map(|b| match b {
        TypeParamBound::Trait(t) => Some(t),
        _ => None,
    });
    let (Some(bound), None) = (fns.next(), fns.next()) else {
        return Err(Error::new(it.span(), RULE));
    };
    let last = bound.path.segments.last().ok_or_else(|| Error::new(it.span(), RULE))?;
    if last.ident != "Fn" {
        return Err(Error::new(
            last.ident.span(),
            format!("{RULE} (`{}` is not `Fn`: callbacks may run many times and share the object)", last.ident),
        ));
    }
    let PathArguments::Parenthesized(p) = &last.arguments else {
        return Err(Error::new(last.span(), RULE));
    };
    if p.inputs.len() != 1 || !matches!(p.output, ReturnType::Default) {
        return Err(Error::new(p.span(), RULE));
    }
    let ty = p.inputs[0].clone();
    check_owned(&ty)?;
    Ok(ty)
}

fn parse_return(ty: &Type) -> syn::Result<Ret> {
    if let Some(inner) = smart_pointer(ty, "Arc") {
        return match inner {
            Type::TraitObject(obj) => {
                let mut traits = obj.bounds.iter().filter_map(|b| match b {
                    TypeParamBound::Trait(t) => Some(t),
                    _ => None,
                });
                match (traits.next(), traits.next()) {
                    (Some(t), None) if t.path.segments.last().is_some_and(|s| s.arguments.is_empty()) => Ok(Ret::Object(ty.clone(), t.path.clone())),
                    _ => Err(Error::new(
                        obj.span(),
                        "wasm_bus: a relative object is returned as `Arc<dyn OtherTrait>` of exactly one other #[wasm_bus] trait",
                    )),
                }
            }
            _ => {
                check_owned(ty)?;
                Ok(Ret::Value(ty.clone()))
            }
        };
    }
    for pointer in ["Box", "Rc"] {
        if let Some(Type::TraitObject(_)) = smart_pointer(ty, pointer) {
            return Err(Error::new(
                ty.span(),
                format!("wasm_bus: a relative object is returned as `Arc<dyn Trait>`, not `{pointer}<dyn Trait>`"),
            ));
        }
    }
    if let Type::ImplTrait(_) = ty {
        return Err(Error::new(
            ty.span(),
            "wasm_bus: a bus method returns a serde type or `Arc<dyn OtherTrait>`, not `impl Trait`",
        ));
    }
    check_owned(ty)?;
    Ok(Ret::Value(ty.clone()))
}

/// `Arc<X>` / `std::sync::Arc<X>` -> `X`.
fn smart_pointer<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(tp) = ty else { return None };
    if tp.qself.is_some() {
        return None;
    }
    let last = tp.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(a) = &last.arguments else { return None };
    match a.args.iter().collect::<Vec<_>>()[..] {
        [GenericArgument::Type(t)] => Some(t),
        _ => None,
    }
}

/// Request fields and replies are (de)serialized: owned types only.
fn check_owned(ty: &Type) -> syn::Result<()> {
    const OWNED: &str = "wasm_bus: arguments and return values cross the bus by value: use owned types (`String`, `Vec<u8>`), not references or lifetimes";
    match ty {
        Type::Reference(r) => Err(Error::new(r.span(), OWNED)),
        Type::Ptr(p) => Err(Error::new(p.span(), "wasm_bus: raw pointers cannot cross the bus")),
        Type::TraitObject(t) => Err(Error::new(
            t.span(),
            "wasm_bus: `dyn` types cannot be serialized; a callback is written `impl Fn(T)`, a relative object `Arc<dyn Trait>` (return only)",
        )),
        Type::ImplTrait(t) => Err(Error::new(t.span(), "wasm_bus: `impl Trait` is only for callback arguments (`impl Fn(T)`)")),
        Type::BareFn(f) => Err(Error::new(f.span(), "wasm_bus: function pointers cannot cross the bus; use a callback argument `impl Fn(T)`")),
        Type::Never(n) => Err(Error::new(n.span(), "wasm_bus: `!` cannot be serialized")),
        Type::Infer(i) => Err(Error::new(i.span(), "wasm_bus: write the type out; `_` is not allowed here")),
        Type::Array(a) => check_owned(&a.elem),
        Type::Slice(s) => check_owned(&s.elem),
        Type::Group(g) => check_owned(&g.elem),
        Type::Paren(p) => check_owned(&p.elem),
        Type::Tuple(t) => t.elems.iter().try_for_each(check_owned),
        Type::Path(p) => {
            if let Some(q) = &p.qself {
                check_owned(&q.ty)?;
            }
            for seg in &p.path.segments {
                match &seg.arguments {
                    PathArguments::AngleBracketed(a) => {
                        for arg in &a.args {
                            match arg {
                                GenericArgument::Type(t) => check_owned(t)?,
                                GenericArgument::Lifetime(l) => return Err(Error::new(l.span(), OWNED)),
                                _ => {}
                            }
                        }
                    }
                    PathArguments::Parenthesized(p) => return Err(Error::new(p.span(), "wasm_bus: closures cannot be serialized; use a callback argument `impl Fn(T)`")),
                    PathArguments::None => {}
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn is_topic_word(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `SocketBuilder` -> `socket_builder`, `HTTPClient` -> `http_client`.
pub fn snake_case(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = if i > 0 { Some(chars[i - 1]) } else { None };
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if let Some(p) = prev {
                if p.is_lowercase() || p.is_ascii_digit() || (p.is_uppercase() && next_lower) {
                    out.push('_');
                }
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `write_stdin` -> `WriteStdin`.
pub fn pascal_case(s: &str) -> String {
    s.split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            match cs.next() {
                Some(f) => f.to_uppercase().chain(cs).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

pub fn ident(s: &str, span: Span) -> Ident {
    Ident::new(s, span)
}

/// Attributes that belong on the generated request field / callback wrapper.
pub fn field_attrs(attrs: &[Attribute]) -> TokenStream {
    quote::quote!(#(#attrs)*)
}
