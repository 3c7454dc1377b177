import { Guest, type GuestOptions } from "./instance/guest.js";
import type { Host } from "./host.js";
import type { LoadedModule } from "./registry.js";

/** Idle instances kept per module for "pooled" modules. */
const POOL_SIZE = 4;

/**
 * The one place instances are made, by policy: plain calls get one as the module's manifest says
 * (pooled, fresh or shared); processes and sessions make a long-lived one and pin it, so every
 * call to its module in this runtime reaches it.
 */
export class Instances {
  readonly #host: Host;
  readonly #pools = new Map<string, Guest[]>();
  readonly #pinned = new Map<string, Guest>();

  constructor(host: Host) {
    this.#host = host;
  }

  /** An instance for a plain call to `module`, by its manifest's `instances`. */
  forCall(module: LoadedModule): Guest {
    switch (module.manifest.instances) {
      case "fresh":
        return this.create(module);
      case "shared": {
        const guest = this.create(module);
        this.pin(guest);
        return guest;
      }
      case "pooled": {
        let pool = this.#pools.get(module.name);
        if (!pool) this.#pools.set(module.name, (pool = []));
        const idle = pool;
        return (
          idle.pop() ??
          this.create(module, {
            onIdle: (guest) => {
              if (idle.length < POOL_SIZE && !idle.includes(guest)) idle.push(guest);
            },
          })
        );
      }
    }
  }

  create(module: LoadedModule, options: GuestOptions = {}): Guest {
    if (module.error) throw module.error;
    return Guest.create(module, this.#host, options);
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
}
