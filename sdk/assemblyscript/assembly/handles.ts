/**
 * The guest's side of the handle table: what each live handle names, so the
 * exports can route wasm_bus_finish / _error / _drop to it.
 */
import { Payload } from "./payload";

/** Something the host names by a handle: an outbound call, a callback, an inbound request. */
export abstract class Entry {
  handle: u32 = 0;
  /** wasm_bus_finish: the result of a call, or one invocation of a callback. */
  hostFinish(payload: Payload): void {}
  /** wasm_bus_error: a call failed. */
  hostError(code: u32): void {}
  /** wasm_bus_drop: the caller dropped an inbound request. */
  hostDrop(): void {}
  /** Cancelled by the guest: an outbound call made for a request that was dropped. */
  cancel(): void {}
}

const entries = new Map<u32, Entry>();

export function track(entry: Entry): void {
  entries.set(entry.handle, entry);
}

export function forget(handle: u32): void {
  entries.delete(handle);
}

export function lookup(handle: u32): Entry | null {
  return entries.has(handle) ? entries.get(handle) : null;
}

/** Live handles the SDK knows of (for tests and leak hunting). */
export function liveHandles(): i32 {
  return entries.size;
}
