import { DurableObject } from "cloudflare:workers";
import type { Payload } from "../src/codec/index.js";
import type { Env } from "../src/env.js";
import type { ProcessObject } from "../src/objects.js";
import { BusError, type Outcome, outcome } from "../src/errors.js";
import { errorResponse, HttpError } from "../src/http/errors.js";
import { consoleSink, type LogLine } from "../src/log.js";
import { Process, type ProcessInfo, type SpawnRequest } from "../src/process.js";
import type { Runtime } from "../src/runtime.js";
import { createRuntime } from "../src/worker-runtime.js";
import { AlarmTimers } from "./timers.js";

/** Lines kept per process for GET /processes/:id/logs and for a client that attaches late. */
const KEEP_LINES = 1000;
const DEFAULT_RETENTION_MS = 60 * 60 * 1000;

/**
 * One process: a module instance that lives as long as it has work, its
 * stdout/stderr/log lines, its exit. Sleeps go to this object's alarm.
 * Attached clients are WebSockets: output frames go out as JSON text, stdin
 * comes in as binary frames or `{"stdin": "..."}` / `{"close_stdin": true}`;
 * the end frame is the last, and the socket closes (1000) right after it.
 *
 * The sockets are accepted in memory (`accept()`), not hibernatable: a process
 * cannot outlive its object's eviction anyway (Wasm memory is not durable), and
 * a hibernatable socket that the object closes from outside a socket event (the
 * process ending in an alarm, a kill over RPC) kept its connection open until
 * the object was evicted, seconds after the end frame.
 */
export class BusProcess extends DurableObject<Env> implements ProcessObject {
  #runtime: Runtime;
  #timers: AlarmTimers;
  #process?: Process;
  /** Attached clients, until they or the process end. */
  #sockets = new Set<WebSocket>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS info (one INTEGER PRIMARY KEY CHECK (one = 1), json TEXT NOT NULL)");
    sql.exec("CREATE TABLE IF NOT EXISTS lines (seq INTEGER PRIMARY KEY AUTOINCREMENT, json TEXT NOT NULL)");
    this.#timers = new AlarmTimers(ctx.storage, (tag, id, waited) => this.#timerFired(tag, id, waited));
    this.#runtime = createRuntime({ clock: this.#timers, log: (line) => this.#record(line) });
    // A fresh object with a running process on record lost its instance to an eviction:
    // Wasm memory is not durable, so the process cannot resume.
    const info = this.#info();
    if (info?.status === "running") {
      this.#save({ ...info, status: "failed", reason: "its Durable Object was evicted while it ran; Wasm memory does not survive eviction", endedAt: Date.now() });
      void ctx.blockConcurrencyWhile(() => this.#retain());
    }
  }

  async spawn(id: string, request: SpawnRequest): Promise<Outcome<ProcessInfo>> {
    return outcome(() => {
      if (this.#info()) throw BusError.of("BadRequest", `process ${id} exists already`);
      let unpin = () => {};
      const process = new Process(id, request, {
        output: (stream, line) => this.#broadcast({ stream, line }),
        end: (info) => {
          unpin(); // the ended instance is freed, not kept serving
          void this.#ended(info);
        },
      });
      this.#save(process.info);
      this.#process = process;
      try {
        // Calls to its module made in this object (POST /processes/:id/call, its sub-processes) reach it.
        unpin = this.#runtime.instances.pin(process.start((name, options) => this.#runtime.spawn(name, options), request.env));
      } catch (err) {
        this.ctx.storage.sql.exec("DELETE FROM info");
        throw err;
      }
      return process.info;
    });
  }

  async status(): Promise<ProcessInfo | null> {
    return this.#info() ?? null;
  }

  /** A call to a topic the running process serves (it listened, and forked to keep serving). */
  async call(topic: string, request: Payload): Promise<Outcome<Payload>> {
    return outcome(() => {
      const info = this.#info();
      if (!this.#process || info?.status !== "running") throw BusError.of("InvalidHandle", `process ${info?.id ?? "?"} is not running`);
      return this.#runtime.request(info.module, topic, request, { caller: "http" });
    });
  }

  /** Kills the process; answers its state after the kill (it has ended when `kill` returns: see Process.kill). */
  async kill(): Promise<ProcessInfo | null> {
    this.#process?.kill();
    return this.#info() ?? null;
  }

  async logs(limit = KEEP_LINES): Promise<LogLine[]> {
    return this.#lines(limit);
  }

  #lines(limit: number): LogLine[] {
    return this.ctx.storage.sql
      .exec<{ json: string }>("SELECT json FROM (SELECT seq, json FROM lines ORDER BY seq DESC LIMIT ?) ORDER BY seq", limit)
      .toArray()
      .map((r) => JSON.parse(r.json) as LogLine);
  }

  /**
   * GET /processes/:id/attach: a WebSocket that gets the last output lines, then what comes. A
   * process that has ended already: its lines, its end frame, and the close.
   */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return errorResponse(new HttpError("BadRequest", "attach wants a WebSocket upgrade", 426));
    }
    const info = this.#info();
    if (!info) return errorResponse(new HttpError("InvalidHandle", "no process here", 404));
    const { 0: client, 1: server } = new WebSocketPair();
    server.accept();
    server.binaryType = "arraybuffer"; // binary frames are stdin bytes (the default would be Blob)
    // No await from here on: no line may come out between the ones replayed and the attach.
    for (const line of this.#lines(100)) {
      if (line.stream) server.send(JSON.stringify({ stream: line.stream, line: line.msg }));
    }
    if (info.status === "running") {
      this.#attach(server);
    } else {
      server.send(JSON.stringify(endFrame(info)));
      server.close(1000, info.status);
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  #attach(ws: WebSocket) {
    this.#sockets.add(ws);
    ws.addEventListener("message", (e) => {
      this.#input(ws, e.data);
    });
    ws.addEventListener("close", (e) => {
      this.#sockets.delete(ws);
      // The client closed first: answer its closing handshake, where the runtime has not.
      if (ws.readyState !== WebSocket.CLOSED) {
        try {
          ws.close([1005, 1006, 1015].includes(e.code) ? 1000 : e.code, e.reason);
        } catch {
          // already closed
        }
      }
    });
    ws.addEventListener("error", () => {
      this.#sockets.delete(ws);
    });
  }

  /**
   * A frame from an attached client: stdin. What the process has not read yet is held to its
   * module's `limits.stdinBytes`: a write past it is refused with an error frame
   * (`{"error", "code", "codeName": "LimitExceeded"}`), not buffered.
   */
  #input(ws: WebSocket, message: string | ArrayBuffer) {
    const process = this.#process;
    if (!process || process.info.status !== "running") {
      ws.send(JSON.stringify({ error: "the process is not running; stdin is closed" }));
      return;
    }
    try {
      if (typeof message !== "string") {
        process.stdin.write(new Uint8Array(message));
        return;
      }
      let frame: { stdin?: unknown; close_stdin?: unknown };
      try {
        frame = JSON.parse(message);
      } catch {
        ws.send(JSON.stringify({ error: 'text frames are JSON: {"stdin": "..."} or {"close_stdin": true}' }));
        return;
      }
      if (typeof frame.stdin === "string") process.stdin.write(new TextEncoder().encode(frame.stdin));
      if (frame.close_stdin === true) process.stdin.close();
    } catch (err) {
      const e = BusError.from(err);
      ws.send(JSON.stringify({ error: e.message, code: e.code, codeName: e.codeName }));
    }
  }

  override async alarm() {
    await this.#timers.fire();
  }

  #timerFired(tag: string, id: number, waited: boolean) {
    if (tag === "retention") {
      void this.ctx.storage.deleteAll();
      return;
    }
    if (!waited) {
      this.#record({ module: this.#info()?.module ?? "?", process: this.#info()?.id, level: "warn", msg: `timer ${id} fired after its sleeper was lost with an eviction` });
    }
  }

  /** The end frame, then the close, for every attached client; then the retention timer. */
  async #ended(info: ProcessInfo) {
    this.#save(info);
    this.#broadcast(endFrame(info));
    for (const ws of this.#sockets) {
      try {
        ws.close(1000, info.status);
      } catch {
        // it went away already
      }
    }
    this.#sockets.clear();
    await this.#retain();
  }

  /** An ended process's state and output go away after the retention time. */
  async #retain() {
    const retention = Number(this.env.PROCESS_RETENTION_MS ?? DEFAULT_RETENTION_MS);
    await this.#timers.at(Date.now() + retention, "retention");
  }

  #record(line: LogLine) {
    consoleSink(line);
    this.ctx.storage.sql.exec("INSERT INTO lines (json) VALUES (?)", JSON.stringify(line));
    this.ctx.storage.sql.exec("DELETE FROM lines WHERE seq <= (SELECT max(seq) FROM lines) - ?", KEEP_LINES);
  }

  #broadcast(frame: object) {
    const text = JSON.stringify(frame);
    for (const ws of this.#sockets) {
      try {
        ws.send(text);
      } catch {
        // a client that went away misses the frame; the rest still get it
      }
    }
  }

  #info(): ProcessInfo | undefined {
    const row = this.ctx.storage.sql.exec<{ json: string }>("SELECT json FROM info").toArray()[0];
    return row ? (JSON.parse(row.json) as ProcessInfo) : undefined;
  }

  #save(info: ProcessInfo) {
    this.ctx.storage.sql.exec("INSERT INTO info (one, json) VALUES (1, ?) ON CONFLICT (one) DO UPDATE SET json = excluded.json", JSON.stringify(info));
  }
}

function endFrame(info: ProcessInfo) {
  return info.status === "exited" ? { exit: info.code } : { failed: info.reason };
}

