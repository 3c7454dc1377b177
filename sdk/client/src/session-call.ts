import { Channel } from "./channel.js";
import type { CallFormat } from "./codec.js";
import { BusError } from "./errors.js";
import type { CallbacksOf, ModuleDef, RequestOf, ResponseOf, TopicDef, UntypedModule } from "./types.js";

/**
 * Callbacks a `callbacks()` iterator holds unread at most (as many as an attachment keeps,
 * KEPT_UNREAD in attach.ts). The server sends callbacks as fast as the module makes them, so an
 * iterator opened and never read would otherwise keep every one until its call ends. A loop that
 * reads as they come is never near it; past it the iterator ends with LimitExceeded rather than
 * let callbacks go unsaid.
 */
export const MAX_UNREAD_CALLBACKS = 1024;

/**
 * Where a call is:
 * - `queued`: not sent yet (the socket is opening or reconnecting);
 * - `pending`: sent, no answer yet;
 * - `live`: answered and kept alive (keepalive): callbacks still come, sub-calls may name it;
 * - `done`: answered and over; `failed`: faulted; `dropped`: the caller dropped it;
 * - `lost`: the connection closed under it (the server dropped it too).
 */
export type CallState = "queued" | "pending" | "live" | "done" | "failed" | "dropped" | "lost";

export interface SessionCallOptions<Callbacks = Record<string, unknown>> {
  /** Keep the call after its reply: its callbacks keep coming and sub-calls can name it as parent. */
  keepalive?: boolean;
  /** A kept-alive call of the same session that this call belongs to (a relative object). */
  parent?: SessionCall<any, any>;
  /** The payload format on the wire (default: the session's, json). */
  format?: Exclude<CallFormat, "raw"> | "raw";
  /** Another module to call through this session's instance (default: the session's module). */
  wapm?: string;
  /** Handlers per callback topic, as they arrive. */
  on?: { [K in keyof Callbacks]?: (value: Callbacks[K]) => void };
}

/** What a call needs from its session, so the two files do not import each other. */
export interface CallHost<D extends ModuleDef> {
  call<K extends keyof D & string>(topic: K, request: RequestOf<D[K]>, options?: SessionCallOptions<CallbacksOf<D[K]>>): SessionCall<D[K], D>;
  dropCall(call: SessionCall<any, any>): void;
}

/** A callback as it arrived: its topic and decoded value. */
export interface CallbackEvent<Callbacks = Record<string, unknown>> {
  topic: keyof Callbacks & string;
  value: Callbacks[keyof Callbacks];
}

/**
 * One call over a bus session. `reply` settles with the answer (or rejects with a BusError);
 * callbacks arrive to `on` handlers and to `callbacks()` iterators; a kept-alive call is an
 * object whose sub-calls (`call`) name it as parent, until `drop`.
 */
export class SessionCall<T extends TopicDef<any, any, any> = TopicDef, D extends ModuleDef = UntypedModule> {
  readonly id: number;
  readonly topic: string;
  readonly keepalive: boolean;
  readonly parent?: SessionCall<any, any>;
  /** The reply, decoded. Rejects with a BusError on a fault, a drop before the reply, or a lost connection. */
  readonly reply: Promise<ResponseOf<T>>;
  /** Settles when the call is over, however it ended; never rejects. */
  readonly ended: Promise<CallState>;
  #state: CallState = "queued";
  #error?: BusError;
  #resolve!: (value: ResponseOf<T>) => void;
  #reject!: (err: BusError) => void;
  #end!: (state: CallState) => void;
  #handlers = new Map<string, Set<(value: unknown) => void>>();
  #channels = new Set<{ topic?: string; channel: Channel<any> }>();
  #host: CallHost<D>;

  constructor(host: CallHost<D>, id: number, topic: string, options: SessionCallOptions<any>) {
    this.#host = host;
    this.id = id;
    this.topic = topic;
    this.keepalive = options.keepalive === true;
    if (options.parent) this.parent = options.parent;
    this.reply = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // A caller who only watches callbacks never awaits the reply: its rejection is not unhandled.
    this.reply.catch(() => {});
    this.ended = new Promise((resolve) => (this.#end = resolve));
    for (const [name, handler] of Object.entries(options.on ?? {})) if (handler) this.on(name, handler as (value: unknown) => void);
  }

  get state(): CallState {
    return this.#state;
  }

  /** Why the call failed or was lost. */
  get error(): BusError | undefined {
    return this.#error;
  }

  /** Whether callbacks may still come. */
  get active(): boolean {
    return this.#state === "queued" || this.#state === "pending" || this.#state === "live";
  }

  /** Calls `handler` with every callback `topic` of this call; returns the unsubscribe. */
  on<K extends keyof CallbacksOf<T> & string>(topic: K, handler: (value: CallbacksOf<T>[K]) => void): () => void;
  on(topic: string, handler: (value: any) => void): () => void;
  on(topic: string, handler: (value: any) => void): () => void {
    const set = this.#handlers.get(topic) ?? new Set();
    set.add(handler);
    this.#handlers.set(topic, set);
    return () => set.delete(handler);
  }

  /**
   * Callbacks as an async iterator, from now until the call ends (a fault or a lost connection
   * throws out of the loop). With a topic: that callback's values; without: every callback. One
   * that falls MAX_UNREAD_CALLBACKS behind ends there: the loop gets those, then throws
   * LimitExceeded; the call, its handlers and other iterators go on.
   */
  callbacks<K extends keyof CallbacksOf<T> & string>(topic: K): AsyncIterableIterator<CallbacksOf<T>[K]>;
  callbacks(): AsyncIterableIterator<CallbackEvent<CallbacksOf<T>>>;
  callbacks(topic?: string): AsyncIterableIterator<unknown> {
    // An iterator left (break, return) lets go of itself then, not when the call ends: a long call
    // whose caller opens and leaves iterators would keep every one.
    // One that falls behind past its bound lets go of itself then too.
    const overflow = (limit: number) => this.#behind(limit, topic);
    const channel: Channel<unknown> = new Channel<unknown>({ limit: MAX_UNREAD_CALLBACKS, overflow }, () => this.#channels.delete(entry));
    const entry = topic === undefined ? { channel } : { topic, channel };
    if (!this.active) this.#close(channel);
    else this.#channels.add(entry);
    return channel;
  }

  /** A call under this one (its parent): `join.call("post", {text})`. */
  call<K extends keyof D & string>(topic: K, request: RequestOf<D[K]>, options: Omit<SessionCallOptions<CallbacksOf<D[K]>>, "parent"> = {}): SessionCall<D[K], D> {
    return this.#host.call(topic, request, { ...options, parent: this } as SessionCallOptions<CallbacksOf<D[K]>>);
  }

  /** Cancels the call; a kept-alive call ends (the module sees the drop). */
  drop(): void {
    if (this.active) this.#host.dropCall(this);
  }

  // The session drives these.

  /** @internal */
  sent(): void {
    if (this.#state === "queued") this.#state = "pending";
  }

  /** @internal */
  replied(value: unknown): void {
    if (this.#state !== "pending") return;
    this.#resolve(value as ResponseOf<T>);
    if (this.keepalive) this.#state = "live";
    else this.#over("done");
  }

  /** @internal */
  callback(topic: string, value: unknown): void {
    for (const handler of [...(this.#handlers.get(topic) ?? [])]) {
      try {
        handler(value);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
    for (const { topic: wanted, channel } of this.#channels) {
      if (wanted === undefined) channel.push({ topic, value });
      else if (wanted === topic) channel.push(value);
    }
  }

  /** @internal Ends the call: `failed` (a fault), `lost` (the connection), `dropped` (the caller). */
  finish(state: "failed" | "lost" | "dropped", error: BusError): void {
    if (!this.active) return;
    this.#error = error;
    this.#reject(error);
    this.#over(state);
  }

  #over(state: CallState) {
    this.#state = state;
    for (const entry of this.#channels) this.#close(entry.channel);
    this.#channels.clear();
    this.#end(state);
  }

  #behind(limit: number, topic: string | undefined): BusError {
    const which = topic === undefined ? "callbacks()" : `callbacks(${JSON.stringify(topic)})`;
    return BusError.of(
      "LimitExceeded",
      `the ${which} iterator of call ${this.id} (${this.topic}) fell ${limit} callbacks behind, so it ended there: it gives the ${limit} it held, then this; ` +
        "the call goes on without it. Read an iterator as the callbacks come (leave it by break or return() when done), or take them with `on` handlers, which keep none",
      { topic: this.topic },
    );
  }

  #close(channel: Channel<unknown>) {
    if (this.#error && this.#state !== "dropped") channel.fail(this.#error);
    else channel.end();
  }
}
