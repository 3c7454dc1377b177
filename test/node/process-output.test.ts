/// <reference types="node" />
// Output at volume, end to end: wrangler dev (unstable_startWorker, behind its proxy, as `npm
// start` serves) runs test/guests/wasi-probe as a process printing 100,000 lines, one fd_write
// each; a real `ws` client attached to it gets every line in order, and the server answers other
// requests throughout. A process printing 30,000 lines used to exhaust the dev server's open
// files (a console call, and a connection, per line). Also: tty and stdin over POST /processes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";

type StartedWorker = Awaited<ReturnType<typeof import("wrangler").unstable_startWorker>>;

let worker: StartedWorker | undefined;
let origin = "";

beforeAll(async () => {
  process.env.WRANGLER_SEND_METRICS ??= "false";
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  const { unstable_startWorker } = await import("wrangler");
  worker = await unstable_startWorker({
    config: "wrangler.toml",
    entrypoint: "test/node/process-worker.ts",
    dev: { server: { hostname: "127.0.0.1", port: 0 }, inspector: false, persist: false, watch: false, logLevel: "warn" },
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

async function until(id: string, done: (p: { status: string }) => boolean, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const info = (await (await fetch(`${origin}/processes/${id}`)).json()) as { status: string; code?: number };
    if (done(info) || Date.now() > deadline) return info;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Attaches; resolves once open. `frames` fills as they come; `closed` resolves at the close. It
 * acknowledges what it received every 64 KiB, as a client that wants more than socketBufferBytes does.
 */
async function attach(id: string) {
  const ws = new WebSocket(`${origin.replace("http", "ws")}/processes/${id}/attach`);
  const frames: Record<string, unknown>[] = [];
  let received = 0;
  let acked = 0;
  ws.on("message", (data) => {
    const text = String(data);
    received += Buffer.byteLength(text);
    frames.push(JSON.parse(text) as Record<string, unknown>);
    if (received - acked < 64 << 10) return;
    acked = received;
    ws.send(JSON.stringify({ received }));
  });
  const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return { ws, frames, closed };
}

/** GET /processes/:id every 25 ms while `running()`: each answer's latency, and any failure. */
function probeServer(path: string, running: () => boolean) {
  const latencies: number[] = [];
  const failures: string[] = [];
  const done = (async () => {
    while (running()) {
      const started = Date.now();
      try {
        const res = await fetch(`${origin}${path}`);
        await res.arrayBuffer();
        if (res.status !== 200) failures.push(`status ${res.status}`);
      } catch (err) {
        failures.push(String(err));
      }
      latencies.push(Date.now() - started);
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  return { latencies, failures, done };
}

describe("a process printing 100,000 lines (wasi-probe print 100000)", () => {
  it("completes; an attached client gets every line in order; the server answers throughout", { timeout: 120_000 }, async () => {
    const N = 100_000;
    // It prints once its stdin ends, so the client is attached before the first line.
    const id = await spawn({ module: "wasi-probe", args: ["print", String(N), "wait"], stdinOpen: true });
    const { ws, frames, closed } = await attach(id);
    let running = true;
    const server = probeServer("/modules", () => running);
    const started = Date.now();
    ws.send(JSON.stringify({ close_stdin: true }));
    const code = await closed;
    const elapsed = Date.now() - started;
    running = false;
    await server.done;
    const lines = frames.filter((f) => f.stream === "stdout").map((f) => f.line);
    console.log(
      `100,000 lines: ${elapsed} ms to the close; ${server.latencies.length} other requests meanwhile, slowest ${Math.max(...server.latencies)} ms, median ${server.latencies.sort((a, b) => a - b)[server.latencies.length >> 1]} ms`,
    );
    expect(code).toBe(1000);
    expect(frames.at(-1)).toEqual({ exit: 0 });
    expect(frames.filter((f) => f.stream === "stderr")).toEqual([]); // nothing dropped
    expect(lines.length).toBe(N);
    const outOfOrder = lines.findIndex((l, i) => l !== `line ${i}`);
    expect(outOfOrder, `line ${outOfOrder}: ${String(lines[outOfOrder])}`).toBe(-1);
    expect(server.failures).toEqual([]);
    expect(server.latencies.length).toBeGreaterThan(3);
    expect(Math.max(...server.latencies)).toBeLessThan(2000);
    // The log table keeps the last 1,000 lines.
    const logs = (await (await fetch(`${origin}/processes/${id}/logs`)).json()) as { lines: { msg: string; stream?: string }[] };
    const stored = logs.lines.filter((l) => l.stream === "stdout").map((l) => l.msg);
    expect(stored.length).toBeGreaterThan(900);
    expect(stored.at(-1)).toBe(`line ${N - 1}`);
  });

  it("a client that stops reading holds the process back (backpressure), then gets every line", { timeout: 120_000 }, async () => {
    // More than the kernel's and the proxy's socket buffers take on loopback (about 14 MB of frames),
    // so the object's own buffer fills while the client reads nothing.
    const N = 400_000;
    const id = await spawn({ module: "wasi-probe", args: ["print", String(N), "wait"], stdinOpen: true });
    const { ws, frames, closed } = await attach(id);
    // Stop reading from the socket: the TCP window, the proxy's and the object's buffers fill.
    const socket = (ws as unknown as { _socket: import("node:net").Socket })._socket;
    socket.pause();
    ws.send(JSON.stringify({ close_stdin: true }));
    await new Promise((r) => setTimeout(r, 3000));
    const whilePaused = await until(id, () => true);
    socket.resume();
    const code = await closed;
    const lines = frames.filter((f) => f.stream === "stdout").map((f) => f.line);
    console.log(`slow client: ${whilePaused.status} after 3 s paused; then ${lines.length} lines`);
    expect(whilePaused.status, "the process ran on while its only client read nothing").toBe("running");
    expect(code).toBe(1000);
    expect(frames.at(-1)).toEqual({ exit: 0 });
    expect(lines.length).toBe(N);
    expect(lines.findIndex((l, i) => l !== `line ${i}`)).toBe(-1);
  });
});

describe("stdio over POST /processes", () => {
  it('pipes by default, a terminal with "tty": true', async () => {
    const ids = [await spawn({ module: "wasi-probe", args: ["stdio"] }), await spawn({ module: "wasi-probe", args: ["stdio"], tty: true })];
    const out: string[] = [];
    for (const id of ids) {
      expect(await until(id, (p) => p.status !== "running")).toMatchObject({ status: "exited", code: 0 });
      const logs = (await (await fetch(`${origin}/processes/${id}/logs`)).json()) as { lines: { msg: string; stream?: string }[] };
      out.push(logs.lines.filter((l) => l.stream === "stdout").at(-1)!.msg);
    }
    expect(out).toEqual(["terminal stdin=false stdout=false stderr=false", "terminal stdin=true stdout=true stderr=true"]);
  });

  it("the stdin of the request is the whole input: a filter ends without anyone attached", async () => {
    const id = await spawn({ module: "wasi-probe", args: ["cat"], stdin: "a\nb\n" });
    expect(await until(id, (p) => p.status !== "running")).toMatchObject({ status: "exited", code: 0 });
  });
});
