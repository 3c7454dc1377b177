/// <reference types="node" />
import { describe, it } from "vitest";
import { runCodecDiff } from "../fuzz/codec-diff.js";
import { jsonKernelModule } from "./wat.js";

/**
 * The differential codec fuzzer (test/fuzz/codec-diff.ts) for one seed: random schemas and values
 * through json, msgpack and bincode, every transcoding between them, validate and the edge's
 * checkRequest (a repeated key too), and JSON's long path. `npm run fuzz -- --codec [--seed N] [--runs K] [--actions M]` runs it for other seeds.
 */
const seed = Number(process.env.CODEC_FUZZ_SEED ?? 20261130);
const count = Number(process.env.CODEC_FUZZ_COUNT ?? 2000);

describe("codecs agree with each other (seeded schemas and values)", () => {
  it(`seed ${seed}: ${count} schemas`, () => {
    runCodecDiff({ seed, count, kernel: jsonKernelModule() });
  }, 60_000);
});
