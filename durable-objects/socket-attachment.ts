import type { BoundedBytes } from "./socket-bound.js";

/** What a session's socket keeps through hibernation. */
export interface Attachment {
  /** This socket's key in the live_calls table. */
  sid: string;
  /** The bytes sent to it and those its client acknowledged (unacked.ts); absent on a socket accepted before they were counted. */
  sent?: number;
  acked?: number;
  /** Error frames it was not sent for being past its bound (socket-bound.ts); absent where none. */
  unsent?: number;
}

/** A socket's key and its bytes, as its attachment keeps them. */
export type SocketState = Required<Attachment> & BoundedBytes;

/**
 * Each socket's attachment as last written, so that a frame reads its counts from memory: reading
 * the attachment back (a structured-clone deserialization in workerd) on every frame was two of
 * the three attachment calls per frame of a chat fan-out (docs/performance.md, "The socket's
 * attachment, per frame"). An entry is filled from the attachment on the socket's first use since
 * the object woke: the sockets are new objects after hibernation, so none is found for them. It
 * never holds more than the attachment does, since every change is written at once (`saveState`).
 */
const states = new WeakMap<WebSocket, SocketState>();

/** A socket's state: from memory, or from its attachment the first time since the object woke. */
export function stateOf(ws: WebSocket): SocketState {
  let state = states.get(ws);
  if (!state) {
    const { sid, sent = 0, acked = 0, unsent = 0 } = ws.deserializeAttachment() as Attachment;
    states.set(ws, (state = { sid, sent, acked, unsent }));
  }
  return state;
}

/**
 * Writes a socket's changed state to its attachment, before the event that changed it ends:
 * hibernation may follow any idle moment, with no hook before it, and what it keeps of the
 * socket is its attachment alone.
 */
export function saveState(ws: WebSocket, state: SocketState): void {
  ws.serializeAttachment(state);
}

/** A new socket's state: its key, nothing sent. */
export function newState(ws: WebSocket, sid: string): void {
  const state: SocketState = { sid, sent: 0, acked: 0, unsent: 0 };
  saveState(ws, state);
  states.set(ws, state);
}
