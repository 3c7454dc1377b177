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
 * walks every live object, so it does not run after each event (an instance
 * holding 10,000 waiting calls would otherwise spend O(n²) starting them) but
 * after an event once
 *
 * - the events since the last collection have allocated at least a quarter of
 *   what was live after it (and at least GARBAGE_FLOOR): the cost of a
 *   collection is paid for by what was allocated since, and garbage never
 *   outgrows the live heap by more than that;
 * - or memory has grown since the last collection;
 * - or 64 events have run since the last collection.
 *
 * And before an event, from `wasm_bus_malloc` when the host hands over a
 * request while no guest code is running: if the request's bytes, times
 * RESERVE_FACTOR, would not fit in the memory the heap has free and there is
 * garbage to free, the SDK collects first. A full memory cannot grow (its
 * maximum is limits.memoryPages) and the `minimal` runtime traps
 * (`unreachable`) on an allocation that does not fit instead of collecting, so
 * garbage has to be gone before it is needed.
 *
 * The bytes allocated come from the runtime's own count of managed bytes (the
 * `total` of ~lib/rt/tcms), which asconfig.json's `use` aliases as
 * BUS_RT_TOTAL. A build without that alias keeps only the last two rules.
 */
import { copyIn } from "./bytes";
import { eventEnd, eventStart } from "./call";
import { lookup } from "./handles";
import { Payload } from "./payload";
import { startRequest, topicAt } from "./server";

const COLLECT_EVERY: u32 = 64;
/** Garbage below this never forces a collection by itself (bytes). */
const GARBAGE_FLOOR: usize = 256 << 10;
/** What an event may allocate per byte of its request: strings are UTF-16, buffers double. */
const RESERVE_FACTOR: usize = 16;

/** Events since the last collection. */
let events: u32 = 0;
let pagesAtCollect: i32 = 0;
/** Managed bytes live right after the last collection. */
let liveAtCollect: usize = 0;
/** Exports running (guest code on the stack: nothing may be collected). */
let depth: i32 = 0;
/** False until the first event is over: `_initialize` may still be running before. */
let ready = false;

/** Managed bytes allocated and not yet freed: live, and garbage since the last collection. */
// @ts-ignore: decorator
@inline function heapTotal(): usize {
  // @ts-ignore: aliased by asconfig.json's `use` (~lib/rt/tcms/total)
  if (isDefined(BUS_RT_TOTAL)) return BUS_RT_TOTAL;
  return 0;
}

/** Bytes allocated since the last collection (garbage, or live that grew). */
function garbage(): usize {
  const total = heapTotal();
  return total > liveAtCollect ? total - liveAtCollect : 0;
}

function runCollect(): void {
  // @ts-ignore: a runtime global tsc does not know
  __collect();
  events = 0;
  pagesAtCollect = memory.size();
  liveAtCollect = heapTotal();
}

/** An event is over: frees what the last events left behind, when it is time to. */
function collect(): void {
  depth--;
  ready = true;
  events++;
  if (depth != 0) return; // an export inside an export: the outer one's values are on the stack
  if (events < COLLECT_EVERY && memory.size() == pagesAtCollect && garbage() < max(GARBAGE_FLOOR, liveAtCollect >> 2)) return;
  runCollect();
}

/** Before the host hands over `len` bytes outside any event: room for the event they start. */
function makeRoom(len: usize): void {
  if (!ready || depth != 0 || len < 1024) return;
  // Only for garbage worth a walk of the live heap: a memory that is short but can still grow
  // would otherwise be collected before every request until it grows (O(n²) again).
  if (garbage() < max(len, liveAtCollect >> 4)) return;
  const size = <usize>memory.size() << 16;
  const used = __heap_base + heapTotal();
  const free = size > used ? size - used : 0;
  if (free < len * RESERVE_FACTOR) runCollect();
}

/** TLSF's largest block; a bigger request answers null (the host reports MemoryAllocationFailed). */
const MAX_ALLOC: usize = (1 << 30) - 16;

/** Memory for data the host hands over; the guest owns it from then on. */
export function wasm_bus_malloc(len: usize): usize {
  if (len > MAX_ALLOC) return 0;
  makeRoom(len);
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
  depth++;
  const topic = topicAt(topic_ptr, topic_len);
  const data = copyIn(req_ptr, req_len);
  if (topic_ptr) heap.free(topic_ptr);
  eventStart();
  startRequest(parent, handle, format, topic, data);
  eventEnd();
  collect();
}

/** The result of an outbound call, or one invocation of a callback. */
export function wasm_bus_finish(handle: u32, format: u32, ptr: usize, len: usize): void {
  depth++;
  const payload = new Payload(format, take(ptr, len));
  eventStart();
  const entry = lookup(handle);
  if (entry != null) entry.hostFinish(payload);
  eventEnd();
  collect();
}

/** An outbound call failed. */
export function wasm_bus_error(handle: u32, code: u32): void {
  depth++;
  eventStart();
  const entry = lookup(handle);
  if (entry != null) entry.hostError(code);
  eventEnd();
  collect();
}

/** The caller dropped an inbound call. Unknown handles (requests already over) are ignored. */
export function wasm_bus_drop(handle: u32): void {
  depth++;
  eventStart();
  const entry = lookup(handle);
  if (entry != null) entry.hostDrop();
  eventEnd();
  collect();
}
