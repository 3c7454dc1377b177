import { describe, expect, it } from "vitest";
import { guestApp, withoutJspi } from "./helpers.js";

describe("command-style modules (test/guests/cmd)", () => {
  it("runs _start with args, prints through WASI, sleeps in poll and exits with its code", async () => {
    const { runtime, logs } = guestApp();
    const started = Date.now();
    const code = await runtime.spawn("cmd", { args: ["hi there"] }).run();
    expect(code).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    const out = logs.filter((l) => l.module === "cmd" && l.stream === "stdout").map((l) => l.msg);
    expect(out).toEqual(["hi there", "slept"]);
  });

  it("runs the same with JSPI hidden: the build asyncified it", async () => {
    const { runtime, logs } = guestApp();
    expect(await withoutJspi(() => runtime.spawn("cmd", { args: ["x"] }).run())).toBe(3);
    expect(logs.filter((l) => l.module === "cmd" && l.stream === "stdout").map((l) => l.msg)).toEqual(["x", "slept"]);
  });
});
