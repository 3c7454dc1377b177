import { describe, expect, it } from "vitest";
import { Format } from "../src/abi.js";
import { decode, encode } from "../src/codec/index.js";
import { jsonKernel } from "../src/codec/json-kernel.js";
import { builtinServices } from "../src/services/index.js";
import "../src/worker-runtime.js";

/** The JSON codec's byte-array kernel as the Worker runs it (test/unit/json-bytes.test.ts holds it to JavaScript's output). */
describe("the JSON byte-array kernel in workerd", () => {
  it("is handed to the codec by the Worker and writes and reads a 64 KiB body", () => {
    expect(jsonKernel()).toBeDefined();
    const schema = builtinServices().topics["http.fetch"]!.response;
    const body = Uint8Array.from({ length: 65536 }, (_, i) => (i * 31 + (i >> 5)) & 0xff);
    const value = { status: 200, headers: [["content-type", "application/octet-stream"]], body };
    const json = encode(Format.Json, value, schema);
    expect(new TextDecoder().decode(json)).toBe(JSON.stringify({ ...value, body: Array.from(body) }));
    expect(decode(Format.Json, json, schema)).toEqual(value);
    expect(jsonKernel()!.count).toBe(65536);
  });
});
