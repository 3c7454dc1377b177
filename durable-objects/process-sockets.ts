import { BusError } from "../src/errors.js";
import type { Process, ProcessInfo } from "../src/process.js";

// The WebSockets attached to a process (GET /processes/:id/attach): frames out to each, with the
// count of what a slow one missed; stdin frames in. BusProcess decides when they attach and end;
// process-output.ts decides when frames go out.

/**
 * The clients attached to a process: frames to each, and how far behind each is. A client with
 * more than `limit()` bytes unsent misses frames (only a guest that cannot wait gets that far
 * ahead: BusProcess holds one that can), counted; once it has caught up it gets one stderr line
 * saying how many it missed, before the next frame.
 */
export class Clients {
  #sockets = new Map<WebSocket, { dropped: number }>();
  constructor(readonly limit: () => number) {}

  add(ws: WebSocket) {
    this.#sockets.set(ws, { dropped: 0 });
  }
  delete(ws: WebSocket) {
    this.#sockets.delete(ws);
  }
  clear() {
    this.#sockets.clear();
  }
  sockets(): Iterable<WebSocket> {
    return this.#sockets.keys();
  }

  /** Whether some client has more than `bytes` unsent. */
  behind(bytes: number): boolean {
    for (const ws of this.#sockets.keys()) if (ws.bufferedAmount > bytes) return true;
    return false;
  }

  /** Frames (JSON text) to every client; `always`: the end frame, sent whatever is unsent. */
  send(frames: string[], always = false) {
    const limit = this.limit();
    for (const [ws, state] of this.#sockets) {
      try {
        for (const frame of frames) {
          if (!always && ws.bufferedAmount > limit) {
            state.dropped++;
            continue;
          }
          if (state.dropped) {
            ws.send(JSON.stringify({ stream: "stderr", line: `[wasm-bus] ${state.dropped} lines dropped: this client read too slowly` }));
            state.dropped = 0;
          }
          ws.send(frame);
        }
      } catch {
        // a client that went away misses the frames; the rest still get them
      }
    }
  }
}

/** The last frame a client gets: how the process ended. */
export function endFrame(info: ProcessInfo) {
  return info.status === "exited" ? { exit: info.code } : { failed: info.reason };
}

/**
 * A client of a running process joins `clients`: its frames are stdin for `process()` (the one
 * running when each frame comes), and it leaves on close or error. `stdinChanged` hears each
 * write to stdin and its close (a snapshot must hold them: BusProcess).
 */
export function attachClient(clients: Clients, ws: WebSocket, process: () => Process | undefined, stdinChanged: () => void) {
  clients.add(ws);
  ws.addEventListener("message", (e) => {
    if (input(process(), ws, e.data)) stdinChanged();
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

/**
 * A frame from an attached client: stdin; true where it wrote or closed it. What the process has not read yet is held to its
 * module's `limits.stdinBytes`: a write past it is refused with an error frame
 * (`{"error", "code", "codeName": "LimitExceeded"}`), not buffered.
 */
function input(process: Process | undefined, ws: WebSocket, message: string | ArrayBuffer): boolean {
  if (!process || process.info.status !== "running") {
    ws.send(JSON.stringify({ error: "the process is not running; stdin is closed" }));
    return false;
  }
  try {
    if (typeof message !== "string") {
      process.stdin.write(new Uint8Array(message));
      return true;
    }
    let frame: { stdin?: unknown; close_stdin?: unknown };
    try {
      frame = JSON.parse(message);
    } catch {
      ws.send(JSON.stringify({ error: 'text frames are JSON: {"stdin": "..."} or {"close_stdin": true}' }));
      return false;
    }
    if (typeof frame.stdin === "string") process.stdin.write(new TextEncoder().encode(frame.stdin));
    if (frame.close_stdin === true) process.stdin.close();
    return true;
  } catch (err) {
    const e = BusError.from(err);
    ws.send(JSON.stringify({ error: e.message, code: e.code, codeName: e.codeName }));
    return false;
  }
}
