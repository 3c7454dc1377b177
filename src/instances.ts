import type { BusCall } from "./call.js";
import { BusError } from "./errors.js";
import type { Host } from "./host.js";
import { Guest, type GuestOptions, type Saved } from "./instance/guest.js";
import type { Adopt } from "./instance/snapshot.js";
import type { LoadedModule } from "./registry.js";

/** Idle instances kept per module for "pooled" modules. */
const POOL_SIZE = 4;

/** One module's instances for plain calls: the idle ones, how many live, the calls waiting for one. */
interface Pool {
  idle: Guest[];
  live: number;
  waiting: Waiter[];
}

/** A call waiting for an instance, and how to wake it. */
interface Waiter {
  call: BusCall;
  wake(): void;
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
  #take(module: LoadedModule, pool: Pool, call: BusCall, again = false) {
    const idle = pool.idle.pop();
    if (idle) return idle.accept(call);
    if (pool.live < module.manifest.limits.maxInstances) {
      try {
        return this.#grow(module, pool).accept(call);
      } catch (err) {
        return void call.fault(BusError.from(err));
      }
    }
    call.own(); // it waits past its caller's import
    this.#wait(module, pool, call, again);
  }

  /**
   * Queues a call until an instance comes free. It is woken from whichever request freed one, and
   * takes its instance in its own request (a promise it made), so the I/O it causes belongs to it:
   * workerd refuses I/O on behalf of another request.
   */
  #wait(module: LoadedModule, pool: Pool, call: BusCall, first: boolean) {
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const waiter = { call, wake };
    if (first) pool.waiting.unshift(waiter);
    else pool.waiting.push(waiter);
    call.onEnd(() => {
      const at = pool.waiting.indexOf(waiter);
      if (at >= 0) pool.waiting.splice(at, 1);
    });
    void woken.then(() => {
      if (!call.ended) this.#take(module, pool, call, true);
    });
  }

  /** Wakes the first waiting call: an instance came free, or room for a new one. */
  #wakeOne(pool: Pool) {
    pool.waiting.shift()?.wake();
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
    if (!pool) this.#pools.set(name, (pool = { idle: [], live: 0, waiting: [] }));
    return pool;
  }

  /** One more instance for plain calls: counted while it lives, handed the next waiting call when it comes free. */
  #grow(module: LoadedModule, pool: Pool): Guest {
    // An instance leaves the count once: retired (idle and not kept) or broken, whichever first.
    let counted = true;
    const retire = (g: Guest) => {
      if (!counted) return false;
      counted = false;
      pool.live--;
      const at = pool.idle.indexOf(g);
      if (at >= 0) pool.idle.splice(at, 1);
      return true;
    };
    const guest = this.create(module, {
      onIdle: (g) => {
        if (!counted) return;
        if (module.manifest.instances === "fresh") retire(g);
        else if (!pool.idle.includes(g)) {
          // Kept for a waiting call even past the pool's size: it is about to take it.
          if (pool.idle.length < POOL_SIZE || pool.waiting.length) pool.idle.push(g);
          else retire(g);
        }
        this.#wakeOne(pool);
      },
      onBreak: (g) => {
        if (retire(g)) this.#wakeOne(pool);
      },
    });
    pool.live++;
    return guest;
  }
}
