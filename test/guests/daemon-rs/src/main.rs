//! daemon-rs: a process that serves (test/guests; test/remote-calls.test.ts, test/kv.test.ts).
//! `main` (run by `_start`) listens on its topics and calls `fork`, so the process outlives
//! `_start` and serves calls as they come (POST /processes/:id/call/:topic, or RPC).

use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use wasm_bus::format::Json;
use wasm_bus::{BusError, Call, Format, Payload, Request};

#[derive(Deserialize)]
struct Ticks {
    n: u32,
}

#[derive(Serialize)]
struct Ticked {
    ticks: u32,
}

#[derive(Deserialize)]
struct Os {
    topic: String,
    format: u8,
    #[serde(with = "wasm_bus::serde_bytes")]
    payload: Vec<u8>,
}

#[derive(Serialize)]
struct Relayed {
    format: u8,
    #[serde(with = "wasm_bus::serde_bytes")]
    payload: Vec<u8>,
}

#[derive(Deserialize)]
struct Join {
    room: String,
    name: String,
}

#[derive(Serialize)]
struct Name {
    name: String,
}

#[derive(Deserialize)]
struct Joined {
    members: u32,
}

#[derive(Serialize)]
struct Members {
    members: u32,
}

#[derive(Serialize, Deserialize)]
struct Message {
    from: String,
    text: String,
}

#[derive(Serialize, Deserialize)]
struct Post {
    text: String,
}

thread_local! {
    /// The room joined: its wapm name and the kept-alive join call (dropping it leaves).
    static ROOM: RefCell<Option<(String, Call)>> = const { RefCell::new(None) };
}

fn main() {
    // ticks {n}: the callback tick with 1, 2, .. n, then the reply.
    wasm_bus::listen("ticks", |req: Request| async move {
        let Ticks { n } = req.decode()?;
        let caller = req.responder();
        for k in 1..=n {
            caller.callback_as::<Json, _>("tick", &k)?;
        }
        Payload::json(&Ticked { ticks: n })
    })
    .unwrap();

    // os {topic, format, payload}: one call to the host's services, as this module.
    wasm_bus::listen("os", |req: Request| async move {
        let os: Os = req.decode()?;
        let format = Format::from_u32(os.format as u32).ok_or(BusError::BadRequest)?;
        let reply = wasm_bus::call("os", &os.topic).send_raw(format, &os.payload)?.await?;
        Payload::msgpack(&Relayed { format: reply.format as u8, payload: reply.data })
    })
    .unwrap();

    // join {room, name}: chat's join on the session named room, kept alive; messages to stdout.
    wasm_bus::listen("join", |req: Request| async move {
        let Join { room, name } = req.decode()?;
        let wapm = format!("chat@{room}");
        let mut call = wasm_bus::call(&wapm, "join")
            .keepalive()
            .callback("message", |m: Message| println!("{}: {}", m.from, m.text))
            .json(&Name { name })?;
        let joined: Joined = call.reply_as::<Json, _>().await?;
        ROOM.with(|r| *r.borrow_mut() = Some((wapm, call)));
        Payload::json(&Members { members: joined.members })
    })
    .unwrap();

    // post {text}: chat's post under the join, in the session's object.
    wasm_bus::listen("post", |req: Request| async move {
        let post: Post = req.decode()?;
        let call = ROOM.with(|r| match r.borrow().as_ref() {
            Some((wapm, join)) => wasm_bus::call(wapm, "post").parent(join).json(&post),
            None => Err(BusError::BadRequest),
        })?;
        call.await
    })
    .unwrap();

    // SAFETY: an import without arguments.
    if unsafe { wasm_bus::abi::fork() } != 0 {
        eprintln!("fork refused: not a process");
        std::process::exit(1);
    }
    println!("serving");
}
