import { Fd, Inode, WASI, wasi as defs } from "@bjorn3/browser_wasi_shim";
import { BusError, GuestExit } from "./errors.js";
import type { Jspi } from "./jspi.js";
import type { GuestMemory } from "./memory.js";
import { Pipe } from "./pipe.js";

/** What a command-style guest sees of the world through WASI preview1. */
export interface WasiOptions {
  args?: string[];
  env?: Record<string, string>;
  /** Bytes (then end of stream), or a pipe the host keeps writing. */
  stdin?: Uint8Array | Pipe;
  /**
   * fds 0-2 are a terminal: character devices, so `isatty` is true and programs may colour their
   * output. Without it they are pipes (filetype unknown, as wasmtime reports a pipe).
   */
  tty?: boolean;
  /**
   * Output backpressure, asked before each write to stdout or stderr: a promise means "wait for
   * it before writing more". A guest that can block (JSPI) waits in `fd_write`; one that cannot
   * writes on, and whoever reads its output drops what it cannot hold.
   */
  outputReady?: () => Promise<void> | undefined;
}

export interface WasiHost {
  memory(): GuestMemory;
  log(stream: "stdout" | "stderr", line: string): void;
  /** Where present, waits (sleeps, stdin, output backpressure) suspend the guest instead of failing. */
  jspi?: Jspi;
  /** Called as a suspended import returns to the guest: other guests may have run meanwhile. */
  resumed(): void;
}

export interface Wasi {
  imports: Record<string, unknown>;
  /** Emits what is left of unterminated stdout/stderr lines: at exit. */
  flush(): void;
}

/** A line longer than this comes out in pieces: an endless line must not grow the host. */
export const MAX_LINE = 64 * 1024;

/** Splits a byte stream into lines; the last partial line comes out on flush. */
class Lines {
  #pending = "";
  #decoder = new TextDecoder();
  constructor(readonly emit: (line: string) => void) {}
  write(bytes: Uint8Array) {
    const text = this.#decoder.decode(bytes, { stream: true });
    if (!text.includes("\n") && this.#pending.length + text.length <= MAX_LINE) {
      this.#pending += text;
      return;
    }
    const parts = (this.#pending + text).split("\n");
    this.#pending = parts.pop()!;
    for (const line of parts) this.#emitLong(line);
    while (this.#pending.length > MAX_LINE) {
      this.emit(this.#pending.slice(0, MAX_LINE));
      this.#pending = this.#pending.slice(MAX_LINE);
    }
  }
  #emitLong(line: string) {
    for (let at = MAX_LINE; line.length > MAX_LINE; at = MAX_LINE) {
      this.emit(line.slice(0, at));
      line = line.slice(at);
    }
    this.emit(line);
  }
  flush() {
    const rest = this.#pending + this.#decoder.decode();
    this.#pending = "";
    if (rest) this.#emitLong(rest);
  }
}

type Stream = "stdin" | "stdout" | "stderr";

/**
 * A process's fd 0, 1 or 2. A pipe unless the process runs on a terminal: wasi-libc's `isatty`
 * (and Rust's `IsTerminal`) is true only for a character device without seek rights. Reads and
 * writes are the imports' own (stdin from the Pipe, output as lines); the rest is here.
 */
class Stdio extends Fd {
  readonly ino = Inode.issue_ino();
  flags = 0;
  constructor(
    readonly stream: Stream,
    readonly tty: boolean,
  ) {
    super();
  }
  get filetype(): number {
    return this.tty ? defs.FILETYPE_CHARACTER_DEVICE : defs.FILETYPE_UNKNOWN;
  }
  get nonblocking(): boolean {
    return (this.flags & defs.FDFLAGS_NONBLOCK) !== 0;
  }
  override fd_fdstat_get() {
    const fdstat = new defs.Fdstat(this.filetype, this.flags);
    const io = this.stream === "stdin" ? defs.RIGHTS_FD_READ : defs.RIGHTS_FD_WRITE;
    fdstat.fs_rights_base = BigInt(io | defs.RIGHTS_POLL_FD_READWRITE | defs.RIGHTS_FD_FDSTAT_SET_FLAGS | defs.RIGHTS_FD_FILESTAT_GET);
    return { ret: defs.ERRNO_SUCCESS, fdstat };
  }
  override fd_filestat_get() {
    return { ret: defs.ERRNO_SUCCESS, filestat: new defs.Filestat(this.ino, this.filetype, 0n) };
  }
  override fd_fdstat_set_flags(flags: number) {
    if (flags & ~(defs.FDFLAGS_APPEND | defs.FDFLAGS_NONBLOCK)) return defs.ERRNO_INVAL;
    this.flags = flags;
    return defs.ERRNO_SUCCESS;
  }
  // A pipe or a terminal has no position.
  override fd_seek() {
    return { ret: defs.ERRNO_SPIPE, offset: 0n };
  }
  override fd_tell() {
    return { ret: defs.ERRNO_SPIPE, offset: 0n };
  }
  override fd_pread() {
    return { ret: defs.ERRNO_SPIPE, data: new Uint8Array() };
  }
  override fd_pwrite() {
    return { ret: defs.ERRNO_SPIPE, nwritten: 0 };
  }
  override fd_allocate() {
    return defs.ERRNO_SPIPE;
  }
  override fd_read() {
    return { ret: defs.ERRNO_BADF, data: new Uint8Array() };
  }
  override fd_write() {
    return { ret: defs.ERRNO_BADF, nwritten: 0 };
  }
}

const SUBSCRIPTION = 48;
const EVENT = 32;
/** How much an fd_write subscription on stdout or stderr reports it may write. */
const WRITABLE = 65536;

interface Subscription {
  userdata: Uint8Array;
  type: number;
  fd: number;
  /** For a clock: when it is due, in Date.now() milliseconds. */
  due: number;
  /** For a clock: which, and the time it waits for on that clock, in nanoseconds. */
  clock?: { id: number; at: bigint };
}

type Import = (...args: never[]) => unknown;

/**
 * The errno for an exception out of an import: none may reach the guest as a trap. GuestExit
 * (proc_exit, a halt, fuel) is deliberate and passes.
 */
function errnoOf(err: unknown): number {
  if (err instanceof GuestExit) throw err;
  if (err instanceof RangeError || (err instanceof BusError && err.codeName === "InvalidPointer")) return defs.ERRNO_FAULT;
  if (/not supported/i.test(err instanceof Error ? err.message : String(err))) return defs.ERRNO_NOTSUP;
  return defs.ERRNO_IO;
}

/** An import that answers with an errno whatever happens inside it (a promise: the same, resolved). */
function guarded(fn: Import): Import {
  return (...args: never[]) => {
    try {
      const r = fn(...args);
      if (r instanceof Promise) return r.then((v: unknown) => (v === undefined ? defs.ERRNO_SUCCESS : v), errnoOf);
      return r === undefined ? defs.ERRNO_SUCCESS : r;
    } catch (err) {
      return errnoOf(err);
    }
  };
}

/**
 * WASI preview1 for guests built against a std library. browser_wasi_shim does the
 * file-descriptor bookkeeping (its file system is empty: no preopened directories); this replaces
 * what must behave differently in a Worker or that the shim gets wrong: stdio are pipes (or a
 * terminal) fed from and to the process, exit is an exception the host catches, waits (sleeps,
 * stdin, `poll_oneoff`, output backpressure) suspend with JSPI instead of spinning, sockets and
 * signals answer with an errno, and no import throws into the guest.
 */
export function wasiImports(options: WasiOptions, host: WasiHost): Wasi {
  const stdout = new Lines((line) => host.log("stdout", line));
  const stderr = new Lines((line) => host.log("stderr", line));
  const stdin = options.stdin instanceof Pipe ? options.stdin : new Pipe(options.stdin, true);
  const tty = options.tty === true;
  const fds: (Fd | undefined)[] = [new Stdio("stdin", tty), new Stdio("stdout", tty), new Stdio("stderr", tty)];
  const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`);
  // `debug: false` explicitly: the shim's constructor calls `debug.enable(options.debug)`, and an
  // undefined flag turns its debug logging ON (`wasi: 2 12` from args_sizes_get, on console.log,
  // bypassing the log sink). The switch is one module-wide object, so every instance sets it.
  const shim = new WASI(options.args ?? [], env, fds as Fd[], { debug: false });
  const memory = () => host.memory();
  // The shim reads `inst.exports.memory` on every call; give it the guest's memory lazily.
  shim.inst = { exports: { get memory() { return memory().raw; } } } as never;
  const base = shim.wasiImport as Record<string, Import>;
  const jspi = host.jspi;
  /** The stdio stream an fd is now (fds can be closed and renumbered), if it is one. */
  const stdio = (fd: number): Stdio | undefined => {
    const f = shim.fds[fd];
    return f instanceof Stdio ? f : undefined;
  };
  const open = (fd: number) => shim.fds[fd] !== undefined;
  const setU32 = (ptr: number, value: number, what: string) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, value, true);
    memory().write(ptr, b, what);
  };
  const iovecs = (ptr: number, count: number, what: string): [number, number][] => {
    if (count * 8 > memory().size) throw BusError.of("InvalidPointer", `${what}: ${count} iovecs`);
    const raw = memory().read(ptr, count * 8, what);
    const view = new DataView(raw.buffer);
    const out: [number, number][] = [];
    for (let i = 0; i < count; i++) out.push([view.getUint32(i * 8, true), view.getUint32(i * 8 + 4, true)]);
    return out;
  };

  // ---- stdin ----
  /** Reads what stdin has into the iovecs; null when it has nothing yet and is still open. */
  const readStdin = (iovs: number, count: number, nreadPtr: number): number | null => {
    const vecs = iovecs(iovs, count, "fd_read iovecs");
    const total = vecs.reduce((n, [, len]) => n + len, 0);
    for (const [p, len] of vecs) memory().peek(p, len, "fd_read buffer"); // wild buffers fail before a byte is consumed
    const data = stdin.read(total);
    if (data === null) return null;
    let at = 0;
    for (const [p, len] of vecs) {
      if (at >= data.length) break;
      const take = Math.min(len, data.length - at);
      memory().write(p, data.subarray(at, at + take), "fd_read buffer");
      at += take;
    }
    setU32(nreadPtr, data.length, "fd_read nread");
    return defs.ERRNO_SUCCESS;
  };
  const fdRead = (fd: number, iovs: number, count: number, nread: number): number | Promise<number> => {
    const f = stdio(fd);
    if (!f) return base.fd_read!(fd as never, iovs as never, count as never, nread as never) as number;
    if (f.stream !== "stdin") return defs.ERRNO_BADF;
    const now = readStdin(iovs, count, nread);
    if (now !== null) return now;
    if (!jspi || f.nonblocking) return defs.ERRNO_AGAIN;
    return (async () => {
      for (;;) {
        await stdin.wait();
        const r = readStdin(iovs, count, nread);
        if (r !== null) return (host.resumed(), r);
      }
    })();
  };

  // ---- stdout, stderr ----
  const writeNow = (f: Stdio, iovs: number, count: number, nwrittenPtr: number): number => {
    if (f.stream === "stdin") return defs.ERRNO_BADF;
    const out = f.stream === "stdout" ? stdout : stderr;
    const vecs = iovecs(iovs, count, "fd_write iovecs");
    for (const [p, len] of vecs) memory().peek(p, len, "fd_write buffer"); // all or nothing
    let total = 0;
    for (const [p, len] of vecs) {
      out.write(memory().peek(p, len, "fd_write buffer"));
      total += len;
    }
    setU32(nwrittenPtr, total, "fd_write nwritten");
    return defs.ERRNO_SUCCESS;
  };
  const fdWrite = (fd: number, iovs: number, count: number, nwritten: number): number | Promise<number> => {
    const f = stdio(fd);
    if (!f) return base.fd_write!(fd as never, iovs as never, count as never, nwritten as never) as number;
    const wait = jspi && f.stream !== "stdin" ? options.outputReady?.() : undefined;
    if (!wait) return writeNow(f, iovs, count, nwritten);
    return wait.then(() => {
      host.resumed();
      return writeNow(f, iovs, count, nwritten);
    });
  };

  // ---- clocks, poll_oneoff ----
  /**
   * A clock never reads earlier than a deadline the guest has waited for: the host's clocks tick
   * in whole milliseconds, with float rounding, and a guest that slept 30 ms must see 30 ms pass.
   */
  const floor = new Map<number, bigint>();
  const clockNowNs = (id: number): bigint => {
    const now = id === defs.CLOCKID_REALTIME ? BigInt(Date.now()) * 1_000_000n : BigInt(Math.round(performance.now() * 1e6));
    const min = floor.get(id);
    return min !== undefined && min > now ? min : now;
  };
  const clockTimeGet = (id: number, precision: bigint, timePtr: number): number => {
    if (id !== defs.CLOCKID_REALTIME && id !== defs.CLOCKID_MONOTONIC) return base.clock_time_get!(id as never, precision as never, timePtr as never) as number;
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, clockNowNs(id), true);
    memory().write(timePtr, b, "clock_time_get time");
    return defs.ERRNO_SUCCESS;
  };
  const subscriptions = (inPtr: number, n: number): Subscription[] | number => {
    if (n * SUBSCRIPTION > memory().size) throw BusError.of("InvalidPointer", `poll_oneoff: ${n} subscriptions`);
    const raw = memory().read(inPtr, n * SUBSCRIPTION, "poll_oneoff subscriptions");
    const view = new DataView(raw.buffer);
    const subs: Subscription[] = [];
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const at = i * SUBSCRIPTION;
      const type = view.getUint8(at + 8);
      const sub: Subscription = { userdata: raw.slice(at, at + 8), type, fd: -1, due: Infinity };
      if (type === defs.EVENTTYPE_CLOCK) {
        const id = view.getUint32(at + 16, true);
        if (id !== defs.CLOCKID_REALTIME && id !== defs.CLOCKID_MONOTONIC) return defs.ERRNO_INVAL;
        const timeout = view.getBigUint64(at + 24, true);
        const absolute = (view.getUint16(at + 40, true) & defs.SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME) !== 0;
        const current = clockNowNs(id);
        const ns = absolute ? timeout - current : timeout;
        // Never early: a wait rounds up to the next millisecond.
        sub.due = ns <= 0n ? now : now + Number((ns + 999_999n) / 1_000_000n);
        sub.clock = { id, at: absolute ? timeout : current + timeout };
      } else if (type === defs.EVENTTYPE_FD_READ || type === defs.EVENTTYPE_FD_WRITE) {
        sub.fd = view.getUint32(at + 16, true);
      } else {
        return defs.ERRNO_INVAL;
      }
      subs.push(sub);
    }
    return subs;
  };
  /** The events ready now; `fired`: clocks due by then count as ready even if Date.now() lags. */
  const readyEvents = (subs: Subscription[], fired = -Infinity): Uint8Array[] => {
    const events: Uint8Array[] = [];
    const now = Math.max(Date.now(), fired);
    for (const sub of subs) {
      const event = new Uint8Array(EVENT);
      const view = new DataView(event.buffer);
      event.set(sub.userdata);
      view.setUint8(10, sub.type);
      if (sub.type === defs.EVENTTYPE_CLOCK) {
        if (sub.due > now) continue;
        const { id, at } = sub.clock!;
        if (at > (floor.get(id) ?? 0n)) floor.set(id, at);
      } else {
        const f = stdio(sub.fd);
        const wants = sub.type === defs.EVENTTYPE_FD_READ ? "stdin" : "out";
        if (!open(sub.fd) || !f || (wants === "stdin") !== (f.stream === "stdin")) {
          view.setUint16(8, defs.ERRNO_BADF, true); // not open, not stdio, or the wrong direction
        } else if (wants === "stdin") {
          if (!stdin.readable) continue;
          view.setBigUint64(16, BigInt(stdin.buffered), true);
          if (stdin.closed && stdin.buffered === 0) view.setUint16(24, defs.EVENTRWFLAGS_FD_READWRITE_HANGUP, true);
        } else {
          view.setBigUint64(16, BigInt(WRITABLE), true);
        }
      }
      events.push(event);
    }
    return events;
  };
  const deliver = (outPtr: number, neventsPtr: number, events: Uint8Array[]): number => {
    const all = new Uint8Array(events.length * EVENT);
    events.forEach((e, i) => all.set(e, i * EVENT));
    memory().write(outPtr, all, "poll_oneoff events");
    setU32(neventsPtr, events.length, "poll_oneoff nevents");
    return defs.ERRNO_SUCCESS;
  };
  const pollOneoff = (inPtr: number, outPtr: number, n: number, neventsPtr: number): number | Promise<number> => {
    if (n === 0) return defs.ERRNO_INVAL;
    const subs = subscriptions(inPtr, n);
    if (typeof subs === "number") return subs;
    memory().peek(outPtr, n * EVENT, "poll_oneoff events"); // a wild buffer fails before any wait
    const now = readyEvents(subs);
    if (now.length) return deliver(outPtr, neventsPtr, now);
    // Nothing is ready. Without JSPI the guest cannot wait here: it may come back after returning
    // to the host (EAGAIN); a clock alone, a sleep, is beyond it (ENOTSUP).
    if (!jspi) return subs.some((s) => s.type !== defs.EVENTTYPE_CLOCK) ? defs.ERRNO_AGAIN : defs.ERRNO_NOTSUP;
    const onStdin = subs.some((s) => s.type === defs.EVENTTYPE_FD_READ && stdio(s.fd)?.stream === "stdin");
    return (async () => {
      let fired = -Infinity;
      for (;;) {
        const due = subs.reduce((m, s) => Math.min(m, s.due), Infinity);
        const ms = due - Date.now();
        if (onStdin) {
          if (!(await stdin.wait(Number.isFinite(due) ? ms : undefined))) fired = due;
        } else {
          await new Promise((r) => setTimeout(r, Math.max(0, ms)));
          fired = due;
        }
        const events = readyEvents(subs, fired);
        if (events.length) {
          host.resumed();
          return deliver(outPtr, neventsPtr, events);
        }
      }
    })();
  };

  // ---- sockets, signals: not here ----
  /** No fd of a process is a socket: EBADF for one that is not open, ENOTSOCK for the rest. */
  const notSocket = (fd: number) => (open(fd) ? defs.ERRNO_NOTSOCK : defs.ERRNO_BADF);

  const own: Record<string, Import> = {
    fd_read: fdRead,
    fd_write: fdWrite,
    poll_oneoff: pollOneoff,
    clock_time_get: clockTimeGet,
    random_get: (ptr: number, len: number) => {
      const bytes = new Uint8Array(len >>> 0);
      for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
      memory().write(ptr, bytes, "random_get buffer");
      return defs.ERRNO_SUCCESS;
    },
    sched_yield: () => defs.ERRNO_SUCCESS,
    // A signal would end the process; WASI dropped proc_raise after preview1, and wasi-libc's
    // raise() does not need it.
    proc_raise: () => defs.ERRNO_NOSYS,
    sock_accept: (fd: number) => notSocket(fd),
    sock_recv: (fd: number) => notSocket(fd),
    sock_send: (fd: number) => notSocket(fd),
    sock_shutdown: (fd: number) => notSocket(fd),
  };
  const imports: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries({ ...base, ...own })) {
    const safe = guarded(fn);
    imports[name] = jspi && (name === "fd_read" || name === "fd_write" || name === "poll_oneoff") ? jspi.suspending(safe as never) : safe;
  }
  imports.proc_exit = (code: number) => {
    throw GuestExit.exit(code);
  };
  return {
    flush: () => {
      stdout.flush();
      stderr.flush();
    },
    imports,
  };
}
