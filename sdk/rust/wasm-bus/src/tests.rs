//! The engine against the mock host (`cargo test` on the host target).

use crate::macros::wasm_bus;
use crate::mock::{self, Event};
use crate::{block_on, call, BusError, Format};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

// Codes by name: a pattern takes a const, not `Code::X as u32`.
const DESERIALIZATION_FAILED: u32 = crate::Code::DeserializationFailed as u32;
const INVALID_TOPIC: u32 = crate::Code::InvalidTopic as u32;
const BAD_REQUEST: u32 = crate::Code::BadRequest as u32;
const NOT_FOUND: u32 = crate::Code::NotFound as u32;

fn calls() -> Vec<Event> {
    mock::events().into_iter().filter(|e| !matches!(e, Event::Log { .. })).collect()
}

fn call_handle(topic: &str) -> u32 {
    mock::events()
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::Call { handle, topic: t, .. } if t == topic => Some(*handle),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no call to {topic} in {:?}", mock::events()))
}

#[test]
fn a_call_and_its_reply() {
    mock::reset();
    let c = call("os", "time.now").json(&serde_json::json!({})).unwrap();
    assert_eq!(
        calls(),
        vec![Event::Call {
            parent: 0,
            handle: c.handle(),
            keepalive: false,
            format: 1,
            wapm: "os".into(),
            topic: "time.now".into(),
            request: b"{}".to_vec()
        }]
    );
    mock::deliver_finish(c.handle(), Format::Json, b"1234");
    let reply = block_on(c).unwrap();
    assert_eq!(reply.decode::<u64>().unwrap(), 1234);
    // A call that ended with its result is not dropped again.
    assert!(!calls().iter().any(|e| matches!(e, Event::Drop(_))));
}

#[test]
fn a_call_answered_at_once_is_ready_without_waiting() {
    mock::reset();
    mock::answer_at_once(Format::Json, b"1234");
    let c = call("os", "time.now").json(&serde_json::json!({})).unwrap();
    assert!(c.answered_at_once() && c.is_finished());
    assert_eq!(c.handle(), 0, "over at once: no handle kept");
    assert_eq!(mock::answered_at_once(), 1);
    // block_on would fail here (the mock's poll answers Unsupported) if it had to wait in poll
    assert_eq!(block_on(c).unwrap().decode::<u64>().unwrap(), 1234);
    assert!(!calls().iter().any(|e| matches!(e, Event::Drop(_))), "nothing to drop");
    assert!(crate::rt::with(|s| s.calls.is_empty()));
}

#[test]
fn a_result_bigger_than_the_result_buffer_comes_at_once_too() {
    mock::reset();
    let big: Vec<u8> = (0..3000u32).map(|i| (i * 31) as u8).collect();
    mock::answer_at_once(Format::Raw, &big);
    let reply = block_on(call("os", "echo.echo").send_raw(Format::Raw, &big).unwrap()).unwrap();
    assert_eq!(reply.data, big);
    mock::answer_at_once(Format::Raw, b"");
    assert!(block_on(call("os", "echo.echo").send_raw(Format::Raw, b"").unwrap()).unwrap().data.is_empty());
}

#[test]
fn a_service_that_cannot_answer_at_once_still_answers_through_finish() {
    mock::reset();
    let c = call("os", "time.sleep").json(&serde_json::json!({"duration_ms": 5})).unwrap();
    assert!(!c.answered_at_once() && !c.is_finished());
    assert_ne!(c.handle(), 0, "the host issued a handle for the call in flight");
    assert_eq!(mock::answered_at_once(), 0);
    mock::deliver_finish(c.handle(), Format::Json, b"null");
    block_on(c).unwrap();
}

#[test]
fn a_kept_alive_call_answered_at_once_keeps_its_handle_until_dropped() {
    mock::reset();
    mock::answer_at_once(Format::Json, b"null");
    let mut c = call("m", "t").keepalive().json(&1).unwrap();
    assert!(c.answered_at_once());
    let h = c.handle();
    assert_ne!(h, 0);
    block_on(&mut c).unwrap();
    assert!(!calls().contains(&Event::Drop(h)));
    drop(c);
    assert_eq!(calls().last(), Some(&Event::Drop(h)));
}

#[test]
fn callbacks_of_a_call_answered_at_once_go_with_it() {
    mock::reset();
    mock::answer_at_once(Format::Json, b"2");
    let c = call("m", "t").callback("tick", |_: u32| {}).json(&1).unwrap();
    assert!(c.answered_at_once());
    assert_eq!(block_on(c).unwrap().decode::<u32>().unwrap(), 2);
    assert!(crate::rt::with(|s| s.calls.is_empty() && s.callbacks.is_empty()));
}

#[test]
fn errors_keep_their_code() {
    mock::reset();
    let c = call("m", "t").json(&1).unwrap();
    mock::deliver_error(c.handle(), 42);
    let err = block_on(c).unwrap_err();
    assert_eq!(err.code(), 42);
    let c = call("m", "t").json(&1).unwrap();
    mock::deliver_error(c.handle(), 19);
    assert_eq!(block_on(c).unwrap_err(), BusError::Timeout);
}

#[test]
fn every_code_but_success_has_its_constant() {
    // A caller matches on them: a module's Busy (every instance taken) must be `BusError::Busy`.
    let named: Vec<&str> = crate::error::NAMED.iter().map(|e| e.name()).collect();
    let codes: Vec<&str> = crate::Code::ALL.iter().filter(|c| **c != crate::Code::Success).map(|c| c.name()).collect();
    assert_eq!(named, codes);
    assert_eq!(BusError::Busy.code(), 28);
}

#[test]
fn dropping_a_pending_call_cancels_it() {
    mock::reset();
    let c = call("m", "t").json(&1).unwrap();
    let h = c.handle();
    drop(c);
    assert_eq!(calls().last(), Some(&Event::Drop(h)));
}

#[test]
fn a_kept_alive_call_is_dropped_by_its_owner() {
    mock::reset();
    let mut c = call("m", "t").keepalive().json(&1).unwrap();
    mock::deliver_finish(c.handle(), Format::Json, b"null");
    block_on(&mut c).unwrap();
    let h = c.handle();
    assert!(!calls().contains(&Event::Drop(h)));
    drop(c);
    assert_eq!(calls().last(), Some(&Event::Drop(h)));
}

#[test]
fn a_refused_call_consumes_its_handle() {
    mock::reset();
    mock::fail_next("call", 3);
    assert_eq!(call("nope", "t").callback("x", |_: u8| {}).json(&1).unwrap_err(), BusError::InvalidWapm);
    mock::fail_next("call", 20);
    assert_eq!(call("m", "t").json(&1).unwrap_err(), BusError::LimitExceeded);
    assert!(!calls().iter().any(|e| matches!(e, Event::Drop(_))), "no drop after a refused call");
    assert!(crate::rt::with(|s| s.calls.is_empty() && s.callbacks.is_empty()));
}

#[test]
fn a_refused_callback_gives_back_the_reserved_handles() {
    mock::reset();
    mock::fail_next("callback", 8);
    assert_eq!(call("m", "t").callback("x", |_: u8| {}).json(&1).unwrap_err(), BusError::InvalidHandle);
    let drops = calls().iter().filter(|e| matches!(e, Event::Drop(_))).count();
    assert_eq!(drops, 2);
    assert!(!calls().iter().any(|e| matches!(e, Event::Call { .. })));
}

#[test]
fn callbacks_are_registered_before_the_call_and_live_as_long_as_it() {
    mock::reset();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    let c = call("m", "t").callback("tick", move |n: u32| s.borrow_mut().push(n)).json(&1).unwrap();
    let events = calls();
    let Event::Callback { parent, handle: cb, topic } = &events[0] else { panic!("{events:?}") };
    assert_eq!((parent, topic.as_str()), (&c.handle(), "tick"));
    assert!(matches!(events[1], Event::Call { .. }));
    mock::deliver_finish(*cb, Format::Json, b"1");
    mock::deliver_finish(*cb, Format::Msgpack, &[2]);
    assert_eq!(*seen.borrow(), vec![1, 2]);
    mock::deliver_finish(c.handle(), Format::Json, b"null");
    mock::deliver_finish(*cb, Format::Json, b"3"); // the call is over: ignored
    assert_eq!(*seen.borrow(), vec![1, 2]);
}

#[test]
fn block_on_waits_in_poll() {
    mock::reset();
    let c = call("os", "time.sleep").json(&serde_json::json!({"duration_ms": 1})).unwrap();
    let h = c.handle();
    let polls = Rc::new(Cell::new(0));
    let p = polls.clone();
    mock::on_poll(move || {
        p.set(p.get() + 1);
        mock::deliver_finish(h, Format::Json, b"null");
        0
    });
    block_on(c).unwrap();
    assert_eq!(polls.get(), 1);
}

#[test]
fn block_on_fails_clearly_where_poll_cannot_wait() {
    mock::reset();
    let c = call("os", "time.sleep").json(&1).unwrap();
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| block_on(c))).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("Unsupported (11)") && msg.contains("asyncify"), "{msg}");
}

#[test]
fn block_on_refuses_to_wait_for_nothing() {
    mock::reset();
    let err = std::panic::catch_unwind(|| block_on(std::future::pending::<()>())).unwrap_err();
    assert!(err.downcast_ref::<String>().unwrap().contains("wait forever"));
}

#[test]
fn spawned_tasks_run_and_join() {
    mock::reset();
    let c = call("m", "t").json(&1).unwrap();
    let h = c.handle();
    let task = crate::spawn(async move { c.await.unwrap().decode::<u32>().unwrap() + 1 });
    mock::on_poll(move || {
        mock::deliver_finish(h, Format::Json, b"41");
        0
    });
    assert_eq!(block_on(task), 42);
}

#[test]
fn select_cancels_the_loser() {
    mock::reset();
    let slow = call("m", "slow").json(&1).unwrap();
    let fast = call("m", "fast").json(&1).unwrap();
    let (hs, hf) = (slow.handle(), fast.handle());
    mock::deliver_finish(hf, Format::Json, b"1");
    let winner = block_on(crate::task::select(slow, fast));
    assert!(matches!(winner, crate::task::Either::Right(Ok(_))));
    assert_eq!(calls().last(), Some(&Event::Drop(hs)));
}

// ---- generated code: servers, clients, relative objects ------------------------

#[wasm_bus(format = "json")]
pub trait Counter {
    async fn open(&self, start: u64, on_change: impl Fn(u64)) -> Arc<dyn Tally>;
}

#[wasm_bus(format = "json")]
pub trait Tally {
    async fn add(&self, n: u64) -> u64;
}

#[wasm_bus(format = "json", service = "")]
pub trait Hello {
    async fn greet(&self, name: Option<String>) -> String;
    async fn slow(&self) -> u32;
}

struct MyCounter;
struct MyTally {
    total: Cell<u64>,
    on_change: crate::Callback<u64>,
    alive: Rc<Cell<bool>>,
}

thread_local! {
    static TALLY_ALIVE: Rc<Cell<bool>> = Rc::new(Cell::new(false));
}

impl Drop for MyTally {
    fn drop(&mut self) {
        self.alive.set(false);
    }
}

#[wasm_bus]
impl Counter for MyCounter {
    async fn open(&self, start: u64, on_change: impl Fn(u64)) -> Result<Arc<dyn Tally>, BusError> {
        let alive = TALLY_ALIVE.with(|a| a.clone());
        alive.set(true);
        Ok(Arc::new(MyTally { total: Cell::new(start), on_change, alive }))
    }
}

#[wasm_bus]
impl Tally for MyTally {
    async fn add(&self, n: u64) -> Result<u64, BusError> {
        self.total.set(self.total.get() + n);
        (self.on_change)(self.total.get());
        Ok(self.total.get())
    }
}

struct MyHello;

#[wasm_bus]
impl Hello for MyHello {
    async fn greet(&self, name: Option<String>) -> Result<String, BusError> {
        let name = name.ok_or(BusError::BadRequest)?;
        Ok(format!("Hello, {name}!"))
    }
    async fn slow(&self) -> Result<u32, BusError> {
        // Waits on a call of its own: cancelled when the inbound call is dropped.
        let reply = call("os", "time.sleep").json(&serde_json::json!({"duration_ms": 1000}))?.await?;
        let _ = reply;
        Ok(1)
    }
}

fn reply_of(handle: u32) -> Option<Event> {
    calls().into_iter().find(|e| match e {
        Event::Reply { handle: h, .. } | Event::Fault { handle: h, .. } | Event::FaultMessage { handle: h, .. } => *h == handle,
        _ => false,
    })
}

#[test]
fn a_server_replies_and_faults() {
    mock::reset();
    HelloService::listen(Arc::new(MyHello)).unwrap();
    assert_eq!(HelloService::TOPICS, &["greet", "slow"]);
    assert_eq!(calls()[..2], [Event::Listen("greet".into()), Event::Listen("slow".into())]);
    let h = mock::deliver_start(0, "greet", Format::Json, br#"{"name":"Ada"}"#);
    assert_eq!(reply_of(h), Some(Event::Reply { handle: h, format: 1, data: br#""Hello, Ada!""#.to_vec() }));
    // The handler's own error, without words: a plain fault.
    let h = mock::deliver_start(0, "greet", Format::Json, b"{}");
    assert_eq!(reply_of(h), Some(Event::Fault { handle: h, code: BAD_REQUEST }));
    // The codec's own words travel with the code (fault_message).
    let h = mock::deliver_start(0, "greet", Format::Json, br#"{"nam":1}"#);
    assert_eq!(reply_of(h), Some(Event::Fault { handle: h, code: BAD_REQUEST }));
    let h = mock::deliver_start(0, "greet", Format::Json, b"not json");
    let Some(Event::FaultMessage { code: DESERIALIZATION_FAILED, message, .. }) = reply_of(h) else { panic!("{:?}", reply_of(h)) };
    assert!(message.starts_with("cannot decode json: expected ident"), "{message}");
    // well-formed, wrong shape: BadRequest
    for body in [&br#"{"name":42}"#[..], b"[1]", b"7"] {
        let h = mock::deliver_start(0, "greet", Format::Json, body);
        let Some(Event::FaultMessage { code: BAD_REQUEST, message, .. }) = reply_of(h) else { panic!("{:?}", reply_of(h)) };
        assert!(message.starts_with("cannot decode json: invalid type"), "{}: {message}", String::from_utf8_lossy(body));
    }
    let h = mock::deliver_start(0, "nothing", Format::Json, b"{}");
    assert!(matches!(reply_of(h), Some(Event::FaultMessage { code: INVALID_TOPIC, .. })));
}

#[test]
fn a_bad_request_is_its_callers_to_hear_not_the_modules_log() {
    // The log is limits.logBytes per instance: callers who send rubbish must not spend it.
    mock::reset();
    HelloService::listen(Arc::new(MyHello)).unwrap();
    for _ in 0..100 {
        let h = mock::deliver_start(0, "greet", Format::Json, b"not json");
        let Some(Event::FaultMessage { code: DESERIALIZATION_FAILED, .. }) = reply_of(h) else { panic!("{:?}", reply_of(h)) };
        let h = mock::deliver_start(0, "greet", Format::Json, br#"{"name":42}"#);
        let Some(Event::FaultMessage { code: BAD_REQUEST, .. }) = reply_of(h) else { panic!("{:?}", reply_of(h)) };
    }
    // Nor is a call of a topic this module has no handler for (a sub-API's, without its parent).
    CounterService::listen(Arc::new(MyCounter)).unwrap();
    let open = mock::deliver_start_kept(0, "counter.open", Format::Json, br#"{"start":5}"#);
    for _ in 0..100 {
        let h = mock::deliver_start(0, "tally.add", Format::Json, br#"{"n":1}"#);
        assert!(matches!(reply_of(h), Some(Event::FaultMessage { code: BAD_REQUEST, .. })));
    }
    mock::deliver_drop(open);
    let logs: Vec<Event> = mock::events().into_iter().filter(|e| matches!(e, Event::Log { .. })).collect();
    assert_eq!(logs, []);
    // A reply this module cannot decode is its own business: logged.
    let _ = crate::Payload::new(Format::Json, b"nope".to_vec()).decode::<u32>();
    assert!(mock::events().iter().any(|e| matches!(e, Event::Log { .. })));
}

thread_local! {
    /// The responder of the last call `listen_keeping_responder`'s topic served.
    static KEPT: RefCell<Option<crate::Responder>> = const { RefCell::new(None) };
}

/// Serves `topic` by replying at once and keeping the call's responder, to use once the call is over.
fn listen_keeping_responder(topic: &str) {
    crate::listen(topic, |req: crate::Request| async move {
        KEPT.with(|k| *k.borrow_mut() = Some(req.responder()));
        Ok(crate::Payload::raw(Vec::new()))
    })
    .unwrap();
}

fn kept_responder() -> crate::Responder {
    KEPT.with(|k| k.borrow().unwrap())
}

#[test]
fn words_for_a_call_that_is_over_are_not_kept() {
    mock::reset();
    listen_keeping_responder("quick");
    for _ in 0..100 {
        let h = mock::deliver_start(0, "quick", Format::Raw, b"");
        assert!(matches!(reply_of(h), Some(Event::Reply { .. })));
        // Too late (from a callback or a spawned task, say): nothing to say it to.
        kept_responder().explain("too late");
    }
    assert_eq!(crate::rt::stats().explanations, 0);
    // Words given while the handler makes its future (before it is a task) still count.
    crate::listen("eager", |req: crate::Request| {
        let decoded = req.decode::<u32>();
        async move { decoded.map(|_| crate::Payload::raw(Vec::new())) }
    })
    .unwrap();
    let h = mock::deliver_start(0, "eager", Format::Json, b"\"x\"");
    let Some(Event::FaultMessage { code: BAD_REQUEST, message, .. }) = reply_of(h) else { panic!("{:?}", reply_of(h)) };
    assert!(message.starts_with("cannot decode json: invalid type"), "{message}");
}

#[wasm_bus(format = "json", service = "")]
pub trait Notes {
    async fn lookup(&self, id: u32) -> String;
}

struct MyNotes;

#[wasm_bus]
impl Notes for MyNotes {
    async fn lookup(&self, id: u32) -> Result<String, BusError> {
        if id == 0 {
            // After an await: the words go to the call this task serves, whenever it runs.
            call("os", "time.sleep").json(&serde_json::json!({"duration_ms": 1}))?.await?;
        }
        crate::explain(format!("no note {id}"));
        Err(BusError::NotFound)
    }
}

#[test]
fn a_trait_method_explains_its_error() {
    mock::reset();
    NotesService::listen(Arc::new(MyNotes)).unwrap();
    let h = mock::deliver_start(0, "lookup", Format::Json, br#"{"id":7}"#);
    let Some(Event::FaultMessage { code, message, .. }) = reply_of(h) else { panic!("{:?}", reply_of(h)) };
    assert_eq!((code, message.as_str()), (BusError::NotFound.code(), "no note 7"));
    // Two calls waiting at once, answered in the other order: each gets its own words.
    let first = mock::deliver_start(0, "lookup", Format::Json, br#"{"id":0}"#);
    let first_sleep = call_handle("time.sleep");
    let second = mock::deliver_start(0, "lookup", Format::Json, br#"{"id":0}"#);
    let second_sleep = call_handle("time.sleep");
    assert_ne!(first_sleep, second_sleep);
    mock::deliver_finish(second_sleep, Format::Json, b"null");
    mock::deliver_finish(first_sleep, Format::Json, b"null");
    for h in [first, second] {
        let Some(Event::FaultMessage { message, .. }) = reply_of(h) else { panic!("{:?}", reply_of(h)) };
        assert_eq!(message, "no note 0");
    }
    // Outside any task serving a call, there is no one to say it to.
    crate::explain("nobody");
    assert_eq!(crate::rt::stats().explanations, 0);
}

#[test]
fn dropping_an_inbound_call_cancels_its_task_and_calls() {
    mock::reset();
    HelloService::listen(Arc::new(MyHello)).unwrap();
    let h = mock::deliver_start(0, "slow", Format::Json, b"{}");
    let sleep = call_handle("time.sleep");
    mock::deliver_drop(h);
    assert_eq!(calls().last(), Some(&Event::Drop(sleep)));
    assert_eq!(reply_of(h), None);
}

#[test]
fn a_relative_object_is_served_under_its_call() {
    mock::reset();
    CounterService::listen(Arc::new(MyCounter)).unwrap();
    let open = mock::deliver_start_kept(0, "counter.open", Format::Json, br#"{"start":5}"#);
    assert_eq!(reply_of(open), Some(Event::Reply { handle: open, format: 1, data: b"null".to_vec() }));
    // the sub-API's topic is listened on (once), before the reply
    let listens: Vec<Event> = calls().into_iter().filter(|e| matches!(e, Event::Listen(_))).collect();
    assert_eq!(listens, [Event::Listen("counter.open".into()), Event::Listen("tally.add".into())]);

    assert!(TALLY_ALIVE.with(|a| a.get()));
    let add = mock::deliver_start(open, "tally.add", Format::Json, br#"{"n":2}"#);
    assert_eq!(reply_of(add), Some(Event::Reply { handle: add, format: 1, data: b"7".to_vec() }));
    assert!(calls().contains(&Event::ReplyCallback {
        handle: open,
        format: 1,
        topic: "on_change".into(),
        data: b"7".to_vec()
    }));
    // tally.add is not a top-level topic: called without its parent, the caller's mistake
    let stray = mock::deliver_start(0, "tally.add", Format::Json, br#"{"n":2}"#);
    let Some(Event::FaultMessage { code: BAD_REQUEST, message, .. }) = reply_of(stray) else { panic!("{:?}", reply_of(stray)) };
    assert_eq!(message, "no handler for topic tally.add (a sub-API's topic needs its parent call)");
    // a topic served nowhere is the module's: InvalidTopic
    let none = mock::deliver_start(0, "nothing", Format::Json, b"{}");
    let Some(Event::FaultMessage { code: INVALID_TOPIC, message, .. }) = reply_of(none) else { panic!("{:?}", reply_of(none)) };
    assert_eq!(message, "no handler for topic nothing");
    // the caller drops the object: its handlers and the object go
    mock::deliver_drop(open);
    assert!(!TALLY_ALIVE.with(|a| a.get()));
    let late = mock::deliver_start(open, "tally.add", Format::Json, br#"{"n":2}"#);
    // under an object that is gone: the caller's stale name for it, NotFound, not the module's failure
    let Some(Event::FaultMessage { code: NOT_FOUND, message, .. }) = reply_of(late) else { panic!("{:?}", reply_of(late)) };
    assert_eq!(message, format!("no handler for topic tally.add under parent {open} (the object it names is gone)"));
    // a second object: no second listen
    let open2 = mock::deliver_start_kept(0, "counter.open", Format::Json, br#"{"start":1}"#);
    assert!(TALLY_ALIVE.with(|a| a.get()));
    assert_eq!(calls().iter().filter(|e| matches!(e, Event::Listen(_))).count(), 2);
    mock::deliver_drop(open2);
}

#[test]
fn a_relative_object_made_for_a_call_not_kept_alive_goes_with_the_reply() {
    // No wasm_bus_drop comes for a call the reply ended: a server that kept the object until one
    // did would hold it (and its handlers) forever, one per call.
    mock::reset();
    CounterService::listen(Arc::new(MyCounter)).unwrap();
    for _ in 0..100 {
        let open = mock::deliver_start(0, "counter.open", Format::Json, br#"{"start":5}"#);
        assert_eq!(reply_of(open), Some(Event::Reply { handle: open, format: 1, data: b"null".to_vec() }));
        assert!(!TALLY_ALIVE.with(|a| a.get()), "the object went with the reply");
        let late = mock::deliver_start(open, "tally.add", Format::Json, br#"{"n":2}"#);
        assert!(matches!(reply_of(late), Some(Event::FaultMessage { code: NOT_FOUND, .. })));
    }
    assert_eq!(crate::rt::stats(), crate::rt::Stats { tasks: 0, ..Default::default() });
}

#[test]
fn a_relative_object_made_before_a_fault_goes_with_it() {
    mock::reset();
    crate::listen("make", |req: crate::Request| async move {
        let alive = TALLY_ALIVE.with(|a| a.clone());
        let tally = MyTally { total: Cell::new(0), on_change: Box::new(|_| {}), alive };
        TallyService::attach(Arc::new(tally), req.handle())?;
        TALLY_ALIVE.with(|a| a.set(true));
        Err::<crate::Payload, _>(BusError::BadRequest)
    })
    .unwrap();
    let h = mock::deliver_start_kept(0, "make", Format::Json, b"{}");
    assert_eq!(reply_of(h), Some(Event::Fault { handle: h, code: BAD_REQUEST }));
    assert!(!TALLY_ALIVE.with(|a| a.get()), "the object went with the fault");
    assert_eq!(crate::rt::stats().handlers, 0);
}

#[test]
fn a_relative_object_client() {
    mock::reset();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    let counter = CounterClient::new("counter-rs");
    let opening = crate::spawn(async move { counter.open(10, move |v| s.borrow_mut().push(v)).await });
    crate::rt::run_ready();
    let events = calls();
    let Event::Callback { handle: cb, topic, .. } = &events[0] else { panic!("{events:?}") };
    assert_eq!(topic, "on_change");
    let Event::Call { handle: open, keepalive, topic, request, .. } = &events[1] else { panic!("{events:?}") };
    assert_eq!((topic.as_str(), *keepalive, request.as_slice()), ("counter.open", true, &br#"{"start":10}"#[..]));
    let open = *open;
    mock::deliver_finish(open, Format::Json, b"null");
    let tally = block_on(opening).unwrap();
    assert_eq!(
        tally.as_client().and_then(|c| c.call().map(|c| c.handle())),
        Some(open),
        "the object is a TallyClient on the open call"
    );

    let adding = crate::spawn(async move {
        let r = tally.add(5).await;
        (tally, r)
    });
    crate::rt::run_ready();
    let add = call_handle("tally.add");
    let Some(Event::Call { parent, .. }) =
        calls().into_iter().find(|e| matches!(e, Event::Call { handle, .. } if *handle == add))
    else {
        panic!()
    };
    assert_eq!(parent, open, "calls on the object carry its call as parent");
    mock::deliver_finish(*cb, Format::Json, b"15");
    mock::deliver_finish(add, Format::Json, b"15");
    let (tally, r) = block_on(adding);
    assert_eq!(r.unwrap(), 15);
    assert_eq!(*seen.borrow(), vec![15]);
    // dropping the object drops the kept-alive call
    drop(tally);
    assert_eq!(calls().last(), Some(&Event::Drop(open)));
}

#[test]
fn generated_requests_match_the_topic_rule() {
    let r = CounterOpenRequest { start: 3 };
    assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"start":3}"#);
    let cb = CounterOpenOnChangeCallback(4);
    assert_eq!(serde_json::to_string(&cb).unwrap(), "4");
    assert_eq!(CounterService::TOPICS, &["counter.open"]);
    assert_eq!(TallyService::TOPICS, &["tally.add"]);
}

#[test]
fn channels_carry_callback_data_to_async_code() {
    mock::reset();
    let (tx, mut rx) = crate::task::channel::<u32>();
    let c = call("m", "t").callback("tick", move |n: u32| tx.send(n)).json(&1).unwrap();
    let Event::Callback { handle: cb, .. } = calls()[0].clone() else { panic!() };
    let task = crate::spawn(async move {
        let mut got = Vec::new();
        while let Some(v) = rx.recv().await {
            got.push(v);
        }
        got
    });
    mock::run_ready();
    mock::deliver_finish(cb, Format::Json, b"1");
    mock::deliver_finish(cb, Format::Json, b"2");
    // the call ends: its callback (and the sender it holds) goes, ending the channel
    mock::deliver_finish(c.handle(), Format::Json, b"null");
    assert!(task.is_finished());
    assert_eq!(block_on(task), vec![1, 2]);
}

#[test]
fn a_refused_callback_is_reported_and_logged_once_per_call() {
    // The generated `impl Fn(T)` returns nothing (the original crate's API): a callback the host
    // refused (the caller's queue is full) must not be lost without a word.
    mock::reset();
    CounterService::listen(Arc::new(MyCounter)).unwrap();
    let open = mock::deliver_start_kept(0, "counter.open", Format::Json, br#"{"start":0}"#);
    let add = |n: u32| {
        let h = mock::deliver_start(open, "tally.add", Format::Json, format!(r#"{{"n":{n}}}"#).as_bytes());
        assert!(matches!(reply_of(h), Some(Event::Reply { .. })), "{:?}", reply_of(h));
    };
    add(1);
    assert_eq!(crate::last_callback_error(), None);
    for _ in 0..50 {
        mock::fail_next("reply_callback", BusError::LimitExceeded.code());
        add(1);
        assert_eq!(crate::last_callback_error(), Some(BusError::LimitExceeded));
    }
    let logs: Vec<String> = mock::events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Log { message, .. } => Some(message),
            _ => None,
        })
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert!(logs[0].contains("callback on_change of call") && logs[0].contains("LimitExceeded"), "{}", logs[0]);
    // Delivered again: the status says so.
    add(1);
    assert_eq!(crate::last_callback_error(), None);
    // The call's note goes with the call.
    assert_eq!(crate::rt::stats().refusals_logged, 1);
    mock::deliver_drop(open);
    assert_eq!(crate::rt::stats().refusals_logged, 0);
    // Each call's first refusal is logged: a second call gets its own line.
    let open2 = mock::deliver_start_kept(0, "counter.open", Format::Json, br#"{"start":0}"#);
    mock::fail_next("reply_callback", BusError::LimitExceeded.code());
    let h = mock::deliver_start(open2, "tally.add", Format::Json, br#"{"n":1}"#);
    assert!(matches!(reply_of(h), Some(Event::Reply { .. })));
    assert_eq!(mock::events().iter().filter(|e| matches!(e, Event::Log { .. })).count(), 2);
    mock::deliver_drop(open2);
    // A call the host no longer knows is reported, not logged (no end would come to forget it).
    listen_keeping_responder("quick");
    let h = mock::deliver_start(0, "quick", Format::Raw, b"");
    assert!(matches!(reply_of(h), Some(Event::Reply { .. })));
    for _ in 0..10 {
        mock::fail_next("reply_callback", BusError::InvalidHandle.code());
        let late = kept_responder().callback_raw("tick", Format::Raw, b"");
        assert_eq!(late, Err(BusError::InvalidHandle));
        assert_eq!(crate::last_callback_error(), Some(BusError::InvalidHandle));
    }
    assert_eq!(mock::events().iter().filter(|e| matches!(e, Event::Log { .. })).count(), 2);
    assert_eq!(crate::rt::stats(), crate::rt::Stats { tasks: 0, ..Default::default() });
}
