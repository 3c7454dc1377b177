/**
 * The asyncify fuzzer: WASI through a real asyncified guest (./asyncify-guest.ts), driven by
 * src/instance/asyncify.ts as a process's instance is (src/instance/instantiate.ts), with the
 * host acting between its suspensions. The WASI fuzzer (./wasi-fuzzer.ts) calls the imports
 * from JavaScript; here a guest suspended mid-call unwinds into its asyncify buffer and rewinds.
 *
 * Per process the fuzzer writes an action script into the guest's memory (an import, its
 * arguments, hostile pointers and lengths among them, and how many frames deep to call it), runs
 * `_start`, and whenever the guest waits does one of: feeds stdin, closes it, fires the sleeps,
 * lets output backpressure go, grows memory, takes a snapshot and restores it into a fresh
 * instance (which rewinds into the import, which runs again), kills it, or nothing.
 *
 * Hostile pointers and lengths as the WASI fuzzer has them, except that what an import may write
 * through is scratch memory or off memory (EFAULT, or memory the host grows later), never the
 * script, the results or the asyncify buffer's page: no allocator of the guest hands that page out,
 * and a guest writing its own suspended stack is its own corruption, not the host's.
 *
 * Every import call is made a second time on a twin: the same WASI (src/wasi.ts) on a copy of
 * the guest's memory, called directly, as with JSPI (waits are promises the fuzzer awaits), with
 * its own stdin, clock and backpressure given the same events. Checked:
 * - the guest gets what the twin's call answered, and memory after the call is the twin's
 *   (outside the asyncify buffer and the bytes random_get or a clock wrote);
 * - no byte changed outside the buffers the import was given, the guest's results and the asyncify
 *   buffer; the results the guest recorded are the answers, and the count it read back is what was written;
 * - the guest's locals and operand stack survive each rewind (it traps where they did not);
 * - output lines are the twin's, and none comes from an instance after it stopped;
 * - the run ends only as documented: returned, proc_exit (GuestExit), killed (Aborted), or a stack
 *   too deep for the asyncify buffer (GuestTrapped saying so, and only for a deep one).
 *
 * CI: test/unit/asyncify-fuzz.test.ts (a fixed seed); `npm run fuzz -- --asyncify --seed N
 * --runs K [--actions M]` for others.
 */
import { wasi as defs } from "@bjorn3/browser_wasi_shim";
import type { Clock } from "../../src/clock.js";
import { BusError, GuestExit } from "../../src/errors.js";
import { Asyncify, AsyncifyState } from "../../src/instance/asyncify.js";
import { GuestMemory } from "../../src/memory.js";
import { Pipe } from "../../src/pipe.js";
import { type Wasi, type WasiOptions, wasiImports } from "../../src/wasi.js";
import { asyncifiedGuest, LAYOUT, MAX_ACTIONS, meterImports, type Op, OPS } from "./asyncify-guest.js";
import { Rng } from "./rng.js";
import { EVENT, wasiWrites } from "./wasi-writes.js";

export interface AsyncifyFuzzOptions {
  seed: number;
  /** Actions (import calls the guest makes) in all. */
  actions: number;
  trace?: (line: string) => void;
}

export interface AsyncifyFuzzReport {
  seed: number;
  actions: number;
  processes: number;
  ms: number;
  counts: Record<string, number>;
}

export class AsyncifyFuzzFailure extends Error {
  constructor(seed: number, proc: number, problem: string, recent: string[]) {
    super(`asyncify fuzzer: seed ${seed}, process ${proc}\n  ${problem}\n  recent:\n    ${recent.join("\n    ")}\n  reproduce: npm run fuzz -- --asyncify --seed ${seed}`);
    this.name = "AsyncifyFuzzFailure";
  }
}

const PAGE = 65536;
const SUBSCRIPTION = 48;
/** The asyncify buffer of a module without wasm_bus_malloc: one page (src/instance/asyncify.ts). */
const BUFFER_BYTES = PAGE;
/** Deep enough to overflow the buffer (a frame of the guest's descent saves 44 bytes): that error, never below SAFE_DEPTH. */
const SAFE_DEPTH = 1300;
const TOO_DEEP = 1600;
const WEIGHTS: Record<Op, number> = { fd_read: 6, fd_write: 6, poll_oneoff: 6, random_get: 1, clock_time_get: 1, args_sizes_get: 1, fd_fdstat_get: 1, fd_fdstat_set_flags: 1, sched_yield: 0.5, proc_exit: 0.1 };
/** Ops whose output bytes differ from the twin's by nature: random bytes, the time. */
const UNEQUAL: Partial<Record<Op, true>> = { random_get: true, clock_time_get: true };

interface Action {
  op: Op;
  depth: number;
  salt: number;
  a: number[];
  big: bigint;
}

/** A clock whose sleeps end when the fuzzer says. */
class ManualClock implements Clock {
  #sleeps = new Set<() => void>();
  now = () => Date.now();
  sleepUntil(_until: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new Error("aborted"));
      const done = () => {
        this.#sleeps.delete(done);
        resolve();
      };
      this.#sleeps.add(done);
      signal.addEventListener("abort", () => {
        this.#sleeps.delete(done);
        reject(new Error("aborted"));
      }, { once: true });
    });
  }
  get pending(): number {
    return this.#sleeps.size;
  }
  fire() {
    for (const done of [...this.#sleeps]) done();
  }
}

/** Output backpressure the fuzzer turns on and lets go. */
class Gate {
  #open: { promise: Promise<void>; resolve: () => void } | undefined;
  ready = () => this.#open?.promise;
  close() {
    if (this.#open) return;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.#open = { promise, resolve };
  }
  release() {
    this.#open?.resolve();
    this.#open = undefined;
  }
}

/** One side's WASI: the guest's (through asyncify) or the twin's (direct). */
interface Side {
  stdin: Pipe;
  clock: ManualClock;
  gate: Gate;
  lines: string[];
  options: WasiOptions;
  wasi: Wasi;
}

const enc = new TextEncoder();

export async function runAsyncifyFuzz(opts: AsyncifyFuzzOptions): Promise<AsyncifyFuzzReport> {
  const r = new Rng(opts.seed);
  const module = asyncifiedGuest();
  const counts: Record<string, number> = {};
  const count = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);
  const recent: string[] = [];
  const note = (line: string) => {
    recent.push(line);
    if (recent.length > 30) recent.shift();
    opts.trace?.(line);
  };
  const started = Date.now();
  let processes = 0;
  let done = 0;

  while (done < opts.actions) {
    processes++;
    const fail = (problem: string): never => {
      throw new AsyncifyFuzzFailure(opts.seed, processes, problem, recent.slice(-20));
    };
    const n = Math.min(r.range(5, 60), opts.actions - done, MAX_ACTIONS);
    done += n;

    // ---- the two sides: the same options, each its own stdin, clock, backpressure and lines ----
    const args = Array.from({ length: r.int(4) }, () => r.pick(["", "prog", "€uro", "x".repeat(r.int(100))]));
    const initialStdin = r.chance(0.5) ? r.bytes(r.int(120)) : undefined;
    const closedAtStart = r.chance(0.2);
    const blockEvery = r.pick([0, 0, 1, 3]);
    const tty = r.chance(0.3);
    const side = (): Side => {
      const s: Side = { stdin: new Pipe(initialStdin, closedAtStart), clock: new ManualClock(), gate: new Gate(), lines: [], options: {}, wasi: undefined as never };
      let written = 0;
      s.options = { args, stdin: s.stdin, tty, outputReady: s.gate.ready, outputBlocked: blockEvery ? () => ++written % blockEvery === 0 : undefined };
      return s;
    };
    const guestSide = side();
    const twinSide = side();

    // ---- the twin: the same imports, called directly on a copy of the guest's memory ----
    const twinMemory = new WebAssembly.Memory({ initial: LAYOUT.INITIAL_PAGES });
    const twinGm = new GuestMemory(twinMemory);
    const direct = { canSuspend: true, suspending: <A extends unknown[], R>(fn: (...a: A) => R | Promise<R>) => fn as (...a: A) => R, promising: () => fail("promising on the twin") } as never;
    /** Lines from an instance after it stopped (killed, or replaced by a restored one): none may come. */
    const late: string[] = [];
    /** Where an instance's lines go while it is the live one. */
    const liveLog = (lines: string[]) => {
      const live = { on: true };
      return { live, log: (_s: "stdout" | "stderr", line: string) => void (live.on ? lines.push(line) : late.push(line)) };
    };
    let twinLive = { on: true };
    const makeTwin = () => {
      const { live, log } = liveLog(twinSide.lines);
      twinLive = live;
      return wasiImports(twinSide.options, { memory: () => twinGm, clock: twinSide.clock, log, suspender: direct });
    };
    twinSide.wasi = makeTwin();

    // ---- the guest: asyncify, its WASI, the instance ----
    let driver!: Asyncify;
    let exports!: Record<string, unknown> & { memory: WebAssembly.Memory; asyncify_get_state(): number; _start(): void };
    let gm!: GuestMemory;
    /** The call the guest is in: the twin's answer (or its promise), what memory held before. */
    let current: { index: number; name: Op; given: (number | bigint)[]; before: Uint8Array; twin: unknown; twinValue?: unknown; suspended: boolean } | undefined;
    /** A restored instance's rewind calls its import again: the twin is called again with it. */
    let restoredRerun = false;
    const answers: (number | undefined)[] = new Array(n);
    /** nread, nwritten or nevents as the import wrote it, where it answered success. */
    const wrote: (number | undefined)[] = new Array(n);
    const memory = () => exports.memory;
    const size = () => memory().buffer.byteLength;
    let guestLive = { on: true };
    /** Both instances end, as a kill or a snapshot's restore ends the guest's (Guest's #break: the driver and WASI stop). */
    const stopBoth = () => {
      driver.stop();
      guestSide.wasi.stop();
      twinSide.wasi.stop();
      guestLive.on = twinLive.on = false;
    };
    const instantiate = () => {
      const fuel = meterImports();
      driver = new Asyncify(`fuzz-${processes}`, fuel.refuel);
      const { live, log } = liveLog(guestSide.lines);
      guestLive = live;
      const wasi = wasiImports(guestSide.options, { memory: () => gm, clock: guestSide.clock, log, suspender: driver });
      guestSide.wasi = wasi;
      const imports: Record<string, unknown> = {};
      for (const [name, fn] of Object.entries(wasi.imports)) imports[name] = observe(name as Op, fn as (...a: (number | bigint)[]) => unknown);
      const instance = new WebAssembly.Instance(module, { wasi_snapshot_preview1: imports as WebAssembly.ModuleImports, wasm_bus_meter: fuel.imports });
      exports = driver.bind(instance.exports) as typeof exports;
      gm = new GuestMemory(exports.memory);
    };

    /** The twin's memory made the guest's, byte for byte (it only grows, as the guest's does). */
    const mirror = () => {
      const pages = size() / PAGE - twinMemory.buffer.byteLength / PAGE;
      if (pages > 0) twinMemory.grow(pages);
      new Uint8Array(twinMemory.buffer).set(new Uint8Array(memory().buffer));
    };
    /** The same call on the twin; a wait's answer is kept once it comes (for this call, not one a snapshot replaced). */
    const askTwin = (c: NonNullable<typeof current>) => {
      mirror();
      const twin = (twinSide.wasi.imports[c.name] as (...a: (number | bigint)[]) => unknown)(...c.given);
      c.twin = twin;
      c.twinValue = undefined;
      if (twin instanceof Promise) void twin.then((v) => c.twin === twin && (c.twinValue = v));
    };

    /** Each import as the guest reaches it: the twin is called alongside, and the answer checked once the guest has it. */
    function observe(name: Op, fn: (...a: (number | bigint)[]) => unknown) {
      return (...given: (number | bigint)[]) => {
        const state = exports.asyncify_get_state();
        const index = new DataView(memory().buffer).getUint32(LAYOUT.HEADER + 4, true);
        note(`p${processes} #${index} ${state === AsyncifyState.Rewinding ? "rewinds into" : "calls"} ${name}(${given.map((v) => (typeof v === "bigint" ? `${v}n` : `0x${(v >>> 0).toString(16)}`)).join(", ")}) memory ${size()}${state === AsyncifyState.Normal ? ` stdin ${guestSide.stdin.buffered}${guestSide.stdin.closed ? " closed" : ""}, twin's ${twinSide.stdin.buffered}${twinSide.stdin.closed ? " closed" : ""}` : ""}`);
        if (name === "poll_oneoff" && opts.trace) {
          const v = new DataView(memory().buffer);
          const at = Number(given[0]) >>> 0;
          for (let k = 0; k < Math.min(Number(given[2]) >>> 0, 5) && at + (k + 1) * SUBSCRIPTION <= size(); k++) {
            const p = at + k * SUBSCRIPTION;
            note(`   sub type ${v.getUint8(p + 8)} id/fd ${v.getUint32(p + 16, true)} timeout ${v.getBigUint64(p + 24, true)} flags ${v.getUint16(p + 40, true)}`);
          }
        }
        if (state === AsyncifyState.Normal) {
          if (current) fail(`action ${index} (${name}) called while action ${current.index} (${current.name}) had no answer`);
          if (name === "proc_exit") return fn(...given);
          const before = new Uint8Array(memory().buffer).slice();
          current = { index, name, given, before, twin: undefined, suspended: false };
          askTwin(current);
        } else if (state === AsyncifyState.Rewinding) {
          if (!current || current.index !== index || current.name !== name) fail(`the guest rewound into ${name} at action ${index}, not into ${current?.name} at ${current?.index}`);
          if (restoredRerun) {
            // The restored import runs again from the start, on the snapshot's memory: so does the twin's.
            restoredRerun = false;
            count("restored:rerun");
            current!.before = new Uint8Array(memory().buffer).slice();
            askTwin(current!);
          }
        } else {
          fail(`${name} called while the guest unwinds`);
        }
        const answer = fn(...given);
        if (exports.asyncify_get_state() === AsyncifyState.Unwinding) {
          current!.suspended = true;
          if (!(current!.twin instanceof Promise)) fail(`${name} suspended the guest; the direct call answered ${String(current!.twin)} at once`);
          return answer;
        }
        settle(answer);
        return answer;
      };
    }

    /** The guest has its answer: it must be the twin's, and memory the twin's. */
    const settle = (answer: unknown) => {
      const c = current!;
      current = undefined;
      const events = () => {
        if (c.name !== "poll_oneoff" || answer !== 0) return "";
        const v = new DataView(memory().buffer);
        const k = v.getUint32(Number(c.given[3]) >>> 0, true);
        return ` (${k} events: ${Array.from({ length: Math.min(k, 4) }, (_, e) => { const p = (Number(c.given[1]) >>> 0) + e * EVENT; return `type ${v.getUint8(p + 10)} error ${v.getUint16(p + 8, true)} userdata ${v.getBigUint64(p, true)}`; }).join("; ")})`;
      };
      const want = c.twin instanceof Promise ? ("twinValue" in c && c.twinValue !== undefined ? c.twinValue : fail(`${c.name} (action ${c.index}) answered ${String(answer)} to the guest${events()}; the direct call still waits; clocks ${JSON.stringify(guestSide.wasi.save().clocks)} vs ${JSON.stringify(twinSide.wasi.save().clocks)}`)) : c.twin;
      if (answer !== want) fail(`${c.name} (action ${c.index}) answered ${String(answer)} through asyncify, ${String(want)} directly`);
      if (typeof answer !== "number" || answer < 0 || answer > defs.ERRNO_NOTCAPABLE) return fail(`${c.name} answered ${String(answer)}, not an errno`);
      answers[c.index] = answer;
      if (answer === defs.ERRNO_SUCCESS && (c.name === "fd_read" || c.name === "fd_write" || c.name === "poll_oneoff")) wrote[c.index] = new DataView(memory().buffer).getUint32(Number(c.given[3]) >>> 0, true);
      count(`${c.name}:${answer}${c.suspended ? ":suspended" : ""}`);
      const after = new Uint8Array(memory().buffer);
      // The page asyncify took at the first suspension is the guest's alone: the twin grows to match.
      if (twinMemory.buffer.byteLength < after.length) twinMemory.grow((after.length - twinMemory.buffer.byteLength) / PAGE);
      const twin = new Uint8Array(twinMemory.buffer);
      if (twin.length !== after.length) fail(`memory is ${after.length} bytes; the twin's ${twin.length}`);
      const data = driver.data;
      const skip = (i: number) => data !== undefined && i >= data && i < data + BUFFER_BYTES;
      const regions = wasiWrites(c.name, c.given, c.before);
      const inRegion = (i: number) => regions.some(([p, l]) => i >= p && i - p < l);
      for (const i of differing(after, twin, c.before)) {
        if (skip(i)) continue;
        if (after[i] !== twin[i] && !(UNEQUAL[c.name] && inRegion(i))) fail(`${c.name} (action ${c.index}, errno ${String(answer)}): byte ${i} is ${after[i]} through asyncify, ${twin[i]} directly`);
        if (i < c.before.length && after[i] !== c.before[i] && (answer === defs.ERRNO_FAULT || !inRegion(i))) fail(`${c.name} (action ${c.index}, errno ${String(answer)}) wrote byte ${i}, outside the buffers it was given ${JSON.stringify(regions.slice(0, 6))} (or answered EFAULT)`);
      }
    };

    // ---- the script ----
    const script: Action[] = [];
    for (let i = 0; i < n; i++) {
      // The first waits for a sleep: the asyncify buffer is in place (the page at LAYOUT.BUFFER) before any hostile pointer.
      const op = i === 0 ? "poll_oneoff" : r.weighted(WEIGHTS);
      const deep = r.chance(0.03);
      const depth = deep ? r.range(TOO_DEEP, 2 * TOO_DEEP) : r.pick([0, 0, 1, 2, r.int(16), r.int(200), r.int(SAFE_DEPTH)]);
      script.push({ op, depth, salt: r.u32(), a: [], big: BigInt.asIntN(64, BigInt(r.u32()) << 32n | BigInt(r.u32())) });
    }
    instantiate();
    {
      let argsAt = LAYOUT.ARGS;
      const view = () => new DataView(memory().buffer);
      /** Where an import may write: scratch, or off memory (EFAULT); never the script, the results or the asyncify buffer. */
      const out = (room: number): number => {
        switch (r.weighted({ scratch: 12, guard: 1, end: 2, off: 3 })) {
          case "scratch":
            return LAYOUT.SCRATCH + r.int(LAYOUT.BUFFER - LAYOUT.SCRATCH - room);
          case "guard":
            return r.int(LAYOUT.GUARD_END - room);
          case "end": // right up to the asyncify buffer
            return LAYOUT.BUFFER - room - r.int(4);
          default:
            return off();
        }
      };
      /** Off memory: EFAULT, or (past the buffer page) memory the host grows later. */
      const off = (): number => {
        switch (r.weighted({ past: 2, top: 1, high: 1, wild: 1 })) {
          case "past":
            return LAYOUT.BUFFER + BUFFER_BYTES + r.int(3 * PAGE);
          case "top":
            return (0x1_0000_0000 - r.int(64)) >>> 0;
          case "high":
            return (0x8000_0000 + r.int(PAGE)) >>> 0;
          default:
            return (0x1000_0000 + r.int(0xe000_0000)) >>> 0;
        }
      };
      const len = (room: number) => r.pick([0, 1, r.int(16), r.int(room), r.int(room), 0xffffffff, 0x80000000, 0x7fffffff, r.u32()]);
      /** An array of `n` entries in the args area, written by `fill`: its address (or a wild one) and count (or a hostile one). */
      const array = (entry: number, most: number, fill: (at: number) => void): [number, number] => {
        const k = r.int(most + 1);
        if (argsAt + k * entry > LAYOUT.SCRATCH) argsAt = LAYOUT.ARGS;
        const at = argsAt;
        for (let i = 0; i < k; i++) fill(at + i * entry);
        argsAt += k * entry;
        const where = r.chance(0.9) ? at : r.pick([LAYOUT.BUFFER + BUFFER_BYTES + r.int(PAGE), (0x1_0000_0000 - r.int(64)) >>> 0, r.u32() | 0x1000_0000]);
        const count = r.chance(0.9) ? k : r.pick([0x20000000, 0x20000001, 0xffffffff, 0x80000000, 0x05555556]);
        return [where >>> 0, count >>> 0];
      };
      /** An iovec: a buffer in scratch that stays out of the asyncify buffer, or a hostile one. */
      const iovec = (at: number, forWrite: boolean) => {
        let p: number;
        let l: number;
        if (r.chance(0.93)) {
          p = LAYOUT.SCRATCH + r.int(LAYOUT.BUFFER - LAYOUT.SCRATCH);
          l = Math.min(r.pick([0, 1, r.int(16), r.int(300), r.int(4096)]), LAYOUT.BUFFER - p);
          if (forWrite && r.chance(0.3)) p = r.int(LAYOUT.SCRATCH - l); // output may come from anywhere the guest holds
        } else {
          p = off();
          l = len(PAGE);
        }
        view().setUint32(at, p >>> 0, true);
        view().setUint32(at + 4, l >>> 0, true);
      };
      const subscription = (at: number) => {
        const v = view();
        v.setBigUint64(at, BigInt(r.u32()), true);
        const type = r.chance(0.95) ? r.pick([0, 0, 1, 2]) : r.int(256);
        v.setUint8(at + 8, type);
        if (type === defs.EVENTTYPE_CLOCK) {
          v.setUint32(at + 16, r.chance(0.9) ? r.int(2) : r.pick([2, 3, r.u32()]), true);
          const absolute = r.chance(0.2);
          // Never a timeout a call could see pass: 0 (due now), a second or more, or never.
          v.setBigUint64(at + 24, absolute ? r.pick([0n, 2n ** 64n - 1n]) : r.pick([0n, 1_000_000_000n + BigInt(r.int(1e6)) * 1_000_000n, 2n ** 64n - 1n]), true);
          v.setUint16(at + 40, absolute ? 1 : 0, true);
        } else {
          v.setUint32(at + 16, r.chance(0.9) ? r.int(3) : r.pick([3, 0xffffffff, r.u32()]), true);
        }
      };
      const v = view();
      // Scratch holds text lines (what imports write into it replaces some): output comes out as lines.
      const text = enc.encode(Array.from({ length: 2000 }, (_, k) => `${"·".repeat(r.int(40))} line ${k} of process ${processes}\n`).join(""));
      new Uint8Array(memory().buffer).set(text.subarray(0, LAYOUT.BUFFER - LAYOUT.SCRATCH), LAYOUT.SCRATCH);
      v.setUint32(LAYOUT.HEADER, n, true);
      script.forEach((act, i) => {
        const a = act.a;
        switch (act.op) {
          case "fd_read":
          case "fd_write": {
            const write = act.op === "fd_write";
            a.push(r.chance(0.85) ? (write ? r.pick([1, 2, 1]) : 0) : r.pick([0, 1, 2, 3, 0xffffffff]));
            a.push(...array(8, 6, (at) => iovec(at, write)));
            a.push(out(4));
            break;
          }
          case "poll_oneoff": {
            if (i === 0) {
              // A sleep of a second, which the fuzzer fires.
              const at = argsAt;
              v.setBigUint64(at, 7n, true);
              v.setUint8(at + 8, defs.EVENTTYPE_CLOCK);
              v.setUint32(at + 16, defs.CLOCKID_MONOTONIC, true);
              v.setBigUint64(at + 24, 1_000_000_000n, true);
              v.setUint16(at + 40, 0, true);
              argsAt += SUBSCRIPTION;
              a.push(at, LAYOUT.SCRATCH, 1, LAYOUT.SCRATCH + 4 * EVENT);
              break;
            }
            const [subs, count] = array(SUBSCRIPTION, 4, subscription);
            a.push(subs, out(5 * EVENT), r.chance(0.9) ? count : r.pick([0, count + 1, 0xffffffff]), out(4));
            break;
          }
          case "random_get":
            a.push(out(4096), len(4096));
            break;
          case "clock_time_get":
            a.push(r.chance(0.8) ? r.int(4) : r.u32(), out(8));
            break;
          case "args_sizes_get":
            a.push(out(4), out(4));
            break;
          case "fd_fdstat_get":
            a.push(r.chance(0.8) ? r.int(3) : r.pick([3, 0xffffffff]), out(24));
            break;
          case "fd_fdstat_set_flags":
            a.push(r.chance(0.8) ? 0 : r.int(3), r.pick([0, defs.FDFLAGS_NONBLOCK, defs.FDFLAGS_APPEND, r.u32()]));
            break;
          case "proc_exit":
            a.push(r.int(256));
            break;
          default:
            break;
        }
        const rec = LAYOUT.SCRIPT + i * LAYOUT.RECORD;
        v.setUint32(rec, OPS.indexOf(act.op), true);
        v.setUint32(rec + 4, act.depth, true);
        v.setUint32(rec + 8, act.salt, true);
        a.forEach((x, k) => v.setUint32(rec + 16 + k * 4, x >>> 0, true));
        v.setBigInt64(rec + 40, act.big, true);
      });
    }

    // ---- the run, and the host between suspensions ----
    let ended: { ok: true } | { error: unknown } | undefined;
    /** The run of the instance now: one a snapshot replaced ends as Aborted, which is not this process's end. */
    let generation = 0;
    const track = (p: Promise<unknown>) => {
      const mine = ++generation;
      void p.then(() => mine === generation && (ended = { ok: true }), (error) => mine === generation && (ended = { error }));
    };
    track(driver.promising(exports._start as () => void, "_start")());
    let killed = false;
    // The twin first, its promises settled, then the guest: a guest that resumes finds the direct call's
    // answer there. One event per suspension: the guest runs on once it has one, and the next must
    // find both waiting again, or the twin would get it for a call the guest had not made yet.
    const both = async (f: (s: Side) => void) => {
      f(twinSide);
      await tick();
      f(guestSide);
    };
    let idle = 0;
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    while (!ended) {
      await tick();
      if (late.length) fail(`a line came out of an instance after it stopped: ${JSON.stringify(late[0]!.slice(0, 100))}`);
      if (ended) break;
      const s = driver.suspended();
      if (!s) {
        if (++idle > 200) fail("the guest neither runs nor waits");
        continue;
      }
      idle = 0;
      const how = r.weighted({ feed: 4, close: 0.4, fire: 3, release: 2, backpressure: 1, grow: 1, snapshot: 1, kill: 0.05, all: 0.3, none: 1 });
      note(`p${processes} action ${current?.index} ${current?.name} waits: ${how}`);
      count(`between:${how}`);
      switch (how) {
        case "feed": {
          const bytes = r.chance(0.5) ? enc.encode(`line ${r.int(100)}\n`) : r.bytes(r.range(1, 200));
          await both((x) => x.stdin.write(bytes));
          break;
        }
        case "close":
          await both((x) => x.stdin.close());
          break;
        case "fire":
          await both((x) => x.clock.fire());
          break;
        case "release":
          await both((x) => x.gate.release());
          break;
        case "backpressure":
          await both((x) => x.gate.close());
          break;
        case "grow": {
          const pages = r.range(1, 3);
          try {
            memory().grow(pages);
            twinMemory.grow(pages);
          } catch {
            count("between:grow-refused");
          }
          break;
        }
        case "snapshot": {
          // What a snapshot keeps (src/instance/guest.ts): memory, WASI's state, the buffer and the suspended entry.
          const saved = { memory: new Uint8Array(memory().buffer).slice(), wasi: JSON.parse(JSON.stringify(guestSide.wasi.save())), data: driver.data, suspended: s };
          const twinState = JSON.parse(JSON.stringify(twinSide.wasi.save()));
          stopBoth();
          instantiate();
          const grow = saved.memory.length / PAGE - size() / PAGE;
          if (grow > 0) memory().grow(grow);
          new Uint8Array(memory().buffer).set(saved.memory);
          guestSide.wasi.load(saved.wasi);
          driver.data = saved.data;
          twinSide.wasi = makeTwin();
          twinSide.wasi.load(twinState);
          restoredRerun = true;
          track(driver.rewind(s.export, s.args, s.data));
          break;
        }
        case "all": // sleeps fire and output goes: one event, as the guest runs on once it has it
          await both((x) => (x.clock.fire(), x.gate.release()));
          break;
        case "kill":
          killed = true;
          stopBoth();
          break;
        default:
          break;
      }
    }

    // ---- how it ended ----
    const outcome = ended!;
    const at = current as { index: number; name: Op } | undefined;
    const index = new DataView(memory().buffer).getUint32(LAYOUT.HEADER + 4, true);
    const finished = new DataView(memory().buffer).getUint32(LAYOUT.HEADER + 8, true) === 1;
    if ("ok" in outcome) {
      if (!finished) fail(`_start returned before the last action (at ${index} of ${n})`);
      count("end:returned");
    } else {
      const err = outcome.error;
      if (err instanceof AsyncifyFuzzFailure) throw err; // found inside an import
      const act = script[index];
      if (err instanceof GuestExit && err.kind === "exit" && act?.op === "proc_exit") count("end:exit");
      else if (killed && err instanceof BusError && err.codeName === "Aborted") count("end:killed");
      else if (err instanceof BusError && err.codeName === "GuestTrapped" && /more than the \d+ bytes of its asyncify buffer/.test(err.message) && act && at && act.depth >= SAFE_DEPTH) count("end:too-deep");
      else fail(`the run ended with ${err instanceof Error ? err.stack : String(err)} at action ${index} (${JSON.stringify(act, (_k, x) => (typeof x === "bigint" ? String(x) : x))})`);
    }
    // The results the guest recorded: each answer it was given, and the count it read back.
    const res = new DataView(memory().buffer);
    const last = finished ? n : index;
    for (let i = 0; i < last; i++) {
      const at = LAYOUT.RESULTS + i * LAYOUT.RESULT;
      if (res.getUint32(at + 8, true) !== 1) fail(`action ${i}: the guest recorded no result`);
      if (res.getUint32(at, true) !== answers[i]) fail(`action ${i} (${script[i]!.op}): the guest recorded errno ${res.getUint32(at, true)}; the import answered ${answers[i]}`);
      if (wrote[i] !== undefined && res.getUint32(at + 4, true) !== wrote[i]) fail(`action ${i} (${script[i]!.op}): the guest read back ${res.getUint32(at + 4, true)}; the import wrote ${wrote[i]}`);
    }
    const g = guestSide.lines.join("\n");
    const t = twinSide.lines.join("\n");
    if (g !== t) fail(`output through asyncify differs from the direct calls': ${JSON.stringify(g.slice(0, 200))} vs ${JSON.stringify(t.slice(0, 200))}`);
    stopBoth();
    if (late.length) fail(`a line came out of an instance after it stopped: ${JSON.stringify(late[0]!.slice(0, 100))}`);
  }
  return { seed: opts.seed, actions: done, processes, ms: Date.now() - started, counts };
}

/** The offsets where `a` differs from `b` or from `c` (shorter, as memory was before it grew), found a chunk at a time. */
function* differing(a: Uint8Array, b: Uint8Array, c: Uint8Array): Generator<number> {
  const CHUNK = 4096;
  for (let at = 0; at < a.length; at += CHUNK) {
    const end = Math.min(at + CHUNK, a.length);
    const x = a.subarray(at, end);
    if (Buffer.compare(x, b.subarray(at, end)) === 0 && (at >= c.length ? x.every((v) => v === 0) : Buffer.compare(x, c.subarray(at, end)) === 0)) continue;
    for (let i = at; i < end; i++) yield i;
  }
}
