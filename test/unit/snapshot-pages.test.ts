import { describe, expect, it } from "vitest";
import { PAGE_BYTES, PageTracker, pageHash } from "../../src/snapshot/pages.js";

const memory = (pages: number) => new WebAssembly.Memory({ initial: pages, maximum: 64 });

describe("PageTracker: which pages a snapshot writes (src/snapshot/pages.ts)", () => {
  it("starts from the memory as it is: nothing changed yet", () => {
    const m = memory(4);
    new Uint8Array(m.buffer).fill(7, 0, 100); // data segments, say
    const t = new PageTracker(m.buffer);
    expect(t.changed(m.buffer)).toEqual([]);
  });

  it("finds exactly the pages written since, and each only once", () => {
    const m = memory(16);
    const t = new PageTracker(m.buffer);
    const bytes = () => new Uint8Array(m.buffer);
    bytes()[3 * PAGE_BYTES + 5] = 1;
    bytes()[9 * PAGE_BYTES + PAGE_BYTES - 1] = 1; // the last byte of page 9
    expect(t.changed(m.buffer)).toEqual([3, 9]);
    expect(t.changed(m.buffer)).toEqual([]);
    bytes()[3 * PAGE_BYTES + 5] = 0; // back as it was: still a change since the last snapshot
    expect(t.changed(m.buffer)).toEqual([3]);
  });

  it("counts grown pages only once they hold something (a restore grows memory to zeros)", () => {
    const m = memory(1);
    const t = new PageTracker(m.buffer);
    m.grow(3);
    expect(t.changed(m.buffer)).toEqual([]);
    new Uint8Array(m.buffer)[2 * PAGE_BYTES] = 9;
    expect(t.changed(m.buffer)).toEqual([2]);
  });

  it("tells apart pages that differ in one word, wherever it is", () => {
    const words = new Uint32Array(PAGE_BYTES / 4);
    const seen = new Set([pageHash(words, 0)]);
    for (let i = 0; i < words.length; i += 997) {
      words[i] = 1;
      seen.add(pageHash(words, 0));
      words[i] = 0;
    }
    expect(seen.size).toBe(1 + Math.ceil(words.length / 997));
  });
});
