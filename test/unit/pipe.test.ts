import { describe, expect, it } from "vitest";
import { Pipe } from "../../src/pipe.js";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe("Pipe offsets (a snapshot appends only what was written since it last saved)", () => {
  it("since(offset) is the unread bytes from offset on, across and inside chunks, before and after reads", () => {
    const pipe = new Pipe();
    for (const s of ["abc", "d", "efgh", "ij"]) pipe.write(new TextEncoder().encode(s));
    expect([pipe.consumed, pipe.written]).toEqual([0, 10]);
    expect([0, 2, 3, 5, 9, 10].map((o) => text(pipe.since(o)))).toEqual(["abcdefghij", "cdefghij", "defghij", "fghij", "j", ""]);
    // A read takes at most one chunk: "abc", "d", then "ef" of "efgh".
    expect([4, 4, 2].map((n) => text(pipe.read(n)!))).toEqual(["abc", "d", "ef"]);
    expect([pipe.consumed, pipe.written]).toEqual([6, 10]);
    // An offset before what was read: the unread bytes only.
    expect([0, 6, 7, 9].map((o) => text(pipe.since(o)))).toEqual(["ghij", "ghij", "hij", "j"]);
    pipe.write(new TextEncoder().encode("k"));
    expect(text(pipe.since(10))).toBe("k");
    expect(pipe.written).toBe(11);
  });
});
