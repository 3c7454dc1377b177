import { Fd, WASI, wasi as defs } from "@bjorn3/browser_wasi_shim";
import { BusError, GuestExit } from "./errors.js";
import { Pipe } from "./pipe.js";
import { argsImports } from "./wasi/args.js";
import { fdImports } from "./wasi/fds.js";
import { pathImports } from "./wasi/paths.js";
import type { Import, WasiContext, WasiHost, WasiOptions } from "./wasi/context.js";
import { type ClockState, pollImports } from "./wasi/poll.js";
import { Lines, Stdio, type Stream, stdioImports } from "./wasi/stdio.js";

// The import table. What the imports do lives beside it: wasi/stdio.ts (fds 0-2, fd_read,
// fd_write), wasi/poll.ts (clocks, poll_oneoff), wasi/args.ts (argv, environ), wasi/context.ts
// (what they share), wasi/fds.ts (what the other fd imports answer on stdio), wasi/paths.ts
// (path_*: a path is checked, then there is no directory). Importers
// keep importing from here.
export type { WasiHost, WasiOptions } from "./wasi/context.js";
export { MAX_LINE } from "./wasi/stdio.js";

export interface Wasi {
  imports: Record<string, unknown>;
  /** Emits what is left of unterminated stdout/stderr lines: at exit. */
  flush(): void;
  /** The instance is gone: its waits (a sleep's timer or alarm, a wait for stdin) stop now. */
  stop(): void;
  /** What a snapshot keeps beyond the process's args, env and stdin (which its object keeps). */
  save(): WasiState;
  load(state: WasiState): void;
}

/**
 * WASI's own state in a snapshot: the partial output lines (and the start of a character a write
 * ended inside, as byte values: a snapshot saved before it was kept has none), the flags of fds 0-2 (closed: null),
 * which stream each is (fd_renumber moves them: stderr onto 1 writes to stderr through 1; a
 * snapshot saved before this was kept has none, each fd the stream it opened as), and the clocks
 * (a snapshot saved before they were kept has none).
 */
export interface WasiState {
  stdout: string;
  stderr: string;
  held?: { stdout: number[]; stderr: number[] };
  fds: (number | null)[];
  streams?: (Stream | null)[];
  clocks?: ClockState;
}

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
 * stdin, `poll_oneoff`, output backpressure) suspend the guest (asyncify) instead of spinning, sockets and
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
  const suspender = host.suspender;
  // `shim.fds[fd]` on each use: the shim closes and renumbers fds in place.
  const ctx: WasiContext = { options, host, canWait: () => suspender?.canSuspend === true, base, stdin, memory, fd: (fd) => shim.fds[fd], ended: new AbortController() };

  // ---- sockets, signals: not here ----
  /** No fd of a process is a socket: EBADF for one that is not open, ENOTSOCK for the rest. */
  const notSocket = (fd: number) => (ctx.fd(fd) !== undefined ? defs.ERRNO_NOTSOCK : defs.ERRNO_BADF);

  const { fd_read, fd_write } = stdioImports(ctx, stdout, stderr);
  const { clock_res_get, clock_time_get, poll_oneoff, ...clocks } = pollImports(ctx);
  const own: Record<string, Import> = {
    ...argsImports(options.args ?? [], env, memory),
    ...fdImports(ctx),
    ...pathImports(ctx),
    fd_read,
    fd_write,
    poll_oneoff,
    clock_res_get,
    clock_time_get,
    random_get: (ptr: number, len: number) => {
      // Filled in place, once the buffer is known to be in memory: a host buffer of the asked
      // length first (up to 4 GiB, then filled) let one call exhaust the isolate before EFAULT.
      const bytes = memory().peek(ptr, len, "random_get buffer");
      for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
      return defs.ERRNO_SUCCESS;
    },
    // The shim closes `to` before moving `fd` there: onto itself, that closed the fd for good.
    // dup2(fd, fd) leaves an open fd as it is.
    fd_renumber: (fd: number, to: number) => (fd === to ? (ctx.fd(fd) !== undefined ? defs.ERRNO_SUCCESS : defs.ERRNO_BADF) : base.fd_renumber!(fd as never, to as never)),
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
    // The imports that wait: a promise they answer suspends the guest.
    imports[name] = suspender && (name === "fd_read" || name === "fd_write" || name === "poll_oneoff") ? suspender.suspending(safe) : safe;
  }
  imports.proc_exit = (code: number) => {
    throw GuestExit.exit(code);
  };
  return {
    flush: () => {
      stdout.flush();
      stderr.flush();
    },
    stop: () => ctx.ended.abort(),
    save: () => {
      const open = [0, 1, 2].map((fd) => ctx.fd(fd) as Stdio | undefined);
      const held = { stdout: [...stdout.held], stderr: [...stderr.held] };
      return { stdout: stdout.pending, stderr: stderr.pending, held, fds: open.map((f) => f?.flags ?? null), streams: open.map((f) => f?.stream ?? null), clocks: clocks.save() };
    },
    load: (state) => {
      if (state.clocks) clocks.load(state.clocks);
      stdout.pending = state.stdout;
      stderr.pending = state.stderr;
      stdout.held = new Uint8Array(state.held?.stdout ?? []);
      stderr.held = new Uint8Array(state.held?.stderr ?? []);
      state.fds.forEach((flags, fd) => {
        const stream = state.streams?.[fd] ?? (shim.fds[fd] as Stdio).stream;
        if (flags === null) shim.fds[fd] = undefined as never;
        else shim.fds[fd] = Object.assign(new Stdio(stream, tty), { flags });
      });
    },
    imports,
  };
}
