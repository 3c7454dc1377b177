import type { BusCall } from "./call.js";
import { BusError } from "./errors.js";
import type { Host } from "./host.js";
import { Guest, type GuestOptions, type Saved } from "./instance/guest.js";
import type { Adopt } from "./instance/snapshot.js";
import type { LoadedModule } from "./registry.js";

/** Idle instances kept per module for "pooled" modules. */
const POOL_SIZE = 4;

/** A promise, and the function that settles it. */
interface Signal {
  promise: Promise<void>;
  fire(): void;
}

function signal(): Signal {
  let fire!: () => void;
  const promise = new Promise<void>((resolve) => (fire = resolve));
  return { promise, fire };
}

/** One instance for plain calls. */
interface Slot {
  guest: Guest;
  /** Between taking a call and coming free (or breaking). */
  serving: boolean;
  /**
   * Made, in the request of the call it took, when that call outlasts the turn it came in; no
   * waiting call waits on it yet. Dropped once the call has ended (its request may end with it).
   */
  spare?: Signal;
}

/**
 * One module's instances for plain calls: the idle ones, how many live, the calls waiting for one.
 *
 * A waiting call is woken in its own request, through a promise another request made: when a
 * request awaits a promise of another request, workerd delivers its settling to the awaiting
 * request, which goes on in its own context, whatever the compatibility flags. A promise the
 * waiting call made itself would not do when another request settles it: its continuations then
 * run in the settling request unless `handle_cross_request_promise_resolution` is on (the default
 * since 2024-10-14, but @cloudflare/vitest-plugin sets `no_handle_cross_request_promise_resolution`),
 * and the woken call's I/O and its reply would be that request's: its own response fails ("Cannot
 * perform I/O on behalf of a different request", I/O type RefcountedFulfiller) and never comes.
 * And with the flag on, a promise settled from another request after the request that made it
 * has ended is dropped with a warning, and wakes no one.
 *
 * So every waiting call waits on exactly one promise, made by a request that is still there when
 * it is settled. The first waits on the `vacancy`: a spare signal of a busy instance, made in the
 * request of the call it serves (there until that call ends), and settled by the next instance to
 * come free, or when that call ends (before its request can). Every other waiting call waits on
 * the one ahead of it (`left`, made in that call's request and settled there when it leaves the
 * queue). Each wakes in its own request, looks again and takes an instance there, so the I/O it
 * causes is its own.
 */
interface Pool {
  idle: Slot[];
  /** Busy instances with a spare signal, newest last. */
  spares: Slot[];
  /** What the first waiting call waits on. */
  vacancy?: Signal;
  live: number;
  waiting: Waiter[];
}

/** A call waiting for an instance. */
interface Waiter {
  call: BusCall;
  /** Settled, in the waiting call's request, when it leaves the queue: the one behind it looks again. */
  left: Signal;
}

/**
 * The one place instances are made, by policy. Plain calls get one as the module's manifest says
 * (pooled, fresh or shared), never more than `limits.maxInstances` at once: past it a call waits
 * for one to come free (up to `limits.maxWaiting` calls, then Busy), so a burst of calls reuses
 * instances instead of building one each. Processes and sessions make a long-lived instance and
 * pin it, so every call to its module in this runtime reaches it.
 */
export class Instances {
  readonly #host: Host;
  readonly #pools = new Map<string, Pool>();
  readonly #pinned = new Map<string, Guest>();
  /** Modules whose instance is starting: a start-up that calls its own module would recurse without end. */
  readonly #starting = new Set<string>();

  constructor(host: Host) {
    this.#host = host;
  }

  /** Gives a plain call to an instance of `module`, now or when one comes free. */
  serve(module: LoadedModule, call: BusCall): void {
    if (module.manifest.instances === "shared") {
      const guest = this.create(module);
      this.pin(guest);
      return guest.accept(call);
    }
    const pool = this.#pool(module.name);
    if (pool.waiting.length >= module.manifest.limits.maxWaiting && !pool.idle.length && pool.live >= module.manifest.limits.maxInstances) {
      const { maxInstances, maxWaiting } = module.manifest.limits;
      return void call.fault(BusError.of("Busy", `module ${module.name}: all ${maxInstances} instances are busy and ${maxWaiting} calls wait already`));
    }
    this.#take(module, pool, call);
  }

  /** An idle instance, a new one, or a place in the queue. */
  #take(module: LoadedModule, pool: Pool, call: BusCall) {
    const slot = this.#free(module, pool, call);
    if (slot) return this.#give(pool, slot, call);
    if (slot === null) return;
    call.own(); // it waits past its caller's import
    this.#wait(module, pool, call);
  }

  /** An idle instance, or a new one where the count allows: undefined if neither, null if a new one failed (the call is faulted). */
  #free(module: LoadedModule, pool: Pool, call: BusCall): Slot | null | undefined {
    const idle = pool.idle.pop();
    if (idle) return idle;
    if (pool.live >= module.manifest.limits.maxInstances) return undefined;
    try {
      return this.#grow(module, pool);
    } catch (err) {
      call.fault(BusError.from(err));
      return null;
    }
  }

  /** Gives `call` to an instance; one still serving it when this turn ends gets a spare signal (Pool). */
  #give(pool: Pool, slot: Slot, call: BusCall) {
    slot.serving = true;
    slot.guest.accept(call);
    if (!slot.serving || call.ended) return;
    const spare = signal(); // in the request of `call`
    slot.spare = spare;
    pool.spares.push(slot);
    // Once the call has ended its request may too: a signal of it is no longer settled from another
    // (one the first waiting call waits on is settled now, from here, and it looks again).
    call.onEnd(() =>
      queueMicrotask(() => {
        if (slot.spare === spare) this.#unspare(pool, slot);
        if (pool.vacancy === spare) this.#vacate(pool);
      }),
    );
  }

  /** The first waiting call looks again: an instance came free (or the call it waited on ended). */
  #vacate(pool: Pool) {
    const vacancy = pool.vacancy;
    pool.vacancy = undefined;
    vacancy?.fire();
  }

  #unspare(pool: Pool, slot: Slot) {
    slot.spare = undefined;
    const at = pool.spares.indexOf(slot);
    if (at >= 0) pool.spares.splice(at, 1);
  }

  /** Queues a call until it can have an instance (Pool). */
  #wait(module: LoadedModule, pool: Pool, call: BusCall) {
    const waiter: Waiter = { call, left: signal() };
    pool.waiting.push(waiter);
    call.onEnd(() => this.#leave(pool, waiter));
    this.#watch(module, pool, waiter);
  }

  /** Waits, in the waiting call's request, for what lets it look again: the vacancy (the first) or the call ahead leaving. */
  #watch(module: LoadedModule, pool: Pool, waiter: Waiter) {
    const at = pool.waiting.indexOf(waiter);
    if (at < 0) return;
    let next: Signal;
    if (at > 0) next = pool.waiting[at - 1]!.left;
    else {
      const slot = pool.spares.pop();
      if (!slot) {
        // Every instance is busy past a call that has ended (or its signal was given up): none can
        // say when it comes free.
        this.#leave(pool, waiter);
        const { maxInstances } = module.manifest.limits;
        return void waiter.call.fault(BusError.of("Busy", `module ${module.name}: all ${maxInstances} instances are busy with work past the calls they took`));
      }
      next = pool.vacancy = slot.spare!;
      slot.spare = undefined;
    }
    void next.promise.then(() => this.#look(module, pool, waiter));
  }

  /** In the waiting call's request: the first takes an instance if one is free; any other waits on. */
  #look(module: LoadedModule, pool: Pool, waiter: Waiter) {
    if (waiter.call.ended || !pool.waiting.includes(waiter)) return;
    const slot = pool.waiting[0] === waiter ? this.#free(module, pool, waiter.call) : undefined;
    if (slot === undefined) return this.#watch(module, pool, waiter);
    this.#leave(pool, waiter);
    if (slot) this.#give(pool, slot, waiter.call);
  }

  /** Takes `waiter` out of the queue; the call behind it looks again. */
  #leave(pool: Pool, waiter: Waiter) {
    const at = pool.waiting.indexOf(waiter);
    if (at < 0) return;
    // The first call leaving before its vacancy came (it ended): that signal is settled never.
    if (at === 0) pool.vacancy = undefined;
    pool.waiting.splice(at, 1);
    waiter.left.fire();
  }

  /** A new instance of `module`; throws its start-up failure. */
  create(module: LoadedModule, options: GuestOptions = {}): Guest {
    if (module.error) throw module.error;
    if (this.#starting.has(module.name)) {
      throw BusError.of("CallCycle", `module ${module.name} calls itself while it starts: a new instance of it would start another`);
    }
    this.#starting.add(module.name);
    try {
      return Guest.create(module, this.#host, options);
    } finally {
      this.#starting.delete(module.name);
    }
  }

  /** An instance of `module` as a snapshot saved it (Guest.restore); throws where it cannot be restored. */
  restore(module: LoadedModule, options: GuestOptions, saved: Saved, adopt: Adopt): Guest {
    if (module.error) throw module.error;
    return Guest.restore(module, this.#host, options, saved, adopt);
  }

  /** Makes `guest` the instance that takes every call to its module here; the result unpins it. */
  pin(guest: Guest): () => void {
    const name = guest.module.name;
    this.#pinned.set(name, guest);
    return () => {
      if (this.#pinned.get(name) === guest) this.#pinned.delete(name);
    };
  }

  /** The pinned instance of a module, while it is whole. */
  pinned(name: string): Guest | undefined {
    const guest = this.#pinned.get(name);
    return guest && !guest.broken ? guest : undefined;
  }

  #pool(name: string): Pool {
    let pool = this.#pools.get(name);
    if (!pool) this.#pools.set(name, (pool = { idle: [], spares: [], live: 0, waiting: [] }));
    return pool;
  }

  /** One more instance for plain calls: counted while it lives; its coming free wakes the first waiting call. */
  #grow(module: LoadedModule, pool: Pool): Slot {
    // An instance leaves the count once: retired (idle and not kept) or broken, whichever first.
    // Counted once it has started: one that breaks while it starts was never counted.
    let counted = false;
    const retire = () => {
      if (!counted) return false;
      counted = false;
      pool.live--;
      const at = pool.idle.indexOf(slot);
      if (at >= 0) pool.idle.splice(at, 1);
      return true;
    };
    // Free of its call (or broken), in the request of that call: the first waiting call looks again.
    const vacate = () => {
      if (!slot.serving) return;
      slot.serving = false;
      if (slot.spare) this.#unspare(pool, slot);
      this.#vacate(pool);
    };
    const slot = { serving: false } as Slot;
    slot.guest = this.create(module, {
      onIdle: () => {
        if (!counted) return;
        vacate();
        if (module.manifest.instances === "fresh") retire();
        else if (!pool.idle.includes(slot)) {
          // Kept for a waiting call even past the pool's size: it is about to take it.
          if (pool.idle.length < POOL_SIZE || pool.waiting.length) pool.idle.push(slot);
          else retire();
        }
      },
      onBreak: () => {
        if (retire()) vacate();
      },
    });
    counted = true;
    pool.live++;
    return slot;
  }
}
