import { Code, LogLevel, NO_HANDLE, formatName } from "../abi.js";
import { BusCall, type CallSink, MAX_QUEUED_BYTES } from "../call.js";
import type { Payload } from "../codec/index.js";
import { BusError } from "../errors.js";
import type { Entry } from "../handles.js";
import { badMalloc, type InstanceContext } from "./context.js";
import type { Delivery } from "./delivery.js";
import { read } from "./read-payload.js";

// The `call` import's work, and the sink every result a guest waits for through its exports goes
// to: call_now (./call-now.ts) hands its results over to sinkFor once they cannot come back inside
// the import, so both paths share this one queue discipline, and the one dispatch that keeps the
// caller's fuel.

/** Deliveries one guest may have waiting; past it, callbacks to it are refused with LimitExceeded. */
export const MAX_QUEUED = 4096;

// The ABI's arguments, flat: this is the hottest import, and arrays or spreads per call cost.
export function call(
  cx: InstanceContext,
  delivery: Delivery,
  parent: number,
  handle: number,
  keepalive: boolean,
  format: number,
  wapmPtr: number,
  wapmLen: number,
  topicPtr: number,
  topicLen: number,
  reqPtr: number,
  reqLen: number,
): number {
  const entry = cx.handles.get(handle);
  if (entry?.kind !== "reserved") return cx.refuse("InvalidHandle", `call: handle ${handle} was not issued by handle() or is already in use`);
  const parentCall = checkOutbound(cx, "call", parent, format);
  const limits = cx.module.manifest.limits;
  const wapm = cx.memory.readName(wapmPtr, wapmLen, "wapm");
  const topic = cx.memory.readName(topicPtr, topicLen, "topic");
  const request = read(cx, format, reqPtr, reqLen, limits.requestBytes, "request");
  const outbound = new BusCall(wapm, topic, request, sinkFor(cx, delivery, handle), cx.outboundOptions(parentCall, keepalive));
  cx.handles.set(handle, { kind: "out", call: outbound, callbacks: entry.callbacks });
  const refused = dispatch(cx, outbound);
  if (refused) {
    cx.handles.release(handle);
    parentCall?.children.delete(outbound);
    throw refused;
  }
  return Code.Success;
}

/**
 * Starts a guest's call (`call`, `call_now`). Guest code of another instance may run inside: an
 * instance made for it starts up (a pool grows, a sub-process runs `_start`), or one takes it at
 * once. Each entry sets the runtime's one fuel meter to its own budget, so the caller's fuel is
 * put back before it runs on: an import never hands a guest a fresh budget.
 */
export function dispatch(cx: InstanceContext, call: BusCall): BusError | undefined {
  const fuel = cx.module.metered ? cx.host.meter.fuel : undefined;
  const left = fuel?.value;
  try {
    return cx.host.dispatch(call);
  } finally {
    if (fuel) fuel.value = left;
  }
}

/**
 * What `call` and `call_now` check alike before they read the names and the request: the parent
 * is a live call this guest made, the format is one the ABI knows, the guest is within
 * `limits.maxCalls`. Throws the refusal (the import's guard makes it the status); answers the
 * parent's call.
 */
export function checkOutbound(cx: InstanceContext, verb: "call" | "call_now", parent: number, format: number): BusCall | undefined {
  let parentCall: BusCall | undefined;
  if (parent !== NO_HANDLE) {
    const p = cx.handles.get(parent);
    // A kept-alive call keeps its handle until its end is delivered (sinkFor), but is no parent then.
    if (p?.kind !== "out" || p.call.ended) throw outboundRefusal(cx, verb, parent, format);
    parentCall = p.call;
  }
  if (formatName(format) === undefined || cx.handles.outbound >= cx.module.manifest.limits.maxCalls) throw outboundRefusal(cx, verb, parent, format);
  return parentCall;
}

/** Why checkOutbound refuses: out of line, as GuestMemory's refusals are (see `outside` in ../memory.ts). */
function outboundRefusal(cx: InstanceContext, verb: string, parent: number, format: number): BusError {
  const p = parent === NO_HANDLE ? undefined : cx.handles.get(parent);
  if (parent !== NO_HANDLE && (p?.kind !== "out" || p.call.ended)) return BusError.of("InvalidHandle", `${verb}: parent ${parent} is not a live call`);
  if (formatName(format) === undefined) return BusError.of("BadRequest", `${verb}: unknown format ${format}`);
  return BusError.of("LimitExceeded", `${verb}: limits.maxCalls (${cx.module.manifest.limits.maxCalls}) calls are in flight already`);
}

/** Why sinkFor refuses a callback, thrown so that the server's `reply_callback` keeps it (./bus-imports.ts). */
function queueFull(cx: InstanceContext, pending: number, topic: string): BusError {
  return BusError.of(
    "LimitExceeded",
    `callback ${topic}: module ${cx.module.name}'s queue is full (${pending} deliveries, ${cx.queuedBytes} bytes waiting; its bounds are ${MAX_QUEUED} and ${MAX_QUEUED_BYTES})`,
  );
}

/** Where the outcome of a guest's own call goes: queued for delivery through its exports. */
export function sinkFor(cx: InstanceContext, delivery: Delivery, handle: number): CallSink {
  // `live`: the entry `to` must still name when the delivery runs. A kept-alive call and a
  // callback stay the guest's to drop while their data waits in the queue, and a dropped handle
  // hears nothing more (docs/abi.md). `ended`: the call is over, and this ends its callbacks.
  const deliverData = (of: BusCall, to: number, payload: Payload, live?: Entry, ended?: () => void) => {
    cx.queuedBytes += payload.data.length;
    delivery.push(() => {
      cx.queuedBytes -= payload.data.length;
      ended?.();
      cx.resumeFor(of);
      const dropped = () => live !== undefined && cx.handles.get(to) !== live;
      if (dropped()) return;
      const ptr = cx.give(payload.data);
      // wasm_bus_malloc is guest code too: it may drop the handle (and keeps its buffer then).
      if (dropped()) return;
      if (ptr === null) return noRoom(payload.data.length, to, live);
      cx.exports.wasm_bus_finish?.(to, payload.format, ptr, payload.data.length);
    });
  };
  // A result or callback the guest had no room for (wasm_bus_malloc answered 0): that one
  // delivery fails, not the instance. A callback is dropped with a log line, its call goes on; a
  // result comes as the call's failure, MemoryAllocationFailed, and a kept-alive call (`live`)
  // ends with it, for its server too: the guest hears no more of it.
  const noRoom = (len: number, to: number, live?: Entry) => {
    const err = badMalloc(len, 0);
    if (live?.kind === "callback") return void cx.log(LogLevel.Warn, `callback ${live.topic} to handle ${to} dropped: ${err.message}`);
    if (live?.kind === "out") {
      end(live)();
      live.call.drop(err.message);
    }
    cx.exports.wasm_bus_error?.(to, err.code);
  };
  // The call is over (its result or failure came); its callbacks go once what was queued for them
  // before this has arrived, when the end is delivered (the function this returns). A call not
  // kept alive loses its handle now, so the guest can no longer use or drop it. A kept-alive one
  // keeps it until then, as its reply may wait in the queue ahead of the end: the guest may still
  // drop it, and then hears no more (the function answers false).
  const end = (entry: Extract<Entry, { kind: "out" }>) => {
    const kept = entry.call.keepalive;
    if (!kept) cx.handles.remove(handle);
    return () => {
      if (kept) {
        if (cx.handles.get(handle) !== entry) return false;
        cx.handles.remove(handle);
      }
      for (const cb of entry.callbacks?.values() ?? []) {
        const e = cx.handles.get(cb);
        if (e?.kind === "callback" && e.parent === handle) cx.handles.remove(cb);
      }
      return true;
    };
  };
  return {
    finish: (reply) => {
      const entry = cx.handles.get(handle);
      if (entry?.kind !== "out") return;
      if (entry.call.keepalive) deliverData(entry.call, handle, reply, entry);
      else deliverData(entry.call, handle, reply, undefined, end(entry));
    },
    fail: (err) => {
      const entry = cx.handles.get(handle);
      if (entry?.kind !== "out") return;
      const ended = end(entry);
      delivery.push(() => {
        if (!ended()) return;
        cx.resumeFor(entry.call);
        cx.heard(err, entry.call.madeFor);
        cx.exports.wasm_bus_error?.(handle, err.code);
      });
    },
    callback: (topic, payload) => {
      const entry = cx.handles.get(handle);
      const cb = entry?.kind === "out" ? entry.callbacks?.get(topic) : undefined;
      if (entry?.kind !== "out" || cb === undefined) return Code.MissingCallbacks;
      // Backpressure: a server that pushes callbacks faster than this guest takes them is
      // refused, instead of growing this guest's queue without bound.
      if (delivery.pending >= MAX_QUEUED || cx.queuedBytes + payload.data.length > MAX_QUEUED_BYTES) throw queueFull(cx, delivery.pending, topic);
      deliverData(entry.call, cb, payload, cx.handles.get(cb));
      return Code.Success;
    },
  };
}
