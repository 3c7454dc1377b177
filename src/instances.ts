import type { BusCall } from "./call.js";
import { BusError } from "./errors.js";
import type { Host } from "./host.js";
import { Guest, type GuestOptions } from "./instance/guest.js";
import type { LoadedModule } from "./registry.js";

/** Idle instances kept per module for "pooled" modules. */
const POOL_SIZE = 4;

/** One module's instances for plain calls: the idle ones, how many live, the calls waiting for one. */
interface Pool {
  idle: Guest[];
  live: number;
  waiting: BusCall[];
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
    const idle = pool.idle.pop();
    if (idle) return idle.accept(call);
    const { maxInstances, maxWaiting } = module.manifest.limits;
    if (pool.live < maxInstances) return this.#grow(module, pool).accept(call);
    if (pool.waiting.length >= maxWaiting) {
      return void call.fault(BusError.of("Busy", `module ${module.name}: all ${maxInstances} instances are busy and ${maxWaiting} calls wait already`));
    }
    call.own(); // it waits past its caller's import
    pool.waiting.push(call);
    call.onEnd(() => {
      const at = pool.waiting.indexOf(call);
      if (at >= 0) pool.waiting.splice(at, 1);
    });
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
        if (module.manifest.instances === "fresh") {
          retire(g);
          return this.#startWaiting(module, pool);
        }
        const next = this.#nextWaiting(pool);
        if (next) return g.accept(next);
        if (pool.idle.includes(g)) return;
        if (pool.idle.length < POOL_SIZE) pool.idle.push(g);
        else retire(g);
      },
      onBreak: (g) => {
        if (retire(g)) this.#startWaiting(module, pool);
      },
    });
    pool.live++;
    return guest;
  }

  /** A new instance for the next waiting call, where the count allows one. */
  #startWaiting(module: LoadedModule, pool: Pool) {
    if (pool.live >= module.manifest.limits.maxInstances) return;
    const next = this.#nextWaiting(pool);
    if (!next) return;
    try {
      this.#grow(module, pool).accept(next);
    } catch (err) {
      next.fault(BusError.from(err));
    }
  }

  #nextWaiting(pool: Pool): BusCall | undefined {
    let call: BusCall | undefined;
    while ((call = pool.waiting.shift()) && call.ended);
    return call;
  }
}
