import { describe, expect, it } from "vitest";
import type { BusCall } from "../../src/call.js";
import { liveSubprocesses, MAX_TREE_SUBPROCESSES, takeSlot } from "../../src/services/process/slots.js";

/** A call from outside: no instance made it, so it is the root of its own tree. */
const outside = () => ({}) as BusCall;

describe("takeSlot", () => {
  it("takes a place in the isolate's and the tree's count at once, and gives both back once however often it is called", () => {
    const root = outside();
    const giveBack = takeSlot(root);
    expect(liveSubprocesses()).toBe(1);
    giveBack();
    giveBack(); // an end after a failed start: the counts must not drift below what is live
    expect(liveSubprocesses()).toBe(0);
    // the tree's count came back too: all its places can be taken again, and no more
    const all = Array.from({ length: MAX_TREE_SUBPROCESSES }, () => takeSlot(root));
    expect(() => takeSlot(root)).toThrow(/sub-processes of this tree/);
    expect(liveSubprocesses()).toBe(MAX_TREE_SUBPROCESSES);
    // a refusal takes nothing from either count
    all.forEach((g) => g());
    expect(liveSubprocesses()).toBe(0);
    expect(() => takeSlot(root)()).not.toThrow();
  });
});
