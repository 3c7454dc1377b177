/**
 * Byte arrays a decoder makes (JSON's `[1,2]`, a msgpack array or str where the topic's types say
 * bytes), as views of a shared 4 KiB buffer where they are small. A Uint8Array with a buffer of
 * its own is about 195 bytes of heap, a view 104: at 1 MiB, JSON's `[[],[],...]` read as
 * Vec<Vec<u8>> held 67.7 MB, where the densest JSON holds 29.4 MB and msgpack's empty bins (views
 * of the payload) 36.4 MB. A view keeps its whole buffer alive: 4 KiB at most for one value kept.
 */
const SLAB = 4096;
/** Past this a byte array gets a buffer of its own: a view would save little of what it costs. */
const SMALL = 256;
let slab = new ArrayBuffer(SLAB);
let used = 0;

/** A zeroed Uint8Array of `n` bytes: a view of the shared buffer where `n` is small. */
export function bytesOfLength(n: number): Uint8Array {
  if (n > SMALL) return new Uint8Array(n);
  if (used + n > SLAB) {
    slab = new ArrayBuffer(SLAB);
    used = 0;
  }
  const view = new Uint8Array(slab, used, n);
  used += n;
  return view;
}

/**
 * A copy of `from`'s bytes [start, end), as bytesOfLength makes it. A large one is made from the
 * view itself: V8 then fills the new buffer as it copies, where `new Uint8Array(n)` and `set`
 * first zero it (64 KiB in a loop: 2.4-3.5 us against 2.8-4.2 us).
 */
export function copyOf(from: Uint8Array, start = 0, end = from.length): Uint8Array {
  if (end - start > SMALL) return new Uint8Array(from.subarray(start, end));
  const out = bytesOfLength(end - start);
  out.set(from.subarray(start, end));
  return out;
}
