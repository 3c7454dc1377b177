import { BusError } from "../src/errors.js";
import type { Pipe } from "../src/pipe.js";
import type { Process, ProcessInfo } from "../src/process.js";
import { type BoundedBytes, caughtUp, type Sent, sendBounded } from "./socket-bound.js";
import { SocketTotal } from "./socket-total.js";
import { acknowledge, behind, noBytes, sendCounted } from "./unacked.js";

// The WebSockets attached to a process (GET /processes/:id/attach): frames out to each, with the
// count of what a slow one missed; stdin frames in. BusProcess decides when they attach and end;
// process-output.ts decides when frames go out.

/**
 * One attached client. `want`: of a client that asked for acks (`?ack=stdin`), where the stdin its
 * next ack covers ends; `bytes`: what was sent to it and what it acknowledged (unacked.ts).
 */
interface Client {
  dropped: number;
  acks: boolean;
  want?: number;
  bytes: BoundedBytes;
}

/**
 * The clients attached to a process: frames to each, and how far behind each is (unacked.ts: its
 * unsent bytes where the platform counts them, else those it has not acknowledged). A client more
 * than `limit()` bytes behind misses frames (only a guest that cannot wait gets that far ahead:
 * BusProcess holds one that can), counted; once it has caught up it gets one stderr line saying
 * how many it missed, before the next frame. Every frame to a client is held to that bound
 * (socket-bound.ts): error frames wait out a client past it, counted, and a client past twice it
 * is closed (1008) and leaves at once, so the process waits for it no more. All of them together
 * are held to a budget too (socket-total.ts): past half of it a client's bound is its share where
 * that is less, and past the whole of it the clients furthest behind are closed and leave.
 */
export class Clients {
  #sockets = new Map<WebSocket, Client>();
  #total = new SocketTotal(
    (ws) => this.#sockets.get(ws)?.bytes,
    (ws) => this.#sockets.delete(ws),
  );
  constructor(readonly limit: () => number) {}

  add(ws: WebSocket, acks = false) {
    const state = { dropped: 0, acks, bytes: { ...noBytes(), unsent: 0 } };
    this.#sockets.set(ws, state);
    this.#total.note(ws, state.bytes);
  }

  /** Whether `ws` is still attached: not once it closed, or was closed for being too far behind. */
  has(ws: WebSocket): boolean {
    return this.#sockets.has(ws);
  }

  /** The last lines, to a client that attached: held to its bound as the lines that follow are. */
  replay(ws: WebSocket, frames: string[]) {
    const state = this.#sockets.get(ws);
    if (state) this.#lines(ws, state, frames, this.limit(), false);
  }

  /** An error frame answering a client's frame: not sent while the client is past its bound, only counted. */
  sendError(ws: WebSocket, err: BusError) {
    const state = this.#sockets.get(ws);
    try {
      if (state) this.#send(ws, state, errorText(err), true);
    } catch {
      // Where the process ended and closed the socket while the client's frame was on its way (it
      // crossed the end frame), the send fails: the end frame and the close said it.
    }
  }

  /**
   * A client's `{"received": n}`: BadRequest, changing nothing, where n is no count of what it was
   * sent. One that brings it back under its bound gets the count of error frames it was not sent.
   */
  received(ws: WebSocket, received: unknown) {
    const state = this.#sockets.get(ws);
    if (!state) return;
    acknowledge(state.bytes, received, "received");
    this.#total.note(ws, state.bytes);
    try {
      caughtUp(ws, state.bytes, this.limit(), errorText, this.#total);
    } catch {
      // it went away
    }
  }

  /** A frame to an attached client, but for the end frame (#put): one closed for being too far behind leaves at once (#total), so the process waits for it no more. */
  #send(ws: WebSocket, state: Client, frame: string, isError = false): Sent {
    return sendBounded(ws, state.bytes, this.limit(), frame, errorText, this.#total, isError);
  }

  /**
   * A client that asked for acks wants one once the store holds stdin up to `want` (a count as
   * `stdin_taken` counts); `stored` is how far it does now: the ack goes at once where that is far
   * enough, otherwise with the save that gets there (`stored`).
   */
  awaitAck(ws: WebSocket, want: number, stored: number | undefined) {
    const state = this.#sockets.get(ws);
    if (!state?.acks) return;
    state.want = Math.max(state.want ?? 0, want);
    if (stored !== undefined) this.#ack(ws, state, stored);
  }

  /**
   * A save stored stdin up to `count`: {"stdin_taken": count} to each client that asked for acks
   * and waits for that far. Sent past the bound (one per frame taken at most, so they grow no
   * faster than the client's own frames), but not past twice it: socket-bound.ts closes it there.
   */
  stored(count: number) {
    for (const [ws, state] of this.#sockets) this.#ack(ws, state, count);
  }

  #ack(ws: WebSocket, state: Client, count: number) {
    if (state.want === undefined || count < state.want) return;
    state.want = undefined;
    try {
      this.#send(ws, state, JSON.stringify({ stdin_taken: count }));
    } catch {
      // it went away: nothing to ack
    }
  }
  delete(ws: WebSocket) {
    this.#sockets.delete(ws);
    this.#total.gone(ws);
  }
  clear() {
    for (const ws of this.#sockets.keys()) this.#total.gone(ws);
    this.#sockets.clear();
  }
  sockets(): Iterable<WebSocket> {
    return this.#sockets.keys();
  }

  /** How far behind a client may be: its module's bound, or its share where the clients together are far behind (#total). */
  bound(): number {
    return this.#total.bound(this.limit());
  }

  /** Whether some client is more than `bytes` behind. */
  behind(bytes: number): boolean {
    for (const [ws, state] of this.#sockets) if (behind(ws, state.bytes) > bytes) return true;
    return false;
  }

  /** Frames (JSON text) to every client; `always`: the end frame, sent whatever is unsent. */
  send(frames: string[], always = false) {
    const limit = this.limit();
    for (const [ws, state] of this.#sockets) this.#lines(ws, state, frames, limit, always);
  }

  /** A line to a client; `last`: the end frame (and the count before it), which goes whatever is unsent, as the close follows it and nothing more can. */
  #put(ws: WebSocket, state: Client, frame: string, last: boolean): Sent {
    if (!last) return this.#send(ws, state, frame);
    sendCounted(ws, state.bytes, frame);
    this.#total.note(ws, state.bytes);
    return "sent";
  }

  /** Lines to a client past its bound (`#total.bound`, read at each: it shrinks where the clients together are far behind) it misses, counted. */
  #lines(ws: WebSocket, state: Client, frames: string[], limit: number, always: boolean) {
    try {
      for (const frame of frames) {
        if (!always && behind(ws, state.bytes) > this.#total.bound(limit)) {
          state.dropped++;
          continue;
        }
        if (state.dropped) {
          if (this.#put(ws, state, JSON.stringify({ stream: "stderr", line: `[wasm-bus] ${state.dropped} lines dropped: this client read too slowly` }), always) === "closed") return;
          state.dropped = 0;
        }
        if (this.#put(ws, state, frame, always) === "closed") return;
      }
    } catch {
      // a client that went away misses the frames; the rest still get them
    }
  }
}

/** The last frame a client gets: how the process ended. */
export function endFrame(info: ProcessInfo) {
  return info.status === "exited" ? { exit: info.code } : { failed: info.reason };
}

/** How a process's stdin is counted for acks: `taken`, where it ends; `stored`, how far the store holds it. */
export interface StdinCount {
  taken(): number;
  stored(): number | undefined;
}

/**
 * A client of a running process joins `clients`: its frames are stdin for `process()` (the one
 * running when each frame comes), and it leaves on close or error. `stdinChanged` hears each
 * write to stdin and its close (a snapshot must hold them: BusProcess). A client that asked for
 * acks gets the first at once where all stdin taken so far is stored (else with the save that
 * stores it), then one after each frame it wrote or closed with (the save after it). `replay`:
 * the frames it gets first (the last lines), held to its bound as the lines after them are.
 */
export function attachClient(clients: Clients, ws: WebSocket, process: () => Process | undefined, stdinChanged: () => void, acks?: StdinCount, replay: string[] = []) {
  clients.add(ws, acks !== undefined);
  clients.replay(ws, replay);
  if (acks) clients.awaitAck(ws, acks.taken(), acks.stored());
  ws.addEventListener("message", (e) => {
    // Closed for being too far behind: what it sent since is not taken.
    if (!clients.has(ws)) return;
    if (!input(process(), clients, ws, e.data)) return;
    // Not `stored` now: a close is not stored until the save after it, even where no byte came.
    if (acks) clients.awaitAck(ws, acks.taken(), undefined);
    stdinChanged();
  });
  ws.addEventListener("close", (e) => {
    clients.delete(ws);
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
    clients.delete(ws);
  });
}

/** What a text frame may be: every BadRequest about one says it. */
const TEXT_FRAMES =
  'a text frame is a JSON object: {"stdin": "<text>"}, {"close_stdin": true}, or both (bytes go as binary frames); or {"received": <bytes of every frame this socket received>}, alone';

/**
 * A frame from an attached client: stdin; true where it wrote or closed it. What the process has
 * not read yet is held to its module's `limits.stdinBytes`: a write past it is refused
 * (LimitExceeded), not buffered. Every frame that does nothing gets an error frame, `{"error",
 * "code", "codeName"}` (not while the client is past its bound: Clients.sendError), and the
 * socket stays open: BadRequest for a frame of the wrong shape, InvalidHandle for stdin once it
 * is closed or the process has ended (as the HTTP routes answer a process that is not running). A second close is no error: stdin is closed, as asked. An ack of
 * what the client received (`{"received": n}`) is no input: it goes to `clients`, whatever the
 * process's state, and a bad one gets BadRequest.
 */
function input(process: Process | undefined, clients: Clients, ws: WebSocket, message: string | ArrayBuffer): boolean {
  try {
    const frame = typeof message === "string" ? textFrame(message) : { bytes: new Uint8Array(message), close: false };
    if ("received" in frame) {
      clients.received(ws, frame.received);
      return false;
    }
    const stdin = openStdin(process);
    if (frame.bytes && !stdin.write(frame.bytes)) throw BusError.of("InvalidHandle", `process ${process!.info.id}: stdin is closed, so it takes no more input`);
    if (frame.close) stdin.close();
    return true;
  } catch (err) {
    clients.sendError(ws, BusError.from(err));
    return false;
  }
}

/** A text frame's stdin bytes and close, or its ack; BadRequest, saying what a frame is, for anything else. */
function textFrame(message: string): { bytes?: Uint8Array; close: boolean } | { received: unknown } {
  const refuse = (what: string) => BusError.of("BadRequest", `${what}: ${TEXT_FRAMES}`);
  let frame: unknown;
  try {
    frame = JSON.parse(message);
  } catch {
    throw refuse("the frame is not JSON");
  }
  if (typeof frame !== "object" || frame === null || Array.isArray(frame)) throw refuse(`the frame is ${frame === null ? "null" : Array.isArray(frame) ? "an array" : `a ${typeof frame}`}`);
  const { stdin, close_stdin: close, received, ...rest } = frame as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length) throw refuse(`unknown field ${JSON.stringify(unknown[0])}`);
  if (received !== undefined) {
    if (stdin !== undefined || close !== undefined) throw refuse("received goes in a frame of its own");
    return { received };
  }
  if (stdin !== undefined && typeof stdin !== "string") throw refuse(`stdin is a ${stdin === null ? "null" : typeof stdin}, not a string`);
  if (close !== undefined && close !== true) throw refuse("close_stdin is true or absent");
  if (stdin === undefined && close === undefined) throw refuse("the frame asks for nothing");
  return { bytes: stdin === undefined ? undefined : new TextEncoder().encode(stdin), close: close === true };
}

/** The stdin of a running process; InvalidHandle once it has ended (a frame that raced its end). */
function openStdin(process: Process | undefined): Pipe {
  if (process?.info.status !== "running") {
    throw BusError.of("InvalidHandle", `${process ? `process ${process.info.id}` : "the process"} is not running (${process?.info.status ?? "gone"}): it takes no more input`);
  }
  return process.stdin;
}

/** An error frame as an attached client reads it. */
function errorText(e: BusError): string {
  return JSON.stringify({ error: e.message, code: e.code, codeName: e.codeName });
}
