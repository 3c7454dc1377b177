//! Outbound calls: build, start, await, keep alive, cancel.

use crate::abi::{self, Format, NO_HANDLE};
use crate::format::Codec;
use crate::rt::{self, with, CallbackFn, Outbound};
use crate::{BusError, Payload};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// Starts building a call to `topic` of the module (or `"os"` service) `wapm`.
///
/// ```no_run
/// # async fn f() -> Result<(), wasm_bus::BusError> {
/// #[derive(serde::Serialize)]
/// struct Greet<'a> { name: &'a str }
/// #[derive(serde::Deserialize)]
/// struct Greeting { message: String }
///
/// let reply = wasm_bus::call("hello", "greet").json(&Greet { name: "Ada" })?.await?;
/// let greeting: Greeting = reply.decode()?;
/// # Ok(()) }
/// ```
pub fn call<'a>(wapm: &'a str, topic: &'a str) -> CallBuilder<'a> {
    CallBuilder::new(wapm, topic)
}

/// A call about to be made: where it goes, its parent, keepalive and callbacks.
#[must_use = "a call is only made by send_as / json / msgpack / bincode / send_raw"]
pub struct CallBuilder<'a> {
    wapm: &'a str,
    topic: &'a str,
    parent: u32,
    keepalive: bool,
    callbacks: Vec<(&'a str, CallbackFn)>,
}

impl<'a> CallBuilder<'a> {
    pub fn new(wapm: &'a str, topic: &'a str) -> Self {
        CallBuilder { wapm, topic, parent: NO_HANDLE, keepalive: false, callbacks: Vec::new() }
    }

    /// Addresses the sub-API (relative object) that the live call `parent` returned.
    pub fn parent(mut self, parent: &Call) -> Self {
        self.parent = parent.handle();
        self
    }

    /// As [`parent`](Self::parent), with an optional parent.
    pub fn parent_opt(mut self, parent: Option<&Call>) -> Self {
        self.parent = parent.map_or(NO_HANDLE, Call::handle);
        self
    }

    /// Keeps the call alive after its result, so it can be a parent and keep
    /// receiving callbacks, until the [`Call`] is dropped.
    pub fn keepalive(mut self) -> Self {
        self.keepalive = true;
        self
    }

    /// Registers the callback `topic`; `f` gets each invocation's payload.
    pub fn callback_raw(mut self, topic: &'a str, f: impl Fn(Payload) + 'static) -> Self {
        self.callbacks.push((topic, Rc::new(f)));
        self
    }

    /// Registers the callback `topic`, decoded with codec `C`.
    pub fn callback_as<C: Codec, T: DeserializeOwned + 'static>(self, topic: &'a str, f: impl Fn(T) + 'static) -> Self {
        self.callback_raw(topic, move |payload: Payload| match payload.decode_as::<C, T>() {
            Ok(value) => f(value),
            Err(_) => crate::log::warn("wasm-bus: a callback's data could not be decoded; dropped it"),
        })
    }

    /// Registers the callback `topic`, decoded with whichever codec its format names.
    pub fn callback<T: DeserializeOwned + 'static>(self, topic: &'a str, f: impl Fn(T) + 'static) -> Self {
        self.callback_raw(topic, move |payload: Payload| match payload.decode::<T>() {
            Ok(value) => f(value),
            Err(_) => crate::log::warn("wasm-bus: a callback's data could not be decoded; dropped it"),
        })
    }

    /// Encodes the request with codec `C` and starts the call.
    pub fn send_as<C: Codec, T: Serialize + ?Sized>(self, request: &T) -> Result<Call, BusError> {
        let data = C::encode(request)?;
        self.send_raw(C::FORMAT, &data)
    }

    #[cfg(feature = "json")]
    pub fn json<T: Serialize + ?Sized>(self, request: &T) -> Result<Call, BusError> {
        self.send_as::<crate::format::Json, T>(request)
    }

    #[cfg(feature = "msgpack")]
    pub fn msgpack<T: Serialize + ?Sized>(self, request: &T) -> Result<Call, BusError> {
        self.send_as::<crate::format::Msgpack, T>(request)
    }

    #[cfg(feature = "bincode")]
    pub fn bincode<T: Serialize + ?Sized>(self, request: &T) -> Result<Call, BusError> {
        self.send_as::<crate::format::Bincode, T>(request)
    }

    /// Starts the call with request bytes already in `format`.
    ///
    /// It goes through ABI v2's `call_now`: a service that answers at once (echo, `time.now`,
    /// a module that replies before it returns) hands its result back inside the import, and
    /// the returned [`Call`] is ready at its first poll; anything else arrives later through
    /// `wasm_bus_finish`, as with v1's `call`.
    pub fn send_raw(self, format: Format, request: &[u8]) -> Result<Call, BusError> {
        // Callbacks need a handle before the call; without them the host issues one only if
        // the call stays live (in flight, or kept alive after its result).
        // SAFETY (all imports below): pointers and lengths of live strings and slices.
        let handle = if self.callbacks.is_empty() { NO_HANDLE } else { unsafe { abi::handle() } };
        let mut registered = Vec::with_capacity(self.callbacks.len());
        for (topic, f) in self.callbacks {
            let cb = unsafe { abi::handle() };
            let status = unsafe { abi::callback(handle, cb, topic.as_ptr(), topic.len()) };
            if status != 0 {
                unsafe {
                    abi::drop(cb);
                    abi::drop(handle); // gives back the reserved handle and its callbacks
                }
                return Err(BusError::from_code(status));
            }
            registered.push((cb, f));
        }
        let mut out = [0u32; 5];
        let status = RESULT.with(|result| {
            // The host writes the result here during the import, and calls no export of this
            // module but wasm_bus_malloc (which touches no engine state) meanwhile.
            let mut result = result.borrow_mut();
            unsafe {
                abi::call_now(
                    self.parent,
                    handle,
                    self.keepalive as u32,
                    format as u32,
                    self.wapm.as_ptr(),
                    self.wapm.len(),
                    self.topic.as_ptr(),
                    self.topic.len(),
                    request.as_ptr(),
                    request.len(),
                    result.as_mut_ptr(),
                    result.len(),
                    out.as_mut_ptr() as *const u8,
                )
            }
        });
        if status != 0 {
            // Refused, or failed at once: either way it consumed its handle and callbacks.
            return Err(BusError::from_code(status));
        }
        let field = |at: usize| out[at / 4];
        let live = field(abi::call_now_out::HANDLE);
        let ready = field(abi::call_now_out::READY) != 0;
        let result = ready.then(|| {
            let (ptr, len) = (field(abi::call_now_out::PTR) as usize, field(abi::call_now_out::LEN) as usize);
            let data = RESULT.with(|result| take_result(ptr, len, &result.borrow()));
            Payload::new(Format::from_u32(field(abi::call_now_out::FORMAT)).unwrap_or(Format::Raw), data)
        });
        if live == NO_HANDLE {
            // Answered at once and over: its callbacks (if any) went with it.
            return Ok(Call { handle: NO_HANDLE, ready: result.map(Ok), at_once: ready });
        }
        with(|s| {
            let callbacks = registered.iter().map(|(cb, _)| *cb).collect();
            for (cb, f) in registered {
                s.callbacks.insert(cb, f);
            }
            s.calls.insert(
                live,
                Outbound {
                    // A kept-alive call answered at once holds its result already.
                    result: result.map(Ok),
                    waker: None,
                    callbacks,
                    keepalive: self.keepalive,
                    ended: false,
                    taken: false,
                    detached: false,
                },
            );
        });
        Ok(Call { handle: live, ready: None, at_once: ready })
    }
}

/// The bytes of a result that came at once: in `result` (a copy of its first `len` bytes), in a
/// buffer from `wasm_bus_malloc` (adopted), or empty (`0, 0`).
#[cfg(target_arch = "wasm32")]
fn take_result(ptr: usize, len: usize, result: &[u8]) -> Vec<u8> {
    if ptr == result.as_ptr() as usize {
        result[..len].to_vec()
    } else {
        // SAFETY: the host's contract: a buffer from wasm_bus_malloc(len), now ours (or 0, 0).
        unsafe { crate::rt::adopt(ptr, len) }
    }
}

/// Off Wasm (the mock host), where pointers do not fit the out record's u32s.
#[cfg(not(target_arch = "wasm32"))]
fn take_result(_ptr: usize, len: usize, result: &[u8]) -> Vec<u8> {
    if len == 0 {
        return Vec::new();
    }
    crate::mock::take_malloced().unwrap_or_else(|| result[..len].to_vec())
}

/// Where `call_now` puts a result that fits; a bigger one comes in a `wasm_bus_malloc` buffer.
const RESULT_BYTES: usize = 1024;

thread_local! {
    static RESULT: std::cell::RefCell<Box<[u8]>> = std::cell::RefCell::new(vec![0; RESULT_BYTES].into_boxed_slice());
}

/// A call in flight, and the owner of its handle.
///
/// Await it (or `&mut call`, to keep it) for the reply. Dropping it before the
/// reply cancels the call (the server sees `wasm_bus_drop`); dropping a
/// kept-alive call ends it and everything made under it. [`detach`](Call::detach)
/// leaves it running with nobody to drop it.
#[derive(Debug)]
pub struct Call {
    /// 0 for a call that was answered at once and is over.
    handle: u32,
    /// The result of a call answered at once (`call_now`), until it is awaited.
    ready: Option<Result<Payload, BusError>>,
    at_once: bool,
}

impl Call {
    /// The handle the host issued for this call; 0 for one that was answered at once and is
    /// over (not kept alive).
    pub fn handle(&self) -> u32 {
        self.handle
    }

    /// Whether the result came back inside the call (the service answered at once), rather
    /// than later through `wasm_bus_finish`.
    pub fn answered_at_once(&self) -> bool {
        self.at_once
    }

    /// The reply, decoded with codec `C`.
    pub async fn reply_as<C: Codec, T: DeserializeOwned>(&mut self) -> Result<T, BusError> {
        (&mut *self).await?.decode_as::<C, T>()
    }

    /// Whether the result has arrived (or the call ended).
    pub fn is_finished(&self) -> bool {
        self.handle == NO_HANDLE || with(|s| s.calls.get(&self.handle).map_or(true, |c| c.result.is_some() || c.taken))
    }

    /// How the service failed the call, once it has: for a kept-alive call, a failure that came
    /// after its reply too (a sub-process that trapped fails its spawn call so).
    pub fn failure(&self) -> Option<BusError> {
        if self.handle == NO_HANDLE {
            return None;
        }
        with(|s| match s.calls.get(&self.handle) {
            Some(c) if c.ended => match &c.result {
                Some(Err(err)) => Some(*err),
                _ => None,
            },
            _ => None,
        })
    }

    /// Ready with how the service failed the call, once it has: for a kept-alive call whose result
    /// was taken already, the failure that ends it later (a process whose spawn call is aborted).
    /// Pending for a call that ended without failing. It wakes the task through the same slot as
    /// awaiting the call, so poll it from the task that holds the call.
    pub fn poll_failure(&self, cx: &mut Context<'_>) -> Poll<BusError> {
        if self.handle == NO_HANDLE {
            return Poll::Pending; // answered at once and over: nothing more comes
        }
        with(|s| match s.calls.get_mut(&self.handle) {
            Some(c) if c.ended => match &c.result {
                Some(Err(err)) => Poll::Ready(*err),
                _ => Poll::Pending,
            },
            Some(c) => {
                c.waker = Some(cx.waker().clone());
                Poll::Pending
            }
            None => Poll::Pending,
        })
    }

    /// Lets the call (and its callbacks) live on after this value is gone:
    /// for a kept-alive call, until the host ends it.
    pub fn detach(mut self) {
        let handle = self.handle;
        drop(self.ready.take());
        std::mem::forget(self);
        if handle == NO_HANDLE {
            return;
        }
        with(|s| {
            if let Some(c) = s.calls.get_mut(&handle) {
                c.detached = true;
                c.waker = None;
                if c.ended {
                    s.calls.remove(&handle);
                }
            }
        });
    }
}

impl Future for Call {
    type Output = Result<Payload, BusError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.handle == NO_HANDLE {
            // Answered at once: the result is here (once).
            return Poll::Ready(this.ready.take().unwrap_or(Err(BusError::InvalidHandle)));
        }
        with(|s| match s.calls.get_mut(&this.handle) {
            None => Poll::Ready(Err(BusError::InvalidHandle)),
            Some(c) if c.taken => Poll::Ready(Err(BusError::InvalidHandle)),
            Some(c) => match c.result.take() {
                Some(result) => {
                    c.taken = true;
                    c.waker = None;
                    Poll::Ready(result)
                }
                None => {
                    if !c.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        c.waker = Some(cx.waker().clone());
                    }
                    Poll::Pending
                }
            },
        })
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        let handle = self.handle;
        if handle == NO_HANDLE {
            return; // answered at once: the host holds nothing of it
        }
        let removed = with(|s| {
            let call = s.calls.remove(&handle)?;
            let callbacks: Vec<CallbackFn> = call.callbacks.iter().filter_map(|cb| s.callbacks.remove(cb)).collect();
            Some((call, callbacks))
        });
        if let Some((call, callbacks)) = removed {
            if !call.ended {
                // SAFETY: a plain integer. Cancels the call and everything under it.
                unsafe { abi::drop(handle) };
            }
            drop(callbacks);
        }
    }
}

// ---- inbound ---------------------------------------------------------------------

/// An inbound call: what a handler registered with [`listen`] receives.
#[derive(Debug)]
pub struct Request {
    handle: u32,
    parent: u32,
    topic: String,
    payload: Payload,
}

impl Request {
    pub(crate) fn new(handle: u32, parent: u32, topic: String, payload: Payload) -> Request {
        Request { handle, parent, topic, payload }
    }

    /// The handle the host issued for this inbound call.
    pub fn handle(&self) -> u32 {
        self.handle
    }

    /// The inbound call whose sub-API this call addresses, or 0.
    pub fn parent(&self) -> u32 {
        self.parent
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub fn format(&self) -> Format {
        self.payload.format
    }

    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    pub fn into_payload(self) -> Payload {
        self.payload
    }

    /// Decodes the request with codec `C`: malformed bytes are
    /// `DeserializationFailed`, well-formed data that does not fit `T` (a
    /// missing field, a wrong type) is `BadRequest`. Either faults the call
    /// when returned from a handler.
    /// The codec's message ("missing field `b`") goes with the fault to the caller.
    pub fn decode_as<C: Codec, T: DeserializeOwned>(&self) -> Result<T, BusError> {
        crate::format::explained(|| self.payload.decode_request_as::<C, T>()).map_err(|(e, why)| self.explained(e, why))
    }

    /// As [`decode_as`](Self::decode_as), with whichever codec the request's format names.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, BusError> {
        crate::format::explained(|| self.payload.decode_request::<T>()).map_err(|(e, why)| self.explained(e, why))
    }

    fn explained(&self, e: BusError, why: Option<String>) -> BusError {
        if let Some(why) = why {
            self.responder().explain(why);
        }
        e
    }

    /// What invokes the caller's callbacks (and can end the call later).
    pub fn responder(&self) -> Responder {
        Responder { handle: self.handle }
    }
}

/// Invokes the callbacks of an inbound call, or ends it; cheap to copy into closures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Responder {
    handle: u32,
}

impl Responder {
    pub fn handle(&self) -> u32 {
        self.handle
    }

    /// Says why, in words: when the handler serving this call returns an error, the caller
    /// gets this message with the code (in the HTTP error body's `detail`, a `fault` frame).
    pub fn explain(&self, message: impl Into<String>) {
        crate::rt::explain_call(self.handle, message.into());
    }

    /// Invokes the caller's callback `topic` with `data`. A refusal (`LimitExceeded`: the
    /// caller's queue is full; `InvalidHandle`: the call ended) means the callback is lost; it is
    /// also what [`last_callback_error`](crate::last_callback_error) says next, for code that
    /// holds only a `Callback<T>`, and the call's first refusal is logged.
    pub fn callback_raw(&self, topic: &str, format: Format, data: &[u8]) -> Result<(), BusError> {
        // SAFETY: pointers and lengths of a live &str and slice.
        let status = BusError::check(unsafe {
            abi::reply_callback(self.handle, format as u32, topic.as_ptr(), topic.len(), data.as_ptr(), data.len())
        });
        rt::callback_sent(self.handle, topic, status);
        status
    }

    /// Invokes the caller's callback `topic` with `value` encoded by codec `C`.
    pub fn callback_as<C: Codec, T: Serialize + ?Sized>(&self, topic: &str, value: &T) -> Result<(), BusError> {
        match C::encode(value) {
            Ok(data) => self.callback_raw(topic, C::FORMAT, &data),
            Err(e) => {
                rt::callback_sent(self.handle, topic, Err(e));
                Err(e)
            }
        }
    }

    /// Ends the inbound call: a kept-alive sub-API stops (its caller's later
    /// calls on it fail), an unanswered call fails with Aborted.
    pub fn end(&self) -> Result<(), BusError> {
        rt::end_inbound(self.handle)
    }
}

/// Serves the module's own `topic` (declared in its `module.json`) with an
/// async handler whose result is the reply:
///
/// ```no_run
/// wasm_bus::listen("echo", |req: wasm_bus::Request| async move { Ok(req.into_payload()) }).unwrap();
/// ```
pub fn listen<F, Fut>(topic: &str, handler: F) -> Result<(), BusError>
where
    F: Fn(Request) -> Fut + 'static,
    Fut: Future<Output = Result<Payload, BusError>> + 'static,
{
    rt::register(NO_HANDLE, topic, rt::handler(handler))
}

/// Serves `topic` under the inbound call `parent`: a method of the sub-API
/// (relative object) that call made. The handlers go when `parent` ends.
pub fn attach<F, Fut>(parent: u32, topic: &str, handler: F) -> Result<(), BusError>
where
    F: Fn(Request) -> Fut + 'static,
    Fut: Future<Output = Result<Payload, BusError>> + 'static,
{
    rt::register(parent, topic, rt::handler(handler))
}
