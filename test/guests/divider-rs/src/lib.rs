//! divider-rs: topic `divide`, JSON, with no request type in module.json, so what reaches the
//! guest is whatever the caller sent: {"a": 7, "b": 2} -> 3. A request without `b` fails in
//! serde ("missing field `b`"), b = 0 panics ("attempt to divide by zero"); the caller gets
//! those words either way. `remainder` refuses b = 0 itself, BadRequest with its own words
//! (`wasm_bus::explain` from a trait method).

use std::sync::Arc;
use wasm_bus::prelude::*;

#[wasm_bus(format = "json", service = "")]
pub trait Divider {
    async fn divide(&self, a: i32, b: i32) -> i32;
    async fn remainder(&self, a: i32, b: i32) -> i32;
}

struct Divide;

#[wasm_bus]
impl Divider for Divide {
    async fn divide(&self, a: i32, b: i32) -> Result<i32, BusError> {
        Ok(a / b)
    }
    async fn remainder(&self, a: i32, b: i32) -> Result<i32, BusError> {
        if b == 0 {
            wasm_bus::explain(format!("no remainder of {a} by 0"));
            return Err(BusError::BadRequest);
        }
        Ok(a % b)
    }
}

#[wasm_bus::init]
fn init() -> Result<(), BusError> {
    DividerService::listen(Arc::new(Divide))
}
