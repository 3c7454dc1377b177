//! sleeper-rs: a command-style module (wasm32-wasip1). `main` runs in
//! `wasm_bus::block_on`, which waits for the bus in the `poll` import (the
//! build asyncifies the module, so it waits with its stack in its own memory,
//! and a snapshot of the process holds the wait). `sleeper-rs [MS]` sleeps MS
//! milliseconds (default 50).

use std::time::Duration;

#[wasm_bus::main]
async fn main() {
    let ms: u64 = match std::env::args().nth(1).map(|a| a.parse()) {
        None => 50,
        Some(Ok(ms)) => ms,
        Some(Err(_)) => {
            eprintln!("usage: sleeper-rs [MS]");
            std::process::exit(2);
        }
    };
    println!("sleeping {ms} ms through the bus");
    if let Err(e) = wasm_bus_time::sleep(Duration::from_millis(ms)).await {
        eprintln!("time.sleep failed: {e}");
        std::process::exit(1);
    }
    println!("awake");
}
