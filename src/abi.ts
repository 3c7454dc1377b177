/**
 * The wasm-bus ABI v1, in one place.
 *
 * docs/abi.md explains it; this table is what the host is built from and what
 * test/abi-table.test.ts checks the AssemblyScript and Rust SDKs against, so the
 * three languages cannot drift apart.
 */

export const ABI_VERSION = 1;

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
  Unknown: 0xffff_ffff,
} as const;
export type CodeName = keyof typeof Code;
export type CodeValue = (typeof Code)[CodeName];

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

type Sig = { params: readonly ("i32" | "i64")[]; results: readonly ("i32" | "i64")[] };
const sig = (params: Sig["params"], results: Sig["results"] = []): Sig => ({ params, results });

/** Imports the host provides in module `wasm-bus`. Pointers and lengths are u32 (i32). */
export const IMPORTS = {
  handle: sig([], ["i32"]),
  call: sig(["i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32"], ["i32"]),
  callback: sig(["i32", "i32", "i32", "i32"], ["i32"]),
  listen: sig(["i32", "i32"], ["i32"]),
  reply: sig(["i32", "i32", "i32", "i32"], ["i32"]),
  reply_callback: sig(["i32", "i32", "i32", "i32", "i32", "i32"], ["i32"]),
  fault: sig(["i32", "i32"], ["i32"]),
  drop: sig(["i32"], ["i32"]),
  poll: sig([], ["i32"]),
  fork: sig([], ["i32"]),
  thread_id: sig([], ["i32"]),
  log: sig(["i32", "i32", "i32"], ["i32"]),
  fault_message: sig(["i32", "i32", "i32", "i32"], ["i32"]),
} as const satisfies Record<string, Sig>;
export type ImportName = keyof typeof IMPORTS;

/** Exports a guest provides. Only `wasm_bus_malloc` is needed to receive any data. */
export const EXPORTS = {
  wasm_bus_malloc: sig(["i32"], ["i32"]),
  wasm_bus_free: sig(["i32", "i32"]),
  wasm_bus_start: sig(["i32", "i32", "i32", "i32", "i32", "i32", "i32"]),
  wasm_bus_finish: sig(["i32", "i32", "i32", "i32"]),
  wasm_bus_error: sig(["i32", "i32"]),
  wasm_bus_drop: sig(["i32"]),
} as const satisfies Record<string, Sig>;
export type ExportName = keyof typeof EXPORTS;
