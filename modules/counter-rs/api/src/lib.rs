//! The API of counter-rs, shared by the server and its clients: a crate with
//! just the traits, as the original wasm-bus API crates were.
//!
//! | topic | parent | request | reply | callbacks |
//! | --- | --- | --- | --- | --- |
//! | `counter.open` | - | `{"start": u64}` | `null`; keep the call alive: it is the tally | `on_change: u64` |
//! | `tally.add` | the open call | `{"n": u64}` | the new total (u64) | fires `on_change` with it |
//! | `tally.get` | the open call | `{}` | the total (u64) | |

use std::sync::Arc;
use wasm_bus::macros::*;

/// Opens a tally starting at `start`; `on_change` hears every new total.
#[wasm_bus(format = "json")]
pub trait Counter {
    async fn open(&self, start: u64, on_change: impl Fn(u64)) -> Arc<dyn Tally>;
}

/// A relative object: its calls carry the `counter.open` call as parent.
#[wasm_bus(format = "json")]
pub trait Tally {
    async fn add(&self, n: u64) -> u64;
    async fn get(&self) -> u64;
}
