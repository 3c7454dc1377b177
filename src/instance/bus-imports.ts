import { CALL_NOW_OUT, CALL_NOW_OUT_BYTES, Code, type IMPORTS, LogLevel, NO_HANDLE, codeName, formatName } from "../abi.js";
import { BusCall, type CallSink } from "../call.js";
import type { Payload } from "../codec/index.js";
import { BusError } from "../errors.js";
import type { Entry } from "../handles.js";
import type { InstanceContext } from "./context.js";
import type { Delivery } from "./delivery.js";

/** Deliveries one guest may have waiting; past it, callbacks to it are refused with LimitExceeded. */
export const MAX_QUEUED = 4096;
/** The longest message `fault_message` keeps; the rest is cut. */
const MAX_MESSAGE_BYTES = 4096;
/** Guest messages are for people: a broken UTF-8 sequence shows as U+FFFD rather than losing the message. */
const lossy = new TextDecoder("utf-8");

type Imports = Record<keyof typeof IMPORTS, (...args: number[]) => number>;

/**
 * The `wasm-bus` imports of one instance, one function per row of the ABI table. Every import
 * goes through one guard: a BusError thrown inside becomes the status the guest gets, with its
 * reason kept for a `fault` that passes it on; anything else (a GuestExit) propagates and ends
 * the entry.
 */
export function busImports(cx: InstanceContext, delivery: Delivery): Imports {
  const guarded =
    <A extends number[]>(fn: (...args: A) => number) =>
    (...args: A): number => {
      try {
        return fn(...args);
      } catch (err) {
        if (!(err instanceof BusError)) throw err;
        cx.refused(err);
        return err.code;
      }
    };
  const limits = cx.module.manifest.limits;
  const jspi = cx.module.blocking ? cx.host.jspi : undefined;
  return {
    handle: () => {
      const handle = cx.handles.add({ kind: "reserved" });
      // 0 is "no handle": a call or callback on it is refused with InvalidHandle.
      if (!handle) cx.refuse("LimitExceeded", `handle: ${limits.maxHandles} handles are live already; handle() answers 0`);
      return handle;
    },
    call: (parent, handle, keepalive, format, wapmPtr, wapmLen, topicPtr, topicLen, reqPtr, reqLen) => {
      // A refused call consumes its handle (and its callbacks), whatever refused it.
      const code = guarded(() => call(cx, delivery, parent, handle, keepalive !== 0, format, wapmPtr, wapmLen, topicPtr, topicLen, reqPtr, reqLen))();
      if (code !== Code.Success && cx.handles.get(handle)?.kind === "reserved") cx.handles.release(handle);
      return code;
    },
    call_now: (parent, handle, keepalive, format, wapmPtr, wapmLen, topicPtr, topicLen, reqPtr, reqLen, resPtr, resLen, outPtr) => {
      // As `call`, without a closure per call: this is the import a guest's small calls take.
      let code: number;
      try {
        code = callNow(cx, delivery, parent, handle, keepalive !== 0, format, wapmPtr, wapmLen, topicPtr, topicLen, reqPtr, reqLen, resPtr, resLen, outPtr);
      } catch (err) {
        if (!(err instanceof BusError)) throw err;
        cx.refused(err);
        code = err.code;
      }
      if (code !== Code.Success && handle !== NO_HANDLE && cx.handles.get(handle)?.kind === "reserved") cx.handles.release(handle);
      return code;
    },
    callback: guarded((parent, handle, topicPtr, topicLen) => {
      const topic = cx.memory.readString(topicPtr, topicLen, "callback topic");
      const owner = cx.handles.get(parent);
      const entry = cx.handles.get(handle);
      if (!owner || (owner.kind !== "reserved" && owner.kind !== "out")) return Code.InvalidHandle;
      if (entry?.kind !== "reserved") return Code.InvalidHandle;
      (owner.callbacks ??= new Map()).set(topic, handle);
      cx.handles.set(handle, { kind: "callback", parent, topic });
      return Code.Success;
    }),
    listen: guarded((topicPtr, topicLen) => {
      const topic = cx.memory.readString(topicPtr, topicLen, "topic");
      if (!Object.hasOwn(cx.module.manifest.topics, topic)) return cx.refuse("InvalidTopic", `listen: topic ${topic} is not declared in module.json`);
      cx.listening.add(topic);
      return Code.Success;
    }),
    // Guarded by hand, without the rest arguments: a module's answer to a call_now is this hot.
    reply: (handle, format, ptr, len) => {
      try {
        const call = inbound(cx, handle);
        if (!call) return Code.InvalidHandle;
        // Lent: copied by the caller's sink, into a caller's memory at once where one waits in call_now.
        const payload = read(cx, format, ptr, len, limits.responseBytes, "reply", true);
        // Forget the handle first, so the call ending is not mistaken for a drop by the caller.
        if (!call.keepalive) cx.handles.remove(handle);
        return call.reply(payload, true);
      } catch (err) {
        if (!(err instanceof BusError)) throw err;
        cx.refused(err);
        return err.code;
      }
    },
    reply_callback: guarded((handle, format, topicPtr, topicLen, ptr, len) => {
      const call = inbound(cx, handle, true);
      if (!call) return Code.InvalidHandle;
      const topic = cx.memory.readString(topicPtr, topicLen, "callback topic");
      return call.callback(topic, read(cx, format, ptr, len, limits.responseBytes, "callback"));
    }),
    fault: guarded((handle, code) => fault(cx, handle, code)),
    fault_message: guarded((handle, code, ptr, len) => {
      const bytes = cx.memory.peek(ptr, Math.min(len >>> 0, MAX_MESSAGE_BYTES), "fault message");
      const message = lossy.decode(bytes) + (len >>> 0 > MAX_MESSAGE_BYTES ? "…" : "");
      // Handle 0 names no call: the guest is about to trap (a Rust panic) and says why first.
      if (handle === NO_HANDLE) {
        cx.lastWords = message;
        return Code.Success;
      }
      return fault(cx, handle, code, message);
    }),
    drop: guarded((handle) => drop(cx, handle)),
    poll: jspi
      ? (jspi.suspending(async () => {
          await delivery.poll();
          cx.refuel(); // other guests ran while this one waited
          return Code.Success;
        }) as never)
      : () => cx.refuse("Unsupported", "poll needs JSPI (WebAssembly.Suspending), which this runtime lacks; return to the host instead"),
    fork: () => {
      if (!cx.command) return cx.refuse("Unsupported", "fork needs a process (POST /processes); a plain call ends with its reply");
      cx.forked = true;
      return Code.Success;
    },
    thread_id: () => 0,
    log: guarded((level, ptr, len) => {
      cx.log(level, cx.memory.readString(ptr, len, "log message"));
      return Code.Success;
    }),
  };
}

// The ABI's arguments, flat: this is the hottest import, and arrays or spreads per call cost.
function call(
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
function callNow(
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
  let parentCall: BusCall | undefined;
  if (parent !== NO_HANDLE) {
    const p = cx.handles.get(parent);
    if (p?.kind !== "out") return cx.refuse("InvalidHandle", `call_now: parent ${parent} is not a live call`);
    parentCall = p.call;
  }
  if (formatName(format) === undefined) return cx.refuse("BadRequest", `call_now: unknown format ${format}`);
  const limits = cx.module.manifest.limits;
  if (cx.handles.outbound >= limits.maxCalls) return cx.refuse("LimitExceeded", `call_now: more than ${limits.maxCalls} calls in flight`);
  const wapm = cx.memory.readName(wapmPtr, wapmLen, "wapm");
  const topic = cx.memory.readName(topicPtr, topicLen, "topic");
  // Lent, not copied: a service that answers at once (echo) or an instance that takes the call at
  // once reads the bytes where they are; whatever keeps them copies them first (BusCall.own).
  const request = read(cx, format, reqPtr, reqLen, limits.requestBytes, "request", true);
  const sink = new NowSink(cx, delivery, handle, resPtr, resLen);
  const outbound = new BusCall(wapm, topic, request, sink, { parent: parentCall, keepalive, caller: cx.module.name, origin: cx.current });
  sink.call = outbound;
  if (reserved) cx.handles.set(handle, { kind: "out", call: outbound, callbacks: reserved.callbacks });
  // A module's idle instance may take the call now, inside this import, instead of after it.
  outbound.waiting = true;
  outbound.lent = true;
  const refused = cx.host.dispatch(outbound);
  outbound.waiting = false;
  if (outbound.lent) {
    // Nothing may read the view once the guest runs again.
    outbound.lent = false;
    outbound.request = EMPTY_PAYLOADS[request.format]!;
  }
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
        ptr = cx.give(reply.data); // wasm_bus_malloc: the one export the host calls inside call_now
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

/** Where the outcome of a guest's own call goes: queued for delivery through its exports. */
function sinkFor(cx: InstanceContext, delivery: Delivery, handle: number): CallSink {
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

/** The guest fails an inbound call: with its own words where it gave them, and the host's reason where it passes on a refusal. */
function fault(cx: InstanceContext, handle: number, code: number, detail?: string): number {
  const call = inbound(cx, handle, true);
  if (!call) return Code.InvalidHandle;
  cx.handles.remove(handle);
  code >>>= 0;
  const relayed = cx.refusalFor(call, code);
  const reason = detail ?? relayed?.message;
  const message = `module ${cx.module.name} faulted the call with ${codeName(code)} (${code})${reason ? `: ${reason}` : ""}`;
  return call.fault(new BusError(code, message, detail, relayed));
}

function drop(cx: InstanceContext, handle: number): number {
  const entry = cx.handles.get(handle);
  switch (entry?.kind) {
    case "out":
      cx.handles.release(handle);
      entry.call.drop(`dropped by module ${cx.module.name}`);
      return Code.Success;
    case "in":
      // The server ends a kept-alive sub-API (or gives up on an unanswered call).
      cx.handles.remove(handle);
      entry.call.fault(BusError.of("Aborted", `module ${cx.module.name} dropped the call`));
      return Code.Success;
    case "reserved":
    case "callback":
      cx.handles.release(handle);
      return Code.Success;
    default:
      return cx.refuse("InvalidHandle", `drop: handle ${handle} is not live (dropped twice?)`);
  }
}

function inbound(cx: InstanceContext, handle: number, evenAnswered = false): BusCall | undefined {
  const entry = cx.handles.get(handle);
  if (entry?.kind !== "in") {
    cx.log(LogLevel.Warn, `handle ${handle} is not a call this module is serving`);
    return undefined;
  }
  return entry.call.answered && !evenAnswered ? undefined : entry.call;
}

/** A payload leaving the guest: its format known, its size within `limit`, its bytes copied out. */
function read(cx: InstanceContext, format: number, ptr: number, len: number, limit: number, what: string, lend = false): Payload {
  cx.checkMemory();
  if (formatName(format) === undefined) throw BusError.of("BadRequest", `${what}: unknown format ${format}`);
  if (len >>> 0 > limit) throw BusError.of("LimitExceeded", `${what} of ${len >>> 0} bytes is over the limit of ${limit}`);
  return { format: format as Payload["format"], data: lend ? cx.memory.peek(ptr, len, what) : cx.memory.read(ptr, len, what) };
}

const EMPTY = new Uint8Array(0);
/** What a call's request becomes once the bytes it was lent are gone, one per format. */
const EMPTY_PAYLOADS: readonly Payload[] = [0, 1, 2, 3].map((format) => Object.freeze({ format: format as Payload["format"], data: EMPTY }));
