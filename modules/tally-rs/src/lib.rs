//! tally-rs: a counter in the host's key-value store (os kv.*, through wasm-bus-kv), under one
//! key. JSON topics:
//!
//! - `incr {"by": 1}` -> `{"count": n}`
//! - `get {}` -> `{"count": n}`
//!
//! Instances do not share memory (calls are served by a pool of them, in any isolate), so the
//! count lives in the store, and `incr` is a read-modify-write that never loses an update:
//! `kv.read` gives the count and its version, `kv.cas` writes count + by only if the version is
//! still the one read, and where another call wrote in between, `incr` reads again and retries,
//! after a short random pause that grows with each lost race (so that a crowd of callers spreads
//! out instead of colliding again and again). (`wasm_bus_kv::update` is the loop without pauses.)

use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::sync::Arc;
use std::time::Duration;
use wasm_bus::prelude::*;

const KEY: &str = "count";
/// A call that loses this many swaps in a row gives up (Busy) rather than spin; its timeout would end it anyway.
const MAX_TRIES: u32 = 1000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Count {
    pub count: u64,
}

#[wasm_bus(format = "json", service = "")]
pub trait Tally {
    async fn incr(&self, by: u32) -> Count;
    async fn get(&self) -> Count;
}

/// The stored count: 8 bytes, little-endian (absent: 0).
fn decode(value: Option<&[u8]>) -> u64 {
    value.and_then(|b| <[u8; 8]>::try_from(b).ok()).map(u64::from_le_bytes).unwrap_or(0)
}

thread_local! {
    /// xorshift64: the pauses' jitter.
    static SEED: Cell<u64> = const { Cell::new(0x9e37_79b9_7f4a_7c15) };
}

/// A pause of up to 2, 4, ... 256 ms after the `tries`-th lost race.
fn jitter(tries: u32) -> Duration {
    let r = SEED.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        x
    });
    Duration::from_millis(r % (1u64 << tries.min(8)))
}

struct Counter;

#[wasm_bus]
impl Tally for Counter {
    async fn incr(&self, by: u32) -> Result<Count, BusError> {
        for tries in 1..=MAX_TRIES {
            let entry = wasm_bus_kv::read(KEY).await?;
            let count = decode(entry.value.as_deref()).checked_add(by as u64).ok_or(BusError::LimitExceeded)?;
            let swap = wasm_bus_kv::cas(KEY, entry.version, Some(count.to_le_bytes().to_vec())).await?;
            if swap.ok {
                return Ok(Count { count });
            }
            // Another call wrote since our read: pause, then read again.
            wasm_bus_time::sleep(jitter(tries)).await?;
        }
        Err(BusError::from(wasm_bus::Code::Busy))
    }

    async fn get(&self) -> Result<Count, BusError> {
        Ok(Count { count: decode(wasm_bus_kv::get(KEY).await?.as_deref()) })
    }
}

#[wasm_bus::init]
fn init() -> Result<(), BusError> {
    TallyService::listen(Arc::new(Counter))
}
