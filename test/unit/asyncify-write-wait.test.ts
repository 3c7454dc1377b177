/// <reference types="node" />
import { wasi as defs } from "@bjorn3/browser_wasi_shim";
import { expect, it } from "vitest";
import { Asyncify } from "../../src/instance/asyncify.js";
import { GuestMemory } from "../../src/memory.js";
import { wasiImports } from "../../src/wasi.js";
import { asyncifiedGuest, LAYOUT, meterImports, OPS } from "../fuzz/asyncify-guest.js";

/**
 * An asyncified guest's fd_write that waited for output backpressure keeps to outputBlocked once
 * it goes on (found by test/fuzz/asyncify-fuzzer.ts): the write went on in the wait's promise,
 * outside the guest's entry, where the driver says the guest cannot suspend, so it wrote every
 * line, past the one that filled the reader (lost there), where a direct call (JSPI) ends the
 * write after that line, short, for the guest to wait in its next.
 */
it("an asyncified fd_write that waited for backpressure ends after the line that fills the reader, as a direct call does", async () => {
  const fuel = meterImports();
  const driver = new Asyncify("writer", fuel.refuel);
  let memory!: GuestMemory;
  const lines: string[] = [];
  let release!: () => void;
  let held: Promise<void> | undefined = new Promise<void>((resolve) => (release = resolve));
  const options = { outputReady: () => held, outputBlocked: () => true };
  const wasi = wasiImports(options, { memory: () => memory, clock: { now: Date.now, sleepUntil: () => new Promise<void>(() => {}) }, log: (_s, line) => lines.push(line), suspender: driver });
  const exports = driver.bind(new WebAssembly.Instance(asyncifiedGuest(), { wasi_snapshot_preview1: wasi.imports as WebAssembly.ModuleImports, wasm_bus_meter: fuel.imports }).exports) as { memory: WebAssembly.Memory; _start(): void };
  memory = new GuestMemory(exports.memory);
  const view = new DataView(exports.memory.buffer);
  // One action: fd_write(1, one iovec of "a\nb\n", nwritten).
  new Uint8Array(exports.memory.buffer).set(new TextEncoder().encode("a\nb\n"), LAYOUT.SCRATCH);
  view.setUint32(LAYOUT.ARGS, LAYOUT.SCRATCH, true);
  view.setUint32(LAYOUT.ARGS + 4, 4, true);
  view.setUint32(LAYOUT.HEADER, 1, true);
  view.setUint32(LAYOUT.SCRIPT, OPS.indexOf("fd_write"), true);
  [1, LAYOUT.ARGS, 1, LAYOUT.SCRATCH + 64].forEach((a, k) => view.setUint32(LAYOUT.SCRIPT + 16 + k * 4, a, true));
  const run = driver.promising(exports._start, "_start")();
  expect(driver.suspended()).toBeDefined(); // waiting for the backpressure to go
  held = undefined;
  release();
  await run;
  const result = new DataView(exports.memory.buffer);
  expect(result.getUint32(LAYOUT.RESULTS, true)).toBe(defs.ERRNO_SUCCESS);
  expect(result.getUint32(LAYOUT.RESULTS + 4, true)).toBe(2); // nwritten, as the guest read it: "a\n"
  expect(lines).toEqual(["a"]);
  wasi.stop();
});
