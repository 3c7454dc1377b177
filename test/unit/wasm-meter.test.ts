import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import wabtInit from "wabt";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error: a build script in plain JavaScript
import { FAN_OUT, IMPORT_FUEL, meter } from "../../scripts/wasm-meter.mjs";
import { compile } from "./wat.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const wabt = await wabtInit();
const dir = mkdtempSync(join(tmpdir(), "wasm-meter-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** The WAT module as the build meters it (scripts/wasm-meter.mjs after --log-execution). */
function metered(text: string): Uint8Array {
  const parsed = wabt.parseWat("test.wat", text, { bulk_memory: true, multi_value: true, mutable_globals: true });
  parsed.resolveNames();
  parsed.validate();
  const file = join(dir, `m${n++}.wasm`);
  writeFileSync(file, parsed.toBinary({ write_debug_names: true }).buffer);
  parsed.destroy();
  meter(file, join(root, "node_modules/.bin/wasm-opt"));
  const bytes = new Uint8Array(readFileSync(file));
  // wabt reads it back, names and all
  const back = wabt.readWasm(bytes, { readDebugNames: true, bulk_memory: true, mutable_globals: true });
  back.validate();
  back.destroy();
  return bytes;
}

class OutOfFuel extends Error {}

/** An instance on a meter of its own holding `fuel`, as the runtime links it (src/instance/guest.ts). */
function instance(bytes: Uint8Array, fuel: bigint, imports: WebAssembly.Imports = {}) {
  const global = new WebAssembly.Global({ value: "i64", mutable: true }, fuel);
  const ticks: number[] = [];
  const exports = new WebAssembly.Instance(compile(bytes), {
    ...imports,
    wasm_bus_meter: {
      fuel: global,
      // src/fuel.wat's tick: the guest calls it only once its counter is below zero
      log_execution: (id: number) => {
        ticks.push(id);
        global.value = (global.value as bigint) - 1n;
        if ((global.value as bigint) < 0n) throw new OutOfFuel();
      },
    },
  }).exports as Record<string, (...args: number[]) => number>;
  return { exports, fuel: global, ticks };
}

describe("fuel metering (scripts/wasm-meter.mjs)", () => {
  it("takes a unit at each loop iteration, inline: the meter's import is called only when fuel runs out", () => {
    const bytes = metered(`(module (func (export "count") (param $n i32) (local $i i32)
      (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (local.get $n))))))`);
    const { exports, fuel, ticks } = instance(bytes, 1000n);
    exports.count!(10);
    expect(fuel.value).toBe(990n);
    expect(ticks).toEqual([]);
    expect(() => exports.count!(10_000)).toThrow(OutOfFuel);
    expect(ticks.length).toBe(1);
  });

  it("stops an endless loop", () => {
    const { exports, fuel } = instance(metered(`(module (func (export "spin") (loop (br 0))))`), 100_000n);
    expect(() => exports.spin!()).toThrow(OutOfFuel);
    expect(fuel.value).toBe(-2n); // the inline unit, then the meter's own
  });

  it("stops recursion without a loop: direct, mutual, and through a table", () => {
    const bytes = metered(`(module
      (type $t (func (param i32) (result i32)))
      (table 1 funcref) (elem (i32.const 0) $viaTable)
      (func $self (export "self") (param i32) (result i32) (call $self (i32.add (local.get 0) (i32.const 1))))
      (func $ping (export "ping") (param i32) (result i32) (call $pong (local.get 0)))
      (func $pong (param i32) (result i32) (call $ping (local.get 0)))
      (func $viaTable (export "viaTable") (param i32) (result i32) (call_indirect (type $t) (local.get 0) (i32.const 0))))`);
    for (const name of ["self", "ping", "viaTable"]) {
      const { exports } = instance(bytes, 1000n);
      expect(() => exports[name]!(0), name).toThrow(OutOfFuel);
    }
  });

  it("stops exponential fan-out without a loop or recursion (f0 calls f1 twice, ..., 2^40 calls)", () => {
    const funcs = Array.from({ length: 40 }, (_, i) => `(func $f${i} ${i ? "" : '(export "f0")'} (call $f${i + 1}) (call $f${i + 1}))`).join("\n");
    const { exports } = instance(metered(`(module ${funcs} (func $f40))`), 100_000n);
    const started = Date.now();
    expect(() => exports.f0!()).toThrow(OutOfFuel);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it(`takes ${IMPORT_FUEL} units for each call of an import, so a loop around a host call ends on the same fuel`, () => {
    // A call into the host costs about a hundred loop iterations: a loop of imports (a refused
    // handle() in a loop, say) would otherwise hold the isolate a hundred times longer.
    const bytes = metered(`(module (import "env" "host" (func $host (result i32)))
      (func (export "once") (result i32) (call $host))
      (func (export "spin") (loop (drop (call $host)) (br 0))))`);
    let calls = 0;
    const { exports, fuel } = instance(bytes, 10_000n, { env: { host: () => ++calls } });
    expect(exports.once!()).toBe(1);
    expect(fuel.value).toBe(10_000n - BigInt(IMPORT_FUEL));
    calls = 0;
    fuel.value = 10_000n;
    expect(() => exports.spin!()).toThrow(OutOfFuel);
    // each turn: the import's units, then the loop's one; the turn that runs out calls no import
    expect(calls).toBe(Math.floor(10_000 / (IMPORT_FUEL + 1)));
  });

  it("leaves straight-line code and calls that cannot repeat unmetered", () => {
    const bytes = metered(`(module
      (func (export "f") (result i32) (i32.add (call $g) (call $g)))
      (func $g (result i32) (i32.add (call $h) (i32.const 1)))
      (func $h (result i32) (i32.const 2)))`);
    const { exports, fuel } = instance(bytes, 10n);
    expect(exports.f!()).toBe(6);
    expect(fuel.value).toBe(10n);
  });

  it(`meters a function at its entry once it could run more than ${FAN_OUT} times between two units`, () => {
    const calls = (k: number) => Array.from({ length: k }, () => "(call $leaf)").join(" ");
    const bytes = metered(`(module
      (func (export "few") ${calls(FAN_OUT)}) (func $leaf)
      (func (export "many") ${calls(FAN_OUT)} (call $leaf2)) (func $leaf2 ${calls(1)}))`);
    const a = instance(bytes, 100n);
    a.exports.few!();
    // $leaf is called from FAN_OUT sites in "few" and one more in $leaf2: past FAN_OUT, metered at its entry
    expect(a.fuel.value).toBe(100n - BigInt(FAN_OUT));
  });

  it("keeps the module's own globals, data and element offsets and exports working (their indices move up by one)", () => {
    const text = `(module
      (import "env" "base" (global $base i32))
      (import "env" "seen" (global $seen (mut i32)))
      (global $counter (export "counter") (mut i32) (global.get $base))
      (global $step i32 (i32.const 5))
      (memory (export "memory") 1)
      (data (global.get $base) "hi")
      (table 4 funcref) (elem (global.get $base) $five)
      (type $r (func (result i32)))
      (func $five (result i32) (global.get $step))
      (func (export "bump") (result i32)
        (global.set $counter (i32.add (global.get $counter) (call_indirect (type $r) (global.get $base))))
        (global.set $seen (global.get $counter))
        (global.get $counter)))`;
    const env = () => ({ base: new WebAssembly.Global({ value: "i32" }, 2), seen: new WebAssembly.Global({ value: "i32", mutable: true }, 0) });
    const parsed = wabt.parseWat("plain.wat", text, { mutable_globals: true });
    parsed.resolveNames();
    const plainEnv = env();
    const plain = new WebAssembly.Instance(compile(parsed.toBinary({}).buffer), { env: plainEnv }).exports as Record<string, unknown>;
    parsed.destroy();
    const meteredEnv = env();
    const { exports } = instance(metered(text), 100n, { env: meteredEnv });
    for (const e of [plain, exports as Record<string, unknown>]) {
      expect((e.bump as () => number)()).toBe(7);
      expect((e.bump as () => number)()).toBe(12);
      expect((e.counter as WebAssembly.Global).value).toBe(12);
      expect(Array.from(new Uint8Array((e.memory as WebAssembly.Memory).buffer, 2, 2))).toEqual([0x68, 0x69]);
    }
    expect(meteredEnv.seen.value).toBe(12);
    expect(plainEnv.seen.value).toBe(12);
  });

  it("refuses a module metered already", () => {
    const file = join(dir, "twice.wasm");
    writeFileSync(file, metered(`(module (func (export "f") (loop)))`));
    expect(() => meter(file, join(root, "node_modules/.bin/wasm-opt"))).toThrow(/metered already/);
  });
});
