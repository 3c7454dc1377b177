import { Code, formatName } from "./abi.js";
import { type Payload, transcode } from "./codec/index.js";
import { transcodeRepeated } from "./codec/repeat-transcode.js";
import type { Schema } from "./codec/schema.js";
import { BusError } from "./errors.js";

/** Where a call's outcome goes: the HTTP edge, a guest's handle, a WebSocket peer. */
export interface CallSink {
  finish(reply: Payload): void;
  /**
   * `finish` is done with the reply's bytes when it returns (it copies what it keeps), so a
   * server may hand over a view of its memory (`BusCall.reply(payload, true)`) without a copy.
   */
  readonly borrows?: boolean;
  fail(err: BusError): void;
  /**
   * The service invoked one of the caller's callbacks; answers an ABI code, or throws a BusError
   * to refuse it with the reason (a full queue): see BusCall.callback.
   */
  callback(topic: string, payload: Payload): number;
}

/**
 * The most bytes the callbacks waiting for one caller may hold, wherever they wait: a guest's
 * delivery queue, an HTTP stream, RPC to another object. Each queue also counts its callbacks
 * (4,096), but a callback may be as large as its server's responseBytes (4 MiB by default): the
 * count alone let one server park 16 GB on its caller. Past it a callback is refused with
 * LimitExceeded, as past the count.
 */
export const MAX_QUEUED_BYTES = 16 << 20;

/** The instance a guest's call comes from, as the services that charge it see it. */
export interface CallerInstance {
  /** A log line of the instance, within its `limits.logBytes` (InstanceContext.log). */
  log(level: number, msg: string): void;
  /**
   * The id of the next sub-process a process spawns: its own id and the count of its spawns
   * (`<id>.<n>`, kept in its snapshot, so no id repeats after a restore). Undefined for an
   * instance that is not a process.
   */
  childId(): string | undefined;
  /**
   * Where the instance runs a process: `origin` is the process.spawn call that made it, none for
   * a root process (the process service finds a spawn's tree by it).
   */
  readonly command?: { readonly origin?: BusCall };
}

export interface CallOptions {
  /** The call whose sub-API this call addresses (relative objects). */
  parent?: BusCall;
  /** Stay alive after the reply, so later calls can name this one as parent. */
  keepalive?: boolean;
  /** Who is calling, for logs and for the module-to-module depth limit. */
  caller?: string;
  /** The call the caller was serving when it made this one: the chain that finds cycles. */
  origin?: BusCall;
  /**
   * The name its caller finds it by again when the instance serving it is restored from a
   * snapshot (a WebSocket client's call: its socket and id). Calls without one end with the
   * instance that served them.
   */
  key?: string;
  /** A kept-alive call restored from a snapshot after its reply: it takes no second one. */
  answered?: boolean;
  /** The instance making the call, where a guest makes it: what its budgets are charged to. */
  from?: CallerInstance;
  /**
   * The call the calling guest made this one for, where that is certain (InstanceContext.attributed):
   * a failure of this call may pass its reason on to that one. `origin` may be another's.
   */
  madeFor?: BusCall;
}

/**
 * How a call goes on in an instance restored from a snapshot: a call to the same service, made
 * anew, that finishes what this one would have (a sleep goes on as a sleep until its due time).
 * The service serving a call sets it; a call without one is lost with its instance.
 */
export interface Resume {
  topic: string;
  /** The request, as JSON: it is encoded in the format of the call it continues. */
  request: unknown;
}

type State = "pending" | "answered" | "ended";

const EMPTY = new Uint8Array(0);
/** What a call's request becomes once its bytes are forgotten (BusCall.forgetRequest), one per format. */
const EMPTY_PAYLOADS: readonly Payload[] = [0, 1, 2, 3].map((format) => Object.freeze({ format: format as Payload["format"], data: EMPTY }));

let nextId = 1;

/**
 * One call in flight between a caller and a service. The caller owns its
 * lifetime (it may drop it); the service answers it once with `reply` or
 * `fault`, and may push callbacks while it lives.
 */
export class BusCall {
  readonly id = nextId++;
  readonly parent?: BusCall;
  readonly keepalive: boolean;
  readonly caller: string;
  readonly origin?: BusCall;
  /** How many calls deep in a chain of module-to-module calls. */
  readonly depth: number;
  readonly key?: string;
  /** The calling instance, for a guest's call (CallOptions.from). */
  readonly from?: CallerInstance;
  readonly madeFor?: BusCall;
  /** Set by the service while the call can go on after its caller's instance is restored (Resume). */
  resume?: Resume;
  /** What the serving side keeps for this call (its guest instance, a socket, ...). */
  server?: unknown;
  /**
   * Set while the caller waits inside the `call_now` import for a reply that may come at once: an
   * idle instance of a module may then take the call right away, inside the import, instead of
   * after the caller returns.
   */
  waiting = false;
  /**
   * Set while the request's bytes are a view of the caller's memory, lent by `call_now` for as
   * long as the call is being dispatched: a service that keeps them past `serve` (or hands them
   * to anything that does) must `own()` them first. Services that do not say `borrows` get them
   * owned before `serve`.
   */
  lent = false;
  /**
   * Set where the request was transcoded: the reply and callbacks go back in the caller's format,
   * held there to `limit`, the serving module's limits.responseBytes. Its guest's bytes were held
   * to it as they left, but transcoding can grow them (a msgpack `bin` byte is up to four in
   * JSON), and the limit is on what the caller gets.
   */
  replyAs?: { format: Payload["format"]; schema?: Schema; callbacks?: Record<string, Schema>; limit?: number };
  #state: State = "pending";
  // Made on first use, as #abort below: most calls are answered and end with nobody listening.
  #children?: Set<BusCall>;
  #onAnswer?: (() => void)[];
  #onEnd?: (() => void)[];
  /** Made on first use: most calls (an echo, a greeting) are answered before anyone listens. */
  #abort?: AbortController;
  #endReason?: string;
  #sink: CallSink;

  constructor(
    readonly wapm: string,
    readonly topic: string,
    public request: Payload,
    sink: CallSink,
    options: CallOptions = {},
  ) {
    this.#sink = sink;
    this.parent = options.parent;
    this.keepalive = options.keepalive ?? false;
    this.caller = options.caller ?? "http";
    this.origin = options.origin;
    this.depth = options.origin ? options.origin.depth + 1 : 0;
    this.key = options.key;
    this.from = options.from;
    this.madeFor = options.madeFor;
    if (options.answered) this.#state = "answered";
    this.parent?.children.add(this);
  }

  /** The calls made under this one (its sub-API's): they end with it. */
  get children(): Set<BusCall> {
    return (this.#children ??= new Set());
  }

  /** Makes the request's bytes the call's own: a copy, where they were lent from the caller's memory. */
  own(): void {
    if (!this.lent) return;
    this.request = { format: this.request.format, data: this.request.data.slice() };
    this.lent = false;
  }

  /**
   * Forgets the request's bytes, keeping their format: the server has them (a guest, in its
   * memory), or they were lent and must not be read again. A call its server holds (a kept-alive
   * join) may live for days: kept, its bytes lived as long, and a session's client holds 256 such
   * calls of up to requestBytes each, more than its object's memory.
   */
  forgetRequest(): void {
    this.request = EMPTY_PAYLOADS[this.request.format]!;
    this.lent = false;
  }

  /** The modules this call passes through, outermost first, ending with its own target. */
  chain(): string[] {
    const chain: string[] = [];
    for (let c: BusCall | undefined = this; c; c = c.origin) chain.unshift(c.wapm);
    return chain;
  }

  /** Aborted when the caller drops the call or it ends any other way. */
  get signal(): AbortSignal {
    if (!this.#abort) {
      this.#abort = new AbortController();
      if (this.#endReason !== undefined) this.#abort.abort(this.#endReason);
    }
    return this.#abort.signal;
  }
  get answered(): boolean {
    return this.#state !== "pending";
  }
  get ended(): boolean {
    return this.#state === "ended";
  }

  /** Runs once when the call is answered or ends, whichever comes first. */
  onAnswer(fn: () => void) {
    if (this.#state === "pending") (this.#onAnswer ??= []).push(fn);
    else fn();
  }

  /** Runs once when the call ends: answered (and not kept alive), faulted or dropped. */
  onEnd(fn: () => void) {
    if (this.#state === "ended") fn();
    else (this.#onEnd ??= []).push(fn);
  }

  /**
   * Takes back a function given to `onEnd`: a server that hands the call over to another (a
   * broken session instance to the one restored in its place) must not stay reachable from it.
   */
  offEnd(fn: () => void) {
    const fns = this.#onEnd;
    const at = fns ? fns.indexOf(fn) : -1;
    if (at >= 0) fns!.splice(at, 1);
  }

  /**
   * Answers the call. `lent`: the bytes are a view of guest memory, valid only while this runs;
   * they are copied unless the caller's sink `borrows` them.
   */
  reply(payload: Payload, lent = false): number {
    if (this.#state !== "pending") return Code.InvalidHandle;
    if (this.replyAs && payload.format !== this.replyAs.format) {
      const transcoded = this.#transcoded(payload);
      if (typeof transcoded === "number") return transcoded;
      payload = transcoded;
    } else if (lent && !this.#sink.borrows) {
      payload = { format: payload.format, data: payload.data.slice() };
    }
    this.#answer("answered");
    this.#sink.finish(payload);
    if (!this.keepalive) this.#end("answered");
    return Code.Success;
  }

  /**
   * The reply in the caller's format (replyAs); where it cannot be, the call faulted and the status
   * for the replier. Out of line, as GuestMemory's refusals are (see `outside` in ./memory.ts):
   * most replies need none.
   */
  #transcoded(payload: Payload): Payload | number {
    try {
      return this.#inCallersFormat(payload, this.replyAs!.schema, `the reply of module ${this.wapm} to ${this.topic}`);
    } catch (err) {
      const refusal = BusError.from(err);
      // The caller did nothing wrong: the module's reply is bad, so the caller gets a 5xx saying so
      // (the decoder's own DeserializationFailed, a 400, would blame the caller's request). The
      // module learns which (its reply malformed, or too large once transcoded).
      this.fault(refusal.code === Code.SerializationFailed ? refusal : BusError.of("SerializationFailed", refusal.message));
      return refusal.code;
    }
  }

  /**
   * A payload of the serving side (its reply, a callback) in the caller's format, within
   * `replyAs.limit`. Throws why not: SerializationFailed (not valid in its own format, or not of
   * the topic's declared type) or LimitExceeded, each naming `what`.
   */
  #inCallersFormat(payload: Payload, schema: Schema | undefined, what: string, convert = transcode): Payload {
    const { format, limit } = this.replyAs!;
    let out: Payload;
    try {
      out = convert(payload, format, schema, limit);
    } catch (err) {
      throw BusError.of("SerializationFailed", `${what} cannot be transcoded into ${formatName(format)} for its caller: ${BusError.from(err).message}`);
    }
    if (limit !== undefined && out.data.length > limit) {
      throw BusError.of("LimitExceeded", `${what} is ${out.data.length} bytes once transcoded into ${formatName(format)} for its caller, over the limit of ${limit} (limits.responseBytes)`);
    }
    return out;
  }

  /** The service fails the call; a kept-alive call that was answered already learns it has ended. */
  fault(err: BusError): number {
    if (this.#state === "ended") return Code.InvalidHandle;
    this.#end(err.message);
    this.#sink.fail(err);
    return Code.Success;
  }

  /**
   * Invokes the caller's callback `topic`; answers the sink's code. A refusal with a reason is
   * thrown as a BusError: the payload cannot reach the caller in its format (SerializationFailed,
   * LimitExceeded), or the sink refuses it (a full queue). A guest's `reply_callback` keeps the
   * reason for a fault that passes it on; callers that take only a code use `codeOf` (../errors.ts).
   */
  callback(topic: string, payload: Payload): number {
    if (this.#state === "ended") return Code.InvalidHandle;
    if (this.replyAs && payload.format !== this.replyAs.format) {
      const callbacks = this.replyAs.callbacks;
      const schema = callbacks && Object.hasOwn(callbacks, topic) ? callbacks[topic] : undefined;
      // The same callback often goes to many callers (a post to each member of a room): transcoded once.
      payload = this.#inCallersFormat(payload, schema, `callback ${topic} of module ${this.wapm}'s ${this.topic}`, transcodeRepeated);
    }
    return this.#sink.callback(topic, payload);
  }

  /** The caller cancels: the service sees `signal` abort, and every call under this one ends too. */
  drop(reason = "dropped by the caller"): void {
    if (this.#state === "ended") return;
    const wasPending = this.#state === "pending";
    this.#end(reason);
    if (wasPending) this.#sink.fail(BusError.of("Aborted", reason));
  }

  #answer(state: State) {
    this.#state = state;
    const fns = this.#onAnswer;
    if (!fns) return;
    this.#onAnswer = undefined;
    for (const fn of fns) fn();
  }

  /** Out of line, as the transcoding above: most calls have no children, and #end is on every call's path. */
  #endChildren(reason: string) {
    for (const child of [...this.#children!]) child.#endWithParent(`parent call ended: ${reason}`);
  }

  /**
   * Its parent ended: its caller hears it as a failure (Aborted), answered and kept alive or not,
   * as nothing else tells it of this end (a drop fails only a pending call): a guest through
   * wasm_bus_error, a WebSocket client in a fault frame.
   */
  #endWithParent(reason: string) {
    if (this.#state === "ended") return;
    this.#end(reason);
    this.#sink.fail(BusError.of("Aborted", reason));
  }

  #end(reason: string) {
    this.#answer("ended");
    if (this.parent) this.parent.#children?.delete(this);
    if (this.#children?.size) this.#endChildren(reason);
    this.#endReason = reason;
    this.#abort?.abort(reason);
    const fns = this.#onEnd;
    if (!fns) return;
    this.#onEnd = undefined;
    for (const fn of fns) fn();
  }
}
