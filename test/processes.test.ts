import { env as testEnv, listDurableObjectIds, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { modules } from "../build/registry.js";
import { modules as testGuests } from "../build/test-registry.js";
import { setProcessModules } from "../durable-objects/bus-process.js";
import { Code } from "../src/abi.js";
import type { Env } from "../src/env.js";
import type { ProcessInfo } from "../src/process.js";
import type { LogLine } from "../src/log.js";
import { Process } from "../src/process.js";
import { guestApp } from "./helpers.js";
import { post, spawnGuest, worker } from "./worker.js";

async function spawn(module: string, args: string[], extra: object = {}): Promise<ProcessInfo> {
  const res = await post("/processes", { module, args, ...extra });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as ProcessInfo;
}

async function status(id: string): Promise<ProcessInfo> {
  return (await (await worker(`/processes/${id}`)).json()) as ProcessInfo;
}

async function until(id: string, done: (p: ProcessInfo) => boolean, ms = 5000): Promise<ProcessInfo> {
  const deadline = Date.now() + ms;
  for (;;) {
    const info = await status(id);
    if (done(info) || Date.now() > deadline) return info;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function logs(id: string): Promise<LogLine[]> {
  return ((await (await worker(`/processes/${id}/logs`)).json()) as { lines: LogLine[] }).lines;
}

setProcessModules({ ...modules, ...testGuests }); // sleepcat-rs, a test guest, runs as a process

/** Attaches to a process: the frames it gets, and when (and how) the socket closed. */
async function attach(id: string, through: (path: string, init: RequestInit) => Promise<Response> = worker) {
  const res = await through(`/processes/${id}/attach`, { headers: { upgrade: "websocket" } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  const frames: Record<string, unknown>[] = [];
  let lastFrameAt = 0;
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) =>
    ws.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason, at: Date.now() })),
  );
  ws.addEventListener("message", (e) => {
    frames.push(JSON.parse(e.data as string));
    lastFrameAt = Date.now();
  });
  ws.accept();
  /** The close, or null if the socket is still open after `ms`. */
  const closedWithin = (ms: number) => Promise.race([closed, new Promise<null>((r) => setTimeout(() => r(null), ms))]);
  return { ws, frames, closedWithin, lastFrameAt: () => lastFrameAt };
}

const stdout = (lines: LogLine[]) => lines.filter((l) => l.stream === "stdout").map((l) => l.msg);
const env = testEnv as unknown as Env;
const stub = (id: string) => env.PROCESSES.get(env.PROCESSES.idFromString(id));
/** Timers still waiting in a process's storage: the alarm's work. */
const timers = (id: string) =>
  runInDurableObject(stub(id), (_object, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM timers").one().n);

describe("processes (BusProcess Durable Object)", () => {
  it("runs countdown to its end: n .. 1, 100 ms apart, exit 0", async () => {
    const started = Date.now();
    const { id, status: first } = await spawn("countdown", ["3"]);
    expect(first).toBe("running");
    const info = await until(id, (p) => p.status !== "running");
    expect(info).toMatchObject({ status: "exited", code: 0, module: "countdown", args: ["3"] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    const lines = await logs(id);
    expect(stdout(lines)).toEqual(["3", "2", "1"]);
    expect(lines[0]).toMatchObject({ module: "countdown", process: id, level: "info", stream: "stdout" });
  });

  it("pages its lines: each has its seq, ?after= gives those after one, ?limit= at most so many; a bad one is 400", async () => {
    const { id } = await spawn("countdown", ["5", "1"]);
    await until(id, (p) => p.status !== "running");
    const page = async (query: string) => {
      const res = await worker(`/processes/${id}/logs${query}`);
      expect(res.status, await res.clone().text()).toBe(200);
      return ((await res.json()) as { lines: (LogLine & { seq: number })[] }).lines;
    };
    const all = await page("");
    expect(stdout(all)).toEqual(["5", "4", "3", "2", "1"]);
    const seqs = all.map((l) => l.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    // The newest two; then, from the first line, the two after it, and on.
    expect((await page("?limit=2")).map((l) => l.msg)).toEqual(stdout(all).slice(-2));
    expect((await page(`?after=${seqs[0]}&limit=2`)).map((l) => l.seq)).toEqual(seqs.slice(1, 3));
    expect((await page(`?after=${seqs[2]}`)).map((l) => l.seq)).toEqual(seqs.slice(3));
    expect(await page(`?after=${seqs.at(-1)}`)).toEqual([]);
    for (const query of ["?after=-1", "?after=x", "?limit=0", "?limit=1001", "?after=1e3", "?limit="]) {
      const res = await worker(`/processes/${id}/logs${query}`);
      expect(res.status, query).toBe(400);
      expect(await res.json()).toMatchObject({ codeName: "BadRequest", error: expect.stringMatching(/must be a whole number from/) });
    }
  });

  it("exits 2 with a message on stderr for a bad argument", async () => {
    for (const args of [["x"], [], ["0"], ["1", "2", "3"]]) {
      const { id } = await spawn("countdown", args);
      const info = await until(id, (p) => p.status !== "running");
      expect(info, JSON.stringify(args)).toMatchObject({ status: "exited", code: 2 });
      expect((await logs(id)).filter((l) => l.stream === "stderr").map((l) => l.msg)).toEqual([expect.stringMatching(/^usage: countdown N/)]);
    }
  });

  it("streams output to an attached WebSocket and takes stdin from it", async () => {
    const { id } = await spawn("upcase", [], { stdin: "first line\n", stdinOpen: true });
    const res = await worker(`/processes/${id}/attach`, { headers: { upgrade: "websocket" } });
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    ws.accept();
    const frames: Record<string, unknown>[] = [];
    const closed = new Promise<void>((resolve) => ws.addEventListener("close", () => resolve()));
    ws.addEventListener("message", (e) => {
      frames.push(JSON.parse(e.data as string));
    });
    ws.send(JSON.stringify({ stdin: "second line\n" }));
    ws.send(new TextEncoder().encode("third, as binary\n"));
    await new Promise((r) => setTimeout(r, 50));
    ws.send(JSON.stringify({ close_stdin: true }));
    await closed;
    expect(frames).toEqual([
      { stream: "stdout", line: "FIRST LINE" },
      { stream: "stdout", line: "SECOND LINE" },
      { stream: "stdout", line: "THIRD, AS BINARY" },
      { exit: 0 },
    ]);
    expect(await status(id)).toMatchObject({ status: "exited", code: 0 });
  });

  it("acks stdin to a client that asks (?ack=stdin): {stdin_taken} once the store holds that much", async () => {
    const { id } = await spawn("upcase", [], { stdin: "first line\n", stdinOpen: true });
    const { ws, frames, closedWithin } = await attach(id, (path, init) => worker(`${path}?ack=stdin`, init));
    const acks = () => frames.filter((f) => "stdin_taken" in f).map((f) => f.stdin_taken);
    /** How far the snapshot holds the process's stdin, counted from its first byte: read, or unread and kept. */
    const stored = () =>
      runInDurableObject(stub(id), (_o, state) => {
        const { read } = JSON.parse(state.storage.sql.exec<{ json: string }>("SELECT json FROM snapshot").one().json) as { read: number };
        return Math.max(read, state.storage.sql.exec<{ end: number | null }>("SELECT max(end) AS end FROM snapshot_stream").one().end ?? 0);
      });
    const ackOf = async (n: number) => {
      for (let i = 0; i < 100 && !acks().includes(n); i++) await new Promise((r) => setTimeout(r, 20));
      expect(acks()).toContain(n);
      expect(await stored()).toBeGreaterThanOrEqual(n);
    };
    await ackOf(11); // what the spawn wrote: where this client's bytes begin
    ws.send(JSON.stringify({ stdin: "second line\n" }));
    await ackOf(23);
    ws.send(new TextEncoder().encode("third\n"));
    await ackOf(29);
    ws.send(JSON.stringify({ stdin: 5 })); // refused: an error frame, no ack
    ws.send(JSON.stringify({ close_stdin: true }));
    expect(await closedWithin(3000)).toMatchObject({ code: 1000 });
    // The close is acked too where a save stores it before the process ends (the end frame says the rest).
    expect(acks().slice(0, 3)).toEqual([11, 23, 29]);
    expect(acks().slice(3)).toEqual(acks().length > 3 ? [29] : []);
    expect(frames.filter((f) => "stream" in f).map((f) => f.line)).toEqual(["FIRST LINE", "SECOND LINE", "THIRD"]);
    expect(frames.at(-1)).toEqual({ exit: 0 });
  });

  it("refuses an attach asking for an ack other than ?ack=stdin: 400 BadRequest", async () => {
    const { id } = await spawn("upcase", [], { stdinOpen: true });
    const res = await worker(`/processes/${id}/attach?ack=all`, { headers: { upgrade: "websocket" } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ codeName: "BadRequest", error: expect.stringContaining("ack=stdin") });
    await worker(`/processes/${id}`, { method: "DELETE" });
  });

  it("kills a process with DELETE: exit 137, its last output still readable", async () => {
    const { id } = await spawn("upcase", [], { stdin: "before the kill\n", stdinOpen: true });
    await new Promise((r) => setTimeout(r, 30));
    const res = await worker(`/processes/${id}`, { method: "DELETE" });
    expect(res.status).toBe(200);
    const info = await until(id, (p) => p.status !== "running");
    expect(info).toMatchObject({ status: "exited", code: 137 });
    expect(stdout(await logs(id))).toEqual(["BEFORE THE KILL"]);
  });

  it("maps a process's sleep to its alarm: runDurableObjectAlarm fires it", async () => {
    const { id } = await spawn("countdown", ["2", "600000"]); // a ten-minute sleep between the lines
    await until(id, () => true);
    expect(await timers(id)).toBe(1);
    expect(await runDurableObjectAlarm(stub(id))).toBe(true);
    const info = await until(id, (p) => p.status !== "running");
    expect(info).toMatchObject({ status: "exited", code: 0 });
    expect(stdout(await logs(id))).toEqual(["2", "1"]);
  });

  it("serves calls from a process that forked: its instance, with its state, answers", async () => {
    const { id } = await spawn("echo-daemon", []);
    const first = await post(`/processes/${id}/call/echo`, { a: 1 });
    expect(first.status, await first.clone().text()).toBe(200);
    expect(await first.json()).toEqual({ echo: { a: 1 }, served: 1 });
    expect(await (await post(`/processes/${id}/call/echo`, { b: [true] })).json()).toEqual({ echo: { b: [true] }, served: 2 });
    expect(await status(id)).toMatchObject({ status: "running" });
    expect((await post(`/processes/${id}/call/nope`, {})).status).toBe(404);
    await worker(`/processes/${id}`, { method: "DELETE" });
    expect(await until(id, (p) => p.status !== "running")).toMatchObject({ status: "exited", code: 137 });
    const after = await post(`/processes/${id}/call/echo`, {});
    expect(after.status).toBe(409);
  });

  it("closes an attached socket (1000) right after the end frame of a live process", async () => {
    const { id } = await spawn("upcase", [], { stdin: "one\n", stdinOpen: true });
    const { ws, frames, closedWithin, lastFrameAt } = await attach(id);
    await new Promise((r) => setTimeout(r, 30));
    ws.send(JSON.stringify({ close_stdin: true }));
    const close = await closedWithin(3000);
    expect(frames).toEqual([{ stream: "stdout", line: "ONE" }, { exit: 0 }]);
    expect(close, "the socket is still open 3 s after the end frame").not.toBeNull();
    expect(close).toMatchObject({ code: 1000, reason: "exited" });
    expect(close!.at - lastFrameAt()).toBeLessThan(250);
  });

  it("attaching to a process that has ended sends its output and end frame, then closes (1000)", async () => {
    const { id } = await spawn("countdown", ["2", "1"]);
    expect(await until(id, (p) => p.status !== "running")).toMatchObject({ status: "exited", code: 0 });
    const { frames, closedWithin } = await attach(id);
    const close = await closedWithin(2000);
    expect(frames).toEqual([{ stream: "stdout", line: "2" }, { stream: "stdout", line: "1" }, { exit: 0 }]);
    expect(close, "the socket of an ended process is still open after 2 s").not.toBeNull();
    expect(close).toMatchObject({ code: 1000, reason: "exited" });
  });

  it("DELETE answers with the state after the kill: exited, code 137", async () => {
    const { id } = await spawn("upcase", [], { stdin: "x\n", stdinOpen: true });
    await new Promise((r) => setTimeout(r, 30));
    const res = await worker(`/processes/${id}`, { method: "DELETE" });
    expect(res.status).toBe(200);
    const info = (await res.json()) as ProcessInfo;
    expect(info).toMatchObject({ id, status: "exited", code: 137 });
    expect(info.endedAt).toEqual(expect.any(Number));
    expect(await status(id)).toEqual(info);
    // DELETE of a process that has ended already: its final state, unchanged
    const again = await worker(`/processes/${id}`, { method: "DELETE" });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(info);
  });

  it("refuses a module that is not a command (no _start) with 400, creating no process", async () => {
    const before = (await listDurableObjectIds(env.PROCESSES)).length;
    const res = await post("/processes", { module: "hello", args: [] });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; codeName: string };
    expect(body.codeName).toBe("IncorrectAbi");
    expect(body.error).toMatch(/hello is not a command/);
    expect((await listDurableObjectIds(env.PROCESSES)).length).toBe(before);
  });

  it("a client attached late gets the process's own lines, not its sub-process's, as a live one does", async () => {
    // sleepcat-rs runs countdown as a sub-process first: its lines go to the log table as the child's.
    const id = await spawnGuest("sleepcat-rs", ["600000", "countdown", "2", "50"]);
    const direct = (path: string, init: RequestInit) => stub(id).fetch(`http://bus.test${path}`, init);
    const live = await attach(id, direct);
    const deadline = Date.now() + 5000;
    while (!stdout(await stub(id).logs()).includes("sleeping") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const child = (await stub(id).logs()).filter((l) => l.process !== id);
    expect(child.map((l) => [l.stream, l.msg])).toEqual([["stdout", "2"], ["stdout", "1"]]);
    const late = await attach(id, direct);
    await new Promise((r) => setTimeout(r, 50));
    const own = [{ stream: "stdout", line: "child exited 0" }, { stream: "stdout", line: "sleeping" }];
    expect(live.frames).toEqual(own);
    expect(late.frames).toEqual(own);
    await stub(id).kill();
  });

  it("Command::output in the Rust SDK fails with the child's code where the child traps, rather than reading exit -1", async () => {
    // sleepcat-rs runs trapper (whose _start traps) through Command::output; a failure it prints to stderr and exits 1.
    const id = await spawnGuest("sleepcat-rs", ["1", "trapper"]);
    const info = await until(id, (p) => p.status !== "running");
    const lines = (await stub(id).logs()).filter((l) => l.process === id);
    expect(lines.filter((l) => l.stream).map((l) => [l.stream, l.msg])).toEqual([["stderr", expect.stringMatching(/^spawn failed: /)]]);
    expect(info).toMatchObject({ status: "exited", code: 1 });
  });

  it("answers every frame that does nothing with an error frame (code, codeName), and stays open", async () => {
    // sleepcat-rs sleeps, then copies stdin: what reaches stdin shows once it wakes.
    const id = await spawnGuest("sleepcat-rs", ["600000"]);
    const { ws, frames, closedWithin } = await attach(id, (path, init) => stub(id).fetch(`http://bus.test${path}`, init));
    const wrongShape = ["null", "nope", '"text"', "[1]", '{"stdin":5}', '{"foo":1}', '{"stdin":"x\\n","foo":1}', '{"close_stdin":false}', "{}"];
    for (const frame of wrongShape) ws.send(frame);
    ws.send(JSON.stringify({ stdin: "fine\n" }));
    ws.send(JSON.stringify({ close_stdin: true }));
    ws.send(JSON.stringify({ close_stdin: true })); // closed, as asked: no error
    ws.send(JSON.stringify({ stdin: "late\n" }));
    ws.send(new TextEncoder().encode("late, as binary\n"));
    expect(await closedWithin(200), "an error frame closed the socket").toBeNull();
    const errors = frames.filter((f) => "error" in f);
    expect(errors).toHaveLength(wrongShape.length + 2);
    for (const [i, frame] of wrongShape.entries()) {
      expect(errors[i], frame).toEqual({ error: expect.stringContaining('a text frame is a JSON object: {"stdin": "<text>"}, {"close_stdin": true}'), code: Code.BadRequest, codeName: "BadRequest" });
    }
    for (const closed of errors.slice(wrongShape.length)) {
      expect(closed).toEqual({ error: `process ${id}: stdin is closed, so it takes no more input`, code: Code.InvalidHandle, codeName: "InvalidHandle" });
    }
    expect(await runDurableObjectAlarm(stub(id))).toBe(true); // it wakes: stdin holds what the good frames wrote
    expect(await closedWithin(3000)).toMatchObject({ code: 1000, reason: "exited" });
    expect(frames.filter((f) => "stream" in f || "exit" in f)).toEqual([{ stream: "stdout", line: "sleeping" }, { stream: "stdout", line: "fine" }, { exit: 0 }]);
  });

  it("answers unknown modules, ids and bodies with clear errors", async () => {
    expect((await post("/processes", { module: "nope" })).status).toBe(404);
    expect((await post("/processes", "{")).status).toBe(400);
    expect((await post("/processes", { module: "countdown", args: [1] })).status).toBe(400);
    expect((await worker("/processes/not-an-id")).status).toBe(404);
    const unknown = env.PROCESSES.newUniqueId().toString();
    expect((await worker(`/processes/${unknown}`)).status).toBe(404);
    expect((await worker(`/processes/${unknown}/attach`, { headers: { upgrade: "websocket" } })).status).toBe(404);
  });

  it("refuses a missing or wrong-typed module with 400 BadRequest, not 404 'no module named'", async () => {
    for (const body of [{}, { module: ["countdown"] }, { module: 5 }, { module: null, args: [] }]) {
      const res = await post("/processes", body);
      const json = (await res.json()) as { codeName: string; error: string };
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(json).toMatchObject({ codeName: "BadRequest", error: expect.stringMatching(/module must be a string/) });
    }
  });

  it("refuses args and env the guest cannot receive (NUL, an empty name or one with =), naming which", async () => {
    const cases: [object, RegExp][] = [
      [{ args: ["env", "a\u0000b", "c"] }, /args\[1\] contains a NUL/],
      [{ env: { "A=B": "c" } }, /env name "A=B" is empty or contains =/],
      [{ env: { "": "empty" } }, /env name "" is empty/],
      [{ env: { "N\u0000UL": "v" } }, /env name "N\\u0000UL"/],
      [{ env: { OK: "v\u0000w" } }, /env OK's value contains a NUL/],
    ];
    const before = (await listDurableObjectIds(env.PROCESSES)).length;
    for (const [extra, message] of cases) {
      const res = await post("/processes", { module: "countdown", args: ["1"], ...extra });
      const json = (await res.json()) as { codeName: string; error: string };
      expect(res.status, JSON.stringify(extra)).toBe(400);
      expect(json).toMatchObject({ codeName: "BadRequest", error: expect.stringMatching(message) });
    }
    expect((await listDurableObjectIds(env.PROCESSES)).length).toBe(before);
  });

  it("a call to an ended process is 409 with module and topic in its body, as every call error", async () => {
    const { id } = await spawn("echo-daemon", []);
    await worker(`/processes/${id}`, { method: "DELETE" });
    const res = await post(`/processes/${id}/call/echo`, {});
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ codeName: "InvalidHandle", module: "echo-daemon", topic: "echo" });
  });

  it("a call to a process killed while its body was read is 409 too, not the 500 of the object's InvalidHandle", async () => {
    const { app } = guestApp();
    for (const accept of ["application/json", "application/x-ndjson"]) {
      const { id } = await spawn("echo-daemon", []);
      // The edge found it running; the body's first read kills it, before the call reaches the object.
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          expect((await worker(`/processes/${id}`, { method: "DELETE" })).status).toBe(200);
          controller.enqueue(new TextEncoder().encode("{}"));
          controller.close();
        },
      });
      const init = { method: "POST", headers: { "content-type": "application/json", accept }, body, duplex: "half" } as RequestInit;
      const res = await app.request(`/processes/${id}/call/echo`, init, env);
      expect(res.status, accept).toBe(409);
      expect(await res.json()).toMatchObject({ codeName: "InvalidHandle", module: "echo-daemon", topic: "echo", error: `process ${id} is not running` });
    }
  });

  it("takes only application/json (or no Content-Type, as /call): 415 Unsupported for text/plain or msgpack", async () => {
    const body = JSON.stringify({ module: "countdown", args: ["1", "1"] });
    for (const type of ["text/plain", "application/msgpack"]) {
      const res = await post("/processes", body, type);
      expect(res.status, type).toBe(415);
      expect(await res.json()).toMatchObject({ codeName: "Unsupported", error: expect.stringContaining(type) });
    }
    // No Content-Type at all (bytes, which fetch sends without one): JSON, as /call takes it.
    const untyped = await worker("/processes", { method: "POST", body: new TextEncoder().encode(body) });
    expect(untyped.status, await untyped.clone().text()).toBe(201);
    const typed = await post("/processes", body, "application/json; charset=utf-8");
    expect(typed.status).toBe(201);
  });
});

describe("a process whose _start fails", () => {
  // What BusProcess.spawn answers with (process.info), on a runtime that has a guest which traps
  // in _start: the served modules the Worker runs have none.
  it("ends failed, its reason naming _start rather than a call", async () => {
    const { runtime } = guestApp();
    const ended = new Promise<ProcessInfo>((resolve) => {
      const process = new Process("p1", { module: "trapper" }, { output: () => {}, end: resolve });
      process.start((name, options) => runtime.spawn(name, options));
    });
    const info = await ended;
    expect(info).toMatchObject({ status: "failed", reason: "module trapper trapped during _start: unreachable" });
    expect(info.reason).not.toMatch(/call/);
  });
});
