/**
 * A socket's events handled in the order they came. A browser's socket hands a binary frame over
 * as a Blob where its binaryType stays "blob" (a socket from `options.webSocket` may not take
 * "arraybuffer"), and a Blob's bytes come asynchronously: a frame after it must wait for them, and
 * so must the close after it, or the close would fail calls whose replies were still being read.
 * While one is read, what comes later queues behind it; where nothing is, an event is handled at
 * once, in the task it came in. What queues is what the socket already delivered, no more.
 */
export class InOrder {
  #tail: Promise<void> | undefined;

  /** Hands `value` to `handle` after every value added before it; a promise is waited for first (it must not reject). */
  add<T>(value: T | Promise<T>, handle: (value: T) => void): void {
    if (this.#tail === undefined && !(value instanceof Promise)) {
      handle(value);
      return;
    }
    const tail: Promise<void> = (this.#tail ?? Promise.resolve()).then(async () => {
      try {
        handle(await value);
      } catch (err) {
        // As a listener's throw would be: surfaced, without stopping the events after it.
        queueMicrotask(() => {
          throw err;
        });
      }
      if (this.#tail === tail) this.#tail = undefined;
    });
    this.#tail = tail;
  }
}

/** A binary frame's bytes (a Blob's asynchronously), a text frame's text, or why it cannot be read. */
export function frameData(data: unknown): Uint8Array | string | Error | Promise<Uint8Array | Error> {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (data instanceof Uint8Array || typeof data === "string") return data;
  if (typeof (data as Blob)?.arrayBuffer !== "function") return new Error(`a frame of neither bytes nor text but ${typeof data}`);
  return (data as Blob).arrayBuffer().then(
    (buffer) => new Uint8Array(buffer),
    (err: unknown) => new Error(`its bytes could not be read: ${(err as Error)?.message ?? String(err)}`),
  );
}
