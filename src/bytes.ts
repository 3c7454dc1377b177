import { BusError } from "./errors.js";

/**
 * How much of an oversized body `readCapped` reads and throws away, when asked to drain, before
 * it gives up and cancels: more than any request body Cloudflare delivers on most plans (100 MB).
 */
export const DRAIN_BYTES = 128 << 20;
/** How long such a drain may wait for the rest of the body before cancelling it instead. */
export const DRAIN_MS = 30_000;

export interface CapOptions {
  /**
   * Read and discard the rest of a body over the limit (up to DRAIN_BYTES, within DRAIN_MS)
   * before failing, instead of cancelling it. For a request body: the error is answered while
   * the client is still sending, and a body left unread makes the runtime close the connection
   * under it, so the client (or wrangler dev's proxy in front of the Worker) sees the connection
   * reset or "Network connection lost" instead of the 413. Never for a response body, where
   * cancelling is what saves the download.
   */
  drain?: boolean;
}

/**
 * A body read in one go on its declared length, held to the limit after all: a Request or
 * Response another Worker made keeps the header it was given whatever its body (only workerd's
 * HTTP server and client hold a body to it).
 */
export function heldTo(data: Uint8Array, declared: string | null, limit: number, what: string): Uint8Array {
  if (data.length > limit) throw BusError.of("LimitExceeded", `${what} of ${data.length} bytes (declared ${declared}) is over the limit of ${limit}`);
  return data;
}

/** Reads a body whole, failing with LimitExceeded as soon as it passes `limit` bytes. */
export async function readCapped(
  body: ReadableStream<Uint8Array> | null,
  declared: string | null,
  limit: number,
  what: string,
  options: CapOptions = {},
): Promise<Uint8Array> {
  const length = declared === null || declared === "" ? NaN : Number(declared);
  if (length > limit) {
    if (body) await discard(body.getReader(), options.drain && length <= DRAIN_BYTES ? DRAIN_BYTES : 0);
    throw BusError.of("LimitExceeded", `${what} of ${declared} bytes is over the limit of ${limit}`);
  }
  if (!body) return new Uint8Array();
  // A declared length within the limit is one native read, not a promise per chunk.
  if (length <= limit) return heldTo(new Uint8Array(await new Response(body).arrayBuffer()), declared, limit, what);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await discard(reader, options.drain ? DRAIN_BYTES - size : 0);
      throw BusError.of("LimitExceeded", `${what} is over the limit of ${limit} bytes`);
    }
    chunks.push(value);
  }
  return concat(...chunks);
}

/**
 * Reads and drops what is left of a body, up to `budget` bytes and DRAIN_MS, holding one chunk
 * at a time; past either it cancels the body. A budget of 0 or less cancels at once.
 */
async function discard(reader: ReadableStreamDefaultReader<Uint8Array>, budget: number): Promise<void> {
  if (budget <= 0) return reader.cancel().catch(() => {});
  const timer = setTimeout(() => void reader.cancel().catch(() => {}), DRAIN_MS);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      budget -= value.byteLength;
      if (budget < 0) return await reader.cancel();
    }
  } catch {
    // The client went away or the body broke: nothing left to keep in step.
  } finally {
    clearTimeout(timer);
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
