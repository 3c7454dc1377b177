//! # wasm-bus: the Rust guest SDK
//!
//! Bus-enabled WebAssembly modules call named services (`call`), serve topics
//! (`listen`), pass callbacks and keep sub-APIs ("relative objects") alive,
//! all through the `wasm-bus` imports of ABI v2 (see `docs/abi.md`): calls go
//! through `call_now`, so a service that answers at once hands its result back
//! inside the import and the [`Call`] is ready at its first poll. This crate
//! binds that ABI ([`abi`]), defines the exports once ([`exports`]), and runs a
//! single-threaded async engine: tasks, outbound calls as futures, inbound
//! calls as tasks, [`block_on`] for command-style programs.
//!
//! Most code uses the `#[wasm_bus]` macro on a trait, which generates the
//! client (`FooClient`), the server glue (`FooService`) and the request types:
//!
//! ```ignore
//! use wasm_bus::macros::*;
//!
//! #[wasm_bus(format = "json")]
//! pub trait Time {
//!     async fn sleep(&self, duration_ms: u128);
//! }
//!
//! // client: topic "time.sleep" of the host's built-in services
//! TimeClient::new("os").sleep(10).await?;
//! ```
//!
//! See `sdk/rust/README.md` for servers, relative objects and commands.

// Generated code names `::wasm_bus`; this lets the crate use its own macros.
extern crate self as wasm_bus;

pub mod abi;
mod call;
mod error;
#[cfg(target_arch = "wasm32")]
pub mod exports;
pub mod format;
pub mod log;
#[cfg(not(target_arch = "wasm32"))]
#[doc(hidden)]
pub mod mock;
#[doc(hidden)]
pub mod rt;
pub mod task;

pub use abi::{Code, Format};
pub use call::{attach, call, listen, Call, CallBuilder, Request, Responder};
pub use error::BusError;
pub use format::{Codec, Payload};
#[allow(deprecated)]
pub use rt::serve;
pub use rt::{block_on, explain, last_callback_error, serve_forever};
pub use task::{spawn, JoinHandle};

pub use serde;
pub use serde_bytes;

/// The `#[wasm_bus]` attribute (and `#[init]`, `#[main]`), as in the original crate:
/// `use wasm_bus::macros::*;`.
pub mod macros {
    pub use wasm_bus_macros::{init, main, wasm_bus};
}

pub use wasm_bus_macros::{init, main};

/// A boxed future, not `Send`: what the methods of a `#[wasm_bus]` trait return.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + 'a>>;

/// A callback argument of a `#[wasm_bus]` trait method (`impl Fn(T)` in the declaration).
pub type Callback<T> = Box<dyn Fn(T)>;

/// Exports `_initialize`, which the host calls once after instantiation, to run
/// `setup` (a `fn() -> ()` or `fn() -> Result<(), E>`): where a server listens.
/// The same as `#[wasm_bus::init]` on `setup`.
///
/// ```ignore
/// fn setup() -> Result<(), wasm_bus::BusError> {
///     HelloService::listen(std::sync::Arc::new(MyHello))
/// }
/// wasm_bus::initialize!(setup);
/// ```
#[macro_export]
macro_rules! initialize {
    ($setup:path) => {
        #[no_mangle]
        pub extern "C" fn _initialize() {
            $crate::rt::initialize($setup)
        }
    };
}

/// Everything a module usually needs.
pub mod prelude {
    pub use crate::macros::wasm_bus;
    pub use crate::{block_on, call, listen, spawn, BoxFuture, BusError, Callback, Format, Payload, Request};
    pub use std::sync::Arc;
}

#[cfg(doctest)]
mod rules;
#[cfg(test)]
mod tests;
