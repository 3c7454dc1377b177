//! bridge-rs: Rust clients of the host's relative-object services.
//!
//! - `ws_echo` {"url", "text"}: opens a WebSocket through `socket_builder.connect`
//!   (a kept-alive call with callbacks `state_change` and `receive`), sends the
//!   text with `web_socket.send` (its parent: the connect call), waits for the
//!   first frame back and drops the socket, which closes it.
//! - `run` {"module", "args", "stdin"?}: spawns a command-style module with
//!   `process.spawn` and collects its `stdout`, `stderr` and `exit` callbacks.

use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use wasm_bus::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Echoed {
    pub states: Vec<String>,
    pub sent: String,
    pub echoed: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

#[wasm_bus(format = "json", service = "")]
pub trait Bridge {
    async fn ws_echo(&self, url: String, text: String) -> Echoed;
    async fn run(&self, module: String, args: Vec<String>, #[serde(default)] stdin: Option<String>) -> Ran;
}

struct Bridges;

#[wasm_bus]
impl Bridge for Bridges {
    async fn ws_echo(&self, url: String, text: String) -> Result<Echoed, BusError> {
        let states = Rc::new(RefCell::new(Vec::new()));
        let seen = states.clone();
        let (frames, mut received) = wasm_bus::task::channel::<Vec<u8>>();
        let socket = wasm_bus_ws::connect(
            url,
            move |s| seen.borrow_mut().push(format!("{s:?}")),
            move |frame| frames.send(frame),
        )
        .await?;
        let sent = socket.send(text.into_bytes()).await?;
        let frame = wasm_bus_time::timeout(Duration::from_secs(2), received.recv()).await?.ok_or(BusError::Aborted)?;
        drop(socket); // ends the connect call: the host closes the socket
        let states = states.borrow().clone();
        Ok(Echoed { states, sent: format!("{sent:?}"), echoed: String::from_utf8_lossy(&frame).into_owned() })
    }

    async fn run(&self, module: String, args: Vec<String>, stdin: Option<String>) -> Result<Ran, BusError> {
        let mut command = wasm_bus_process::Command::new(module).args(args);
        if let Some(input) = stdin {
            command = command.stdin(input.into_bytes());
        }
        let out = command.output().await?;
        Ok(Ran {
            code: out.code,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

#[wasm_bus::init]
fn init() -> Result<(), BusError> {
    BridgeService::listen(Arc::new(Bridges))
}
