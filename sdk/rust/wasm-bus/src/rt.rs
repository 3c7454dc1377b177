//! The single-threaded async engine behind the exports.
//!
//! The host runs the guest only through its exports. Each export records what
//! arrived (a result, a callback, an inbound call, a drop), wakes the tasks
//! waiting for it and polls every ready task before returning to the host. A
//! guest that blocks (`block_on`, `serve`) instead waits in the `poll` import,
//! which delivers events through the same exports re-entrantly.
//!
//! Borrow discipline: the state's `RefCell` is never borrowed while user code
//! or an import that may re-enter (`poll`) runs, and values that may run user
//! code when dropped (futures, closures) are dropped after the borrow ends.

use crate::abi::{self, Code, Format, NO_HANDLE};
use crate::{BusError, Payload, Request};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

pub(crate) type LocalFuture = Pin<Box<dyn Future<Output = ()>>>;
pub(crate) type CallbackFn = Rc<dyn Fn(Payload)>;
pub(crate) type Handler = Rc<dyn Fn(Request)>;

enum Slot {
    Idle(LocalFuture),
    /// Taken out to be polled; a wake or a cancel while it runs is noted here.
    Running {
        woken: bool,
        cancelled: bool,
    },
}

struct Task {
    slot: Slot,
    queued: bool,
}

/// An outbound call the guest made.
pub(crate) struct Outbound {
    pub(crate) result: Option<Result<Payload, BusError>>,
    pub(crate) waker: Option<Waker>,
    pub(crate) callbacks: Vec<u32>,
    pub(crate) keepalive: bool,
    /// The host no longer knows the handle: no `drop` when the owner goes.
    pub(crate) ended: bool,
    /// The result was taken by the owner.
    pub(crate) taken: bool,
    /// Owned by nobody (`Call::detach`): forgotten when it ends.
    pub(crate) detached: bool,
}

#[derive(Default)]
pub(crate) struct State {
    next_task: u64,
    tasks: BTreeMap<u64, Task>,
    ready: VecDeque<u64>,
    pub(crate) calls: BTreeMap<u32, Outbound>,
    pub(crate) callbacks: BTreeMap<u32, CallbackFn>,
    /// parent handle (0 for the module's own topics) -> topic -> handler.
    handlers: BTreeMap<u32, BTreeMap<String, Handler>>,
    /// inbound call handle -> the task serving it.
    inbound: BTreeMap<u32, u64>,
    /// inbound call handle -> why it is failing, in words (`Responder::explain`, `explain`).
    explanations: BTreeMap<u32, String>,
    /// The task being polled: the innermost, as `poll` delivers events re-entrantly.
    current: Option<u64>,
    /// What the host said to the module's latest callback: `last_callback_error`.
    callback_status: Option<BusError>,
    /// Inbound calls a refused callback was logged for: one line per call, not per callback,
    /// so a flood against a full queue does not fill limits.logBytes. Forgotten when the call ends.
    refusals_logged: BTreeSet<u32>,
    /// Topics the `listen` import was called for.
    listened: BTreeSet<String>,
    listening: bool,
    /// How many `poll` imports are on the stack.
    polling: u32,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

pub(crate) fn with<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

// ---- tasks -------------------------------------------------------------------

struct TaskWaker(u64);

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        wake_task(self.0)
    }
    fn wake_by_ref(self: &Arc<Self>) {
        wake_task(self.0)
    }
}

fn wake_task(id: u64) {
    with(|s| {
        if let Some(task) = s.tasks.get_mut(&id) {
            match &mut task.slot {
                Slot::Idle(_) if !task.queued => {
                    task.queued = true;
                    s.ready.push_back(id);
                }
                Slot::Running { woken, .. } => *woken = true,
                _ => {}
            }
        }
    })
}

pub(crate) fn spawn_boxed(future: LocalFuture) -> u64 {
    with(|s| {
        let id = s.next_task;
        s.next_task += 1;
        s.tasks.insert(id, Task { slot: Slot::Idle(future), queued: true });
        s.ready.push_back(id);
        id
    })
}

/// Cancels a task: its future is dropped (now, or when its current poll returns).
pub(crate) fn cancel_task(id: u64) {
    let dropped = with(|s| match s.tasks.get_mut(&id).map(|t| &mut t.slot) {
        Some(Slot::Running { cancelled, .. }) => {
            *cancelled = true;
            None
        }
        Some(Slot::Idle(_)) => s.tasks.remove(&id),
        None => None,
    });
    drop(dropped);
}

/// Polls every ready task until none is left. Re-entrant: a task that is being
/// polled further up the stack is skipped and re-queued when its poll returns.
pub(crate) fn run_ready() {
    loop {
        let next = with(|s| {
            while let Some(id) = s.ready.pop_front() {
                let Some(task) = s.tasks.get_mut(&id) else { continue };
                task.queued = false;
                if let Slot::Running { woken, .. } = &mut task.slot {
                    *woken = true;
                    continue;
                }
                let Slot::Idle(future) =
                    std::mem::replace(&mut task.slot, Slot::Running { woken: false, cancelled: false })
                else {
                    unreachable!()
                };
                return Some((id, future));
            }
            None
        });
        let Some((id, mut future)) = next else { break };
        let waker = Waker::from(Arc::new(TaskWaker(id)));
        let outer = with(|s| s.current.replace(id));
        let done = future.as_mut().poll(&mut Context::from_waker(&waker)).is_ready();
        with(|s| s.current = outer);
        let finished = with(|s| {
            let task = s.tasks.get_mut(&id)?;
            match task.slot {
                Slot::Running { cancelled: false, woken } if !done => {
                    task.slot = Slot::Idle(future);
                    if woken {
                        task.queued = true;
                        s.ready.push_back(id);
                    }
                    None
                }
                _ => {
                    s.tasks.remove(&id);
                    Some(future)
                }
            }
        });
        drop(finished);
    }
}

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Relaxed)
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Relaxed)
    }
}

/// Runs a future to completion, waiting for the host's events in the `poll`
/// import (the host suspends the guest there: the wasm-bus build runs binaryen's
/// asyncify on every module that imports `poll`). Other spawned tasks and
/// inbound calls run meanwhile.
///
/// It panics with a clear message (a wasip1 command prints it to stderr and
/// exits with code 11) where `poll` returns `Unsupported` (a module not built
/// with asyncify, or a `poll` the host cannot wait in), when the
/// future waits on nothing the bus can deliver, and when called from code that
/// `poll` itself is delivering (a callback or handler running inside another
/// `block_on`): spawn a task there instead.
pub fn block_on<F: Future>(future: F) -> F::Output {
    if with(|s| s.polling > 0) {
        fail(
            1,
            "wasm-bus: block_on was called from an event delivered while another block_on waits in poll; spawn a task (wasm_bus::spawn) instead of blocking there",
        );
    }
    let mut future = std::pin::pin!(future);
    let flag = Arc::new(Flag(AtomicBool::new(true)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    loop {
        if flag.0.swap(false, Ordering::Relaxed) {
            if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
                return value;
            }
        }
        run_ready();
        if flag.0.load(Ordering::Relaxed) {
            continue;
        }
        let idle = with(|s| s.live_calls() == 0 && !s.listening && s.inbound.is_empty());
        if idle {
            fail(
                1,
                "wasm-bus: block_on would wait forever: the future is pending but no bus call is in flight to wake it",
            );
        }
        wait_in_poll();
    }
}

/// Serves inbound calls forever, blocking in `poll` between them (command-style
/// programs; a cdylib server returns to the host instead). Call the generated
/// `...Service::listen` (or [`listen`](crate::listen)) first.
#[deprecated(note = "`serve` means serving a topic in the AssemblyScript SDK; this blocks forever: use `serve_forever`")]
pub fn serve() -> ! {
    serve_forever()
}

/// Serves inbound calls forever, blocking in `poll` between them (command-style
/// programs; a cdylib server returns to the host instead). Call the generated
/// `...Service::listen` (or [`listen`](crate::listen)) first.
pub fn serve_forever() -> ! {
    with(|s| s.listening = true);
    loop {
        run_ready();
        wait_in_poll();
    }
}

fn wait_in_poll() {
    with(|s| s.polling += 1);
    // SAFETY: no arguments; the host delivers events through the exports.
    let status = unsafe { abi::poll() };
    with(|s| s.polling -= 1);
    match status {
        0 => {}
        s if s == Code::Unsupported as u32 => fail(
            Code::Unsupported as u32,
            "wasm-bus: blocking needs the poll import, which returned Unsupported (11): the host cannot suspend this module (one not built with asyncify, as the wasm-bus build does: scripts/wasm-asyncify.mjs). Build it with the wasm-bus build, or use async code and return to the host (a cdylib server)",
        ),
        other => fail(1, &format!("wasm-bus: poll failed with {}", BusError::from_code(other))),
    }
}

/// Ends the program with a message: exit code `code` for a WASI command, a
/// logged panic (the call fails with GuestTrapped) elsewhere.
#[cold]
pub(crate) fn fail(code: u32, message: &str) -> ! {
    #[cfg(all(target_arch = "wasm32", target_os = "wasi"))]
    {
        eprintln!("{message}");
        std::process::exit(code as i32);
    }
    #[cfg(all(target_arch = "wasm32", not(target_os = "wasi")))]
    {
        // Log the reason, then trap: the call fails with GuestTrapped.
        let _ = code;
        crate::log::error(message);
        core::arch::wasm32::unreachable()
    }
    #[allow(unreachable_code)]
    {
        let _ = code;
        panic!("{}", message)
    }
}

impl State {
    fn live_calls(&self) -> usize {
        self.calls.values().filter(|c| !c.ended).count()
    }
}

// ---- serving -------------------------------------------------------------------

/// Registers a handler for `topic`: the module's own topic when `parent` is 0,
/// else a topic of the sub-API made by the inbound call `parent` (a relative
/// object), forgotten when that call ends. Calls the `listen` import the first
/// time a topic is registered.
pub(crate) fn register(parent: u32, topic: &str, handler: Handler) -> Result<(), BusError> {
    // The host routes a topic (a sub-API's too) only once the guest listened
    // on it, and only where module.json declares it. Once per topic: the
    // handlers of each sub-API instance are told apart by their parent.
    if !with(|s| s.listened.contains(topic)) {
        // SAFETY: pointer and length of a live &str.
        let status = unsafe { abi::listen(topic.as_ptr(), topic.len()) };
        if status != 0 {
            crate::log::error(&format!(
                "wasm-bus: cannot listen on topic {topic} ({}): declare it in module.json",
                BusError::from_code(status)
            ));
            return Err(BusError::from_code(status));
        }
    }
    let old = with(|s| {
        s.listened.insert(topic.to_owned());
        if parent == NO_HANDLE {
            s.listening = true;
        }
        s.handlers.entry(parent).or_default().insert(topic.to_owned(), handler)
    });
    drop(old);
    Ok(())
}

/// Wraps an async handler: each inbound call runs as a task whose result is
/// the reply (or the fault); dropping the call cancels the task.
pub(crate) fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Request) -> Fut + 'static,
    Fut: Future<Output = Result<Payload, BusError>> + 'static,
{
    Rc::new(move |request: Request| {
        let handle = request.handle();
        // Served from now on: a handler may decode (and so explain) before its future exists.
        with(|s| s.inbound.insert(handle, STARTING));
        let future = f(request);
        let id = spawn_boxed(Box::pin(async move {
            let result = future.await;
            with(|s| s.inbound.remove(&handle));
            answer(handle, result);
        }));
        with(|s| s.inbound.insert(handle, id));
    })
}

/// The task of an inbound call whose handler is still making its future.
const STARTING: u64 = u64::MAX;

/// Says why the inbound call the running task serves fails, in words: when its handler returns an
/// error, the caller gets them with the code (the HTTP error body's `detail`, a `fault` frame's).
/// For a `#[wasm_bus]` method, which has no `Request` to ask for a [`Responder`](crate::Responder):
///
/// ```no_run
/// # use wasm_bus::BusError;
/// # fn lookup(id: u32) -> Result<String, BusError> {
/// wasm_bus::explain(format!("no note {id}"));
/// Err(BusError::NotFound)
/// # }
/// ```
///
/// Only from the task the SDK runs for the call (a task it spawned is another, and its words go
/// nowhere), and only the latest words count.
pub fn explain(message: impl Into<String>) {
    let handle = with(|s| {
        let task = s.current?;
        s.inbound.iter().find(|(_, t)| **t == task).map(|(h, _)| *h)
    });
    if let Some(handle) = handle {
        explain_call(handle, message.into());
    }
}

pub(crate) fn explain_call(handle: u32, message: String) {
    // Only while a task serves the call: words for a call that is over would be kept forever.
    with(|s| {
        if s.inbound.contains_key(&handle) {
            s.explanations.insert(handle, message);
        }
    });
}

fn answer(handle: u32, result: Result<Payload, BusError>) {
    let why = with(|s| s.explanations.remove(&handle));
    // SAFETY: pointers and lengths of live buffers.
    let replied = unsafe {
        match result {
            Ok(reply) => {
                let status = abi::reply(handle, reply.format as u32, reply.data.as_ptr(), reply.data.len());
                if status != 0 && status != Code::InvalidHandle as u32 {
                    // Over limits.responseBytes, say: the caller gets that code.
                    abi::fault(handle, status);
                }
                status == 0
            }
            Err(e) => {
                match why {
                    Some(why) => abi::fault_message(handle, e.code(), why.as_ptr(), why.len()),
                    None => abi::fault(handle, e.code()),
                };
                false
            }
        }
    };
    // No wasm_bus_drop comes for a call that its own reply or fault ended: a sub-API made for
    // it (its handlers, the object they hold) goes now, unless the caller keeps the call alive.
    // Asked only where something was made, so a plain call costs no import.
    if with(|s| s.handlers.contains_key(&handle)) {
        // SAFETY: a plain integer.
        if !replied || unsafe { abi::kept(handle) } == 0 {
            let handlers = with(|s| s.handlers.remove(&handle));
            drop(handlers);
        }
    }
    // A kept call hears of its end through on_drop; any other ended here.
    // SAFETY: a plain integer.
    if with(|s| s.refusals_logged.contains(&handle)) && (!replied || unsafe { abi::kept(handle) } == 0) {
        with(|s| s.refusals_logged.remove(&handle));
    }
}

/// Notes what the host said to a callback of inbound call `handle`: the module's latest
/// callback status (`last_callback_error`), and a log line for the call's first refusal.
pub(crate) fn callback_sent(handle: u32, topic: &str, status: Result<(), BusError>) {
    let first = with(|s| {
        s.callback_status = status.err();
        match status {
            // A call the host no longer knows cannot end again to forget the entry: not logged
            // (a task still calling back into it would log without bound), only reported.
            Err(e) if e != BusError::InvalidHandle => s.refusals_logged.insert(handle),
            _ => false,
        }
    });
    if let (true, Err(e)) = (first, status) {
        crate::log::warn(&format!(
            "wasm-bus: callback {topic} of call {handle} refused ({}); it is lost. \
             Later refusals on this call are not logged: wasm_bus::last_callback_error() has each",
            e.name()
        ));
    }
}

/// The status of the module's latest callback: `Some` when the host refused it.
pub fn last_callback_error() -> Option<BusError> {
    with(|s| s.callback_status)
}

// ---- exports ---------------------------------------------------------------------

/// Adopts a buffer the host filled from `wasm_bus_malloc(len)`: `(0, 0)` is the empty buffer.
///
/// # Safety
/// `ptr` came from `wasm_bus_malloc(len)` and is not used elsewhere.
#[cfg(target_arch = "wasm32")]
pub(crate) unsafe fn adopt(ptr: usize, len: usize) -> Vec<u8> {
    if ptr == 0 || len == 0 {
        return Vec::new();
    }
    Vec::from_raw_parts(ptr as *mut u8, len, len)
}

pub(crate) fn on_start(parent: u32, handle: u32, format: u32, mut buffer: Vec<u8>, topic_len: usize) {
    let topic = match std::str::from_utf8(&buffer[..topic_len.min(buffer.len())]) {
        Ok(t) => t.to_owned(),
        Err(_) => String::new(),
    };
    buffer.drain(..topic_len.min(buffer.len()));
    let handler = with(|s| s.handlers.get(&parent).and_then(|m| m.get(topic.as_str())).cloned());
    let format = Format::from_u32(format).unwrap_or(Format::Raw);
    match handler {
        Some(handler) => handler(Request::new(handle, parent, topic, Payload::new(format, buffer))),
        None => {
            // The caller's to hear, not a line of this module's log (limits.logBytes is not for
            // callers to spend): a sub-API's topic called without its parent, or after it ended.
            // A topic served only under a parent, called without one, is the caller's mistake
            // (BadRequest), as one under a parent this module no longer holds is (NotFound: the
            // object it names is gone); a topic with no handler at all is the module's (InvalidTopic).
            let (code, why) = match parent {
                NO_HANDLE if with(|s| s.listened.contains(&topic)) => (
                    Code::BadRequest,
                    format!("no handler for topic {topic} (a sub-API's topic needs its parent call)"),
                ),
                NO_HANDLE => (Code::InvalidTopic, format!("no handler for topic {topic}")),
                _ => (
                    Code::NotFound,
                    format!("no handler for topic {topic} under parent {parent} (the object it names is gone)"),
                ),
            };
            // SAFETY: a live buffer and its length.
            unsafe { abi::fault_message(handle, code as u32, why.as_ptr(), why.len()) };
        }
    }
    run_ready();
}

pub(crate) fn on_finish(handle: u32, format: u32, data: Vec<u8>) {
    let payload = Payload::new(Format::from_u32(format).unwrap_or(Format::Raw), data);
    enum Target {
        Callback(CallbackFn, Payload),
        Call(Option<Waker>, Vec<CallbackFn>),
        Nothing,
    }
    let target = with(|s| {
        if let Some(cb) = s.callbacks.get(&handle) {
            return Target::Callback(cb.clone(), payload);
        }
        let Some(call) = s.calls.get_mut(&handle) else { return Target::Nothing };
        call.result = Some(Ok(payload));
        let waker = call.waker.take();
        let mut gone = Vec::new();
        if !call.keepalive {
            // The host forgot the call and its callbacks with this result.
            call.ended = true;
            for cb in std::mem::take(&mut call.callbacks) {
                gone.extend(s.callbacks.remove(&cb));
            }
            if s.calls[&handle].detached {
                s.calls.remove(&handle);
            }
        }
        Target::Call(waker, gone)
    });
    match target {
        Target::Callback(cb, payload) => cb(payload),
        Target::Call(waker, gone) => {
            drop(gone);
            if let Some(w) = waker {
                w.wake()
            }
        }
        Target::Nothing => {}
    }
    run_ready();
}

pub(crate) fn on_error(handle: u32, code: u32) {
    let (waker, gone) = with(|s| {
        let Some(call) = s.calls.get_mut(&handle) else { return (None, Vec::new()) };
        call.result = Some(Err(BusError::from_code(code)));
        call.ended = true;
        let waker = call.waker.take();
        let mut gone = Vec::new();
        for cb in std::mem::take(&mut call.callbacks) {
            gone.extend(s.callbacks.remove(&cb));
        }
        if s.calls[&handle].detached {
            s.calls.remove(&handle);
        }
        (waker, gone)
    });
    drop(gone);
    if let Some(w) = waker {
        w.wake()
    }
    run_ready();
}

pub(crate) fn on_drop(handle: u32) {
    let (task, handlers) = with(|s| {
        s.explanations.remove(&handle);
        s.refusals_logged.remove(&handle);
        (s.inbound.remove(&handle), s.handlers.remove(&handle))
    });
    if let Some(id) = task {
        cancel_task(id);
    }
    // The relative object made by this call (and its handlers) goes now.
    drop(handlers);
    run_ready();
}

/// Ends an inbound call the guest serves (a sub-API it no longer offers):
/// calls the `drop` import and forgets the call's handlers.
pub(crate) fn end_inbound(handle: u32) -> Result<(), BusError> {
    // SAFETY: a plain integer.
    let status = unsafe { abi::drop(handle) };
    let (task, handlers) = with(|s| {
        s.explanations.remove(&handle);
        s.refusals_logged.remove(&handle);
        (s.inbound.remove(&handle), s.handlers.remove(&handle))
    });
    if let Some(id) = task {
        cancel_task(id);
    }
    drop(handlers);
    BusError::check(status)
}

/// Runs a module's start-up code (the body of `_initialize`), then the tasks it spawned.
pub fn initialize<R: InitResult>(init: impl FnOnce() -> R) {
    install_panic_hook();
    init().report();
    run_ready();
}

/// Spawns an async start-up function (the body of `_initialize`) and runs it
/// until it first waits.
pub fn initialize_async<R: InitResult + 'static>(init: impl Future<Output = R> + 'static) {
    install_panic_hook();
    spawn_boxed(Box::pin(async move { init.await.report() }));
    run_ready();
}

/// What an `init` function may return: `()` or a `Result` whose error is logged.
pub trait InitResult {
    fn report(self);
}

impl InitResult for () {
    fn report(self) {}
}

impl<E: std::fmt::Debug> InitResult for Result<(), E> {
    fn report(self) {
        if let Err(e) = self {
            crate::log::error(&format!("wasm-bus: initialisation failed: {e:?}"));
        }
    }
}

/// A panic's message goes to the host before the guest traps (`fault_message` on handle 0), so
/// the calls the trap fails carry it; and to the bus log (wasm32-unknown-unknown has no stderr)
/// or, in a command, to stderr as the default hook writes it.
pub fn install_panic_hook() {
    #[cfg(target_arch = "wasm32")]
    {
        #[cfg(target_os = "wasi")]
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info.to_string();
            #[cfg(target_os = "wasi")]
            default(info);
            #[cfg(not(target_os = "wasi"))]
            crate::log::error(&message);
            // SAFETY: a live buffer and its length.
            unsafe { abi::fault_message(0, Code::GuestTrapped as u32, message.as_ptr(), message.len()) };
        }));
    }
}

/// How many of each thing the engine holds: for tests and leak hunting (a server that has
/// answered every call it was given, and whose callers dropped what they kept, holds none).
#[doc(hidden)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub tasks: usize,
    pub ready: usize,
    pub calls: usize,
    pub callbacks: usize,
    pub handlers: usize,
    pub inbound: usize,
    pub explanations: usize,
    pub refusals_logged: usize,
}

#[doc(hidden)]
pub fn stats() -> Stats {
    with(|s| Stats {
        tasks: s.tasks.len(),
        ready: s.ready.len(),
        calls: s.calls.len(),
        callbacks: s.callbacks.len(),
        // The module's own topics (parent 0) are not per call.
        handlers: s.handlers.iter().filter(|(parent, _)| **parent != NO_HANDLE).count(),
        inbound: s.inbound.len(),
        explanations: s.explanations.len(),
        refusals_logged: s.refusals_logged.len(),
    })
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn reset() {
    let old = with(std::mem::take);
    drop(old);
}
