import { DurableObject } from "cloudflare:workers";
import { Code, formatName, formatValue } from "../src/abi.js";
import type { BusCall } from "../src/call.js";
import type { Env } from "../src/env.js";
import type { Payload } from "../src/codec/index.js";
import type { SessionObject } from "../src/objects.js";
import { BusError, type Outcome } from "../src/errors.js";
import { type CallEvents, RemoteCalls, type RemoteCallOptions } from "../src/remote.js";
import { errorResponse } from "../src/http/errors.js";
import type { Guest } from "../src/instance/guest.js";
import { createRuntime } from "../src/worker-runtime.js";
import { SqlKv } from "./kv.js";
import { closeBack } from "./sockets.js";
import { type ClientFrame, decodeFrame, encodeFrame, faultFrame, type ServerFrame } from "./frames.js";

type CallFrame = Extract<ClientFrame, { type: "call" }>;

/** Room in a frame for what is not payload: its type, id, topic, format, wapm, parent. */
const FRAME_OVERHEAD = 64 << 10;

interface Attachment {
  /** This socket's key in the live_calls table. */
  sid: string;
}

/**
 * The bus over WebSockets for one session of one module (GET /bus/:module/:session; GET
 * /bus/:module is the session "default"): every client of the session shares one instance, so
 * the module can push callbacks from one client's call to another's (a chat room). Sockets are hibernatable. Wasm
 * memory is not: the calls each socket keeps alive are stored, and a fresh
 * instance after hibernation gets them again (replies to them are not resent),
 * which rebuilds the module's state from what its clients still hold.
 */
export class BusSession extends DurableObject<Env> implements SessionObject {
  /** kv.* keys of the modules running here live in this object's own SQLite (durable-objects/kv.ts). */
  #runtime = createRuntime({ storage: new SqlKv(this.ctx.storage) });
  /** Calls from the Worker and other objects (src/remote.ts). */
  #remote = new RemoteCalls(this.#runtime);
  #guest?: Guest;
  /** Live calls per socket, by the client's call id. */
  #calls = new Map<string, Map<number, BusCall>>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS live_calls (sid TEXT NOT NULL, id INTEGER NOT NULL, frame BLOB NOT NULL, PRIMARY KEY (sid, id))");
  }

  override async fetch(request: Request): Promise<Response> {
    // /bus/:module or /bus/:module/:session: the Worker checked both and chose this object by them.
    const module = decodeURIComponent(new URL(request.url).pathname.split("/")[2] ?? "");
    if (!this.#runtime.modules.has(module)) return errorResponse(BusError.of("InvalidWapm", `no module named ${module}`), { module });
    await this.ctx.storage.put("module", module);
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ sid: crypto.randomUUID() } satisfies Attachment);
    return new Response(null, { status: 101, webSocket: client });
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
      return { ok: false, error: BusError.of("InvalidWapm", `no module named ${module}`).toJSON() };
    }
    const serves = await this.ctx.storage.get<string>("module");
    if (serves === undefined) await this.ctx.storage.put("module", module);
    else if (serves !== module) return { ok: false, error: BusError.of("InvalidWapm", `this session serves ${serves}, not ${module}`).toJSON() };
    await this.#ensureGuest();
    return this.#remote.serve(module, topic, request, options, events);
  }

  /** Drops a call made with an id (its caller dropped it, or went away). */
  async drop(id: string, reason?: string): Promise<void> {
    this.#remote.drop(id, reason);
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer) {
    const limits = (await this.#ensureGuest()).module.manifest.limits;
    const size = typeof data === "string" ? data.length : data.byteLength;
    // A frame far past the module's request limit is not even read: the socket closes with why.
    if (size > 2 * limits.requestBytes + FRAME_OVERHEAD) {
      return ws.close(1009, `a frame of ${size} bytes is over the limit (requestBytes ${limits.requestBytes})`);
    }
    let frame: ClientFrame;
    try {
      frame = decodeFrame(data);
    } catch (err) {
      return send(ws, { type: "error", error: `bad frame: ${(err as Error).message}` });
    }
    const { sid } = ws.deserializeAttachment() as Attachment;
    if (frame.type === "drop") {
      const call = this.#calls.get(sid)?.get(frame.id);
      if (!call) return send(ws, faultFrame(frame.id, BusError.of("InvalidHandle", `no live call ${frame.id} to drop`)));
      this.#forget(sid, frame.id);
      call.drop("dropped by the WebSocket client");
      return;
    }
    if (this.#calls.get(sid)?.has(frame.id)) {
      return send(ws, faultFrame(frame.id, BusError.of("InvalidHandle", `call id ${frame.id} is in use`)));
    }
    // Held to the module's limit before any guest runs, exactly as an HTTP body: one client's
    // oversized call fails alone instead of breaking the instance every member shares.
    if (frame.payload.length > limits.requestBytes) {
      return send(ws, faultFrame(frame.id, BusError.of("LimitExceeded", `request of ${frame.payload.length} bytes is over the limit of ${limits.requestBytes}`)));
    }
    this.#start(ws, sid, frame, false);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string) {
    this.#closed(ws);
    closeBack(ws, code, reason);
  }

  override async webSocketError(ws: WebSocket) {
    this.#closed(ws);
  }

  /** Starts a client's call (again, when replaying after hibernation). */
  #start(ws: WebSocket, sid: string, frame: CallFrame, replay: boolean): void {
    const module = this.#guest!.module.name;
    const calls = this.#calls.get(sid) ?? new Map<number, BusCall>();
    this.#calls.set(sid, calls);
    const parent = frame.parent === undefined ? undefined : calls.get(frame.parent);
    if (frame.parent !== undefined && !parent) {
      if (!replay) send(ws, faultFrame(frame.id, BusError.of("InvalidHandle", `parent ${frame.parent} is not a live call`)));
      return;
    }
    // A call refused while replaying is forgotten quietly: its client heard about it long ago.
    let started = false;
    const call = this.#runtime.start(
      frame.wapm ?? module,
      frame.topic,
      { format: formatValue(frame.format), data: frame.payload },
      {
        finish: (reply) => {
          if (!frame.keepalive) this.#forget(sid, frame.id);
          if (!replay) send(ws, { type: "reply", id: frame.id, format: formatName(reply.format)!, payload: reply.data });
        },
        fail: (err) => {
          this.#forget(sid, frame.id);
          if (!replay || started) send(ws, faultFrame(frame.id, err));
        },
        callback: (topic, payload) => {
          // Backpressure: a client that does not read gets no more callbacks until it drains;
          // the module hears LimitExceeded, as for a guest's own full queue.
          if (ws.bufferedAmount > this.#guest!.module.manifest.limits.socketBufferBytes) return Code.LimitExceeded;
          send(ws, { type: "callback", id: frame.id, topic, format: formatName(payload.format)!, payload: payload.data });
          return Code.Success;
        },
      },
      { parent, keepalive: frame.keepalive, caller: "ws" },
    );
    started = true;
    // Kept until the call ends, so an instance rebuilt after hibernation gets it again.
    if (call.ended) return;
    calls.set(frame.id, call);
    if (replay) return;
    try {
      this.ctx.storage.sql.exec("INSERT OR REPLACE INTO live_calls (sid, id, frame) VALUES (?, ?, ?)", sid, frame.id, encodeFrame(frame));
    } catch (err) {
      // A call that cannot be kept across hibernation is not left running unanswered.
      this.#forget(sid, frame.id);
      call.drop("it could not be stored");
      send(ws, faultFrame(frame.id, BusError.of("LimitExceeded", `the call could not be kept for hibernation: ${(err as Error).message}`)));
    }
  }

  /** The one instance every client of the module shares; after hibernation, rebuilt from the live calls. */
  async #ensureGuest(): Promise<Guest> {
    if (this.#guest && !this.#guest.broken) return this.#guest;
    const name = (await this.ctx.storage.get<string>("module"))!;
    const guest = this.#runtime.instances.create(this.#runtime.modules.get(name)!, { ephemeral: false });
    this.#guest = guest;
    this.#runtime.instances.pin(guest);
    const sockets = new Map(this.ctx.getWebSockets().map((ws) => [(ws.deserializeAttachment() as Attachment).sid, ws]));
    const rows = this.ctx.storage.sql.exec<{ sid: string; frame: ArrayBuffer }>("SELECT sid, frame FROM live_calls ORDER BY rowid").toArray();
    this.#calls.clear();
    for (const { sid, frame } of rows) {
      const ws = sockets.get(sid);
      if (ws) this.#start(ws, sid, decodeFrame(frame) as CallFrame, true);
      else this.ctx.storage.sql.exec("DELETE FROM live_calls WHERE sid = ?", sid);
    }
    return guest;
  }

  #forget(sid: string, id: number) {
    this.#calls.get(sid)?.delete(id);
    this.ctx.storage.sql.exec("DELETE FROM live_calls WHERE sid = ? AND id = ?", sid, id);
  }

  #closed(ws: WebSocket) {
    const { sid } = ws.deserializeAttachment() as Attachment;
    for (const call of this.#calls.get(sid)?.values() ?? []) call.drop("the WebSocket closed");
    this.#calls.delete(sid);
    this.ctx.storage.sql.exec("DELETE FROM live_calls WHERE sid = ?", sid);
  }
}

function send(ws: WebSocket, frame: ServerFrame) {
  try {
    ws.send(encodeFrame(frame));
  } catch {
    // the client went away; its close handler drops its calls
  }
}
