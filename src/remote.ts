import { Code } from "./abi.js";
import { BusCall, type CallSink, MAX_QUEUED_BYTES } from "./call.js";
import { CALLER_SHARE, CallShares } from "./call-shares.js";
import type { Payload } from "./codec/index.js";
import type { TopicSpec } from "./codec/schema.js";
import { BusError, type Outcome, codeOf, nameInMessage } from "./errors.js";
import type { CallEvents, RemoteCallOptions, SessionObject } from "./objects.js";

export type { CallEvents, RemoteCallOptions } from "./objects.js";
import { type LoadedModule, moduleOf } from "./registry.js";
import type { Runtime } from "./runtime.js";
import type { Service } from "./services/service.js";
import { sessionAddress, sessionKey } from "./session-names.js";

/**
 * Calls across objects, with their callbacks: the Worker or one Durable Object calls a module
 * whose instance another object holds (a process's, POST /processes/:id/call/:topic; a bus
 * session's, wapm `<module>@<session>`).
 *
 * Workers RPC passes functions as stubs, so the caller hands the object `CallEvents`, and the
 * object invokes them for each callback (and for a kept-alive call's reply). A stub dies with
 * the RPC call that carried it: that call therefore lasts as long as the bus call, answering
 * with the reply (after every callback before it has been delivered, in order), or for a
 * kept-alive call when the call ends. The caller names each call with an id of its own, and
 * ends it early with `drop(id)`; a kept-alive call's id is the `parent` of calls to its sub-API.
 */
/** An object that serves calls from others: BusProcess and BusSession (src/objects.ts). */
export interface CallTarget {
  call(topic: string, request: Payload, options?: RemoteCallOptions, events?: CallEvents): Promise<Outcome<Payload | null>>;
  drop(id: string, reason?: string): Promise<void>;
}

/** Callbacks on their way to a caller in another object: past this many undelivered, LimitExceeded (backpressure, as a guest's queue). */
export const MAX_UNDELIVERED = 4096;

const NOTHING: Payload = { format: 0, data: new Uint8Array() };
const NO_SINK: CallSink = { finish() {}, fail() {}, callback: () => Code.InvalidHandle };

/**
 * The serving side, in the object that holds the instance: runs calls that came by RPC in its
 * runtime and sends their callbacks back through the caller's `CallEvents`.
 */
export class RemoteCalls {
  readonly #calls = new Map<string, BusCall>();
  /**
   * Each caller's share of the instance's handles, keyed by `options.caller`: calls that come by
   * RPC hold handles of the instance the object's own clients (a session's sockets) use too.
   */
  readonly #shares = new CallShares(CALLER_SHARE);

  constructor(readonly runtime: Runtime) {}

  /** Runs one call; settles with its reply (or null: a kept-alive call that ended) once every callback before it is delivered. */
  serve(wapm: string, topic: string, request: Payload, options: RemoteCallOptions = {}, events?: CallEvents): Promise<Outcome<Payload | null>> {
    return new Promise((resolve) => {
      const { id, keepalive = false } = options;
      if (id !== undefined && this.#calls.has(id)) {
        return resolve({ ok: false, error: BusError.of("InvalidHandle", `call id ${id} is in use`).toJSON() });
      }
      const parent = options.parent === undefined ? undefined : this.#calls.get(options.parent);
      if (options.parent !== undefined && !parent) {
        return resolve({ ok: false, error: BusError.of("InvalidHandle", `parent ${options.parent} is not a live call here`).toJSON() });
      }
      const caller = options.caller ?? "rpc";
      const limits = moduleOf(this.runtime.modules, wapm)?.manifest.limits;
      // Refused before any guest runs; a module the runtime does not know is left to its routing's words.
      const overShare = limits && this.#shares.refusal(caller, `caller ${nameInMessage(caller)}`, limits);
      if (overShare) return resolve({ ok: false, error: overShare.toJSON() });
      const undelivered = new Set<Promise<unknown>>();
      /** Bytes of the callbacks in `undelivered`. */
      let undeliveredBytes = 0;
      let settled = false;
      // The outcome waits for the callbacks sent before it: the caller gets them first.
      const settle = (outcome: Outcome<Payload | null>) => {
        if (settled) return;
        settled = true;
        void Promise.allSettled([...undelivered]).then(() => resolve(outcome));
      };
      let call: BusCall | undefined;
      const deliver = (sent: unknown, bytes = 0) => {
        undeliveredBytes += bytes;
        const p = Promise.resolve(sent).then(
          (code) => {
            if (typeof code === "number" && code !== Code.Success) {
              this.runtime.log({ module: wapm, level: "warn", msg: `a callback of ${topic} reached its caller in another object, which answered ${code}` });
            }
          },
          // The caller is gone (its object, its connection): the call goes with it.
          () => call?.drop("the caller in another object went away"),
        );
        undelivered.add(p);
        void p.finally(() => {
          undelivered.delete(p);
          undeliveredBytes -= bytes;
        });
      };
      const sink: CallSink = {
        finish: (reply) => {
          if (!keepalive) return settle({ ok: true, value: reply });
          if (events?.reply) deliver(events.reply(reply));
        },
        fail: (err) => settle({ ok: false, error: err.toJSON() }),
        callback: (cbTopic, payload) => {
          if (!events) return Code.MissingCallbacks;
          if (undelivered.size >= MAX_UNDELIVERED || undeliveredBytes + payload.data.length > MAX_QUEUED_BYTES) throw undeliveredFull(cbTopic);
          // Copied: a callback's bytes may be a view of the serving guest's memory.
          deliver(events.callback(cbTopic, { format: payload.format, data: payload.data.slice() }), payload.data.length);
          return Code.Success;
        },
      };
      call = this.runtime.start(wapm, topic, request, sink, { parent, keepalive, caller, origin: originOf(options.chain) });
      if (call.ended) return;
      this.#shares.hold(caller, call);
      if (id !== undefined) this.#calls.set(id, call);
      call.onEnd(() => {
        if (id !== undefined && this.#calls.get(id) === call) this.#calls.delete(id);
        // A kept-alive call that ended after its reply: the RPC call ends too. A fault settles
        // first (fail runs right after onEnd), so this waits a turn.
        if (keepalive) queueMicrotask(() => settle({ ok: true, value: null }));
      });
    });
  }

  /** The caller drops its call (and every call under it). */
  drop(id: string, reason = "dropped by its caller in another object"): void {
    this.#calls.get(id)?.drop(reason);
  }

  /** Calls in flight or kept alive, for tests. */
  get size(): number {
    return this.#calls.size;
  }
}

/** Why RemoteCalls refuses a callback, thrown so that the serving guest's `reply_callback` keeps it (as the HTTP stream's, ./http/callbacks.ts). */
function undeliveredFull(topic: string): BusError {
  return BusError.of(
    "LimitExceeded",
    `callback ${topic}: ${MAX_UNDELIVERED} callbacks (or ${MAX_QUEUED_BYTES} bytes) are on their way to the caller in another object, undelivered; a module sends at most that many in one entry, and returns to the host between batches`,
  );
}

/**
 * The calls a remote call passed through, as origins for the call made here: the runtime's
 * depth limit and cycle check then count hops across objects too.
 */
function originOf(chain: string[] | undefined): BusCall | undefined {
  let origin: BusCall | undefined;
  for (const wapm of chain ?? []) origin = new BusCall(wapm, "", NOTHING, NO_SINK, { origin });
  return origin;
}

/** What a call to another object keeps as its `server`: where its sub-API's calls go. */
export class RemoteCall {
  constructor(
    readonly target: CallTarget,
    readonly id: string,
  ) {}
}

/**
 * The calling side: a service whose calls go to the instance another object holds (`target`).
 * Callbacks come back through the RPC call's `CallEvents` into `call.callback`; dropping the
 * call drops it there; calls under a kept-alive one go to the same object, naming it as parent.
 */
export function remoteService(module: string, topics: Readonly<Record<string, TopicSpec>>, target: () => CallTarget): Service {
  return {
    topics,
    serve(call) {
      let object: CallTarget;
      let parent: string | undefined;
      if (call.parent) {
        const server = call.parent.server;
        if (!(server instanceof RemoteCall)) return void call.fault(BusError.of("InvalidHandle", `the parent call is not a call to ${module} in another object`));
        object = server.target;
        parent = server.id;
      } else {
        try {
          object = target();
        } catch (err) {
          return void call.fault(BusError.from(err));
        }
      }
      const id = crypto.randomUUID();
      call.server = new RemoteCall(object, id);
      let over = false;
      const events: CallEvents = {
        callback: (topic, payload) => codeOf(() => call.callback(topic, payload)),
        reply: (payload) => void call.reply(payload),
      };
      const options: RemoteCallOptions = { id, module, keepalive: call.keepalive, parent, caller: call.caller, chain: call.chain() };
      const sent = object.call(call.topic, call.request, options, events);
      // Its bytes crossed RPC with the call: a kept-alive one keeps none of them here as long as it lives.
      call.forgetRequest();
      sent.then(
        (outcome) => {
          over = true;
          if (!outcome.ok) call.fault(BusError.fromJSON(outcome.error));
          else if (outcome.value) call.reply(outcome.value);
          // A kept-alive call that ended there: over here too (nothing, if the caller dropped it).
          else call.fault(BusError.of("Aborted", `${module} ended the call`));
        },
        (err) => {
          over = true;
          call.fault(BusError.of("InternalFailure", `the object serving ${module} failed: ${(err as Error)?.message ?? err}`));
        },
      );
      call.signal.addEventListener(
        "abort",
        () => {
          if (!over) object.drop(id, String(call.signal.reason ?? "dropped")).catch(() => {});
        },
        { once: true },
      );
    },
  };
}

/** Remote services kept per wapm name; past this many the oldest goes (names come from guests). */
const KEEP_SERVICES = 256;

/**
 * The runtime's `remote` option for sessions: wapm `<module>@<session>` is the instance of the
 * bus session `session` of `module` (GET /bus/:module/:session), in its BusSession object. A
 * stub per call: one made for another request's call is not this request's to use.
 */
export function sessionServices(namespace: () => DurableObjectNamespace<SessionObject> | undefined) {
  const services = new Map<string, Service>();
  return (wapm: string, modules: ReadonlyMap<string, LoadedModule>): Service | undefined => {
    let service = services.get(wapm);
    if (service) return service;
    const address = sessionAddress(wapm);
    const module = address && modules.get(address.module);
    if (!address || !module) return undefined;
    const key = sessionKey(address.module, address.session);
    service = remoteService(address.module, module.manifest.topics, () => {
      const ns = namespace();
      if (!ns) throw BusError.of("Unsupported", `${wapm}: this runtime cannot reach sessions (no SESSIONS binding)`);
      return ns.get(ns.idFromName(key));
    });
    if (services.size >= KEEP_SERVICES) services.delete(services.keys().next().value!);
    services.set(wapm, service);
    return service;
  };
}
