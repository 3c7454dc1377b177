import { Code, IMPORT_MODULE, LogLevel, NO_HANDLE, codeName, formatName } from "./abi.js";
import { concat } from "./bytes.js";
import { BusCall, type CallSink } from "./call.js";
import type { Payload } from "./codec/index.js";
import { BusError, FuelExhausted } from "./errors.js";
import { HandleTable } from "./handles.js";
import { levelName } from "./log.js";
import { GuestMemory } from "./memory.js";
import type { LoadedModule, Runtime } from "./runtime.js";
import type { Jspi } from "./jspi.js";
import { ProcessExit, wasiImports, type WasiOptions } from "./wasi.js";

export interface GuestOptions extends WasiOptions {
  /**
   * Serves plain calls and goes away: a call left unanswered while the guest
   * waits on nothing is failed instead of hanging until the timeout.
   */
  ephemeral?: boolean;
  /** Runs as a process: `fork` keeps it serving after `_start` returns. */
  process?: string;
  /** Each line the guest writes to stdout or stderr, besides the log. */
  output?: (stream: "stdout" | "stderr", line: string) => void;
  /** Called when the guest has no calls left either way and can serve another (a pool). */
  onIdle?: (guest: Guest) => void;
}

interface GuestExports {
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

/** Deliveries one guest may have waiting; past it, callbacks to it are refused with LimitExceeded. */
const MAX_QUEUED = 4096;

/** The longest message `fault_message` keeps; the rest is cut. */
const MAX_MESSAGE_BYTES = 4096;
/** Guest messages are for people: a broken UTF-8 sequence shows as U+FFFD rather than losing the message. */
const lossy = new TextDecoder("utf-8");

/** Thrown out of an import to halt a guest that broke the rules beyond a status code. */
class Halt extends Error {
  constructor(readonly error: BusError) {
    super(error.message);
  }
}

/**
 * One live instance of a module: its memory, its handle table, and the queue
 * of results waiting to be delivered through its exports.
 *
 * The guest only runs when the host calls an export, and the host only does so
 * from `#drainNow`, never from inside an import: results of calls are queued and
 * delivered after the guest returns (or from inside `poll`, with JSPI).
 */
export class Guest {
  readonly module: LoadedModule;
  readonly listening = new Set<string>();
  #runtime: Runtime;
  #exports!: GuestExports;
  #mem?: GuestMemory;
  #handles = new HandleTable();
  #queue: (() => void)[] = [];
  #drainScheduled = false;
  #ephemeral: boolean;
  #broken?: BusError;
  #exit?: { resolve(code: number): void; reject(err: BusError): void };
  #forked = false;
  /** The last status an import refused with, and why. */
  #refusal?: BusError;
  /** What the guest said (fault_message on handle 0) just before it trapped: a Rust panic's message. */
  #lastWords?: string;
  #flush?: () => void;
  #onIdle?: (guest: Guest) => void;
  #draining = false;
  #process?: string;
  #output?: GuestOptions["output"];
  /** The inbound call the guest is working on, for tagging its log lines. */
  #current?: BusCall;
  #logBytes = 0;
  #jspi?: Jspi;
  #suspended = 0;
  #pollWaiter?: () => void;
  /** Loop iterations left in this entry, where the module was built with metering. */
  #fuel?: WebAssembly.Global;
  #fuelBudget: bigint;

  private constructor(module: LoadedModule, runtime: Runtime, options: GuestOptions) {
    this.module = module;
    this.#runtime = runtime;
    this.#ephemeral = options.ephemeral ?? true;
    this.#fuelBudget = BigInt(module.manifest.limits.fuel);
    this.#onIdle = options.onIdle;
    this.#process = options.process;
    this.#output = options.output;
    this.#jspi = module.blocking ? runtime.jspi : undefined;
    const imports: WebAssembly.Imports = { [IMPORT_MODULE]: this.#busImports() };
    if (module.wasi) {
      const wasi = wasiImports(options, {
        memory: () => this.#memory,
        log: (stream, msg) => {
          this.#output?.(stream, msg);
          this.#log(stream === "stderr" ? LogLevel.Warn : LogLevel.Info, msg, stream);
        },
        jspi: this.#jspi,
        resumed: () => this.#refuel(),
      });
      imports.wasi_snapshot_preview1 = wasi.imports as WebAssembly.ModuleImports;
      this.#flush = wasi.flush;
    }
    imports.env = {
      // AssemblyScript's abort(message, file, line, column): strings are UTF-16 with the byte length before them.
      abort: (msg: number, file: number, line: number, col: number) => {
        throw new Halt(BusError.of("GuestTrapped", `module ${module.name} aborted: ${this.#asString(msg)} at ${this.#asString(file)}:${line}:${col}`));
      },
      seed: () => Date.now() * Math.random(),
    };
    // wasi-threads: Workers have no threads and a sibling instance cannot share this one's
    // memory, so thread-spawn always fails (a negative result), with a log line that says why.
    imports.wasi = {
      "thread-spawn": () => {
        this.#refuse("Unsupported", "thread-spawn: Workers have no threads; use a sub-process (process.spawn) or a call to another module");
        return -1;
      },
    };
    if (module.metered) {
      imports.wasm_bus_meter = { log_execution: runtime.meter.tick };
      this.#fuel = runtime.meter.fuel;
      this.#refuel(); // the start function runs metered too
    }
    const instance = new WebAssembly.Instance(module.wasm, imports);
    this.#exports = instance.exports as unknown as GuestExports;
    this.#mem = new GuestMemory(this.#exports.memory);
  }

  get #memory(): GuestMemory {
    // The Wasm start section runs before the instance (and its memory) exists.
    if (!this.#mem) {
      throw new Halt(BusError.of("IncorrectAbi", `module ${this.module.name} called a bus import from the Wasm start section; export _initialize (AssemblyScript: --exportStart _initialize) and make bus calls there`));
    }
    return this.#mem;
  }

  /**
   * Instantiates and initialises a module. A trap during start-up is the
   * module's fault and surfaces as GuestTrapped.
   */
  static create(module: LoadedModule, runtime: Runtime, options: GuestOptions = {}): Guest {
    let guest: Guest;
    try {
      guest = new Guest(module, runtime, options);
    } catch (err) {
      throw trapError(module.name, "start-up", err);
    }
    if (guest.#exports._initialize) guest.#enter(() => guest.#exports._initialize!());
    if (guest.#broken) throw guest.#broken;
    return guest;
  }

  get broken(): boolean {
    return this.#broken !== undefined;
  }

  /**
   * Runs a command-style module's `_start`. Resolves to its exit code: the
   * one it gives `proc_exit`, or 0 once `_start` has returned and nothing is
   * left in flight (a guest that returns to the host between events keeps
   * running until then). Rejects when the guest traps or is killed.
   */
  run(): Promise<number> {
    const start = this.#exports._start;
    if (!start) return Promise.reject(BusError.of("IncorrectAbi", `module ${this.module.name} has no _start: it is not a command`));
    const done = new Promise<number>((resolve, reject) => (this.#exit = { resolve, reject }));
    const entry = this.#jspi ? this.#jspi.promising(start) : start;
    void this.#enterAsync(() => entry());
    return done;
  }

  /** Ends the instance from outside (a process killed): its calls fail, its exit is `code`. */
  kill(reason: string) {
    this.#break(BusError.of("Aborted", reason), false);
  }

  /** Delivers an inbound call to the guest through `wasm_bus_start`. */
  accept(call: BusCall): void {
    if (this.#broken) return void call.fault(this.#broken);
    if (!this.listening.has(call.topic)) {
      return void call.fault(BusError.of("InvalidTopic", `module ${this.module.name} does not listen on topic ${call.topic}`));
    }
    const start = this.#exports.wasm_bus_start;
    if (!start) return void call.fault(BusError.of("IncorrectAbi", `module ${this.module.name} does not export wasm_bus_start`));
    const parent = call.parent ? this.#handles.handleOf(call.parent) : NO_HANDLE;
    const handle = this.#handles.add({ kind: "in", call });
    call.server = this;
    call.onEnd(() => {
      if (this.#handles.get(handle)?.kind !== "in") return;
      this.#handles.remove(handle);
      if (this.#exports.wasm_bus_drop) this.#deliver(() => this.#exports.wasm_bus_drop!(handle));
      else this.#settle();
    });
    const entry = this.#jspi ? this.#jspi.promising(start) : start;
    this.#deliver(() => {
      const topic = new TextEncoder().encode(call.topic);
      const ptr = this.#give(concat(topic, call.request.data));
      this.#current = call;
      return entry(parent, handle, call.request.format, ptr, topic.length, ptr + topic.length, call.request.data.length);
    });
  }

  // ---- imports -------------------------------------------------------------

  #busImports(): Record<ImportKey, (...args: number[]) => number> {
    const guarded = <A extends number[]>(fn: (...args: A) => number) =>
      (...args: A): number => {
        try {
          return fn(...args);
        } catch (err) {
          if (!(err instanceof BusError)) throw err;
          this.#refusal = err;
          return err.code;
        }
      };
    return {
      handle: () => this.#handles.add({ kind: "reserved" }),
      call: (parent, handle, keepalive, format, wapmPtr, wapmLen, topicPtr, topicLen, reqPtr, reqLen) => {
        // A refused call consumes its handle (and its callbacks), whatever refused it.
        const code = guarded(() => this.#call(parent, handle, keepalive !== 0, format, wapmPtr, wapmLen, topicPtr, topicLen, reqPtr, reqLen))();
        if (code !== Code.Success && this.#handles.get(handle)?.kind === "reserved") this.#handles.release(handle);
        return code;
      },
      callback: guarded((parent, handle, topicPtr, topicLen) => {
        const topic = this.#memory.readString(topicPtr, topicLen, "callback topic");
        const owner = this.#handles.get(parent);
        const entry = this.#handles.get(handle);
        if (!owner || (owner.kind !== "reserved" && owner.kind !== "out")) return Code.InvalidHandle;
        if (entry?.kind !== "reserved") return Code.InvalidHandle;
        (owner.callbacks ??= new Map()).set(topic, handle);
        this.#handles.set(handle, { kind: "callback", parent, topic });
        return Code.Success;
      }),
      listen: guarded((topicPtr, topicLen) => {
        const topic = this.#memory.readString(topicPtr, topicLen, "topic");
        if (!this.module.manifest.topics[topic]) {
          return this.#refuse("InvalidTopic", `listen: topic ${topic} is not declared in module.json`);
        }
        this.listening.add(topic);
        return Code.Success;
      }),
      reply: guarded((handle, format, ptr, len) => {
        const call = this.#inbound(handle);
        if (!call) return Code.InvalidHandle;
        const payload = this.#payload(format, ptr, len, this.module.manifest.limits.responseBytes, "reply");
        // Forget the handle first, so the call ending is not mistaken for a drop by the caller.
        if (!call.keepalive) this.#handles.remove(handle);
        return call.reply(payload);
      }),
      reply_callback: guarded((handle, format, topicPtr, topicLen, ptr, len) => {
        const call = this.#inbound(handle, true);
        if (!call) return Code.InvalidHandle;
        const topic = this.#memory.readString(topicPtr, topicLen, "callback topic");
        return call.callback(topic, this.#payload(format, ptr, len, this.module.manifest.limits.responseBytes, "callback"));
      }),
      fault: guarded((handle, code) => this.#fault(handle, code)),
      fault_message: guarded((handle, code, ptr, len) => {
        const bytes = this.#memory.peek(ptr, Math.min(len >>> 0, MAX_MESSAGE_BYTES), "fault message");
        const message = lossy.decode(bytes) + (len >>> 0 > MAX_MESSAGE_BYTES ? "…" : "");
        // Handle 0 names no call: the guest is about to trap (a Rust panic) and says why first.
        if (handle === NO_HANDLE) {
          this.#lastWords = message;
          return Code.Success;
        }
        return this.#fault(handle, code, message);
      }),
      drop: guarded((handle) => this.#drop(handle)),
      poll: this.#jspi ? (this.#jspi.suspending(() => this.#poll()) as never) : () => this.#refuse("Unsupported", "poll needs JSPI (WebAssembly.Suspending), which this runtime lacks; return to the host instead"),
      fork: () => {
        if (!this.#process) return this.#refuse("Unsupported", "fork needs a process (POST /processes); a plain call ends with its reply");
        this.#forked = true;
        return Code.Success;
      },
      thread_id: () => 0,
      log: guarded((level, ptr, len) => {
        this.#log(level, this.#memory.readString(ptr, len, "log message"));
        return Code.Success;
      }),
    };
  }

  /** The guest fails an inbound call: with its own words where it gave them, and the host's reason where it passes on a refusal. */
  #fault(handle: number, code: number, detail?: string): number {
    const call = this.#inbound(handle, true);
    if (!call) return Code.InvalidHandle;
    this.#handles.remove(handle);
    code >>>= 0;
    // A guest passing on the code of a refusal it just got passes on the host's reason too.
    // Its status too, except that a 4xx refusal of the guest's own call is not its caller's fault.
    const refusal = this.#refusal?.code === code ? this.#refusal : undefined;
    const reason = detail ?? refusal?.message;
    const message = `module ${this.module.name} faulted the call with ${codeName(code)} (${code})${reason ? `: ${reason}` : ""}`;
    const status = refusal && (refusal.status < 500 ? 502 : refusal.status);
    return call.fault(new BusError(code, message, status, detail));
  }

  #call(parent: number, handle: number, keepalive: boolean, format: number, wapmPtr: number, wapmLen: number, topicPtr: number, topicLen: number, reqPtr: number, reqLen: number): number {
    const entry = this.#handles.get(handle);
    if (entry?.kind !== "reserved") return this.#refuse("InvalidHandle", `call: handle ${handle} was not issued by handle() or is already in use`);
    let parentCall: BusCall | undefined;
    if (parent !== NO_HANDLE) {
      const p = this.#handles.get(parent);
      if (p?.kind !== "out") return this.#refuse("InvalidHandle", `call: parent ${parent} is not a live call`);
      parentCall = p.call;
    }
    if (formatName(format) === undefined) return this.#refuse("BadRequest", `call: unknown format ${format}`);
    const limits = this.module.manifest.limits;
    if (this.#handles.outbound >= limits.maxCalls) return this.#refuse("LimitExceeded", `call: more than ${limits.maxCalls} calls in flight`);
    const wapm = this.#memory.readString(wapmPtr, wapmLen, "wapm");
    const topic = this.#memory.readString(topicPtr, topicLen, "topic");
    const request = this.#payload(format, reqPtr, reqLen, limits.requestBytes, "request");
    const call = new BusCall(wapm, topic, request, this.#sinkFor(handle), {
      parent: parentCall,
      keepalive,
      caller: this.module.name,
      origin: this.#current,
    });
    this.#handles.set(handle, { kind: "out", call, callbacks: entry.callbacks });
    try {
      this.#runtime.dispatch(call);
    } catch (err) {
      this.#handles.release(handle);
      parentCall?.children.delete(call);
      throw err;
    }
    return Code.Success;
  }

  #sinkFor(handle: number): CallSink {
    return {
      finish: (reply) => {
        const entry = this.#handles.get(handle);
        if (entry?.kind !== "out") return;
        if (!entry.call.keepalive) this.#handles.release(handle);
        this.#deliverData(handle, reply);
      },
      fail: (err) => {
        if (this.#handles.get(handle)?.kind !== "out") return;
        this.#handles.release(handle);
        this.#deliver(() => this.#exports.wasm_bus_error?.(handle, err.code));
      },
      callback: (topic, payload) => {
        const entry = this.#handles.get(handle);
        const cb = entry?.kind === "out" ? entry.callbacks?.get(topic) : undefined;
        if (cb === undefined) return Code.MissingCallbacks;
        // Backpressure: a server that pushes callbacks faster than this guest takes them is
        // refused, instead of growing this guest's queue without bound.
        if (this.#queue.length >= MAX_QUEUED) return Code.LimitExceeded;
        this.#deliverData(cb, payload);
        return Code.Success;
      },
    };
  }

  #drop(handle: number): number {
    const entry = this.#handles.get(handle);
    switch (entry?.kind) {
      case "out":
        this.#handles.release(handle);
        entry.call.drop(`dropped by module ${this.module.name}`);
        return Code.Success;
      case "in":
        // The server ends a kept-alive sub-API (or gives up on an unanswered call).
        this.#handles.remove(handle);
        entry.call.fault(BusError.of("Aborted", `module ${this.module.name} dropped the call`));
        return Code.Success;
      case "reserved":
      case "callback":
        this.#handles.release(handle);
        return Code.Success;
      default:
        return this.#refuse("InvalidHandle", `drop: handle ${handle} is not live (dropped twice?)`);
    }
  }

  async #poll(): Promise<number> {
    if (!this.#queue.length) await new Promise<void>((resolve) => (this.#pollWaiter = resolve));
    this.#drainNow();
    this.#refuel(); // other guests ran while this one waited
    return Code.Success;
  }

  #inbound(handle: number, evenAnswered = false): BusCall | undefined {
    const entry = this.#handles.get(handle);
    if (entry?.kind !== "in") {
      this.#log(LogLevel.Warn, `handle ${handle} is not a call this module is serving`);
      return undefined;
    }
    return entry.call.answered && !evenAnswered ? undefined : entry.call;
  }

  #payload(format: number, ptr: number, len: number, limit: number, what: string): Payload {
    this.#checkMemory();
    if (formatName(format) === undefined) throw BusError.of("BadRequest", `${what}: unknown format ${format}`);
    if (len >>> 0 > limit) throw BusError.of("LimitExceeded", `${what} of ${len >>> 0} bytes is over the limit of ${limit}`);
    return { format: format as Payload["format"], data: this.#memory.read(ptr, len, what) };
  }

  /** A status code for the guest, with a log line saying why: codes alone are hard to debug. */
  #refuse(name: keyof typeof Code, why: string): number {
    this.#log(LogLevel.Warn, why);
    this.#refusal = BusError.of(name, why);
    return Code[name];
  }

  #log(level: number, msg: string, stream?: "stdout" | "stderr") {
    const limit = this.module.manifest.limits.logBytes;
    if (this.#logBytes > limit) return;
    this.#logBytes += msg.length;
    if (this.#logBytes > limit) msg = `log limit of ${limit} bytes reached; further lines from this instance are dropped`;
    this.#runtime.log({ module: this.module.name, level: levelName(level), msg, call: this.#current?.id, process: this.#process, stream });
  }

  #asString(ptr: number): string {
    try {
      const len = new DataView(this.#exports.memory.buffer).getUint32(ptr - 4, true);
      return new TextDecoder("utf-16le").decode(this.#memory.peek(ptr, len));
    } catch {
      return "?";
    }
  }

  // ---- delivery ------------------------------------------------------------

  /** Copies bytes into a buffer the guest allocates; the buffer is the guest's from then on. */
  #give(bytes: Uint8Array): number {
    if (!bytes.length) return 0;
    const malloc = this.#exports.wasm_bus_malloc;
    if (!malloc) throw BusError.of("IncorrectAbi", `module ${this.module.name} does not export wasm_bus_malloc`);
    const ptr = malloc(bytes.length) >>> 0;
    if (ptr === 0 || ptr + bytes.length > this.#memory.size) {
      throw BusError.of("MemoryAllocationFailed", `wasm_bus_malloc(${bytes.length}) returned ${ptr === 0 ? "null" : `${ptr}, outside memory`}`);
    }
    this.#memory.write(ptr, bytes);
    return ptr;
  }

  #deliverData(handle: number, payload: Payload) {
    this.#deliver(() => {
      const ptr = this.#give(payload.data);
      this.#exports.wasm_bus_finish?.(handle, payload.format, ptr, payload.data.length);
    });
  }

  #deliver(fn: () => unknown) {
    if (this.#broken) return;
    this.#queue.push(fn);
    if (this.#pollWaiter) {
      const wake = this.#pollWaiter;
      this.#pollWaiter = undefined;
      wake();
    } else if (!this.#drainScheduled && !this.#suspended && !this.#draining) {
      this.#drainScheduled = true;
      queueMicrotask(() => {
        this.#drainScheduled = false;
        this.#drainNow();
        this.#settle();
      });
    }
  }

  /** Delivers what is queued; what the guest's own calls queue meanwhile (a service that answers at once) is delivered in the same loop. */
  #drainNow() {
    const outer = this.#draining;
    this.#draining = true;
    while (this.#queue.length && !this.#broken) {
      const fn = this.#queue.shift()!;
      this.#enter(fn);
    }
    this.#draining = outer;
  }

  /** Runs guest code with fresh fuel; a trap breaks this instance and only it. */
  #enter(fn: () => unknown): void {
    this.#refuel();
    try {
      const result = fn();
      if (result instanceof Promise) void this.#enterAsync(() => result);
      this.#checkMemory();
    } catch (err) {
      this.#fail(err);
    }
  }

  async #enterAsync(fn: () => unknown): Promise<void> {
    this.#refuel();
    this.#suspended++;
    try {
      await fn();
      this.#checkMemory();
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#suspended--;
    }
    if (this.#queue.length) this.#drainNow();
    this.#settle();
  }

  #refuel() {
    if (this.#fuel) this.#fuel.value = this.#fuelBudget;
  }

  /** Memory cannot be capped as it grows, so it is checked whenever data leaves the guest and after every entry. */
  #checkMemory() {
    const pages = this.#mem!.size / 65536;
    const limit = this.module.manifest.limits.memoryPages;
    if (pages > limit) {
      throw new Halt(BusError.of("LimitExceeded", `module ${this.module.name} grew its memory to ${pages} pages, over its limit of ${limit}`, 500));
    }
  }

  #fail(err: unknown) {
    if (err instanceof ProcessExit) {
      this.#exit?.resolve(err.code);
      this.#break(BusError.of("Aborted", `module ${this.module.name} exited with code ${err.code}`), false);
      return;
    }
    if (err instanceof FuelExhausted) {
      this.#break(BusError.of("Timeout", `module ${this.module.name} ran out of fuel (${this.module.manifest.limits.fuel} loop iterations): an endless loop?`));
      return;
    }
    this.#break(err instanceof Halt ? err.error : err instanceof BusError ? err : trapError(this.module.name, "a call", err, this.#lastWords));
  }

  /** Throws the instance away: every call it serves fails, every call it made is dropped. */
  #break(err: BusError, log = true) {
    if (this.#broken) return;
    this.#broken = err;
    this.#flush?.();
    this.#queue.length = 0;
    if (log) this.#log(LogLevel.Error, err.message);
    this.#exit?.reject(err);
    for (const entry of this.#handles.clear()) {
      if (entry.kind === "in") entry.call.fault(err);
      else if (entry.kind === "out") entry.call.drop(`caller module ${this.module.name} failed`);
    }
    this.#settle();
  }

  /** After the guest returns: fail calls nothing can answer any more, and free an idle instance. */
  #settle() {
    if (this.#queue.length || this.#suspended) return;
    if (this.#ephemeral && !this.#broken && this.#handles.outbound === 0) {
      for (const [handle, entry] of this.#handles.inbound()) {
        if (entry.call.answered) continue;
        this.#handles.remove(handle);
        entry.call.fault(BusError.of("BusInvocationFailed", `module ${this.module.name} returned without answering topic ${entry.call.topic} and has no calls in flight`));
      }
    }
    if (this.#handles.live === 0 && !this.#broken && !this.#forked && this.#exit) {
      this.#flush?.();
      this.#exit.resolve(0);
    }
    if (this.#handles.live === 0 && !this.#broken) this.#onIdle?.(this);
  }
}

type ImportKey = keyof typeof import("./abi.js").IMPORTS;

function trapError(module: string, during: string, err: unknown, lastWords?: string): BusError {
  if (err instanceof Halt) return err.error;
  if (err instanceof BusError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const why = lastWords ? `: ${lastWords}` : "";
  return new BusError(Code.GuestTrapped, `module ${module} trapped during ${during}: ${message}${why}`, undefined, lastWords);
}
