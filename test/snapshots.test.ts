import { env as testEnv, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { pack } from "msgpackr";
import { describe, expect, it } from "vitest";
import type { Env } from "../src/env.js";
import type { LogLine } from "../src/log.js";
import type { ProcessInfo } from "../src/process.js";
import { modules } from "../build/registry.js";
import { modules as testGuests } from "../build/test-registry.js";
import { setProcessModules } from "../durable-objects/bus-process.js";
import { setSessionModules } from "../durable-objects/bus-session.js";
import { CHUNK_BYTES, Snapshots } from "../durable-objects/snapshots.js";
import { LATEST_ALARM } from "../durable-objects/timers.js";
import type { Guest } from "../src/instance/guest.js";
import { Pipe } from "../src/pipe.js";
import { open } from "./bus-socket.js";
import { post, spawnGuest, worker } from "./worker.js";

setSessionModules({ ...modules, ...testGuests }); // ticks-shared and pages, test guests, run in sessions
setProcessModules({ ...modules, ...testGuests }); // wasi-sleeper, sleepcat-rs and sleeps, test guests, run as processes

// Processes outlive their Durable Object: each rest of the instance is a snapshot in the object's
// SQLite, and an object that comes back (an alarm, a status request) restores it and goes on.

const env = testEnv as unknown as Env;
const stub = (id: string) => env.PROCESSES.get(env.PROCESSES.idFromString(id));

async function spawn(module: string, args: string[]): Promise<ProcessInfo> {
  const res = await post("/processes", { module, args });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as ProcessInfo;
}
const status = async (id: string) => (await (await worker(`/processes/${id}`)).json()) as ProcessInfo;
const stdout = async (id: string) =>
  (((await (await worker(`/processes/${id}/logs`)).json()) as { lines: LogLine[] }).lines).filter((l) => l.stream === "stdout").map((l) => l.msg);
const sql = <T>(id: string, query: string) =>
  runInDurableObject(stub(id), (_o, state) => state.storage.sql.exec(query).toArray() as T[]);
const timers = async (id: string) => (await sql<{ tag: string }>(id, "SELECT tag FROM timers ORDER BY id")).map((t) => t.tag);

describe("a process survives its object's eviction (snapshots)", () => {
  it("countdown 3 with 10-minute sleeps, evicted in each sleep, prints 3 2 1 and exits 0", async () => {
    const { id } = await spawn("countdown", ["3", "600000"]);
    expect(await stdout(id)).toEqual(["3"]);
    for (const printed of [["3", "2"], ["3", "2", "1"]]) {
      await evictDurableObject(stub(id));
      // The object comes back (this request): the process runs on, its one sleep made anew.
      expect(await status(id)).toMatchObject({ status: "running" });
      expect(await timers(id)).toEqual(["sleep"]);
      expect(await runDurableObjectAlarm(stub(id))).toBe(true);
      expect(await stdout(id)).toEqual(printed);
    }
    expect(await status(id)).toMatchObject({ status: "exited", code: 0 });
    // An ended process keeps no snapshot.
    expect(await sql(id, "SELECT 1 FROM snapshot")).toEqual([]);
    expect(await sql(id, "SELECT 1 FROM snapshot_pages")).toEqual([]);
    const lines = (((await (await worker(`/processes/${id}/logs`)).json()) as { lines: LogLine[] }).lines).map((l) => l.msg);
    expect(lines.filter((l) => /sleeper was lost/.test(l))).toEqual([]);
  });

  it("a blocking Rust guest (sleeper-rs, asyncified) evicted while it waits in block_on wakes where it waited", async () => {
    const { id } = await spawn("sleeper-rs", ["600000"]);
    await until(async () => (await stdout(id)).length > 0);
    expect(await stdout(id)).toEqual(["sleeping 600000 ms through the bus"]);
    // Saved while it waits in poll: its stack is in its memory, unwound.
    const state = JSON.parse((await sql<{ json: string }>(id, "SELECT json FROM snapshot"))[0]!.json).state;
    expect(state.suspended).toMatchObject({ export: "_start", args: [] });
    await evictAndWake(id);
    // Each line once: the first was not printed again by the restored instance.
    expect(await stdout(id)).toEqual(["sleeping 600000 ms through the bus", "awake"]);
  });

  it("a WASI sleep (poll_oneoff on a clock) is its object's alarm: evicted mid-sleep, the alarm wakes it", async () => {
    const id = await spawnGuest("wasi-sleeper", []);
    await until(async () => (await stdout(id)).length > 0);
    expect(await stdout(id)).toEqual(["sleeping"]);
    // Its 10-minute sleep is a timer behind the alarm, not a setTimeout that dies with the object.
    expect(await timers(id)).toEqual(["sleep"]);
    const [before] = await sql<{ due: number }>(id, "SELECT due FROM timers");
    await new Promise((r) => setTimeout(r, 50));
    // Restored, it waits out what was left of its relative sleep, on the alarm: the same due
    // time, not 10 minutes from the restore (it started over in full once).
    await evictDurableObject(stub(id));
    expect(await status(id)).toMatchObject({ status: "running" });
    expect(await sql<{ due: number }>(id, "SELECT due FROM timers")).toEqual([before]);
    expect(await runDurableObjectAlarm(stub(id))).toBe(true);
    await until(async () => (await status(id)).status !== "running");
    expect(await status(id)).toMatchObject({ status: "exited", code: 0 });
    expect(await stdout(id)).toEqual(["sleeping", "awake"]);
  });

  it("a WASI sleep ends with its process: killed mid-sleep, its alarm goes (only the retention timer is left)", async () => {
    const id = await spawnGuest("wasi-sleeper", []);
    await until(async () => (await stdout(id)).length > 0);
    expect(await timers(id)).toEqual(["sleep"]);
    expect(await stub(id).kill()).toMatchObject({ status: "exited", code: 137 });
    await until(async () => !(await timers(id)).includes("sleep"));
    expect(await timers(id)).toEqual(["retention"]);
  });

  it("a daemon (echo-daemon, forked) keeps serving after an eviction, with its count", async () => {
    const { id } = await spawn("echo-daemon", []);
    const echo = async (body: unknown) => (await post(`/processes/${id}/call/echo`, body)).json();
    expect(await echo({ a: 1 })).toEqual({ echo: { a: 1 }, served: 1 });
    await evictDurableObject(stub(id));
    expect(await echo({ b: 2 })).toEqual({ echo: { b: 2 }, served: 2 });
    expect(await status(id)).toMatchObject({ status: "running" });
    await worker(`/processes/${id}`, { method: "DELETE" });
  });

  it("restores the sleep due when it was: one evicted after its due time wakes at once", async () => {
    const { id } = await spawn("countdown", ["2", "300"]);
    await evictDurableObject(stub(id));
    await new Promise((r) => setTimeout(r, 400));
    // Restored past its due time: the sleep ends right away, without the alarm.
    const deadline = Date.now() + 3000;
    while ((await status(id)).status === "running" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await status(id)).toMatchObject({ status: "exited", code: 0 });
    expect(await stdout(id)).toEqual(["2", "1"]);
  });

  it("a sleep until past what an alarm may be set for (year 2300) waits, through the other sleeps' alarms and an eviction", async () => {
    const near = Date.now() + 600_000;
    const far = `{"until_ms":${Date.UTC(2300, 0, 1)}}`;
    const id = await spawnGuest("sleeps", [far, `{"until_ms":${near}}`]);
    const alarm = () => runInDurableObject(stub(id), (_o, state) => state.storage.getAlarm());
    expect(await alarm()).toBe(near);
    expect(await runDurableObjectAlarm(stub(id))).toBe(true); // the near one wakes; the far one's alarm is set next
    expect(await stdout(id)).toEqual([`woke {"until_ms":${near}}`]);
    expect(await alarm()).toBe(LATEST_ALARM);
    await evictDurableObject(stub(id));
    expect(await status(id)).toMatchObject({ status: "running" });
    // That alarm, run now, finds the sleep not yet due: it waits on, and the alarm is set again.
    expect(await runDurableObjectAlarm(stub(id))).toBe(true);
    expect(await stdout(id)).toEqual([`woke {"until_ms":${near}}`]);
    expect(await timers(id)).toEqual(["sleep"]);
    expect(await alarm()).toBe(LATEST_ALARM);
    await worker(`/processes/${id}`, { method: "DELETE" });
  });

  it("sleeps until a time that has passed (0, 1) wake at once, by the alarm", async () => {
    const id = await spawnGuest("sleeps", [`{"until_ms":0}`, `{"until_ms":1}`]);
    await until(async () => (await status(id)).status !== "running", 3000);
    expect(await status(id)).toMatchObject({ status: "exited", code: 0 });
    expect((await stdout(id)).sort()).toEqual([`woke {"until_ms":0}`, `woke {"until_ms":1}`]);
  });

  it("writes only the pages that changed: the first rest writes the module's changed pages, a later one the same or fewer", async () => {
    const { id } = await spawn("countdown", ["3", "600000"]);
    const pages = await sql<{ page: number }>(id, "SELECT page FROM snapshot_pages ORDER BY page");
    // countdown has one page of memory: its data segments, then what it wrote (argv, the request).
    expect(pages.map((p) => p.page)).toEqual([0]);
    const state = JSON.parse((await sql<{ json: string }>(id, "SELECT json FROM snapshot"))[0]!.json).state;
    // Its three mutable globals, reachable through the build's two exports: n, the request's length,
    // the heap top (numbered from 1: global 0 is the fuel meter's counter, which metering imports),
    // each as the decimal i64 of its bits.
    expect(state.globals.map((g: [string, string]) => g[0])).toEqual(["__wasm_bus_global_1", "__wasm_bus_global_2", "__wasm_bus_global_3"]);
    expect(state.globals[0][1]).toBe("2"); // $n: 3 printed, 2 next
    expect(state.handles).toEqual([[expect.any(Number), expect.objectContaining({ kind: "out", call: expect.objectContaining({ topic: "time.sleep", resume: { topic: "time.sleep_until", request: { until_ms: expect.any(Number) } } }) })]]);
    await worker(`/processes/${id}`, { method: "DELETE" });
  });

  it("a snapshot that cannot be saved leaves none behind: the process fails on wake instead of repeating its work", async () => {
    const { id } = await spawn("countdown", ["3", "600000"]);
    // A real SQLite failure on the next save: the storage refuses to write the snapshot row.
    await runInDurableObject(stub(id), (_o, state) => {
      for (const op of ["INSERT", "UPDATE"]) {
        state.storage.sql.exec(`CREATE TRIGGER refuse_${op} BEFORE ${op} ON snapshot BEGIN SELECT RAISE(ABORT, 'the disk is full'); END`);
      }
    });
    expect(await runDurableObjectAlarm(stub(id))).toBe(true); // prints 2, rests, the save fails
    expect(await stdout(id)).toEqual(["3", "2"]);
    expect(await sql(id, "SELECT 1 FROM snapshot")).toEqual([]);
    await evictDurableObject(stub(id));
    const info = await status(id);
    expect(info).toMatchObject({ status: "failed" });
    expect(info.reason).toMatch(/no snapshot to go on from/);
    expect(await stdout(id)).toEqual(["3", "2"]); // the old snapshot did not print 2 again
    // Its sleep went with its instance: no alarm wakes the failed process for it, to log it lost.
    expect(await timers(id)).toEqual(["retention"]);
  });

  it("fails with the reason, instead of running new code on old memory, when the module's binary changed", async () => {
    const { id } = await spawn("countdown", ["2", "600000"]);
    await runInDurableObject(stub(id), (_o, state) => {
      const row = state.storage.sql.exec<{ json: string }>("SELECT json FROM snapshot").one();
      const saved = JSON.parse(row.json);
      saved.state.hash = "0000000000000000";
      state.storage.sql.exec("UPDATE snapshot SET json = ?", JSON.stringify(saved));
    });
    await evictDurableObject(stub(id));
    const info = await status(id);
    expect(info).toMatchObject({ status: "failed" });
    expect(info.reason).toMatch(/could not be restored: module countdown changed since its snapshot/);
  });
});

describe("an ended process's retention", () => {
  it("ends with its storage wiped, and the object answers 404 from then on, not 500 (a missing table)", async () => {
    const { id } = await spawn("countdown", ["1", "1"]);
    await until(async () => (await status(id)).status !== "running");
    expect(await timers(id)).toEqual(["retention"]);
    expect(await runDurableObjectAlarm(stub(id))).toBe(true); // the retention timer, run now
    for (const path of [`/processes/${id}`, `/processes/${id}/logs`]) {
      const res = await worker(path);
      expect(res.status, path).toBe(404);
      expect(await res.json()).toMatchObject({ codeName: "InvalidHandle" });
    }
    expect(await runInDurableObject(stub(id), (_o, state) => state.storage.getAlarm())).toBeNull();
    // What a /logs request that saw the status just before the wipe asks next: nothing, not a missing table.
    expect(await stub(id).logs()).toEqual([]);
    await evictDurableObject(stub(id));
    expect((await worker(`/processes/${id}`)).status).toBe(404);
  });

  it("is wiped even where the alarm fails after the retention timer ran: that timer is gone, and nothing would wipe it again", async () => {
    const { id } = await spawn("countdown", ["1", "1"]);
    await until(async () => (await status(id)).status !== "running");
    // A timer due with the retention's, after it, whose row SQLite refuses to delete: fire() throws past the retention.
    await runInDurableObject(stub(id), (_o, state) => {
      const sql = state.storage.sql;
      const due = sql.exec<{ due: number }>("SELECT due FROM timers WHERE tag = 'retention'").one().due;
      sql.exec("INSERT INTO timers (due, tag) VALUES (?, 'boom')", due);
      sql.exec("CREATE TRIGGER refuse_boom BEFORE DELETE ON timers WHEN OLD.tag = 'boom' BEGIN SELECT RAISE(ABORT, 'the disk is full'); END");
    });
    expect(await runDurableObjectAlarm(stub(id)).then(() => "ran", (err: Error) => err.message)).toMatch(/the disk is full/);
    // Come back as a new object: what it finds in storage is all there is.
    await evictDurableObject(stub(id));
    expect((await worker(`/processes/${id}`)).status).toBe(404);
  });
});

const stdoutOf = async (id: string) => (await stub(id).logs()).filter((l) => l.stream === "stdout").map((l) => l.msg);
/**
 * Evicts a process that sleeps on its alarm; the object comes back (a status request) with the
 * process running and its one sleep made anew; the alarm wakes it, and it ends exited 0.
 */
async function evictAndWake(id: string) {
  await evictDurableObject(stub(id));
  expect(await status(id)).toMatchObject({ status: "running" });
  expect(await timers(id)).toEqual(["sleep"]);
  expect(await runDurableObjectAlarm(stub(id))).toBe(true);
  await until(async () => (await status(id)).status !== "running");
  expect(await status(id)).toMatchObject({ status: "exited", code: 0 });
}

async function until(what: () => Promise<boolean>, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await what()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

describe("stdin that comes while the guest rests survives an eviction", () => {
  it("a line and the close sent while sleepcat-rs sleeps are read after it is evicted and wakes", async () => {
    const id = await spawnGuest("sleepcat-rs", ["20000"]);
    await until(async () => (await stdoutOf(id)).length > 0);
    expect(await stdoutOf(id)).toEqual(["sleeping"]);
    const res = await stub(id).fetch("http://bus.test/attach", { headers: { upgrade: "websocket" } });
    const ws = res.webSocket!;
    ws.accept();
    // It sleeps in block_on: nothing reads stdin, so the guest never stirs for these frames.
    ws.send(JSON.stringify({ stdin: "hello\n" }));
    ws.send(JSON.stringify({ close_stdin: true }));
    // The bytes and the close are saved without the guest running: the snapshot holds them.
    await until(async () => (await sql<{ json: string }>(id, "SELECT json FROM snapshot")).some((r) => JSON.parse(r.json).extra.stdinClosed), 2000);
    ws.close(1000); // an eviction ends the connection anyway; the client reattaches after it
    await evictDurableObject(stub(id));
    expect(await status(id)).toMatchObject({ status: "running" });
    expect(await runDurableObjectAlarm(stub(id))).toBe(true);
    await until(async () => (await status(id)).status !== "running");
    expect(await status(id)).toMatchObject({ status: "exited", code: 0 });
    expect(await stdoutOf(id)).toEqual(["sleeping", "hello"]);
  });

  it("a sub-process is named after its process (<id>.<n>), and the count goes on after a restore", async () => {
    const id = await spawnGuest("sleepcat-rs", ["600000", "countdown", "1", "1"]);
    await until(async () => (await stdoutOf(id)).includes("sleeping"));
    const child = (await stub(id).logs()).filter((l) => l.process !== id);
    expect(child.map((l) => [l.process, l.msg])).toEqual([[`${id}.1`, "1"]]);
    const subprocesses = async () => (await sql<{ json: string }>(id, "SELECT json FROM snapshot")).map((r) => JSON.parse(r.json).state.subprocesses);
    expect(await subprocesses()).toEqual([1]);
    // Restored, and saved again (stdin written while it rests is saved at once): with its count,
    // so its next child would be .2, not .1 again.
    await evictDurableObject(stub(id));
    expect(await status(id)).toMatchObject({ status: "running" });
    await runInDurableObject(stub(id), (_o, state) => state.storage.sql.exec("UPDATE snapshot SET json = json_set(json, '$.state.subprocesses', 0)"));
    const res = await stub(id).fetch("http://bus.test/attach", { headers: { upgrade: "websocket" } });
    const ws = res.webSocket!;
    ws.accept();
    ws.send(JSON.stringify({ stdin: "x\n" }));
    await until(async () => (await subprocesses())[0] !== 0, 2000);
    expect(await subprocesses()).toEqual([1]);
    ws.close(1000);
    await stub(id).kill();
  });
});

/**
 * Counts the bytes a process's object binds into SQL statements as blobs (its stdin, its pages)
 * from now until it is evicted: what its storage is asked to write, whatever the tables.
 */
async function countBlobWrites(id: string) {
  await runInDurableObject(stub(id), (_o, state) => {
    const sql = state.storage.sql as SqlStorage & { blobBytes?: number };
    const exec = sql.exec.bind(sql);
    sql.blobBytes = 0;
    sql.exec = ((query: string, ...bindings: unknown[]) => {
      for (const b of bindings) if (b instanceof ArrayBuffer || ArrayBuffer.isView(b)) sql.blobBytes! += b.byteLength;
      return exec(query, ...(bindings as SqlStorageValue[]));
    }) as typeof sql.exec;
  });
  return () => runInDurableObject(stub(id), (_o, state) => (state.storage.sql as SqlStorage & { blobBytes?: number }).blobBytes!);
}

/** An attached client of a process; `sync()` resolves once the object has handled every frame sent before it. */
async function attachTo(id: string) {
  const res = await stub(id).fetch("http://bus.test/attach", { headers: { upgrade: "websocket" } });
  const ws = res.webSocket!;
  ws.accept();
  const errors: string[] = [];
  let heard: (() => void) | undefined;
  ws.addEventListener("message", (e) => {
    const frame = JSON.parse(e.data as string) as { error?: string };
    if (frame.error === undefined) return;
    errors.push(frame.error);
    heard?.();
  });
  // Frames are handled in order, each one's save a microtask after it: the answer to a frame
  // that asks for nothing comes after all of them.
  const sync = () =>
    new Promise<void>((resolve) => {
      const before = errors.length;
      heard = () => errors.length > before && resolve();
      ws.send("{}");
    });
  return { ws, sync, errors };
}

describe("stdin written in many small frames to a process at rest", () => {
  it("stores each write once (200 one-byte frames write 200 bytes, not 200·201/2), and reads all of it back in order through evictions", async () => {
    const id = await spawnGuest("sleepcat-rs", ["600000"]);
    await until(async () => (await stdoutOf(id)).includes("sleeping"));
    const byte = (i: number) => 97 + (i % 26);
    const expected = String.fromCharCode(...Array.from({ length: 200 }, (_, i) => byte(i)));
    // Two halves, evicted between them: the second half goes on from the restored stdin.
    for (const half of [0, 100]) {
      const written = await countBlobWrites(id);
      const client = await attachTo(id);
      for (let i = half; i < half + 100; i++) client.ws.send(new Uint8Array([byte(i)]));
      await client.sync();
      expect(client.errors).toHaveLength(1); // only the sync frame's
      // Each frame to a sleeping guest is saved at once: its one byte, not all unread stdin again.
      expect(await written()).toBeLessThanOrEqual(100);
      client.ws.close(1000);
      await evictDurableObject(stub(id));
      expect(await status(id)).toMatchObject({ status: "running" });
    }
    // It wakes and reads all 200 (no newline yet): at rest again, nothing it read is kept.
    expect(await runDurableObjectAlarm(stub(id))).toBe(true);
    await until(async () => (await sql<{ n: number }>(id, "SELECT count(*) AS n FROM snapshot_stream"))[0]!.n === 0, 2000);
    expect(await sql(id, "SELECT count(*) AS n FROM snapshot_stream")).toEqual([{ n: 0 }]);
    await evictDurableObject(stub(id));
    // Restored with the 200 bytes in its own buffer: the newline and the close end its line.
    const client = await attachTo(id);
    client.ws.send(JSON.stringify({ stdin: "\n", close_stdin: true }));
    await until(async () => (await status(id)).status !== "running");
    expect(await status(id)).toMatchObject({ status: "exited", code: 0 });
    expect(await stdoutOf(id)).toEqual(["sleeping", expected]);
  });
});

const session = (module: string, name: string) => env.SESSIONS.get(env.SESSIONS.idFromName(`${module}/${name}`));
/** A session of a test guest: the Worker serves none, so straight to its object. */
const openGuest = (module: string, name: string) => open(`/bus/${module}/${name}`, (path, init) => session(module, name).fetch(`http://bus.test${path}`, init));

describe("a session survives hibernation and a broken instance (snapshots)", () => {
  it("ticks-shared keeps its count through an eviction: memory restored, no call run again", async () => {
    const c = await openGuest("ticks-shared", "keep");
    const count = async (id: number) => {
      c.call(id, "count", {});
      return c.json(await c.next((f) => f.id === id && f.type === "reply"));
    };
    expect(await count(1)).toBe(1);
    expect(await count(2)).toBe(2);
    await evictDurableObject(session("ticks-shared", "keep"));
    // A fresh instance (the old replay) would answer 1: the count lives in the guest's memory.
    expect(await count(3)).toBe(3);
  });

  it("chat: members joined before the eviction get posts after it, and a drop still leaves the room", async () => {
    const [ada, bob] = await Promise.all([open("/bus/chat/hibernate"), open("/bus/chat/hibernate")]);
    ada.call(1, "join", { name: "ada" }, { keepalive: true });
    expect(ada.json(await ada.next((f) => f.id === 1 && f.type === "reply"))).toEqual({ joined: "ada", members: 1 });
    bob.call(1, "join", { name: "bob" }, { keepalive: true });
    expect(bob.json(await bob.next((f) => f.id === 1 && f.type === "reply"))).toEqual({ joined: "bob", members: 2 });
    await evictDurableObject(session("chat", "hibernate"));
    ada.call(2, "post", { text: "still here?" }, { parent: 1 });
    expect(ada.json(await ada.next((f) => f.id === 2 && f.type === "reply"))).toEqual({ delivered: 2 });
    for (const m of [ada, bob]) expect(m.json(await m.next((f) => f.type === "callback" && f.id === 1))).toEqual({ from: "ada", text: "still here?" });
    bob.ws.send(pack({ type: "drop", id: 1 }));
    await new Promise((r) => setTimeout(r, 50));
    ada.call(3, "post", { text: "bob?" }, { parent: 1 });
    expect(ada.json(await ada.next((f) => f.id === 3 && f.type === "reply"))).toEqual({ delivered: 1 });
  });

  it("chat: a kept-alive call under a join, restored after an eviction, ends with the join's drop: its client hears so, and its id is free again", async () => {
    const c = await open("/bus/chat/hibernate-nested");
    c.call(1, "join", { name: "ada" }, { keepalive: true });
    expect((await c.next((f) => f.id === 1 && f.type === "reply")).type).toBe("reply");
    c.call(2, "post", { text: "kept" }, { parent: 1, keepalive: true });
    expect((await c.next((f) => f.id === 2 && f.type === "reply")).type).toBe("reply");
    await evictDurableObject(session("chat", "hibernate-nested"));
    c.ws.send(pack({ type: "drop", id: 1 }));
    expect(await c.next((f) => f.id === 2)).toMatchObject({ type: "fault", codeName: "Aborted" });
    c.call(2, "join", { name: "ada again" }, { keepalive: true });
    expect(await c.next((f) => (f.id === 2 && f.type !== "callback") || f.type === "error")).toMatchObject({ type: "reply" });
    c.ws.close(1000, "done");
  });

  it("a trap in the shared instance restores it from its last snapshot: the calls it held go on, the bad one fails alone", async () => {
    const c = await openGuest("ticks-shared", "trap");
    c.call(1, "count", {});
    expect(c.json(await c.next((f) => f.id === 1 && f.type === "reply"))).toBe(1);
    c.call(2, "wait", {}); // held by the instance: it sleeps 50 ms, then answers the n it got
    await new Promise((r) => setTimeout(r, 10));
    c.call(3, "trap", {});
    const trap = await c.next((f) => f.id === 3);
    expect(trap).toMatchObject({ type: "fault", codeName: "GuestTrapped" });
    // The waiting call was not failed with the trap: the restored instance answers it.
    expect(c.json(await c.next((f) => f.id === 2, 3000))).toBe(2);
    c.call(4, "count", {});
    expect(c.json(await c.next((f) => f.id === 4 && f.type === "reply"))).toBe(3);
  });

  it("a trap whose restore fails (a snapshot the module no longer fits) leaves the socket's calls to other sessions going on: their callbacks still come", async () => {
    const room = `no-restore-${crypto.randomUUID().slice(0, 8)}`;
    const far = await openGuest("ticks-shared", room);
    far.call(1, "count", {});
    expect(far.json(await far.next((f) => f.id === 1 && f.type === "reply"))).toBe(1);
    far.call(2, "join", { name: "far" }, { keepalive: true, wapm: `chat@${room}` });
    expect(far.json(await far.next((f) => f.id === 2 && f.type === "reply"))).toEqual({ joined: "far", members: 1 });
    // The instance's last snapshot no longer fits its module: it cannot be restored in its place.
    await runInDurableObject(session("ticks-shared", room), (_o, state) => {
      state.storage.sql.exec("UPDATE snapshot SET json = json_set(json, '$.state.hash', 'another binary')");
    });
    far.call(3, "trap", {});
    expect(await far.next((f) => f.id === 3)).toMatchObject({ type: "fault", codeName: "GuestTrapped" });
    const near = await open(`/bus/chat/${room}`);
    near.call(1, "join", { name: "near" }, { keepalive: true });
    expect(near.json(await near.next((f) => f.id === 1 && f.type === "reply"))).toMatchObject({ members: 2 });
    near.call(2, "post", { text: "still there?" }, { parent: 1 });
    expect(near.json(await near.next((f) => f.id === 2 && f.type === "reply"))).toEqual({ delivered: 2 });
    const heard = await far.next((f) => f.id === 2);
    expect(heard).toMatchObject({ type: "callback", topic: "message" });
    expect(far.json(heard)).toEqual({ from: "near", text: "still there?" });
    far.ws.close(1000, "done");
    near.ws.close(1000, "done");
  });
});

describe("a session whose module a deploy took away", () => {
  it("closes its sockets (1011) with the reason when they next send, instead of leaving each frame unanswered", async () => {
    const c = await openGuest("pages", "gone");
    const closed = new Promise<string>((r) => c.ws.addEventListener("close", (e) => r(`${e.code} ${e.reason}`)));
    c.ws.send(pack({ type: "call", id: 1, topic: "poke", format: "raw", payload: Uint8Array.of(1, 2) }));
    expect(await c.next((f) => f.id === 1)).toMatchObject({ type: "reply" });
    const { pages: _gone, ...rest } = testGuests;
    setSessionModules({ ...modules, ...rest }); // the objects made from now on serve no `pages`
    try {
      await evictDurableObject(session("pages", "gone"));
      c.ws.send(pack({ type: "call", id: 2, topic: "peek", format: "raw", payload: Uint8Array.of(1) }));
      expect(await closed).toMatch(/^1011 no module named pages: this Worker no longer serves it/);
    } finally {
      setSessionModules({ ...modules, ...testGuests });
    }
  });
});

describe("a snapshot that could not be saved", () => {
  it("is followed by one that holds every page, not only those changed since the failure: a restore loses nothing", async () => {
    const c = await openGuest("pages", "lost-save");
    const call = async (id: number, topic: string, ...bytes: number[]) => {
      c.ws.send(pack({ type: "call", id, topic, format: "raw", payload: Uint8Array.from(bytes) }));
      const f = await c.next((f) => f.id === id);
      expect(f.type, JSON.stringify(f)).toBe("reply");
      return f.payload![0];
    };
    const object = session("pages", "lost-save");
    expect(await call(1, "poke", 1, 7)).toBe(7); // saved: page 1
    // A real SQLite failure on the next save (as above); the next after it succeeds.
    const refuse = (on: boolean) =>
      runInDurableObject(object, (_o, state) => {
        for (const op of ["INSERT", "UPDATE"]) {
          state.storage.sql.exec(on ? `CREATE TRIGGER refuse_${op} BEFORE ${op} ON snapshot BEGIN SELECT RAISE(ABORT, 'the disk is full'); END` : `DROP TRIGGER refuse_${op}`);
        }
      });
    await refuse(true);
    expect(await call(2, "poke", 2, 9)).toBe(9); // the save fails: no snapshot is left
    await refuse(false);
    expect(await call(3, "poke", 3, 5)).toBe(5); // saved again, whole: pages 1 and 2 are in it too
    await evictDurableObject(object);
    expect([await call(4, "peek", 1), await call(5, "peek", 2), await call(6, "peek", 3)]).toEqual([7, 9, 5]);
  });

  it("and then an eviction: a session's clients hear that the calls its instance held are gone (Aborted), instead of waiting forever", async () => {
    const [ada, bob] = await Promise.all([open("/bus/chat/lost-save"), open("/bus/chat/lost-save")]);
    ada.call(1, "join", { name: "ada" }, { keepalive: true });
    expect(ada.json(await ada.next((f) => f.id === 1 && f.type === "reply"))).toEqual({ joined: "ada", members: 1 });
    const object = session("chat", "lost-save");
    await runInDurableObject(object, (_o, state) => {
      for (const op of ["INSERT", "UPDATE"]) state.storage.sql.exec(`CREATE TRIGGER refuse_${op} BEFORE ${op} ON snapshot BEGIN SELECT RAISE(ABORT, 'the disk is full'); END`);
    });
    bob.call(1, "join", { name: "bob" }, { keepalive: true }); // its rest's save fails: no snapshot is left
    expect(bob.json(await bob.next((f) => f.id === 1 && f.type === "reply"))).toEqual({ joined: "bob", members: 2 });
    await evictDurableObject(object);
    ada.call(2, "join", { name: "ada again" }, { keepalive: true }); // wakes the object, with a fresh instance
    expect(ada.json(await ada.next((f) => f.id === 2 && f.type === "reply"))).toEqual({ joined: "ada again", members: 1 });
    for (const m of [ada, bob]) expect(await m.next((f) => f.id === 1, 2000)).toMatchObject({ type: "fault", codeName: "Aborted" });
  });
});

describe("the keeper's bytes in a snapshot (a process's unread stdin)", () => {
  it("keeps how the process was spawned (args, env: up to 256 KiB) once, not in every rest's snapshot", async () => {
    const bigEnv = { BIG: "e".repeat(100_000) };
    const res = await post("/processes", { module: "countdown", args: ["3", "600000"], env: bigEnv });
    expect(res.status, await res.clone().text()).toBe(201);
    const { id } = (await res.json()) as ProcessInfo;
    const json = async () => (await sql<{ json: string }>(id, "SELECT json FROM snapshot"))[0]!.json;
    expect(await runDurableObjectAlarm(stub(id))).toBe(true); // a rest: saved
    expect((await json()).length).toBeLessThan(10_000);
    expect(JSON.parse(await json()).extra.request).toBeUndefined();
    await evictDurableObject(stub(id));
    expect(await status(id)).toMatchObject({ status: "running", args: ["3", "600000"] });
    expect(JSON.parse((await sql<{ json: string }>(id, "SELECT json FROM spawned"))[0]!.json)).toMatchObject({ module: "countdown", args: ["3", "600000"], env: bigEnv });
    expect(await runDurableObjectAlarm(stub(id))).toBe(true);
    expect(await stdout(id)).toEqual(["3", "2", "1"]);
    await worker(`/processes/${id}`, { method: "DELETE" });
  });

  it("restores a snapshot saved before that, with the request in it", async () => {
    const { id } = await spawn("countdown", ["2", "600000"]);
    await runInDurableObject(stub(id), (_o, state) => {
      const saved = JSON.parse(state.storage.sql.exec<{ json: string }>("SELECT json FROM snapshot").one().json);
      saved.extra.request = { module: "countdown", args: ["2", "600000"] };
      state.storage.sql.exec("UPDATE snapshot SET json = ?", JSON.stringify(saved));
      state.storage.sql.exec("DELETE FROM spawned");
    });
    await evictAndWake(id);
    expect(await stdout(id)).toEqual(["2", "1"]);
  });

  it("writes unread stdin once, then only what is written to it later: not again at every rest", async () => {
    const input = "x".repeat(65536);
    const res = await post("/processes", { module: "countdown", args: ["4", "600000"], stdin: input, stdinOpen: true });
    expect(res.status, await res.clone().text()).toBe(201);
    const { id } = (await res.json()) as ProcessInfo;
    // Real SQLite counts the bytes of each row of stdin written (countdown never reads its stdin).
    await runInDurableObject(stub(id), (_o, state) => {
      state.storage.sql.exec("CREATE TABLE byte_writes (n INTEGER)");
      state.storage.sql.exec("CREATE TRIGGER count_byte_writes AFTER INSERT ON snapshot_stream BEGIN INSERT INTO byte_writes VALUES (length(NEW.data)); END");
    });
    const written = async () => (await sql<{ n: number }>(id, "SELECT coalesce(sum(n), 0) AS n FROM byte_writes"))[0]!.n;
    const stored = () => sql(id, "SELECT sum(length(data)) AS n FROM snapshot_stream");
    for (const printed of [["4", "3"], ["4", "3", "2"]]) {
      expect(await runDurableObjectAlarm(stub(id))).toBe(true); // a rest, saved: the same stdin
      expect(await stdout(id)).toEqual(printed);
    }
    expect(await written()).toBe(0);
    // Still there for a restore, whole.
    expect(await stored()).toEqual([{ n: input.length }]);
    const attach = await stub(id).fetch("http://bus.test/attach", { headers: { upgrade: "websocket" } });
    const ws = attach.webSocket!;
    ws.accept();
    ws.send(JSON.stringify({ stdin: "more" })); // written with the next save: only these 4 bytes
    await until(async () => (await written()) > 0, 2000);
    expect(await written()).toBe(4);
    expect(await stored()).toEqual([{ n: input.length + 4 }]);
    ws.close(1000);
    await worker(`/processes/${id}`, { method: "DELETE" });
  });

  it("restores a snapshot saved before stdin was kept append-only (its unread bytes whole in the snapshot's row), and the next save moves them", async () => {
    const id = await spawnGuest("sleepcat-rs", ["600000"]);
    await until(async () => (await stdoutOf(id)).includes("sleeping"));
    const client = await attachTo(id);
    client.ws.send(JSON.stringify({ stdin: "old\nform\n" }));
    await client.sync();
    client.ws.close(1000);
    // The snapshot as the old form had it: no `read`, the bytes in snapshot.bytes.
    await runInDurableObject(stub(id), (_o, state) => {
      const sql = state.storage.sql;
      const saved = JSON.parse(sql.exec<{ json: string }>("SELECT json FROM snapshot").one().json);
      expect(saved.read).toBe(0);
      delete saved.read;
      sql.exec("UPDATE snapshot SET json = ?, bytes = ?", JSON.stringify(saved), new TextEncoder().encode("old\nform\n"));
      sql.exec("DELETE FROM snapshot_stream");
    });
    await evictDurableObject(stub(id));
    expect(await status(id)).toMatchObject({ status: "running" });
    // The restored instance's first rest saves the old bytes in the new form; a frame after it, its own.
    const again = await attachTo(id);
    again.ws.send(JSON.stringify({ stdin: "new\n", close_stdin: true }));
    await again.sync();
    expect(await sql(id, "SELECT bytes, json_extract(json, '$.read') AS read FROM snapshot")).toEqual([{ bytes: null, read: 0 }]);
    expect(await sql(id, "SELECT at, end FROM snapshot_stream ORDER BY at")).toEqual([{ at: 0, end: 9 }, { at: 9, end: 13 }]);
    again.ws.close(1000);
    await evictDurableObject(stub(id));
    expect(await status(id)).toMatchObject({ status: "running" });
    expect(await runDurableObjectAlarm(stub(id))).toBe(true);
    await until(async () => (await status(id)).status !== "running");
    expect(await status(id)).toMatchObject({ status: "exited", code: 0 });
    expect(await stdoutOf(id)).toEqual(["sleeping", "old", "form", "new"]);
  });

  // A stand-in for a quiet instance: the store only asks it for its state and pages.
  const quiet = { quiet: true, module: { name: "stand-in" }, snapshot: () => ({ state: { module: "stand-in" }, pages: [] }) } as unknown as Guest;
  const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + (i >> 20)) & 0xff);

  it("keeps a stream larger than one SQLite value (2 MB) in pieces, gives it back whole, drops the pieces read, and reads the old form's pieces", async () => {
    const { id } = await spawn("countdown", ["1", "600000"]);
    await runInDurableObject(stub(id), (_o, state) => {
      const sql = state.storage.sql;
      const stream = new Pipe();
      stream.write(bytes(3 * CHUNK_BYTES + 5));
      const store = new Snapshots(state.storage, () => ({ json: { n: 1 }, stream }), () => true);
      const rows = () => sql.exec<{ at: number; end: number }>("SELECT at, end FROM snapshot_stream ORDER BY at").toArray().map((r) => [r.at, r.end]);
      store.save(quiet);
      expect(rows()).toEqual([0, 1, 2, 3].map((i) => [i * CHUNK_BYTES, Math.min((i + 1) * CHUNK_BYTES, 3 * CHUNK_BYTES + 5)]));
      const back = store.load()!.extra;
      expect(back.json).toEqual({ n: 1 });
      expect(back.bytes!.length).toBe(3 * CHUNK_BYTES + 5);
      expect(back.bytes!.every((b, i) => b === ((i * 7 + (i >> 20)) & 0xff))).toBe(true);
      // Read into the third piece: the two before it go, the rest of it stays; a write is a piece of its own.
      stream.read(CHUNK_BYTES);
      stream.read(CHUNK_BYTES + 1);
      stream.write(bytes(10));
      store.save(quiet);
      expect(rows()).toEqual([[2 * CHUNK_BYTES, 3 * CHUNK_BYTES], [3 * CHUNK_BYTES, 3 * CHUNK_BYTES + 5], [3 * CHUNK_BYTES + 5, 3 * CHUNK_BYTES + 15]]);
      const rest = store.load()!.extra.bytes!;
      expect(rest.length).toBe(CHUNK_BYTES + 4 + 10);
      expect(rest.subarray(0, CHUNK_BYTES + 4).every((b, i) => b === (((i + 2 * CHUNK_BYTES + 1) * 7 + ((i + 2 * CHUNK_BYTES + 1) >> 20)) & 0xff))).toBe(true);
      expect([...rest.subarray(CHUNK_BYTES + 4)]).toEqual([...bytes(10)]);
      // The old form, in pieces: given back whole, and written anew by the next save.
      sql.exec("UPDATE snapshot SET json = json_remove(json, '$.read')");
      sql.exec("DELETE FROM snapshot_stream");
      [bytes(CHUNK_BYTES), bytes(3)].forEach((data, seq) => sql.exec("INSERT INTO snapshot_bytes (seq, data) VALUES (?, ?)", seq, data));
      const old = store.load()!.extra.bytes!;
      expect([...old.subarray(CHUNK_BYTES)]).toEqual([...bytes(3)]);
      expect(old.length).toBe(CHUNK_BYTES + 3);
      const restored = new Pipe(old);
      const again = new Snapshots(state.storage, () => ({ json: { n: 2 }, stream: restored }), () => true);
      again.load();
      again.save(quiet);
      expect(sql.exec("SELECT count(*) AS n FROM snapshot_bytes").one()).toEqual({ n: 0 });
      expect(rows()).toEqual([[0, CHUNK_BYTES], [CHUNK_BYTES, CHUNK_BYTES + 3]]);
      again.clear();
      expect(rows()).toEqual([]);
      expect(again.load()).toBeUndefined();
    });
  });
});
