import { describe, expect, it } from "vitest";
import { utf8Length } from "../../src/utf8-length.js";

describe("utf8Length: the bytes of a string in UTF-8, without encoding it", () => {
  it.each([
    ["", 0],
    ["ascii \u007f", 7],
    ["é\u0080\u07ff", 6], // 2 bytes each
    ["€\u0800\uffff\ufeff", 12], // 3 bytes each
    ["😀\u{10000}\u{10ffff}", 12], // 4 bytes each: a surrogate pair
    ["\ud800", 3], // a lone high surrogate, at the end: U+FFFD
    ["x\udc00y", 5], // a lone low surrogate
    ["\ud800\ud800\udc00", 7], // a lone high surrogate, then a pair
    ["\ud800\ud800", 6], // two lone high surrogates
    ["\ud800é", 5], // a lone high surrogate, then a character that is no low one
    ["\udc00\ud800", 6], // a pair the wrong way round: two lone surrogates
    ["a😀é€\ud800", 1 + 4 + 2 + 3 + 3],
  ])("%j is %i bytes, as a TextEncoder writes it", (s, bytes) => {
    expect(utf8Length(s)).toBe(bytes);
    expect(new TextEncoder().encode(s).length).toBe(bytes);
  });
});
