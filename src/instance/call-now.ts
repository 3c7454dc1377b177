import { CALL_NOW_OUT, CALL_NOW_OUT_BYTES, Code, NO_HANDLE } from "../abi.js";
import { BusCall, type CallSink } from "../call.js";
import type { Payload } from "../codec/index.js";
import type { BusError } from "../errors.js";
import type { Entry } from "../handles.js";
import { badMalloc, type InstanceContext } from "./context.js";
import type { Delivery } from "./delivery.js";
import { checkOutbound, dispatch, sinkFor } from "./outbound.js";
import { read } from "./read-payload.js";

// The `call_now` import on its own: it differs from `call` in everything after the dispatch (a
// result inside the import, an out record), and those parts only make sense read together.

/**
 * Where the outcome of a `call_now` goes. While the service runs inside the import it is kept
 * here, to be handed back before the import returns; it goes through the delivery queue instead,
 * as a `call`'s does, once the import has returned, and also when anything is waiting in the
 * queue already (a callback of this call or of another, an earlier result): a result never
 * overtakes what reached the guest before it.
 */
class NowSink implements CallSink {
  /** The result, where it did not fit the caller's buffer (bytes of its own). */
  reply?: Payload;
  /** The result was written into the caller's buffer at once: its length (-1: not), and its format. */
  written = -1;
  writtenFormat = 0;
  error?: BusError;
  /** The queue's sink, from when the result can no longer come back inside the import. */
  queued?: CallSink;
  /** The call, once made. */
  call?: BusCall;
  /** The call's handle: the one the guest passed, or one issued when the call had to have one. */
  live: number;

  constructor(
    readonly cx: InstanceContext,
    readonly delivery: Delivery,
    handle: number,
    /** The caller's result buffer. */
    readonly resPtr: number,
    readonly resLen: number,
  ) {
    this.live = handle;
  }

  /** While the caller waits in the import (with nothing queued ahead), a reply goes straight into its memory. */
  get borrows(): boolean {
    return !this.queued && this.delivery.pending === 0;
  }

  /** From now on through the queue, on a handle of its own. */
  #toQueue(): CallSink | undefined {
    if (!this.live) this.live = this.cx.handles.add({ kind: "out", call: this.call! });
    // Past maxHandles the result comes at once after all: out of order rather than lost.
    if (this.live) this.queued = sinkFor(this.cx, this.delivery, this.live);
    return this.queued;
  }

  finish(reply: Payload) {
    const queued = this.queued ?? (this.delivery.pending ? this.#toQueue() : undefined);
    if (queued) return queued.finish(reply);
    const data = reply.data;
    if (data.length && data.length <= this.resLen) {
      // From the server's memory, or (an echo) from the caller's own: set() copies as memmove.
      this.cx.memory.write(this.resPtr, data, "call_now result");
      this.written = data.length;
      this.writtenFormat = reply.format;
    } else {
      // Handed over through wasm_bus_malloc once the service returns: a copy, as the server
      // runs on meanwhile (and malloc may grow the caller's memory).
      this.reply = { format: reply.format, data: data.slice() };
    }
  }

  fail(err: BusError) {
    const queued = this.queued ?? (this.delivery.pending ? this.#toQueue() : undefined);
    if (queued) queued.fail(err);
    else this.error = err;
  }

  callback(topic: string, payload: Payload): number {
    if (!this.queued) {
      const entry = this.live ? this.cx.handles.get(this.live) : undefined;
      if (entry?.kind !== "out" || !entry.callbacks?.has(topic)) return Code.MissingCallbacks;
      // A callback before the result: both go through the queue, in the order they came.
      this.#toQueue();
    }
    return this.queued!.callback(topic, payload);
  }
}

/**
 * `call_now`: `call`, and the result during the import when the service answers at once (the
 * built-in echo, time.now, log.write, a module whose reply comes before it returns). The out
 * record says which: `ready` 1 with the result's format, pointer and length, or 0 with the
 * handle the result will come to through `wasm_bus_finish` / `wasm_bus_error`.
 */
export function callNow(
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
  resPtr: number,
  resLen: number,
  outPtr: number,
): number {
  // Both buffers are checked before anything happens, so a bad pointer starts no call.
  cx.memory.words(outPtr, CALL_NOW_OUT_BYTES, "call_now out");
  resLen >>>= 0;
  if (resLen) cx.memory.check(resPtr, resLen, "call_now result");
  let reserved: Extract<Entry, { kind: "reserved" }> | undefined;
  if (handle !== NO_HANDLE) {
    const entry = cx.handles.get(handle);
    if (entry?.kind !== "reserved") return cx.refuse("InvalidHandle", `call_now: handle ${handle} was not issued by handle() or is already in use`);
    reserved = entry;
  }
  const parentCall = checkOutbound(cx, "call_now", parent, format);
  const limits = cx.module.manifest.limits;
  const wapm = cx.memory.readName(wapmPtr, wapmLen, "wapm");
  const topic = cx.memory.readName(topicPtr, topicLen, "topic");
  // Lent, not copied: a service that answers at once (echo) or an instance that takes the call at
  // once reads the bytes where they are; whatever keeps them copies them first (BusCall.own).
  const request = read(cx, format, reqPtr, reqLen, limits.requestBytes, "request", "view");
  const sink = new NowSink(cx, delivery, handle, resPtr, resLen);
  const outbound = new BusCall(wapm, topic, request, sink, cx.outboundOptions(parentCall, keepalive));
  sink.call = outbound;
  if (reserved) cx.handles.set(handle, { kind: "out", call: outbound, callbacks: reserved.callbacks });
  // A module's idle instance may take the call now, inside this import, instead of after it.
  outbound.waiting = true;
  outbound.lent = true;
  const refused = dispatch(cx, outbound);
  outbound.waiting = false;
  // Nothing may read the view once the guest runs again.
  if (outbound.lent) outbound.forgetRequest();
  if (refused) {
    if (reserved) cx.handles.release(handle);
    parentCall?.children.delete(outbound);
    throw refused;
  }
  if (!sink.queued && (sink.written >= 0 || sink.reply)) {
    let ptr = resPtr;
    let len = sink.written;
    let replyFormat = sink.writtenFormat;
    if (len < 0) {
      // Not in the caller's buffer: in one from wasm_bus_malloc, or nowhere (empty).
      const reply = sink.reply!;
      replyFormat = reply.format;
      len = reply.data.length;
      try {
        const given = cx.give(reply.data); // wasm_bus_malloc: the one export the host calls inside call_now
        if (given === null) throw badMalloc(len, 0);
        ptr = given;
      } catch (err) {
        if (reserved) cx.handles.release(handle);
        outbound.drop("the result could not be handed to the caller");
        throw err;
      }
    }
    let live = NO_HANDLE;
    if (keepalive) {
      live = sink.live || cx.handles.add({ kind: "out", call: outbound });
      if (!live) {
        outbound.drop("no handle for a kept-alive call");
        return cx.refuse("LimitExceeded", `call_now: ${limits.maxHandles} handles are live already; the kept-alive call was dropped`);
      }
      sink.queued = sinkFor(cx, delivery, live);
      // Answered and ended at once by the server: the end comes after the result, as for `call`.
      if (sink.error) sink.queued.fail(sink.error);
    } else if (reserved) {
      cx.handles.release(handle); // the call is over: its handle and callbacks with it
    }
    writeOut(cx, outPtr, 1, live, replyFormat, ptr, len);
    return Code.Success;
  }
  if (!sink.queued && sink.error) {
    // Failed at once: over, like a refusal, but the service's failure and not the host's.
    if (reserved) cx.handles.release(handle);
    cx.heard(sink.error, outbound.madeFor);
    return sink.error.code || Code.InternalFailure;
  }
  // In flight (or something came through the queue first): from now on as a `call`.
  const live = sink.live || cx.handles.add({ kind: "out", call: outbound });
  if (!live) {
    outbound.drop("no handle for a call in flight");
    return cx.refuse("LimitExceeded", `call_now: ${limits.maxHandles} handles are live already; the call was dropped`);
  }
  if (!sink.queued) sink.queued = sinkFor(cx, delivery, live);
  writeOut(cx, outPtr, 0, live, 0, 0, 0);
  return Code.Success;
}

function writeOut(cx: InstanceContext, outPtr: number, ready: number, handle: number, format: number, ptr: number, len: number) {
  // Looked up again: wasm_bus_malloc may have grown the memory since the check.
  const out = cx.memory.words(outPtr, CALL_NOW_OUT_BYTES, "call_now out");
  const at = outPtr >>> 0;
  out.setUint32(at + CALL_NOW_OUT.ready, ready, true);
  out.setUint32(at + CALL_NOW_OUT.handle, handle, true);
  out.setUint32(at + CALL_NOW_OUT.format, format, true);
  out.setUint32(at + CALL_NOW_OUT.ptr, ptr, true);
  out.setUint32(at + CALL_NOW_OUT.len, len, true);
}

