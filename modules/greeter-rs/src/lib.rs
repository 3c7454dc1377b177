//! greeter-rs: a module that calls other modules by their names.
//!
//! - `relay` {"name": "Ada", "to"?: "hello"} calls topic `greet` of module
//!   `to` (any language: the AssemblyScript `hello` by default, or `hello-rs`)
//!   and replies {"message": <its greeting>, "relayed": true, "from": <to>}.
//! - `count` {"start": 10, "add": [1, 2]} opens a tally on `counter-rs` (a
//!   relative object), adds each number, collects the `on_change` callbacks,
//!   reads the total, and drops the tally.

use counter_api::CounterClient;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use wasm_bus::prelude::*;

/// The API of the hello modules, declared on the caller's side: topics are
/// language-neutral, so this is all a client needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Greeting {
    pub message: String,
}

#[wasm_bus(format = "json", service = "")]
pub trait Hello {
    async fn greet(&self, name: String) -> Greeting;
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Relayed {
    pub message: String,
    pub relayed: bool,
    pub from: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Counted {
    pub totals: Vec<u64>,
    pub changes: Vec<u64>,
    pub total: u64,
}

#[wasm_bus(format = "json", service = "")]
pub trait Greeter {
    async fn relay(&self, name: String, to: Option<String>) -> Relayed;
    async fn count(&self, start: u64, add: Vec<u64>) -> Counted;
}

struct Relay;

#[wasm_bus]
impl Greeter for Relay {
    async fn relay(&self, name: String, to: Option<String>) -> Result<Relayed, BusError> {
        let to = to.unwrap_or_else(|| "hello".to_owned());
        let greeting = HelloClient::new(&to).greet(name).await?;
        Ok(Relayed { message: greeting.message, relayed: true, from: to })
    }

    async fn count(&self, start: u64, add: Vec<u64>) -> Result<Counted, BusError> {
        let changes = Rc::new(RefCell::new(Vec::new()));
        let seen = changes.clone();
        let tally = CounterClient::new("counter-rs").open(start, move |total| seen.borrow_mut().push(total)).await?;
        let mut totals = Vec::new();
        for n in add {
            totals.push(tally.add(n).await?);
        }
        let total = tally.get().await?;
        drop(tally); // drops the open call: counter-rs forgets the tally
        let changes = changes.borrow().clone();
        Ok(Counted { totals, changes, total })
    }
}

#[wasm_bus::init]
fn init() -> Result<(), BusError> {
    GreeterService::listen(Arc::new(Relay))
}
