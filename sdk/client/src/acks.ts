/**
 * How long after a frame comes its ack goes: one ack covers every frame of a burst, and none is
 * held back for longer.
 */
export const ACK_DELAY_MS = 20;

/**
 * Bytes received that are acked at once, not after the delay: a fast sender is never held (or
 * its callbacks refused) for want of an ack that waits on a timer, as long as its module's
 * `socketBufferBytes` is over this much (the default is 1 MiB).
 */
export const ACK_BYTES = 16 << 10;

/**
 * Acks of what one socket received (docs/host.md, "How far behind a client is"): where workerd
 * does not count what is still unsent, the server holds a client to its module's
 * `socketBufferBytes` of frames the client has not acknowledged, so a client that reads acks, or
 * is held back once that much has come. The count is every frame's bytes since the socket opened (a text frame's UTF-8);
 * `send` writes the ack frame. Where the limit is, the client does not know: it acks every frame,
 * within `ACK_DELAY_MS`, or at once where `ACK_BYTES` came since the last ack.
 */
export class Acks {
  #received = 0;
  #acked = 0;
  #timer?: ReturnType<typeof setTimeout>;

  constructor(readonly send: (received: number) => void) {}

  /** A frame came: its ack goes within ACK_DELAY_MS, or now where ACK_BYTES are unacked. */
  received(frame: string | Uint8Array | ArrayBuffer) {
    this.#received += typeof frame === "string" ? utf8Bytes(frame) : frame.byteLength;
    if (this.#received - this.#acked >= ACK_BYTES) this.#ack();
    else this.#timer ??= setTimeout(() => this.#ack(), ACK_DELAY_MS);
  }

  #ack() {
    this.stop();
    this.#acked = this.#received;
    try {
      this.send(this.#received);
    } catch {
      // The socket is going: nothing more to ack.
    }
  }

  /** The socket is gone: no ack is due. */
  stop() {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** Bytes of `text` in UTF-8, as it came on the wire (a lone surrogate went as U+FFFD, 3 bytes). */
export function utf8Bytes(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2;
      i++;
    } else bytes += 2;
  }
  return bytes;
}
