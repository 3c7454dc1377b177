//! Time over the bus: the host's `time.sleep` and `time.now` (wapm `os`, JSON).
//!
//! ```no_run
//! # async fn f() -> Result<(), wasm_bus::BusError> {
//! use std::time::Duration;
//! wasm_bus_time::sleep(Duration::from_millis(50)).await?;
//! let answer = wasm_bus_time::timeout(Duration::from_secs(1), async { 42 }).await?;
//! let ms_since_epoch = wasm_bus_time::now().await?;
//! # Ok(()) }
//! ```
//!
//! In a plain call a sleep is a timer; in a process it is a Durable Object alarm.
//! Dropping a sleep cancels it (the host sees the call dropped).

use std::future::Future;
use std::time::{Duration, SystemTime};
use wasm_bus::macros::*;
use wasm_bus::BusError;

/// The host's clock service: topics `time.sleep` and `time.now`.
#[wasm_bus(format = "json")]
pub trait Time {
    async fn sleep(&self, duration_ms: u128);
    async fn now(&self) -> u128;
}

/// The wapm name of the host's built-in services.
pub const WAPM: &str = wasm_bus::abi::OS_WAPM;

/// Sleeps for `duration` (whole milliseconds) through the bus.
pub async fn sleep(duration: Duration) -> Result<(), BusError> {
    TimeClient::new(WAPM).sleep(duration.as_millis()).await
}

/// Milliseconds since the Unix epoch, from the host.
pub async fn now() -> Result<u128, BusError> {
    TimeClient::new(WAPM).now().await
}

/// The host's clock as a `SystemTime`.
pub async fn system_time() -> Result<SystemTime, BusError> {
    let ms = now().await?;
    Ok(SystemTime::UNIX_EPOCH + Duration::from_millis(ms as u64))
}

/// Runs `future` for at most `duration`: `Err(BusError::Timeout)` when it takes
/// longer (the future is dropped, cancelling its calls). A failed timer is its
/// own error.
pub async fn timeout<F: Future>(duration: Duration, future: F) -> Result<F::Output, BusError> {
    match wasm_bus::task::select(future, sleep(duration)).await {
        wasm_bus::task::Either::Left(value) => Ok(value),
        wasm_bus::task::Either::Right(Ok(())) => Err(BusError::Timeout),
        wasm_bus::task::Either::Right(Err(e)) => Err(e),
    }
}

/// `sleep` in `block_on`, for command-style programs.
pub fn blocking_sleep(duration: Duration) -> Result<(), BusError> {
    wasm_bus::block_on(sleep(duration))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use wasm_bus::mock::{self, Event};
    use wasm_bus::Format;

    #[test]
    fn sleep_calls_time_sleep_in_json() {
        mock::reset();
        let task = wasm_bus::spawn(sleep(Duration::from_millis(50)));
        mock::on_poll(|| {
            let h = mock::events().iter().find_map(|e| match e {
                Event::Call { handle, .. } => Some(*handle),
                _ => None,
            });
            mock::deliver_finish(h.unwrap(), Format::Json, b"null");
            0
        });
        wasm_bus::block_on(task).unwrap();
        let Event::Call { wapm, topic, request, format, .. } = &mock::events()[0] else { panic!() };
        assert_eq!((wapm.as_str(), topic.as_str(), *format), ("os", "time.sleep", 1));
        assert_eq!(request.as_slice(), br#"{"duration_ms":50}"#);
    }

    #[test]
    fn timeout_elapses() {
        mock::reset();
        let task = wasm_bus::spawn(timeout(Duration::from_millis(5), std::future::pending::<()>()));
        mock::on_poll(|| {
            mock::deliver_finish(1, Format::Json, b"null");
            0
        });
        assert_eq!(wasm_bus::block_on(task), Err(BusError::Timeout));
    }
}
