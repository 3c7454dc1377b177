//! cdylib for wasm32-unknown-unknown: no imports needed, plain exports.
use serde::{Deserialize, Serialize};
use smoke_derive::Describe;

#[derive(Serialize, Deserialize, Describe)]
struct Greeting {
    name: String,
    count: u32,
}

#[no_mangle]
pub extern "C" fn add(a: i32, b: i32) -> i32 {
    a + b
}

#[no_mangle]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    let mut v = Vec::<u8>::with_capacity(len);
    let p = v.as_mut_ptr();
    core::mem::forget(v);
    p
}

/// Parses JSON `{"name":..,"count":..}`, returns (ptr << 32 | len) of a JSON reply.
#[no_mangle]
pub extern "C" fn greet(ptr: *mut u8, len: usize) -> u64 {
    let input = unsafe { Vec::from_raw_parts(ptr, len, len) };
    let mut g: Greeting = serde_json::from_slice(&input).expect("bad json");
    g.count += 1;
    let msgpack = rmp_serde::to_vec(&g).unwrap().len();
    let bin = bincode::serialize(&g).unwrap().len();
    let reply = serde_json::json!({
        "hello": g.name,
        "count": g.count,
        "describe": Greeting::describe(),
        "msgpack_len": msgpack,
        "bincode_len": bin,
    })
    .to_string()
    .into_bytes()
    .into_boxed_slice();
    let (p, n) = (reply.as_ptr() as u64, reply.len() as u64);
    core::mem::forget(reply);
    (p << 32) | n
}
