//! types-rs: topic `echo`, bincode. A request of the serde types JSON has no word for (a bool
//! and an optional one, an enum, maps, bytes, 64-bit integers), read by serde and sent back with
//! Rust's own view of it: how a client's values reach a Rust module, and what the console's form
//! controls for those types send.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use std::collections::BTreeMap;
use std::sync::Arc;
use wasm_bus::prelude::*;

/// One of each kind of enum variant serde has: unit, newtype, struct.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Shape {
    Dot,
    Circle(u32),
    Rect { w: u32, h: u32 },
}

/// What `echo` read: its request's fields, as Rust holds them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Kinds {
    pub yes: bool,
    pub maybe: Option<bool>,
    pub shape: Shape,
    pub tags: BTreeMap<String, u32>,
    pub seen: BTreeMap<u64, bool>,
    pub data: ByteBuf,
    pub big: u64,
    pub signed: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Echoed {
    pub kinds: Kinds,
    /// Rust's Debug of what it read: the module's view, past any client's rendering of the reply.
    pub rust: String,
}

/// Bincode has no field names or type tags: every field reaches Rust through the topic's types.
/// `service = ""`: the topic is the bare method name, `echo`.
#[wasm_bus(format = "bincode", service = "")]
pub trait Types {
    #[allow(clippy::too_many_arguments)]
    async fn echo(&self, yes: bool, maybe: Option<bool>, shape: Shape, tags: BTreeMap<String, u32>, seen: BTreeMap<u64, bool>, data: ByteBuf, big: u64, signed: i64) -> Echoed;
}

struct Echo;

#[wasm_bus]
impl Types for Echo {
    async fn echo(&self, yes: bool, maybe: Option<bool>, shape: Shape, tags: BTreeMap<String, u32>, seen: BTreeMap<u64, bool>, data: ByteBuf, big: u64, signed: i64) -> Result<Echoed, BusError> {
        let kinds = Kinds { yes, maybe, shape, tags, seen, data, big, signed };
        Ok(Echoed { rust: format!("{kinds:?}"), kinds })
    }
}

#[wasm_bus::init]
fn init() -> Result<(), BusError> {
    TypesService::listen(Arc::new(Echo))
}
