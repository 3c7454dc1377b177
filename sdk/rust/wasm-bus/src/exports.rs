//! The exports every bus guest provides, defined once here. Linking this crate
//! into a cdylib or a wasip1 command exports them (they are `#[no_mangle]`).
//!
//! Memory contract (docs/abi.md): the host copies data into buffers it gets
//! from `wasm_bus_malloc`, and they are the guest's from then on. They are
//! allocated with the global allocator at alignment 1, exactly like a
//! `Vec<u8>` of that capacity, so the engine adopts each one as a `Vec<u8>`
//! and frees it when the decoded data is dropped.
//!
//! Only on wasm32: pointers are u32 there. Host-side tests deliver events
//! through `wasm_bus::mock` instead.

use crate::rt;
use std::alloc::{alloc, dealloc, Layout};

/// Adopts a buffer the host filled: `(0, 0)` is the empty buffer.
///
/// # Safety
/// `ptr` came from `wasm_bus_malloc(len)` and is not used elsewhere.
unsafe fn adopt(ptr: u32, len: u32) -> Vec<u8> {
    rt::adopt(ptr as usize, len as usize)
}

#[no_mangle]
pub extern "C" fn wasm_bus_malloc(len: u32) -> u32 {
    let Ok(layout) = Layout::from_size_align(len.max(1) as usize, 1) else { return 0 };
    // SAFETY: a non-zero size.
    let ptr = unsafe { alloc(layout) };
    ptr as usize as u32
}

/// # Safety
/// `ptr` came from `wasm_bus_malloc(len)` and is freed once.
#[no_mangle]
pub unsafe extern "C" fn wasm_bus_free(ptr: u32, len: u32) {
    if ptr != 0 {
        dealloc(ptr as usize as *mut u8, Layout::from_size_align_unchecked(len.max(1) as usize, 1));
    }
}

/// # Safety
/// The host's contract: one buffer of `topic_len + request_len` bytes from
/// `wasm_bus_malloc`, the request right after the topic.
#[no_mangle]
pub unsafe extern "C" fn wasm_bus_start(
    parent: u32,
    handle: u32,
    format: u32,
    topic_ptr: u32,
    topic_len: u32,
    _request_ptr: u32,
    request_len: u32,
) {
    let buffer = adopt(topic_ptr, topic_len + request_len);
    rt::on_start(parent, handle, format, buffer, topic_len as usize);
}

/// # Safety
/// `ptr`/`len` is a buffer from `wasm_bus_malloc` (or `0, 0`).
#[no_mangle]
pub unsafe extern "C" fn wasm_bus_finish(handle: u32, format: u32, ptr: u32, len: u32) {
    let data = adopt(ptr, len);
    rt::on_finish(handle, format, data);
}

#[no_mangle]
pub extern "C" fn wasm_bus_error(handle: u32, code: u32) {
    rt::on_error(handle, code);
}

#[no_mangle]
pub extern "C" fn wasm_bus_drop(handle: u32) {
    rt::on_drop(handle);
}
