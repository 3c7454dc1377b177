//! Outbound WebSockets, with the original crate's API (bincode):
//!
//! | topic | request | reply | callbacks |
//! | --- | --- | --- | --- |
//! | `socket_builder.connect` | `{url: String}` | unit; the call stays alive and *is* the socket | `state_change: SocketState`, `receive: Vec<u8>` (one frame; text frames as UTF-8) |
//! | `web_socket.send` (parent: the connect call) | `{data: Vec<u8>}` | `SendResult` | |
//!
//! Dropping the `Arc<dyn WebSocket>` (the last clone) drops the connect call,
//! which closes the socket. The module's `fetch.allow` must list the host.
//!
//! ```no_run
//! # async fn f() -> Result<(), wasm_bus::BusError> {
//! use wasm_bus_ws::{SocketState, SendResult};
//! let socket = wasm_bus_ws::connect(
//!     "wss://echo.example.com/",
//!     |state: SocketState| wasm_bus::info!("socket is {state:?}"),
//!     |frame: Vec<u8>| wasm_bus::info!("got {} bytes", frame.len()),
//! )
//! .await?;
//! assert_eq!(socket.send(b"hello".to_vec()).await?, SendResult::Success);
//! # Ok(()) }
//! ```

use serde::*;
use std::sync::Arc;
use wasm_bus::macros::*;

#[wasm_bus(format = "bincode")]
pub trait SocketBuilder {
    async fn connect(
        &self,
        url: String,
        state_change: impl Fn(SocketState),
        receive: impl Fn(Vec<u8>),
    ) -> Arc<dyn WebSocket>;
}

#[wasm_bus(format = "bincode")]
pub trait WebSocket {
    async fn send(&self, data: Vec<u8>) -> SendResult;
}

/// What `state_change` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SocketState {
    Opening,
    Opened,
    Closed,
    Failed,
}

/// The outcome of `send` (as the host service answers it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SendResult {
    Success,
    Failed,
}

/// Opens a WebSocket through the host (`socket_builder.connect` of wapm `os`).
pub async fn connect(
    url: impl Into<String>,
    state_change: impl Fn(SocketState) + 'static,
    receive: impl Fn(Vec<u8>) + 'static,
) -> Result<Arc<dyn WebSocket>, wasm_bus::BusError> {
    SocketBuilderClient::new(wasm_bus::abi::OS_WAPM).connect(url.into(), state_change, receive).await
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;
    use wasm_bus::mock::{self, Event};
    use wasm_bus::Format;

    #[test]
    fn connect_send_and_callbacks_in_bincode() {
        mock::reset();
        let states = Rc::new(RefCell::new(Vec::new()));
        let frames = Rc::new(RefCell::new(Vec::new()));
        let (s, f) = (states.clone(), frames.clone());
        let task =
            wasm_bus::spawn(connect("wss://x/", move |st| s.borrow_mut().push(st), move |d| f.borrow_mut().push(d)));
        mock::run_ready();
        let events = mock::events();
        let cbs: Vec<(u32, String)> = events
            .iter()
            .filter_map(|e| match e {
                Event::Callback { handle, topic, .. } => Some((*handle, topic.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(cbs.iter().map(|c| c.1.as_str()).collect::<Vec<_>>(), ["state_change", "receive"]);
        let Some(Event::Call { handle: connect, keepalive: true, topic, format: 3, request, .. }) =
            events.last().cloned()
        else {
            panic!("{events:?}")
        };
        assert_eq!(topic, "socket_builder.connect");
        let mut url = 8u64.to_le_bytes().to_vec();
        url.extend(b"wss://x/");
        assert_eq!(request, url);
        mock::deliver_finish(cbs[0].0, Format::Bincode, &1u32.to_le_bytes()); // Opened
        mock::deliver_finish(connect, Format::Bincode, &[]);
        let socket = wasm_bus::block_on(task).unwrap();
        let mut frame = 2u64.to_le_bytes().to_vec();
        frame.extend(b"hi");
        mock::deliver_finish(cbs[1].0, Format::Bincode, &frame);
        assert_eq!(*states.borrow(), [SocketState::Opened]);
        assert_eq!(*frames.borrow(), [b"hi".to_vec()]);

        let sending = wasm_bus::spawn(async move { (socket.send(vec![7]).await, socket) });
        mock::run_ready();
        let Some(Event::Call { handle: send, parent, topic, .. }) = mock::events().last().cloned() else { panic!() };
        assert_eq!((parent, topic.as_str()), (connect, "web_socket.send"));
        mock::deliver_finish(send, Format::Bincode, &0u32.to_le_bytes());
        let (result, socket) = wasm_bus::block_on(sending);
        assert_eq!(result.unwrap(), SendResult::Success);
        drop(socket);
        assert_eq!(mock::events().last(), Some(&Event::Drop(connect)));
    }
}
