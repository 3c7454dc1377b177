import { ConsoleStdout, File, OpenFile, WASI, wasi as defs } from "@bjorn3/browser_wasi_shim";
import { GuestExit } from "./errors.js";
import type { Jspi } from "./jspi.js";
import { Pipe } from "./pipe.js";
import type { GuestMemory } from "./memory.js";

/** What a command-style guest sees of the world through WASI preview1. */
export interface WasiOptions {
  args?: string[];
  env?: Record<string, string>;
  /** Bytes (then end of stream), or a pipe the host keeps writing. */
  stdin?: Uint8Array | Pipe;
}

export interface WasiHost {
  memory(): GuestMemory;
  log(stream: "stdout" | "stderr", line: string): void;
  /** Where present, sleeps suspend the guest instead of failing with ENOTSUP. */
  jspi?: Jspi;
  /** Called as a suspended import returns to the guest: other guests may have run meanwhile. */
  resumed(): void;
}

/**
 * WASI preview1 for guests built against a std library. browser_wasi_shim does
 * the file-descriptor work; this replaces the parts that must behave
 * differently in a Worker: exit is an exception the host catches, sleeps
 * suspend with JSPI instead of spinning, and random bytes are checked.
 */
/** Splits a byte stream into lines; the last partial line comes out on flush. */
class Lines {
  #pending = "";
  #decoder = new TextDecoder();
  constructor(readonly emit: (line: string) => void) {}
  write(bytes: Uint8Array) {
    const parts = (this.#pending + this.#decoder.decode(bytes, { stream: true })).split("\n");
    this.#pending = parts.pop()!;
    for (const line of parts) this.emit(line);
  }
  flush() {
    if (this.#pending) this.emit(this.#pending);
    this.#pending = "";
  }
}

export interface Wasi {
  imports: Record<string, unknown>;
  /** Emits what is left of unterminated stdout/stderr lines: at exit. */
  flush(): void;
}

export function wasiImports(options: WasiOptions, host: WasiHost): Wasi {
  const stdout = new Lines((line) => host.log("stdout", line));
  const stderr = new Lines((line) => host.log("stderr", line));
  const stdin = options.stdin instanceof Pipe ? options.stdin : new Pipe(options.stdin, true);
  const fds = [
    new OpenFile(new File(new Uint8Array(), { readonly: true })),
    new ConsoleStdout((bytes) => stdout.write(bytes)),
    new ConsoleStdout((bytes) => stderr.write(bytes)),
  ];
  const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`);
  // `debug: false` explicitly: the shim's constructor calls `debug.enable(options.debug)`, and an
  // undefined flag turns its debug logging ON (`wasi: 2 12` from args_sizes_get, on console.log,
  // bypassing the log sink). The switch is one module-wide object, so every instance sets it.
  const shim = new WASI(options.args ?? [], env, fds, { debug: false });
  const memory = () => host.memory();
  // The shim reads `inst.exports.memory` on every call; give it the guest's memory lazily.
  shim.inst = { exports: { get memory() { return memory().raw; } } } as never;
  const imports = shim.wasiImport as Record<string, (...args: never[]) => unknown>;
  const pollOneoff = (inPtr: number, outPtr: number, n: number): number | Promise<number> => {
    // One clock subscription: a sleep. Anything else is beyond a Worker.
    if (n !== 1) return defs.ERRNO_NOTSUP;
    const sub = memory().read(inPtr, 48, "poll_oneoff subscription");
    const view = new DataView(sub.buffer);
    if (view.getUint8(8) !== defs.EVENTTYPE_CLOCK) return defs.ERRNO_NOTSUP;
    const timeoutNs = view.getBigUint64(24, true);
    const absolute = (view.getUint16(40, true) & defs.SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME) !== 0;
    const ms = Number((absolute ? timeoutNs - BigInt(Date.now()) * 1_000_000n : timeoutNs) / 1_000_000n);
    const event = new Uint8Array(32);
    event.set(sub.subarray(0, 8)); // userdata
    new DataView(event.buffer).setUint8(10, defs.EVENTTYPE_CLOCK);
    const done = () => {
      memory().write(outPtr, event, "poll_oneoff event");
      return defs.ERRNO_SUCCESS;
    };
    if (ms <= 0) return done();
    if (!host.jspi) return defs.ERRNO_NOTSUP;
    return new Promise<void>((resolve) => setTimeout(resolve, ms)).then(done);
  };
  // stdin reads from the pipe; where it is empty and still open, the guest blocks (JSPI) or gets EAGAIN.
  const readStdin = (iovs: number, count: number, nreadPtr: number): number | null => {
    const vecs = new DataView(memory().read(iovs, count * 8, "fd_read iovecs").buffer);
    let total = 0;
    for (let i = 0; i < count; i++) total += vecs.getUint32(i * 8 + 4, true);
    const data = stdin.read(total);
    if (data === null) return null;
    let at = 0;
    for (let i = 0; i < count && at < data.length; i++) {
      const take = Math.min(vecs.getUint32(i * 8 + 4, true), data.length - at);
      memory().write(vecs.getUint32(i * 8, true), data.subarray(at, at + take), "fd_read buffer");
      at += take;
    }
    const n = new Uint8Array(4);
    new DataView(n.buffer).setUint32(0, data.length, true);
    memory().write(nreadPtr, n, "fd_read nread");
    return defs.ERRNO_SUCCESS;
  };
  const fdRead = imports.fd_read as (fd: number, iovs: number, count: number, nread: number) => number;
  const fdReadBlocking = async (fd: number, iovs: number, count: number, nread: number): Promise<number> => {
    if (fd !== 0) return fdRead(fd, iovs, count, nread);
    for (;;) {
      const r = readStdin(iovs, count, nread);
      if (r !== null) return (host.resumed(), r);
      await stdin.wait();
    }
  };
  const flush = () => {
    stdout.flush();
    stderr.flush();
  };
  return {
    flush,
    imports: {
      ...imports,
      fd_read: host.jspi
        ? host.jspi.suspending(fdReadBlocking)
        : (fd: number, iovs: number, count: number, nread: number) => (fd !== 0 ? fdRead(fd, iovs, count, nread) : (readStdin(iovs, count, nread) ?? defs.ERRNO_AGAIN)),
      proc_exit: (code: number) => {
        throw GuestExit.exit(code);
      },
      random_get: (ptr: number, len: number) => {
        const bytes = new Uint8Array(len);
        for (let i = 0; i < len; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
        memory().write(ptr, bytes, "random_get buffer");
        return defs.ERRNO_SUCCESS;
      },
      poll_oneoff: host.jspi
        ? host.jspi.suspending(async (i: number, o: number, n: number) => {
            const r = await pollOneoff(i, o, n);
            host.resumed();
            return r;
          })
        : pollOneoff,
    },
  };
}
