import type { Fd } from "@bjorn3/browser_wasi_shim";
import type { Clock } from "../clock.js";
import { BusError } from "../errors.js";
import type { Suspender } from "../instance/asyncify.js";
import type { GuestMemory } from "../memory.js";
import type { Pipe } from "../pipe.js";

// What the parts of WASI (stdio.ts, poll.ts, the import table in ../wasi.ts) share: the options
// and host they are made for, and one process's state. It imports none of them, so they can all
// import it without a cycle.

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
   * it before writing more". A guest that can block (asyncified) waits in `fd_write`; one that
   * cannot writes on, and whoever reads its output drops what it cannot hold.
   */
  outputReady?: () => Promise<void> | undefined;
  /**
   * Whether the lines written so far now wait to be taken (a sub-process's spawner refused one):
   * asked after each line of a write by a guest that can wait, which then ends the write there,
   * short, and waits in its next (outputReady). One fd_write ends up to MAX_WRITE_LINES lines;
   * without it, those after the one refused were lost though the guest could have waited.
   */
  outputBlocked?: () => boolean;
}

export interface WasiHost {
  memory(): GuestMemory;
  /** Where sleeps (`poll_oneoff` clocks) go: a timer in a plain call, a process's alarm. */
  clock: Clock;
  log(stream: "stdout" | "stderr", line: string): void;
  /**
   * A blocking module's asyncify driver: where present, and where the guest can suspend now, waits
   * (sleeps, stdin, output backpressure) suspend it instead of answering at once.
   */
  suspender?: Suspender;
}

export type Import = (...args: never[]) => unknown;

/** One process's WASI state, as the imports that replace the shim's see it. */
export interface WasiContext {
  options: WasiOptions;
  host: WasiHost;
  /** Whether an import called now may wait (answer with a promise): the guest can suspend. */
  canWait(): boolean;
  /** The shim's own imports: what an fd that is not stdio falls back to. */
  base: Record<string, Import>;
  stdin: Pipe;
  /** The guest's memory, asked for on each use: it is not there until the guest is instantiated. */
  memory(): GuestMemory;
  /** The fd open as `fd` now (fds can be closed and renumbered), if any. */
  fd(fd: number): Fd | undefined;
  /** Aborted when the instance is gone (Wasi.stop): a wait then lets go of its timer or alarm. */
  ended: AbortController;
}

/** Writes a little-endian u32 result (nread, nwritten, nevents) into guest memory. */
export function setU32(memory: GuestMemory, ptr: number, value: number, what: string) {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, value, true);
  memory.write(ptr, b, what);
}

/** The (pointer, length) pairs of an iovec array; a count past the whole memory is refused before it is read. */
export function iovecs(memory: GuestMemory, ptr: number, count: number, what: string): [number, number][] {
  if (count * 8 > memory.size) throw BusError.of("InvalidPointer", `${what}: ${count} iovecs`);
  const raw = memory.read(ptr, count * 8, what);
  const view = new DataView(raw.buffer);
  const out: [number, number][] = [];
  for (let i = 0; i < count; i++) out.push([view.getUint32(i * 8, true), view.getUint32(i * 8 + 4, true)]);
  return out;
}
