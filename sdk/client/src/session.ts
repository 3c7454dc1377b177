import { Acks } from "./acks.js";
import { type ReconnectOptions, STABLE_MS, backoffDelay } from "./backoff.js";
import { decodePayload, encodePayload, packFrame, unpackFrame } from "./codec.js";
import { Code, type FormatName } from "./codes.js";
import { BusError, errorBodyOf } from "./errors.js";
import { Emitter } from "./events.js";
import { InOrder, frameData } from "./in-order.js";
import { type Http, type SocketLike, segment } from "./http.js";
import { type CallHost, SessionCall, type SessionCallOptions } from "./session-call.js";
import type { CallbacksOf, ModuleDef, RequestOf, UntypedModule } from "./types.js";

export interface SessionOptions {
  /** Reconnect after the connection drops (default: yes, with back-off). `false`: the session closes instead. */
  reconnect?: boolean | ReconnectOptions;
  /** The payload format of calls that do not name one (default json). */
  format?: "json" | "msgpack";
}

export type SessionState = "connecting" | "open" | "reconnecting" | "closed";

export type SessionEvents = {
  /** The socket opened; `reconnected` after a drop. */
  open: [info: { reconnected: boolean }];
  /** The connection dropped and took these calls with it (the server dropped them too); a reconnect follows unless turned off. */
  lost: [calls: SessionCall<any, any>[], reason: BusError];
  /** A reconnect is due in `delayMs` (attempt counts from 1). */
  retry: [info: { attempt: number; delayMs: number }];
  /** The session is over: closed by the caller, or it could not (re)connect. */
  close: [reason: BusError | undefined];
  /** The server could not read a frame (an `error` frame); the socket stays open. */
  error: [message: string];
};

/** A server frame, as docs/abi.md ("The bus over a WebSocket") defines them. */
interface ServerFrame {
  type: "reply" | "fault" | "callback" | "error";
  id?: number;
  topic?: string;
  format?: FormatName | number;
  payload?: Uint8Array;
  code?: number;
  codeName?: string;
  error?: string;
  detail?: string;
}

/**
 * A close event's code and reason as the lost calls' error tells them (" (1009: a frame of ...
 * bytes is over the limit)"): the server says why it closed there, a frame it could not read say.
 * Nothing for an error or a close without a code.
 */
function closeOf(event: { code?: unknown; reason?: unknown } | undefined): string {
  if (typeof event?.code !== "number") return "";
  return typeof event.reason === "string" && event.reason ? ` (${event.code}: ${event.reason})` : ` (${event.code})`;
}

const FORMATS: FormatName[] = ["raw", "json", "msgpack", "bincode"];
const formatOf = (f: FormatName | number | undefined): FormatName => (typeof f === "number" ? (FORMATS[f] ?? "raw") : (f ?? "raw"));

/**
 * The bus over a WebSocket (GET /bus/:module/:session): calls whose callbacks are pushed to us,
 * kept-alive calls as objects, drops. Calls made before the socket opens wait for it. When the
 * connection drops, the calls it carried are lost (the server drops a closed socket's calls):
 * the session says which (`lost`), fails them, and reconnects with back-off; calls made while
 * it reconnects wait for the new socket.
 */
export class Session<D extends ModuleDef = UntypedModule> implements CallHost<D> {
  readonly module: string;
  /** The session's name; `default` is the one GET /bus/:module opens. */
  readonly name: string;
  #http: Http;
  /** The name given (none: the route without one, the session `default`). */
  readonly #name: string | undefined;
  #options: SessionOptions;
  #events = new Emitter<SessionEvents>();
  #socket?: SocketLike;
  #state: SessionState = "connecting";
  #everOpened = false;
  #attempt = 0;
  #retryTimer?: ReturnType<typeof setTimeout>;
  #nextId = 1;
  /** Sent calls still going, by id. */
  #calls = new Map<number, SessionCall<any, D>>();
  /** Calls waiting for the socket, with their frames. */
  #queue: { call: SessionCall<any, D>; frame: Record<string, unknown> }[] = [];
  #opened: Promise<void>;
  #openedSettle!: { resolve: () => void; reject: (err: BusError) => void };

  /** @internal Use `client.session(module, name)`. */
  constructor(http: Http, module: string, name: string | undefined, options: SessionOptions = {}) {
    this.#http = http;
    this.module = module;
    this.name = name ?? "default";
    this.#name = name;
    this.#options = options;
    this.#opened = new Promise((resolve, reject) => (this.#openedSettle = { resolve, reject }));
    this.#opened.catch(() => {});
    this.#connect();
  }

  get state(): SessionState {
    return this.#state;
  }

  /** Calls sent and not over yet (pending or kept alive). */
  get calls(): SessionCall<any, D>[] {
    return [...this.#calls.values()];
  }

  /** Resolves once the first socket is open; rejects with why it could not open (404 InvalidWapm, 400, 401...). */
  opened(): Promise<void> {
    return this.#opened;
  }

  on<K extends keyof SessionEvents>(event: K, handler: (...args: SessionEvents[K]) => void): () => void {
    return this.#events.on(event, handler);
  }

  /** Calls `topic` of the session's module; see SessionCall for the reply, callbacks and sub-calls. */
  call<K extends keyof D & string>(topic: K, request: RequestOf<D[K]>, options: SessionCallOptions<CallbacksOf<D[K]>> = {}): SessionCall<D[K], D> {
    const id = this.#nextId++;
    const call = new SessionCall<D[K], D>(this, id, topic, options);
    if (this.#state === "closed") {
      call.finish("failed", BusError.of("Aborted", `session ${this.module}/${this.name} is closed`, { module: this.module, topic }));
      return call;
    }
    const format = options.format ?? this.#options.format ?? "json";
    let payload: Uint8Array;
    try {
      payload = encodePayload(format, request);
    } catch (err) {
      call.finish("failed", BusError.of("SerializationFailed", `${topic}: ${(err as Error).message}`, { module: this.module, topic }));
      return call;
    }
    const frame: Record<string, unknown> = { type: "call", id, topic, format, payload };
    if (call.keepalive) frame.keepalive = true;
    if (options.wapm !== undefined) frame.wapm = options.wapm;
    if (this.#state === "open") this.#send(call, frame);
    else this.#queue.push({ call, frame });
    return call;
  }

  /** @internal SessionCall.drop() lands here. */
  dropCall(call: SessionCall<any, any>): void {
    const queued = this.#queue.findIndex((q) => q.call === call);
    if (queued >= 0) this.#queue.splice(queued, 1);
    else if (this.#calls.get(call.id) === call) {
      this.#calls.delete(call.id);
      this.#write({ type: "drop", id: call.id });
    }
    call.finish("dropped", BusError.of("Aborted", `call ${call.id} (${call.topic}) was dropped`, { module: this.module, topic: call.topic }));
  }

  /** Closes the socket (the server drops its calls) and ends the session; resolves once the server has closed too. */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    const socket = this.#socket;
    this.#shutdown(undefined, "closed by the caller");
    if (!socket || socket.readyState >= 2) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      socket.addEventListener("close", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.close(1000, "done");
    });
  }

  /** Made on each use, inside #connect's guard: a name that cannot be a path's segment fails `opened()`, as any refusal does. */
  #path(): string {
    const name = this.#name;
    return name === undefined ? `bus/${segment(this.module)}` : `bus/${segment(this.module)}/${segment(name)}`;
  }

  #connect() {
    let socket: SocketLike;
    try {
      socket = this.#http.socket(this.#path());
    } catch (err) {
      this.#shutdown(err instanceof BusError ? err : BusError.of("InternalFailure", (err as Error).message, { module: this.module }), "no WebSocket");
      return;
    }
    this.#socket = socket;
    socket.binaryType = "arraybuffer";
    let opened = false;
    let openedAt = 0;
    socket.addEventListener("open", () => {
      if (this.#socket !== socket) return;
      opened = true;
      openedAt = Date.now();
      const reconnected = this.#everOpened;
      this.#everOpened = true;
      this.#state = "open";
      this.#openedSettle.resolve();
      for (const { call, frame } of this.#queue.splice(0)) this.#send(call, frame);
      this.#events.emit("open", { reconnected });
    });
    // Frames and the close in the order they came, though a Blob's bytes come later (in-order.ts).
    const inOrder = new InOrder();
    // Each socket's own count: a reconnect's server counts from its first frame.
    const acks = new Acks((bytes) => {
      if (this.#socket === socket && socket.readyState === 1) socket.send(packFrame({ type: "ack", bytes }));
    });
    socket.addEventListener("message", (event: { data: unknown }) => {
      inOrder.add(frameData(event.data), (data) => {
        if (this.#socket !== socket) return;
        if (!(data instanceof Error)) acks.received(data);
        this.#message(data);
      });
    });
    const gone = (event?: { code?: unknown; reason?: unknown }) => {
      acks.stop();
      if (this.#socket !== socket) return;
      if (opened && Date.now() - openedAt >= STABLE_MS) this.#attempt = 0;
      void this.#dropped(opened, closeOf(event));
      try {
        socket.close();
      } catch {
        // closed already
      }
    };
    socket.addEventListener("close", (event) => inOrder.add(event, gone));
    // Browsers follow an error with close; Node's WebSocket (undici) refuses a handshake with
    // only an error, and stays CONNECTING. Whichever comes first ends the socket (an error has
    // no close code to tell).
    socket.addEventListener("error", () => inOrder.add(undefined, gone));
  }

  /** The socket closed under us: its calls are lost; reconnect, or give up. */
  async #dropped(wasOpen: boolean, close: string) {
    if (this.#state === "closed") return;
    this.#socket = undefined;
    if (!wasOpen) {
      // Not opened: ask over HTTP why (browsers hide the handshake's answer). The first socket
      // stops there; a reconnect stops where the route refuses for good (a 4xx: the token is
      // wrong now, the module is gone), as retrying could only be refused again, and tries
      // again after anything else (the network, a 5xx while the Worker restarts, 408 and 429,
      // which say "later").
      const why = await this.#http.whyNoSocket(this.#path(), { module: this.module });
      const refused = why.status !== undefined && why.status >= 400 && why.status < 500 && why.status !== 408 && why.status !== 429;
      if (!this.#everOpened || refused) {
        this.#shutdown(why, why.message);
        return;
      }
      if (this.state === "closed") return; // closed by the caller while we asked
    }
    if (wasOpen) {
      const lost = [...this.#calls.values()];
      this.#calls.clear();
      const reason = BusError.of("Aborted", `lost: the connection to session ${this.module}/${this.name} closed${close} before the call ended`, { module: this.module });
      for (const call of lost) call.finish("lost", reason);
      if (lost.length) this.#events.emit("lost", lost, reason);
    }
    const retry = this.#options.reconnect ?? true;
    const settings = typeof retry === "object" ? retry : {};
    if (retry === false || (settings.maxAttempts !== undefined && this.#attempt >= settings.maxAttempts)) {
      this.#shutdown(BusError.of("Aborted", `the connection to session ${this.module}/${this.name} closed${close}`, { module: this.module }), "connection closed");
      return;
    }
    this.#state = "reconnecting";
    const delayMs = backoffDelay(this.#attempt++, settings);
    this.#events.emit("retry", { attempt: this.#attempt, delayMs });
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#state === "reconnecting") this.#connect();
    }, delayMs);
  }

  #message(data: Uint8Array | string | Error) {
    let frame: ServerFrame;
    try {
      if (data instanceof Error) throw data;
      if (typeof data === "string") throw new Error(`a text frame: ${data.slice(0, 100)}`);
      frame = unpackFrame(data) as ServerFrame;
      if (typeof frame !== "object" || frame === null) throw new Error(`not a map: ${String(frame)}`);
    } catch (err) {
      this.#events.emit("error", `unreadable frame from the server: ${(err as Error).message}`);
      return;
    }
    if (frame.type === "error") {
      // The event's message is a string, whatever another server put there.
      this.#events.emit("error", typeof frame.error === "string" ? frame.error : "the server could not read a frame (its error frame said no more)");
      return;
    }
    // Frames of a call we dropped (or never made) are nobody's.
    const call = frame.id === undefined ? undefined : this.#calls.get(frame.id);
    if (!call) return;
    let value: unknown;
    try {
      // A callback without a topic names no handler; handed on it would be an event whose topic is no string.
      if (frame.type === "callback" && typeof frame.topic !== "string") throw new TypeError(`its topic is not a string but ${JSON.stringify(frame.topic) ?? "missing"}`);
      value = frame.type === "reply" || frame.type === "callback" ? this.#decode(frame) : undefined;
    } catch (err) {
      // A payload not valid in the format it names fails its call, as a reply the runtime cannot
      // transcode does (SerializationFailed), instead of a rejection nobody handles and a call
      // pending for good; a call the server still holds is dropped there too.
      this.#calls.delete(call.id);
      if (frame.type === "callback" || call.keepalive) this.#write({ type: "drop", id: call.id });
      const what = `a ${frame.type} of call ${call.id} (${call.topic}) in ${formatOf(frame.format)} that this client cannot read: ${(err as Error)?.message ?? String(err)}`;
      call.finish("failed", BusError.of("SerializationFailed", what, { module: this.module, topic: call.topic }));
      return;
    }
    switch (frame.type) {
      case "reply":
        if (!call.keepalive) this.#calls.delete(call.id);
        call.replied(value);
        return;
      case "callback":
        call.callback(frame.topic as string, value);
        return;
      case "fault":
        this.#calls.delete(call.id);
        call.finish("failed", this.#fault(frame, call));
    }
  }

  /**
   * A fault frame's error. Its fields come from the server as they are: one not of its type (an
   * error that is not a string, a code that is not a number, a proxy's or a newer runtime's
   * frame) would throw building the error and leave the call pending for good; where the error
   * or code cannot be read (or is empty, or Success), the call fails Unknown and says what the frame held.
   */
  #fault(frame: ServerFrame, call: SessionCall<any, D>): BusError {
    const scope = { module: this.module, topic: call.topic };
    const body = errorBodyOf({ ...frame, error: frame.error ?? "the call failed", code: frame.code ?? Code.Unknown });
    // An empty error says nothing, and a fault's code is never Success: such a frame is not read as one.
    if (body && body.error !== "" && body.code !== Code.Success) return new BusError({ ...body, ...scope });
    const seen = (value: unknown) => (value instanceof Uint8Array ? `${value.length} bytes` : JSON.stringify(value) ?? String(value));
    return new BusError({ error: `call ${call.id} (${call.topic}) failed with a fault frame that cannot be read: error ${seen(frame.error)}, code ${seen(frame.code)}`, code: Code.Unknown, ...scope });
  }

  #decode(frame: ServerFrame): unknown {
    // A payload that is not bytes (a str, a number) would be handed on as it is for raw, and as
    // null for msgpack: the value would not be what the server meant, so the call fails instead.
    if (frame.payload !== undefined && frame.payload !== null && !(frame.payload instanceof Uint8Array)) throw new TypeError(`its payload is not bytes but ${typeof frame.payload}`);
    return decodePayload(formatOf(frame.format), frame.payload ?? new Uint8Array());
  }

  #send(call: SessionCall<any, D>, frame: Record<string, unknown>) {
    if (call.parent) {
      // A parent that ended (lost with an earlier socket, dropped) names nothing on this one.
      if (!call.parent.active || this.#calls.get(call.parent.id) !== call.parent) {
        call.finish("failed", BusError.of("InvalidHandle", `parent call ${call.parent.id} (${call.parent.topic}) is not live`, { module: this.module, topic: call.topic }));
        return;
      }
      frame.parent = call.parent.id;
    }
    this.#calls.set(call.id, call);
    call.sent();
    this.#write(frame);
  }

  #write(frame: object) {
    try {
      this.#socket?.send(packFrame(frame));
    } catch {
      // The socket is going; its close event fails what it carried.
    }
  }

  /** Ends the session: nothing reconnects, every call still going fails. */
  #shutdown(reason: BusError | undefined, why: string) {
    if (this.#state === "closed") return;
    this.#state = "closed";
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    const error = reason ?? BusError.of("Aborted", `session ${this.module}/${this.name}: ${why}`, { module: this.module });
    this.#openedSettle.reject(error);
    for (const { call } of this.#queue.splice(0)) call.finish("failed", error);
    for (const call of this.#calls.values()) call.finish("dropped", error);
    this.#calls.clear();
    this.#socket = undefined;
    this.#events.emit("close", reason);
  }
}
