//! What `#[wasm_bus]` refuses, as compile tests (`cargo test --doc`); the
//! macro's unit tests check each message. A control case first:
//!
//! ```
//! use std::sync::Arc;
//! use wasm_bus::macros::*;
//! #[wasm_bus(format = "json")]
//! pub trait Counter { async fn open(&self, start: u64, on_change: impl Fn(u64)) -> Arc<dyn Tally>; }
//! #[wasm_bus(format = "json")]
//! pub trait Tally { async fn add(&self, n: u64) -> u64; }
//! ```
//!
//! Methods must be `async`:
//! ```compile_fail
//! use wasm_bus::macros::*;
//! #[wasm_bus(format = "json")]
//! pub trait T { fn m(&self); }
//! ```
//!
//! ... take `&self`:
//! ```compile_fail
//! use wasm_bus::macros::*;
//! #[wasm_bus(format = "json")]
//! pub trait T { async fn m(&mut self); }
//! ```
//!
//! ... take owned arguments:
//! ```compile_fail
//! use wasm_bus::macros::*;
//! #[wasm_bus(format = "json")]
//! pub trait T { async fn m(&self, name: &str); }
//! ```
//!
//! ... take callbacks as `impl Fn(T)` of one argument:
//! ```compile_fail
//! use wasm_bus::macros::*;
//! #[wasm_bus(format = "json")]
//! pub trait T { async fn m(&self, cb: impl FnMut(u8)); }
//! ```
//! ```compile_fail
//! use wasm_bus::macros::*;
//! #[wasm_bus(format = "json")]
//! pub trait T { async fn m(&self, cb: Box<dyn Fn(u8)>); }
//! ```
//!
//! ... return a relative object as `Arc<dyn Trait>`:
//! ```compile_fail
//! use wasm_bus::macros::*;
//! #[wasm_bus(format = "json")]
//! pub trait T { async fn m(&self) -> Box<dyn U>; }
//! ```
//!
//! ... and the format is one of three:
//! ```compile_fail
//! use wasm_bus::macros::*;
//! #[wasm_bus(format = "xml")]
//! pub trait T { async fn m(&self); }
//! ```
//!
//! A bus trait has no generics or associated items:
//! ```compile_fail
//! use wasm_bus::macros::*;
//! #[wasm_bus(format = "json")]
//! pub trait T<X> { async fn m(&self, x: X); }
//! ```
//! ```compile_fail
//! use wasm_bus::macros::*;
//! #[wasm_bus(format = "json")]
//! pub trait T { type Out; async fn m(&self); }
//! ```
//!
//! `#[wasm_bus::main]` is for `async fn main` of a command:
//! ```compile_fail
//! #[wasm_bus::main]
//! fn main() {}
//! ```
