//! sleepcat-rs: a process whose stdin waits while it sleeps (test/snapshots.test.ts,
//! test/processes.test.ts). `sleepcat-rs MS [CHILD ARGS..]`: CHILD as a sub-process to its exit
//! (when given), then `sleeping`, a sleep of MS ms through the bus, then stdin to stdout.

use std::io::BufRead;
use std::time::Duration;

#[wasm_bus::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let ms: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    if let Some(child) = args.next() {
        // Its output is the child's: the host stores its lines under the child's id.
        let code = match wasm_bus_process::Command::new(child).args(args.collect::<Vec<_>>()).output().await {
            Ok(out) => out.code,
            Err(e) => {
                eprintln!("spawn failed: {e}");
                std::process::exit(1);
            }
        };
        println!("child exited {code}");
    }
    println!("sleeping");
    if let Err(e) = wasm_bus_time::sleep(Duration::from_millis(ms)).await {
        eprintln!("time.sleep failed: {e}");
        std::process::exit(1);
    }
    for line in std::io::stdin().lock().lines() {
        match line {
            Ok(line) => println!("{line}"),
            Err(e) => {
                eprintln!("stdin: {e}");
                std::process::exit(1);
            }
        }
    }
}
