// The session socket's attachment work per frame, in workerd (bench/session-attachment.mjs): a
// Durable Object holding one hibernatable socket does, for each of `n` frames, what a session does
// for one callback frame but the send itself: the bound check's read of the socket's counts, the
// send's read, and the write of the new count.
import { DurableObject } from "cloudflare:workers";
import { type Attachment, saveState, stateOf } from "../../durable-objects/socket-attachment.js";

const FRAME = 70; // bytes of a short chat callback frame

const kinds: Record<string, (ws: WebSocket, n: number) => number> = {
  // As bus-session.ts did before the counts were kept in memory: every read is the attachment's.
  attachment(ws, n) {
    let behind = 0;
    for (let i = 0; i < n; i++) {
      const bound = ws.deserializeAttachment() as Attachment;
      behind += (bound.sent ?? 0) - (bound.acked ?? 0);
      const { sid, sent = 0, acked = 0 } = ws.deserializeAttachment() as Attachment;
      ws.serializeAttachment({ sid, sent: sent + FRAME, acked });
    }
    return behind;
  },
  // As it does now (durable-objects/socket-attachment.ts): reads from memory, the write alone.
  memory(ws, n) {
    let behind = 0;
    for (let i = 0; i < n; i++) {
      const bound = stateOf(ws);
      behind += bound.sent - bound.acked;
      const state = stateOf(ws);
      state.sent += FRAME;
      saveState(ws, state);
    }
    return behind;
  },
  // The loop alone.
  none(_ws, n) {
    let behind = 0;
    for (let i = 0; i < n; i++) behind += i;
    return behind;
  },
};

export class Frames extends DurableObject {
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/socket") {
      const { 0: client, 1: server } = new WebSocketPair();
      this.ctx.acceptWebSocket(server);
      server.serializeAttachment({ sid: crypto.randomUUID() } satisfies Attachment);
      return new Response(null, { status: 101, webSocket: client });
    }
    const kind = kinds[url.searchParams.get("kind") ?? ""];
    const ws = this.ctx.getWebSockets()[0];
    if (!kind || !ws) return new Response("no such kind, or no socket yet", { status: 400 });
    return new Response(String(kind(ws, Number(url.searchParams.get("n")))));
  }
}

export default {
  fetch(request: Request, env: { FRAMES: DurableObjectNamespace }) {
    return env.FRAMES.get(env.FRAMES.idFromName("one")).fetch(request);
  },
};
