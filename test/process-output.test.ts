// A process's output at volume inside workerd: Workers logs get batches, not a console call per
// line (wrangler dev opened a connection per console line); the log table keeps the last lines;
// a client too far behind misses lines with a counted summary (only where the guest cannot wait:
// test/node/process-output.test.ts shows the wait, over real sockets).
import { afterEach, describe, expect, it, vi } from "vitest";
import { Clients } from "../durable-objects/bus-process.js";
import type { LogLine } from "../src/log.js";
import { post, worker } from "./worker.js";

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
