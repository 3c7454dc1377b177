/**
 * Raw bindings to the wasm-bus ABI v1: a mirror of src/abi.ts, name for name.
 *
 * Module authors rarely need these: the rest of the SDK wraps them. Every
 * import lives in module "wasm-bus", takes i32s (pointers and lengths are u32)
 * and, except `handle` and `thread_id`, answers a status: Code.Success or why not.
 */

export const ABI_VERSION: u32 = 1;

/** The import module every bus function lives in. */
export const IMPORT_MODULE = "wasm-bus";

/** Error codes. 0–18 keep the original wasm-bus numbering; new codes start at 19. */
export namespace Code {
  export const Success: u32 = 0;
  export const SerializationFailed: u32 = 1;
  export const DeserializationFailed: u32 = 2;
  export const InvalidWapm: u32 = 3;
  export const FetchFailed: u32 = 4;
  export const CompileError: u32 = 5;
  export const IncorrectAbi: u32 = 6;
  export const Aborted: u32 = 7;
  export const InvalidHandle: u32 = 8;
  export const InvalidTopic: u32 = 9;
  export const MissingCallbacks: u32 = 10;
  export const Unsupported: u32 = 11;
  export const BadRequest: u32 = 12;
  export const InternalFailure: u32 = 14;
  export const MemoryAllocationFailed: u32 = 16;
  export const BusInvocationFailed: u32 = 17;
  export const AccessDenied: u32 = 18;
  export const Timeout: u32 = 19;
  export const LimitExceeded: u32 = 20;
  export const GuestTrapped: u32 = 21;
  export const InvalidPointer: u32 = 22;
  export const InvalidUtf8: u32 = 23;
  export const CallCycle: u32 = 24;
  // Edge only, never seen by a guest.
  export const NotFound: u32 = 25;
  export const MethodNotAllowed: u32 = 26;
  export const Unauthorized: u32 = 27;
  export const Unknown: u32 = 0xffff_ffff;
}

/** The name of a code, for log lines: "BadRequest", or "Unknown". */
export function codeName(code: u32): string {
  switch (code) {
    case Code.Success: return "Success";
    case Code.SerializationFailed: return "SerializationFailed";
    case Code.DeserializationFailed: return "DeserializationFailed";
    case Code.InvalidWapm: return "InvalidWapm";
    case Code.FetchFailed: return "FetchFailed";
    case Code.CompileError: return "CompileError";
    case Code.IncorrectAbi: return "IncorrectAbi";
    case Code.Aborted: return "Aborted";
    case Code.InvalidHandle: return "InvalidHandle";
    case Code.InvalidTopic: return "InvalidTopic";
    case Code.MissingCallbacks: return "MissingCallbacks";
    case Code.Unsupported: return "Unsupported";
    case Code.BadRequest: return "BadRequest";
    case Code.InternalFailure: return "InternalFailure";
    case Code.MemoryAllocationFailed: return "MemoryAllocationFailed";
    case Code.BusInvocationFailed: return "BusInvocationFailed";
    case Code.AccessDenied: return "AccessDenied";
    case Code.Timeout: return "Timeout";
    case Code.LimitExceeded: return "LimitExceeded";
    case Code.GuestTrapped: return "GuestTrapped";
    case Code.InvalidPointer: return "InvalidPointer";
    case Code.InvalidUtf8: return "InvalidUtf8";
    case Code.CallCycle: return "CallCycle";
    case Code.NotFound: return "NotFound";
    case Code.MethodNotAllowed: return "MethodNotAllowed";
    case Code.Unauthorized: return "Unauthorized";
  }
  return "Unknown";
}

/** Serialization formats. Every call, reply and callback names one. */
export namespace Format {
  export const Raw: u32 = 0;
  export const Json: u32 = 1;
  export const Msgpack: u32 = 2;
  export const Bincode: u32 = 3;
}

/** Log levels of the `log` import, as in the `log` crate. */
export namespace LogLevel {
  export const Error: u32 = 1;
  export const Warn: u32 = 2;
  export const Info: u32 = 3;
  export const Debug: u32 = 4;
  export const Trace: u32 = 5;
}

/** A handle value that never names a call: "no parent". */
export const NO_HANDLE: u32 = 0;

/** The wapm name of the host's built-in services. */
export const OS_WAPM = "os";

// ---- imports (module "wasm-bus"), in the order of IMPORTS in src/abi.ts ------

/** Reserves a new handle, for `call` or `callback`. */
// @ts-ignore: decorator
@external("wasm-bus", "handle")
export declare function handle(): u32;

/** Starts a call on a handle from `handle()`; its outcome arrives at wasm_bus_finish or wasm_bus_error. */
// @ts-ignore: decorator
@external("wasm-bus", "call")
export declare function call(parent: u32, handle: u32, keepalive: u32, format: u32, wapm_ptr: usize, wapm_len: usize, topic_ptr: usize, topic_len: usize, request_ptr: usize, request_len: usize): u32;

/** Registers `handle` (from `handle()`) as the callback `topic` of the call about to start on `parent`. */
// @ts-ignore: decorator
@external("wasm-bus", "callback")
export declare function callback(parent: u32, handle: u32, topic_ptr: usize, topic_len: usize): u32;

/** Serves a topic declared in module.json; inbound calls arrive at wasm_bus_start. */
// @ts-ignore: decorator
@external("wasm-bus", "listen")
export declare function listen(topic_ptr: usize, topic_len: usize): u32;

/** Answers an inbound call. */
// @ts-ignore: decorator
@external("wasm-bus", "reply")
export declare function reply(handle: u32, format: u32, ptr: usize, len: usize): u32;

/** Invokes the caller's callback `topic` of an inbound call. */
// @ts-ignore: decorator
@external("wasm-bus", "reply_callback")
export declare function reply_callback(handle: u32, format: u32, topic_ptr: usize, topic_len: usize, ptr: usize, len: usize): u32;

/** Fails an inbound call with an error code. */
// @ts-ignore: decorator
@external("wasm-bus", "fault")
export declare function fault(handle: u32, code: u32): u32;

/** Drops a handle: cancels an outbound call, ends an inbound one, releases a reserved or callback handle. */
// @ts-ignore: decorator
@external("wasm-bus", "drop")
export declare function drop(handle: u32): u32;

/** Blocks until results are delivered (needs JSPI on the host; else Unsupported). */
// @ts-ignore: decorator
@external("wasm-bus", "poll")
export declare function poll(): u32;

/** Unsupported in plain calls (needs a process). */
// @ts-ignore: decorator
@external("wasm-bus", "fork")
export declare function fork(): u32;

/** Always 0: guests are single-threaded. */
// @ts-ignore: decorator
@external("wasm-bus", "thread_id")
export declare function thread_id(): u32;

/** Writes a log line (UTF-8) at a LogLevel. */
// @ts-ignore: decorator
@external("wasm-bus", "log")
export declare function log(level: u32, ptr: usize, len: usize): u32;

/** As `fault`, with the guest's own words for why (UTF-8); handle 0: about to trap, and why. */
// @ts-ignore: decorator
@external("wasm-bus", "fault_message")
export declare function fault_message(handle: u32, code: u32, ptr: usize, len: usize): u32;

// ---- exports: implemented once in ./exports.ts; a module re-exports them with
//   export * from "<path to>/sdk/assemblyscript/assembly/exports";
// wasm_bus_malloc(len) -> ptr, wasm_bus_free(ptr, len),
// wasm_bus_start(parent, handle, format, topic_ptr, topic_len, req_ptr, req_len),
// wasm_bus_finish(handle, format, ptr, len), wasm_bus_error(handle, code), wasm_bus_drop(handle)
