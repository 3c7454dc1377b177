//! The macro's checks, one rule at a time: each bad input is a compile error
//! whose message names the rule.

use crate::expand;
use crate::model::{pascal_case, snake_case};
use quote::quote;

fn error_of(attr: proc_macro2::TokenStream, item: proc_macro2::TokenStream) -> String {
    match expand(attr, item) {
        Ok(tokens) => panic!("expected an error, got {tokens}"),
        Err(e) => e.to_string(),
    }
}

fn expect_error(attr: proc_macro2::TokenStream, item: proc_macro2::TokenStream, needle: &str) {
    let e = error_of(attr, item);
    assert!(e.contains(needle), "error {e:?} does not mention {needle:?}");
}

#[test]
fn names() {
    assert_eq!(snake_case("SocketBuilder"), "socket_builder");
    assert_eq!(snake_case("WebSocket"), "web_socket");
    assert_eq!(snake_case("Time"), "time");
    assert_eq!(snake_case("HTTPClient"), "http_client");
    assert_eq!(snake_case("Http2Server"), "http2_server");
    assert_eq!(pascal_case("write_stdin"), "WriteStdin");
    assert_eq!(pascal_case("sleep"), "Sleep");
}

#[test]
fn accepts_the_readme_examples() {
    let time = expand(
        quote!(format = "json"),
        quote! {
            pub trait Time {
                async fn sleep(&self, duration_ms: u128);
            }
        },
    )
    .unwrap()
    .to_string();
    assert!(time.contains("\"time.sleep\""), "{time}");
    assert!(time.contains("TimeSleepRequest"));
    assert!(time.contains("TimeClient"));
    assert!(time.contains("TimeService"));
    assert!(time.contains("Json"));

    let ws = expand(
        quote!(format = "bincode"),
        quote! {
            pub trait SocketBuilder {
                async fn connect(
                    &self,
                    url: String,
                    state_change: impl Fn(SocketState),
                    receive: impl Fn(Vec<u8>),
                ) -> Arc<dyn WebSocket>;
            }
        },
    )
    .unwrap()
    .to_string();
    assert!(ws.contains("\"socket_builder.connect\""), "{ws}");
    assert!(ws.contains("\"state_change\"") && ws.contains("\"receive\""));
    assert!(ws.contains("SocketBuilderConnectStateChangeCallback"));
    assert!(ws.contains("WebSocketClient") && ws.contains("WebSocketService"));
    assert!(ws.contains("keepalive"));
    assert!(ws.contains("Bincode"));
}

#[test]
fn service_names() {
    let bare = expand(
        quote!(format = "json", service = ""),
        quote! {
            pub trait Hello { async fn greet(&self, name: Option<String>) -> Greeting; }
        },
    )
    .unwrap()
    .to_string();
    assert!(bare.contains("\"greet\"") && !bare.contains("\"hello.greet\""), "{bare}");
    let named = expand(
        quote!(service = "ws"),
        quote! {
            pub trait SocketBuilder { async fn connect(&self, url: String); }
        },
    )
    .unwrap()
    .to_string();
    assert!(named.contains("\"ws.connect\""));
    expect_error(
        quote!(service = "Bad Name"),
        quote!(
            trait T {
                async fn m(&self);
            }
        ),
        "lower-case letters",
    );
}

#[test]
fn attribute_arguments() {
    expect_error(
        quote!(format = "xml"),
        quote!(
            trait T {
                async fn m(&self);
            }
        ),
        "\"json\", \"msgpack\" or \"bincode\"",
    );
    expect_error(
        quote!(formats = "json"),
        quote!(
            trait T {
                async fn m(&self);
            }
        ),
        "unknown argument `formats`",
    );
    expect_error(
        quote!(format = json),
        quote!(
            trait T {
                async fn m(&self);
            }
        ),
        "takes a string literal",
    );
    expect_error(
        quote!(format = "json", format = "json"),
        quote!(
            trait T {
                async fn m(&self);
            }
        ),
        "given twice",
    );
}

#[test]
fn trait_rules() {
    let a = quote!(format = "json");
    expect_error(
        a.clone(),
        quote!(
            trait T<X> {
                async fn m(&self);
            }
        ),
        "cannot be generic",
    );
    expect_error(
        a.clone(),
        quote!(
            trait T: Clone {
                async fn m(&self);
            }
        ),
        "supertraits",
    );
    expect_error(
        a.clone(),
        quote!(
            trait T {
                type X;
                async fn m(&self);
            }
        ),
        "only `async fn` methods",
    );
    expect_error(
        a.clone(),
        quote!(
            trait T {
                const X: u8;
            }
        ),
        "only `async fn` methods",
    );
    expect_error(
        a.clone(),
        quote!(
            struct S;
        ),
        "goes on a trait",
    );
}

#[test]
fn method_rules() {
    let a = quote!(format = "json");
    expect_error(
        a.clone(),
        quote!(
            trait T {
                fn m(&self);
            }
        ),
        "must be `async fn`",
    );
    expect_error(
        a.clone(),
        quote!(
            trait T {
                async fn m(self);
            }
        ),
        "takes `&self`",
    );
    expect_error(
        a.clone(),
        quote!(
            trait T {
                async fn m(&mut self);
            }
        ),
        "takes `&self`",
    );
    expect_error(
        a.clone(),
        quote!(
            trait T {
                async fn m();
            }
        ),
        "takes `&self`",
    );
    expect_error(
        a.clone(),
        quote!(
            trait T {
                async fn m<X>(&self, x: X);
            }
        ),
        "cannot be generic",
    );
    expect_error(
        a.clone(),
        quote!(
            trait T {
                async fn m(&self) {}
            }
        ),
        "no default body",
    );
    expect_error(
        a.clone(),
        quote!(
            trait T {
                async fn Greet(&self);
            }
        ),
        "snake_case",
    );
    expect_error(
        a.clone(),
        quote!(
            trait T {
                async fn new(&self);
            }
        ),
        "taken by the generated client",
    );
    expect_error(
        a.clone(),
        quote!(
            trait T {
                async fn blocking_x(&self);
            }
        ),
        "taken by the generated client",
    );
    expect_error(
        a.clone(),
        quote!(
            trait T {
                async fn m(&self, (a, b): (u8, u8));
            }
        ),
        "plain names",
    );
    expect_error(
        a.clone(),
        quote!(
            trait T {
                unsafe fn m(&self);
            }
        ),
        "must be `async fn`",
    );
}

#[test]
fn argument_rules() {
    let a = quote!(format = "json");
    expect_error(
        a.clone(),
        quote!(
            trait T {
                async fn m(&self, s: &str);
            }
        ),
        "owned types",
    );
    expect_error(
        a.clone(),
        quote!(
            trait T {
                async fn m(&self, s: Cow<'static, str>);
            }
        ),
        "owned types",
    );
    expect_error(
        a.clone(),
        quote!(
            trait T {
                async fn m(&self, f: Box<dyn Fn(u8)>);
            }
        ),
        "`impl Fn(T)`",
    );
    expect_error(
        a.clone(),
        quote!(
            trait T {
                async fn m(&self, f: fn(u8));
            }
        ),
        "function pointers",
    );
    expect_error(
        a.clone(),
        quote!(
            trait T {
                async fn m(&self, f: impl FnMut(u8));
            }
        ),
        "is not `Fn`",
    );
    expect_error(
        a.clone(),
        quote!(
            trait T {
                async fn m(&self, f: impl Fn(u8, u8));
            }
        ),
        "exactly one argument",
    );
    expect_error(
        a.clone(),
        quote!(
            trait T {
                async fn m(&self, f: impl Fn());
            }
        ),
        "exactly one argument",
    );
    expect_error(
        a.clone(),
        quote!(
            trait T {
                async fn m(&self, f: impl Fn(u8) -> u8);
            }
        ),
        "no return value",
    );
    expect_error(
        a.clone(),
        quote!(
            trait T {
                async fn m(&self, f: impl Fn(&str));
            }
        ),
        "owned types",
    );
    expect_error(
        a.clone(),
        quote!(
            trait T {
                async fn m(&self, f: impl Clone);
            }
        ),
        "is not `Fn`",
    );
}

#[test]
fn return_rules() {
    let a = quote!(format = "json");
    expect_error(
        a.clone(),
        quote!(
            trait T {
                async fn m(&self) -> Box<dyn U>;
            }
        ),
        "not `Box<dyn Trait>`",
    );
    expect_error(
        a.clone(),
        quote!(
            trait T {
                async fn m(&self) -> Rc<dyn U>;
            }
        ),
        "not `Rc<dyn Trait>`",
    );
    expect_error(
        a.clone(),
        quote!(
            trait T {
                async fn m(&self) -> impl U;
            }
        ),
        "not `impl Trait`",
    );
    expect_error(
        a.clone(),
        quote!(
            trait T {
                async fn m(&self) -> &'static str;
            }
        ),
        "owned types",
    );
    expect_error(
        a.clone(),
        quote!(
            trait T {
                async fn m(&self) -> Arc<dyn U + V>;
            }
        ),
        "exactly one other",
    );
    let ok = expand(
        a.clone(),
        quote!(
            trait T {
                async fn m(&self) -> std::sync::Arc<dyn other::U>;
            }
        ),
    )
    .unwrap()
    .to_string();
    assert!(ok.contains("other :: UClient") && ok.contains("other :: UService"), "{ok}");
    let value = expand(
        a,
        quote!(
            trait T {
                async fn m(&self) -> Arc<String>;
            }
        ),
    )
    .unwrap()
    .to_string();
    assert!(!value.contains("keepalive"), "Arc<String> is a value, not a relative object");
}

#[test]
fn argument_attributes_move_to_the_request() {
    let out = expand(
        quote!(format = "msgpack"),
        quote! {
            trait Blob { async fn put(&self, #[serde(with = "serde_bytes")] data: Vec<u8>, done: impl Fn(#[serde(with = "serde_bytes")] Vec<u8>)); }
        },
    );
    // An attribute inside `Fn(...)` is not Rust syntax; on the argument it is.
    assert!(out.is_err());
    let out = expand(quote!(format = "msgpack"), quote! {
        trait Blob { async fn put(&self, #[serde(with = "serde_bytes")] data: Vec<u8>, #[serde(with = "serde_bytes")] done: impl Fn(Vec<u8>)); }
    })
    .unwrap()
    .to_string();
    assert!(out.contains("struct BlobPutRequest { # [serde (with = \"serde_bytes\")] pub data"), "{out}");
    assert!(out.contains("BlobPutDoneCallback (# [serde (with = \"serde_bytes\")] pub Vec < u8 >)"), "{out}");
}

#[test]
fn impl_blocks_become_boxed_futures() {
    let out = expand(
        quote!(),
        quote! {
            impl Time for MyTime {
                async fn sleep(&self, duration_ms: u128, tick: impl Fn(u8)) -> Result<(), BusError> { Ok(()) }
                fn other(&self) {}
            }
        },
    )
    .unwrap()
    .to_string();
    assert!(out.contains("BoxFuture < '_ , Result < () , BusError > >"), "{out}");
    assert!(out.contains("tick : :: wasm_bus :: Callback < u8 >"), "{out}");
    assert!(out.contains("Box :: pin (async move"));
    assert!(out.contains("fn other (& self) { }"));
    expect_error(quote!(), quote!(impl MyTime { async fn x(&self) {} }), "impl BusTrait for Type");
}
