type Handler = (...args: any[]) => void;

/** A small typed event emitter; `on` returns the function that unsubscribes. */
export class Emitter<Events extends Record<string, unknown[]>> {
  #handlers = new Map<keyof Events, Set<Handler>>();

  on<K extends keyof Events>(event: K, handler: (...args: Events[K]) => void): () => void {
    const set = this.#handlers.get(event) ?? new Set<Handler>();
    set.add(handler);
    this.#handlers.set(event, set);
    return () => set.delete(handler);
  }

  emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    for (const handler of [...(this.#handlers.get(event) ?? [])]) {
      try {
        handler(...args);
      } catch (err) {
        // A handler's bug must not break the connection that called it; surface it asynchronously.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
