/** Outbound calls: to the host's services (wapm "os") or to other modules. */
import * as bus from "./abi";
import { copyIn, utf8 } from "./bytes";
import { Adapter, Callback, Handler } from "./handler";
import { Entry, forget, track } from "./handles";
import { log } from "./log";
import { encodeAs, Payload } from "./payload";
import { Request } from "./request";
import { Value } from "./value";

/**
 * A call, built then sent:
 *
 *   new Call("os", "time.sleep").send(Format.Json, body, handler)
 *   new Call("chat", "room").keepAlive().callback("message", cb).sendValue(Format.Msgpack, v, handler)
 *
 * Exactly one of handler.onResult / onError runs, unless the call is dropped
 * first. A call the host refuses runs onError before `send` returns.
 *
 * From inside an event (a request, a result, a callback: anything the host
 * delivers through the SDK's exports) calls go through the ABI v2 import
 * `call_now`: where the service answers at once (os echo.echo, time.now,
 * log.write, a module that replies before it returns) the result comes back
 * inside the import (`immediate` is then true) and onResult runs when the
 * code handling the event has returned, before the guest returns to the
 * host: never before `send` returns, and a handler that sends again from
 * onResult loops instead of nesting. Otherwise the result arrives later
 * through wasm_bus_finish. Calls made outside any event (start-up code) use
 * v1's `call`, whose result always comes through wasm_bus_finish.
 */
export class Call extends Entry {
  keepalive: bool = false;
  parentHandle: u32 = bus.NO_HANDLE;
  /** The status `call` answered (Success once sent). */
  status: u32 = bus.Code.Success;
  /** Sent and waiting for its result. */
  pending: bool = false;
  /** The host holds the handle: reserved, in flight, or kept alive after the result. */
  live: bool = false;
  /** The result came back inside `call_now` (the service answered at once), not through wasm_bus_finish. */
  immediate: bool = false;
  private handler: Handler<Payload> | null = null;
  private callbacks: Array<CallbackEntry> = [];
  private ownerReq: Request | null = null;

  constructor(public wapm: string, public topic: string) {
    super();
  }

  private reserve(): u32 {
    if (!this.live) {
      this.handle = bus.handle();
      this.live = true;
    }
    return this.handle;
  }

  /** Keeps the call after its result, so calls that name it as `parent` reach its sub-API; end it with drop(). */
  keepAlive(): Call {
    this.keepalive = true;
    return this;
  }

  /** Addresses the sub-API of a kept-alive call (its parent), as the Rust SDK's `parent`. */
  parent(parent: Call): Call {
    this.parentHandle = parent.handle;
    return this;
  }

  /** @deprecated the aligned name is `parent`. */
  under(parent: Call): Call {
    return this.parent(parent);
  }

  /** @deprecated the aligned name is `callback`. */
  on(topic: string, cb: Callback): Call {
    return this.callback(topic, cb);
  }

  /** Registers the callback `topic`; call before send. */
  callback(topic: string, cb: Callback): Call {
    const parent = this.reserve();
    const entry = new CallbackEntry(bus.handle(), cb);
    const t = utf8(topic);
    const status = bus.callback(parent, entry.handle, changetype<usize>(t), <usize>t.byteLength);
    if (status != bus.Code.Success) {
      bus.drop(entry.handle);
      log.warn("callback " + topic + " of " + this.topic + " refused: " + bus.codeName(status));
      return this;
    }
    track(entry);
    this.callbacks.push(entry);
    return this;
  }

  /** Sends bytes already in `format`. */
  send(format: u32, data: Uint8Array, handler: Handler<Payload>): Call {
    // A handle reserved for callbacks goes with the call; otherwise the host issues one only
    // if the call stays live (in flight, or kept alive after its result).
    this.handler = handler;
    const wapm = utf8(this.wapm);
    const topic = utf8(this.topic);
    if (events == 0) return this.sendLater(format, data, wapm, topic, handler);
    const handle = this.live ? this.handle : bus.NO_HANDLE;
    const status = bus.call_now(
      this.parentHandle, handle, this.keepalive ? 1 : 0, format,
      changetype<usize>(wapm), <usize>wapm.byteLength,
      changetype<usize>(topic), <usize>topic.byteLength,
      data.dataStart, <usize>data.length,
      RESULT, RESULT_BYTES, OUT,
    );
    this.status = status;
    if (status != bus.Code.Success) {
      // Refused (no such module or topic, limits, ...) or failed at once: over either way.
      this.release();
      handler.onError(status);
      return this;
    }
    this.handle = load<u32>(OUT + bus.CallNowOut.handle);
    this.live = this.handle != bus.NO_HANDLE;
    if (load<u32>(OUT + bus.CallNowOut.ready) != 0) {
      // Answered inside the import: in RESULT, or in a buffer from wasm_bus_malloc.
      const ptr = <usize>load<u32>(OUT + bus.CallNowOut.ptr);
      const len = <usize>load<u32>(OUT + bus.CallNowOut.len);
      const bytes = copyIn(ptr, len);
      if (ptr != 0 && ptr != RESULT) heap.free(ptr);
      this.immediate = true;
      this.pending = true;
      // Kept alive: its end may still come (wasm_bus_error), and it goes with its request.
      if (this.live) this.follow(handler);
      readyCalls.push(this);
      readyPayloads.push(new Payload(load<u32>(OUT + bus.CallNowOut.format), bytes));
      return this;
    }
    this.pending = true;
    this.follow(handler);
    return this;
  }

  /** Tracks the live call, and links it to the request its handler works for, to be dropped with it. */
  private follow(handler: Handler<Payload>): void {
    track(this);
    const owner = handler.owner();
    if (owner != null && owner.adopt(this)) this.ownerReq = owner;
  }

  /** v1's `call`: the result comes through wasm_bus_finish, whatever the service. */
  private sendLater(format: u32, data: Uint8Array, wapm: ArrayBuffer, topic: ArrayBuffer, handler: Handler<Payload>): Call {
    const handle = this.reserve();
    const status = bus.call(
      this.parentHandle, handle, this.keepalive ? 1 : 0, format,
      changetype<usize>(wapm), <usize>wapm.byteLength,
      changetype<usize>(topic), <usize>topic.byteLength,
      data.dataStart, <usize>data.length,
    );
    this.status = status;
    if (status != bus.Code.Success) {
      // The host refused the call (no such module or topic, limits, ...).
      this.release();
      handler.onError(status);
      return this;
    }
    this.pending = true;
    this.follow(handler);
    return this;
  }

  /** Encodes a Value in `format` (json or msgpack) and decodes the result into one. */
  sendValue(format: u32, value: Value, handler: Handler<Value>): Call {
    return this.send(format, encodeAs(format, value), new ValueAdapter(handler));
  }

  /** Cancels the call (its service sees the drop), or ends a kept-alive one. No handler runs after. */
  drop(): u32 {
    // Over at the host already; a result that came at once and waits for delivery is dropped too.
    if (!this.live) {
      this.handler = null;
      return bus.Code.InvalidHandle;
    }
    const status = bus.drop(this.handle);
    this.release();
    return status;
  }

  cancel(): void {
    this.drop();
  }

  hostFinish(payload: Payload): void {
    this.pending = false;
    if (!this.keepalive) this.release();
    if (this.handler != null) this.handler!.onResult(payload);
  }

  hostError(code: u32): void {
    this.release();
    if (this.handler != null) this.handler!.onError(code);
  }

  /** The host forgot the handle and its callbacks: so do we. */
  private release(): void {
    this.pending = false;
    this.live = false;
    forget(this.handle);
    for (let i = 0; i < this.callbacks.length; i++) forget(this.callbacks[i].handle);
    this.callbacks = [];
    if (this.ownerReq != null) {
      this.ownerReq!.disown(this);
      this.ownerReq = null;
    }
  }
}

/** Where call_now puts a result that fits (bigger ones come in a wasm_bus_malloc buffer). */
const RESULT_BYTES: usize = 1024;
const RESULT: usize = memory.data(<i32>RESULT_BYTES, 16);
/** call_now's out record: ready, handle, format, ptr, len. */
const OUT: usize = memory.data(<i32>bus.CALL_NOW_OUT_BYTES, 4);

/** Results that came at once, delivered when the event that sent them has been handled. */
const readyCalls = new Array<Call>();
const readyPayloads = new Array<Payload>();
/** SDK exports on the stack: calls made inside one use call_now. */
let events: i32 = 0;

/** An export of the SDK starts handling an event. */
export function eventStart(): void {
  events++;
}

/**
 * The event has been handled: the results that came at once meanwhile run now, in the order
 * they came, and so do those of the calls their handlers make, before the guest returns.
 */
export function eventEnd(): void {
  if (events == 1) {
    for (let i = 0; i < readyCalls.length; i++) readyCalls[i].hostFinish(readyPayloads[i]);
    readyCalls.length = 0;
    readyPayloads.length = 0;
  }
  events--;
}

/** A registered callback: wasm_bus_finish on its handle is one invocation. */
class CallbackEntry extends Entry {
  constructor(handle: u32, public cb: Callback) {
    super();
    this.handle = handle;
  }

  hostFinish(payload: Payload): void {
    this.cb.onCallback(payload);
  }
}

/** Decodes a JSON or MessagePack result into a Value; a malformed one is DeserializationFailed. */
class ValueAdapter extends Adapter<Value> {
  onResult(payload: Payload): void {
    const v = payload.value();
    if (v == null) this.inner.onError(bus.Code.DeserializationFailed);
    else this.inner.onResult(v);
  }
}

/** Calls `topic` of `wapm` with bytes in `format`; the handler gets the reply's payload. */
export function call(wapm: string, topic: string, format: u32, data: Uint8Array, handler: Handler<Payload>): Call {
  return new Call(wapm, topic).send(format, data, handler);
}

/** Calls `topic` of `wapm` with a Value encoded in `format` (json or msgpack); the handler gets the reply decoded. */
export function callValue(wapm: string, topic: string, format: u32, value: Value, handler: Handler<Value>): Call {
  return new Call(wapm, topic).sendValue(format, value, handler);
}
