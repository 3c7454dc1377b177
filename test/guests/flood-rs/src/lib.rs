//! flood-rs: `flood.go` invokes its caller's `tick` callback `n` times in one entry, through the
//! callback the `#[wasm_bus]` macro generates (an `impl Fn(u32)`, which returns nothing). Past
//! the caller's queue (4,096 deliveries) the host refuses them: the SDK must say so, through
//! `wasm_bus::last_callback_error()` and one log line for the call, not one per refusal.

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use wasm_bus::prelude::*;

#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    /// Ticks the host took.
    pub delivered: u32,
    /// Ticks it refused, with the code of the last refusal.
    pub refused: u32,
    pub last_error: Option<String>,
}

#[wasm_bus(format = "json")]
pub trait Flood {
    async fn go(&self, n: u32, tick: impl Fn(u32)) -> Report;
}

struct Flooder;

#[wasm_bus]
impl Flood for Flooder {
    async fn go(&self, n: u32, tick: impl Fn(u32)) -> Result<Report, BusError> {
        let mut report = Report { delivered: 0, refused: 0, last_error: None };
        for i in 0..n {
            tick(i);
            match wasm_bus::last_callback_error() {
                None => report.delivered += 1,
                Some(e) => {
                    report.refused += 1;
                    report.last_error = Some(e.name().to_owned());
                }
            }
        }
        Ok(report)
    }
}

#[wasm_bus::init]
fn init() -> Result<(), BusError> {
    FloodService::listen(Arc::new(Flooder))
}
