/// <reference types="node" />
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import binaryen from "binaryen";
import wabtInit from "wabt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, Format } from "../../src/abi.js";
import { BusCall } from "../../src/call.js";
import { AsyncifyState, type Suspended } from "../../src/instance/asyncify.js";
import type { Guest } from "../../src/instance/guest.js";
import type { LogLine } from "../../src/log.js";
import { Runtime } from "../../src/runtime.js";
import { compile } from "./wat.js";

/**
 * Blocking guests through binaryen's asyncify (scripts/wasm-asyncify.mjs, src/instance/asyncify.ts),
 * in plain Node, which has no JSPI unless flagged (and where it has, it is hidden here): the
 * modules as the build made them, each run to its end; the driver's record of a suspended entry,
 * and a restored instance rewinding into the import it waited in.
 */
const root = resolve(__dirname, "../..");
const built = (path: string) => readFileSync(resolve(root, "build", path));
const manifest = (dir: string) => JSON.parse(readFileSync(resolve(root, dir, "module.json"), "utf8")) as unknown;

/**
 * The build's binary with every mutable global also exported as `test_global_<i>`: a snapshot
 * needs the shadow stack's `__stack_pointer`, which Rust never exports. (The build exports them
 * for snapshots as well; this does not count on it.)
 */
function withGlobals(bytes: Uint8Array): Uint8Array {
  const module = binaryen.readBinary(bytes);
  module.setFeatures(binaryen.Features.All);
  for (let i = 0; i < module.getNumGlobals(); i++) {
    const info = binaryen.getGlobalInfo(module.getGlobalByIndex(i));
    if (info.mutable && !info.module) module.addGlobalExport(info.name, `test_global_${i}`);
  }
  const out = module.emitBinary();
  module.dispose();
  return out;
}

const wabt = await wabtInit();
/** A blocking command not built by this build: it imports poll and exits with what poll answers. */
const unasyncified = (() => {
  const parsed = wabt.parseWat(
    "plain.wat",
    `(module
      (import "wasm-bus" "poll" (func $poll (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (func (export "_start") (call $exit (call $poll))))`,
  );
  const bytes = parsed.toBinary({}).buffer as Uint8Array;
  parsed.destroy();
  return bytes;
})();

const registry = {
  "sleeper-rs": { manifest: manifest("modules/sleeper-rs"), wasm: compile(built("modules/sleeper-rs.wasm")) },
  upcase: { manifest: manifest("modules/upcase"), wasm: compile(built("modules/upcase.wasm")) },
  cmd: { manifest: manifest("test/guests/cmd"), wasm: compile(built("test-guests/cmd.wasm")) },
  poller: { manifest: manifest("test/guests/poller"), wasm: compile(withGlobals(built("test-guests/poller.wasm"))) },
  "wasi-probe": { manifest: manifest("test/guests/wasi-probe"), wasm: compile(withGlobals(built("test-guests/wasi-probe.wasm"))) },
  plain: { manifest: { topics: {} }, wasm: compile(unasyncified) },
};

function runtime() {
  const logs: LogLine[] = [];
  const rt = new Runtime(registry, { fuel: compile(built("fuel.wasm")), log: (line) => logs.push(line) });
  const lines = (module: string, stream = "stdout") => logs.filter((l) => l.module === module && l.stream === stream).map((l) => l.msg);
  return { rt, logs, lines };
}

/** Resolves once the guest's entry is suspended (unwound, waiting). */
async function suspendedIn(guest: Guest): Promise<Suspended> {
  for (let i = 0; i < 500; i++) {
    const s = guest.asyncify?.suspended();
    if (s) return s;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`${guest.module.name} never suspended`);
}

type Exports = Record<string, unknown> & { memory: WebAssembly.Memory; asyncify_get_state(): number };
/** The exports of the instance made last (WebAssembly.Instance is wrapped while these run). */
let lastExports: Exports | undefined;
function spawn(rt: Runtime, name: string, args: string[] = []): { guest: Guest; exports: Exports } {
  lastExports = undefined;
  const guest = rt.spawn(name, { args });
  return { guest, exports: lastExports! };
}

// What a snapshot takes of an instance: its memory and its mutable globals.
function take(exports: Exports) {
  const globals = Object.entries(exports).filter(([name]) => name.startsWith("test_global_")) as [string, WebAssembly.Global][];
  return { memory: new Uint8Array(exports.memory.buffer).slice(), globals: globals.map(([name, g]) => [name, g.value] as const) };
}
function put(exports: Exports, saved: ReturnType<typeof take>) {
  const pages = saved.memory.length / 65536 - exports.memory.buffer.byteLength / 65536;
  if (pages > 0) exports.memory.grow(pages);
  new Uint8Array(exports.memory.buffer).set(saved.memory);
  for (const [name, value] of saved.globals) (exports[name] as WebAssembly.Global).value = value;
}

// No JSPI: where this Node has it, it is hidden while these run.
const jspi = WebAssembly as unknown as { Suspending?: unknown; promising?: unknown };
const hidden = { Suspending: jspi.Suspending, promising: jspi.promising };
const RealInstance = WebAssembly.Instance;
beforeAll(() => {
  delete jspi.Suspending;
  delete jspi.promising;
  // Keeps each instance's exports, for the snapshot tests to read and write.
  function Keeping(module: WebAssembly.Module, imports?: WebAssembly.Imports) {
    const instance = new RealInstance(module, imports);
    lastExports = instance.exports as Exports;
    return instance;
  }
  Keeping.prototype = RealInstance.prototype;
  (WebAssembly as { Instance: unknown }).Instance = Keeping;
});
afterAll(() => {
  Object.assign(jspi, hidden);
  (WebAssembly as { Instance: unknown }).Instance = RealInstance;
});

describe("blocking guests without JSPI (asyncify)", () => {
  it("sleeper-rs: block_on waits in poll for the bus's sleep, prints, exits 0", async () => {
    const { rt, lines } = runtime();
    const started = Date.now();
    expect(await rt.spawn("sleeper-rs").run()).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(lines("sleeper-rs")).toEqual(["sleeping 50 ms through the bus", "awake"]);
    expect(lines("sleeper-rs", "stderr")).toEqual([]);
  });

  it("cmd (WAT, poll), upcase (WAT, fd_read) and wasi-probe (Rust std: a sleep, stdin waited for) run as they did with JSPI", async () => {
    const { rt, lines } = runtime();
    expect(await rt.spawn("cmd", { args: ["hi there"] }).run()).toBe(3);
    expect(lines("cmd")).toEqual(["hi there", "slept"]);
    expect(await rt.spawn("upcase", { stdin: new TextEncoder().encode("quiet\nplease\n") }).run()).toBe(0);
    expect(lines("upcase")).toEqual(["QUIET", "PLEASE"]);
    const started = Date.now();
    expect(await rt.spawn("wasi-probe", { args: ["sleep", "30"] }).run()).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(30);
    expect(lines("wasi-probe")).toEqual(["slept true"]);
  });

  it("a blocking module not built with asyncify cannot wait: poll answers Unsupported, with the reason logged", async () => {
    const { rt, logs } = runtime();
    expect(rt.modules.get("plain")).toMatchObject({ blocking: true, asyncify: false });
    expect(await rt.spawn("plain").run()).toBe(Code.Unsupported);
    expect(logs.map((l) => l.msg).join("\n")).toMatch(/module plain was not built with asyncify/);
  });

  it("a poll reached from a delivery made while the guest waits in poll answers Unsupported; the waiting entry goes on", async () => {
    const { rt, logs } = runtime();
    const guest = rt.spawn("poller");
    const outcome = (topic: string) =>
      new Promise<string>((done) => {
        const call = new BusCall("poller", topic, { format: Format.Json, data: new TextEncoder().encode("{}") }, {
          finish: () => done("finished"),
          fail: (err) => done(err.codeName),
          callback: () => Code.MissingCallbacks,
        });
        guest.accept(call);
      });
    const first = outcome("wait");
    await suspendedIn(guest);
    const second = outcome("wait"); // delivered from inside the first one's poll
    expect(await second).toBe("Unsupported");
    expect(await first).toBe("finished");
    expect(logs.map((l) => l.msg).join("\n")).toMatch(/poll cannot wait here/);
  });

  it("fuel: a guest resumed after others drained the shared meter gets its budget back", async () => {
    const { rt, lines } = runtime();
    const guest = rt.spawn("wasi-probe", { args: ["sleep", "20"] });
    const done = guest.run();
    await suspendedIn(guest);
    rt.meter.fuel.value = 1n; // as if another guest had run its loops meanwhile
    expect(await done).toBe(0);
    expect(lines("wasi-probe")).toEqual(["slept true"]);
  });
});

describe("a suspended entry, and rewinding a restored instance into it (what snapshots use)", () => {
  it("wasi-probe in a WASI sleep: suspended() names _start; a fresh instance given its memory and globals rewinds, sleeps again, prints, returns", async () => {
    const { rt, lines } = runtime();
    const a = spawn(rt, "wasi-probe", ["sleep", "120"]);
    const started = Date.now();
    void a.guest.run().catch(() => undefined);
    const s = await suspendedIn(a.guest);
    expect(s).toEqual({ export: "_start", args: [], data: expect.any(Number) });
    expect(a.guest.asyncify!.data).toBe(s.data);
    // The saved stack is in the guest's memory: the buffer's header says where it ends.
    const view = new DataView(a.exports.memory.buffer);
    const [current, end] = [view.getUint32(s.data, true), view.getUint32(s.data + 4, true)];
    expect(current).toBeGreaterThan(s.data + 8);
    expect(end).toBeGreaterThan(current);
    expect(a.exports.asyncify_get_state()).toBe(AsyncifyState.Normal);
    const saved = take(a.exports);
    a.guest.kill("snapshotted"); // its promise goes with it

    const b = spawn(rt, "wasi-probe", ["sleep", "120"]);
    put(b.exports, saved);
    const resumed = Date.now();
    await b.guest.rewind(s);
    expect(b.guest.broken).toBe(false);
    expect(b.guest.asyncify!.suspended()).toBeUndefined();
    // The sleep ran again with the arguments the guest called poll_oneoff with: 120 ms from the rewind.
    expect(Date.now() - resumed).toBeGreaterThanOrEqual(115);
    expect(Date.now() - started).toBeGreaterThanOrEqual(120);
    expect(lines("wasi-probe")).toEqual(["slept true"]);
  });

  it("poller in poll: the restored instance rewinds into poll, which waits again for deliveries", async () => {
    const { rt } = runtime();
    const a = spawn(rt, "poller");
    a.guest.accept(new BusCall("poller", "wait", { format: Format.Json, data: new TextEncoder().encode("{}") }, { finish: () => {}, fail: () => {}, callback: () => 0 }));
    const s = await suspendedIn(a.guest);
    expect(s).toMatchObject({ export: "wasm_bus_start", args: [0, expect.any(Number), Format.Json, expect.any(Number), 4, expect.any(Number), 2] });
    const saved = take(a.exports);
    a.guest.kill("snapshotted");

    const b = spawn(rt, "poller");
    put(b.exports, saved);
    let over = false;
    void b.guest.rewind(s).then(() => (over = true));
    expect(await suspendedIn(b.guest)).toEqual(s); // the same buffer: the one its memory holds
    await new Promise((r) => setTimeout(r, 40)); // longer than the sleep it was waiting for: nothing comes
    expect(over).toBe(false);
    expect(b.guest.asyncify!.suspended()).toEqual(s);
    b.guest.kill("done");
  });

  it("a restored instance given the buffer's address reuses it: no second buffer taken from its memory", async () => {
    const { rt } = runtime();
    const call = () => new BusCall("poller", "wait", { format: Format.Json, data: new TextEncoder().encode("{}") }, { finish: () => {}, fail: () => {}, callback: () => 0 });
    const a = spawn(rt, "poller");
    a.guest.accept(call());
    const s = await suspendedIn(a.guest);
    const saved = take(a.exports);
    a.guest.kill("snapshotted");
    const heap = (x: Exports) => Object.entries(x).filter(([n]) => n.startsWith("test_global_")).map(([, g]) => (g as WebAssembly.Global).value as number)[0]!;

    // Restored without a suspended entry to rewind (as if snapshotted between calls): it waits again in a new call.
    const b = spawn(rt, "poller");
    put(b.exports, saved);
    b.guest.asyncify!.data = s.data;
    const before = heap(b.exports); // poller's bump allocator
    b.guest.accept(call());
    expect((await suspendedIn(b.guest)).data).toBe(s.data);
    // Only the new call's topic and request were allocated (poller's wasm_bus_malloc bumps its heap), not another 16 KiB.
    expect(heap(b.exports) - before).toBe(4 + 2);
    b.guest.kill("done");
  });
});
