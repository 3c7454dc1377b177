/**
 * A body read up to `limit` bytes: `bytes` (at most `limit` of them) and whether there was more.
 * Past the limit the rest is not read and the stream is cancelled, so a body that never ends (a
 * proxy's, a hostile server's) costs at most `limit` bytes and ends here, not at the caller's signal.
 * A body of exactly `limit` bytes takes one more read to tell its end from more: that read waits
 * for the server, as one short of the limit does, and only the caller's signal bounds a server
 * that stops there without ending the body (nothing else can tell it from one that goes on).
 */
export async function readUpTo(res: Response, limit: number): Promise<{ bytes: Uint8Array; over: boolean }> {
  const read = await readFirst(res, limit);
  let over = read.length > limit;
  // An empty chunk says nothing either way: read on until a byte or the end.
  while (!over && !read.done) {
    const { done, value } = await read.reader!.read();
    if (done) read.done = true;
    else over = value.length > 0;
  }
  if (!read.done) void read.reader!.cancel().catch(() => {});
  return { bytes: joined(read.chunks, Math.min(read.length, limit)), over };
}

/**
 * A body's first `limit` bytes at most, where the rest does not matter (an error body, which is
 * read for what it says): once they are in, nothing more is read and the stream is cancelled, so a
 * server that sends exactly `limit` bytes and then keeps the body open is not waited on.
 */
export async function readPrefix(res: Response, limit: number): Promise<Uint8Array> {
  const read = await readFirst(res, limit);
  if (!read.done) void read.reader!.cancel().catch(() => {});
  return joined(read.chunks, Math.min(read.length, limit));
}

/** Chunks until the body ends or `limit` bytes are in (the last chunk may go past it); no read after that. */
async function readFirst(res: Response, limit: number) {
  const read = { reader: res.body?.getReader(), chunks: [] as Uint8Array[], length: 0, done: !res.body };
  while (!read.done && read.length < limit) {
    const { done, value } = await read.reader!.read();
    if (done) read.done = true;
    else {
      read.chunks.push(value);
      read.length += value.length;
    }
  }
  return read;
}

/** The first `length` bytes of `chunks`, in one array. */
function joined(chunks: Uint8Array[], length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, length - at);
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}
