//! The two examples of the original wasm-bus README, compiled unchanged
//! against this SDK (each module below starts with the README's text, as is).
//! The workspace builds this crate for wasm32-unknown-unknown.

/// "Example API" of the README.
pub mod time {
    use wasm_bus::macros::*;

    #[wasm_bus(format = "json")]
    pub trait Time {
        async fn sleep(&self, duration_ms: u128);
    }
}

/// "Relative Objects" of the README. `SocketState` and `SendResult` are not
/// in the README's snippet; they are defined after it, as wasm-bus-ws does.
pub mod relative_objects {
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

    // --- not in the README ---

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub enum SocketState {
        Opening,
        Opened,
        Closed,
        Failed,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub enum SendResult {
        Success,
        Failed,
    }
}

/// Using the generated code: a client, a server, a relative object.
pub mod usage {
    use super::relative_objects::*;
    use super::time::*;
    use std::sync::Arc;
    use wasm_bus::macros::*;
    use wasm_bus::BusError;

    /// A client of the host's `time.sleep`, and of a socket.
    pub async fn client() -> Result<(), BusError> {
        TimeClient::new("os").sleep(10).await?;
        let socket = SocketBuilderClient::new("os")
            .connect(
                "wss://example.com/".to_string(),
                |state| wasm_bus::info!("{state:?}"),
                |data| wasm_bus::info!("{} bytes", data.len()),
            )
            .await?;
        let _ = socket.send(b"hi".to_vec()).await?;
        Ok(())
    }

    /// A server of the same APIs: implementations copy the trait's
    /// declarations, returning `Result<_, BusError>`. (Wasm guests are
    /// single-threaded: `Arc<dyn Trait>` of a non-`Send` object is fine.)
    pub struct Sockets;
    pub struct Socket {
        receive: wasm_bus::Callback<Vec<u8>>,
    }

    #[wasm_bus]
    #[allow(clippy::arc_with_non_send_sync)]
    impl SocketBuilder for Sockets {
        async fn connect(
            &self,
            url: String,
            state_change: impl Fn(SocketState),
            receive: impl Fn(Vec<u8>),
        ) -> Result<Arc<dyn WebSocket>, BusError> {
            let _ = url;
            state_change(SocketState::Opened);
            Ok(Arc::new(Socket { receive }))
        }
    }

    #[wasm_bus]
    impl WebSocket for Socket {
        async fn send(&self, data: Vec<u8>) -> Result<SendResult, BusError> {
            (self.receive)(data); // an echo socket
            Ok(SendResult::Success)
        }
    }

    pub fn serve() -> Result<(), BusError> {
        SocketBuilderService::listen(Arc::new(Sockets))
    }
}
