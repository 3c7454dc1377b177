/**
 * A body read up to `limit` bytes: `bytes` (at most `limit` of them) and whether there was more.
 * Past the limit the rest is not read and the stream is cancelled, so a body that never ends (a
 * proxy's, a hostile server's) costs at most `limit` bytes and ends here, not at the caller's signal.
 */
export async function readUpTo(res: Response, limit: number): Promise<{ bytes: Uint8Array; over: boolean }> {
  if (!res.body) return { bytes: new Uint8Array(), over: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  while (length <= limit) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    length += value.length;
  }
  const over = length > limit;
  if (over) void reader.cancel().catch(() => {});
  const bytes = new Uint8Array(Math.min(length, limit));
  let at = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, bytes.length - at);
    bytes.set(part, at);
    at += part.length;
  }
  return { bytes, over };
}
