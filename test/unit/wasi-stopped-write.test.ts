import { wasi as defs } from "@bjorn3/browser_wasi_shim";
import { expect, it } from "vitest";
import { GuestMemory } from "../../src/memory.js";
import { wasiImports } from "../../src/wasi.js";

/**
 * An fd_write waiting for output backpressure when its instance stops (killed, broken, or replaced
 * by one restored from a snapshot, which writes the same bytes again as it rewinds) writes nothing
 * once the backpressure goes: found by test/fuzz/asyncify-fuzzer.ts, where the stopped instance's
 * write came out as lines and set nwritten in memory after the instance was gone, as fd_read and
 * poll_oneoff, which answer ERRNO_CANCELED then, never did.
 */
it("an fd_write that waited for output backpressure writes nothing once its instance has stopped: ERRNO_CANCELED", async () => {
  const memory = new GuestMemory(new WebAssembly.Memory({ initial: 1 }));
  const lines: string[] = [];
  let release!: () => void;
  const backpressure = new Promise<void>((resolve) => (release = resolve));
  const suspender = { canSuspend: true, suspending: <A extends unknown[], R>(fn: (...a: A) => R) => fn, promising: () => { throw new Error("not here"); } };
  const wasi = wasiImports({ outputReady: () => backpressure }, { memory: () => memory, clock: { now: Date.now, sleepUntil: () => new Promise(() => {}) }, log: (_s, line) => lines.push(line), suspender: suspender as never });
  const view = new DataView(memory.raw.buffer);
  new Uint8Array(memory.raw.buffer).set(new TextEncoder().encode("gone\n"), 64);
  view.setUint32(0, 64, true);
  view.setUint32(4, 5, true);
  view.setUint32(16, 0xaaaaaaaa, true);
  const write = (wasi.imports.fd_write as (...a: number[]) => number | Promise<number>)(1, 0, 1, 16);
  expect(write).toBeInstanceOf(Promise);
  wasi.stop();
  release();
  expect(await write).toBe(defs.ERRNO_CANCELED);
  wasi.flush();
  expect(lines).toEqual([]);
  expect(view.getUint32(16, true)).toBe(0xaaaaaaaa);
});
