import type { BusCall } from "./call.js";
import { BusError } from "./errors.js";
import type { Host } from "./host.js";
import { Guest, type GuestOptions, type Saved } from "./instance/guest.js";
import type { Adopt } from "./instance/snapshot.js";
import { Pool } from "./pool.js";
import type { LoadedModule } from "./registry.js";
import type { Service } from "./services/service.js";

/**
 * One module in this runtime: its instances (the one pinned: a process's, a session's, a shared
 * module's; the pool for plain calls) and the module as a service, which gives each call to one
 * of them within the module's call timeout.
 */
export class ModuleInstances implements Service {
  #pinned?: Guest;
  #pool?: Pool;
  readonly topics: Service["topics"];
  // An instance that takes the call at once copies the request into its memory then and there;
  // one that queues it owns it first (Guest.accept, Pool.serve).
  readonly borrows = true;

  constructor(
    readonly module: LoadedModule,
    readonly instances: Instances,
  ) {
    this.topics = module.manifest.topics;
  }

  /** The pinned instance, while it is whole: it takes every call to the module here. */
  get pinned(): Guest | undefined {
    const guest = this.#pinned;
    return guest && !guest.broken ? guest : undefined;
  }

  /** Makes `guest` the pinned instance; the result unpins it (if it is still the one). */
  pin(guest: Guest): () => void {
    this.#pinned = guest;
    return () => {
      if (this.#pinned === guest) this.#pinned = undefined;
    };
  }

  serve(call: BusCall): void {
    // The common case first: a plain call, and an instance at rest in the pool to take it.
    if (call.parent === undefined && this.#pinned === undefined && this.#pool?.serveIdle(call)) {
      if (!call.answered) this.#timeout(call);
      return;
    }
    const module = this.module;
    // A parent that has ended has no sub-API left, and nothing would end a call made under it.
    if (call.parent?.ended) return void call.fault(BusError.of("InvalidHandle", `the parent call to ${module.name} has ended`));
    // Later calls on a relative object go to the instance that made it; a module with a pinned
    // instance (a process, a session, a shared module) is served by that one.
    const parent = call.parent?.server;
    // A parent names a call of this module's: one another module serves is not its sub-API.
    if (parent instanceof Guest && parent.module !== module) {
      return void call.fault(BusError.of("InvalidHandle", `the parent call is served by module ${parent.module.name}, not ${module.name}`));
    }
    const owner = parent ?? this.pinned;
    if (owner instanceof Guest) return void owner.accept(call);
    try {
      this.#plain(call);
    } catch (err) {
      call.fault(BusError.from(err));
    }
    // A call answered already (an instance took it at once, inside the caller's call_now) needs no timer.
    if (!call.answered) this.#timeout(call);
  }

  /** Faults the call where the module has not answered it within limits.callTimeoutMs. */
  #timeout(call: BusCall) {
    const module = this.module;
    const timeout = module.manifest.limits.callTimeoutMs;
    const timer = setTimeout(() => call.fault(BusError.of("Timeout", `module ${module.name} did not answer ${call.topic} within ${timeout} ms`)), timeout);
    call.onAnswer(() => clearTimeout(timer));
  }

  /** A plain call, to an instance as the manifest says: shared (made once and pinned), or pooled / fresh (./pool.ts). */
  #plain(call: BusCall): void {
    if (this.module.manifest.instances === "shared") {
      // Unpinned when it breaks: the next call makes another, and the broken one (its memory with it) is not kept till then.
      let unpin: (() => void) | undefined;
      const guest = this.instances.create(this.module, { onBreak: () => unpin?.() });
      unpin = this.pin(guest);
      return void guest.accept(call);
    }
    (this.#pool ??= new Pool(this.module, (options) => this.instances.create(this.module, options))).serve(call);
  }
}

/**
 * The one place instances are made. Plain calls get one as the module's manifest says (pooled,
 * fresh or shared: ModuleInstances); processes and sessions make a long-lived instance and pin it,
 * so every call to its module in this runtime reaches it.
 */
export class Instances {
  readonly #host: Host;
  readonly #modules = new Map<string, ModuleInstances>();
  /** Modules whose instance is starting: a start-up that calls its own module would recurse without end. */
  readonly #starting = new Set<string>();

  constructor(host: Host) {
    this.#host = host;
  }

  /** The instances of `module` (made on first use). */
  of(module: LoadedModule): ModuleInstances {
    let here = this.#modules.get(module.name);
    if (!here) this.#modules.set(module.name, (here = new ModuleInstances(module, this)));
    return here;
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
    return this.of(guest.module).pin(guest);
  }
}
