//! Sub-processes: spawn another module (command-style) with args, env and
//! stdin, hear its stdout, stderr and exit through callbacks, write to its
//! stdin and kill it. MessagePack on the wire, bytes as `bin`.
//!
//! | topic | request | reply | callbacks |
//! | --- | --- | --- | --- |
//! | `process.spawn` | `{module, args: [String], env: {String: String}, stdin: bytes?}` | unit; the call stays alive and *is* the process | `stdout: bytes`, `stderr: bytes` (one line each, with its `\n`), `exit: i32` |
//! | `process.write_stdin` (parent: the spawn call) | `{data: bytes}` | `bool` | |
//! | `process.close_stdin` (parent) | `{}` | unit | |
//! | `process.kill` (parent) | `{}` | unit (`exit` reports 137) | |
//!
//! Dropping the `Arc<dyn Child>` (the last clone) drops the spawn call, which
//! kills the process.
//!
//! ```no_run
//! # async fn f() -> Result<(), wasm_bus::BusError> {
//! let out = wasm_bus_process::Command::new("countdown").arg("3").output().await?;
//! assert_eq!(out.code, 0);
//! assert_eq!(out.stdout, b"3\n2\n1\n");
//! # Ok(()) }
//! ```

use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Poll, Waker};
use wasm_bus::macros::*;
use wasm_bus::BusError;

/// The host's process service: topic `process.spawn`.
#[wasm_bus(format = "msgpack")]
pub trait Process {
    #[allow(clippy::too_many_arguments)]
    async fn spawn(
        &self,
        module: String,
        args: Vec<String>,
        env: BTreeMap<String, String>,
        #[serde(with = "wasm_bus::serde_bytes")] stdin: Option<Vec<u8>>,
        #[serde(with = "wasm_bus::serde_bytes")] stdout: impl Fn(Vec<u8>),
        #[serde(with = "wasm_bus::serde_bytes")] stderr: impl Fn(Vec<u8>),
        exit: impl Fn(i32),
    ) -> Arc<dyn Child>;
}

/// A running process (the sub-API of `process.spawn`): topics `process.write_stdin`,
/// `process.close_stdin`, `process.kill`.
#[wasm_bus(format = "msgpack", service = "process")]
pub trait Child {
    async fn write_stdin(&self, #[serde(with = "wasm_bus::serde_bytes")] data: Vec<u8>) -> bool;
    async fn close_stdin(&self);
    async fn kill(&self);
}

/// The exit code of a killed process.
pub const KILLED: i32 = 137;

/// What a finished process left.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// A process to start, std::process::Command style.
#[derive(Debug, Clone)]
pub struct Command {
    wapm: String,
    module: String,
    args: Vec<String>,
    env: BTreeMap<String, String>,
    stdin: Option<Vec<u8>>,
}

impl Command {
    /// Runs the module named `module` (a command-style module: `_start`).
    pub fn new(module: impl Into<String>) -> Command {
        Command {
            wapm: wasm_bus::abi::OS_WAPM.to_owned(),
            module: module.into(),
            args: Vec::new(),
            env: BTreeMap::new(),
            stdin: None,
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Bytes written to stdin before the process starts (stdin stays open for more).
    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(data.into());
        self
    }

    /// Spawns through another service than the host's.
    pub fn via(mut self, wapm: impl Into<String>) -> Self {
        self.wapm = wapm.into();
        self
    }

    /// Starts the process; output and the exit code arrive through the callbacks.
    pub async fn spawn(
        self,
        stdout: impl Fn(Vec<u8>) + 'static,
        stderr: impl Fn(Vec<u8>) + 'static,
        exit: impl Fn(i32) + 'static,
    ) -> Result<Arc<dyn Child>, BusError> {
        ProcessClient::new(&self.wapm).spawn(self.module, self.args, self.env, self.stdin, stdout, stderr, exit).await
    }

    /// Runs the process to its end, collecting its output. Its stdin is closed
    /// after the bytes given to [`stdin`](Self::stdin). A child that fails (traps,
    /// runs out of fuel) is an error with its code (`GuestTrapped`, `Timeout`), not
    /// an exit code.
    pub async fn output(self) -> Result<Output, BusError> {
        struct Shared {
            out: Output,
            exited: bool,
            waker: Option<Waker>,
        }
        let shared = Rc::new(RefCell::new(Shared { out: Output::default(), exited: false, waker: None }));
        let (o, e, x) = (shared.clone(), shared.clone(), shared.clone());
        let child = self
            .spawn(
                move |data| o.borrow_mut().out.stdout.extend(data),
                move |data| e.borrow_mut().out.stderr.extend(data),
                move |code| {
                    let waker = {
                        let mut s = x.borrow_mut();
                        s.out.code = code;
                        s.exited = true;
                        s.waker.take()
                    };
                    if let Some(w) = waker {
                        w.wake()
                    }
                },
            )
            .await?;
        // As std's `output()`: no more input than `stdin(...)` gave (the child sees EOF).
        child.close_stdin().await?;
        std::future::poll_fn(|cx| {
            let mut s = shared.borrow_mut();
            if s.exited {
                return Poll::Ready(Ok(()));
            }
            // A spawn call that ends without exit (aborted: its instance was evicted and restored
            // without the child, say) would otherwise leave this waiting forever.
            let call = child.as_client();
            if let Some(Poll::Ready(err)) = call.as_ref().and_then(|c| c.call()).map(|c| c.poll_failure(cx)) {
                return Poll::Ready(Err(err));
            }
            s.waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await?;
        let out = std::mem::take(&mut shared.borrow_mut().out);
        if out.code == -1 {
            // A child that failed (a trap, out of fuel) calls exit with -1 and then fails the spawn
            // call with its code, where one that exited with -1 leaves it alive. The failure is on
            // its way behind exit: a call made now is answered after it, whatever it answers.
            let failure = || child.as_client().and_then(|c| c.call().and_then(wasm_bus::Call::failure));
            if failure().is_none() {
                let _ = child.close_stdin().await;
            }
            if let Some(err) = failure() {
                return Err(err);
            }
        }
        drop(child);
        Ok(out)
    }

    /// `output` in `block_on`, for command-style programs.
    pub fn blocking_output(self) -> Result<Output, BusError> {
        wasm_bus::block_on(self.output())
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use wasm_bus::mock::{self, Event};
    use wasm_bus::Format;

    #[test]
    fn output_collects_callbacks_until_exit() {
        mock::reset();
        let task = wasm_bus::spawn(Command::new("countdown").arg("2").output());
        mock::run_ready();
        let events = mock::events();
        let cb = |name: &str| {
            events
                .iter()
                .find_map(|e| match e {
                    Event::Callback { handle, topic, .. } if topic == name => Some(*handle),
                    _ => None,
                })
                .unwrap()
        };
        let (out, exit) = (cb("stdout"), cb("exit"));
        let Some(Event::Call { handle: spawn, topic, keepalive: true, format: 2, request, .. }) =
            events.last().cloned()
        else {
            panic!("{events:?}")
        };
        assert_eq!(topic, "process.spawn");
        let req: serde_json::Value = rmp_decode(&request);
        assert_eq!(req, serde_json::json!({"module": "countdown", "args": ["2"], "env": {}, "stdin": null}));
        mock::deliver_finish(spawn, Format::Msgpack, &[0xc0]);
        mock::run_ready();
        let Some(Event::Call { handle: close, parent, topic, .. }) = mock::events().last().cloned() else { panic!() };
        assert_eq!((parent, topic.as_str()), (spawn, "process.close_stdin"));
        mock::deliver_finish(close, Format::Msgpack, &[0xc0]);
        mock::deliver_finish(out, Format::Msgpack, &[0xc4, 2, b'2', b'\n']); // bin 8
        mock::deliver_finish(out, Format::Msgpack, &[0xc4, 2, b'1', b'\n']);
        mock::deliver_finish(exit, Format::Msgpack, &[0]);
        let output = wasm_bus::block_on(task).unwrap();
        assert_eq!(output, Output { code: 0, stdout: b"2\n1\n".to_vec(), stderr: vec![] });
        assert_eq!(mock::events().last(), Some(&Event::Drop(spawn)));
    }

    /// `output()` of countdown, spawned and its stdin closed: the task, and the handles of the spawn call and its exit callback.
    fn output_started() -> (wasm_bus::JoinHandle<Result<Output, BusError>>, u32, u32) {
        mock::reset();
        let task = wasm_bus::spawn(Command::new("countdown").output());
        mock::run_ready();
        let events = mock::events();
        let exit = events.iter().find_map(|e| match e {
            Event::Callback { handle, topic, .. } if topic == "exit" => Some(*handle),
            _ => None,
        });
        let Some(Event::Call { handle: spawn, .. }) = events.last().cloned() else { panic!("{events:?}") };
        mock::deliver_finish(spawn, Format::Msgpack, &[0xc0]);
        let Some(Event::Call { handle: close, .. }) = mock::events().last().cloned() else { panic!() };
        mock::deliver_finish(close, Format::Msgpack, &[0xc0]);
        (task, spawn, exit.unwrap())
    }

    /// The call `output()` made last, if it is process.close_stdin under the spawn call.
    fn probe_of(spawn: u32) -> Option<u32> {
        match mock::events().last().cloned() {
            Some(Event::Call { handle, parent, topic, .. }) if parent == spawn && topic == "process.close_stdin" => Some(handle),
            _ => None,
        }
    }

    #[test]
    fn output_of_a_failed_child_is_its_error() {
        // exit -1 read before the spawn call's failure arrives: heard through a call made behind it.
        let (task, spawn, exit) = output_started();
        mock::deliver_finish(exit, Format::Msgpack, &[0xff]); // -1
        let probe = probe_of(spawn).expect("a call behind exit -1");
        mock::deliver_error(spawn, BusError::GuestTrapped.code());
        mock::deliver_finish(probe, Format::Msgpack, &[0xc0]);
        assert_eq!(wasm_bus::block_on(task), Err(BusError::GuestTrapped));
        // (Where the failure has arrived already when the task reads exit, as in workerd, no call is
        // made: test/processes.test.ts, "Command::output in the Rust SDK fails ...".)
    }

    #[test]
    fn output_of_a_child_whose_spawn_call_ends_without_exit_is_that_error() {
        // No exit callback comes for a spawn call aborted from outside (its instance restored from a
        // snapshot without the child): output() must not wait for one forever.
        let (task, spawn, _exit) = output_started();
        mock::deliver_error(spawn, BusError::Aborted.code());
        assert!(task.is_finished());
        assert_eq!(wasm_bus::block_on(task), Err(BusError::Aborted));
    }

    #[test]
    fn output_of_a_child_that_exits_minus_one_is_that_code() {
        let (task, spawn, exit) = output_started();
        mock::deliver_finish(exit, Format::Msgpack, &[0xff]);
        let probe = probe_of(spawn).expect("a call behind exit -1");
        mock::deliver_finish(probe, Format::Msgpack, &[0xc0]);
        assert_eq!(wasm_bus::block_on(task).map(|o| o.code), Ok(-1));
    }

    fn rmp_decode(bytes: &[u8]) -> serde_json::Value {
        wasm_bus::Payload::new(Format::Msgpack, bytes.to_vec()).decode().unwrap()
    }
}
