//! fetcher-rs: topic `fetch`, JSON. {"url": "...", "delayMs": 100}
//! sleeps delayMs on the bus (os time.sleep), GETs url (os http.fetch) and
//! replies {"status": 200, "bytes": <body length>, "sleptMs": <time.now after - before>}.
//! A failed bus call faults the request with the code it failed with.

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use wasm_bus::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fetched {
    pub status: u16,
    pub bytes: u64,
    #[serde(rename = "sleptMs")]
    pub slept_ms: u64,
}

#[wasm_bus(format = "json", service = "")]
pub trait Fetcher {
    /// Argument attributes go onto the request's field: the wire name is `delayMs`, and it may be left out.
    async fn fetch(&self, url: String, #[serde(rename = "delayMs", default)] delay_ms: u64) -> Fetched;
}

struct Worker;

#[wasm_bus]
impl Fetcher for Worker {
    async fn fetch(&self, url: String, delay_ms: u64) -> Result<Fetched, BusError> {
        let before = wasm_bus_time::now().await?;
        wasm_bus_time::sleep(Duration::from_millis(delay_ms)).await?;
        let after = wasm_bus_time::now().await?;
        let res = wasm_bus_http::get(url).send().await?;
        Ok(Fetched {
            status: res.status().as_u16(),
            bytes: res.bytes().len() as u64,
            slept_ms: after.saturating_sub(before) as u64,
        })
    }
}

#[wasm_bus::init]
fn init() -> Result<(), BusError> {
    FetcherService::listen(Arc::new(Worker))
}
