import { pack, unpack } from "msgpackr";
import { expect } from "vitest";
import { worker } from "./worker.js";

export type Frame = { type: string; id?: number; topic?: string; payload?: Uint8Array; codeName?: string; error?: string };

/** A bus client inside workerd: the WebSocket of a fetch upgrade, frames buffered as they come. */
/** A bus client for `path`, opened through the Worker (or `fetch`: a session object's stub, for modules the Worker does not serve). */
export async function open(path: string, fetch: (path: string, init: RequestInit) => Promise<Response> = worker) {
  const res = await fetch(path, { headers: { upgrade: "websocket" } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  const frames: Frame[] = [];
  let wake: (() => void) | undefined;
  /** Bytes of every frame received so far, as an ack counts them. */
  let received = 0;
  // Binary messages arrive as Blobs here: read them in order.
  let order = Promise.resolve();
  ws.addEventListener("message", (e) => {
    const data = e.data as Blob | ArrayBuffer;
    order = order.then(async () => {
      const bytes = new Uint8Array(data instanceof ArrayBuffer ? data : await data.arrayBuffer());
      received += bytes.length;
      frames.push(unpack(bytes) as Frame);
      wake?.();
    });
  });
  const next = async (match: (f: Frame) => boolean, ms = 5000): Promise<Frame> => {
    const until = Date.now() + ms;
    for (;;) {
      const i = frames.findIndex(match);
      if (i >= 0) return frames.splice(i, 1)[0]!;
      if (Date.now() > until) throw new Error(`no matching frame in ${ms} ms; have ${JSON.stringify(frames)}`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 50);
      });
    }
  };
  const call = (id: number, topic: string, body: unknown, extra: Record<string, unknown> = {}) =>
    ws.send(pack({ type: "call", id, topic, format: "json", payload: new TextEncoder().encode(JSON.stringify(body)), ...extra }));
  const json = (f: Frame) => JSON.parse(new TextDecoder().decode(f.payload));
  /** Acknowledges `bytes` (all received so far by default). */
  const ack = (bytes: unknown = received) => ws.send(pack({ type: "ack", bytes }));
  return { ws, frames, next, call, json, ack, received: () => received };
}

