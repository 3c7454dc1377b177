//! counter-rs: serves the Counter API (see `api/`): `counter.open` answers with
//! a relative object, a `Tally`, whose methods are topics of their own called
//! with the open call as parent. Each tally lives until its caller drops the
//! open call; `add` invokes the caller's `on_change` callback.

use counter_api::{Counter, CounterService, Tally};
use std::cell::Cell;
use std::sync::Arc;
use wasm_bus::prelude::*;

struct Counters;

struct MyTally {
    total: Cell<u64>,
    on_change: Callback<u64>,
}

#[wasm_bus]
impl Counter for Counters {
    async fn open(&self, start: u64, on_change: impl Fn(u64)) -> Result<Arc<dyn Tally>, BusError> {
        Ok(Arc::new(MyTally { total: Cell::new(start), on_change }))
    }
}

#[wasm_bus]
impl Tally for MyTally {
    async fn add(&self, n: u64) -> Result<u64, BusError> {
        let total = self.total.get().checked_add(n).ok_or(BusError::BadRequest)?;
        self.total.set(total);
        (self.on_change)(total);
        Ok(total)
    }

    async fn get(&self) -> Result<u64, BusError> {
        Ok(self.total.get())
    }
}

#[wasm_bus::init]
fn init() -> Result<(), BusError> {
    CounterService::listen(Arc::new(Counters))
}
