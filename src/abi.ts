/**
 * The wasm-bus ABI (v2: v1 plus `call_now`), in one place.
 *
 * docs/abi.md explains it; this table is what the host is built from and what
 * test/abi-table.test.ts checks the AssemblyScript and Rust SDKs against, so the
 * three languages cannot drift apart.
 */

/**
 * 2 added `call_now` (a call whose result comes back during the import when the service answers
 * at once); a v1 guest, which does not import it, runs unchanged.
 */
export const ABI_VERSION = 2;

/** Bytes `call_now` writes at its `out_ptr`: five u32, little-endian (`CALL_NOW_OUT` names them). */
export const CALL_NOW_OUT_BYTES = 20;
/** Byte offsets of the fields of `call_now`'s out record. */
export const CALL_NOW_OUT = { ready: 0, handle: 4, format: 8, ptr: 12, len: 16 } as const;

/** The import module every bus function lives in. */
export const IMPORT_MODULE = "wasm-bus";

/** Error codes. 0–18 keep the original wasm-bus numbering; new codes start at 19. */
export const Code = {
  Success: 0,
  SerializationFailed: 1,
  DeserializationFailed: 2,
  InvalidWapm: 3,
  FetchFailed: 4,
  CompileError: 5,
  IncorrectAbi: 6,
  Aborted: 7,
  InvalidHandle: 8,
  InvalidTopic: 9,
  MissingCallbacks: 10,
  Unsupported: 11,
  BadRequest: 12,
  InternalFailure: 14,
  MemoryAllocationFailed: 16,
  BusInvocationFailed: 17,
  AccessDenied: 18,
  Timeout: 19,
  LimitExceeded: 20,
  GuestTrapped: 21,
  InvalidPointer: 22,
  InvalidUtf8: 23,
  CallCycle: 24,
  // Edge only, never seen by a guest - no such route, a route that takes another method, no or a wrong bearer token.
  NotFound: 25,
  MethodNotAllowed: 26,
  Unauthorized: 27,
  /** Every instance the module may have is busy and too many calls wait already: try again later. */
  Busy: 28,
  Unknown: 0xffff_ffff,
} as const;
export type CodeName = keyof typeof Code;

const codeNames = new Map<number, CodeName>(
  Object.entries(Code).map(([name, value]) => [value, name as CodeName]),
);
export function codeName(code: number): CodeName {
  return codeNames.get(code >>> 0) ?? "Unknown";
}

/** Serialization formats. Every call, reply and callback names one. */
export const Format = {
  Raw: 0,
  Json: 1,
  Msgpack: 2,
  Bincode: 3,
} as const;
export type FormatName = "raw" | "json" | "msgpack" | "bincode";
export type FormatValue = (typeof Format)[keyof typeof Format];
export const FORMAT_NAMES: readonly FormatName[] = ["raw", "json", "msgpack", "bincode"];
export function formatName(format: number): FormatName | undefined {
  return FORMAT_NAMES[format];
}
export function formatValue(name: FormatName): FormatValue {
  return FORMAT_NAMES.indexOf(name) as FormatValue;
}

/** Log levels of the `log` import, as in the `log` crate. */
export const LogLevel = { Error: 1, Warn: 2, Info: 3, Debug: 4, Trace: 5 } as const;
export const LOG_LEVEL_NAMES = ["", "error", "warn", "info", "debug", "trace"] as const;

/** A handle value that never names a call: "no parent". */
export const NO_HANDLE = 0;

/** The wapm name of the host's built-in services. */
export const OS_WAPM = "os";

export type ValType = "i32" | "i64";

/**
 * One import or export. Every parameter of this ABI is an i32; its name says what it holds:
 * names ending in `ptr` are pointers into guest memory, in `len` byte lengths, the rest u32s
 * (handles, codes, formats, flags). The SDKs' bindings are generated from these names and docs
 * (scripts/gen-abi.mjs), so they read the same in every language.
 */
export interface Sig {
  readonly names: readonly string[];
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
  readonly doc: string;
}
const fn = (names: readonly string[], results: readonly ValType[], doc: string): Sig => ({ names, params: names.map(() => "i32"), results, doc });
const STATUS = ["i32"] as const;

/** Imports the host provides in module `wasm-bus`; all but `handle`, `thread_id` and `kept` answer a status code. */
export const IMPORTS = {
  handle: fn([], ["i32"], "Reserves a new handle, for `call` or `callback`."),
  call: fn(
    ["parent", "handle", "keepalive", "format", "wapm_ptr", "wapm_len", "topic_ptr", "topic_len", "request_ptr", "request_len"],
    STATUS,
    "Starts a call on a handle from `handle()`; its outcome arrives at `wasm_bus_finish` or `wasm_bus_error`.",
  ),
  callback: fn(["parent", "handle", "topic_ptr", "topic_len"], STATUS, "Registers `handle` (from `handle()`) as the callback `topic` of the call `parent`."),
  listen: fn(["topic_ptr", "topic_len"], STATUS, "Serves a topic declared in module.json; inbound calls arrive at `wasm_bus_start`."),
  reply: fn(["handle", "format", "ptr", "len"], STATUS, "Answers the inbound call `handle`."),
  reply_callback: fn(["handle", "format", "topic_ptr", "topic_len", "ptr", "len"], STATUS, "Invokes the callback `topic` that the caller of inbound call `handle` registered."),
  fault: fn(["handle", "code"], STATUS, "Answers the inbound call `handle` with an error code."),
  drop: fn(["handle"], STATUS, "Ends a handle: cancels an outbound call, ends an inbound one, releases a reserved or callback handle."),
  poll: fn([], STATUS, "Blocks until events are pending and delivers them (the module must be built with asyncify, as the wasm-bus build does; else `Unsupported`)."),
  fork: fn([], STATUS, "Keeps the instance alive after `_start` returns (processes only; else `Unsupported`)."),
  thread_id: fn([], ["i32"], "Always 0: guests are single-threaded."),
  log: fn(["level", "ptr", "len"], STATUS, "Writes one line (UTF-8) at a `LogLevel` to the Worker's logs."),
  fault_message: fn(
    ["handle", "code", "ptr", "len"],
    STATUS,
    "As `fault`, with the guest's own words for why (UTF-8). Handle 0 names no call: the guest is about to trap and says why first.",
  ),
  call_now: fn(
    ["parent", "handle", "keepalive", "format", "wapm_ptr", "wapm_len", "topic_ptr", "topic_len", "request_ptr", "request_len", "result_ptr", "result_len", "out_ptr"],
    STATUS,
    "As `call` (ABI v2), and a service that answers at once answers during the import: the record at `out_ptr` says whether the result is here (at `result_ptr` when it fits in `result_len` bytes, else in a `wasm_bus_malloc` buffer) or comes later through `wasm_bus_finish`. `handle` may be 0: the host issues one if the call stays live.",
  ),
  kept: fn(
    ["handle"],
    ["i32"],
    "1 when the caller of the inbound call `handle` keeps it alive (it outlives the reply: a sub-API) and it has not ended, else 0 (not kept, over, or no inbound call of this guest). Changes nothing and logs nothing: a server asks it after replying, to know whether to keep what it made for the call, as no `wasm_bus_drop` comes for a call its own reply ended.",
  ),
} as const satisfies Record<string, Sig>;

/** Exports a guest provides. Only `wasm_bus_malloc` is needed to receive any data. */
export const EXPORTS = {
  wasm_bus_malloc: fn(["len"], ["i32"], "Allocates `len` bytes the host fills; they are the guest's from then on."),
  wasm_bus_free: fn(["ptr", "len"], [], "Frees what `wasm_bus_malloc` gave."),
  wasm_bus_start: fn(["parent", "handle", "format", "topic_ptr", "topic_len", "request_ptr", "request_len"], [], "An inbound call of a topic the guest listens on."),
  wasm_bus_finish: fn(["handle", "format", "ptr", "len"], [], "The result of an outbound call, or a callback's data."),
  wasm_bus_error: fn(["handle", "code"], [], "An outbound call failed."),
  wasm_bus_drop: fn(["handle"], [], "The caller dropped an inbound call."),
} as const satisfies Record<string, Sig>;
