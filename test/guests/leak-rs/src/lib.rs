//! leak-rs: each topic takes one path of the Rust SDK; `stats` says what the SDK holds
//! afterwards (`wasm_bus::rt::stats`) and how big the memory is, so a test can call the rest
//! thousands of times and check that a long-running server holds nothing per call. The Counter
//! API it serves and uses is counter-rs's own (the counter-api crate), `get` and all.

use counter_api::{Counter, CounterClient, CounterService, Tally};
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::sync::Arc;
use wasm_bus::prelude::*;

struct Counters;
struct Tallied {
    total: Cell<u64>,
    on_change: Callback<u64>,
}

#[wasm_bus]
impl Counter for Counters {
    async fn open(&self, start: u64, on_change: impl Fn(u64)) -> Result<Arc<dyn Tally>, BusError> {
        Ok(Arc::new(Tallied { total: Cell::new(start), on_change }))
    }
}

#[wasm_bus]
impl Tally for Tallied {
    async fn add(&self, n: u64) -> Result<u64, BusError> {
        self.total.set(self.total.get() + n);
        (self.on_change)(self.total.get());
        Ok(self.total.get())
    }

    async fn get(&self) -> Result<u64, BusError> {
        Ok(self.total.get())
    }
}

#[derive(Deserialize)]
struct Strict {
    a: u32,
}

#[derive(Serialize)]
struct Stats {
    pages: usize,
    tasks: usize,
    ready: usize,
    calls: usize,
    callbacks: usize,
    handlers: usize,
    inbound: usize,
    explanations: usize,
}

fn pages() -> usize {
    #[cfg(target_arch = "wasm32")]
    return core::arch::wasm32::memory_size(0);
    #[allow(unreachable_code)]
    0
}

#[wasm_bus::init]
fn init() -> Result<(), BusError> {
    listen("echo", |req: Request| async move { Ok(req.into_payload()) })?;
    listen("relay", |req: Request| async move {
        let n: usize = req.decode()?;
        let reply = call("os", "echo.echo").send_raw(Format::Raw, &vec![7u8; n])?.await?;
        Payload::json(&reply.data.len())
    })?;
    listen("nap", |_req: Request| async move {
        call("os", "time.sleep").send_raw(Format::Json, br#"{"duration_ms":1}"#)?.await?;
        Payload::json(&())
    })?;
    listen("strict", |req: Request| async move {
        let s: Strict = req.decode()?;
        Payload::json(&s.a)
    })?;
    listen("fail", |req: Request| async move {
        req.responder().explain("fails on purpose");
        Err::<Payload, _>(BusError::BadRequest)
    })?;
    listen("detach", |_req: Request| async move {
        call("os", "time.sleep").send_raw(Format::Json, br#"{"duration_ms":1}"#)?.detach();
        Payload::json(&())
    })?;
    listen("use", |req: Request| async move {
        let n: u64 = req.decode()?;
        let tally = CounterClient::new("counter-rs").open(0, |_| {}).await?;
        let total = tally.add(n).await?;
        Payload::json(&total)
    })?;
    CounterService::listen(Arc::new(Counters))?;
    listen("stats", |_req: Request| async move {
        let s = wasm_bus::rt::stats();
        Payload::json(&Stats {
            pages: pages(),
            tasks: s.tasks,
            ready: s.ready,
            calls: s.calls,
            callbacks: s.callbacks,
            handlers: s.handlers,
            inbound: s.inbound,
            explanations: s.explanations,
        })
    })
}
