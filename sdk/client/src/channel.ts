/**
 * A queue read as an async iterator: pushes buffer until read, `end()` finishes it, `fail()`
 * makes the next read throw. Callbacks and process output are read this way (`for await`).
 */
export class Channel<T> implements AsyncIterableIterator<T> {
  #items: T[] = [];
  #readers: { resolve: (r: IteratorResult<T>) => void; reject: (err: unknown) => void }[] = [];
  #done = false;
  #error: unknown = undefined;
  #keep: number;
  #released: (() => void) | undefined;

  /**
   * `keep`: at most this many items wait, the oldest going first, until `keepAll()` (default: no
   * bound). `released`: called once when the reader leaves (`return`), so whoever pushes can let
   * go of it then rather than when the pushes stop.
   */
  constructor(keep = Number.POSITIVE_INFINITY, released?: () => void) {
    this.#keep = keep;
    this.#released = released;
  }

  push(item: T): void {
    if (this.#done) return;
    const reader = this.#readers.shift();
    if (reader) reader.resolve({ value: item, done: false });
    else if (this.#items.push(item) > this.#keep) this.#items.shift();
  }

  /** From now on every item waits for its reader. */
  keepAll(): void {
    this.#keep = Number.POSITIVE_INFINITY;
  }

  end(): void {
    if (this.#done) return;
    this.#done = true;
    for (const reader of this.#readers.splice(0)) reader.resolve({ value: undefined, done: true });
  }

  fail(error: unknown): void {
    if (this.#done) return;
    this.#error = error;
    this.#done = true;
    for (const reader of this.#readers.splice(0)) reader.reject(error);
  }

  get ended(): boolean {
    return this.#done;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#items.length) return Promise.resolve({ value: this.#items.shift()!, done: false });
    if (this.#done) {
      if (this.#error !== undefined) {
        const error = this.#error;
        this.#error = undefined; // thrown once, then the iterator is simply done
        return Promise.reject(error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.#readers.push({ resolve, reject }));
  }

  /** Leaving a `for await` early stops buffering. */
  return(): Promise<IteratorResult<T>> {
    this.#items = [];
    this.#error = undefined;
    this.end();
    const released = this.#released;
    this.#released = undefined;
    released?.();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
