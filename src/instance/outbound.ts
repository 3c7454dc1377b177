import { Code, NO_HANDLE, formatName } from "../abi.js";
import { BusCall, type CallSink } from "../call.js";
import type { Payload } from "../codec/index.js";
import type { InstanceContext } from "./context.js";
import type { Delivery } from "./delivery.js";
import { read } from "./read-payload.js";

// The `call` import's work, and the sink every result a guest waits for through its exports goes
// to: call_now (./call-now.ts) hands its results over to sinkFor once they cannot come back inside
// the import, so both paths share this one queue discipline.

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
  let parentCall: BusCall | undefined;
  if (parent !== NO_HANDLE) {
    const p = cx.handles.get(parent);
    if (p?.kind !== "out") return cx.refuse("InvalidHandle", `call: parent ${parent} is not a live call`);
    parentCall = p.call;
  }
  if (formatName(format) === undefined) return cx.refuse("BadRequest", `call: unknown format ${format}`);
  const limits = cx.module.manifest.limits;
  if (cx.handles.outbound >= limits.maxCalls) return cx.refuse("LimitExceeded", `call: more than ${limits.maxCalls} calls in flight`);
  const wapm = cx.memory.readName(wapmPtr, wapmLen, "wapm");
  const topic = cx.memory.readName(topicPtr, topicLen, "topic");
  const request = read(cx, format, reqPtr, reqLen, limits.requestBytes, "request");
  const outbound = new BusCall(wapm, topic, request, sinkFor(cx, delivery, handle), {
    parent: parentCall,
    keepalive,
    caller: cx.module.name,
    origin: cx.current,
  });
  cx.handles.set(handle, { kind: "out", call: outbound, callbacks: entry.callbacks });
  const refused = cx.host.dispatch(outbound);
  if (refused) {
    cx.handles.release(handle);
    parentCall?.children.delete(outbound);
    throw refused;
  }
  return Code.Success;
}

/** Where the outcome of a guest's own call goes: queued for delivery through its exports. */
export function sinkFor(cx: InstanceContext, delivery: Delivery, handle: number): CallSink {
  const deliverData = (to: number, payload: Payload) =>
    delivery.push(() => {
      const ptr = cx.give(payload.data);
      cx.exports.wasm_bus_finish?.(to, payload.format, ptr, payload.data.length);
    });
  return {
    finish: (reply) => {
      const entry = cx.handles.get(handle);
      if (entry?.kind !== "out") return;
      if (!entry.call.keepalive) cx.handles.release(handle);
      deliverData(handle, reply);
    },
    fail: (err) => {
      if (cx.handles.get(handle)?.kind !== "out") return;
      cx.handles.release(handle);
      delivery.push(() => cx.exports.wasm_bus_error?.(handle, err.code));
    },
    callback: (topic, payload) => {
      const entry = cx.handles.get(handle);
      const cb = entry?.kind === "out" ? entry.callbacks?.get(topic) : undefined;
      if (cb === undefined) return Code.MissingCallbacks;
      // Backpressure: a server that pushes callbacks faster than this guest takes them is
      // refused, instead of growing this guest's queue without bound.
      if (delivery.pending >= MAX_QUEUED) return Code.LimitExceeded;
      deliverData(cb, payload);
      return Code.Success;
    },
  };
}
