import { describe, expect, it } from "vitest";
import { open } from "./bus-socket.js";
import { guestApp } from "./helpers.js";
import { post } from "./worker.js";

/**
 * The AssemblyScript SDK collects garbage between events, not after every one
 * (docs/performance.md, Memory). Once a guest's memory is at its maximum
 * (limits.memoryPages) it cannot grow, so garbage must be collected before it
 * fills the memory: a run of large but valid requests on one instance must
 * never trap for want of a collection.
 */
describe("AssemblyScript guests under large requests on one instance", () => {
  it("hello greets a 300 KB name 80 times in a row on a pooled instance", async () => {
    const name = "x".repeat(300_000);
    const failures: string[] = [];
    for (let i = 0; i < 80; i++) {
      const res = await post("/call/hello/greet", { name });
      if (res.status !== 200) {
        failures.push(`#${i}: ${res.status} ${await res.text()}`);
        continue;
      }
      const body = (await res.json()) as { message: string };
      expect(body.message.length).toBe(300_000 + "Hello, !".length);
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it("chat carries 100 posts of 100 KB to a room of two members", async () => {
    const room = `gc-${Date.now()}`;
    const [a, b] = await Promise.all([open(`/bus/chat/${room}`), open(`/bus/chat/${room}`)]);
    a.call(1, "join", { name: "ada" }, { keepalive: true });
    expect((await a.next((f) => f.type === "reply" && f.id === 1)).type).toBe("reply");
    b.call(1, "join", { name: "bob" }, { keepalive: true });
    expect((await b.next((f) => f.type === "reply" && f.id === 1)).type).toBe("reply");
    const text = "y".repeat(100_000);
    for (let i = 0; i < 100; i++) {
      const id = 2 + i;
      a.call(id, "post", { text }, { parent: 1 });
      const reply = await a.next((f) => f.id === id && f.type !== "callback", 10_000);
      expect(reply.type, `post #${i}: ${JSON.stringify({ ...reply, payload: undefined })}`).toBe("reply");
      expect(a.json(reply)).toEqual({ delivered: 2 });
      // Both members get the message; drop the frames as they come, and ack them (each 100 KB:
      // a client that does not is held to socketBufferBytes in all).
      for (const c of [a, b]) {
        expect(c.json(await c.next((f) => f.type === "callback", 10_000)).text.length).toBe(100_000);
        c.ack();
      }
    }
    for (const c of [a, b]) c.ws.close(1000, "done");
  }, 180_000);
});

describe("the SDK's collection policy on a guest in a 4 MiB memory (test/guests/gc-as)", () => {
  const raw = (app: ReturnType<typeof guestApp>["app"], topic: string, bytes: number) =>
    app.request(`/call/gc-as/${topic}`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: new Uint8Array(bytes).fill(7) });

  /** 2.4 MB held live (in 1 KiB objects), then `run`; every answer must be a 200, from the same instance. */
  async function withHeldHeap(run: (app: ReturnType<typeof guestApp>["app"], call: ReturnType<typeof guestApp>["call"]) => Promise<string[]>) {
    const { app, call } = guestApp();
    for (let i = 0; i < 24; i++) {
      const res = await raw(app, "hold", 100_000);
      expect(res.status, await res.clone().text()).toBe(200);
    }
    const failures = await run(app, call);
    expect(failures).toEqual([]);
    const stats = (await (await call("gc-as", "stats")).json()) as { held: number };
    // Still the same instance: nothing it held was lost to a trap.
    expect(stats.held).toBe(2_400_000);
  }

  // Each echo leaves ~250 KB of garbage, under the after-event rule's quarter of the live heap, so
  // without the collection in wasm_bus_malloc the third request in a row finds no room (traps).
  it("echoes 250 KB 40 times next to 2.4 MB of live data: collects before a large request when the memory is short", async () => {
    await withHeldHeap(async (app) => {
      const failures: string[] = [];
      for (let i = 0; i < 40; i++) {
        const res = await raw(app, "echo", 250_000);
        if (res.status !== 200) failures.push(`#${i}: ${res.status} ${await res.text()}`);
        else expect((await res.arrayBuffer()).byteLength).toBe(250_000);
      }
      return failures;
    });
  }, 60_000);

  // Small requests, so wasm_bus_malloc sees nothing coming: the after-event rule (bytes allocated
  // since the last collection) must collect; every 64 events would be 12 MB of garbage.
  it("makes 200 KB of garbage from each of 100 small requests next to 2.4 MB of live data: collects by bytes allocated", async () => {
    await withHeldHeap(async (_, call) => {
      const failures: string[] = [];
      for (let i = 0; i < 100; i++) {
        const res = await call("gc-as", "churn", { kib: 200 });
        if (res.status !== 200) failures.push(`#${i}: ${res.status} ${await res.text()}`);
      }
      return failures;
    });
  }, 60_000);
});
