/** A byte stream written by the host and read by a guest: a process's stdin. */
export class Pipe {
  #chunks: Uint8Array[] = [];
  #closed = false;
  #waiters: (() => void)[] = [];

  constructor(initial?: Uint8Array, closed = false) {
    if (initial?.length) this.#chunks.push(initial);
    this.#closed = closed;
  }

  get closed(): boolean {
    return this.#closed;
  }

  write(bytes: Uint8Array): boolean {
    if (this.#closed) return false;
    if (bytes.length) this.#chunks.push(bytes.slice());
    this.#wake();
    return true;
  }

  close() {
    this.#closed = true;
    this.#wake();
  }

  /** Up to `max` bytes; an empty array at end of stream; null when nothing is there yet. */
  read(max: number): Uint8Array | null {
    const first = this.#chunks[0];
    if (!first) return this.#closed ? new Uint8Array() : null;
    if (first.length <= max) return this.#chunks.shift()!;
    this.#chunks[0] = first.subarray(max);
    return first.subarray(0, max);
  }

  /** Resolves when data arrives or the pipe closes. */
  wait(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #wake() {
    for (const w of this.#waiters.splice(0)) w();
  }
}
