/// <reference types="node" />
/**
 * The guest of the asyncify fuzzer (./asyncify-fuzzer.ts): a WASI command, written in WAT,
 * metered and asyncified as the build does every blocking module (scripts/wasm-meter.mjs and
 * scripts/wasm-asyncify.mjs, the same functions and the same wasm-opt), which runs an action
 * script the fuzzer wrote into its memory.
 *
 * Each action names an import, its arguments and a recursion depth: the guest descends that many
 * frames (each holding locals of every type, and a value on the operand stack across the call), makes the
 * call at the bottom, and on the way back up checks every frame's locals against the script (they
 * are derived from it, and memory is something the optimizer cannot assume unchanged across a call),
 * trapping with `unreachable` where one changed. It records the errno, and where the call
 * succeeded the count the import wrote (nread, nwritten, nevents) as the guest reads it back.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
// @ts-expect-error: a plain ES module script without types
import { asyncify } from "../../scripts/wasm-asyncify.mjs";
// @ts-expect-error: a plain ES module script without types
import { meter } from "../../scripts/wasm-meter.mjs";
import { watBytes } from "../unit/wat.js";

/** Memory layout: the fuzzer writes the script, the guest the results; imports write only at SCRATCH and up. */
export const LAYOUT = {
  /** Below the header: scratch the fuzzer may hand imports (a pointer 0 lands there). */
  GUARD_END: 4096,
  /** u32 action count; u32 the action the guest is on; u32 1 once it ran them all. */
  HEADER: 4096,
  SCRIPT: 8192,
  RECORD: 64,
  RESULTS: 32768,
  RESULT: 16,
  /** Iovec arrays and poll subscriptions: read by imports, never written. */
  ARGS: 40960,
  SCRATCH: 65536,
  /** Where the asyncify buffer goes: the page the runtime grows at the first suspension (no wasm_bus_malloc). */
  BUFFER: 131072,
  INITIAL_PAGES: 2,
  MAX_PAGES: 12,
} as const;
export const MAX_ACTIONS = (LAYOUT.RESULTS - LAYOUT.SCRIPT) / LAYOUT.RECORD;

/** The script's ops, in the guest's br_table order. */
export const OPS = ["fd_read", "fd_write", "poll_oneoff", "random_get", "clock_time_get", "args_sizes_get", "fd_fdstat_get", "fd_fdstat_set_flags", "sched_yield", "proc_exit"] as const;
export type Op = (typeof OPS)[number];

// A record: op u32 @0, depth u32 @4, salt u32 @8, a0..a5 u32 @16..36, an i64 @40.
const WAT = `(module
  (type $four (func (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (type $four)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (type $four)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (type $four)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fd_fdstat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_set_flags" (func $fd_fdstat_set_flags (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sched_yield" (func $sched_yield (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") ${LAYOUT.INITIAL_PAGES} ${LAYOUT.MAX_PAGES})

  (func $arg (param $rec i32) (param $i i32) (result i32)
    (i32.load offset=16 (i32.add (local.get $rec) (i32.shl (local.get $i) (i32.const 2)))))

  (func $call (param $rec i32) (result i32)
    (block $exit (block $yield (block $flags (block $fdstat (block $sizes (block $clock (block $random (block $poll (block $write (block $read
      (br_table $read $write $poll $random $clock $sizes $fdstat $flags $yield $exit (i32.load (local.get $rec))))
      (return (call $fd_read (call $arg (local.get $rec) (i32.const 0)) (call $arg (local.get $rec) (i32.const 1)) (call $arg (local.get $rec) (i32.const 2)) (call $arg (local.get $rec) (i32.const 3)))))
      (return (call $fd_write (call $arg (local.get $rec) (i32.const 0)) (call $arg (local.get $rec) (i32.const 1)) (call $arg (local.get $rec) (i32.const 2)) (call $arg (local.get $rec) (i32.const 3)))))
      (return (call $poll_oneoff (call $arg (local.get $rec) (i32.const 0)) (call $arg (local.get $rec) (i32.const 1)) (call $arg (local.get $rec) (i32.const 2)) (call $arg (local.get $rec) (i32.const 3)))))
      (return (call $random_get (call $arg (local.get $rec) (i32.const 0)) (call $arg (local.get $rec) (i32.const 1)))))
      (return (call $clock_time_get (call $arg (local.get $rec) (i32.const 0)) (i64.load offset=40 (local.get $rec)) (call $arg (local.get $rec) (i32.const 1)))))
      (return (call $args_sizes_get (call $arg (local.get $rec) (i32.const 0)) (call $arg (local.get $rec) (i32.const 1)))))
      (return (call $fd_fdstat_get (call $arg (local.get $rec) (i32.const 0)) (call $arg (local.get $rec) (i32.const 1)))))
      (return (call $fd_fdstat_set_flags (call $arg (local.get $rec) (i32.const 0)) (call $arg (local.get $rec) (i32.const 1)))))
      (return (call $sched_yield)))
    (call $proc_exit (call $arg (local.get $rec) (i32.const 0)))
    (unreachable))

  ;; One frame: locals of each type from the script, the call below it, then the check.
  (func $descend (param $rec i32) (param $depth i32) (result i32)
    (local $x i32) (local $y i64) (local $z f64) (local $w f32) (local $r i32)
    (local.set $x (i32.mul (i32.xor (i32.load offset=8 (local.get $rec)) (local.get $depth)) (i32.const 0x9e3779b1)))
    (local.set $y (i64.xor (i64.load offset=40 (local.get $rec)) (i64.extend_i32_u (local.get $depth))))
    (local.set $z (f64.add (f64.convert_i32_u (i32.load offset=8 (local.get $rec))) (f64.convert_i32_u (local.get $depth))))
    (local.set $w (f32.convert_i32_s (i32.add (i32.load offset=16 (local.get $rec)) (local.get $depth))))
    ;; $x rides on the operand stack across the call as well.
    (local.set $r (i32.sub
      (i32.add (local.get $x)
        (if (result i32) (local.get $depth)
          (then (call $descend (local.get $rec) (i32.sub (local.get $depth) (i32.const 1))))
          (else (call $call (local.get $rec)))))
      (i32.mul (i32.xor (i32.load offset=8 (local.get $rec)) (local.get $depth)) (i32.const 0x9e3779b1))))
    (if (i32.ne (local.get $x) (i32.mul (i32.xor (i32.load offset=8 (local.get $rec)) (local.get $depth)) (i32.const 0x9e3779b1))) (then (unreachable)))
    (if (i64.ne (local.get $y) (i64.xor (i64.load offset=40 (local.get $rec)) (i64.extend_i32_u (local.get $depth)))) (then (unreachable)))
    (if (f64.ne (local.get $z) (f64.add (f64.convert_i32_u (i32.load offset=8 (local.get $rec))) (f64.convert_i32_u (local.get $depth)))) (then (unreachable)))
    (if (f32.ne (local.get $w) (f32.convert_i32_s (i32.add (i32.load offset=16 (local.get $rec)) (local.get $depth)))) (then (unreachable)))
    (local.get $r))

  (func (export "_start")
    (local $i i32) (local $rec i32) (local $res i32) (local $errno i32) (local $op i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.load (i32.const ${LAYOUT.HEADER}))))
        (i32.store (i32.const ${LAYOUT.HEADER + 4}) (local.get $i))
        (local.set $rec (i32.add (i32.const ${LAYOUT.SCRIPT}) (i32.mul (local.get $i) (i32.const ${LAYOUT.RECORD}))))
        (local.set $res (i32.add (i32.const ${LAYOUT.RESULTS}) (i32.mul (local.get $i) (i32.const ${LAYOUT.RESULT}))))
        (local.set $errno (call $descend (local.get $rec) (i32.load offset=4 (local.get $rec))))
        ;; The loop's own locals: the action it is on is the one in the header, its record and result where they were.
        (if (i32.ne (local.get $i) (i32.load (i32.const ${LAYOUT.HEADER + 4}))) (then (unreachable)))
        (if (i32.ne (local.get $rec) (i32.add (i32.const ${LAYOUT.SCRIPT}) (i32.mul (local.get $i) (i32.const ${LAYOUT.RECORD})))) (then (unreachable)))
        (if (i32.ne (local.get $res) (i32.add (i32.const ${LAYOUT.RESULTS}) (i32.mul (local.get $i) (i32.const ${LAYOUT.RESULT})))) (then (unreachable)))
        (i32.store (local.get $res) (local.get $errno))
        (local.set $op (i32.load (local.get $rec)))
        ;; What the import said it did, as the guest reads it after the call: nread, nwritten, nevents.
        (if (i32.and (i32.eqz (local.get $errno)) (i32.le_u (local.get $op) (i32.const 2)))
          (then (i32.store offset=4 (local.get $res) (i32.load (call $arg (local.get $rec) (i32.const 3))))))
        (i32.store offset=8 (local.get $res) (i32.const 1))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.store (i32.const ${LAYOUT.HEADER + 8}) (i32.const 1))))`;

const root = resolve(__dirname, "../..");
let built: WebAssembly.Module | undefined;

/**
 * The guest, metered and asyncified as the build makes a module (scripts/wasm-meter.mjs, then
 * scripts/wasm-asyncify.mjs, with the build's wasm-opt). wasm-opt takes seconds to start, so the
 * binary is kept under node_modules/.cache by what made it: the text, the scripts and binaryen's
 * version (as the build keys its outputs). Its imports besides WASI are the fuel meter's (`meterImports`).
 */
export function asyncifiedGuest(): WebAssembly.Module {
  if (built) return built;
  const binaryen = JSON.parse(readFileSync(join(root, "node_modules/binaryen/package.json"), "utf8")) as { version: string };
  const key = createHash("sha256").update(WAT).update(readFileSync(join(root, "scripts/wasm-meter.mjs"))).update(readFileSync(join(root, "scripts/wasm-asyncify.mjs"))).update(binaryen.version).digest("hex").slice(0, 16);
  const cache = join(root, "node_modules/.cache/wasm-bus-asyncify-fuzz");
  const file = join(cache, `guest-${key}.wasm`);
  if (!existsSync(file)) {
    mkdirSync(cache, { recursive: true });
    const made = `${file}.${process.pid}.tmp`;
    try {
      writeFileSync(made, watBytes(WAT));
      // As scripts/build-modules.mjs makes a module: metered, then asyncified.
      meter(made, join(root, "node_modules/.bin/wasm-opt"));
      const suspending: string[] = asyncify(made, join(root, "node_modules/.bin/wasm-opt"));
      if (suspending.length !== 3) throw new Error(`asyncify made ${suspending.join(", ")} suspending, not fd_read, fd_write and poll_oneoff`);
      renameSync(made, file);
    } finally {
      rmSync(made, { force: true });
    }
  }
  built = new (WebAssembly.Module as unknown as new (b: Uint8Array) => WebAssembly.Module)(readFileSync(file));
  return built;
}

/**
 * The fuel meter as the runtime links it (src/runtime.ts): a counter the guest takes units from
 * inline, and a tick it calls once that is below zero. `refuel` gives an entry its budget back, as
 * the driver's `resumed` does before each rewind (src/instance/instantiate.ts).
 */
export function meterImports(budget = 1n << 40n) {
  const fuel = new WebAssembly.Global({ value: "i64", mutable: true }, budget);
  return {
    imports: {
      fuel,
      log_execution: () => {
        throw new Error("the guest ran out of fuel");
      },
    },
    refuel: () => void (fuel.value = budget),
  };
}
