import { wasi as defs } from "@bjorn3/browser_wasi_shim";
import { describe, expect, it } from "vitest";
import { GuestMemory } from "../../src/memory.js";
import { type WasiState, wasiImports } from "../../src/wasi.js";

// The clocks' part of a snapshot (src/wasi/poll.ts, ClockState): a restored instance, maybe in
// another isolate, reads no clock earlier than one it waited for before.

function wasi() {
  const memory = new GuestMemory(new WebAssembly.Memory({ initial: 1 }));
  const never = () => new Promise<void>(() => {});
  const made = wasiImports({}, { memory: () => memory, clock: { sleepUntil: never, now: Date.now }, log: () => {} });
  const read = (id: number): bigint => {
    expect((made.imports.clock_time_get as (id: number, precision: bigint, ptr: number) => number)(id, 0n, 64)).toBe(defs.ERRNO_SUCCESS);
    return new DataView(memory.raw.buffer).getBigUint64(64, true);
  };
  return { made, read };
}

describe("WASI clocks in a snapshot", () => {
  it("monotonic time counts from the epoch, as in another isolate it would", () => {
    const { read } = wasi();
    const epochNs = BigInt(Date.now()) * 1_000_000n;
    expect(read(defs.CLOCKID_MONOTONIC) > epochNs - 1_000_000_000n).toBe(true);
  });

  it("a restored instance's clocks do not read earlier than their saved floors", () => {
    const hourAhead = BigInt(Date.now() + 3_600_000) * 1_000_000n;
    const state: WasiState = { stdout: "", stderr: "", fds: [0, 0, 0], clocks: { floors: [[defs.CLOCKID_MONOTONIC, String(hourAhead)]] } };
    const { made, read } = wasi();
    made.load(state);
    expect(read(defs.CLOCKID_MONOTONIC)).toBe(hourAhead);
    expect(made.save().clocks?.floors).toEqual([[defs.CLOCKID_MONOTONIC, String(hourAhead)]]);
    // A snapshot from before clocks were kept loads as it did.
    const { made: old, read: readOld } = wasi();
    old.load({ stdout: "", stderr: "", fds: [0, 0, 0] });
    expect(readOld(defs.CLOCKID_MONOTONIC) < hourAhead).toBe(true);
  });
});
