import type { Payload } from "./codec/index.js";
import type { Outcome } from "./errors.js";
import type { KeptLine } from "./log.js";
import type { ProcessInfo, SpawnRequest } from "./process.js";
import type { KvEntry, KvLimits, KvPage, KvSwap } from "./services/kv/types.js";

/**
 * The Durable Objects as the Worker sees them through RPC. The classes (durable-objects/)
 * implement these, so the Worker's bindings need not import the classes that import them.
 */
export interface ProcessObject extends Rpc.DurableObjectBranded {
  spawn(id: string, request: SpawnRequest): Promise<Outcome<ProcessInfo>>;
  status(): Promise<ProcessInfo | null>;
  /**
   * A call to a topic the running process serves (POST /processes/:id/call/:topic), with its
   * callbacks through `events` (src/remote.ts: the RPC call lasts as long as the bus call).
   */
  call(topic: string, request: Payload, options?: RemoteCallOptions, events?: CallEvents): Promise<Outcome<Payload | null>>;
  /** Drops a call made with `options.id`. */
  drop(id: string, reason?: string): Promise<void>;
  /** Kills the process; answers its state after the kill. */
  kill(): Promise<ProcessInfo | null>;
  /** Its kept lines, oldest first: the newest `limit`, or the oldest `limit` after line `after`. */
  logs(limit?: number, after?: number): Promise<KeptLine[]>;
  /** GET /processes/:id/attach, a WebSocket upgrade. */
  fetch(request: Request): Promise<Response>;
}

/**
 * A bus session (GET /bus/:module/:session): its WebSocket upgrades, and calls from other
 * objects and isolates to its instance (wapm `<module>@<session>`, src/remote.ts).
 */
export interface SessionObject extends Rpc.DurableObjectBranded {
  fetch(request: Request): Promise<Response>;
  call(topic: string, request: Payload, options?: RemoteCallOptions, events?: CallEvents): Promise<Outcome<Payload | null>>;
  drop(id: string, reason?: string): Promise<void>;
}

/**
 * A module's key-value store for plain calls (kv.*): one BusStore object per module
 * (`idFromName(module)`), reached through these methods by every isolate (src/store.ts).
 */
export interface StoreObject extends Rpc.DurableObjectBranded {
  read(module: string, key: string): Promise<Outcome<KvEntry>>;
  put(module: string, key: string, value: Uint8Array, limits: KvLimits): Promise<Outcome<number>>;
  delete(module: string, key: string): Promise<Outcome<boolean>>;
  list(module: string, prefix: string, limit: number, after: string | null): Promise<Outcome<KvPage>>;
  cas(module: string, key: string, version: number, value: Uint8Array | null, limits: KvLimits): Promise<Outcome<KvSwap>>;
}

/** What a caller hands an object that runs its call (src/remote.ts): the callbacks come back through it. */
export interface CallEvents {
  /** One callback of the call; answers what the caller's side made of it (an ABI code). */
  callback(topic: string, payload: Payload): number | Promise<number>;
  /** A kept-alive call's reply: its RPC call goes on until the call ends. */
  reply?(payload: Payload): void | Promise<void>;
}

export interface RemoteCallOptions {
  /** The caller's name for the call: for `drop`, and as the `parent` of calls to its sub-API. */
  id?: string;
  /** The module to call, where the object does not know it already (a session reached first by RPC). */
  module?: string;
  keepalive?: boolean;
  /** The id of an earlier kept-alive call to the same object: this call addresses its sub-API. */
  parent?: string;
  /**
   * Who is calling ("http", a module's name, "ws" for a client of another session): for logs, and
   * the key of its share of the serving instance's handles (src/call-shares.ts, CALLER_SHARE).
   */
  caller?: string;
  /** The modules the call has passed through (BusCall.chain), so depth and cycles count across objects. */
  chain?: string[];
}
