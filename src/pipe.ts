import { BusError } from "./errors.js";

/**
 * A byte stream written by the host and read by a guest: a process's stdin. It holds at most
 * `limit` bytes written and not yet read; a write past that is refused (LimitExceeded) rather
 * than buffered, so a client cannot fill the isolate through a process that never reads.
 */
export class Pipe {
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #closed = false;
  #waiters = new Set<() => void>();
  /** Bytes read since the pipe was made: where the unread ones begin in the stream. */
  #consumed = 0;
  /** Bytes written and not yet read, at most. The process sets its module's `limits.stdinBytes`. */
  limit = Infinity;

  constructor(initial?: Uint8Array, closed = false) {
    if (initial?.length) {
      this.#chunks.push(initial);
      this.#buffered = initial.length;
    }
    this.#closed = closed;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes written and not yet read. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Whether a read would answer now: data is there, or the end of the stream. */
  get readable(): boolean {
    return this.#buffered > 0 || this.#closed;
  }

  /** Offset of the first unread byte, counted from the pipe's first byte. */
  get consumed(): number {
    return this.#consumed;
  }

  /** Offset past the last byte written: `consumed` plus the unread bytes. */
  get written(): number {
    return this.#consumed + this.#buffered;
  }

  /**
   * A copy of the unread bytes from `offset` (`consumed` to `written`) on: a snapshot appends
   * only those written since it last saved. Found from the end, so a short tail costs its own
   * chunks, not all the unread ones again.
   */
  since(offset: number): Uint8Array {
    const out = new Uint8Array(Math.max(0, this.written - Math.max(offset, this.#consumed)));
    let end = out.length;
    for (let i = this.#chunks.length - 1; end > 0; i--) {
      const chunk = this.#chunks[i]!;
      const part = chunk.length <= end ? chunk : chunk.subarray(chunk.length - end);
      end -= part.length;
      out.set(part, end);
    }
    return out;
  }

  /** Appends bytes; false once the pipe is closed. Throws LimitExceeded past `limit` unread bytes. */
  write(bytes: Uint8Array): boolean {
    if (this.#closed) return false;
    if (this.#buffered + bytes.length > this.limit) {
      throw BusError.of(
        "LimitExceeded",
        `stdin: writing ${bytes.length} bytes would hold ${this.#buffered + bytes.length} unread bytes, over the limit of ${this.limit} (limits.stdinBytes): the process is not reading`,
      );
    }
    if (bytes.length) {
      this.#chunks.push(bytes.slice());
      this.#buffered += bytes.length;
    }
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
    if (first.length <= max) {
      this.#chunks.shift();
      this.#buffered -= first.length;
      this.#consumed += first.length;
      return first;
    }
    this.#chunks[0] = first.subarray(max);
    this.#buffered -= max;
    this.#consumed += max;
    return first.subarray(0, max);
  }

  /**
   * Resolves when data arrives or the pipe closes (true), or when `signal` aborts first (false). A
   * waiter whose signal aborts is forgotten: a guest polling stdin with a timeout in a loop leaves
   * nothing behind.
   */
  wait(signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve(false);
      const wake = () => {
        signal?.removeEventListener("abort", abort);
        this.#waiters.delete(wake);
        resolve(true);
      };
      const abort = () => {
        this.#waiters.delete(wake);
        resolve(false);
      };
      this.#waiters.add(wake);
      signal?.addEventListener("abort", abort, { once: true });
    });
  }

  #wake() {
    for (const w of [...this.#waiters]) w();
  }
}
