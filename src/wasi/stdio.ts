import { Fd, Inode, wasi as defs } from "@bjorn3/browser_wasi_shim";
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

/**
 * Where a piece of a line longer than MAX_LINE ends: never between the two halves of a surrogate
 * pair, which apart are each a replacement character once encoded (the character lost).
 */
function cut(line: string): number {
  const last = line.charCodeAt(MAX_LINE - 1);
  return last >= 0xd800 && last <= 0xdbff ? MAX_LINE - 1 : MAX_LINE;
}

/** Splits a byte stream into lines; the last partial line comes out on flush. */
export class Lines {
  #pending = "";
  #decoder = new TextDecoder();
  constructor(readonly emit: (line: string) => void) {}
  /** The partial line not yet emitted: a snapshot keeps it (a UTF-8 sequence cut in two is not). */
  get pending(): string {
    return this.#pending;
  }
  set pending(text: string) {
    this.#pending = text;
  }
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
      const at = cut(this.#pending);
      this.emit(this.#pending.slice(0, at));
      this.#pending = this.#pending.slice(at);
    }
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
    const rest = this.#pending + this.#decoder.decode();
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

  const writeNow = (f: Stdio, iovs: number, count: number, nwrittenPtr: number): number => {
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
    const blocked = ctx.canWait() ? options.outputBlocked : undefined;
    let total = 0;
    let lines = 0;
    let stop = false;
    for (const [p, len] of vecs) {
      const bytes = memory().peek(p, Math.min(len, most - total), "fd_write buffer");
      let take = bytes.length;
      let written = 0;
      let nl = bytes.indexOf(10);
      while (nl >= 0 || (blocked && written < bytes.length)) {
        // A guest that can wait also stops after a piece of a line longer than MAX_LINE: Lines
        // emits one, and the queue may fill on it, mid-line. So it feeds Lines steps that emit at
        // most one line or piece each: at most MAX_LINE / 2 bytes (a byte is at most one UTF-16
        // unit, Lines keeps at most MAX_LINE pending, and its decoder may hold 2 more), and a
        // line's end only where the whole line is one piece. The write ends right after the
        // piece or line that filled the queue.
        let end = nl + 1;
        if (blocked && nl !== written && (nl < 0 || nl - written > MAX_LINE / 2 || out.pending.length + (nl - written) + 2 > MAX_LINE)) {
          end = Math.min(nl < 0 ? bytes.length : nl, written + MAX_LINE / 2);
        }
        if (blocked) {
          out.write(bytes.subarray(written, end));
          written = end;
        }
        const isLine = end === nl + 1;
        if (isLine) nl = bytes.indexOf(10, end);
        if ((isLine && ++lines === MAX_WRITE_LINES) || blocked?.()) {
          take = end;
          stop = true;
          break;
        }
      }
      out.write(bytes.subarray(written, take));
      total += take;
      if (stop || take < len) break;
    }
    setU32(memory(), nwrittenPtr, total, "fd_write nwritten");
    return defs.ERRNO_SUCCESS;
  };
  const fdWrite = (fd: number, iovs: number, count: number, nwritten: number): number | Promise<number> => {
    const f = stdioAt(ctx, fd);
    if (!f) return base.fd_write!(fd as never, iovs as never, count as never, nwritten as never) as number;
    const wait = f.stream !== "stdin" && ctx.canWait() ? options.outputReady?.() : undefined;
    if (!wait) return writeNow(f, iovs, count, nwritten);
    return wait.then(() => writeNow(f, iovs, count, nwritten));
  };

  return { fd_read: fdRead as Import, fd_write: fdWrite as Import };
}
