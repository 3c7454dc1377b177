/// <reference types="node" />
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { BusError } from "../../src/errors.js";
import { Asyncify } from "../../src/instance/asyncify.js";
import { GuestMemory } from "../../src/memory.js";
import { Pipe } from "../../src/pipe.js";
import { wasiImports } from "../../src/wasi.js";
import { asyncifiedGuest, LAYOUT, meterImports, OPS } from "../fuzz/asyncify-guest.js";
import { compile, watBytes } from "./wat.js";

/**
 * A stack too deep for the asyncify buffer (found by test/fuzz/asyncify-fuzzer.ts): the guest
 * (test/fuzz/asyncify-guest.ts) waits in fd_read on an empty stdin under `depth` frames of 44
 * bytes each, more than the 64 KiB page a WASI program's buffer is. Asyncify writes the frames
 * past the buffer and checks its end only once the unwind is over: the guest trapped with
 * "memory access out of bounds" (the buffer at the end of memory) or "unreachable" (memory grown
 * after it), which said nothing of why. It is GuestTrapped saying the stack did not fit.
 */
async function waitDeep(depth: number, growAfterBuffer: boolean): Promise<unknown> {
  const fuel = meterImports();
  const driver = new Asyncify("deep", fuel.refuel);
  const stdin = new Pipe();
  let memory!: GuestMemory;
  const wasi = wasiImports({ stdin }, { memory: () => memory, clock: { now: Date.now, sleepUntil: () => Promise.resolve() }, log: () => {}, suspender: driver });
  const exports = driver.bind(new WebAssembly.Instance(asyncifiedGuest(), { wasi_snapshot_preview1: wasi.imports as WebAssembly.ModuleImports, wasm_bus_meter: fuel.imports }).exports) as { memory: WebAssembly.Memory; _start(): void };
  memory = new GuestMemory(exports.memory);
  const view = new DataView(exports.memory.buffer);
  // Two reads of stdin: a shallow one, which makes the buffer, then the deep one.
  view.setUint32(LAYOUT.HEADER, 2, true);
  view.setUint32(LAYOUT.ARGS, LAYOUT.SCRATCH, true);
  view.setUint32(LAYOUT.ARGS + 4, 16, true);
  [0, depth].forEach((d, i) => {
    const rec = LAYOUT.SCRIPT + i * LAYOUT.RECORD;
    view.setUint32(rec, OPS.indexOf("fd_read"), true);
    view.setUint32(rec + 4, d, true);
    [0, LAYOUT.ARGS, 1, LAYOUT.SCRATCH + 64].forEach((a, k) => view.setUint32(rec + 16 + k * 4, a, true));
  });
  const outcome = driver.promising(exports._start, "_start")().then(() => "returned", (err: unknown) => err);
  await new Promise((r) => setTimeout(r, 5));
  expect(driver.suspended()?.data).toBe(LAYOUT.BUFFER);
  if (growAfterBuffer) exports.memory.grow(2);
  stdin.write(new TextEncoder().encode("x"));
  // A stack that fits waits in the second read too, for more.
  await new Promise((r) => setTimeout(r, 5));
  stdin.write(new TextEncoder().encode("y"));
  const ended = await outcome;
  wasi.stop();
  return ended;
}

describe("a stack too deep for the asyncify buffer", () => {
  for (const grown of [false, true]) {
    it(`fails as GuestTrapped saying so${grown ? ", memory grown past the buffer" : ", the buffer at the end of memory"}`, async () => {
      const err = await waitDeep(2000, grown);
      expect(err).toBeInstanceOf(BusError);
      expect((err as BusError).codeName).toBe("GuestTrapped");
      expect((err as BusError).message).toBe("module deep trapped during _start: its stack where it waited is more than the 65528 bytes of its asyncify buffer (too deep a recursion or too many locals under a wait)");
    });
  }

  it("one that fits (1,000 frames) waits and returns", async () => {
    expect(await waitDeep(1000, true)).toBe("returned");
  });
});

/**
 * A guest asyncified with indirect calls left alone (`asyncify-ignore-indirect`, a common size
 * option): the function that reaches its waiting import through a table is not instrumented, so
 * it goes on running while the guest unwinds, and traps there (here dividing by the import's 0).
 * That trap is the guest's own, with its own words: its stack is one frame, far within the buffer.
 */
function unwindsIntoItsOwnTrap(): WebAssembly.Module {
  const dir = mkdtempSync(join(tmpdir(), "asyncify-trap-"));
  const file = join(dir, "g.wasm");
  try {
    writeFileSync(
      file,
      watBytes(`(module
        (import "env" "wait" (func $wait (result i32)))
        (type $t (func (result i32)))
        (table 1 funcref)
        (elem (i32.const 0) $wait)
        (memory (export "memory") 1)
        (func (export "run") (result i32) (i32.div_u (i32.const 1) (call_indirect (type $t) (i32.const 0)))))`),
    );
    execFileSync(resolve(__dirname, "../../node_modules/.bin/wasm-opt"), [file, "--asyncify", "--pass-arg=asyncify-imports@env.wait", "--pass-arg=asyncify-ignore-indirect", "-o", file]);
    return compile(readFileSync(file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

it("a trap while the guest unwinds that is no overflow keeps its own words", async () => {
  const driver = new Asyncify("own-trap", () => {});
  const wait = driver.suspending(() => new Promise<number>(() => {}));
  const exports = driver.bind(new WebAssembly.Instance(unwindsIntoItsOwnTrap(), { env: { wait } }).exports) as { run(): number };
  const err = await driver.promising(exports.run, "run")().then(() => "returned", (e: unknown) => e);
  expect(err).toBeInstanceOf(WebAssembly.RuntimeError);
  expect((err as Error).message).toMatch(/divide by zero/);
});
