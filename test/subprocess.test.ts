import { describe, expect, it } from "vitest";
import { Code, Format } from "../src/abi.js";
import { BusCall } from "../src/call.js";
import type { BusError } from "../src/errors.js";
import { liveSubprocesses, MAX_SUBPROCESSES, MAX_TREE_SUBPROCESSES } from "../src/services/process/slots.js";
import { MAX_LINE } from "../src/wasi/stdio.js";
import { guestApp } from "./helpers.js";

/**
 * A process.spawn call made straight to the runtime, kept alive as a spawner keeps it: what its
 * caller hears, in order (the reply, each callback, a failure), until `done` holds or 2 s pass.
 */
async function spawnEvents(request: object, done: (events: unknown[]) => boolean) {
  const { runtime } = guestApp();
  const events: unknown[] = [];
  const errors: BusError[] = [];
  const data = new TextEncoder().encode(JSON.stringify({ args: [], env: {}, stdin: null, ...request }));
  const call = runtime.start("os", "process.spawn", { format: Format.Json, data }, {
    finish: () => void events.push("reply"),
    fail: (err) => void (events.push({ fail: err.codeName }), errors.push(err)),
    callback: (topic, payload) => (events.push({ [topic]: JSON.parse(new TextDecoder().decode(payload.data)) }), Code.Success),
  }, { keepalive: true, caller: "test" });
  for (const deadline = Date.now() + 2000; !done(events) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 30)); // anything that would come after
  call.drop("done");
  return { events, errors };
}

/**
 * spawnEvents with a spawner whose queue is full (every callback refused with LimitExceeded, as
 * a guest's delivery queue refuses past its bounds) from the `fullAt`th callback until `ms` later.
 */
async function fullSpawner(request: object, fullAt: number, ms: number, done: (events: unknown[]) => boolean, refusals?: { count: number }) {
  const { runtime } = guestApp();
  const events: unknown[] = [];
  let seen = 0;
  let fullUntil = 0;
  const data = new TextEncoder().encode(JSON.stringify({ args: [], env: {}, stdin: null, ...request }));
  const call = runtime.start("os", "process.spawn", { format: Format.Json, data }, {
    finish: () => void events.push("reply"),
    fail: (err) => void events.push({ fail: err.codeName }),
    callback: (topic, payload) => {
      if (++seen === fullAt) fullUntil = Date.now() + ms;
      if (Date.now() < fullUntil) {
        if (refusals) refusals.count++;
        return Code.LimitExceeded;
      }
      const bytes = JSON.parse(new TextDecoder().decode(payload.data));
      events.push({ [topic]: Array.isArray(bytes) ? new TextDecoder().decode(new Uint8Array(bytes)) : bytes });
      return Code.Success;
    },
  }, { keepalive: true, caller: "test" });
  for (const deadline = Date.now() + 3000; !done(events) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
  call.drop("done");
  return events;
}

describe("sub-processes (process service)", () => {
  it("a child's exit reaches a spawner whose queue was full when the child ended, after what it missed is said", async () => {
    // spew-rs writes its 20 lines without waiting (it cannot: it never reads), and exits while the
    // spawner's queue is full from the 5th line on.
    const events = await fullSpawner({ module: "spew-rs", args: ["20", "1"] }, 5, 100, (e) => e.some((x) => typeof x === "object" && "exit" in x!));
    // Its _start runs inside the spawn: the first lines come before the reply. The 5th, refused,
    // is held and goes once there is room; the 15 after it, written meanwhile, are counted.
    const x = { stdout: "x\n" };
    expect(events).toEqual([x, x, x, x, "reply", x, { stderr: expect.stringMatching(/^\[wasm-bus\] 15 lines dropped: the spawner's queue was full/) }, { exit: 0 }]);
  });

  it("offers a held line again less and less often while its spawner's queue stays full", async () => {
    // Full for 1.5 s from spew-rs's 5th line: offered every 5 ms that was some 250 refusals (and a
    // timer 200 times a second for as long as a spawner keeps the call and never reads); backing
    // off, doubling up to a second, it is a handful, and the line still goes once there is room.
    const refusals = { count: 0 };
    const events = await fullSpawner({ module: "spew-rs", args: ["20", "1"] }, 5, 1500, (e) => e.some((x) => typeof x === "object" && "exit" in x!), refusals);
    expect(events.at(-1)).toEqual({ exit: 0 });
    expect(refusals.count).toBeLessThan(40); // 15 of them the lines spew-rs writes meanwhile, one refusal each
  });

  it("a child that can wait is held while its spawner's queue is full, and loses no line", async () => {
    // sleepcat-rs copies stdin to stdout line by line (a blocking guest: it can wait). A spawn's
    // stdin stays open for more, so it goes on waiting for stdin after the last line.
    const stdin = [...new TextEncoder().encode(Array.from({ length: 30 }, (_, i) => `${i}\n`).join(""))];
    const stdout = (events: unknown[]) => events.filter((e): e is { stdout: string } => typeof e === "object" && "stdout" in e!).map((e) => e.stdout);
    const events = await fullSpawner({ module: "sleepcat-rs", args: ["0"], stdin }, 5, 100, (e) => stdout(e).length >= 31);
    expect(stdout(events)).toEqual(["sleeping\n", ...Array.from({ length: 30 }, (_, i) => `${i}\n`)]);
    expect(events.filter((e) => typeof e === "object" && "stderr" in e!)).toEqual([]);
  });

  it("a child that can wait loses no line of a write that ends many, the spawner's queue full partway through it", async () => {
    // cmd (blocking: it polls) prints its argument and a newline in one fd_write: ten lines at
    // once. The queue refuses from the 3rd: it is held, and the seven after it in the same write
    // must wait with it, not be counted lost, as the child could have waited before each.
    const lines = Array.from({ length: 10 }, (_, i) => `${i}`);
    const events = await fullSpawner({ module: "cmd", args: [lines.join("\n")] }, 3, 100, (e) => e.some((x) => typeof x === "object" && "exit" in x!));
    const stdout = events.filter((e): e is { stdout: string } => typeof e === "object" && "stdout" in e!).map((e) => e.stdout);
    expect(stdout).toEqual([...lines.map((l) => `${l}\n`), "slept\n"]);
    expect(events.filter((e) => typeof e === "object" && "stderr" in e!)).toEqual([]);
    expect(events.at(-1)).toEqual({ exit: 3 });
  });

  it.each([2, 3, 4])("a child that can wait loses no piece of a line longer than MAX_LINE, the spawner's queue full from piece %i", async (fullAt) => {
    // One fd_write of a 200 KiB line: it comes out in MAX_LINE pieces. The queue refuses one: the
    // pieces after it in the same write must wait with it, not be counted lost. (The 4th is the
    // line's end: the 3rd must not come out in the same step as it.)
    const line = "a".repeat(200 * 1024);
    const events = await fullSpawner({ module: "cmd", args: [line] }, fullAt, 100, (e) => e.some((x) => typeof x === "object" && "exit" in x!));
    const stdout = events.filter((e): e is { stdout: string } => typeof e === "object" && "stdout" in e!).map((e) => e.stdout);
    // Lengths, not the 200 KiB strings: a failure must be readable. Each piece comes as a line.
    const rest = 200 * 1024 - 3 * MAX_LINE;
    expect(stdout.map((s) => s.length)).toEqual([MAX_LINE + 1, MAX_LINE + 1, MAX_LINE + 1, rest + 1, "slept\n".length]);
    const piece = `${"a".repeat(MAX_LINE)}\n`;
    expect(stdout.join("")).toBe(`${piece}${piece}${piece}${"a".repeat(rest)}\nslept\n`);
    expect(events.filter((e) => typeof e === "object" && "stderr" in e!)).toEqual([]);
    expect(events.at(-1)).toEqual({ exit: 3 });
  });

  it("a module spawns countdown and reads its stdout and exit through callbacks", async () => {
    const { call, logs } = guestApp();
    const res = await call("spawner", "run", { module: "countdown", args: ["3", "10"], env: {}, stdin: null });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toBe(0);
    const out = logs.filter((l) => l.module === "spawner").map((l) => l.msg);
    // each stdout callback carries one line's bytes ("3\n" ...), as serde writes Vec<u8> in json
    expect(out).toEqual(["[51,10]", "[50,10]", "[49,10]"]);
  });

  it("hears a failing child's exit code", async () => {
    const { call } = guestApp();
    const res = await call("spawner", "run", { module: "countdown", args: ["nope"], env: {}, stdin: null });
    expect(await res.json()).toBe(2);
  });

  it("feeds the child's stdin from the spawn request", async () => {
    const { call, logs } = guestApp();
    const res = await call("spawner", "run", { module: "upcase", args: [], env: {}, stdin: [104, 105, 10] });
    expect(await res.json()).toBe(0);
    expect(logs.filter((l) => l.module === "spawner").map((l) => l.msg)).toEqual(["[72,73,10]"]);
  });

  it("refuses an unknown module with InvalidWapm", async () => {
    const { call } = guestApp();
    const res = await call("spawner", "run", { module: "nope", args: [], env: {}, stdin: null });
    expect(await res.json()).toMatchObject({ code: Code.InvalidWapm });
  });

  it("fails the spawn with IncorrectAbi for a module that is not a command, as POST /processes refuses it", async () => {
    const { events, errors } = await spawnEvents({ module: "hello" }, (e) => e.length > 0);
    expect(events).toEqual([{ fail: "IncorrectAbi" }]);
    expect(errors[0]!.message).toMatch(/hello is not a command/);
  });

  it("fails the spawn with BadRequest for args or env the child cannot receive, and starts nothing", async () => {
    for (const request of [{ args: ["env", "a\u0000b"] }, { env: { "A=B": "c" } }, { env: { "": "x" } }, { env: { A: "\u0000" } }]) {
      const { events } = await spawnEvents({ module: "wasi-probe", ...request }, (e) => e.length > 0);
      expect(events, JSON.stringify(request)).toEqual([{ fail: "BadRequest" }]);
    }
  });

  it("a child that traps calls exit -1, then fails the kept-alive spawn with GuestTrapped and its reason", async () => {
    const { events, errors } = await spawnEvents({ module: "trapper" }, (e) => e.some((x) => typeof x === "object" && "fail" in x!));
    expect(events).toEqual(["reply", { exit: -1 }, { fail: "GuestTrapped" }]);
    // Its reason names _start, where it trapped: there was no call.
    expect(errors[0]!.message).toMatch(/module trapper trapped during _start: unreachable/);
  });

  it("a child with no room in its memory for the stack of a wait fails with MemoryAllocationFailed, its own failure", async () => {
    const { events, errors } = await spawnEvents({ module: "wasi-sleeper-tight" }, (e) => e.some((x) => typeof x === "object" && "fail" in x!));
    expect(events).toEqual([{ stdout: [...new TextEncoder().encode("sleeping\n")] }, "reply", { exit: -1 }, { fail: "MemoryAllocationFailed" }]);
    expect(errors[0]!.message).toMatch(/no page left within its memory limit for the stack of a wait/);
  });

  it("a child that exits with 4294967295 calls exit -1 and leaves the spawn alive: no failure", async () => {
    const { events } = await spawnEvents({ module: "wasi-probe", args: ["exit", "4294967295"] }, (e) => e.length >= 2);
    expect(events).toEqual(["reply", { exit: -1 }]);
  });
  it("a chain of processes that spawn processes ends at the runtime's call depth, not the stack's", async () => {
    const { runtime, logs } = guestApp();
    const root = runtime.spawn("spawn-chain");
    void root.run().catch(() => {});
    const refused = () => logs.some((l) => l.module === "spawn-chain" && l.msg === "refused");
    for (const deadline = Date.now() + 5000; !refused() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
    expect(refused()).toBe(true);
    // each spawn call goes on the chain of the one that made its process: the root's is depth 0,
    // the one past maxDepth is refused, so the root and maxDepth + 1 children ran
    expect(logs.filter((l) => l.module === "spawn-chain" && l.msg === "spawning").length).toBe(runtime.maxDepth + 2);
    expect(logs.filter((l) => l.level === "warn" && l.msg.startsWith(`call chain deeper than ${runtime.maxDepth}`)).length).toBe(1);
    // killing the root ends the whole chain, one process at a time
    root.kill("done");
  });
  it(`holds at most MAX_SUBPROCESSES (${MAX_SUBPROCESSES}) sub-processes at once, and takes more as they end`, async () => {
    const { runtime } = guestApp();
    expect(liveSubprocesses()).toBe(0); // the tests before ended theirs
    const data = new TextEncoder().encode(JSON.stringify({ module: "wasi-sleeper", args: [], env: {}, stdin: null }));
    const spawn = () => {
      const outcome = { replied: false, failed: undefined as BusError | undefined };
      const call = runtime.start("os", "process.spawn", { format: Format.Json, data }, {
        finish: () => void (outcome.replied = true),
        fail: (err) => void (outcome.failed = err),
        callback: () => Code.Success,
      }, { keepalive: true, caller: "test" });
      return { call, outcome };
    };
    const sleepers = Array.from({ length: MAX_SUBPROCESSES }, spawn);
    expect(sleepers.filter((s) => s.outcome.replied).length).toBe(MAX_SUBPROCESSES);
    const over = spawn();
    expect(over.outcome.failed).toMatchObject({ codeName: "LimitExceeded", message: `process.spawn: ${MAX_SUBPROCESSES} sub-processes are running in this isolate already` });
    sleepers[0]!.call.drop("done"); // kills it: one place free
    const again = spawn();
    expect(again.outcome.replied).toBe(true);
    for (const s of [...sleepers, again]) s.call.drop("done");
    expect(liveSubprocesses()).toBe(0);
  });

  it("counts a sub-process before its _start runs, so one spawning from there is held to the bound too", async () => {
    const { runtime, logs } = guestApp();
    const data = new TextEncoder().encode(JSON.stringify({ module: "wasi-sleeper", args: [], env: {}, stdin: null }));
    const sleepers = Array.from({ length: MAX_SUBPROCESSES - 3 }, () => runtime.start("os", "process.spawn", { format: Format.Json, data }, { finish: () => {}, fail: () => {}, callback: () => Code.Success }, { keepalive: true, caller: "test" }));
    expect(liveSubprocesses()).toBe(MAX_SUBPROCESSES - 3);
    // a chain (its root is no sub-process): three children fit, the third one's spawn is refused
    // for the bound, not the depth
    const root = runtime.spawn("spawn-chain");
    void root.run().catch(() => {});
    const spawning = () => logs.filter((l) => l.module === "spawn-chain" && l.msg === "spawning").length;
    for (const deadline = Date.now() + 2000; spawning() < 4 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50)); // a fifth would come now
    expect(spawning()).toBe(4);
    // the third child, its spawn failed and nothing else in flight, has exited
    expect(liveSubprocesses()).toBe(MAX_SUBPROCESSES - 1);
    root.kill("done");
    for (const call of sleepers) call.drop("done");
    expect(liveSubprocesses()).toBe(0);
  });

  it(`holds one tree to MAX_TREE_SUBPROCESSES (${MAX_TREE_SUBPROCESSES}) at once: a tree at its bound is refused, another tree still spawns`, async () => {
    const { runtime } = guestApp();
    const data = new TextEncoder().encode(JSON.stringify({ module: "wasi-sleeper", args: [], env: {}, stdin: null }));
    // A tree is what one instance spawns (as a guest's spawn calls name it: CallOptions.from).
    const instance = () => ({ log: () => {}, childId: () => undefined });
    const spawn = (from: ReturnType<typeof instance>, origin?: BusCall) => {
      const outcome = { replied: false, failed: undefined as BusError | undefined };
      const call = runtime.start("os", "process.spawn", { format: Format.Json, data }, {
        finish: () => void (outcome.replied = true),
        fail: (err) => void (outcome.failed = err),
        callback: () => Code.Success,
      }, { keepalive: true, caller: "test", from, origin });
      return { call, outcome };
    };
    const greedy = instance();
    const first = Array.from({ length: MAX_TREE_SUBPROCESSES }, () => spawn(greedy));
    expect(first.filter((s) => s.outcome.replied).length).toBe(MAX_TREE_SUBPROCESSES);
    const over = spawn(greedy);
    expect(over.outcome.failed?.codeName).toBe("LimitExceeded");
    expect(over.outcome.failed?.message).toMatch(new RegExp(`^process.spawn: ${MAX_TREE_SUBPROCESSES} sub-processes of this tree .* \\(MAX_TREE_SUBPROCESSES\\)`));
    expect(liveSubprocesses()).toBe(MAX_TREE_SUBPROCESSES); // the isolate has room: the tree has not
    // Nor does another module's instance spawning for a call the tree made: it is the same tree.
    const made = new BusCall("pooled", "fan-out", { format: Format.Json, data: new Uint8Array() }, { finish() {}, fail() {}, callback: () => Code.Success }, { from: greedy });
    expect(spawn(instance(), made).outcome.failed?.codeName).toBe("LimitExceeded");
    // Another tree, while the first is at its bound.
    const other = instance();
    const second = Array.from({ length: 3 }, () => spawn(other));
    expect(second.every((s) => s.outcome.replied)).toBe(true);
    first[0]!.call.drop("done"); // one of the first tree's ends: it takes one more
    const again = spawn(greedy);
    expect(again.outcome.replied).toBe(true);
    for (const { call } of [...first, ...second, again]) call.drop("done");
    expect(liveSubprocesses()).toBe(0);
  });

  it("a process that spawns a chain of itself stops at the tree's bound, even where the call depth would let it fill the isolate, and another process's tree still grows", async () => {
    // A call depth past the isolate's bound: without a tree's, the first chain would take all of it.
    const { runtime, logs } = guestApp({ maxDepth: MAX_SUBPROCESSES + 16 });
    const spawning = () => logs.filter((l) => l.module === "spawn-chain" && l.msg === "spawning").length;
    const grow = async (upTo: number) => {
      const root = runtime.spawn("spawn-chain");
      void root.run().catch(() => {});
      for (const deadline = Date.now() + 5000; spawning() < upTo && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 50)); // one past the bound would come now
      return root;
    };
    // The root (no sub-process) and the tree's bound of descendants; the last one's spawn was
    // refused (LimitExceeded), and with nothing else in flight it exited.
    const first = await grow(MAX_TREE_SUBPROCESSES + 1);
    expect(spawning()).toBe(MAX_TREE_SUBPROCESSES + 1);
    expect(liveSubprocesses()).toBe(MAX_TREE_SUBPROCESSES - 1);
    // Another process's tree grows as far while the first is held there.
    const second = await grow(2 * (MAX_TREE_SUBPROCESSES + 1));
    expect(spawning()).toBe(2 * (MAX_TREE_SUBPROCESSES + 1));
    expect(liveSubprocesses()).toBe(2 * (MAX_TREE_SUBPROCESSES - 1));
    first.kill("done");
    second.kill("done");
    expect(liveSubprocesses()).toBe(0);
  });
});
