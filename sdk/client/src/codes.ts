/**
 * The ABI's error codes by name (docs/abi.md, "Error codes"). A copy of the runtime's table in
 * src/abi.ts, so the package stands alone; test/node/client-types.test.ts holds the two equal.
 */
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
  NotFound: 25,
  MethodNotAllowed: 26,
  Unauthorized: 27,
  /** Every instance the module may have is busy and too many calls wait already: try again later. */
  Busy: 28,
  Unknown: 0xffff_ffff,
} as const;

export type CodeName = keyof typeof Code;

const names = new Map<number, CodeName>(Object.entries(Code).map(([name, value]) => [value, name as CodeName]));

export function codeName(code: number): CodeName {
  return names.get(code >>> 0) ?? "Unknown";
}

/** Payload formats by name, as frames and manifests spell them. */
export type FormatName = "raw" | "json" | "msgpack" | "bincode";
