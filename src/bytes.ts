import { BusError } from "./errors.js";

/** Reads a body whole, failing with LimitExceeded as soon as it passes `limit` bytes. */
export async function readCapped(body: ReadableStream<Uint8Array> | null, declared: string | null, limit: number, what: string): Promise<Uint8Array> {
  if (Number(declared ?? NaN) > limit) {
    await body?.cancel();
    throw BusError.of("LimitExceeded", `${what} of ${declared} bytes is over the limit of ${limit}`);
  }
  if (!body) return new Uint8Array();
  // A declared length within the limit is one native read, not a promise per chunk
  // (the runtime holds a body to its declared length).
  if (declared !== null && declared !== "" && Number(declared) <= limit) return new Uint8Array(await new Response(body).arrayBuffer());
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > limit) throw BusError.of("LimitExceeded", `${what} is over the limit of ${limit} bytes`);
    chunks.push(chunk);
  }
  return concat(...chunks);
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
