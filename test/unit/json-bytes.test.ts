import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Format } from "../../src/abi.js";
import { decode, encode } from "../../src/codec/index.js";
import { BYTES_BY_HAND, conform, decodeJson, encodeJson, stringifyJson } from "../../src/codec/json.js";
import { jsonKernel, useJsonKernel } from "../../src/codec/json-kernel.js";
import type { Schema } from "../../src/codec/schema.js";
import { BusError } from "../../src/errors.js";
import { jsonKernelModule } from "./wat.js";

const utf8 = new TextEncoder();
const text = new TextDecoder();
const bytes = (n: number, seed = 31) => Uint8Array.from({ length: n }, (_, i) => (i * seed + (i >> 3)) & 0xff);
/** What JSON.stringify writes for the value with every Uint8Array as an array of numbers: serde_json's text. */
const reference = (v: unknown) =>
  JSON.stringify(v, (_k, x) => (x instanceof Uint8Array ? Array.from(x) : typeof x === "bigint" ? JSON.rawJSON(x.toString()) : x));
/** What JSON.parse and the schema made of a text before byte arrays were read by hand. */
const parsedBefore = (json: string, schema?: Schema) => conform(JSON.parse(json), schema);

const fetchResponse: Schema = { struct: { status: "u16", headers: { seq: { tuple: ["string", "string"] } }, body: "bytes" } };
const fetchRequest: Schema = {
  struct: { method: "string", url: "string", headers: { seq: { tuple: ["string", "string"] } }, body: { option: "bytes" } },
};

describe.each([
  ["in JavaScript", false],
  ["in the Wasm kernel (json-bytes.wat)", true],
])("JSON with byte arrays read and written by hand, %s", (_where, withKernel) => {
  beforeAll(async () => {
    useJsonKernel(withKernel ? jsonKernelModule() : undefined);
    expect(jsonKernel() !== undefined).toBe(withKernel);
  });
  afterAll(() => useJsonKernel(undefined));

  it("writes the same text as JSON.stringify of arrays of numbers, at every length around the threshold", () => {
    for (const n of [0, 1, BYTES_BY_HAND - 1, BYTES_BY_HAND, BYTES_BY_HAND + 1, 255, 256, 1000, 65536]) {
      const value = { status: 200, headers: [["content-type", "application/octet-stream"]], body: bytes(n) };
      expect(text.decode(encodeJson(value)), `n = ${n}`).toBe(reference(value));
      expect(stringifyJson(value)).toBe(reference(value));
    }
    // every byte value, each width of digits
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(text.decode(encodeJson(all))).toBe(JSON.stringify(Array.from(all)));
  });

  it("writes nested and mixed values as JSON.stringify does (undefined, functions, __proto__, bigints, holes)", () => {
    const proto = JSON.parse('{"__proto__": {"x": 1}}') as Record<string, unknown>;
    const value = {
      a: [bytes(40), 1, "two", undefined, () => 3, null, [bytes(2), bytes(64)]],
      b: { c: { d: bytes(100, 7) }, skipped: undefined, f: () => 1, big: 2n ** 70n },
      proto,
      "quote\"key": bytes(33),
      // biome-ignore lint/suspicious/noSparseArray: a hole, as JSON.stringify writes it (null)
      holes: [1, , 3],
    };
    expect(text.decode(encodeJson(value))).toBe(reference(value));
    expect(text.decode(encodeJson(bytes(50)))).toBe(reference(bytes(50)));
    // without long byte arrays (JSON.stringify writes it all): "__proto__" stays a key, nothing inherits
    const plain = { proto, list: [proto, { "1": 1, b: 2, "0": 0, __proto__x: 3 }], big: 1n };
    expect(text.decode(encodeJson(plain))).toBe('{"proto":{"__proto__":{"x":1}},"list":[{"__proto__":{"x":1}},{"0":0,"1":1,"b":2,"__proto__x":3}],"big":1}');
  });

  it("reads byte arrays into Uint8Array where the schema says bytes, as JSON.parse and conform did", () => {
    for (const n of [0, 5, BYTES_BY_HAND, 300, 65536]) {
      const value = { status: 200, headers: [["a", "b"]], body: bytes(n) };
      const json = reference(value);
      const got = decodeJson(utf8.encode(json), fetchResponse) as { body: Uint8Array };
      expect(got).toEqual(parsedBefore(json, fetchResponse));
      expect(got.body).toBeInstanceOf(Uint8Array);
      expect(got.body).toEqual(value.body);
    }
    const request = { method: "POST", url: "https://example.com/", headers: [], body: bytes(500) };
    expect(decodeJson(utf8.encode(reference(request)), fetchRequest)).toEqual(parsedBefore(reference(request), fetchRequest));
    expect(decodeJson(utf8.encode(reference({ ...request, body: null })), fetchRequest)).toEqual({ ...request, body: null });
  });

  it("reads a string where the schema says option<bytes> as its UTF-8 bytes, in a short text as in a long one (codec fuzzer, seed 11)", () => {
    // Below CUT_FROM the text goes to JSON.parse and conform, above it (with a byte array to cut)
    // to restore: the string came out a string from the one and bytes from the other.
    const schema: Schema = { struct: { body: { option: "bytes" }, data: "bytes" } };
    for (const n of [2, 600]) {
      const json = JSON.stringify({ body: 'h\u00e9\\"', data: Array.from(bytes(n)) });
      const got = decodeJson(utf8.encode(json), schema) as { body: unknown };
      expect(got.body, `${json.length} characters`).toEqual(utf8.encode('h\u00e9\\"'));
      expect(decodeJson(utf8.encode(JSON.stringify({ body: null, data: Array.from(bytes(n)) })), schema)).toMatchObject({ body: null });
    }
  });

  it("leaves long arrays of small numbers as numbers where the schema does not say bytes", () => {
    const schema: Schema = { struct: { body: "bytes", codes: { seq: "u16" }, free: "unit" } };
    const json = JSON.stringify({ body: Array.from(bytes(64)), codes: Array.from(bytes(64)), other: Array.from(bytes(64)), nested: { deep: [Array.from(bytes(40))] } });
    const got = decodeJson(utf8.encode(json), schema) as Record<string, unknown>;
    expect(got).toEqual(parsedBefore(json, schema));
    expect(got.body).toBeInstanceOf(Uint8Array);
    expect(Array.isArray(got.codes) && Array.isArray(got.other)).toBe(true);
  });

  it("reads what JSON allows around the numbers: spaces, newlines; and leaves anything else to JSON.parse", () => {
    const spaced = `{ "body" : [ ${Array.from(bytes(40)).join(" ,\n\t")} ] , "status": 1, "headers": [] }`;
    expect(decodeJson(utf8.encode(spaced), fetchResponse)).toEqual(parsedBefore(spaced, fetchResponse));
    // not bytes: 256, a leading zero, a sign, a fraction, an exponent; each is refused as bytes, as before
    for (const bad of ["256", "01", "-1", "1.5", "1e2"]) {
      const json = `{"status":1,"headers":[],"body":[${[...Array.from(bytes(40)), bad].join(",")}]}`;
      const before = (() => {
        try {
          return parsedBefore(json, fetchResponse);
        } catch (err) {
          return err;
        }
      })();
      if (before instanceof Error) expect(() => decodeJson(utf8.encode(json), fetchResponse)).toThrow();
      else expect(decodeJson(utf8.encode(json), fetchResponse)).toEqual(before);
    }
  });

  it("does not read arrays inside strings, and tells marks from data", () => {
    const inString = `{"status":1,"headers":[["x","[${Array.from(bytes(40)).join(",")}]"],["q","a \\" [1,2] \\\\"]],"body":[${Array.from(bytes(40)).join(",")}]}`;
    expect(decodeJson(utf8.encode(inString), fetchResponse)).toEqual(parsedBefore(inString, fetchResponse));
    // a string of its own with U+0000 in it: the text is read without cutting
    const nul = `{"status":1,"headers":[["\\u00000","x"]],"body":[${Array.from(bytes(40)).join(",")}]}`;
    expect(decodeJson(utf8.encode(nul), fetchResponse)).toEqual(parsedBefore(nul, fetchResponse));
  });

  it("fails on malformed text as before: DeserializationFailed", () => {
    const long = Array.from(bytes(40)).join(",");
    for (const bad of [`{"status":1,"headers":[],"body":[${long}]`, `{"status":1,"headers":[],"body":[${long}]}}`, `{"body":[${long}],"x":"unterminated}`, `\uFEFF\uFEFF{"body":[${long}]}`]) {
      expect(() => decode(Format.Json, utf8.encode(bad), fetchResponse), bad.slice(0, 40)).toThrow(BusError);
    }
    // a leading BOM goes, as TextDecoder did for the whole text
    expect(decode(Format.Json, utf8.encode(`\uFEFF{"status":1,"headers":[],"body":[${long}]}`), fetchResponse)).toMatchObject({ status: 1 });
  });

  it("round-trips through encode and decode, and transcodes to msgpack with bin", () => {
    const value = { status: 200, headers: [["content-length", "65536"]], body: bytes(65536) };
    const json = encode(Format.Json, value, fetchResponse);
    expect(decode(Format.Json, json, fetchResponse)).toEqual(value);
    const back = decode(Format.Msgpack, encode(Format.Msgpack, decode(Format.Json, json, fetchResponse), fetchResponse), fetchResponse) as { body: Uint8Array };
    expect(new Uint8Array(back.body)).toEqual(value.body); // msgpackr gives a Buffer in Node
  });
});

describe("the Wasm kernel against JavaScript", () => {
  let module: WebAssembly.Module;
  beforeAll(async () => {
    module = jsonKernelModule();
  });
  afterAll(() => useJsonKernel(undefined));

  /** Both ways: what the value or error was in JavaScript alone, and with the kernel. */
  function both<T>(run: () => T): [T | Error, T | Error] {
    const attempt = () => {
      try {
        return run();
      } catch (err) {
        return err as Error;
      }
    };
    useJsonKernel(undefined);
    const js = attempt();
    useJsonKernel(module);
    const kernel = attempt();
    return [js, kernel];
  }

  it("writes the same text for every length up to 300 and random bytes at 64 KiB", () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let n = 0; n <= 300; n++) {
      const value = { body: Uint8Array.from({ length: n }, random), tail: "x" };
      const [js, kernel] = both(() => text.decode(encodeJson(value)));
      expect(kernel, `n = ${n}`).toBe(js);
      expect(js).toBe(reference(value));
    }
    const big = Uint8Array.from({ length: 65536 }, random);
    const [js, kernel] = both(() => text.decode(encodeJson([big, "between", big])));
    expect(kernel).toBe(js);
  });

  it("writes every byte value at every lane of its 16-byte blocks, and every mix of widths in four bytes", () => {
    // byte i lands in lane i % 16 of its block: (i * 17 + r) & 255 puts every value in every lane over r 0-15
    for (let r = 0; r < 16; r++) {
      for (const n of [32, 33, 47, 48, 49, 63, 64, 65, 4096 + r]) {
        const body = Uint8Array.from({ length: n }, (_, i) => (i * 17 + r) & 0xff);
        const [js, kernel] = both(() => text.decode(encodeJson({ body })));
        expect(kernel, `r = ${r}, n = ${n}`).toBe(js);
      }
    }
    // the 81 mixes of one, two and three digits in four bytes (each four a squeeze of its own), 0 and 255 among them
    const widths = [[0, 9], [10, 99], [100, 255]];
    const mixes = Array.from({ length: 81 * 4 }, (_, i) => widths[Math.floor((i >> 2) / 3 ** (i & 3)) % 3]![(i >> 3) & 1]!);
    const [js, kernel] = both(() => text.decode(encodeJson({ body: Uint8Array.from(mixes) })));
    expect(kernel).toBe(js);
    expect(js).toBe(JSON.stringify({ body: mixes }));
    // ... and each mix at every one of the four places in a 16-byte block (each place reads its
    // widths from other bits of the block's masks), after 0-15 bytes of every width
    for (let lead = 0; lead < 16; lead++) {
      const body = [...Array.from({ length: lead }, (_, i) => widths[i % 3]![1]!), ...mixes, ...mixes.slice(0, 16)];
      for (const shift of [4, 8, 12]) {
        const shifted = [...body.slice(0, lead), ...mixes.slice(324 - shift), ...body.slice(lead)];
        const [jsShifted, kernelShifted] = both(() => text.decode(encodeJson({ body: Uint8Array.from(shifted) })));
        expect(kernelShifted, `lead ${lead}, shift ${shift}`).toBe(jsShifted);
        expect(jsShifted).toBe(JSON.stringify({ body: shifted }));
      }
    }
  });

  it("refuses a leading zero, a number over 255 and a fourth digit at every lane of its blocks, as JavaScript does", () => {
    const prefix = Array.from(bytes(40, 13));
    // (and the bytes either side of the digits: "/" is '0' - 1, ":" is '9' + 1)
    for (const fault of ["0", "00", "01", "09", "000", "001", "012", "099", "256", "260", "300", "400", "500", "600", "700", "800", "900", "999", "1000", "2550", "1255", "9100", "", ",", ",,", ":", "1:", "/", "1/2"]) {
      for (let at = 30; at < 50; at++) {
        const nums: (string | number)[] = [...prefix, ...prefix];
        nums[at] = fault;
        const json = `{"status":1,"headers":[],"body":[${nums.join(",")}]}`.padEnd(600, " ");
        const [js, kernel] = both(() => decodeJson(utf8.encode(json), fetchResponse));
        if (js instanceof Error) expect(kernel, json).toBeInstanceOf(Error);
        else expect(kernel, json).toEqual(js);
        if (fault === "0") expect(jsonKernel()!.count).toBe(80);
      }
    }
  });

  it("reads the same values, and fails alike, on arrays near the edges of its 16-byte blocks", { timeout: 30_000 }, () => {
    let seed = 11;
    const random = (m: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % m;
    // what a number may be turned into: JSON that is not a byte, or is one with whitespace
    const faults = ["256", "300", "999", "1000", "01", "00", "007", "-1", "1.5", "1e2", " 1", "1 ", "\n7", "", "2551", "25 5", "x", "]", ":", "9:", "/", "1234"];
    for (let round = 0; round < 3000; round++) {
      const n = random(4) === 0 ? random(40) : 28 + random(120);
      const nums: string[] = Array.from({ length: n }, () => String(random(256)));
      const kind = random(3);
      if (kind > 0 && n) nums[random(n)] = faults[random(faults.length)]!;
      if (kind > 1 && n) nums[random(n)] = faults[random(faults.length)]!;
      const pad = " ".repeat(random(20));
      const json = `{"status":1,${pad}"headers":[["a","${"b".repeat(random(17))}"]],"body":[${nums.join(",")}]${random(5) ? "" : " "}}`;
      const data = utf8.encode(json.padEnd(520, " "));
      const [js, kernel] = both(() => decodeJson(data, fetchResponse));
      if (js instanceof Error) expect(kernel, json).toBeInstanceOf(Error);
      else expect(kernel, json).toEqual(js);
    }
  });

  it("reads every comma mask its 16-byte blocks can pass, each squeezed by its own row of the table", () => {
    // A mask can pass when no two commas are side by side and no four lanes in a row are digits.
    const passes = (m: number) => !(m & (m >> 1)) && !/0000/.test(m.toString(2).padStart(16, "0"));
    const masks = Array.from({ length: 65536 }, (_, m) => m).filter(passes);
    expect(masks.length).toBe(683);
    const lead = (m: number) => 31 - Math.clz32(m & -m); // digits before the first comma
    const trail = (m: number) => Math.clz32(m) - 16; // digits after the last comma
    // Block after block, each mask once, a filler mask between two that cannot follow each other
    // (digits running on past three, or a comma each side of the seam).
    const fits = (x: number, y: number) => trail(x) + lead(y) <= 3 && !(x & 0x8000 && y & 1);
    const windows: number[] = [];
    for (const m of masks) {
      const prev = windows.at(-1);
      // the first block follows "[1,2,": a comma before it
      if (prev === undefined ? m & 1 : !fits(prev, m)) windows.push(masks.find((f) => (prev === undefined ? !(f & 1) : fits(prev, f)) && fits(f, m))!);
      windows.push(m);
    }
    let seed = 3;
    const digit = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) % 10;
    let chars = "";
    for (const w of windows) for (let i = 0; i < 16; i++) chars += w & (1 << i) ? "," : "d";
    // each run of digits a number: no leading zero, 1xx for three digits
    const body = chars.replace(/d+/g, (run) => (run.length === 1 ? `${digit()}` : run.length === 2 ? `${1 + (digit() % 9)}${digit()}` : `1${digit()}${digit()}`));
    const text = `[1,2,${body}${body.endsWith(",") ? "" : ","}${"1,".repeat(24)}1]`;
    // the blocks start at the first number from three bytes past the "[" on: just after "[1,2,"
    for (let b = 0; b < windows.length; b++) {
      let m = 0;
      for (let i = 0; i < 16; i++) if (text[5 + b * 16 + i] === ",") m |= 1 << i;
      expect(m).toBe(windows[b]);
    }
    const values = JSON.parse(text) as number[];
    const json = utf8.encode(`{"status":1,"headers":[],"body":${text}}`);
    const [js, kernel] = both(() => (decodeJson(json, fetchResponse) as { body: Uint8Array }).body);
    expect(jsonKernel()!.count).toBe(values.length);
    expect(jsonKernel()!.blocked).toBeGreaterThan(text.length - 48);
    expect(kernel).toEqual(js);
    expect(Array.from(kernel as Uint8Array)).toEqual(values);
  });

  it("reads compact arrays itself, 16 bytes at a time but for their first and last few numbers", () => {
    useJsonKernel(module);
    let seed = 5;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    // every value, zeros and one-digit runs among them: a block a kernel refuses goes to its scalar loop, slowly
    for (const body of [bytes(65536), Uint8Array.from({ length: 65536 }, random), Uint8Array.from({ length: 4096 }, (_, i) => (i >> 4) % 3 ? i & 0xff : i % 10)]) {
      expect((decodeJson(encodeJson({ status: 1, headers: [], body }), fetchResponse) as { body: Uint8Array }).body).toEqual(body);
      expect(jsonKernel()!.count).toBe(body.length);
      expect(jsonKernel()!.blocked).toBeGreaterThan(JSON.stringify(Array.from(body)).length - 48);
    }
  });

  it("leaves a payload past its memory to JavaScript, with the same result", () => {
    const value = { status: 200, headers: [], body: bytes(4 << 20) };
    const [js, kernel] = both(() => encodeJson(value));
    expect(Buffer.compare(kernel as Uint8Array, js as Uint8Array)).toBe(0);
    // the first array in the kernel's memory, the second past it: the rest in JavaScript
    const two = [bytes(2 << 20, 3), "and", bytes(2 << 20, 5)];
    const [jsTwo, kernelTwo] = both(() => encodeJson(two));
    expect(Buffer.compare(kernelTwo as Uint8Array, jsTwo as Uint8Array)).toBe(0);
    const [back, backKernel] = both(() => (decodeJson(js as Uint8Array, fetchResponse) as { body: Uint8Array }).body);
    expect(Buffer.compare(backKernel as Uint8Array, back as Uint8Array)).toBe(0);
    expect(Buffer.compare(back as Uint8Array, value.body)).toBe(0);
  });
});
