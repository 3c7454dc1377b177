/** Wasm's page: what memory grows by, and what a snapshot writes. */
export const PAGE_BYTES = 65536;
const WORDS = PAGE_BYTES / 4;

/**
 * A page's fingerprint: two 32-bit multiplicative hashes over its words, kept in one number
 * (53 bits). Hashing, not a copy of the last snapshot, finds the changed pages: a copy would
 * double every instance's memory in an isolate of 128 MB. A page whose change collides is
 * missed; only its own guest could arrange that, and it would only harm itself.
 */
export function pageHash(words: Uint32Array, page: number): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c;
  const end = (page + 1) * WORDS;
  for (let i = page * WORDS; i < end; i++) {
    const w = words[i]!;
    h1 = Math.imul(h1 ^ w, 0x01000193);
    h2 = Math.imul(h2 + w, 0x85ebca77) ^ (h2 >>> 13);
  }
  return (h1 >>> 0) * 0x200000 + ((h2 >>> 0) & 0x1fffff);
}

/**
 * Which pages of one memory changed since the last look. It starts from the memory as the
 * module's own data segments leave it (or as a snapshot restored it): a snapshot holds only the
 * pages that differ from that, and each later one only the pages changed since the one before.
 */
export class PageTracker {
  #hashes: number[] = [];

  constructor(memory: ArrayBuffer) {
    this.changed(memory);
  }

  /** The pages whose content changed (or that are new since memory grew), in order; remembers them as they are now. */
  changed(memory: ArrayBuffer): number[] {
    const words = new Uint32Array(memory);
    const pages = memory.byteLength / PAGE_BYTES;
    const out: number[] = [];
    for (let p = 0; p < pages; p++) {
      const h = pageHash(words, p);
      if (this.#hashes[p] !== h) {
        if (p < this.#hashes.length) out.push(p);
        else if (h !== ZERO_PAGE) out.push(p); // a grown page is zero until written
        this.#hashes[p] = h;
      }
    }
    return out;
  }

  /**
   * The pages saved so far are gone (a save failed, and its store was cleared of them): the next
   * look reports every page there was, as a first snapshot needs, not only the ones changed since.
   */
  forget() {
    this.#hashes = this.#hashes.map(() => Number.NaN);
  }
}

const ZERO_PAGE = pageHash(new Uint32Array(WORDS), 0);
