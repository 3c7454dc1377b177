import { BusError } from "../src/errors.js";
import { utf8Length } from "../src/utf8-length.js";

// How far behind the client of one server socket is, the one measure every socket bound uses
// (every frame to a process's attached client or a session's client: socket-bound.ts). The
// platform's `bufferedAmount` where it is a number; workerd does not always have it
// (cloudflare/workerd#988: undefined on a socket whose client is in the same workerd, as in the
// workers tests), and then it is what the client has not acknowledged: the bytes sent to it less
// the bytes it says it received. A client that never acknowledges is held to the same bound:
// everything sent to it stays unacknowledged (docs/host.md, "How far behind a client is", says
// so, and why).

/** What was sent to one socket and what its client acknowledged, in bytes, since it opened. */
export interface SocketBytes {
  sent: number;
  acked: number;
}

/** A socket's bytes sent and unacknowledged so far: none. */
export function noBytes(): SocketBytes {
  return { sent: 0, acked: 0 };
}

/** Bytes on the wire of a frame: a text frame's UTF-8 (a lone surrogate goes as U+FFFD, 3 bytes). */
export function frameBytes(frame: string | ArrayBuffer | ArrayBufferView): number {
  return typeof frame === "string" ? utf8Length(frame) : frame.byteLength;
}

/** Sends `frame` and counts it; throws where the socket does (it went away). */
export function sendCounted(ws: WebSocket, bytes: SocketBytes, frame: string | Uint8Array): void {
  ws.send(frame);
  bytes.sent += frameBytes(frame);
}

/** How many bytes the socket's client is behind: unsent where the platform says, else unacknowledged. */
export function behind(ws: WebSocket, bytes: SocketBytes): number {
  const buffered = (ws as { bufferedAmount?: unknown }).bufferedAmount;
  return typeof buffered === "number" ? buffered : bytes.sent - bytes.acked;
}

/**
 * A client's ack: `received`, the bytes of all frames it received on this socket so far. One that
 * is not such a count (not an integer, negative, more than was sent, less than an ack before it)
 * is BadRequest, saying which, and changes nothing; `what` names the field in the client's frame.
 */
export function acknowledge(bytes: SocketBytes, received: unknown, what: string): void {
  const refuse = (why: string) => BusError.of("BadRequest", `${what} ${why}: it is the count of bytes of every frame this socket received so far`);
  if (received === undefined) throw refuse("is missing");
  // An integer past 2^53 (a bigint is a msgpack 64-bit one) is still one: more than was sent.
  if (typeof received !== "bigint" && !Number.isInteger(received)) throw refuse(`is ${kind(received)}, not an integer`);
  const n = received as number | bigint;
  if (n < 0) throw refuse(`is ${n}, negative`);
  if (n > bytes.sent) throw refuse(`is ${n}, more than the ${bytes.sent} bytes sent to it`);
  if (n < bytes.acked) throw refuse(`is ${n}, less than the ${bytes.acked} acknowledged before`);
  bytes.acked = Number(n);
}

/** What a value that is no integer is, for a client to read (JSON or msgpack). */
function kind(value: unknown): string {
  if (value === null || typeof value === "number") return String(value);
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return "bytes";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}
