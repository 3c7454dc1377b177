import { describe, expect, it } from "vitest";
import { Code } from "../../src/abi.js";
import { BusError } from "../../src/errors.js";
import { GuestMemory } from "../../src/memory.js";
import { thrown } from "./thrown.js";

const PAGE = 65536;

function setup() {
  const raw = new WebAssembly.Memory({ initial: 1, maximum: 4 });
  return { raw, mem: new GuestMemory(raw), bytes: () => new Uint8Array(raw.buffer) };
}

describe("GuestMemory bounds", () => {
  it("reads up to the last byte and no further", () => {
    const { mem } = setup();
    expect(mem.size).toBe(PAGE);
    expect(mem.read(0, PAGE)).toHaveLength(PAGE);
    expect(mem.read(PAGE - 1, 1)).toHaveLength(1);
    expect(mem.read(PAGE, 0)).toHaveLength(0);
    const err = thrown(BusError, () => mem.read(1, PAGE));
    expect(err.code).toBe(Code.InvalidPointer);
    expect(err.codeName).toBe("InvalidPointer");
    expect(err.message).toBe(`buffer: ${PAGE} bytes at 1 run past guest memory (${PAGE} bytes)`);
    expect(thrown(BusError, () => mem.read(PAGE, 1)).code).toBe(Code.InvalidPointer);
    expect(thrown(BusError, () => mem.read(PAGE + 1, 0)).code).toBe(Code.InvalidPointer);
  });

  it("names what was being read", () => {
    const { mem } = setup();
    expect(thrown(BusError, () => mem.read(PAGE, 4, "request")).message).toMatch(/^request: 4 bytes at 65536 run past/);
    expect(thrown(BusError, () => mem.peek(PAGE, 4, "topic")).message).toMatch(/^topic: /);
    expect(thrown(BusError, () => mem.readString(PAGE, 4, "wapm")).message).toMatch(/^wapm: /);
    expect(thrown(BusError, () => mem.write(PAGE, new Uint8Array(4), "reply buffer")).message).toMatch(/^reply buffer: /);
  });

  // (ptr, len) as the guest's i32s: negative numbers are u32s past 2^31, and ptr + len must not wrap.
  const wild: [string, number, number][] = [
    ["ptr -1 (0xffffffff)", -1, 1],
    ["ptr 0xffffffff", 0xffff_ffff, 1],
    ["len -1 (0xffffffff)", 16, -1],
    ["ptr + len wrapping to 0 in u32", 0x10, 0xffff_fff0],
    ["ptr + len wrapping to a small number in u32", 0xffff_fff0, 0x20],
    ["ptr -2^31", -0x8000_0000, 4],
    ["both huge", 0x8000_0000, 0x8000_0000],
  ];

  it.each(wild)("refuses %s with InvalidPointer, in every accessor", (_what, ptr, len) => {
    const { mem } = setup();
    expect(thrown(BusError, () => mem.read(ptr, len)).code).toBe(Code.InvalidPointer);
    expect(thrown(BusError, () => mem.peek(ptr, len)).code).toBe(Code.InvalidPointer);
    expect(thrown(BusError, () => mem.readString(ptr, len)).code).toBe(Code.InvalidPointer);
  });

  it("refuses a write with a wild pointer or one that runs past the end, writing nothing", () => {
    const { mem, bytes } = setup();
    for (const ptr of [PAGE - 1, PAGE, -1, 0xffff_fffe, -0x8000_0000]) {
      const err = thrown(BusError, () => mem.write(ptr, new Uint8Array([1, 2])));
      expect(err.code).toBe(Code.InvalidPointer);
    }
    expect(bytes()[PAGE - 1]).toBe(0);
    expect(bytes()[0]).toBe(0);
  });

  it("reads a pointer past 2^31 as a u32 once memory is that large: no negative indexes", () => {
    const { mem } = setup();
    // -65536 is 0xffff0000: far past one page, never index -65536 from the end.
    expect(thrown(BusError, () => mem.read(-PAGE, 16)).message).toContain(`at ${0xffff_0000}`);
  });
});

describe("GuestMemory reads and writes", () => {
  it("write puts bytes where the guest's pointer says, read copies them out", () => {
    const { mem, bytes } = setup();
    mem.write(PAGE - 3, new Uint8Array([7, 8, 9]));
    expect([...bytes().subarray(PAGE - 3)]).toEqual([7, 8, 9]);
    const copy = mem.read(PAGE - 3, 3);
    expect([...copy]).toEqual([7, 8, 9]);
    // A copy: the guest changing its memory later does not change what was read.
    bytes()[PAGE - 3] = 42;
    expect(copy[0]).toBe(7);
  });

  it("peek is a view: it sees later changes, and is not a copy", () => {
    const { mem, bytes } = setup();
    const view = mem.peek(100, 2);
    bytes()[100] = 5;
    expect(view[0]).toBe(5);
    expect(view.buffer).toBe(bytes().buffer);
  });

  it("an empty write at the very end is fine", () => {
    const { mem } = setup();
    expect(() => mem.write(PAGE, new Uint8Array())).not.toThrow();
  });

  it("raw is the memory it wraps", () => {
    const { raw, mem } = setup();
    expect(mem.raw).toBe(raw);
  });
});

describe("GuestMemory strings", () => {
  const put = (mem: GuestMemory, at: number, data: number[] | string) => {
    const b = typeof data === "string" ? new TextEncoder().encode(data) : new Uint8Array(data);
    mem.write(at, b);
    return b.length;
  };

  it("reads ASCII, short and long", () => {
    const { mem } = setup();
    expect(mem.readString(0, put(mem, 0, "greet"))).toBe("greet");
    const long = "a-topic-name-longer-than-thirty-two-bytes-".repeat(3);
    expect(mem.readString(0, put(mem, 0, long))).toBe(long);
    expect(mem.readString(0, 0)).toBe("");
  });

  it("reads multi-byte UTF-8, short and long", () => {
    const { mem } = setup();
    expect(mem.readString(0, put(mem, 0, "é"))).toBe("é");
    expect(mem.readString(0, put(mem, 0, "chat-😀"))).toBe("chat-😀");
    const long = "ünïcødé ".repeat(10);
    expect(mem.readString(0, put(mem, 0, long))).toBe(long);
  });

  it("keeps a leading U+FEFF, as the codecs do: a name \\ufeffecho is not echo, short (readName too) or long", () => {
    const { mem } = setup();
    expect(mem.readString(0, put(mem, 0, "\ufeffecho"))).toBe("\ufeffecho");
    expect(mem.readName(0, put(mem, 0, "\ufeffecho"))).toBe("\ufeffecho");
    const long = "\ufeff" + "a-topic-name-longer-than-thirty-two-bytes";
    expect(mem.readString(0, put(mem, 0, long))).toBe(long);
  });

  const invalid: [string, number[]][] = [
    ["a lone continuation byte", [0x80]],
    ["0xff", [0x61, 0xff]],
    ["a truncated sequence", [0x61, 0xc3]],
    ["an overlong encoding", [0xc0, 0xaf]],
    ["an encoded surrogate", [0xed, 0xa0, 0x80]],
    ["a code point past U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
    ["bad bytes past 32 bytes", [...new Array(40).fill(0x61), 0xfe]],
    ["bad bytes in the first 32 of a long string", [0xfe, ...new Array(40).fill(0x61)]],
  ];

  it.each(invalid)("refuses %s with InvalidUtf8, naming what it read", (_what, data) => {
    const { mem } = setup();
    const err = thrown(BusError, () => mem.readString(8, put(mem, 8, data), "topic"));
    expect(err.code).toBe(Code.InvalidUtf8);
    expect(err.message).toBe("topic is not valid UTF-8");
  });
});

describe("GuestMemory after memory.grow", () => {
  it("sees the new pages in later reads, peeks and writes", () => {
    const { raw, mem } = setup();
    expect(thrown(BusError, () => mem.read(PAGE, 4)).code).toBe(Code.InvalidPointer);
    const before = mem.peek(0, 4); // a view of the buffer grow() detaches
    raw.grow(1);
    expect(before.length).toBe(0);
    expect(mem.size).toBe(2 * PAGE);
    mem.write(2 * PAGE - 4, new Uint8Array([1, 2, 3, 4]));
    expect([...mem.read(2 * PAGE - 4, 4)]).toEqual([1, 2, 3, 4]);
    expect([...new Uint8Array(raw.buffer, 2 * PAGE - 4)]).toEqual([1, 2, 3, 4]);
    expect(thrown(BusError, () => mem.read(2 * PAGE - 3, 4)).message).toContain(`(${2 * PAGE} bytes)`);
  });

  it("keeps what was written before the grow", () => {
    const { raw, mem } = setup();
    mem.write(10, new Uint8Array([9, 9]));
    raw.grow(2);
    expect([...mem.read(10, 2)]).toEqual([9, 9]);
    expect(mem.readString(3 * PAGE - 1, 0)).toBe("");
  });

  it("follows a grow from inside the guest, as memory.grow in Wasm does", async () => {
    // (module (memory (export "m") 1 4) (func (export "g") (result i32) (memory.grow (i32.const 1))))
    const wasm = new Uint8Array([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00,
      0x05, 0x04, 0x01, 0x01, 0x01, 0x04, 0x07, 0x09, 0x02, 0x01, 0x6d, 0x02, 0x00, 0x01, 0x67, 0x00, 0x00, 0x0a, 0x08,
      0x01, 0x06, 0x00, 0x41, 0x01, 0x40, 0x00, 0x0b,
    ]);
    // Node compiles from bytes; the Workers types (tsconfig) only know instantiate(module).
    const { instance } = await (WebAssembly.instantiate as unknown as (b: Uint8Array) => Promise<{ instance: WebAssembly.Instance }>)(wasm);
    const exports = instance.exports as { m: WebAssembly.Memory; g: () => number };
    const mem = new GuestMemory(exports.m);
    expect(mem.size).toBe(PAGE);
    expect(exports.g()).toBe(1);
    expect(mem.size).toBe(2 * PAGE);
    expect(mem.read(PAGE, 8)).toHaveLength(8);
  });

  it("a memory that is not there yet throws its reason on every access, and on none before", () => {
    const why = () => new Error("no memory yet");
    const mem = new GuestMemory(why);
    for (const access of [() => mem.size, () => mem.raw, () => mem.read(0, 0), () => mem.peek(0, 1), () => mem.write(0, new Uint8Array(1)), () => mem.readString(0, 0), () => mem.check(0, 0)]) {
      expect(access).toThrow("no memory yet");
    }
  });
});
