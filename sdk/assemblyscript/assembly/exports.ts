/**
 * The six exports the host drives a guest through. A module re-exports them
 * from its entry file, in one line:
 *
 *   export * from "../../sdk/assemblyscript/assembly/exports";
 *
 * Only these functions live here, so that line exports nothing else.
 *
 * Between events the SDK collects garbage: no managed value is on the stack
 * then, so this is exact, and it lets modules build with the `minimal` runtime
 * (no shadow stack, no collection in the middle of a handler). A collection
 * walks every live object, so it runs every 64th event or when memory has
 * grown, not after each: an instance holding 10,000 waiting calls would
 * otherwise spend O(n²) starting them.
 */
import { copyIn } from "./bytes";
import { eventEnd, eventStart } from "./call";
import { lookup } from "./handles";
import { Payload } from "./payload";
import { startRequest } from "./server";

const COLLECT_EVERY: u32 = 64;
let events: u32 = 0;
let pagesAtCollect: i32 = 0;

/** Frees what the last events left behind. */
function collect(): void {
  events++;
  if (events % COLLECT_EVERY != 0 && memory.size() == pagesAtCollect) return;
  // @ts-ignore: a runtime global tsc does not know
  __collect();
  pagesAtCollect = memory.size();
}

/** TLSF's largest block; a bigger request answers null (the host reports MemoryAllocationFailed). */
const MAX_ALLOC: usize = (1 << 30) - 16;

/** Memory for data the host hands over; the guest owns it from then on. */
export function wasm_bus_malloc(len: usize): usize {
  if (len > MAX_ALLOC) return 0;
  return heap.alloc(len);
}

export function wasm_bus_free(ptr: usize, len: usize): void {
  if (ptr) heap.free(ptr);
}

/** Takes the bytes at `ptr` (host-written) and frees the buffer. */
function take(ptr: usize, len: usize): Uint8Array {
  const data = copyIn(ptr, len);
  if (ptr) heap.free(ptr);
  return data;
}

/** An inbound call. Topic and request share one buffer, the request right after the topic. */
export function wasm_bus_start(parent: u32, handle: u32, format: u32, topic_ptr: usize, topic_len: usize, req_ptr: usize, req_len: usize): void {
  const topic = String.UTF8.decodeUnsafe(topic_ptr, topic_len);
  const data = copyIn(req_ptr, req_len);
  if (topic_ptr) heap.free(topic_ptr);
  eventStart();
  startRequest(parent, handle, format, topic, data);
  eventEnd();
  collect();
}

/** The result of an outbound call, or one invocation of a callback. */
export function wasm_bus_finish(handle: u32, format: u32, ptr: usize, len: usize): void {
  const payload = new Payload(format, take(ptr, len));
  eventStart();
  const entry = lookup(handle);
  if (entry != null) entry.hostFinish(payload);
  eventEnd();
  collect();
}

/** An outbound call failed. */
export function wasm_bus_error(handle: u32, code: u32): void {
  eventStart();
  const entry = lookup(handle);
  if (entry != null) entry.hostError(code);
  eventEnd();
  collect();
}

/** The caller dropped an inbound call. Unknown handles (requests already over) are ignored. */
export function wasm_bus_drop(handle: u32): void {
  eventStart();
  const entry = lookup(handle);
  if (entry != null) entry.hostDrop();
  eventEnd();
  collect();
}
