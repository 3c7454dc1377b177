/// <reference types="node" />
import { afterAll, describe, expect, it } from "vitest";
import { conform, decodeJson } from "../../src/codec/json.js";
import { useJsonKernel } from "../../src/codec/json-kernel.js";
import type { Schema } from "../../src/codec/schema.js";
import { Rng } from "../fuzz/rng.js";
import { jsonKernelModule } from "./wat.js";

/**
 * The JSON reader's byte arrays read by hand (json-bytes-read.ts, in JavaScript and in the Wasm
 * kernel) against JSON.parse and conform, on seeded texts with byte arrays, strings that look
 * like them, whitespace, and a few random edits: the same value, or a failure both ways.
 * `npm run fuzz -- --codec [--seed N] [--runs K] [--actions M]` runs it (and the msgpack scan's
 * property test) for other seeds.
 */
const seed = Number(process.env.CODEC_FUZZ_SEED ?? 20261130);
const count = Number(process.env.CODEC_FUZZ_COUNT ?? 2000);

const SHAPES: [Schema, (t: Texts) => string][] = [
  [{ struct: { status: "u16", headers: { seq: { tuple: ["string", "string"] } }, body: "bytes" } }, (t) => `{"status":${t.r.int(70000)},"headers":[[${t.str()},${t.str()}]],"body":${t.arr()}}`],
  [{ struct: { body: { option: "bytes" }, list: { seq: "bytes" }, other: { seq: "u8" } } }, (t) => `{"body":${t.r.chance(0.3) ? "null" : t.arr()},"list":[${t.arr()},${t.arr()}],"other":${t.arr()}}`],
  [{ seq: "bytes" }, (t) => `[${t.arr()},${t.sp()}${t.arr()}]`],
  [{ tuple: ["bytes", "string", { option: "bytes" }] }, (t) => `[${t.arr()},${t.str()},${t.r.chance(0.5) ? "null" : t.arr()}]`],
];

class Texts {
  constructor(readonly r: Rng) {}
  sp = () => this.r.pick(["", "", "", " ", "\n", "\t ", "  "]);
  arr = () => {
    const items: (number | string)[] = Array.from({ length: this.r.pick([31, 32, 33, 40, 100, 300]) }, () => this.r.int(256));
    // now and then one number that is no byte as JSON writes it
    if (this.r.chance(0.3)) items[this.r.int(items.length)] = this.r.pick(["256", "300", "999", "01", "00", "-1", "-0", "1.5", "1e2", "2E0", "1000"]);
    return `[${this.sp()}${items.join(this.r.pick([",", ",", ", ", " ,", ",\n"]))}${this.sp()}]`;
  };
  str = () => JSON.stringify(this.r.pick(["a", "[1,2,3]", "\\", '"', "x\u0000", "é", `[${Array.from({ length: 40 }, (_, i) => i).join(",")}]`, '\\\\"', "]"]));
}

const EDITS = ["[", "]", "{", "}", ",", '"', "\\", " ", "0", "1", "9", "2", "5", "6", "-", ".", "e", "\n", "u", "00", "256", "255,", ",,"];
const utf8 = new TextEncoder();
/** A value as text, bytes told apart from arrays of numbers. */
const seen = (run: () => unknown) => {
  try {
    return JSON.stringify(run(), (_k, x) => (x instanceof Uint8Array ? { bytes: Array.from(x) } : typeof x === "bigint" ? `${x}n` : x));
  } catch {
    return "fails";
  }
};

describe("JSON byte arrays read by hand agree with JSON.parse (seeded, edited texts)", () => {
  afterAll(() => useJsonKernel(undefined));

  it(`seed ${seed}: ${count} texts, in JavaScript and in the kernel`, async () => {
    const kernel = jsonKernelModule();
    const r = new Rng(seed);
    const texts = new Texts(r);
    for (let i = 0; i < count; i++) {
      const [schema, make] = r.pick(SHAPES);
      let text = make(texts);
      for (let m = r.int(4); m > 0; m--) {
        const at = r.int(text.length + 1);
        const op = r.int(3);
        text = op === 0 ? text.slice(0, at) + r.pick(EDITS) + text.slice(at) : op === 1 ? text.slice(0, at) + text.slice(at + 1 + r.int(3)) : text.slice(0, at) + r.pick(EDITS) + text.slice(at + 1);
      }
      // long enough to be cut (json.ts CUT_FROM): leading whitespace is JSON's
      if (text.length < 520) text = " ".repeat(520 - text.length) + text;
      const expected = seen(() => conform(JSON.parse(text), schema));
      for (const module of [undefined, kernel]) {
        useJsonKernel(module);
        const got = seen(() => decodeJson(utf8.encode(text), schema));
        if (got !== expected) expect({ text, kernel: !!module, got }).toEqual({ text, kernel: !!module, got: expected });
      }
    }
  }, 120_000);
});
