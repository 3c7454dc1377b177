//! Logging through the `log` import: each line reaches the Worker's logs as
//! JSON tagged with the module and the inbound call it was written for.
//!
//! ```no_run
//! wasm_bus::log::info("starting");
//! wasm_bus::info!("served {} calls", 3);
//! ```
//!
//! With the `log` feature, [`init`] makes the `log` crate's macros write here too.

use crate::abi::{self, LogLevel};

/// Writes one line at `level`. Lines past the module's `limits.logBytes` are dropped by the host.
pub fn write(level: LogLevel, message: &str) {
    // SAFETY: the pointer and length describe a live &str.
    let _ = unsafe { abi::log(level as u32, message.as_ptr(), message.len()) };
}

pub fn error(message: &str) {
    write(LogLevel::Error, message)
}

pub fn warn(message: &str) {
    write(LogLevel::Warn, message)
}

pub fn info(message: &str) {
    write(LogLevel::Info, message)
}

pub fn debug(message: &str) {
    write(LogLevel::Debug, message)
}

pub fn trace(message: &str) {
    write(LogLevel::Trace, message)
}

/// `wasm_bus::error!("...", args)`: formats and logs at level error.
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => { $crate::log::error(&::std::format!($($arg)*)) };
}

/// `wasm_bus::warn!("...", args)`: formats and logs at level warn.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::log::warn(&::std::format!($($arg)*)) };
}

/// `wasm_bus::info!("...", args)`: formats and logs at level info.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::log::info(&::std::format!($($arg)*)) };
}

/// `wasm_bus::debug!("...", args)`: formats and logs at level debug.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => { $crate::log::debug(&::std::format!($($arg)*)) };
}

/// A `log` crate backend over the `log` import.
#[cfg(feature = "log")]
pub struct BusLogger;

#[cfg(feature = "log")]
impl ::log::Log for BusLogger {
    fn enabled(&self, _: &::log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &::log::Record<'_>) {
        let level = match record.level() {
            ::log::Level::Error => LogLevel::Error,
            ::log::Level::Warn => LogLevel::Warn,
            ::log::Level::Info => LogLevel::Info,
            ::log::Level::Debug => LogLevel::Debug,
            ::log::Level::Trace => LogLevel::Trace,
        };
        write(level, &record.args().to_string());
    }
    fn flush(&self) {}
}

/// Routes the `log` crate's macros to the bus log, up to `max` level.
#[cfg(feature = "log")]
pub fn init(max: ::log::LevelFilter) {
    static LOGGER: BusLogger = BusLogger;
    if ::log::set_logger(&LOGGER).is_ok() {
        ::log::set_max_level(max);
    }
}
