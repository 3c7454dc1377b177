import { describe, expect, it } from "vitest";
import { Format } from "../../src/abi.js";
import { decode, encode } from "../../src/codec/index.js";
import { BYTES_BY_HAND, conform, decodeJson, encodeJson, stringifyJson } from "../../src/codec/json.js";
import type { Schema } from "../../src/codec/schema.js";
import { BusError } from "../../src/errors.js";

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

describe("JSON with byte arrays read and written by hand", () => {
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
