//! hello-rs: topic `greet`, JSON. {"name":"Ada"} -> {"message":"Hello, Ada!"}
//!
//! A missing or non-string name is BadRequest (12): the SDK faults a request
//! that is well-formed JSON of the wrong shape with that code.

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use wasm_bus::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Greeting {
    pub message: String,
}

/// `service = ""`: the topic is the bare method name, `greet`.
#[wasm_bus(format = "json", service = "")]
pub trait Hello {
    async fn greet(&self, name: String) -> Greeting;
}

struct Greeter;

#[wasm_bus]
impl Hello for Greeter {
    async fn greet(&self, name: String) -> Result<Greeting, BusError> {
        Ok(Greeting { message: format!("Hello, {name}!") })
    }
}

#[wasm_bus::init]
fn init() -> Result<(), BusError> {
    HelloService::listen(Arc::new(Greeter))
}
