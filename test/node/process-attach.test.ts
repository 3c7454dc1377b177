/// <reference types="node" />
// Runs in Node (the "node" vitest project): GET /processes/:id/attach with a real `ws` client over
// a real socket, against the Worker started with wrangler's unstable_startWorker on 127.0.0.1.
// A client's `close` event waits for the TCP connection to end, which the in-workerd tests
// (test/processes.test.ts) cannot see: there the client is a WebSocketPair end, not a socket.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";

type StartedWorker = Awaited<ReturnType<typeof import("wrangler").unstable_startWorker>>;

let worker: StartedWorker | undefined;
let origin = "";

/** How soon after the end frame the socket must be closed. */
const CLOSE_MS = 1000;

beforeAll(async () => {
  process.env.WRANGLER_SEND_METRICS ??= "false";
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  const { unstable_startWorker } = await import("wrangler");
  worker = await unstable_startWorker({
    config: "wrangler.toml",
    dev: { server: { hostname: "127.0.0.1", port: 0 }, inspector: false, persist: false, watch: false },
  });
  await worker.ready;
  origin = (await worker.url).origin;
});

afterAll(async () => {
  await worker?.dispose();
});

async function spawn(body: object): Promise<string> {
  const res = await fetch(`${origin}/processes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

interface Attached {
  ws: WebSocket;
  frames: Record<string, unknown>[];
  /** When the end frame ({"exit"} or {"failed"}) came. */
  endedAt(): number;
  /** The close (code, reason, when), or null if the socket is still open after `ms`. */
  closedWithin(ms: number): Promise<{ code: number; reason: string; at: number } | null>;
}

async function attach(id: string): Promise<Attached> {
  const ws = new WebSocket(`${origin.replace("http", "ws")}/processes/${id}/attach`);
  const frames: Record<string, unknown>[] = [];
  let endedAt = 0;
  ws.on("message", (data) => {
    const frame = JSON.parse(String(data)) as Record<string, unknown>;
    frames.push(frame);
    if ("exit" in frame || "failed" in frame) endedAt = Date.now();
  });
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) =>
    ws.on("close", (code, reason) => resolve({ code, reason: String(reason), at: Date.now() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return {
    ws,
    frames,
    endedAt: () => endedAt,
    closedWithin: async (ms) => {
      let timer: NodeJS.Timeout | undefined;
      const result = await Promise.race([closed, new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)))]);
      clearTimeout(timer);
      if (!result) ws.terminate();
      return result;
    },
  };
}

describe("GET /processes/:id/attach with a real WebSocket client", () => {
  it("closes (1000) right after the end frame when the process exits on its own", async () => {
    const id = await spawn({ module: "countdown", args: ["2", "50"] });
    const attached = await attach(id);
    const close = await attached.closedWithin(5000 + CLOSE_MS);
    expect(attached.frames.at(-1)).toEqual({ exit: 0 });
    expect(close, "still open long after the end frame").not.toBeNull();
    expect(close).toMatchObject({ code: 1000, reason: "exited" });
    expect(close!.at - attached.endedAt()).toBeLessThan(CLOSE_MS);
  });

  it("closes right after the end frame when the process is killed; DELETE answers exited 137", async () => {
    const id = await spawn({ module: "upcase", args: [], stdin: "a\n", stdinOpen: true });
    const attached = await attach(id);
    await new Promise((r) => setTimeout(r, 50));
    const killed = await (await fetch(`${origin}/processes/${id}`, { method: "DELETE" })).json();
    const close = await attached.closedWithin(3000);
    expect(attached.frames).toEqual([{ stream: "stdout", line: "A" }, { exit: 137 }]);
    expect(close, "still open long after the end frame").not.toBeNull();
    expect(close).toMatchObject({ code: 1000, reason: "exited" });
    expect(close!.at - attached.endedAt()).toBeLessThan(CLOSE_MS);
    expect(killed).toMatchObject({ status: "exited", code: 137 });
  });

  it("closes right after the end frame when stdin closes (the process exits inside the socket's own event)", async () => {
    const id = await spawn({ module: "upcase", args: [], stdin: "b\n", stdinOpen: true });
    const attached = await attach(id);
    attached.ws.send(JSON.stringify({ close_stdin: true }));
    const close = await attached.closedWithin(3000);
    expect(attached.frames).toEqual([{ stream: "stdout", line: "B" }, { exit: 0 }]);
    expect(close).toMatchObject({ code: 1000, reason: "exited" });
    expect(close!.at - attached.endedAt()).toBeLessThan(CLOSE_MS);
  });

  it("attaching to a process that has ended: its output, the end frame, then the close", async () => {
    const id = await spawn({ module: "countdown", args: ["1", "1"] });
    for (let i = 0; i < 100; i++) {
      const info = (await (await fetch(`${origin}/processes/${id}`)).json()) as { status: string };
      if (info.status !== "running") break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const attached = await attach(id);
    const close = await attached.closedWithin(3000);
    expect(attached.frames).toEqual([{ stream: "stdout", line: "1" }, { exit: 0 }]);
    expect(close, "the socket of an ended process stays open").not.toBeNull();
    expect(close).toMatchObject({ code: 1000, reason: "exited" });
  });

  it("a client that closes first gets the closing handshake back at once", async () => {
    const id = await spawn({ module: "upcase", args: [] });
    const attached = await attach(id);
    const started = Date.now();
    attached.ws.close(1000, "bye");
    const close = await attached.closedWithin(3000);
    expect(close, "the server never completed the closing handshake").not.toBeNull();
    expect(close!.code).toBe(1000);
    expect(close!.at - started).toBeLessThan(CLOSE_MS);
    await fetch(`${origin}/processes/${id}`, { method: "DELETE" });
  });
});
