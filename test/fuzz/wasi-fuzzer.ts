/**
 * The WASI fuzzer: seeded random calls of every `wasi_snapshot_preview1` import (src/wasi.ts, and
 * browser_wasi_shim behind it) with hostile arguments, as a guest built against a std library
 * could make them, on a real WebAssembly.Memory.
 *
 * Arguments arrive as Wasm hands them to a JavaScript import: an i32 as a signed number (a pointer
 * past 2 GiB is negative), an i64 as a signed BigInt. Pointers are wild, at the end of memory, and
 * wrap past 2^32 with their lengths; iovec arrays and poll subscriptions are written into memory
 * with wild entries; paths are written into memory, or run past its end, wrap or are wild; counts are huge, negative, and multiples that wrap; fds are closed and
 * renumbered; memory grows between calls; a process that can wait gets its waits (stdin, sleeps,
 * output backpressure) answered, fed, closed or stopped; snapshots (save, load) are taken.
 *
 * After every call: no import threw (only proc_exit's GuestExit), it answered an errno preview1
 * defines (a number, never a promise where the guest cannot wait), it wrote no byte outside the
 * buffers that import was given, EFAULT left memory untouched, a path_* call on open fds answered
 * EFAULT exactly when a path ran past memory (EBADF on an fd not open) and wrote nothing, no
 * output line is longer than
 * MAX_LINE, one fd_write ends at most MAX_WRITE_LINES lines and loses none it wrote, fd_read's
 * nread is what left stdin, and a wait resolves once it has what it waits for. Periodically host
 * memory (after gc, where exposed) has grown less than the limit.
 *
 * CI: test/unit/wasi-fuzz.test.ts (a fixed seed); `npm run fuzz -- --wasi --seed N --runs K
 * [--actions M]` for others.
 */
import { wasi as defs } from "@bjorn3/browser_wasi_shim";
import { GuestExit } from "../../src/errors.js";
import { GuestMemory } from "../../src/memory.js";
import { Pipe } from "../../src/pipe.js";
import { MAX_LINE, type Wasi, type WasiOptions, wasiImports } from "../../src/wasi.js";
import { WASI_FUNCTIONS } from "../../src/wasi/functions.js";
import { MAX_WRITE_LINES } from "../../src/wasi/stdio.js";
import { Rng } from "./rng.js";
import { EVENT, type Region, wasiWrites } from "./wasi-writes.js";

export interface WasiFuzzOptions {
  seed: number;
  /** Import calls in all. */
  calls: number;
  /** Host memory growth allowed, heapUsed + external after gc (MiB). */
  memoryLimitMiB?: number;
  trace?: (line: string) => void;
}

export interface WasiFuzzReport {
  seed: number;
  calls: number;
  processes: number;
  ms: number;
  /** name:errno counts, and waits: how each ended. */
  counts: Record<string, number>;
  memory: { peakGrowthMiB: number; gc: boolean };
}

export class WasiFuzzFailure extends Error {
  constructor(seed: number, index: number, call: string, problem: string, recent: string[]) {
    super(`WASI fuzzer: seed ${seed}, call #${index}: ${call}\n  ${problem}\n  recent calls:\n    ${recent.join("\n    ")}\n  reproduce: npm run fuzz -- --wasi --seed ${seed} --actions ${index + 1}`);
    this.name = "WasiFuzzFailure";
  }
}

/**
 * Each import's parameters, in order: fd, p (pointer), n (length), s (a path: its pointer and
 * length, two parameters), c (count of the iovecs or subscriptions just before it), iov / subs
 * (where those are), f (flags, any u32), L (i64), k (clock id), w (whence), e (exit code).
 */
const SIGS: Record<string, string> = {
  args_get: "p p",
  args_sizes_get: "p p",
  environ_get: "p p",
  environ_sizes_get: "p p",
  clock_res_get: "k p",
  clock_time_get: "k L p",
  fd_advise: "fd L L f",
  fd_allocate: "fd L L",
  fd_close: "fd",
  fd_datasync: "fd",
  fd_fdstat_get: "fd p",
  fd_fdstat_set_flags: "fd f",
  fd_fdstat_set_rights: "fd L L",
  fd_filestat_get: "fd p",
  fd_filestat_set_size: "fd L",
  fd_filestat_set_times: "fd L L f",
  fd_pread: "fd iov c L p",
  fd_prestat_get: "fd p",
  fd_prestat_dir_name: "fd p n",
  fd_pwrite: "fd iov c L p",
  fd_read: "fd iov c p",
  fd_readdir: "fd p n L p",
  fd_renumber: "fd fd",
  fd_seek: "fd L w p",
  fd_sync: "fd",
  fd_tell: "fd p",
  fd_write: "fd iov c p",
  path_create_directory: "fd s",
  path_filestat_get: "fd f s p",
  path_filestat_set_times: "fd f s L L f",
  path_link: "fd f s fd s",
  path_open: "fd f s f L L f p",
  path_readlink: "fd s p n p",
  path_remove_directory: "fd s",
  path_rename: "fd s fd s",
  path_symlink: "s fd s",
  path_unlink_file: "fd s",
  poll_oneoff: "subs p c p",
  proc_exit: "e",
  proc_raise: "f",
  sched_yield: "",
  random_get: "p n",
  sock_accept: "fd f p",
  sock_recv: "fd iov c f p p",
  sock_send: "fd iov c f p",
  sock_shutdown: "fd f",
};

/** How often each import is called, relative to the rest (1 where not named). */
const WEIGHTS: Record<string, number> = { fd_close: 0.3, fd_renumber: 0.6, fd_write: 14, fd_read: 8, poll_oneoff: 8, fd_pread: 3, fd_pwrite: 3, random_get: 3, args_get: 3, environ_get: 3, clock_time_get: 3, fd_fdstat_get: 3, fd_filestat_get: 2, fd_fdstat_set_flags: 2, fd_readdir: 2, proc_exit: 0.2 };

const SUBSCRIPTION = 48;
const PAGE = 65536;
const MAX_ERRNO = defs.ERRNO_NOTCAPABLE;

/** One process: its memory, its WASI, and what the fuzzer knows it should see. */
interface Proc {
  id: number;
  memory: WebAssembly.Memory;
  gm: GuestMemory;
  wasi: Wasi;
  options: WasiOptions;
  stdin: Pipe;
  argv: Uint8Array[];
  environ: Uint8Array[];
  canWait: boolean;
  lines: number;
  bad: string[];
  blockedEvery: number;
}

const enc = new TextEncoder();

export async function runWasiFuzz(opts: WasiFuzzOptions): Promise<WasiFuzzReport> {
  const r = new Rng(opts.seed);
  const counts: Record<string, number> = {};
  const count = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);
  const recent: string[] = [];
  const names = Object.keys(SIGS);
  for (const n of WASI_FUNCTIONS) if (!names.includes(n)) throw new Error(`the WASI fuzzer has no signature for ${n}`);
  const weights = Object.fromEntries(names.map((n) => [n, WEIGHTS[n] ?? 1]));
  const gc = (globalThis as { gc?: () => void }).gc;
  const heap = () => {
    gc?.();
    const m = process.memoryUsage();
    return (m.heapUsed + m.external) / 2 ** 20;
  };
  const baseline = heap();
  let peak = 0;
  let processes = 0;
  const started = Date.now();

  let index = 0;
  let label = "";
  const fail = (problem: string): never => {
    throw new WasiFuzzFailure(opts.seed, index, label, problem, recent.slice(-12));
  };

  const spawn = (): Proc => {
    processes++;
    const pages = r.range(1, 3);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: r.chance(0.5) ? pages + r.int(3) : undefined });
    const gm = new GuestMemory(memory);
    const args = Array.from({ length: r.int(5) }, () => r.pick(["", "prog", "€uro", "😀", "a b", "ü".repeat(r.int(40)), "x".repeat(r.int(300)), "\u0000"]));
    const env = Object.fromEntries(Array.from({ length: r.int(4) }, (_, i) => [r.pick(["K", "PATH", "é", ""]) + i, r.pick(["", "v", "=", "😀".repeat(r.int(5))])]));
    const stdin = r.chance(0.5) ? new Pipe(r.chance(0.5) ? r.bytes(r.int(200)) : undefined, false) : new Pipe(r.bytes(r.int(100)), true);
    const canWait = r.chance(0.5);
    const p: Proc = { id: processes, memory, gm, wasi: undefined as never, options: {}, stdin, argv: [], environ: [], canWait, lines: 0, bad: [], blockedEvery: r.pick([0, 0, 1, 3, 50]) };
    let writes = 0;
    p.options = {
      args,
      env,
      stdin,
      tty: r.chance(0.3),
      outputReady: r.chance(0.5) ? () => (r.chance(0.5) ? Promise.resolve() : undefined) : undefined,
      // Refuses now and then: a guest that can wait ends its write there.
      outputBlocked: p.blockedEvery ? () => ++writes % p.blockedEvery === 0 : undefined,
    };
    p.argv = args.map((a) => enc.encode(`${a}\0`));
    p.environ = Object.entries(env).map(([k, v]) => enc.encode(`${k}=${v}\0`));
    const suspender = canWait
      ? { canSuspend: true, suspending: <A extends unknown[], R>(fn: (...a: A) => R | Promise<R>) => fn as (...a: A) => R, promising: () => { throw new Error("not here"); } }
      : undefined;
    const log = (_stream: "stdout" | "stderr", line: string) => {
      p.lines++;
      if (line.length > MAX_LINE) p.bad.push(`a line of ${line.length} characters came out (at most ${MAX_LINE})`);
    };
    // Sleeps end at once: the poll then reads its clocks as due.
    const clock = { now: Date.now, sleepUntil: (_until: number, signal: AbortSignal) => (signal.aborted ? Promise.reject(new Error("aborted")) : Promise.resolve()) };
    p.wasi = wasiImports(p.options, { memory: () => gm, clock, log, suspender: suspender as never });
    return p;
  };

  let proc = spawn();
  let callsInProc = 0;
  let procCalls = r.range(20, 600);

  const size = () => proc.memory.buffer.byteLength;
  let tame = false;
  /** A pointer, u32: inside memory mostly, at its end, or wild. */
  const ptr = (room = 8): number => {
    const s = size();
    if (tame) return r.int(Math.max(1, s - room));
    switch (r.weighted({ in: 10, end: 3, zero: 1, wild: 2, top: 1, size: 1 })) {
      case "in":
        return r.int(Math.max(1, s - room));
      case "end":
        return s - r.int(room + 8);
      case "zero":
        return 0;
      case "wild":
        return r.u32();
      case "top":
        return (0x1_0000_0000 - r.int(64)) >>> 0;
      default:
        return s;
    }
  };
  const len = (): number => tame ? r.int(300) : r.pick([0, 1, r.int(16), r.int(300), r.int(PAGE), size(), size() + 1, 0xffffffff, 0x80000000, 0x7fffffff, r.u32()]);
  const big = (): bigint => r.pick([0n, 1n, BigInt(r.u32()), 2n ** 63n, 2n ** 64n - 1n, BigInt(r.int(1e9)) * 1000n, 2n ** 62n + BigInt(r.u32())]);
  const fd = (): number => tame ? r.int(3) : r.pick([0, 1, 2, 0, 1, 2, 3, 4, 0xffffffff, 0x80000000, r.u32()]);
  /** An iovec array written into memory (or a wild pointer to one), and its count. */
  const iovs = (): [number, number] => {
    const n = tame ? r.range(1, 4) : r.pick([0, 1, 1, 2, 3, r.int(9), 0x20000000, 0x20000001, 0xffffffff, 0x80000000, r.u32()]);
    const write = Math.min(n, 64);
    const at = ptr(write * 8);
    const view = new DataView(proc.memory.buffer);
    for (let i = 0; i < write; i++) {
      const p = at + i * 8;
      if (p + 8 > size()) break;
      const bp = tame || r.chance(0.8) ? r.int(size()) : ptr();
      const bl = tame || r.chance(0.7) ? Math.min(r.pick([r.int(64), r.int(4096), r.int(PAGE)]), Math.max(0, size() - bp)) : len();
      view.setUint32(p, bp >>> 0, true);
      view.setUint32(p + 4, bl >>> 0, true);
    }
    return [at, n];
  };
  /**
   * A path, as a guest passes one: its bytes written somewhere in memory (an empty one may sit at
   * its very end), or a pointer and length that run past the end, wrap past 2^32, start past 2 GiB
   * (a negative i32 to the import) or are wild.
   */
  const path = (): Region => {
    const s = size();
    const bytes = enc.encode(r.pick(["", ".", "..", "a", "file.txt", "dir/sub/x", "/abs", "€😀", "a\0b", "x".repeat(r.int(300))]));
    switch (tame ? r.weighted({ in: 9, end: 1 }) : r.weighted({ in: 4, end: 3, empty: 1, wild: 2, top: 1, long: 1, high: 1 })) {
      case "in": {
        const at = r.int(Math.max(1, s - bytes.length));
        new Uint8Array(proc.memory.buffer).set(bytes.subarray(0, s - at), at);
        return [at, bytes.length];
      }
      case "end": {
        const n = r.range(1, 64);
        return [s - r.int(n), n]; // its last byte, at least, past the end
      }
      case "empty":
        return [r.pick([0, s, s + 1, r.u32()]), 0];
      case "wild":
        return [r.u32(), r.range(1, 300)];
      case "top":
        return [(0x1_0000_0000 - r.int(64)) >>> 0, r.range(1, 128)];
      case "long":
        return [r.int(s), r.pick([s, 0xffffffff, 0x80000000, r.u32()])];
      default:
        return [(0x8000_0000 + r.int(s)) >>> 0, r.range(1, 16)];
    }
  };
  const subs = (): [number, number] => {
    const n = tame ? r.range(1, 3) : r.pick([0, 1, 1, 2, 3, r.int(8), 0x05555556, 0xffffffff, r.u32()]);
    const write = Math.min(n, 16);
    const at = ptr(write * SUBSCRIPTION);
    const view = new DataView(proc.memory.buffer);
    for (let i = 0; i < write; i++) {
      const p = at + i * SUBSCRIPTION;
      if (p + SUBSCRIPTION > size()) break;
      view.setBigUint64(p, big(), true);
      const type = r.chance(0.9) ? r.int(3) : r.int(256);
      view.setUint8(p + 8, type);
      if (type === defs.EVENTTYPE_CLOCK) {
        view.setUint32(p + 16, r.chance(0.8) ? r.int(2) : r.pick([2, 3, 4, r.u32()]), true);
        view.setBigUint64(p + 24, r.pick([0n, 1n, 1_000_000n, BigInt(r.int(50)) * 1_000_000n, 2n ** 64n - 1n, 2n ** 63n, BigInt(Date.now()) * 1_000_000n + BigInt(r.int(1e6)) * 1000n]), true);
        view.setBigUint64(p + 32, big(), true);
        view.setUint16(p + 40, r.chance(0.7) ? r.int(2) : r.int(65536), true);
      } else {
        view.setUint32(p + 16, fd(), true);
      }
    }
    return [at, n];
  };

  /** Changed bytes outside every region: the first one, if any. */
  const stray = (before: Uint8Array, after: Uint8Array, regions: Region[]): number | undefined => {
    if (Buffer.compare(before.subarray(0, after.length), after.subarray(0, before.length)) === 0) return undefined;
    for (let i = 0; i < before.length; i++) {
      if (before[i] === after[i]) continue;
      if (!regions.some(([p, l]) => i >= p && i - p < l)) return i;
    }
    return undefined;
  };
  const untouched = (before: Uint8Array, after: Uint8Array) => Buffer.compare(before, after.subarray(0, before.length)) === 0;

  for (index = 0; index < opts.calls; index++) {
    if (callsInProc++ >= procCalls) {
      proc.wasi.stop();
      proc = spawn();
      callsInProc = 0;
      procCalls = r.range(20, 600);
    }
    // Between calls: memory grows, stdin is fed or closed, a snapshot is taken and loaded.
    if (r.chance(0.01)) {
      try {
        proc.memory.grow(1);
        count("between:grow");
      } catch {
        count("between:grow-refused");
      }
    }
    if (r.chance(0.03) && !proc.stdin.closed) proc.stdin.write(r.bytes(r.int(300)));
    if (r.chance(0.005)) proc.stdin.close();
    if (r.chance(0.004)) {
      const state = JSON.parse(JSON.stringify(proc.wasi.save()));
      const before = [0, 1, 2].map((fdn) => fdstat(proc, fdn));
      const old = proc.wasi;
      proc.wasi = wasiImports(proc.options, { memory: () => proc.gm, clock: { now: Date.now, sleepUntil: () => Promise.resolve() }, log: () => proc.lines++ });
      proc.wasi.load(state);
      old.stop();
      proc.canWait = false; // the restored one has no suspender
      const after = [0, 1, 2].map((fdn) => fdstat(proc, fdn));
      label = "snapshot: save, load";
      if (JSON.stringify(before) !== JSON.stringify(after)) fail(`fds 0-2 after a snapshot were ${JSON.stringify(after)}, not ${JSON.stringify(before)}`);
      count("between:snapshot");
    }

    const name = r.weighted(weights);
    // Half the calls are a careful guest's, with the odd wild value: they reach past the checks.
    tame = r.chance(0.5);
    const sig = SIGS[name]!.split(" ").filter(Boolean);
    const args: (number | bigint)[] = [];
    /** The fds and paths among them: a path_* call is checked against them. */
    const fds: number[] = [];
    const paths: Region[] = [];
    let pendingCount: number | undefined;
    for (const kind of sig) {
      switch (kind) {
        case "fd":
          fds.push(fd());
          args.push(fds.at(-1)!);
          break;
        case "s": {
          const at = path();
          paths.push(at);
          args.push(...at);
          break;
        }
        case "p":
          args.push(ptr(name === "poll_oneoff" ? EVENT * 4 : 64));
          break;
        case "n":
          args.push(len());
          break;
        case "iov": {
          const [at, n] = iovs();
          args.push(at);
          pendingCount = n;
          break;
        }
        case "subs": {
          const [at, n] = subs();
          args.push(at);
          pendingCount = n;
          break;
        }
        case "c":
          args.push(pendingCount ?? r.int(4));
          pendingCount = undefined;
          break;
        case "f":
          args.push(r.chance(0.7) ? r.int(64) : r.u32());
          break;
        case "L":
          args.push(big());
          break;
        case "k":
          args.push(r.chance(0.8) ? r.int(4) : r.u32());
          break;
        case "w":
          args.push(r.chance(0.8) ? r.int(4) : r.u32());
          break;
        case "e":
          args.push(r.int(256));
          break;
      }
    }
    // poll_oneoff's count is its third argument, after the events pointer: "subs p c p".
    if (name === "poll_oneoff" && pendingCount !== undefined) args[2] = pendingCount;
    // As Wasm hands them to a JavaScript import: i32 signed, i64 a signed BigInt.
    const given = args.map((v) => (typeof v === "bigint" ? BigInt.asIntN(64, v) : v | 0));
    label = `p${proc.id}${proc.canWait ? " (can wait)" : ""} ${name}(${args.map((v) => (typeof v === "bigint" ? `${v}n` : `0x${(v >>> 0).toString(16)}`)).join(", ")}) memory ${size()}`;
    recent.push(label);
    if (recent.length > 40) recent.shift();
    opts.trace?.(label);

    // Before `before`: fdstat writes (and puts back) a scratch record.
    const fdsOpen = name.startsWith("path_") && fds.every((f) => fdstat(proc, f)[0] !== defs.ERRNO_BADF);
    const before = new Uint8Array(proc.memory.buffer).slice();
    const regions = wasiWrites(name, args, before, proc);
    const consumed = proc.stdin.consumed;
    const linesBefore = proc.lines;
    const fn = proc.wasi.imports[name] as (...a: (number | bigint)[]) => unknown;
    const t0 = Date.now();
    let result: unknown;
    try {
      result = fn(...given);
    } catch (err) {
      if (name === "proc_exit" && err instanceof GuestExit && err.kind === "exit") {
        count("proc_exit:exit");
        proc.wasi.stop();
        proc = spawn();
        callsInProc = 0;
        continue;
      }
      fail(`${name} threw into the guest: ${err instanceof Error ? err.stack : String(err)}`);
    }
    if (name === "proc_exit") fail("proc_exit returned");
    if (result instanceof Promise) {
      if (!proc.canWait) fail(`${name} answered a promise to a guest that cannot wait`);
      // The guest waits: give it what it waits for (or stop it), then it must answer.
      const how = r.weighted({ feed: 3, close: 1, stop: 1, none: 2 });
      if (how === "feed" && !proc.stdin.closed) proc.stdin.write(r.bytes(r.range(1, 200)));
      else if (how === "close") proc.stdin.close();
      else if (how === "stop") proc.wasi.stop();
      const timeout = new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), how === "none" ? 50 : 2000));
      const got = await Promise.race([result, timeout]);
      if (got === "hung") {
        if (how !== "none") fail(`${name} still waits after its wait was answered (${how})`);
        // Nothing it waits for came: that instance is given up, as the host would stop it.
        proc.wasi.stop();
        const ended = await Promise.race([result, new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 2000))]);
        if (ended !== defs.ERRNO_CANCELED) fail(`${name}'s wait answered ${String(ended)} once its instance stopped, not ERRNO_CANCELED`);
        count(`wait:stopped`);
        proc = spawn();
        callsInProc = 0;
        continue;
      }
      count(`wait:${how}`);
      result = got;
      if (how === "stop") {
        if (result !== defs.ERRNO_CANCELED && !(typeof result === "number" && result <= MAX_ERRNO)) fail(`${name} answered ${String(result)} after a stop`);
      }
    }
    const ms = Date.now() - t0;
    // Generous, for a shared machine: what it catches is a call whose work has no bound.
    if (ms > 5000) fail(`${name} took ${ms} ms of host time`);
    if (typeof result !== "number" || !Number.isInteger(result) || result < 0 || result > MAX_ERRNO) fail(`${name} answered ${String(result)}, not an errno`);
    const errno = result as number;
    count(`${name}:${errno}`);
    const after = new Uint8Array(proc.memory.buffer);
    const at = stray(before, after, regions);
    if (at !== undefined) fail(`${name} (errno ${errno}) wrote byte ${at} (0x${at.toString(16)}), outside the buffers it was given: ${JSON.stringify(regions.slice(0, 8))}`);
    if (errno === defs.ERRNO_FAULT && !untouched(before, after)) fail(`${name} answered EFAULT and changed memory`);
    if (name.startsWith("path_")) {
      // No directory is open: every path_* call fails, BADF before EFAULT before its answer. It
      // faults for a path past memory and nothing else (a wild result pointer is never written).
      const past = paths.find(([p, l]) => p + l > before.length);
      const want = !fdsOpen ? "EBADF" : past ? "EFAULT" : "neither";
      const got = errno === defs.ERRNO_BADF ? "EBADF" : errno === defs.ERRNO_FAULT ? "EFAULT" : errno === defs.ERRNO_SUCCESS ? "success" : "neither";
      if (got !== want) fail(`${name} answered ${errno}; paths ${JSON.stringify(paths)} in a memory of ${before.length}, fds ${fdsOpen ? "open" : "not all open"}: expected ${want}`);
      if (!untouched(before, after)) fail(`${name} failed (errno ${errno}) and changed memory`);
      count(past ? "path:past-memory" : "path:in-memory");
    }
    if (proc.bad.length) fail(proc.bad[0]!);
    const emitted = proc.lines - linesBefore;
    if (name === "fd_write" && errno === defs.ERRNO_SUCCESS) {
      if (emitted > MAX_WRITE_LINES) fail(`one fd_write ended ${emitted} lines (at most ${MAX_WRITE_LINES})`);
      // Every newline it says it wrote came out as a line: count them in the bytes written.
      const nw = new DataView(after.buffer).getUint32(Number(args[3]) >>> 0, true);
      const view = new DataView(before.buffer);
      let left = nw;
      let newlines = 0;
      for (let i = 0; left > 0 && i < (Number(args[2]) >>> 0); i++) {
        const bp = view.getUint32(Number(args[1]) + i * 8, true);
        const bl = Math.min(view.getUint32(Number(args[1]) + i * 8 + 4, true), left);
        for (let j = 0; j < bl; j++) if (before[bp + j] === 10) newlines++;
        left -= bl;
      }
      if (emitted < newlines) fail(`fd_write said it wrote ${nw} bytes with ${newlines} newlines; ${emitted} lines came out`);
    }
    if (name === "fd_read" && errno === defs.ERRNO_SUCCESS && Number(args[0]) >>> 0 <= 2) {
      const nread = new DataView(after.buffer).getUint32(Number(args[3]) >>> 0, true);
      const taken = proc.stdin.consumed - consumed;
      if (nread !== taken) fail(`fd_read said it read ${nread} bytes; ${taken} left stdin`);
    }
    // Only after a gc: without one, the copies of memory each call makes are garbage not yet collected.
    if (gc && index % 500 === 499) {
      const growth = heap() - baseline;
      peak = Math.max(peak, growth);
      if (growth > (opts.memoryLimitMiB ?? 256)) fail(`host memory grew ${growth.toFixed(1)} MiB`);
    }
  }
  proc.wasi.stop();
  return { seed: opts.seed, calls: index, processes, ms: Date.now() - started, counts, memory: { peakGrowthMiB: Math.round(peak * 10) / 10, gc: gc !== undefined } };
}

/** fd_fdstat_get of one fd, into a scratch buffer of its own memory: its errno and bytes. */
function fdstat(p: Proc, fd: number): [number, number[]] {
  const at = p.memory.buffer.byteLength - 24;
  const saved = new Uint8Array(p.memory.buffer).slice(at);
  const errno = (p.wasi.imports.fd_fdstat_get as (fd: number, ptr: number) => number)(fd, at);
  const bytes = [...new Uint8Array(p.memory.buffer).subarray(at, at + 24)];
  new Uint8Array(p.memory.buffer).set(saved, at);
  return [errno, bytes];
}
