//! The wasm-bus ABI, version 1: the raw imports, the codes and the formats.
//!
//! This file mirrors `src/abi.ts` of the runtime (names, signatures and codes,
//! in the same order) and `docs/abi.md` explains it. The host-side test
//! `the_abi_table_matches_the_runtime` (src/tests.rs) reads `src/abi.ts` and compares, and the runtime's `test/abi-table.test.ts`
//! checks the imports and exports of every built Rust module.
//!
//! Module authors use the safe API of the crate root instead; the functions
//! here are `unsafe` because they take raw pointers into linear memory.

pub const ABI_VERSION: u32 = 1;

/// The import module every bus function lives in.
pub const IMPORT_MODULE: &str = "wasm-bus";

/// Error codes. 0–18 keep the original wasm-bus numbering; new codes start at 19.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    Success = 0,
    SerializationFailed = 1,
    DeserializationFailed = 2,
    InvalidWapm = 3,
    FetchFailed = 4,
    CompileError = 5,
    IncorrectAbi = 6,
    Aborted = 7,
    InvalidHandle = 8,
    InvalidTopic = 9,
    MissingCallbacks = 10,
    Unsupported = 11,
    BadRequest = 12,
    InternalFailure = 14,
    MemoryAllocationFailed = 16,
    BusInvocationFailed = 17,
    AccessDenied = 18,
    Timeout = 19,
    LimitExceeded = 20,
    GuestTrapped = 21,
    InvalidPointer = 22,
    InvalidUtf8 = 23,
    CallCycle = 24,
    /// Edge only: the HTTP edge answers these; a guest never sees them.
    NotFound = 25,
    MethodNotAllowed = 26,
    Unauthorized = 27,
    Unknown = 0xffff_ffff,
}

impl Code {
    /// Every code, in the order of `src/abi.ts`.
    pub const ALL: [Code; 27] = [
        Code::Success,
        Code::SerializationFailed,
        Code::DeserializationFailed,
        Code::InvalidWapm,
        Code::FetchFailed,
        Code::CompileError,
        Code::IncorrectAbi,
        Code::Aborted,
        Code::InvalidHandle,
        Code::InvalidTopic,
        Code::MissingCallbacks,
        Code::Unsupported,
        Code::BadRequest,
        Code::InternalFailure,
        Code::MemoryAllocationFailed,
        Code::BusInvocationFailed,
        Code::AccessDenied,
        Code::Timeout,
        Code::LimitExceeded,
        Code::GuestTrapped,
        Code::InvalidPointer,
        Code::InvalidUtf8,
        Code::CallCycle,
        Code::NotFound,
        Code::MethodNotAllowed,
        Code::Unauthorized,
        Code::Unknown,
    ];

    /// The code with this number, if it has a name (13 and 15 are unused).
    pub fn from_u32(value: u32) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| *c as u32 == value)
    }

    /// The name as in `src/abi.ts` (`"InvalidTopic"`).
    pub fn name(self) -> &'static str {
        match self {
            Code::Success => "Success",
            Code::SerializationFailed => "SerializationFailed",
            Code::DeserializationFailed => "DeserializationFailed",
            Code::InvalidWapm => "InvalidWapm",
            Code::FetchFailed => "FetchFailed",
            Code::CompileError => "CompileError",
            Code::IncorrectAbi => "IncorrectAbi",
            Code::Aborted => "Aborted",
            Code::InvalidHandle => "InvalidHandle",
            Code::InvalidTopic => "InvalidTopic",
            Code::MissingCallbacks => "MissingCallbacks",
            Code::Unsupported => "Unsupported",
            Code::BadRequest => "BadRequest",
            Code::InternalFailure => "InternalFailure",
            Code::MemoryAllocationFailed => "MemoryAllocationFailed",
            Code::BusInvocationFailed => "BusInvocationFailed",
            Code::AccessDenied => "AccessDenied",
            Code::Timeout => "Timeout",
            Code::LimitExceeded => "LimitExceeded",
            Code::GuestTrapped => "GuestTrapped",
            Code::InvalidPointer => "InvalidPointer",
            Code::InvalidUtf8 => "InvalidUtf8",
            Code::CallCycle => "CallCycle",
            Code::NotFound => "NotFound",
            Code::MethodNotAllowed => "MethodNotAllowed",
            Code::Unauthorized => "Unauthorized",
            Code::Unknown => "Unknown",
        }
    }
}

/// Serialization formats. Every call, reply and callback names one.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    Raw = 0,
    Json = 1,
    Msgpack = 2,
    Bincode = 3,
}

pub const FORMAT_NAMES: [&str; 4] = ["raw", "json", "msgpack", "bincode"];

impl Format {
    pub fn from_u32(value: u32) -> Option<Format> {
        match value {
            0 => Some(Format::Raw),
            1 => Some(Format::Json),
            2 => Some(Format::Msgpack),
            3 => Some(Format::Bincode),
            _ => None,
        }
    }

    /// `"raw"`, `"json"`, `"msgpack"` or `"bincode"`.
    pub fn name(self) -> &'static str {
        FORMAT_NAMES[self as usize]
    }
}

/// Log levels of the `log` import, as in the `log` crate.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
    Trace = 5,
}

pub const LOG_LEVEL_NAMES: [&str; 6] = ["", "error", "warn", "info", "debug", "trace"];

/// A handle value that never names a call: "no parent".
pub const NO_HANDLE: u32 = 0;

/// The wapm name of the host's built-in services.
pub const OS_WAPM: &str = "os";

/// A Wasm value type of an import or export signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValType {
    I32,
    I64,
}

/// A function signature, as in the `IMPORTS` / `EXPORTS` tables of `src/abi.ts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sig {
    pub params: &'static [ValType],
    pub results: &'static [ValType],
}

const fn sig(params: &'static [ValType], results: &'static [ValType]) -> Sig {
    Sig { params, results }
}

use ValType::I32;

/// Imports the host provides in module `wasm-bus`. Pointers and lengths are u32 (i32).
pub const IMPORTS: [(&str, Sig); 13] = [
    ("handle", sig(&[], &[I32])),
    ("call", sig(&[I32, I32, I32, I32, I32, I32, I32, I32, I32, I32], &[I32])),
    ("callback", sig(&[I32, I32, I32, I32], &[I32])),
    ("listen", sig(&[I32, I32], &[I32])),
    ("reply", sig(&[I32, I32, I32, I32], &[I32])),
    ("reply_callback", sig(&[I32, I32, I32, I32, I32, I32], &[I32])),
    ("fault", sig(&[I32, I32], &[I32])),
    ("drop", sig(&[I32], &[I32])),
    ("poll", sig(&[], &[I32])),
    ("fork", sig(&[], &[I32])),
    ("thread_id", sig(&[], &[I32])),
    ("log", sig(&[I32, I32, I32], &[I32])),
    ("fault_message", sig(&[I32, I32, I32, I32], &[I32])),
];

/// Exports a guest provides (this crate defines them all, in `exports.rs`).
pub const EXPORTS: [(&str, Sig); 6] = [
    ("wasm_bus_malloc", sig(&[I32], &[I32])),
    ("wasm_bus_free", sig(&[I32, I32], &[])),
    ("wasm_bus_start", sig(&[I32, I32, I32, I32, I32, I32, I32], &[])),
    ("wasm_bus_finish", sig(&[I32, I32, I32, I32], &[])),
    ("wasm_bus_error", sig(&[I32, I32], &[])),
    ("wasm_bus_drop", sig(&[I32], &[])),
];

// The imports. Handles, formats, flags, levels and codes are u32; pointers are
// `*const u8` and lengths `usize` (both i32 on wasm32). See docs/abi.md for the
// meaning of each.
#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "wasm-bus")]
extern "C" {
    /// A fresh handle for a call or callback the guest is about to make.
    pub fn handle() -> u32;
    /// Starts a call; the result arrives later through `wasm_bus_finish` / `wasm_bus_error`.
    pub fn call(
        parent: u32,
        handle: u32,
        keepalive: u32,
        format: u32,
        wapm_ptr: *const u8,
        wapm_len: usize,
        topic_ptr: *const u8,
        topic_len: usize,
        request_ptr: *const u8,
        request_len: usize,
    ) -> u32;
    /// Registers `handle` as the callback `topic` of the call `parent`.
    pub fn callback(parent: u32, handle: u32, topic_ptr: *const u8, topic_len: usize) -> u32;
    /// Declares that the guest serves `topic`.
    pub fn listen(topic_ptr: *const u8, topic_len: usize) -> u32;
    /// Answers the inbound call `handle`.
    pub fn reply(handle: u32, format: u32, ptr: *const u8, len: usize) -> u32;
    /// Invokes the callback `topic` that the caller of inbound call `handle` registered.
    pub fn reply_callback(
        handle: u32,
        format: u32,
        topic_ptr: *const u8,
        topic_len: usize,
        ptr: *const u8,
        len: usize,
    ) -> u32;
    /// Answers the inbound call `handle` with an error code.
    pub fn fault(handle: u32, code: u32) -> u32;
    /// Ends a handle: cancels a call, unregisters a callback, ends an inbound call.
    pub fn drop(handle: u32) -> u32;
    /// Blocks until events are pending and delivers them (JSPI); `Unsupported` without JSPI.
    pub fn poll() -> u32;
    /// Keeps the instance alive after `_start` returns (processes only).
    pub fn fork() -> u32;
    /// Always 0.
    pub fn thread_id() -> u32;
    /// Writes one line to the Worker's logs.
    pub fn log(level: u32, ptr: *const u8, len: usize) -> u32;
    /// As `fault`, with the guest's own words for why (UTF-8). Handle 0 names no call:
    /// the guest is about to trap and says why first (a panic's message).
    pub fn fault_message(handle: u32, code: u32, ptr: *const u8, len: usize) -> u32;
}

// Off Wasm (host-side `cargo test`) the imports are a scriptable mock host.
#[cfg(not(target_arch = "wasm32"))]
pub use crate::mock::imports::*;
