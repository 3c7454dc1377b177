/** How many items a channel keeps unread, and what it does with one more. */
export interface ChannelBound {
  /** At most this many items wait for the reader. */
  limit: number;
  /**
   * Why one more could not wait: the channel fails with it, so its reader gets the items it holds,
   * then this thrown, and nothing after (the item past the bound is lost, but not unsaid).
   */
  overflow: (limit: number) => unknown;
  /**
   * Let the oldest item go instead, until `keepAll()`: for a channel whose reader may never come
   * (an attachment read by handlers alone), which keeps only the latest for a late one.
   */
  dropOldest?: boolean;
}

/**
 * A queue read as an async iterator: pushes buffer until read, `end()` finishes it, `fail()`
 * makes the next read throw. Callbacks and process output are read this way (`for await`). What
 * it buffers comes from the server, so it is bounded (ChannelBound) when the push happens.
 */
export class Channel<T> implements AsyncIterableIterator<T> {
  #items: T[] = [];
  #readers: { resolve: (r: IteratorResult<T>) => void; reject: (err: unknown) => void }[] = [];
  #done = false;
  #error: unknown = undefined;
  #bound: ChannelBound;
  #released: (() => void) | undefined;

  /**
   * `released`: called once when the channel stops taking items for its reader (it `return`s, or
   * falls past its bound), so whoever pushes can let go of it then rather than when the pushes stop.
   */
  constructor(bound: ChannelBound, released?: () => void) {
    this.#bound = { ...bound };
    this.#released = released;
  }

  push(item: T): void {
    if (this.#done) return;
    const reader = this.#readers.shift();
    if (reader) reader.resolve({ value: item, done: false });
    else if (this.#items.length < this.#bound.limit) this.#items.push(item);
    else if (this.#bound.dropOldest) {
      this.#items.shift();
      this.#items.push(item);
    } else {
      this.fail(this.#bound.overflow(this.#bound.limit));
      this.#release();
    }
  }

  /** From now on no item is let go of unsaid: past the bound, the channel fails (ChannelBound.overflow). */
  keepAll(): void {
    this.#bound.dropOldest = false;
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
    this.#release();
    return Promise.resolve({ value: undefined, done: true });
  }

  #release() {
    const released = this.#released;
    this.#released = undefined;
    released?.();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
