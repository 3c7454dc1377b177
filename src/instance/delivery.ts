/** What the queue needs of its instance: a way in, and word when it has nothing more to do. */
export interface Entry {
  /** Runs guest code (an export) with fresh fuel; a trap breaks the instance, never the host. */
  enter(fn: () => unknown): void;
  /** The queue ran dry and nothing is suspended: the instance may settle its calls. */
  settle(): void;
}

/**
 * The order in which results reach a guest. The host never calls an export from inside an
 * import: results of calls are queued and delivered after the guest returns (a microtask later),
 * or from inside `poll` where the guest blocks (asyncify: while its stack is unwound into its
 * memory, so nothing of it is on the host's stack). What the guest's own calls queue while a
 * delivery runs (a service that answers at once) is delivered in the same loop.
 */
export class Delivery {
  #queue: (() => unknown)[] = [];
  #scheduled = false;
  #draining = false;
  #pollWaiter?: () => void;
  #stopped = false;
  /** Entries suspended in an import (poll, a WASI sleep): nothing is delivered from outside meanwhile. */
  suspended = 0;

  constructor(readonly entry: Entry) {}

  /** Delivering now (its loop is on the stack). */
  get draining(): boolean {
    return this.#draining;
  }

  /** Deliveries waiting: what backpressure counts. */
  get pending(): number {
    return this.#queue.length;
  }

  push(fn: () => unknown) {
    if (this.#stopped) return;
    this.#queue.push(fn);
    if (this.#pollWaiter) {
      const wake = this.#pollWaiter;
      this.#pollWaiter = undefined;
      wake();
    } else if (!this.#scheduled && !this.suspended && !this.#draining) {
      this.#scheduled = true;
      queueMicrotask(() => {
        this.#scheduled = false;
        this.drainNow();
        this.entry.settle();
      });
    }
  }

  /** Delivers what is queued, and what those deliveries queue in turn. */
  drainNow() {
    const outer = this.#draining;
    this.#draining = true;
    while (this.#queue.length && !this.#stopped) this.entry.enter(this.#queue.shift()!);
    this.#draining = outer;
  }

  /** The `poll` import: waits (suspended) until something is queued, then delivers it all. */
  async poll(): Promise<void> {
    if (!this.#queue.length) await new Promise<void>((resolve) => (this.#pollWaiter = resolve));
    this.drainNow();
  }

  /** The instance broke: what is queued is dropped, and nothing more is taken. */
  stop() {
    this.#stopped = true;
    this.#queue.length = 0;
  }
}
