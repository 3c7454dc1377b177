// POST /processes holds its body, stdin, args and env to limits before anything crosses RPC to
// the process's object (whose RPC limit is 32 MiB: a 40 MiB body was a 500), and an attached
// client's stdin to the module's limits.stdinBytes (issue 13, items 2 and 7).
import { describe, expect, it } from "vitest";
import { Format } from "../src/abi.js";
import type { BusCall } from "../src/call.js";
import type { BusError } from "../src/errors.js";
import { DEFAULT_LIMITS } from "../src/manifest.js";
import { guestApp } from "./helpers.js";
import { post, worker } from "./worker.js";

const MiB = 1024 * 1024;

async function refused(body: unknown, status: number, codeName: string, message?: RegExp) {
  const res = await post("/processes", body);
  const text = await res.text();
  expect(res.status, text).toBe(status);
  const json = JSON.parse(text) as { codeName: string; error: string };
  expect(json.codeName).toBe(codeName);
  if (message) expect(json.error).toMatch(message);
}

describe("POST /processes: sizes and counts", () => {
  it("a 40 MiB body is 413 LimitExceeded, not a 500 from the RPC limit", async () => {
    await refused({ module: "upcase", stdin: "x".repeat(40 * MiB) }, 413, "LimitExceeded", /POST \/processes body/);
  });

  it("a body over 1 MiB + stdinBytes is 413 whatever is in it", async () => {
    await refused({ module: "upcase", args: ["y".repeat(2 * MiB + 10)] }, 413, "LimitExceeded", /POST \/processes body/);
  });

  it("stdin over the module's limits.stdinBytes is 413, within the body cap", async () => {
    await refused({ module: "upcase", stdin: "z".repeat(DEFAULT_LIMITS.stdinBytes + 1) }, 413, "LimitExceeded", /stdinBytes/);
    // exactly the limit is fine
    const res = await post("/processes", { module: "upcase", stdin: "z".repeat(DEFAULT_LIMITS.stdinBytes) });
    expect(res.status, await res.clone().text()).toBe(201);
  });

  it("args and env: at most 4096 entries each and 256 KiB together", async () => {
    await refused({ module: "countdown", args: Array.from({ length: 5000 }, () => "1") }, 413, "LimitExceeded", /5000 args/);
    await refused({ module: "countdown", env: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`V${i}`, "1"])) }, 413, "LimitExceeded", /5000 env/);
    await refused({ module: "countdown", args: ["1", "a".repeat(300 * 1024)] }, 413, "LimitExceeded", /args and env take/);
    await refused({ module: "countdown", env: { BIG: "b".repeat(200 * 1024), MORE: "c".repeat(100 * 1024) } }, 413, "LimitExceeded", /args and env take/);
  });

  it("wrong types are 400: tty, stdinOpen, args, env", async () => {
    await refused({ module: "countdown", tty: "yes" }, 400, "BadRequest", /tty/);
    await refused({ module: "countdown", stdinOpen: 1 }, 400, "BadRequest", /stdinOpen/);
    await refused({ module: "countdown", args: [1] }, 400, "BadRequest", /args/);
    await refused({ module: "countdown", env: ["A=1"] }, 400, "BadRequest", /env/);
    await refused([1, 2], 400, "BadRequest", /object/);
  });
});

describe("stdin from an attached client: held to limits.stdinBytes", () => {
  it("a client writing well over the limit to a process that never reads gets LimitExceeded error frames", async () => {
    // countdown never reads stdin; a ten-minute sleep keeps it running.
    const spawned = await post("/processes", { module: "countdown", args: ["2", "600000"] });
    expect(spawned.status).toBe(201);
    const { id } = (await spawned.json()) as { id: string };
    const res = await worker(`/processes/${id}/attach`, { headers: { upgrade: "websocket" } });
    const ws = res.webSocket!;
    const frames: Record<string, unknown>[] = [];
    ws.addEventListener("message", (e) => frames.push(JSON.parse(e.data as string)));
    ws.accept();
    const chunk = new Uint8Array(256 * 1024);
    for (let i = 0; i < 16; i++) ws.send(chunk); // 4 MiB as binary frames
    ws.send(JSON.stringify({ stdin: "t".repeat(512 * 1024) })); // and as a text frame
    for (let i = 0; i < 100 && frames.filter((f) => f.error).length < 13; i++) await new Promise((r) => setTimeout(r, 10));
    const errors = frames.filter((f) => f.error);
    // 1 MiB fits (4 frames of 256 KiB); the other 12 binary frames and the text frame are refused.
    expect(errors).toHaveLength(13);
    expect(errors[0]).toMatchObject({ code: expect.any(Number), codeName: "LimitExceeded", error: expect.stringMatching(/stdinBytes/) });
    const info = (await (await worker(`/processes/${id}`, { method: "DELETE" })).json()) as { status: string };
    expect(info.status).toBe("exited");
  });
});

describe("stdin from a spawning module: process.write_stdin held to limits.stdinBytes", () => {
  it("write_stdin past the child's limit faults with LimitExceeded; what fits is answered true", async () => {
    const { runtime } = guestApp();
    const json = (v: unknown) => ({ format: Format.Json, data: new TextEncoder().encode(JSON.stringify(v)) });
    const outcome = (wapm: string, topic: string, request: unknown, parent?: BusCall) =>
      new Promise<{ ok: boolean; value?: unknown; error?: BusError }>((resolve) => {
        runtime.start(wapm, topic, json(request), {
          finish: (reply) => resolve({ ok: true, value: JSON.parse(new TextDecoder().decode(reply.data)) }),
          fail: (error) => resolve({ ok: false, error }),
          callback: () => 0,
        }, { parent, keepalive: parent === undefined });
      });
    // The spawn call is the process: kept alive, the parent of the stdin calls.
    let spawn!: BusCall;
    const spawned = new Promise<void>((resolve) => {
      spawn = runtime.start("os", "process.spawn", json({ module: "wasi-probe", args: ["sleep", "300"], env: {}, stdin: null }), {
        finish: () => resolve(),
        fail: (err) => {
          throw err;
        },
        callback: () => 0,
      }, { keepalive: true });
    });
    await spawned;
    const chunk = Array.from({ length: 400 * 1024 }, () => 120);
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await outcome("os", "process.write_stdin", { data: chunk }, spawn));
    expect(results.slice(0, 2)).toEqual([{ ok: true, value: true }, { ok: true, value: true }]);
    expect(results[2]!.ok).toBe(false);
    expect(results[2]!.error).toMatchObject({ codeName: "LimitExceeded" });
    expect(results[3]!.error).toMatchObject({ codeName: "LimitExceeded" });
    spawn.drop("done");
  });
});
