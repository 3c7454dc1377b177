import { Fd, Inode, wasi as defs } from "@bjorn3/browser_wasi_shim";
import { cutAt } from "../text.js";
import { type Import, type WasiContext, iovecs, setU32 } from "./context.js";

// fds 0-2 of a process: what they are (pipes or a terminal), stdin read from its Pipe, stdout and
// stderr split into lines for the host's log. poll.ts asks them what is ready.

/** A line longer than this comes out in pieces: an endless line must not grow the host. */
export const MAX_LINE = 64 * 1024;
/**
 * The most lines one fd_write call ends; past them it is a short write. Each line is host work
 * (a log row, a frame to each client, a callback) the guest's fuel does not pay for: 16 MiB of
 * newlines in one call was 16 million of them, and an array of them, before the guest ran again.
 * Between calls a guest that can wait yields to its object (outputReady).
 */
export const MAX_WRITE_LINES = 4096;

/** Where a piece of a line longer than MAX_LINE ends (never inside a character). */
const cut = (line: string) => cutAt(line, MAX_LINE);

/** The most bytes one Lines.step takes: with what Lines holds, never more than one piece's worth. */
const STEP = MAX_LINE / 2;

/**
 * Where the last whole UTF-8 sequence in `bytes` ends: after it may come the start of a
 * character that the next write completes (at most 3 bytes). A sequence that is cut short only by
 * the end of `bytes` is not whole yet; an invalid one is, and decodes as it would have anyway.
 */
function whole(bytes: Uint8Array): number {
  for (let i = bytes.length - 1; i >= 0 && i >= bytes.length - 3; i--) {
    const b = bytes[i]!;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: its lead is further back
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return bytes.length - i < need ? i : bytes.length;
  }
  return bytes.length;
}

/**
 * Splits a byte stream into lines; the last partial line comes out on flush. The start of a
 * character a write ends inside is held as bytes (a streaming TextDecoder held it out of sight):
 * so a step can count it, and a snapshot keep it.
 */
export class Lines {
  #pending = "";
  /** The newline after `#pending` was taken (by a step that put out a piece first): it is the rest of a line. */
  #ended = false;
  #held: Uint8Array = new Uint8Array(0);
  #decoder = new TextDecoder();
  constructor(readonly emit: (line: string) => void) {}
  /** The partial line not yet emitted, with its newline if that was taken: a snapshot keeps it. */
  get pending(): string {
    return this.#ended ? `${this.#pending}\n` : this.#pending;
  }
  set pending(text: string) {
    this.#ended = text.endsWith("\n");
    this.#pending = this.#ended ? text.slice(0, -1) : text;
  }
  /** The start of a character cut by the end of the last write (0-3 bytes): a snapshot keeps it. */
  get held(): Uint8Array {
    return this.#held;
  }
  set held(bytes: Uint8Array) {
    this.#held = bytes;
  }
  /** What is held and `bytes` as text, up to the last whole character (all of it where a line `ends` after them); the rest is held. */
  #decode(bytes: Uint8Array, ends: boolean): string {
    let all = bytes;
    if (this.#held.length) {
      all = new Uint8Array(this.#held.length + bytes.length);
      all.set(this.#held);
      all.set(bytes, this.#held.length);
    }
    const upto = ends ? all.length : whole(all);
    this.#held = all.slice(upto);
    return this.#decoder.decode(all.subarray(0, upto));
  }
  write(bytes: Uint8Array) {
    this.end();
    const text = this.#decode(bytes, false);
    if (!text.includes("\n") && this.#pending.length + text.length <= MAX_LINE) {
      this.#pending += text;
      return;
    }
    const parts = (this.#pending + text).split("\n");
    this.#pending = parts.pop()!;
    for (const line of parts) this.#emitLong(line);
    while (this.#pending.length > MAX_LINE) this.#piece();
  }
  /**
   * Takes `bytes` up to their first newline (at most STEP bytes) and puts out at most one line,
   * or one piece of a line longer than MAX_LINE: a guest that can wait stops right after the one
   * that filled its reader. How many bytes it took, and what came out. Lines keeps at most
   * MAX_LINE units and holds at most 3 bytes, and a byte is at most one UTF-16 unit, so what one
   * step adds is never more than one piece. A piece made at a line's end leaves the newline to the
   * next step, with the rest of the line; but where the piece was all it took (what it held came
   * out as replacement characters before the newline) it takes the newline too, so that a step
   * that puts something out always takes a byte (a write of 0 bytes is an error to Rust's
   * write_all), and the rest comes out by `end`.
   */
  step(bytes: Uint8Array): { used: number; out?: "line" | "piece" } {
    if (this.end()) return { used: 0, out: "line" };
    const nl = bytes.subarray(0, STEP + 1).indexOf(10);
    const chunk = bytes.subarray(0, nl >= 0 ? nl : Math.min(bytes.length, STEP));
    this.#pending += this.#decode(chunk, nl >= 0);
    if (this.#pending.length > MAX_LINE) {
      this.#piece();
      this.#ended = nl === 0;
      return { used: nl === 0 ? 1 : chunk.length, out: "piece" };
    }
    if (nl < 0) return { used: chunk.length };
    this.emit(this.#pending);
    this.#pending = "";
    return { used: nl + 1, out: "line" };
  }
  /** Puts out the rest of a line whose newline a step took, if one did: whether it did. */
  end(): boolean {
    if (!this.#ended) return false;
    this.#ended = false;
    this.emit(this.#pending);
    this.#pending = "";
    return true;
  }
  #piece() {
    const at = cut(this.#pending);
    this.emit(this.#pending.slice(0, at));
    this.#pending = this.#pending.slice(at);
  }
  #emitLong(line: string) {
    while (line.length > MAX_LINE) {
      const at = cut(line);
      this.emit(line.slice(0, at));
      line = line.slice(at);
    }
    this.emit(line);
  }
  flush() {
    this.end();
    const rest = this.#pending + this.#decode(new Uint8Array(), true);
    this.#pending = "";
    if (rest) this.#emitLong(rest);
  }
}

export type Stream = "stdin" | "stdout" | "stderr";

/**
 * A process's fd 0, 1 or 2. A pipe unless the process runs on a terminal: wasi-libc's `isatty`
 * (and Rust's `IsTerminal`) is true only for a character device without seek rights. Reads and
 * writes are the imports' own (stdin from the Pipe, output as lines), as are what fds.ts answers;
 * the rest is here, for the shim's imports.
 */
export class Stdio extends Fd {
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
  /** Read or write by direction, never seek or tell. */
  get rights(): bigint {
    const io = this.stream === "stdin" ? defs.RIGHTS_FD_READ : defs.RIGHTS_FD_WRITE;
    return BigInt(io | defs.RIGHTS_POLL_FD_READWRITE | defs.RIGHTS_FD_FDSTAT_SET_FLAGS | defs.RIGHTS_FD_FILESTAT_GET);
  }
  // Success, though wasmtime says EBADF for stdio (native and its adapter take only files): a
  // guest sets NONBLOCK on stdin to poll it (Go's wasip1 syscall.SetNonblock since 1.21, wasi-libc's
  // fcntl(F_SETFL); wazero added it for Go), as Linux's fcntl allows on a pipe or a terminal, and
  // fd_read then answers EAGAIN instead of waiting. The sync flags EINVAL, as wasmtime answers.
  override fd_fdstat_set_flags(flags: number) {
    if (flags & ~(defs.FDFLAGS_APPEND | defs.FDFLAGS_NONBLOCK)) return defs.ERRNO_INVAL;
    this.flags = flags;
    return defs.ERRNO_SUCCESS;
  }
  // Not a preopened directory: EBADF, as wasmtime answers for stdio (the shim's default, ENOTSUP,
  // is an error to a libc that scans fds for preopens from 0).
  override fd_prestat_get() {
    return { ret: defs.ERRNO_BADF, prestat: null };
  }
  override fd_read() {
    return { ret: defs.ERRNO_BADF, data: new Uint8Array() };
  }
  override fd_write() {
    return { ret: defs.ERRNO_BADF, nwritten: 0 };
  }
}

/** The stdio stream an fd is now (fds can be closed and renumbered), if it is one. */
export function stdioAt(ctx: WasiContext, fd: number): Stdio | undefined {
  const f = ctx.fd(fd);
  return f instanceof Stdio ? f : undefined;
}

/**
 * `fd_read` and `fd_write`: on stdio, stdin from its Pipe and output into `stdout` / `stderr`
 * lines, waiting (where the guest can) for stdin or for output backpressure; any other fd is the shim's.
 */
export function stdioImports(ctx: WasiContext, stdout: Lines, stderr: Lines): { fd_read: Import; fd_write: Import } {
  const { base, stdin, options } = ctx;
  const memory = () => ctx.memory();

  /** Reads what stdin has into the iovecs; null when it has nothing yet and is still open. */
  const readStdin = (iovs: number, count: number, nreadPtr: number): number | null => {
    const vecs = iovecs(memory(), iovs, count, "fd_read iovecs");
    const total = vecs.reduce((n, [, len]) => n + len, 0);
    // Wild buffers (or nread) fail before a byte is consumed: taken, it would be lost.
    for (const [p, len] of vecs) memory().check(p, len, "fd_read buffer");
    memory().check(nreadPtr, 4, "fd_read nread");
    // Room for nothing: 0 at once, as read(2) answers, not a wait for data it cannot take.
    const data = total === 0 ? new Uint8Array() : stdin.read(total);
    if (data === null) return null;
    let at = 0;
    for (const [p, len] of vecs) {
      if (at >= data.length) break;
      const take = Math.min(len, data.length - at);
      memory().write(p, data.subarray(at, at + take), "fd_read buffer");
      at += take;
    }
    setU32(memory(), nreadPtr, data.length, "fd_read nread");
    return defs.ERRNO_SUCCESS;
  };
  const fdRead = (fd: number, iovs: number, count: number, nread: number): number | Promise<number> => {
    const f = stdioAt(ctx, fd);
    if (!f) return base.fd_read!(fd as never, iovs as never, count as never, nread as never) as number;
    if (f.stream !== "stdin") return defs.ERRNO_BADF;
    const now = readStdin(iovs, count, nread);
    if (now !== null) return now;
    if (!ctx.canWait() || f.nonblocking) return defs.ERRNO_AGAIN;
    return (async () => {
      for (;;) {
        if (!(await stdin.wait(ctx.ended.signal))) return defs.ERRNO_CANCELED; // the instance is gone
        const r = readStdin(iovs, count, nread);
        if (r !== null) return r;
      }
    })();
  };

  /** `canWait`: whether the guest could wait when it called (see fdWrite). */
  const writeNow = (f: Stdio, iovs: number, count: number, nwrittenPtr: number, canWait: boolean): number => {
    if (f.stream === "stdin") return defs.ERRNO_BADF;
    const out = f.stream === "stdout" ? stdout : stderr;
    const vecs = iovecs(memory(), iovs, count, "fd_write iovecs");
    // All or nothing: a wild buffer (or nwritten) fails before a byte goes out, or the guest
    // would write again what went.
    for (const [p, len] of vecs) memory().check(p, len, "fd_write buffer");
    memory().check(nwrittenPtr, 4, "fd_write nwritten");
    // Iovecs may point at the same bytes again and again: one call could ask for terabytes from a
    // small memory (host time and output without end, and nwritten wraps past 2^32). A call
    // writes at most what memory holds, and ends at most MAX_WRITE_LINES lines; the rest is a
    // short write, which libc and Rust's write_all go on from, as POSIX allows.
    const most = Math.min(memory().size, 0xffff_ffff);
    // A guest that can wait ends its write after the line that filled its reader (outputBlocked),
    // and waits in the next: the lines after it would have nowhere to go.
    const blocked = canWait ? options.outputBlocked : undefined;
    let total = 0;
    let lines = 0;
    let stop = false;
    for (const [p, len] of vecs) {
      const bytes = memory().peek(p, Math.min(len, most - total), "fd_write buffer");
      let take = bytes.length;
      if (blocked) {
        // A guest that can wait feeds Lines a step at a time, each at most one line or one piece
        // of a line longer than MAX_LINE (the queue may fill on a piece, mid-line), and ends its
        // write right after the one that filled the queue.
        take = 0;
        while (take < bytes.length) {
          const { used, out: put } = out.step(bytes.subarray(take));
          take += used;
          if ((put === "line" && ++lines === MAX_WRITE_LINES) || (put && blocked())) {
            stop = true;
            break;
          }
        }
      } else {
        for (let nl = bytes.indexOf(10); nl >= 0; nl = bytes.indexOf(10, nl + 1)) {
          if (++lines === MAX_WRITE_LINES) {
            take = nl + 1;
            stop = true;
            break;
          }
        }
        out.write(bytes.subarray(0, take));
      }
      total += take;
      if (stop || take < len) break;
    }
    setU32(memory(), nwrittenPtr, total, "fd_write nwritten");
    return defs.ERRNO_SUCCESS;
  };
  const fdWrite = (fd: number, iovs: number, count: number, nwritten: number): number | Promise<number> => {
    const f = stdioAt(ctx, fd);
    if (!f) return base.fd_write!(fd as never, iovs as never, count as never, nwritten as never) as number;
    // Asked once, at the call: after a wait the write goes on in the wait's promise, outside the
    // guest's entry, where an asyncified guest's driver says it cannot suspend (though it is
    // suspended, waiting for this very write).
    const canWait = ctx.canWait();
    const ready = () => (f.stream !== "stdin" && canWait ? options.outputReady?.() : undefined);
    // The rest of a line a step ended after its last piece (Lines.step) comes out on its own, once
    // there is room, and the write waits again if it filled the reader: a write that ended there
    // having taken nothing would be an error to the guest.
    const out = f.stream === "stdout" ? stdout : f.stream === "stderr" ? stderr : undefined;
    // After a wait, nothing of an instance that has stopped meanwhile (killed, or replaced by one
    // restored from a snapshot, which writes the same bytes again): no line, no nwritten.
    const unlessEnded = (next: () => number | Promise<number>) => () => (ctx.ended.signal.aborted ? defs.ERRNO_CANCELED : next());
    const go = (): number | Promise<number> => {
      const wait = out?.end() ? ready() : undefined;
      const write = () => writeNow(f, iovs, count, nwritten, canWait);
      return wait ? wait.then(unlessEnded(write)) : write();
    };
    const wait = ready();
    return wait ? wait.then(unlessEnded(go)) : go();
  };

  return { fd_read: fdRead as Import, fd_write: fdWrite as Import };
}
