import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module script without types
import { OUTPUTS, stale } from "../../scripts/gen-abi.mjs";

describe("the SDKs' ABI bindings are generated from src/abi.ts", () => {
  it("has committed output matching the table (else: npm run gen:abi)", () => {
    expect(Object.keys(OUTPUTS)).toEqual(["assemblyscript", "rust", "client"]);
    expect(stale()).toEqual([]);
  });
});
