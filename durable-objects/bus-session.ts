import { DurableObject } from "cloudflare:workers";
import { Code, OS_WAPM, formatName, formatValue } from "../src/abi.js";
import { BusCall, type CallSink } from "../src/call.js";
import type { Env } from "../src/env.js";
import type { Payload } from "../src/codec/index.js";
import { checkRequest } from "../src/codec/request-check.js";
import type { TopicSpec } from "../src/codec/schema.js";
import type { SessionObject } from "../src/objects.js";
import { BusError, nameInMessage, type Outcome, osNotServed, outcome } from "../src/errors.js";
import { CallShares, SOCKET_SHARE } from "../src/call-shares.js";
import { type CallEvents, RemoteCalls, type RemoteCallOptions } from "../src/remote.js";
import { errorResponse } from "../src/http/errors.js";
import { socketProtocol } from "../src/http/guard.js";
import type { Durable, Guest, GuestOptions, Saved } from "../src/instance/guest.js";
import type { SavedCall } from "../src/instance/snapshot.js";
import { DEFAULT_LIMITS, type Limits } from "../src/manifest.js";
import { type LoadedModule, moduleOf } from "../src/registry.js";
import type { ModuleEntry } from "../src/runtime.js";
import { createRuntime } from "../src/worker-runtime.js";
import { SqlKv } from "./kv.js";
import { Snapshots } from "./snapshots.js";
import { closeBack, closeReason } from "./sockets.js";
import { BadFrame, type ClientFrame, FRAME_OVERHEAD, badFrameAnswer, decodeFrame, encodeFrame, errorFrame, faultFrame, type ServerFrame } from "./frames.js";
import { newState, saveState, stateOf } from "./socket-attachment.js";
import { caughtUp, sendBounded } from "./socket-bound.js";
import { SocketTotal } from "./socket-total.js";
import { acknowledge, behind } from "./unacked.js";

type CallFrame = Extract<ClientFrame, { type: "call" }>;

/**
 * The modules sessions serve: the ones this Worker serves. A test serving test guests in
 * sessions as well sets it before any object is made, as for processes (setProcessModules).
 */
let sessionModules: Record<string, ModuleEntry> | undefined;
export function setSessionModules(registry: Record<string, ModuleEntry>) {
  sessionModules = registry;
}

/**
 * The bus over WebSockets for one session of one module (GET /bus/:module/:session; GET
 * /bus/:module is the session "default"): every client of the session shares one instance, so
 * the module can push callbacks from one client's call to another's (a chat room). Sockets are
 * hibernatable, and so is the instance: each time it comes to rest it is saved
 * (durable-objects/snapshots.ts). An object that wakes restores it, and the calls its clients'
 * sockets still hold go on where they were (no call runs twice); a call the instance no longer
 * holds, or one whose socket is gone, ends. Where the instance breaks (a trap), it is restored
 * from its last snapshot the same way: the calls it held then go on, the rest fail.
 */
export class BusSession extends DurableObject<Env> implements SessionObject {
  /** kv.* keys of the modules running here live in this object's own SQLite (durable-objects/kv.ts). */
  #runtime = createRuntime({ storage: new SqlKv(this.ctx.storage) }, sessionModules);
  /** Calls from the Worker and other objects (src/remote.ts). */
  #remote = new RemoteCalls(this.#runtime);
  #guest?: Guest;
  /** Unpins #guest (Instances.pin): a broken one that is not replaced is not kept by the runtime either. */
  #unpin?: () => void;
  /** Live calls per socket, by the client's call id. */
  #calls = new Map<string, Map<number, BusCall>>();
  /** Each socket's share of the instance's handles, by its id. */
  #shares = new CallShares(SOCKET_SHARE);
  /**
   * How far behind every client is together (socket-total.ts): counted again from the sockets'
   * attachments on first use after a wake. A client it closes has its calls dropped, once the
   * send that closed it is over (it may be a call's own end).
   */
  #total = new SocketTotal(
    stateOf,
    (ws) => queueMicrotask(() => this.#closed(ws)),
    () => this.ctx.getWebSockets(),
  );
  #snapshots = new Snapshots(
    this.ctx.storage,
    () => ({ json: null }),
    (guest) => guest === this.#guest,
  );

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // The calls that live on sockets, so those the instance no longer holds after a wake can be failed.
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS live_calls (sid TEXT NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (sid, id))");
    const saved = this.#snapshots.load();
    if (saved) this.#restore(saved);
    // No snapshot (its last save failed): the calls its sockets held are gone with the instance,
    // and their clients must hear it rather than wait for a reply that never comes. Held to their
    // module's bound, read here without an await, not the default one: a smaller one would close
    // a client its module lets be that far behind.
    else {
      const served = this.#runtime.modules.get(ctx.storage.kv.get<string>("module") ?? "");
      this.#endUnheld(this.#sockets(), "the session's instance was lost with its Durable Object (it had no snapshot to restore): call again", served?.manifest.limits ?? DEFAULT_LIMITS);
    }
  }

  override async fetch(request: Request): Promise<Response> {
    // /bus/:module or /bus/:module/:session: the Worker checked both and chose this object by them.
    const module = decodeURIComponent(new URL(request.url).pathname.split("/")[2] ?? "");
    if (!this.#runtime.modules.has(module)) return errorResponse(BusError.of("InvalidWapm", `no module named ${nameInMessage(module)}`), { module });
    await this.ctx.storage.put("module", module);
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    newState(server, crypto.randomUUID());
    this.#total.note(server, stateOf(server));
    return new Response(null, { status: 101, webSocket: client, headers: socketProtocol(request) });
  }

  /**
   * A call from the Worker or another object to this session's instance (wapm
   * `<module>@<session>`: src/remote.ts); its callbacks go back through `events` while this RPC
   * call lasts, until the reply (or, kept alive, until the call ends). Such calls are not stored
   * for hibernation: their caller holds them.
   */
  async call(topic: string, request: Payload, options: RemoteCallOptions = {}, events?: CallEvents): Promise<Outcome<Payload | null>> {
    const module = options.module ?? (await this.ctx.storage.get<string>("module"));
    if (module === undefined || !this.#runtime.modules.has(module)) {
      return { ok: false, error: BusError.of("InvalidWapm", `no module named ${nameInMessage(String(module))}`).toJSON() };
    }
    const serves = await this.ctx.storage.get<string>("module");
    if (serves === undefined) await this.ctx.storage.put("module", module);
    else if (serves !== module) return { ok: false, error: BusError.of("InvalidWapm", `this session serves ${serves}, not ${module}`).toJSON() };
    // An instance that cannot be made (its module traps starting) fails the call with why, as a
    // plain call to the module does: thrown, it crossed RPC as this object's failure (InternalFailure).
    const started = await outcome(() => this.#ensureGuest());
    if (!started.ok) return started;
    return this.#remote.serve(module, topic, request, options, events);
  }

  /** Drops a call made with an id (its caller dropped it, or went away). */
  async drop(id: string, reason?: string): Promise<void> {
    this.#remote.drop(id, reason);
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer) {
    // Closed for being too far behind (socket-bound.ts): its calls are dropped, and what it sent since is not read.
    if (ws.readyState !== WebSocket.OPEN) return;
    // No instance can serve the socket (its module is gone, or it traps starting): it closes with
    // why, which its client gives its calls, instead of leaving every frame unanswered.
    const unserved = (err: unknown) => ws.close(1011, closeReason(BusError.from(err).message));
    let limits: Limits;
    try {
      limits = (await this.#module()).manifest.limits;
    } catch (err) {
      return unserved(err);
    }
    const size = typeof data === "string" ? data.length : data.byteLength;
    // A frame far past the module's request limit is not even read: the socket closes with why.
    if (size > 2 * limits.requestBytes + FRAME_OVERHEAD) {
      return ws.close(1009, `a frame of ${size} bytes is over the limit (requestBytes ${limits.requestBytes})`);
    }
    let frame: ClientFrame | BadFrame;
    try {
      frame = decodeFrame(data);
    } catch (err) {
      frame = err instanceof BadFrame ? err : new BadFrame(String(err));
    }
    // An ack needs no instance: none is made to count one (a session that woke has restored its
    // snapshot already, in the constructor; one without a snapshot stays without an instance).
    if (!(frame instanceof BadFrame) && frame.type === "ack") return this.#acked(ws, frame.bytes, limits);
    try {
      await this.#ensureGuest();
    } catch (err) {
      return unserved(err);
    }
    const { sid } = stateOf(ws);
    const live = (id: number) => this.#calls.get(sid)?.has(id) === true;
    const send = (frame: ServerFrame) => this.#send(ws, frame, limits);
    if (frame instanceof BadFrame) return send(badFrameAnswer(frame, live));
    if (frame.type === "drop") {
      const call = this.#calls.get(sid)?.get(frame.id);
      if (!call) return send(faultFrame(frame.id, BusError.of("InvalidHandle", `no live call ${frame.id} to drop`)));
      this.#forget(sid, frame.id);
      call.drop("dropped by the WebSocket client");
      return;
    }
    // Not a fault with that id: its client would end the live call, whose reply is still to come.
    if (live(frame.id)) {
      return send(errorFrame(BusError.of("InvalidHandle", `call id ${frame.id} is in use by a live call of this socket, which goes on: this call frame is refused (an id is free again once its call ends)`)));
    }
    // Held to the module's limit before any guest runs, exactly as an HTTP body: one client's
    // oversized call fails alone instead of breaking the instance every member shares.
    if (frame.payload.length > limits.requestBytes) {
      return send(faultFrame(frame.id, BusError.of("LimitExceeded", `request of ${frame.payload.length} bytes is over the limit of ${limits.requestBytes}`)));
    }
    // The host's services are for modules, as over HTTP: a client that could name them would
    // sleep, log and spawn inside this object outside any module's limits.
    if (frame.wapm === OS_WAPM) return send(faultFrame(frame.id, osNotServed("a WebSocket")));
    // A client that neither reads nor acks what it was sent would have its replies pile up in the
    // object every member shares: past the bound its calls are refused before any guest runs.
    const buffer = limits.socketBufferBytes;
    if (behind(ws, stateOf(ws)) > this.#total.bound(buffer)) {
      return send(
        faultFrame(frame.id, BusError.of("LimitExceeded", `this client is more than ${this.#total.boundName(buffer)} behind: it has not read, or not acknowledged with {type: "ack", bytes}, what it was sent; ack it, then call again`)),
      );
    }
    const overShare = this.#shares.refusal(sid, "this socket", limits);
    if (overShare) return send(faultFrame(frame.id, overShare));
    this.#start(ws, sid, frame);
  }

  /**
   * A client's ack of the bytes it received; a bad one gets an error frame, and changes nothing.
   * One that brings it back under its bound gets the count of error frames it was not sent.
   */
  #acked(ws: WebSocket, received: unknown, limits: Limits) {
    const state = stateOf(ws);
    try {
      acknowledge(state, received, "ack.bytes");
    } catch (err) {
      return this.#send(ws, errorFrame(err), limits);
    }
    this.#total.note(ws, state);
    try {
      caughtUp(ws, state, limits.socketBufferBytes, errorBytes, this.#total);
    } catch {
      // the client went away; its close handler drops its calls
    }
    saveState(ws, state);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string) {
    this.#closed(ws);
    closeBack(ws, code, reason);
  }

  override async webSocketError(ws: WebSocket) {
    this.#closed(ws);
  }

  /** Why a call frame's payload is refused before any guest runs, if it is. */
  #refusedRequest(module: string, frame: CallFrame): BusError | undefined {
    const wapm = frame.wapm ?? module;
    let spec: TopicSpec;
    try {
      spec = this.#runtime.topic(wapm, frame.topic);
    } catch {
      return undefined;
    }
    // The session's own limit let the frame in; the serving module's may be smaller. Over it the
    // payload is refused for its size, as an HTTP body capped at that limit is, before its bytes
    // are read against the type (whose verdict, BadRequest or the container budget's
    // DeserializationFailed, would blame what the caller sent, not how much).
    const limit = moduleOf(this.#runtime.modules, wapm)!.manifest.limits.requestBytes;
    if (frame.payload.length > limit) {
      return BusError.of("LimitExceeded", `request of ${frame.payload.length} bytes to topic ${nameInMessage(frame.topic)} is over module ${nameInMessage(wapm)}'s limit of ${limit} (limits.requestBytes)`);
    }
    try {
      checkRequest(spec, formatValue(frame.format), frame.payload, limit);
    } catch (err) {
      return BusError.from(err);
    }
    return undefined;
  }

  /** Starts a client's call. */
  #start(ws: WebSocket, sid: string, frame: CallFrame): void {
    const { name: module, manifest } = this.#guest!.module;
    const calls = this.#callsOf(sid);
    const parent = frame.parent === undefined ? undefined : calls.get(frame.parent);
    if (frame.parent !== undefined && !parent) {
      return this.#send(ws, faultFrame(frame.id, BusError.of("InvalidHandle", `parent ${frame.parent} is not a live call`)), manifest.limits);
    }
    // Held to the topic's request type as an HTTP body is, so the module sees the same requests
    // either way. A frame the routing refuses (no such module or topic) is left to it, with its words.
    const refused = this.#refusedRequest(module, frame);
    if (refused) return this.#send(ws, faultFrame(frame.id, refused), manifest.limits);
    const call = this.#runtime.start(
      frame.wapm ?? module,
      frame.topic,
      { format: formatValue(frame.format), data: frame.payload },
      this.#sink(ws, sid, frame.id, manifest.limits),
      { parent, keepalive: frame.keepalive, caller: "ws", key: callKey(sid, frame.id) },
    );
    if (call.ended) return;
    this.#keep(sid, frame.id, call);
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO live_calls (sid, id) VALUES (?, ?)", sid, frame.id);
  }

  /**
   * Where a client's call's reply, fault and callbacks go: its socket, as frames with its id.
   * `limits`: the session module's, where the socket's buffer bound is; not read from the instance,
   * which a failed restore leaves unset while the socket's calls to other sessions go on.
   */
  #sink(ws: WebSocket, sid: string, id: number, limits: Limits): CallSink {
    return {
      finish: (reply) => {
        this.#send(ws, { type: "reply", id, format: formatName(reply.format)!, payload: reply.data }, limits);
      },
      fail: (err) => {
        this.#send(ws, faultFrame(id, err), limits);
      },
      callback: (topic, payload) => {
        // Backpressure: a client that does not read (or does not acknowledge what it read:
        // unacked.ts) gets no more callbacks until it catches up; the module hears
        // LimitExceeded, as for a guest's own full queue.
        const buffer = limits.socketBufferBytes;
        if (behind(ws, stateOf(ws)) > this.#total.bound(buffer)) {
          throw BusError.of("LimitExceeded", `callback ${topic}: the client has more than ${this.#total.boundName(buffer)} of this socket's frames unsent or unacknowledged`);
        }
        this.#send(ws, { type: "callback", id, topic, format: formatName(payload.format)!, payload: payload.data }, limits);
        return Code.Success;
      },
    };
  }

  /**
   * A client's live call, kept until it ends however it does: its reply, a fault, a drop, or its
   * parent's end. The call's end says so, not its sink: the client's own drop of an answered
   * kept-alive call tells the sink nothing.
   */
  #keep(sid: string, id: number, call: BusCall) {
    this.#callsOf(sid).set(id, call);
    this.#shares.hold(sid, call);
    call.onEnd(() => this.#forget(sid, id));
  }

  #callsOf(sid: string): Map<number, BusCall> {
    let calls = this.#calls.get(sid);
    if (!calls) this.#calls.set(sid, (calls = new Map()));
    return calls;
  }

  /** The module the session serves. */
  async #module(): Promise<LoadedModule> {
    if (this.#guest) return this.#guest.module;
    const name = (await this.ctx.storage.get<string>("module"))!;
    const module = this.#runtime.modules.get(name);
    // Sockets outlive a deploy, which may have taken their module away.
    if (!module) throw BusError.of("InvalidWapm", `no module named ${nameInMessage(name)}: this Worker no longer serves it`);
    return module;
  }

  /** The one instance every client of the module shares: a fresh one for a new session. */
  async #ensureGuest(): Promise<Guest> {
    if (this.#guest && !this.#guest.broken) return this.#guest;
    const module = await this.#module();
    // A new instance's first snapshot writes the pages that differ from its module's data: no old row may stay.
    this.#snapshots.clear();
    return this.#use(this.#runtime.instances.create(module, this.#instanceOptions()));
  }

  #use(guest: Guest): Guest {
    this.#guest = guest;
    this.#unpin = this.#runtime.instances.pin(guest);
    return guest;
  }

  /** How the session's instance is made, new or restored: it serves until it breaks, and is saved at each rest. */
  #instanceOptions(): GuestOptions {
    const durable: Durable = {
      quiet: (guest) => this.#snapshots.durable.quiet(guest),
      // Its calls with a key are left to the instance restored from the last snapshot.
      broke: (guest, err) => {
        if (guest !== this.#guest || !this.#snapshots.has()) return false;
        queueMicrotask(() => this.#recover(guest, err));
        return true;
      },
    };
    return { ephemeral: false, durable };
  }

  /** After hibernation: the instance as its snapshot left it, the calls its clients' sockets still hold adopted. */
  #restore(saved: Saved) {
    const module = this.#runtime.modules.get(saved.state.module);
    const sockets = this.#sockets();
    const adopt = (call: SavedCall, parent?: BusCall): BusCall | undefined => {
      const [sid, id] = splitKey(call.key!);
      const ws = sockets.get(sid);
      if (!ws || !module) return undefined;
      const adopted = new BusCall(call.wapm, call.topic, { format: call.format as never, data: new Uint8Array() }, this.#sink(ws, sid, id, module.manifest.limits), {
        parent,
        keepalive: call.keepalive,
        answered: call.answered,
        caller: "ws",
        key: call.key,
      });
      this.#keep(sid, id, adopted);
      return adopted;
    };
    try {
      if (!module) throw BusError.of("InvalidWapm", `no module named ${saved.state.module}`);
      this.#use(this.#runtime.instances.restore(module, this.#instanceOptions(), saved, adopt));
    } catch (err) {
      this.#snapshots.clear();
      console.warn(`session of ${saved.state.module}: its snapshot could not be restored: ${BusError.from(err).message}`);
    }
    this.#endUnheld(sockets, "the session's instance was restored without this call (it was not held when last saved): call again", module?.manifest.limits ?? DEFAULT_LIMITS);
  }

  /** The hibernated sockets, by their key. */
  #sockets(): Map<string, WebSocket> {
    return new Map(this.ctx.getWebSockets().map((ws) => [stateOf(ws).sid, ws]));
  }

  /** The calls on record that the instance does not hold (or that could not be restored) end with a fault frame. */
  #endUnheld(sockets: Map<string, WebSocket>, reason: string, limits: Limits) {
    for (const { sid, id } of this.ctx.storage.sql.exec<{ sid: string; id: number }>("SELECT sid, id FROM live_calls").toArray()) {
      if (this.#calls.get(sid)?.has(id)) continue;
      this.ctx.storage.sql.exec("DELETE FROM live_calls WHERE sid = ? AND id = ?", sid, id);
      const ws = sockets.get(sid);
      if (ws) this.#send(ws, faultFrame(id, BusError.of("Aborted", reason)), limits);
    }
  }

  /** The shared instance broke: restored from its last snapshot, so one bad call does not end every member's. */
  #recover(broken: Guest, err: BusError) {
    if (this.#guest !== broken) return;
    const saved = this.#snapshots.load();
    const live = new Map<string, BusCall>();
    for (const [sid, calls] of this.#calls) for (const [id, call] of calls) if (call.server === broken) live.set(callKey(sid, id), call);
    const adopt = (call: SavedCall) => {
      const found = live.get(call.key!);
      live.delete(call.key!);
      return found;
    };
    try {
      this.#use(this.#runtime.instances.restore(broken.module, this.#instanceOptions(), saved!, adopt));
    } catch (err) {
      this.#unpin?.();
      this.#guest = undefined;
      this.#snapshots.clear();
      console.warn(`session of ${broken.module.name}: its last snapshot could not be restored: ${BusError.from(err).message}`);
    }
    // What the restored instance does not hold (the call that broke it, say) fails with the break's reason.
    for (const call of live.values()) call.fault(err);
  }

  #forget(sid: string, id: number) {
    this.#calls.get(sid)?.delete(id);
    this.ctx.storage.sql.exec("DELETE FROM live_calls WHERE sid = ? AND id = ?", sid, id);
  }

  /**
   * A frame to a client, counted in its attachment, which outlives hibernation as the count must;
   * held to the client's bound (socket-bound.ts): an error frame waits out a client past it, and a
   * client past twice it is closed, as are the clients furthest behind where all of them together
   * are past their budget (#total), which drops their calls as any close does.
   */
  #send(ws: WebSocket, frame: ServerFrame, limits: Limits) {
    const state = stateOf(ws);
    try {
      sendBounded(ws, state, limits.socketBufferBytes, encodeFrame(frame), errorBytes, this.#total, frame.type === "error");
      saveState(ws, state);
    } catch {
      // the client went away; its close handler drops its calls
    }
  }

  #closed(ws: WebSocket) {
    const { sid } = stateOf(ws);
    for (const call of this.#calls.get(sid)?.values() ?? []) call.drop("the WebSocket closed");
    this.#calls.delete(sid);
    this.ctx.storage.sql.exec("DELETE FROM live_calls WHERE sid = ?", sid);
    // After the drops: a pending call's fault goes to a socket its client closed (only the server's
    // own close stops sends), and would count it again in the total, for good.
    this.#total.gone(ws);
  }
}

/** A socket call's key (BusCall.key): the socket's id and the client's call id. */
const callKey = (sid: string, id: number) => `${sid}/${id}`;
function splitKey(key: string): [sid: string, id: number] {
  const at = key.lastIndexOf("/");
  return [key.slice(0, at), Number(key.slice(at + 1))];
}

/** An error frame as a session's client reads it. */
const errorBytes = (err: BusError) => encodeFrame(errorFrame(err));
