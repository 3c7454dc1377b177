// A process's output at volume inside workerd: Workers logs get batches, not a console call per
// line (wrangler dev opened a connection per console line); the log table keeps the last lines;
// a client too far behind misses lines with a counted summary (only where the guest cannot wait:
// test/node/process-output.test.ts shows the wait, over real sockets).
import { afterEach, describe, expect, it, vi } from "vitest";
import { modules } from "../build/registry.js";
import { modules as testGuests } from "../build/test-registry.js";
import { Clients, setProcessModules } from "../durable-objects/bus-process.js";
import { KEEP_BYTES } from "../durable-objects/process-output.js";
import { KEEP_LINES } from "../src/log.js";
import type { LogLine } from "../src/log.js";
import { post, spawnGuest, worker } from "./worker.js";

setProcessModules({ ...modules, ...testGuests }); // spew-rs, a test guest, runs as a process

afterEach(() => {
  vi.restoreAllMocks();
});

async function finished(id: string, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const info = (await (await worker(`/processes/${id}`)).json()) as { status: string; code?: number };
    if (info.status !== "running" || Date.now() > deadline) return info;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("process output at volume", () => {
  it("5,000 lines reach Workers logs in a handful of console calls, and the log table keeps the last 1,000", async () => {
    const calls: string[] = [];
    for (const m of ["log", "warn", "error", "info", "debug"] as const) {
      vi.spyOn(console, m).mockImplementation((...args: unknown[]) => void calls.push(args.map(String).join(" ")));
    }
    const input = Array.from({ length: 5000 }, (_, i) => `l${i}`).join("\n") + "\n";
    const res = await post("/processes", { module: "upcase", stdin: input });
    expect(res.status, await res.clone().text()).toBe(201);
    const { id } = (await res.json()) as { id: string };
    expect(await finished(id)).toMatchObject({ status: "exited", code: 0 });
    const { lines } = (await (await worker(`/processes/${id}/logs`)).json()) as { lines: LogLine[] };
    vi.restoreAllMocks();
    const ours = calls.filter((c) => c.includes(id));
    expect(ours.length, `${ours.length} console calls`).toBeGreaterThan(0);
    expect(ours.length, `${ours.length} console calls`).toBeLessThanOrEqual(40);
    const batched = ours.map((c) => JSON.parse(c) as { lines?: number; batch?: LogLine[] }).reduce((n, c) => n + (c.batch?.length ?? 1), 0);
    expect(batched).toBe(5000); // every line, within the instance's logBytes
    const stdout = lines.filter((l) => l.stream === "stdout").map((l) => l.msg);
    expect(stdout).toHaveLength(1000);
    expect(stdout[0]).toBe("L4000");
    expect(stdout.at(-1)).toBe("L4999");
  });
});

describe("the log table keeps the last KEEP_LINES lines", () => {
  it("all of them where a process wrote exactly that many: none of its first batch is counted twice", async () => {
    const input = Array.from({ length: KEEP_LINES }, (_, i) => `l${i}`).join("\n") + "\n";
    const res = await post("/processes", { module: "upcase", stdin: input });
    expect(res.status, await res.clone().text()).toBe(201);
    const { id } = (await res.json()) as { id: string };
    expect(await finished(id)).toMatchObject({ status: "exited", code: 0 });
    const { lines } = (await (await worker(`/processes/${id}/logs`)).json()) as { lines: LogLine[] };
    const stdout = lines.filter((l) => l.stream === "stdout").map((l) => l.msg);
    expect(stdout).toHaveLength(KEEP_LINES);
    expect(stdout[0]).toBe("L0");
  });
});

describe("the log table keeps at most KEEP_BYTES of lines, counted as the JSON GET /logs answers", () => {
  /** GET /processes/:id/logs of a process that ran `spew-rs args` to its end: the body's size and lines. */
  async function spewed(args: string[]) {
    const id = await spawnGuest("spew-rs", args);
    expect(await finished(id, 15_000)).toMatchObject({ status: "exited", code: 0 });
    const res = await worker(`/processes/${id}/logs`);
    const body = await res.text();
    expect(res.status, body.slice(0, 300)).toBe(200);
    return { bytes: new TextEncoder().encode(body).length, lines: (JSON.parse(body) as { lines: LogLine[] }).lines };
  }

  it("600 lines of 60,000 characters (36 MB, past the RPC's 32 MiB): /logs answers with the last of them, within 4 MiB", async () => {
    const { bytes, lines } = await spewed(["600", "60000"]);
    expect(bytes).toBeLessThanOrEqual(KEEP_BYTES + 16 * 1024); // the lines, and the body's brackets and commas
    expect(bytes).toBeGreaterThan(KEEP_BYTES - 2 * 60_100); // trimmed by the line, not emptied
    const out = lines.filter((l) => l.stream === "stdout");
    expect(out.length).toBe(lines.length);
    expect(out.every((l) => l.msg === "x".repeat(60_000))).toBe(true);
  });

  it("control characters count escaped: 100 lines of 65,000 \\x01 (6.5 MB, six times that as JSON) stay within 4 MiB", async () => {
    const { bytes, lines } = await spewed(["100", "65000", "1"]);
    expect(bytes).toBeLessThanOrEqual(KEEP_BYTES + 16 * 1024);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.at(-1)!.msg).toBe("\x01".repeat(65_000));
  });
});

/** A socket whose unsent bytes the test sets. */
function fakeSocket() {
  const sent: string[] = [];
  return { sent, bufferedAmount: 0, send: (t: string) => void sent.push(t) };
}

describe("Clients: a client too far behind misses lines, and is told how many", () => {
  it("drops frames past the limit for that client only, then one stderr line with the count", () => {
    const clients = new Clients(() => 1000);
    const slow = fakeSocket();
    const fast = fakeSocket();
    clients.add(slow as unknown as WebSocket);
    clients.add(fast as unknown as WebSocket);
    const frame = (i: number) => JSON.stringify({ stream: "stdout", line: `line ${i}` });
    clients.send([frame(0), frame(1)]);
    slow.bufferedAmount = 5000;
    expect(clients.behind(999)).toBe(true);
    clients.send([frame(2), frame(3), frame(4)]);
    slow.bufferedAmount = 0;
    expect(clients.behind(999)).toBe(false);
    clients.send([frame(5)]);
    expect(fast.sent).toEqual([0, 1, 2, 3, 4, 5].map(frame));
    expect(slow.sent).toEqual([frame(0), frame(1), JSON.stringify({ stream: "stderr", line: "[wasm-bus] 3 lines dropped: this client read too slowly" }), frame(5)]);
  });

  it("the end frame goes out whatever is unsent, after the count", () => {
    const clients = new Clients(() => 10);
    const slow = fakeSocket();
    clients.add(slow as unknown as WebSocket);
    slow.bufferedAmount = 100;
    clients.send(["a", "b"]);
    clients.send(['{"exit":0}'], true);
    expect(slow.sent).toEqual([JSON.stringify({ stream: "stderr", line: "[wasm-bus] 2 lines dropped: this client read too slowly" }), '{"exit":0}']);
  });
});
