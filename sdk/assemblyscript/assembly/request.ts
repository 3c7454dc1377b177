/** An inbound call this module serves: what arrived, and how to answer it. */
import * as bus from "./abi";
import { ByteWriter, text, utf8 } from "./bytes";
import { Entry, forget, lookup, track } from "./handles";
import { log } from "./log";
import { decodeAs, formatFor, Payload, rawBytes, writeAs } from "./payload";
import { Value } from "./value";

/** A reply writer's first capacity: a typical small reply fits, with no growth. */
const OUT_CAPACITY: i32 = 256;
/** Past this, the writer is let go after the reply, so one large reply does not hold its memory for good. */
const OUT_KEEP: i32 = 64 << 10;

/**
 * Where reply and callback encode a Value, reused from one to the next: the host copies what the
 * `reply` and `reply_callback` imports hand it before they return (src/instance/read-payload.ts),
 * so the bytes need no buffer of their own, nor finish()'s copy of them. A global, so the
 * collector always reaches it.
 */
let out = new ByteWriter(OUT_CAPACITY);

/** The writer, emptied, for the next encoding. */
function outWriter(format: u32, v: Value): ByteWriter {
  out.len = 0;
  writeAs(out, format, v);
  return out;
}

/** After the host has copied the writer's bytes: a writer grown past OUT_KEEP is let go. */
function outDone(): void {
  if (out.buf.length > OUT_KEEP) out = new ByteWriter(OUT_CAPACITY);
}

/**
 * What hears that a request was dropped: its Server (./server.ts). Declared here so that a request
 * needs nothing of the module that serves it, and the imports go one way (server -> request).
 */
export abstract class DropListener {
  /** The caller dropped a request before it ended; its Step calls are already dropped. */
  onDrop(req: Request): void {}
}

export class Request extends Entry {
  /** Answered with reply or fault. */
  answered: bool = false;
  /** Over: faulted, dropped by either side, or replied to and not kept. */
  ended: bool = false;
  /** The caller dropped it (wasm_bus_drop). */
  dropped: bool = false;
  /** Kept after the reply, for a sub-API (see keepAlive). */
  kept: bool = false;
  /** Calls made for this request with a Step handler: dropped with it. Null until the first (most requests make none). */
  private calls: Array<Entry> | null = null;
  private decoded: Value | null = null;
  private didDecode: bool = false;

  constructor(
    handle: u32,
    /** The kept-alive request whose sub-API this call addresses, or NO_HANDLE. */
    public parent: u32,
    public topic: string,
    public format: u32,
    public data: Uint8Array,
    public server: DropListener,
  ) {
    super();
    this.handle = handle;
  }

  // ---- what arrived ---------------------------------------------------------------

  /** The request decoded (JSON, MessagePack; raw as Value.bytes); null when malformed. Decoded once. */
  value(): Value | null {
    if (!this.didDecode) {
      this.decoded = decodeAs(this.format, this.data);
      this.didDecode = true;
    }
    return this.decoded;
  }

  /** The request bytes as UTF-8 text. */
  text(): string {
    return text(this.data);
  }

  payload(): Payload {
    return new Payload(this.format, this.data);
  }

  /** The kept-alive request named by `parent`, if this module still holds it. */
  parentRequest(): Request | null {
    return findRequest(this.parent);
  }

  // ---- answering --------------------------------------------------------------------

  /** Replies with a Value, in the request's format (JSON for bincode requests). */
  reply(v: Value): u32 {
    const format = formatFor(this.format);
    const raw = rawBytes(format, v);
    if (raw !== null) return this.replyWith(format, raw);
    const w = outWriter(format, v);
    const status = this.replyBytes(format, w.buf.dataStart, w.len);
    outDone();
    return status;
  }

  /** Replies with bytes in `format`. A reply the host refuses (too large, ...) faults the call with that code. */
  replyWith(format: u32, data: Uint8Array): u32 {
    return this.replyBytes(format, data.dataStart, data.length);
  }

  private replyBytes(format: u32, ptr: usize, len: i32): u32 {
    if (this.answered || this.ended) return bus.Code.InvalidHandle;
    const status = bus.reply(this.handle, format, ptr, <usize>len);
    if (status != bus.Code.Success) {
      log.warn("reply to " + this.topic + " refused: " + bus.codeName(status));
      this.fault(status);
      return status;
    }
    this.answered = true;
    if (!this.kept) this.close();
    return status;
  }

  /**
   * Fails the call with an error code (Code.BadRequest, ...) and, where given, a message for
   * the caller (the HTTP error body's `detail`); also ends a kept-alive request.
   */
  fault(code: u32, message: string | null = null): u32 {
    if (this.ended) return bus.Code.InvalidHandle;
    let status: u32;
    if (message === null) {
      status = bus.fault(this.handle, code);
    } else {
      const text = String.UTF8.encode(message);
      status = bus.fault_message(this.handle, code, changetype<usize>(text), <usize>text.byteLength);
    }
    this.answered = true;
    this.close();
    return status;
  }

  /** Invokes the caller's callback `topic` with a Value, in the request's format. */
  callback(topic: string, v: Value): u32 {
    const format = formatFor(this.format);
    const raw = rawBytes(format, v);
    if (raw !== null) return this.callbackWith(topic, format, raw);
    const w = outWriter(format, v);
    const status = this.callbackBytes(topic, format, w.buf.dataStart, w.len);
    outDone();
    return status;
  }

  callbackWith(topic: string, format: u32, data: Uint8Array): u32 {
    return this.callbackBytes(topic, format, data.dataStart, data.length);
  }

  private callbackBytes(topic: string, format: u32, ptr: usize, len: i32): u32 {
    if (this.ended) return bus.Code.InvalidHandle;
    const t = utf8(topic);
    return bus.reply_callback(this.handle, format, changetype<usize>(t), <usize>t.byteLength, ptr, <usize>len);
  }

  /**
   * Keeps this request after its reply, for a caller that made a kept-alive
   * call: its later calls name this one as parent, and its drop arrives at
   * Server.onDrop. End it with end() or fault().
   *
   * Only where the caller did keep the call alive (the host says so: `kept`):
   * otherwise the reply ends the call, no drop would ever come for it, and
   * `kept` stays false, so the reply ends the request here too (`ended`)
   * instead of holding it, and what the server made for it, forever.
   */
  keepAlive(): Request {
    if (!this.ended) this.kept = bus.kept(this.handle) != 0;
    return this;
  }

  /** Ends the request from the serving side (unanswered: the caller sees Aborted), as the Rust SDK's `Responder::end`. */
  end(): u32 {
    if (this.ended) return bus.Code.InvalidHandle;
    const status = bus.drop(this.handle);
    this.close();
    return status;
  }

  /** @deprecated the aligned name is `end`. */
  drop(): u32 {
    return this.end();
  }

  // ---- bookkeeping --------------------------------------------------------------------

  /** Links an outbound call to this request; false when the request is already over. */
  adopt(call: Entry): bool {
    if (this.ended) return false;
    let calls = this.calls;
    if (calls === null) this.calls = calls = [];
    calls.push(call);
    return true;
  }

  disown(call: Entry): void {
    const calls = this.calls;
    if (calls === null) return;
    const i = calls.indexOf(call);
    if (i >= 0) calls.splice(i, 1);
  }

  hostDrop(): void {
    if (this.ended) return;
    this.dropped = true;
    this.close();
    // Cancel what was started for it; copy first, as each drop disowns.
    const made = this.calls;
    if (made !== null) {
      const calls = made.slice(0);
      for (let i = 0; i < calls.length; i++) calls[i].cancel();
    }
    this.server.onDrop(this);
  }

  private close(): void {
    this.ended = true;
    forget(this.handle);
  }
}

/** Registers an inbound request (wasm_bus_start). */
export function openRequest(req: Request): void {
  track(req);
}

/** The live request `handle` names, if this module holds it. */
export function findRequest(handle: u32): Request | null {
  if (handle == bus.NO_HANDLE) return null;
  const e = lookup(handle);
  return e instanceof Request ? changetype<Request>(e) : null;
}
