import { Code, type CodeName, LogLevel } from "../abi.js";
import type { BusCall, CallOptions } from "../call.js";
import { BusError, GuestExit } from "../errors.js";
import { HandleTable } from "../handles.js";
import type { Host } from "../host.js";
import { cutLine, levelName } from "../log.js";
import { GuestMemory } from "../memory.js";
import type { LoadedModule } from "../registry.js";

/** The exports the host calls; only `memory` is required of every module. */
export interface GuestExports {
  memory: WebAssembly.Memory;
  wasm_bus_malloc?: (len: number) => number;
  wasm_bus_free?: (ptr: number, len: number) => void;
  wasm_bus_start?: (parent: number, handle: number, format: number, topic: number, topicLen: number, req: number, reqLen: number) => unknown;
  wasm_bus_finish?: (handle: number, format: number, ptr: number, len: number) => void;
  wasm_bus_error?: (handle: number, code: number) => void;
  wasm_bus_drop?: (handle: number) => void;
  _initialize?: () => void;
  _start?: () => unknown;
}

/** What marks an instance run as a process (a Durable Object's, or a sub-process). */
export interface CommandOptions {
  /** The process id, for tagging log lines. */
  id: string;
  /** Each line the guest writes to stdout or stderr, besides the log. */
  output?: (stream: "stdout" | "stderr", line: string) => void;
  /**
   * The `process.spawn` call that made this process (a sub-process): the calls it makes go on
   * that call's chain, so a tree of processes is held to the runtime's call depth and cycles as
   * any chain of calls is (a chain of spawns had no bound but the stack).
   */
  origin?: BusCall;
}

/**
 * The state of one instance that its imports work on: the module, its memory and handle table,
 * the call it is serving, why its last import was refused. Kept apart from the Guest so the
 * import tables (bus, env, WASI) can each live in a file of their own.
 */
export class InstanceContext {
  readonly handles: HandleTable;
  /** Bytes of results and callbacks in this instance's delivery queue (held to MAX_QUEUED_BYTES: ./outbound.ts). */
  queuedBytes = 0;
  /** The topics the guest listens on, each with its UTF-8 bytes (what wasm_bus_start hands it). */
  readonly listening = new Map<string, Uint8Array>();
  /**
   * The exports the host calls, in one object of the same shape for every instance. The engine's
   * exports object has a map of its own per instance, so `exports.wasm_bus_start` read from it at
   * a site that sees several instances (every module's) is a polymorphic load, megamorphic past
   * four: that was on every module call's path twice.
   */
  exports!: GuestExports;
  /** Every export of the instance (as asyncify binds them): the functions that reach the globals a snapshot saves are among them (./globals.ts). */
  allExports!: Readonly<Record<string, unknown>>;
  /** The inbound call the guest is working on (set as each entry starts): tags its log lines, roots its own calls' chain. */
  current?: BusCall;
  /**
   * The last failure the guest met, for a fault that passes it on (`passedOn`): an import it was
   * refused (`heard` false), or a call it made that failed (`heard`: wasm_bus_error, call_now's
   * status); and the call the guest worked on then, where that is certain (`attributed`).
   */
  #met?: { error: BusError; during: BusCall; heard: boolean };
  /** What the guest said (`fault_message` on handle 0) just before it trapped: a Rust panic's message. */
  lastWords?: string;
  /** Set by `fork`: a command keeps serving after `_start` returns. */
  forked = false;
  /** Set by `bind`; until then (the Wasm start section) every access to it throws IncorrectAbi. */
  #memory: GuestMemory;
  /**
   * Bytes logged in this entry, against `limits.logBytes`: renewed with the fuel (`renew`). An
   * entry runs inside one invocation, whose lines Workers Logs keeps up to 256 KB; a budget for the
   * instance's whole life silenced a pooled or session instance for good after that much.
   */
  logBytes = 0;
  /** Sub-processes spawned so far (a process's: see childId), kept in a snapshot. */
  subprocesses = 0;
  readonly #fuel: bigint;
  /** limits.memoryPages in bytes. */
  readonly #maxBytes: number;

  constructor(
    readonly module: LoadedModule,
    readonly host: Host,
    readonly command?: CommandOptions,
  ) {
    this.#fuel = BigInt(module.manifest.limits.fuel);
    this.#maxBytes = module.manifest.limits.memoryPages * 65536;
    this.handles = new HandleTable(module.manifest.limits.maxHandles);
    this.#memory = new GuestMemory(() =>
      GuestExit.halt(
        BusError.of("IncorrectAbi", `module ${module.name} called a bus import from the Wasm start section; export _initialize (AssemblyScript: --exportStart _initialize) and make bus calls there`),
      ),
    );
  }

  /** Called once the instance exists: before then (the Wasm start section) there is no memory. */
  bind(exports: GuestExports) {
    this.allExports = exports as unknown as Record<string, unknown>;
    this.exports = {
      memory: exports.memory,
      wasm_bus_malloc: exports.wasm_bus_malloc,
      wasm_bus_free: exports.wasm_bus_free,
      wasm_bus_start: exports.wasm_bus_start,
      wasm_bus_finish: exports.wasm_bus_finish,
      wasm_bus_error: exports.wasm_bus_error,
      wasm_bus_drop: exports.wasm_bus_drop,
      _initialize: exports._initialize,
      _start: exports._start,
    };
    this.#memory = new GuestMemory(exports.memory);
  }

  get memory(): GuestMemory {
    return this.#memory;
  }

  /** A status code for the guest, with a log line saying why: codes alone are hard to debug. */
  refuse(name: CodeName, why: string): number {
    this.refused(BusError.of(name, why));
    return Code[name];
  }

  /**
   * Logs why an import was refused and keeps it, for a fault of the call being served that passes
   * it on. A refusal costs the host an error and a log line, ten times what the import's own call
   * takes (IMPORT_FUEL in scripts/wasm-meter.mjs): taken from the guest's fuel, so a guest looping
   * on refused imports stops as soon as one looping on anything else.
   */
  refused(error: BusError) {
    if (this.module.metered) this.host.meter.fuel.value = (this.host.meter.fuel.value as bigint) - REFUSAL_FUEL;
    this.log(LogLevel.Warn, error.message);
    this.#meet(error, this.attributed(), false);
  }

  /** A failure the guest hears of, of a call it made for `madeFor` (BusCall.madeFor): see `passedOn`. */
  heard(error: BusError, madeFor: BusCall | undefined) {
    this.#meet(error, madeFor, true);
  }

  #meet(error: BusError, during: BusCall | undefined, heard: boolean) {
    // One not known to be of a call forgets the last: it must not stand for this one.
    this.#met = during && { error, during, heard };
  }

  /**
   * The failure a guest passes on when it faults `call` with `code`: the last it met, where that
   * was the same code, met while it worked on that very call. A reason never reaches another call.
   */
  passedOn(call: BusCall, code: number): { error: BusError; heard: boolean } | undefined {
    const met = this.#met;
    return met && met.error.code === code && met.during === call ? met : undefined;
  }

  /**
   * The inbound call the guest works on now, where that is certain: it serves that one call
   * alone. `current` is the call whose wasm_bus_start ran last, and with several served, what
   * runs now may be another's (an async handler going on after an await, in a delivery): a
   * reason passed on to the wrong call would show one caller what another sent.
   */
  attributed(): BusCall | undefined {
    const current = this.current;
    return current && !current.ended && this.handles.inboundCount === 1 ? current : undefined;
  }

  /**
   * A delivery of what came for `call`, one the guest made: the guest goes on with the inbound
   * call it was serving when it made it (an async handler after an await), so the calls it makes
   * now sit on that call's chain and its lines are tagged with it, not with whichever call
   * started last. A call a process made outside any (in `_start`) goes back to none.
   */
  resumeFor(call: BusCall) {
    this.current = call.origin === this.command?.origin ? undefined : call.origin;
  }

  /**
   * Lets go of the calls this instance is done with, once it is at rest. `current` and the failure
   * met during a call outlast the call; an instance kept for later (a pool's idle one, a session's)
   * then kept the ended call reachable, and through it (its caller's sink, `from`, its origin and
   * that call's `server`) the instances on its chain that were otherwise gone, each with its memory.
   */
  forgetEnded() {
    if (this.current?.ended) this.current = undefined;
    if (this.#met?.during.ended) this.#met = undefined;
  }

  /**
   * How a call this guest makes (`call`, `call_now`) is made: on the chain of the call it serves
   * (a process's own, outside any call, on its spawn's), charged to this instance.
   */
  outboundOptions(parent: BusCall | undefined, keepalive: boolean): CallOptions {
    return { parent, keepalive, caller: this.module.name, origin: this.current ?? this.command?.origin, madeFor: this.attributed(), from: this };
  }

  childId(): string | undefined {
    return this.command && `${this.command.id}.${++this.subprocesses}`;
  }

  /**
   * A log line of this instance, within its `logBytes` budget, cut at LOG_LINE_UNITS as log.write
   * cuts: a process's object keeps each line as one SQLite row, which a deployed Durable Object
   * holds to 2 MB, where `logBytes` allows a line of 16 MiB (docs/host.md, "SQLite rows").
   */
  log(level: number, msg: string, stream?: "stdout" | "stderr") {
    const limit = this.module.manifest.limits.logBytes;
    if (this.logBytes > limit) return;
    msg = cutLine(msg);
    this.logBytes += msg.length;
    if (this.logBytes > limit) msg = `log limit of ${limit} bytes reached; further lines from this instance are dropped until its next entry (a call, a callback, a wake)`;
    this.host.log({ module: this.module.name, level: levelName(level), msg, call: this.current?.id, process: this.command?.id, stream });
  }

  /**
   * Copies bytes (one buffer, or two back to back) into a buffer the guest allocates; the buffer
   * is the guest's from then on. Null where wasm_bus_malloc answered 0: the guest has no room, and
   * the one delivery fails (docs/abi.md), not the instance. A pointer outside memory throws.
   */
  give(bytes: Uint8Array, more?: Uint8Array): number | null {
    const len = bytes.length + (more?.length ?? 0);
    if (!len) return 0;
    const malloc = this.exports.wasm_bus_malloc;
    if (!malloc) throw BusError.of("IncorrectAbi", `module ${this.module.name} does not export wasm_bus_malloc`);
    const ptr = malloc(len) >>> 0;
    if (ptr === 0) return null;
    const memory = this.memory;
    if (ptr + len > memory.size) throw badMalloc(len, ptr);
    memory.write(ptr, bytes);
    if (more?.length) memory.write(ptr + bytes.length, more);
    return ptr;
  }

  /**
   * Sets this entry's budgets: its log bytes, and its loop budget on the runtime's one meter.
   * Sharing one meter is sound because guests never run at the same time: every entry, and every
   * return from a suspending import (other guests ran meanwhile), sets it afresh before guest code
   * runs; a guest whose call import ran another one inside gets back what it had left (dispatch in
   * ./outbound.ts).
   */
  renew() {
    this.logBytes = 0;
    if (this.module.metered) this.host.meter.fuel.value = this.#fuel;
  }

  /**
   * A memory the binary does not cap (a module not built here) may grow past its limit, so it is
   * checked whenever data leaves the guest and after every entry. A capped one cannot (LoadedModule.capped).
   */
  checkMemory() {
    if (this.module.capped) return;
    const size = this.memory.size;
    if (size > this.#maxBytes) {
      const limit = this.module.manifest.limits.memoryPages;
      throw GuestExit.halt(BusError.of("MemoryAllocationFailed", `module ${this.module.name} grew its memory to ${size / 65536} pages, over its limit of ${limit}`));
    }
  }
}

/** What a refused import takes from the guest's fuel (see `refused`). */
const REFUSAL_FUEL = 1000n;

/** give's refusals: out of line, as GuestMemory's refusals are (see `outside` in ../memory.ts). */
export function badMalloc(len: number, ptr: number): BusError {
  return BusError.of("MemoryAllocationFailed", `wasm_bus_malloc(${len}) returned ${ptr === 0 ? "null" : `${ptr}, outside memory`}`);
}
