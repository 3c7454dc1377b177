import { BusError } from "../src/errors.js";
import type { SocketTotal } from "./socket-total.js";
import { behind, type SocketBytes, sendCounted } from "./unacked.js";

// The bound on how far behind a server socket's client may fall (limits.socketBufferBytes), held
// for every frame the server sends it, not only those the module or the process makes: what a
// client's own frames make the server send (error frames, faults, replies, acks of stdin) grows
// the object's memory as much, and that memory is every other client's too. Checked before each
// frame goes, where the growth happens: a session's and an attachment's frames all go through here,
// but for a process's end frame, which the close follows (process-sockets.ts: Clients.send). The
// object's sockets together are held as well (socket-total.ts), at each frame here.

/** A socket's bytes, and the error frames it was not sent for being past its bound. */
export interface BoundedBytes extends SocketBytes {
  unsent: number;
}

/** Past this many times its bound a socket is closed: the last resort against a client that neither reads nor acks. */
const CLOSE_AT = 2;

/** How a socket's protocol writes an error frame. */
export type ErrorFrame = (err: BusError) => string | Uint8Array;

/** What happened to a frame: it went, it was held back (an error frame past the bound), or the socket was closed instead. */
export type Sent = "sent" | "held" | "closed";

/**
 * Sends `frame` to a socket whose client may be `bound` bytes behind. An error frame (`isError`:
 * one that answers a client's frame and ends no call) is not sent while the client is past its
 * bound (`total.bound`: `bound`, or less while the object's sockets together are far behind),
 * only counted; once it is back under, the next frame is preceded by one error frame saying how
 * many were not. Any other frame goes, up to twice `bound`: a client past that is closed (1008)
 * instead, and gets nothing more. A frame that takes the object's sockets together past their
 * budget closes the clients furthest behind (SocketTotal.makeRoom), this one among them maybe.
 * Throws where the socket does (it went away).
 */
export function sendBounded(ws: WebSocket, bytes: BoundedBytes, bound: number, frame: string | Uint8Array, error: ErrorFrame, total: SocketTotal, isError = false): Sent {
  const late = behind(ws, bytes);
  if (late > CLOSE_AT * bound) {
    total.close(ws, `more than twice limits.socketBufferBytes (${bound}) unread or unacknowledged: closed`);
    return "closed";
  }
  if (late > total.bound(bound)) {
    if (!isError) return send(ws, bytes, bound, frame, total);
    bytes.unsent++;
    return "held";
  }
  if (caughtUp(ws, bytes, bound, error, total) === "closed") return "closed";
  return send(ws, bytes, bound, frame, total);
}

/** A client back under its bound (it acked, or its buffer drained) is told how many error frames it was not sent. */
export function caughtUp(ws: WebSocket, bytes: BoundedBytes, bound: number, error: ErrorFrame, total: SocketTotal): Sent | undefined {
  if (!bytes.unsent || behind(ws, bytes) > total.bound(bound)) return undefined;
  const n = bytes.unsent;
  bytes.unsent = 0;
  return send(ws, bytes, bound, error(BusError.of("LimitExceeded", `${n} error frame${n === 1 ? " was" : "s were"} not sent: this client was more than ${total.boundName(bound)} behind (unread, or unacknowledged)`)), total);
}

/** Sends a frame, counted in the socket's bytes and in the object's total, which it may take past its budget. */
function send(ws: WebSocket, bytes: BoundedBytes, bound: number, frame: string | Uint8Array, total: SocketTotal): Sent {
  sendCounted(ws, bytes, frame);
  total.note(ws, bytes);
  return total.makeRoom(bound).includes(ws) ? "closed" : "sent";
}
