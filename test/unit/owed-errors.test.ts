import { describe, expect, it } from "vitest";
import { owedErrors } from "../fuzz/owed.js";

describe("owedErrors: the error frames a hostile attachment client is owed (test/node/ws-hostile.test.ts)", () => {
  it("each B and L owed once, each l an L or nothing, in order, none more", () => {
    expect(owedErrors("", "")).toBe(true);
    expect(owedErrors("lll", "")).toBe(true);
    expect(owedErrors("lll", "LLL")).toBe(true);
    expect(owedErrors("lll", "LLLL")).toBe(false);
    expect(owedErrors("lL", "L")).toBe(true); // the L owed, the l nothing
    expect(owedErrors("lL", "")).toBe(false);
    expect(owedErrors("lBl", "BL")).toBe(true);
    expect(owedErrors("lBl", "LB")).toBe(true);
    expect(owedErrors("BL", "LB")).toBe(false); // out of order
    expect(owedErrors("BlB", "B")).toBe(false); // one missing
    expect(owedErrors("B", "(InvalidHandle)")).toBe(false);
  });

  // Seed 12 of the node test, 1200 actions: what one socket owed, and what it had got when the
  // test looked. As a RegExp (l as L?) the first answer took 17 s, a stall of the test's own
  // process; owedErrors follows every position at once, so it never backtracks (no clock here:
  // timed tests lie on these machines).
  it("answers a long run of optional L's", () => {
    const owed = "llllllllllllllLllllllllllllllllllllBlllBlllBlBlBlllBBllBlBllBBLBlllLl";
    expect(owedErrors(owed, `${"L".repeat(22)}BBBBBBBBB`)).toBe(false);
    expect(owedErrors(owed, `${"L".repeat(22)}BBBBBBBBBBBLBL`)).toBe(true);
  });
});
