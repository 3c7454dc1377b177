import { BusError } from "../src/errors.js";

// How far behind the client of one server socket is, the one measure every socket bound uses
// (a process's attached clients, a session's callbacks). The platform's `bufferedAmount` where it
// is a number; workerd does not always have it (cloudflare/workerd#988: undefined on a socket
// whose client is in the same workerd, as in the workers tests), and then it is what the client
// has not acknowledged: the bytes sent to it less the bytes it says it received. A client that
// never acknowledges is held to the same bound: everything sent to it stays unacknowledged
// (docs/host.md, "How far behind a client is", says so, and why).

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
  if (typeof frame !== "string") return frame.byteLength;
  let bytes = frame.length;
  for (let i = 0; i < frame.length; i++) {
    const c = frame.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < frame.length && (frame.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a pair: 4 bytes for its 2 units
      i++;
    } else bytes += 2;
  }
  return bytes;
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
  if (typeof received !== "number" || !Number.isSafeInteger(received)) {
    throw refuse(`is ${received === null ? "null" : typeof received === "number" ? String(received) : `a ${typeof received}`}, not an integer`);
  }
  if (received < 0) throw refuse(`is ${received}, negative`);
  if (received > bytes.sent) throw refuse(`is ${received}, more than the ${bytes.sent} bytes sent to it`);
  if (received < bytes.acked) throw refuse(`is ${received}, less than the ${bytes.acked} acknowledged before`);
  bytes.acked = received;
}
