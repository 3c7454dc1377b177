import { BusError, GuestExit } from "../errors.js";

// Blocking guests without JSPI. The build runs binaryen's asyncify on every module that may block
// (scripts/wasm-asyncify.mjs): when one of its suspending imports answers with a promise, the
// guest unwinds its stack into a buffer in its own linear memory and returns to the host; once
// the promise settles the host calls the same export again, and the guest rewinds to where it
// was, the import now answering with the promise's value. The suspended stack is plain memory, so
// a snapshot holds it (docs/abi.md, "Blocking guests").

/** The exports asyncify adds to a module. */
export const ASYNCIFY_EXPORTS = ["asyncify_start_unwind", "asyncify_stop_unwind", "asyncify_start_rewind", "asyncify_stop_rewind", "asyncify_get_state"] as const;

interface AsyncifyExports {
  asyncify_start_unwind(data: number): void;
  asyncify_stop_unwind(): void;
  asyncify_start_rewind(data: number): void;
  asyncify_stop_rewind(): void;
  asyncify_get_state(): number;
}

/** `asyncify_get_state()`: running normally, unwinding into the buffer, rewinding out of it. */
export const AsyncifyState = { Normal: 0, Unwinding: 1, Rewinding: 2 } as const;

/** The buffer's header: where the saved stack ends now, and where it may end (two u32). */
const HEADER_BYTES = 8;
/** The buffer wasm_bus_malloc is asked for: its header and room for the saved stack. */
export const BUFFER_BYTES = 16 * 1024;
/** The buffer of a module without wasm_bus_malloc: one page the host grows. */
const PAGE_BYTES = 65536;

/** An entry suspended in an import: the export the host called, with its arguments. */
export interface Suspended {
  export: string;
  args: number[];
  /** The asyncify buffer in the guest's memory, which holds the saved stack. */
  data: number;
}

/**
 * What the imports that wait need of their instance. `suspending` and `promising` are the two
 * operations of JS Promise Integration, which this replaces; `canSuspend` says whether an import
 * called now may answer with a promise, as the entry on the stack is one the host runs as a
 * promise and nothing else of the instance is suspended (asyncify's buffer holds one stack).
 */
export interface Suspender {
  suspending<A extends unknown[], R>(fn: (...args: A) => R | Promise<R>): (...args: A) => R;
  promising<A extends number[], R>(fn: (...args: A) => R, name: string): (...args: A) => Promise<R>;
  readonly canSuspend: boolean;
}

type Fn = (...args: never[]) => unknown;

/**
 * The asyncify driver of one instance. Its imports are made before the instance exists
 * (`suspending`); `bind` gives it the instance's exports and returns the ones the host is to call:
 * the same, each function wrapped so the driver knows when an export runs that is not a
 * promising entry (an import reached from there cannot suspend: the host would not wait for it).
 */
export class Asyncify implements Suspender {
  #x?: AsyncifyExports;
  #memory?: WebAssembly.Memory;
  #malloc?: (len: number) => number;
  /** Exports by name, and the unwrapped function behind each wrapped one. */
  readonly #exports = new Map<string, Fn>();
  readonly #raw = new Map<Fn, Fn>();
  #data?: number;
  /** Promising entries begun and not over: running, or unwound and waiting. */
  #live = 0;
  /** Which kind of entry into this instance is innermost on the stack now. */
  #inner?: "promising" | "direct";
  #unwinding = false;
  #rewinding = false;
  /** What the suspending import answered with, until the guest has unwound. */
  #pending?: Promise<unknown>;
  /** What the import answers as the guest rewinds into it: the promise's value, or its error. */
  #outcome?: { value: unknown } | { error: unknown };
  #suspended?: Suspended;
  /** The instance is over: a wait that ends resumes nothing. */
  #stopped = false;

  constructor(
    readonly module: string,
    /** Called before the guest resumes: other guests ran meanwhile (the fuel meter is shared). */
    readonly resumed: () => void,
    /** Called once the guest has unwound and waits: its whole state is in its memory now. */
    readonly waiting: () => void = () => {},
  ) {}

  /** Whether a module's exports are asyncify's (the build made it so). */
  static applies(exports: readonly string[]): boolean {
    return ASYNCIFY_EXPORTS.every((name) => exports.includes(name));
  }

  /** Takes the instance's exports; returns them as the host is to call them. */
  bind<T extends object>(exports: T): T {
    const all = exports as Record<string, unknown>;
    this.#x = all as unknown as AsyncifyExports;
    this.#memory = all.memory as WebAssembly.Memory;
    this.#malloc = all.wasm_bus_malloc as ((len: number) => number) | undefined;
    const bound: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(all)) {
      if (typeof value !== "function" || name.startsWith("asyncify_")) {
        bound[name] = value;
        continue;
      }
      const fn = value as Fn;
      const direct = (...args: never[]) => this.#within("direct", fn, args);
      this.#exports.set(name, fn);
      this.#raw.set(direct, fn);
      bound[name] = direct;
    }
    return bound as T;
  }

  /** The instance broke or was killed: an entry suspended now never resumes. */
  stop() {
    this.#stopped = true;
  }

  get canSuspend(): boolean {
    return this.#inner === "promising" && this.#live === 1 && this.#x !== undefined;
  }

  /** The entry suspended now (unwound, waiting for its import's promise), if one is. */
  suspended(): Suspended | undefined {
    return this.#suspended && { ...this.#suspended, args: [...this.#suspended.args] };
  }

  /**
   * The asyncify buffer's address in the guest's memory, once the guest has suspended. A snapshot
   * keeps it even when no entry is suspended, and a restore gives it back: later suspensions of the
   * restored instance then use the buffer its memory already holds instead of taking another.
   */
  get data(): number | undefined {
    return this.#data;
  }
  set data(ptr: number | undefined) {
    this.#data = ptr;
  }

  /** An export as the host calls it: an async function that runs it to its end, through each suspension. */
  promising<A extends number[], R>(fn: (...args: A) => R, name: string): (...args: A) => Promise<R> {
    const raw = (this.#raw.get(fn as Fn) ?? fn) as (...args: A) => R;
    return (...args: A) => this.#run(name, raw, args, false);
  }

  /**
   * An import that may wait: where it answers with a promise, the guest unwinds (the import
   * returns 0, which the guest never sees) and rewinds once the promise settled, the import
   * answering with its value (or throwing its error into the guest, which ends the entry).
   */
  suspending<A extends unknown[], R>(fn: (...args: A) => R | Promise<R>): (...args: A) => R {
    return (...args: A): R => {
      if (this.#rewinding) {
        this.#rewinding = false;
        this.#x!.asyncify_stop_rewind();
        const outcome = this.#outcome;
        this.#outcome = undefined;
        // A restored instance: the promise went with the instance the snapshot was taken of, so
        // the import runs again with the arguments the guest called it with (they are its own).
        if (!outcome) return this.#answer(fn, args);
        if ("error" in outcome) throw outcome.error;
        return outcome.value as R;
      }
      return this.#answer(fn, args);
    };
  }

  /**
   * Goes on with an entry of an instance restored from a snapshot taken while it was suspended
   * (`suspended()`): its memory and globals are the snapshot's, so the buffer at `data` holds the
   * stack. The guest rewinds into the import it waited in, which runs again (see `suspending`).
   */
  rewind(name: string, args: number[], data = this.#data): Promise<unknown> {
    const fn = this.#exports.get(name);
    if (!fn) return Promise.reject(BusError.of("IncorrectAbi", `module ${this.module} has no export ${name} to rewind into`));
    if (data === undefined) return Promise.reject(BusError.of("InternalFailure", `module ${this.module}: no asyncify buffer to rewind from`));
    if (this.#live) return Promise.reject(BusError.of("InternalFailure", `module ${this.module}: an entry is running; only a fresh instance rewinds`));
    this.#data = data;
    this.#outcome = undefined;
    return this.#run(name, fn as (...args: number[]) => unknown, args, true);
  }

  async #run<A extends number[], R>(name: string, fn: (...args: A) => R, args: A, rewind: boolean): Promise<R> {
    const x = this.#x!;
    this.#live++;
    try {
      for (;;) {
        if (rewind) {
          this.resumed();
          this.#rewinding = true;
          x.asyncify_start_rewind(this.#data!);
        }
        let result: R;
        try {
          result = this.#within("promising", fn, args);
        } catch (err) {
          if (this.#unwinding && err instanceof WebAssembly.RuntimeError && this.#overflowed(err)) throw this.#overflow(name);
          throw err;
        }
        if (!this.#unwinding) {
          if (this.#rewinding) throw BusError.of("InternalFailure", `module ${this.module}: ${name} returned without rewinding into the import it waited in`);
          return result;
        }
        this.#unwinding = false;
        // Asyncify checks the buffer's end only here (its stop_unwind traps `unreachable`), after
        // the frames that did not fit were written past it.
        if (this.#pastEnd()) throw this.#overflow(name);
        x.asyncify_stop_unwind();
        const pending = this.#pending!;
        this.#pending = undefined;
        this.#suspended = { export: name, args: [...args], data: this.#data! };
        this.waiting();
        try {
          this.#outcome = { value: await pending };
        } catch (error) {
          this.#outcome = { error };
        } finally {
          this.#suspended = undefined;
        }
        if (this.#stopped) throw BusError.of("Aborted", `module ${this.module}: the instance ended while ${name} waited`);
        rewind = true;
      }
    } finally {
      this.#live--;
      // A trap half-way leaves asyncify's state as it was; the instance is broken then anyway.
      this.#unwinding = this.#rewinding = false;
    }
  }

  /** Whether the frames saved so far run past the buffer's end (the header's two u32). */
  #pastEnd(): boolean {
    const view = new DataView(this.#memory!.buffer);
    return view.getUint32(this.#data!, true) > view.getUint32(this.#data! + 4, true);
  }

  /**
   * Whether a trap while the guest unwound is its stack overflowing the buffer: the frames run
   * past its end, or a store ran off memory where the buffer ends at memory's end (the trapping
   * frame was not counted yet). Any other is the guest's own, kept in its words: code asyncify
   * left alone (`asyncify-ignore-indirect`, a remove list) goes on running while it unwinds.
   */
  #overflowed(trap: WebAssembly.RuntimeError): boolean {
    if (this.#pastEnd()) return true;
    const end = new DataView(this.#memory!.buffer).getUint32(this.#data! + 4, true);
    return end === this.#memory!.buffer.byteLength && /out of bounds/.test(trap.message);
  }

  /**
   * The guest's stack did not fit the asyncify buffer where it waited: it trapped, or would trap,
   * having overwritten memory past the buffer. The instance is over (nothing of its memory is kept).
   */
  #overflow(name: string): BusError {
    const room = (this.#malloc ? BUFFER_BYTES : PAGE_BYTES) - HEADER_BYTES;
    return BusError.of("GuestTrapped", `module ${this.module} trapped during ${name}: its stack where it waited is more than the ${room} bytes of its asyncify buffer (too deep a recursion or too many locals under a wait)`);
  }

  /** Runs `fn` as an entry of the kind given (what an import inside it may do), then goes back to the outer one. */
  #within<A extends unknown[], R>(kind: "promising" | "direct", fn: (...args: A) => R, args: A): R {
    const outer = this.#inner;
    this.#inner = kind;
    try {
      return fn(...args);
    } finally {
      this.#inner = outer;
    }
  }

  /** Runs the import; a promise it answers with unwinds the guest. */
  #answer<A extends unknown[], R>(fn: (...args: A) => R | Promise<R>, args: A): R {
    const result = fn(...args);
    if (!(result instanceof Promise)) return result;
    if (!this.canSuspend) {
      // The imports ask canSuspend before they wait; one that did not is the host's bug.
      void result.catch(() => undefined);
      throw GuestExit.halt(BusError.of("InternalFailure", `module ${this.module}: an import waited where the guest cannot suspend`));
    }
    const data = (this.#data ??= this.#buffer());
    const end = data + (this.#malloc ? BUFFER_BYTES : PAGE_BYTES);
    const view = new DataView(this.#memory!.buffer);
    view.setUint32(data, data + HEADER_BYTES, true);
    view.setUint32(data + 4, end, true);
    this.#pending = result;
    this.#unwinding = true;
    this.#x!.asyncify_start_unwind(data);
    return 0 as R;
  }

  /**
   * The asyncify buffer, made at the first suspension and kept: from the guest's allocator where
   * it has one (wasm_bus_malloc, whose memory the allocator then knows is taken), else one page
   * grown past everything the guest has (a WASI program's allocator claims only memory it grew
   * itself). Either way it is memory within the module's limit.
   */
  #buffer(): number {
    if (this.#malloc) {
      const ptr = this.#malloc(BUFFER_BYTES) >>> 0;
      if (ptr === 0 || ptr + BUFFER_BYTES > this.#memory!.buffer.byteLength) {
        throw GuestExit.halt(BusError.of("MemoryAllocationFailed", `module ${this.module}: wasm_bus_malloc(${BUFFER_BYTES}) for the stack of a wait returned ${ptr === 0 ? "null" : `${ptr}, outside memory`}`));
      }
      return ptr;
    }
    let page: number;
    try {
      page = this.#memory!.grow(1);
    } catch {
      throw GuestExit.halt(BusError.of("MemoryAllocationFailed", `module ${this.module}: no page left within its memory limit for the stack of a wait`));
    }
    return page * PAGE_BYTES;
  }
}
