//! A scriptable stand-in for the host, off Wasm: `cargo test` on the host
//! target runs the engine against it. The imports record what the guest did;
//! `deliver_*` play the host's side (what it would do through the exports).
//!
//! ```
//! use wasm_bus::mock::{self, Event};
//! mock::reset();
//! let call = wasm_bus::call("os", "time.now").json(&serde_json::json!({})).unwrap();
//! assert!(matches!(&mock::events()[..], [Event::Call { topic, .. }] if topic == "time.now"));
//! mock::deliver_finish(call.handle(), wasm_bus::Format::Json, b"42");
//! let now: u64 = wasm_bus::block_on(call).unwrap().decode().unwrap();
//! assert_eq!(now, 42);
//! ```

use crate::abi::Format;
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};

/// One import call the guest made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Call { parent: u32, handle: u32, keepalive: bool, format: u32, wapm: String, topic: String, request: Vec<u8> },
    Callback { parent: u32, handle: u32, topic: String },
    Listen(String),
    Reply { handle: u32, format: u32, data: Vec<u8> },
    ReplyCallback { handle: u32, format: u32, topic: String, data: Vec<u8> },
    Fault { handle: u32, code: u32 },
    FaultMessage { handle: u32, code: u32, message: String },
    Drop(u32),
    Log { level: u32, message: String },
}

type PollHook = Box<dyn FnMut() -> u32>;

#[derive(Default)]
struct Host {
    next: u32,
    events: Vec<Event>,
    /// Status codes to answer the next imports with, by import name.
    statuses: BTreeMap<&'static str, VecDeque<u32>>,
    on_poll: Option<PollHook>,
    /// Results the next `call_now`s answer at once (else a call stays in flight).
    at_once: VecDeque<(Format, Vec<u8>)>,
    /// How many `call_now`s answered at once.
    answered_at_once: usize,
    /// A result too big for the guest's result buffer, as if in a wasm_bus_malloc buffer.
    malloced: Option<Vec<u8>>,
    /// Inbound calls whose callers keep them alive (`deliver_start_kept`), until they end.
    kept: std::collections::BTreeSet<u32>,
}

thread_local! {
    static HOST: RefCell<Host> = RefCell::new(Host::default());
}

fn host<R>(f: impl FnOnce(&mut Host) -> R) -> R {
    HOST.with(|h| f(&mut h.borrow_mut()))
}

fn status(name: &'static str) -> u32 {
    host(|h| h.statuses.get_mut(name).and_then(|q| q.pop_front()).unwrap_or(0))
}

/// Forgets everything: the mock host's record and the engine's state.
pub fn reset() {
    let old = host(std::mem::take);
    drop(old);
    crate::rt::reset();
}

/// Every import call since the last [`reset`] or [`take_events`].
pub fn events() -> Vec<Event> {
    host(|h| h.events.clone())
}

pub fn take_events() -> Vec<Event> {
    host(|h| std::mem::take(&mut h.events))
}

/// Makes the next call of import `name` return `code`.
pub fn fail_next(name: &'static str, code: u32) {
    host(|h| h.statuses.entry(name).or_default().push_back(code));
}

/// Makes the next `call_now` answer at once with `data` (as the host does for a service that
/// replies before it returns: echo, `time.now`). Without it a call stays in flight, and its
/// result comes through [`deliver_finish`].
pub fn answer_at_once(format: Format, data: &[u8]) {
    host(|h| h.at_once.push_back((format, data.to_vec())));
}

/// How many calls were answered inside `call_now` since the last [`reset`].
pub fn answered_at_once() -> usize {
    host(|h| h.answered_at_once)
}

/// The result a `call_now` handed over in a buffer of its own (off Wasm, where a pointer does
/// not fit the out record).
pub(crate) fn take_malloced() -> Option<Vec<u8>> {
    host(|h| h.malloced.take())
}

/// What `poll` does: deliver events and return a status (0, or 11 for "cannot wait").
/// Without a hook, `poll` returns Unsupported.
pub fn on_poll(hook: impl FnMut() -> u32 + 'static) {
    host(|h| h.on_poll = Some(Box::new(hook)));
}

/// Runs every ready task (what each export does before returning to the host).
pub fn run_ready() {
    crate::rt::run_ready();
}

pub fn deliver_finish(handle: u32, format: Format, data: &[u8]) {
    crate::rt::on_finish(handle, format as u32, data.to_vec());
}

pub fn deliver_error(handle: u32, code: u32) {
    crate::rt::on_error(handle, code);
}

/// An inbound call; returns the handle the mock host issued for it.
pub fn deliver_start(parent: u32, topic: &str, format: Format, request: &[u8]) -> u32 {
    start(parent, topic, format, request, false)
}

/// An inbound call whose caller keeps it alive (it outlives the reply: a sub-API).
pub fn deliver_start_kept(parent: u32, topic: &str, format: Format, request: &[u8]) -> u32 {
    start(parent, topic, format, request, true)
}

fn start(parent: u32, topic: &str, format: Format, request: &[u8], keepalive: bool) -> u32 {
    let handle = host(|h| {
        h.next += 1;
        if keepalive {
            h.kept.insert(h.next);
        }
        h.next
    });
    let mut buffer = topic.as_bytes().to_vec();
    buffer.extend_from_slice(request);
    crate::rt::on_start(parent, handle, format as u32, buffer, topic.len());
    handle
}

pub fn deliver_drop(handle: u32) {
    host(|h| h.kept.remove(&handle));
    crate::rt::on_drop(handle);
}

unsafe fn string(ptr: *const u8, len: usize) -> String {
    String::from_utf8_lossy(bytes(ptr, len).as_slice()).into_owned()
}

unsafe fn bytes(ptr: *const u8, len: usize) -> Vec<u8> {
    if len == 0 {
        Vec::new()
    } else {
        std::slice::from_raw_parts(ptr, len).to_vec()
    }
}

fn record(event: Event) {
    host(|h| h.events.push(event));
}

/// The imports, with the signatures of `abi.rs`.
pub mod imports {
    use super::*;

    pub unsafe fn handle() -> u32 {
        host(|h| {
            h.next += 1;
            h.next
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub unsafe fn call(
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
    ) -> u32 {
        record(Event::Call {
            parent,
            handle,
            keepalive: keepalive != 0,
            format,
            wapm: string(wapm_ptr, wapm_len),
            topic: string(topic_ptr, topic_len),
            request: bytes(request_ptr, request_len),
        });
        status("call")
    }

    /// As the host's: answers at once what [`answer_at_once`] queued (into the result buffer,
    /// or a buffer of its own when it does not fit), else leaves the call in flight, issuing a
    /// handle when the guest passed none. Recorded as an [`Event::Call`]; its status comes from
    /// [`fail_next`]`("call", ..)`.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn call_now(
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
        result_ptr: *const u8,
        result_len: usize,
        out_ptr: *const u8,
    ) -> u32 {
        let status = status("call");
        let answer = if status == 0 { host(|h| h.at_once.pop_front()) } else { None };
        // A handle is issued where the guest passed none and the call stays live.
        let live = if status == 0 && handle == 0 && (answer.is_none() || keepalive != 0) {
            host(|h| {
                h.next += 1;
                h.next
            })
        } else {
            handle
        };
        record(Event::Call {
            parent,
            handle: live,
            keepalive: keepalive != 0,
            format,
            wapm: string(wapm_ptr, wapm_len),
            topic: string(topic_ptr, topic_len),
            request: bytes(request_ptr, request_len),
        });
        if status != 0 {
            return status;
        }
        let fields: [u32; 5] = match answer {
            None => [0, live, 0, 0, 0],
            Some((format, data)) => {
                let ptr = if data.is_empty() {
                    0
                } else if data.len() <= result_len {
                    std::ptr::copy_nonoverlapping(data.as_ptr(), result_ptr as *mut u8, data.len());
                    result_ptr as usize as u32 // off Wasm a pointer does not fit a u32: the engine only compares it
                } else {
                    // The host's wasm_bus_malloc buffer: kept aside here (its address does not fit a u32).
                    let len = data.len();
                    host(|h| h.malloced = Some(data));
                    return finish(out_ptr, [1, if keepalive != 0 { live } else { 0 }, format as u32, 1, len as u32]);
                };
                [1, if keepalive != 0 { live } else { 0 }, format as u32, ptr, data.len() as u32]
            }
        };
        finish(out_ptr, fields)
    }

    unsafe fn finish(out_ptr: *const u8, fields: [u32; 5]) -> u32 {
        if fields[0] != 0 {
            host(|h| h.answered_at_once += 1);
        }
        let out = out_ptr as *mut u32;
        for (i, v) in fields.iter().enumerate() {
            out.add(i).write_unaligned(*v);
        }
        0
    }

    pub unsafe fn callback(parent: u32, handle: u32, topic_ptr: *const u8, topic_len: usize) -> u32 {
        record(Event::Callback { parent, handle, topic: string(topic_ptr, topic_len) });
        status("callback")
    }

    pub unsafe fn listen(topic_ptr: *const u8, topic_len: usize) -> u32 {
        record(Event::Listen(string(topic_ptr, topic_len)));
        status("listen")
    }

    pub unsafe fn reply(handle: u32, format: u32, ptr: *const u8, len: usize) -> u32 {
        record(Event::Reply { handle, format, data: bytes(ptr, len) });
        status("reply")
    }

    pub unsafe fn reply_callback(
        handle: u32,
        format: u32,
        topic_ptr: *const u8,
        topic_len: usize,
        ptr: *const u8,
        len: usize,
    ) -> u32 {
        record(Event::ReplyCallback { handle, format, topic: string(topic_ptr, topic_len), data: bytes(ptr, len) });
        status("reply_callback")
    }

    /// As the host's: a kept-alive inbound call that has not ended.
    pub unsafe fn kept(handle: u32) -> u32 {
        host(|h| h.kept.contains(&handle)) as u32
    }

    pub unsafe fn fault(handle: u32, code: u32) -> u32 {
        host(|h| h.kept.remove(&handle));
        record(Event::Fault { handle, code });
        status("fault")
    }

    pub unsafe fn fault_message(handle: u32, code: u32, ptr: *const u8, len: usize) -> u32 {
        host(|h| h.kept.remove(&handle));
        record(Event::FaultMessage { handle, code, message: string(ptr, len) });
        status("fault_message")
    }

    pub unsafe fn drop(handle: u32) -> u32 {
        record(Event::Drop(handle));
        status("drop")
    }

    pub unsafe fn poll() -> u32 {
        let hook = host(|h| h.on_poll.take());
        match hook {
            Some(mut hook) => {
                let status = hook();
                host(|h| {
                    if h.on_poll.is_none() {
                        h.on_poll = Some(hook)
                    }
                });
                status
            }
            None => crate::abi::Code::Unsupported as u32,
        }
    }

    pub unsafe fn fork() -> u32 {
        crate::abi::Code::Unsupported as u32
    }

    pub unsafe fn thread_id() -> u32 {
        0
    }

    pub unsafe fn log(level: u32, ptr: *const u8, len: usize) -> u32 {
        record(Event::Log { level, message: string(ptr, len) });
        0
    }
}
