//! sleeper-rs: a command-style module (wasm32-wasip1). `main` runs in
//! `wasm_bus::block_on`, which waits for the bus in the `poll` import (the
//! build asyncifies the module, so it waits with its stack in its own memory).

use std::time::Duration;

#[wasm_bus::main]
async fn main() {
    println!("sleeping 50 ms through the bus");
    if let Err(e) = wasm_bus_time::sleep(Duration::from_millis(50)).await {
        eprintln!("time.sleep failed: {e}");
        std::process::exit(1);
    }
    println!("awake");
}
