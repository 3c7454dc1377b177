import { LogLevel, NO_HANDLE } from "../abi.js";
import type { BusCall } from "../call.js";
import { BusError, GuestExit } from "../errors.js";
import type { Host } from "../host.js";
import type { LoadedModule } from "../registry.js";
import { PAGE_BYTES, PageTracker } from "../snapshot/pages.js";
import type { Wasi, WasiOptions } from "../wasi.js";
import type { Asyncify, Suspended } from "./asyncify.js";
import { badMalloc, type CommandOptions, InstanceContext } from "./context.js";
import { Delivery } from "./delivery.js";
import { instantiate } from "./instantiate.js";
import { type Adopt, type InstanceState, restoreHandles, restoreMemory, saveInstance } from "./snapshot.js";
import { trapError } from "./trap-error.js";

export interface GuestOptions extends WasiOptions {
  /**
   * Serves plain calls and goes away: a call left unanswered while the guest waits on nothing is
   * failed instead of hanging until the timeout. Processes and sessions are not ephemeral.
   */
  ephemeral?: boolean;
  /** Runs as a process: `fork` keeps it serving after `_start` returns; its lines carry its id. */
  command?: CommandOptions;
  /**
   * Called when the guest has no calls left either way and can serve another (a pool); not where
   * `accept` answers true, which says the same to its caller at once.
   */
  onIdle?: (guest: Guest) => void;
  /** Called once when the instance breaks (a trap, fuel, a kill): it will serve nothing more. */
  onBreak?: (guest: Guest) => void;
  /** The instance is kept in snapshots (a process's, a session's): see Durable. */
  durable?: Durable;
}

/** What an instance kept in snapshots tells its keeper. */
export interface Durable {
  /**
   * The instance is quiescent: no guest code on the stack, nothing queued for it, only waits
   * left (timers, calls in flight). Its state can be saved now (Guest.snapshot).
   */
  quiet(guest: Guest): void;
  /**
   * The instance broke. True: its keeper restores it from its last snapshot, so the inbound calls
   * with a key are not failed (the restored instance adopts those it held then).
   */
  broke?(guest: Guest, err: BusError): boolean;
}

/** A snapshot as its store gives it back: the state, and the pages that differ from the module's own data. */
export interface Saved {
  state: InstanceState;
  pages: Iterable<[page: number, data: Uint8Array]>;
}

/**
 * One live instance of a module: it is entered (an export called), runs, and settles (what it
 * can no longer answer is failed, an idle instance is handed back). Its imports live in
 * ./bus-imports.ts (with ./outbound.ts and ./call-now.ts), ./env-imports.ts and ../wasi.ts; the order
 * of deliveries in ./delivery.ts; how a trap is reported in ./trap-error.ts.
 */
export class Guest {
  readonly module: LoadedModule;
  readonly #cx: InstanceContext;
  readonly #delivery: Delivery;
  readonly #ephemeral: boolean;
  readonly #onIdle?: (guest: Guest) => void;
  readonly #onBreak?: (guest: Guest) => void;
  #broken?: BusError;
  #exit?: { resolve(code: number): void; reject(err: BusError): void };
  readonly #wasi?: Wasi;
  readonly #durable?: Durable;
  /** Which pages changed since the last snapshot: only for durable instances. */
  #pages?: PageTracker;
  /** The entry a restored instance rewinds into when it goes on. */
  #waiting?: Suspended;
  /** How many entries into this instance are on the stack: a call may go in right away only at 0. */
  #depth = 0;
  /** A blocking module's entries run through asyncify (./asyncify.ts): they may suspend in an import. */
  readonly #asyncify?: Asyncify;

  private constructor(module: LoadedModule, host: Host, options: GuestOptions) {
    this.module = module;
    this.#ephemeral = options.ephemeral ?? true;
    this.#onIdle = options.onIdle;
    this.#onBreak = options.onBreak;
    this.#durable = options.durable;
    const cx = (this.#cx = new InstanceContext(module, host, options.command));
    this.#delivery = new Delivery({ enter: (fn) => this.#enter(fn), settle: () => this.#settle() });
    const made = instantiate(cx, this.#delivery, options, () => this.#rested());
    this.#wasi = made.wasi;
    this.#asyncify = made.asyncify;
  }

  /** Instantiates and initialises a module; a trap during start-up is the module's fault: GuestTrapped. */
  static create(module: LoadedModule, host: Host, options: GuestOptions = {}): Guest {
    const guest = Guest.#instantiate(module, host, options);
    // The pages a first snapshot writes are those that differ from what the data segments leave.
    if (options.durable) guest.#pages = new PageTracker(guest.#cx.memory.raw.buffer);
    const init = guest.#cx.exports._initialize;
    if (init) guest.#enter(() => init());
    if (guest.#broken) throw guest.#broken;
    return guest;
  }

  /**
   * An instance as a snapshot saved it: a fresh instance of the same binary (its initialiser
   * does not run again) with the snapshot's memory, globals and handles. Inbound calls with a key
   * are found again through `adopt`; how every other call ends is ./snapshot.ts's. Throws where
   * the snapshot cannot be restored (the module changed since).
   */
  static restore(module: LoadedModule, host: Host, options: GuestOptions, saved: Saved, adopt: Adopt): Guest {
    const guest = Guest.#instantiate(module, host, options);
    const cx = guest.#cx;
    restoreMemory(cx, saved.state, saved.pages);
    if (saved.state.wasi) guest.#wasi?.load(saved.state.wasi);
    restoreHandles(cx, guest.#delivery, saved.state, adopt, (call, handle) => {
      call.server = guest;
      guest.#hearEnd(call, handle);
    });
    guest.#pages = new PageTracker(cx.memory.raw.buffer);
    if (guest.#asyncify) guest.#asyncify.data = saved.state.asyncifyData;
    guest.#waiting = saved.state.suspended;
    // A command goes on when its keeper says (resume); any other instance at once.
    if (!module.command) guest.#goOn();
    return guest;
  }

  /** The instance, its imports wired and nothing of it run but its Wasm start section; what that throws is the module's (trapError). */
  static #instantiate(module: LoadedModule, host: Host, options: GuestOptions): Guest {
    try {
      return new Guest(module, host, options);
    } catch (err) {
      throw trapError(module.name, "start-up", err);
    }
  }

  /** A restored instance goes on: the entry that waited rewinds into its wait, or it settles. */
  #goOn() {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting) void this.rewind(waiting);
    else queueMicrotask(() => this.#settle());
  }

  /**
   * Nothing of the guest runs or waits to run: a snapshot now sees the whole of it. An entry that
   * waits unwound (asyncify) is at rest too: its stack is in its memory.
   */
  get quiet(): boolean {
    const d = this.#delivery;
    const unwound = this.#asyncify?.suspended() ? 1 : 0;
    return this.#depth === 0 && !this.#broken && d.pending === 0 && d.suspended === unwound && !d.draining;
  }

  /**
   * The instance's state, and the pages changed since the last snapshot (views of its memory,
   * valid until the guest runs again). Only while it is quiet, and only for a durable instance.
   */
  snapshot(): { state: InstanceState; pages: [page: number, data: Uint8Array][] } {
    if (!this.#pages || !this.quiet) throw BusError.of("Unsupported", `module ${this.module.name}: a snapshot needs a durable instance at rest`);
    const buffer = this.#cx.memory.raw.buffer;
    const state = saveInstance(this.#cx);
    if (this.#wasi) state.wasi = this.#wasi.save();
    state.suspended = this.#asyncify?.suspended();
    state.asyncifyData = this.#asyncify?.data;
    const pages = this.#pages.changed(buffer).map((p): [number, Uint8Array] => [p, new Uint8Array(buffer, p * PAGE_BYTES, PAGE_BYTES)]);
    return { state, pages };
  }

  /**
   * Its keeper lost the pages it saved (a save failed, and the store was cleared so that no older
   * snapshot stands in): the next snapshot writes every page, not only those changed since this one.
   */
  snapshotLost() {
    this.#pages?.forget();
  }

  get broken(): boolean {
    return this.#broken !== undefined;
  }

  /**
   * Runs a command-style module's `_start`. Resolves to its exit code: the one it gives
   * `proc_exit`, or 0 once `_start` has returned and nothing is left in flight (a guest that
   * returns to the host between events keeps running until then). Rejects when the guest traps
   * or is killed.
   */
  run(): Promise<number> {
    const start = this.#cx.exports._start;
    if (!start) return Promise.reject(BusError.of("IncorrectAbi", `module ${this.module.name} has no _start: it is not a command`));
    const done = new Promise<number>((resolve, reject) => (this.#exit = { resolve, reject }));
    void this.#enterAsync(() => this.#entry(start, "_start")(), "_start");
    return done;
  }

  /**
   * `run` for a command restored from a snapshot: its `_start` ran before. Resolves and rejects
   * as `run` does, once what it waits for is done.
   */
  resume(): Promise<number> {
    const done = new Promise<number>((resolve, reject) => (this.#exit = { resolve, reject }));
    this.#goOn();
    return done;
  }

  /** Ends the instance from outside (a process killed): its calls fail. */
  kill(reason: string) {
    this.#break(BusError.of("Aborted", reason), false);
  }

  /**
   * Delivers an inbound call to the guest through `wasm_bus_start`: now, where its caller waits
   * inside `call_now` and the instance is at rest, else once the caller's import has returned.
   * True where it took the call now and is at rest again with nothing live (it answered inside
   * its start), as onIdle would say: onIdle is not called then, the caller (a pool) knows.
   */
  accept(call: BusCall): boolean {
    // Now: the caller waits inside call_now, and the instance is `quiet` and cannot suspend
    // (`quiet`'s conditions for an instance without asyncify, written out as everything on
    // #acceptNow's path: a change to `quiet` changes this too).
    const d = this.#delivery;
    if (call.waiting && !this.#asyncify && this.#depth === 0 && !this.#broken && d.pending === 0 && d.suspended === 0 && !d.draining) return this.#acceptNow(call);
    this.#acceptLater(call);
    return false;
  }

  /**
   * A call taken now, inside its caller's import, on one flat path: `#enter`, and the checks of
   * `renew`, `checkMemory` and `#settle` for the common case, written out here (`#start` is
   * called: one place for it, as its twin here once lost a check). This is the hottest path of a
   * module-to-module call, and V8's concurrent compiler takes it tighter so: the module call went
   * from 2.10x to about 2.0x the echo (medians of six processes; each step alone moved it less
   * than runs differ: docs/performance.md, "Fourth pass"). What it would refuse goes the general
   * way (#acceptLater), which says why.
   */
  #acceptNow(call: BusCall): boolean {
    const cx = this.#cx;
    const topic = cx.listening.get(call.topic);
    const start = cx.exports.wasm_bus_start;
    if (!topic || !start) return (this.#acceptLater(call), false);
    const handles = cx.handles;
    const handle = handles.add({ kind: "in", call });
    if (!handle) return (this.#acceptLater(call), false);
    const parent = call.parent ? handles.inboundOf(call.parent) : NO_HANDLE;
    call.server = this;
    // #enter without a closure (an entry that cannot suspend returns no promise). The caller's
    // fuel comes back when its import returns (dispatch in ./outbound.ts).
    cx.renew();
    this.#depth++;
    try {
      this.#start(call, start, topic, parent, handle);
      // Answered inside wasm_bus_start (the common case), its handle gone: no end to hear.
      if (!call.ended || handles.get(handle) !== undefined) this.#hearEnd(call, handle);
      if (!this.module.capped) cx.checkMemory();
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#depth--;
    }
    // #settle, where nothing is live and no one is to be told (a call answered inside its entry):
    // idle again, which the caller learns from the answer instead of onIdle.
    const d = this.#delivery;
    if (d.pending || d.suspended) return false;
    if (handles.live === 0 && !this.#durable && !this.#exit && !this.#broken) {
      cx.forgetEnded();
      return true;
    }
    this.#settle();
    return false;
  }

  /** The general way: what is refused, with why; anything else delivered once the caller's import has returned. */
  #acceptLater(call: BusCall) {
    if (this.#broken) return void call.fault(this.#broken);
    // A call refused here never reached the guest: the instance is as free as before (a pool gets it back).
    const topic = this.#cx.listening.get(call.topic);
    if (!topic) return this.#refuse(call, BusError.of("InvalidTopic", `module ${this.module.name} does not listen on topic ${call.topic}`));
    const start = this.#cx.exports.wasm_bus_start;
    if (!start) return this.#refuse(call, BusError.of("IncorrectAbi", `module ${this.module.name} does not export wasm_bus_start`));
    const handles = this.#cx.handles;
    const parent = call.parent ? handles.inboundOf(call.parent) : NO_HANDLE;
    const handle = handles.add({ kind: "in", call });
    if (!handle) return this.#refuse(call, BusError.of("LimitExceeded", `module ${this.module.name} holds ${handles.limit} handles already`));
    call.server = this;
    this.#queue(call, this.#entry(start, "wasm_bus_start"), topic, parent, handle);
  }

  /** Delivers the call once its caller's import has returned (a method of its own: accept makes no closure when it enters at once). */
  #queue(call: BusCall, entry: (...args: number[]) => unknown, topic: Uint8Array, parent: number, handle: number) {
    call.own();
    // The guest hears of the call's end once it has the call, and not before: an end before its
    // start (in the queue, or inside wasm_bus_malloc) means no start at all, and one during it
    // (the guest ended its parent, say) is heard as soon as it returns.
    this.#delivery.push(() => {
      const result = this.#start(call, entry, topic, parent, handle);
      this.#hearEnd(call, handle);
      return result;
    });
  }

  /**
   * wasm_bus_start: the topic and the request in one buffer of the guest's. Not for a call that
   * has ended (dropped or timed out while it waited, its parent ended): its handle just goes.
   */
  #start(call: BusCall, entry: (...args: number[]) => unknown, topic: Uint8Array, parent: number, handle: number): unknown {
    if (call.ended) return void this.#cx.handles.remove(handle);
    const { format, data } = call.request;
    const ptr = this.#cx.give(topic, data);
    // wasm_bus_malloc is guest code too: it may have ended the call (by faulting its parent).
    if (call.ended) return void this.#cx.handles.remove(handle);
    if (ptr === null) {
      // No room for this request: this call fails, and the instance serves on.
      this.#cx.handles.remove(handle);
      return void call.fault(badMalloc(topic.length + data.length, 0));
    }
    this.#cx.current = call;
    return entry(parent, handle, format, ptr, topic.length, ptr + topic.length, data.length);
  }

  /** When the caller drops the call (or it times out), the guest hears it: wasm_bus_drop. */
  #hearEnd(call: BusCall, handle: number) {
    // Ended already (answered inside wasm_bus_start, the common case): no listener to make.
    if (call.ended) return this.#heardEnd(handle);
    // It lives on, and the guest has its bytes: a call it holds (a kept-alive join) keeps no copy
    // of them in the host. Not before: the common case needs no forgetting.
    call.forgetRequest();
    const heard = () => this.#heardEnd(handle);
    call.onEnd(heard);
    // Kept with the handle, so a break that hands the call over can take it back (#break).
    const entry = this.#cx.handles.get(handle);
    if (entry?.kind === "in" && entry.call === call) entry.heard = heard;
  }

  #heardEnd(handle: number) {
    const handles = this.#cx.handles;
    if (handles.get(handle)?.kind !== "in") return;
    handles.remove(handle);
    const drop = this.#cx.exports.wasm_bus_drop;
    if (drop) this.#delivery.push(() => drop(handle));
    else this.#settle();
  }

  #refuse(call: BusCall, err: BusError) {
    call.fault(err);
    this.#settle();
  }

  /** An export as the host calls it: through asyncify's `promising`, by its name, where the guest may block. */
  #entry<A extends number[]>(fn: (...args: A) => unknown, name: string): (...args: A) => unknown {
    return this.#asyncify ? this.#asyncify.promising(fn, name) : fn;
  }

  /**
   * A blocking instance's asyncify driver: which entry is suspended, and where its stack is
   * (`suspended()`), for a snapshot.
   */
  get asyncify(): Asyncify | undefined {
    return this.#asyncify;
  }

  /**
   * Goes on with the entry that was suspended (`asyncify.suspended()`) when the snapshot this
   * instance's memory and globals were restored from was taken: it rewinds into the import it
   * waited in, which runs again, and then runs as any entry does. Resolves once the entry is over
   * (its outcome reaches `run()`'s promise or the calls it served, as for any entry).
   */
  rewind(suspended: Suspended): Promise<void> {
    const driver = this.#asyncify;
    if (!driver) return Promise.reject(BusError.of("Unsupported", `module ${this.module.name} is not asyncified: it has no suspended entry to rewind`));
    return this.#enterAsync(() => driver.rewind(suspended.export, suspended.args, suspended.data));
  }

  /** Runs guest code with fresh fuel; a trap breaks this instance and only it. */
  #enter(fn: () => unknown): void {
    this.#cx.renew();
    this.#depth++;
    try {
      const result = fn();
      if (result instanceof Promise) void this.#enterAsync(() => result);
      this.#cx.checkMemory();
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#depth--;
    }
  }

  /** `during`: what the guest was running, for a trap's reason (a process's `_start` is no call). */
  async #enterAsync(fn: () => unknown, during?: string): Promise<void> {
    this.#cx.renew();
    this.#delivery.suspended++;
    try {
      await fn();
      this.#cx.checkMemory();
    } catch (err) {
      this.#fail(err, during);
    } finally {
      this.#delivery.suspended--;
    }
    if (this.#delivery.pending) this.#delivery.drainNow();
    this.#settle();
  }

  #fail(err: unknown, during = "a call") {
    if (err instanceof GuestExit && err.kind === "exit") {
      this.#exit?.resolve(err.code);
      this.#break(BusError.of("Aborted", `module ${this.module.name} exited with code ${err.code}`), false);
    } else if (err instanceof GuestExit && err.kind === "fuel") {
      this.#break(BusError.of("Timeout", `module ${this.module.name} ran out of fuel (${this.module.manifest.limits.fuel} loop iterations and repeating calls): an endless loop?`));
    } else {
      this.#break(trapError(this.module.name, during, err, this.#cx.lastWords));
    }
  }

  /** Throws the instance away: every call it serves fails, every call it made is dropped. */
  #break(err: BusError, log = true) {
    if (this.#broken) return;
    this.#broken = err;
    this.#wasi?.flush();
    this.#wasi?.stop();
    this.#delivery.stop();
    this.#asyncify?.stop(); // a wait that ends now resumes nothing
    if (log) this.#cx.log(LogLevel.Error, err.message);
    this.#exit?.reject(err);
    const handedOver = this.#durable?.broke?.(this, err) === true;
    for (const entry of this.#cx.handles.clear()) {
      if (entry.kind === "in") {
        if (!(handedOver && entry.call.key !== undefined)) entry.call.fault(err);
        // The call lives on in the instance restored in this one's place: its end is that one's to
        // hear. Left listening, this instance (its memory with it) would live as long as the call:
        // a session's kept-alive join gathered one broken instance per trap.
        else if (entry.heard) entry.call.offEnd(entry.heard);
      }
      else if (entry.kind === "out") entry.call.drop(`caller module ${this.module.name} failed`);
    }
    this.#onBreak?.(this);
    this.#settle();
  }

  /** Tells the keeper of a durable instance that it is at rest: it may save it now. */
  #rested() {
    if (this.#durable && this.quiet) this.#durable.quiet(this);
  }

  /** After the guest returns: fail calls nothing can answer any more, end a finished command, free an idle instance. */
  #settle() {
    if (this.#delivery.pending || this.#delivery.suspended) return;
    this.#cx.forgetEnded();
    this.#rested();
    const handles = this.#cx.handles;
    if (this.#ephemeral && !this.#broken && handles.outbound === 0 && handles.serving) {
      const drop = this.#cx.exports.wasm_bus_drop;
      for (const [handle, entry] of handles.inbound()) {
        if (entry.call.answered) continue;
        handles.remove(handle);
        entry.call.fault(BusError.of("BusInvocationFailed", `module ${this.module.name} returned without answering topic ${entry.call.topic} and has no calls in flight`));
        // The guest still holds the call (a request it keeps waiting, a task): it hears the end
        // as of a drop, or a pooled instance would keep what it holds for the call forever.
        if (drop) this.#delivery.push(() => drop(handle));
      }
      if (this.#delivery.pending) return; // settles again once the drops are delivered
    }
    if (handles.live !== 0 || this.#broken) return;
    if (this.#exit && !this.#cx.forked) {
      this.#wasi?.flush();
      this.#exit.resolve(0);
    }
    this.#onIdle?.(this);
  }
}
