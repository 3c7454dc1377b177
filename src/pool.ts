import type { BusCall } from "./call.js";
import { BusError } from "./errors.js";
import type { Guest, GuestOptions } from "./instance/guest.js";
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
  /** In the count of live instances: from when it has started until it is retired or breaks. */
  counted: boolean;
  /**
   * Made, in the request of the call it took, when that call outlasts the turn it came in; no
   * waiting call waits on it yet. Dropped once the call has ended (its request may end with it).
   */
  spare?: Signal;
}

/** A call waiting for an instance. */
interface Waiter {
  call: BusCall;
  /** Settled, in the waiting call's request, when it leaves the queue: the one behind it looks again. */
  left: Signal;
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
export class Pool {
  readonly #idle: Slot[] = [];
  /** Busy instances with a spare signal, newest last. */
  readonly #spares: Slot[] = [];
  /** What the first waiting call waits on. */
  #vacancy?: Signal;
  #live = 0;
  readonly #waiting: Waiter[] = [];
  /** A fresh instance per call: one at rest is retired, not kept. */
  readonly #fresh: boolean;

  constructor(
    readonly module: LoadedModule,
    /** Makes an instance (Instances.create); throws its start-up failure. */
    readonly make: (options: GuestOptions) => Guest,
  ) {
    this.#fresh = module.manifest.instances === "fresh";
  }

  /**
   * Gives a plain call to an instance, now or when one comes free: never more than
   * `limits.maxInstances` at once; past it the call waits (up to `limits.maxWaiting` calls, then Busy).
   */
  serve(call: BusCall): void {
    const { maxInstances, maxWaiting } = this.module.manifest.limits;
    if (this.#waiting.length >= maxWaiting && !this.#idle.length && this.#live >= maxInstances) {
      return void call.fault(BusError.of("Busy", `module ${this.module.name}: all ${maxInstances} instances are busy and ${maxWaiting} calls wait already`));
    }
    const slot = this.#free(call);
    if (slot) return void this.#give(slot, call);
    if (slot === null) return;
    call.own(); // it waits past its caller's import
    this.#wait(call);
  }

  /**
   * `serve` where an instance is idle, the common case: it takes the call (nothing is Busy while
   * one is at rest). False where none is, the call untouched: `serve` it.
   */
  serveIdle(call: BusCall): boolean {
    const slot = this.#idle.pop();
    if (!slot) return false;
    this.#give(slot, call);
    return true;
  }

  /** An idle instance, or a new one where the count allows: undefined if neither, null if a new one failed (the call is faulted). */
  #free(call: BusCall): Slot | null | undefined {
    const idle = this.#idle.pop();
    if (idle) return idle;
    if (this.#live >= this.module.manifest.limits.maxInstances) return undefined;
    try {
      return this.#grow();
    } catch (err) {
      call.fault(BusError.from(err));
      return null;
    }
  }

  /** Gives `call` to an instance; one still serving it when this turn ends gets a spare signal (see above). */
  #give(slot: Slot, call: BusCall) {
    slot.serving = true;
    // At rest again at once (it answered inside its caller's call_now): told here, not by onIdle.
    if (slot.guest.accept(call)) return this.#rest(slot);
    if (!slot.serving || call.ended) return;
    const spare = signal(); // in the request of `call`
    slot.spare = spare;
    this.#spares.push(slot);
    // Once the call has ended its request may too: a signal of it is no longer settled from another
    // (one the first waiting call waits on is settled now, from here, and it looks again).
    call.onEnd(() =>
      queueMicrotask(() => {
        if (slot.spare === spare) this.#unspare(slot);
        if (this.#vacancy === spare) this.#vacate();
      }),
    );
  }

  /** The first waiting call looks again: an instance came free (or the call it waited on ended). */
  #vacate() {
    const vacancy = this.#vacancy;
    this.#vacancy = undefined;
    vacancy?.fire();
  }

  #unspare(slot: Slot) {
    slot.spare = undefined;
    const at = this.#spares.indexOf(slot);
    if (at >= 0) this.#spares.splice(at, 1);
  }

  /** Queues a call until it can have an instance. */
  #wait(call: BusCall) {
    const waiter: Waiter = { call, left: signal() };
    this.#waiting.push(waiter);
    call.onEnd(() => this.#leave(waiter));
    this.#watch(waiter);
  }

  /** Waits, in the waiting call's request, for what lets it look again: the vacancy (the first) or the call ahead leaving. */
  #watch(waiter: Waiter) {
    const at = this.#waiting.indexOf(waiter);
    if (at < 0) return;
    let next: Signal;
    if (at > 0) next = this.#waiting[at - 1]!.left;
    else {
      const slot = this.#spares.pop();
      if (!slot) {
        // Every instance is busy past a call that has ended (or its signal was given up): none can
        // say when it comes free.
        this.#leave(waiter);
        const { maxInstances } = this.module.manifest.limits;
        return void waiter.call.fault(BusError.of("Busy", `module ${this.module.name}: all ${maxInstances} instances are busy with work past the calls they took`));
      }
      next = this.#vacancy = slot.spare!;
      slot.spare = undefined;
    }
    void next.promise.then(() => this.#look(waiter));
  }

  /** In the waiting call's request: the first takes an instance if one is free; any other waits on. */
  #look(waiter: Waiter) {
    if (waiter.call.ended || !this.#waiting.includes(waiter)) return;
    const slot = this.#waiting[0] === waiter ? this.#free(waiter.call) : undefined;
    if (slot === undefined) return this.#watch(waiter);
    this.#leave(waiter);
    if (slot) this.#give(slot, waiter.call);
  }

  /** Takes `waiter` out of the queue; the call behind it looks again. */
  #leave(waiter: Waiter) {
    const at = this.#waiting.indexOf(waiter);
    if (at < 0) return;
    // The first call leaving before its vacancy came (it ended): that signal is settled never.
    if (at === 0) this.#vacancy = undefined;
    this.#waiting.splice(at, 1);
    waiter.left.fire();
  }

  /** One more instance: counted while it lives; its coming free wakes the first waiting call. */
  #grow(): Slot {
    const slot: Slot = { serving: false, counted: false } as Slot;
    slot.guest = this.make({
      onIdle: () => this.#rest(slot),
      onBreak: () => {
        if (this.#retire(slot)) this.#release(slot);
      },
    });
    // Counted once it has started: one that breaks while it starts was never counted.
    slot.counted = true;
    this.#live++;
    return slot;
  }

  /**
   * At rest with nothing live (onIdle, or `accept` answering true): free of its call, and kept
   * idle or retired. Every settle at rest says so, so it may come again while the slot is idle.
   */
  #rest(slot: Slot) {
    if (!slot.counted) return;
    this.#release(slot);
    if (this.#fresh) this.#retire(slot);
    else if (!this.#idle.includes(slot)) {
      // Kept for a waiting call even past the pool's size: it is about to take it.
      if (this.#idle.length < POOL_SIZE || this.#waiting.length) this.#idle.push(slot);
      else this.#retire(slot);
    }
  }

  /** Free of its call (or broken), in the request of that call: the first waiting call looks again. */
  #release(slot: Slot) {
    if (!slot.serving) return;
    slot.serving = false;
    if (slot.spare) this.#unspare(slot);
    this.#vacate();
  }

  /** Leaves the count, once: retired (idle and not kept) or broken, whichever comes first. */
  #retire(slot: Slot): boolean {
    if (!slot.counted) return false;
    slot.counted = false;
    this.#live--;
    const idle = this.#idle.indexOf(slot);
    if (idle >= 0) this.#idle.splice(idle, 1);
    return true;
  }
}
