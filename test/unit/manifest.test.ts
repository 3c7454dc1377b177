// module.json as src/manifest.ts reads it: what it refuses, naming the key, and every manifest in
// the repository passing. A misspelt key was ignored: "limit" for "limits" left the defaults in
// place, "fromat" made a msgpack topic json, and nothing said so.
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_REPLY_BYTES } from "../../sdk/client/src/http.js";
import { Format } from "../../src/abi.js";
import { encode } from "../../src/codec/index.js";
import { kv, LIST_MAX } from "../../src/services/kv/index.js";
import { DEFAULT_LIMITS, LIMIT_MAXIMA, MAX_PAYLOAD_BYTES, parseManifest, type Limits } from "../../src/manifest.js";

const topic = { format: "json", request: { struct: { id: "u32" } } };

describe("parseManifest", () => {
  it("refuses a key it does not know, at the top and in a topic, naming it", () => {
    expect(() => parseManifest("m", { topics: { t: topic }, limit: { fuel: 1 } })).toThrow(/module m: unknown key "limit"/);
    expect(() => parseManifest("m", { topics: { t: { ...topic, fromat: "msgpack" } } })).toThrow(/module m: topic t: unknown key "fromat"/);
    expect(() => parseManifest("m", { topics: {}, fetch: { alow: ["*"] } })).toThrow(/module m: fetch: unknown key "alow"/);
  });

  it("checks a topic's callbacks as it checks its request and response", () => {
    expect(() => parseManifest("m", { topics: { t: { ...topic, callbacks: { tick: "u33" } } } })).toThrow(/module m: topic t: callbacks\.tick: unknown type "u33"/);
    expect(() => parseManifest("m", { topics: { t: { ...topic, callbacks: ["tick"] } } })).toThrow(/module m: topic t: callbacks must be an object/);
  });

  it("refuses requestBytes and responseBytes over what a call across objects carries (Workers RPC: 32 MiB), naming the key and the most", () => {
    for (const key of ["requestBytes", "responseBytes"]) {
      for (const value of [100 * 2 ** 20, 2 ** 40, MAX_PAYLOAD_BYTES + 1]) {
        expect(() => parseManifest("m", { topics: {}, limits: { [key]: value } })).toThrow(`module m: limit ${key} is ${value}, over the most a call can carry across objects, ${MAX_PAYLOAD_BYTES} (16 MiB)`);
      }
      expect(parseManifest("m", { topics: {}, limits: { [key]: MAX_PAYLOAD_BYTES } }).limits[key as "requestBytes"]).toBe(MAX_PAYLOAD_BYTES);
    }
  });

  // Each limit's most, written out: a change to one is a change to the contract docs/host.md states.
  const MOST: Record<keyof Limits, number> = {
    memoryPages: 2048, requestBytes: 16 << 20, responseBytes: 16 << 20, callTimeoutMs: 2 ** 31 - 1,
    fuel: Number.MAX_SAFE_INTEGER, maxCalls: 1 << 20, maxHandles: 1 << 20, logBytes: 16 << 20,
    maxInstances: 2048, maxWaiting: 16384, stdinBytes: 16 << 20, socketBufferBytes: 16 << 20,
    kvKeyBytes: 2048, kvValueBytes: 1 << 20, kvKeys: 10_000_000, kvBytes: 1 << 30,
  };

  it("bounds every limit from above: at its most it is taken, one past it (or 2^60) is refused naming the key and the most", () => {
    expect(Object.keys(MOST).sort()).toEqual(Object.keys(DEFAULT_LIMITS).sort());
    for (const [key, most] of Object.entries(MOST) as [keyof Limits, number][]) {
      expect(LIMIT_MAXIMA[key].most, key).toBe(most);
      expect(parseManifest("m", { topics: {}, limits: { [key]: most } }).limits[key], key).toBe(most);
      for (const value of [most + 1, 2 ** 60]) {
        // most + 1 of MAX_SAFE_INTEGER is not an integer JSON can tell from it: 2 ** 53 + 2 is.
        const over = most === Number.MAX_SAFE_INTEGER && value === most + 1 ? most + 3 : value;
        expect(() => parseManifest("m", { topics: {}, limits: { [key]: over } }), `${key} ${over}`).toThrow(new RegExp(`^module m: limit ${key} is ${over}, over .*, ${most}( \\(.*\\))?$`));
      }
    }
  });

  it("holds every default within its most", () => {
    for (const [key, value] of Object.entries(DEFAULT_LIMITS) as [keyof Limits, number][]) expect(value, key).toBeLessThanOrEqual(LIMIT_MAXIMA[key].most);
  });

  it("has kvKeyBytes' most hold its reason: a full kv.list page of the longest keys, as JSON escapes them at the most (\\u0001 for a byte), fits a reply", () => {
    const key = "\u0001".repeat(LIMIT_MAXIMA.kvKeyBytes.most);
    const page = encode(Format.Json, { keys: Array<string>(LIST_MAX).fill(key), cursor: key }, kv.topics["kv.list"]!.response);
    expect(page.length).toBeGreaterThan(6 * LIST_MAX * LIMIT_MAXIMA.kvKeyBytes.most);
    expect(page.length).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
  });

  it("refuses a limit that is not a positive integer (fuel 1.5 failed every instance: BigInt(1.5) throws)", () => {
    for (const value of [1.5, 0, -1, Number.NaN, "10", null]) {
      expect(() => parseManifest("m", { topics: {}, limits: { fuel: value } }), String(value)).toThrow("module m: limit fuel must be a positive integer");
    }
  });

  it("is the client's default cap on a reply's body: the client reads whatever reply the runtime may send, and no more", () => {
    expect(MAX_REPLY_BYTES).toBe(MAX_PAYLOAD_BYTES);
  });

  it("takes every key a module may have, the build's (target, source, metering) among them", () => {
    const manifest = parseManifest("m", {
      description: "d", instances: "shared", target: "wasm32-wasip1", source: "x.wat", metering: false,
      fetch: { allow: ["*"] }, limits: { fuel: 10 },
      topics: { t: { ...topic, accepts: ["msgpack"], response: "bool", callbacks: { tick: "u32" }, description: "t" }, raw: "raw" },
    });
    expect(manifest.topics.t!.callbacks).toEqual({ tick: "u32" });
  });

  it("takes every module.json in the repository", () => {
    for (const tree of ["modules", "test/guests", "bench/guests"]) {
      for (const name of readdirSync(tree)) {
        const file = join(tree, name, "module.json");
        if (existsSync(file)) expect(() => parseManifest(name, JSON.parse(readFileSync(file, "utf8"))), file).not.toThrow();
      }
    }
  });
});
