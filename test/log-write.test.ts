import { describe, expect, it } from "vitest";
import { Format } from "../src/abi.js";
import { LOG_LINE_UNITS } from "../src/services/log/index.js";
import { guestApp } from "./helpers.js";

const json = (v: unknown) => ({ format: Format.Json, data: new TextEncoder().encode(JSON.stringify(v)) });
/** test/guests/log-relay's limits.logBytes. */
const BUDGET = 4096;

describe("os log.write", () => {
  it("holds a guest's bus calls to its own limits.logBytes, as its log import is", async () => {
    const { runtime, logs } = guestApp();
    for (let i = 0; i < 20; i++) {
      const reply = await runtime.request("log-relay", "write", json({ level: 2, message: `line ${i} ${"L".repeat(1000)}` }));
      expect(new DataView(reply.data.buffer, reply.data.byteOffset).getUint32(0, true), "call_now's status").toBe(0);
    }
    const mine = logs.filter((l) => l.module === "log-relay");
    // Four lines fit the budget, the fifth is the notice that it is spent, and nothing after.
    expect(mine.map((l) => l.msg.slice(0, 7))).toEqual(["line 0 ", "line 1 ", "line 2 ", "line 3 ", "log lim"]);
    expect(mine.at(-1)!.msg).toBe(`log limit of ${BUDGET} bytes reached; further lines from this instance are dropped`);
  });

  it("cuts a line at 64 KiB where there is no instance to charge", async () => {
    const { runtime, logs } = guestApp();
    await runtime.request("os", "log.write", json({ level: 2, message: "x".repeat(500_000) }), { caller: "test" });
    expect(logs).toHaveLength(1);
    expect(logs[0]!.msg).toBe(`${"x".repeat(LOG_LINE_UNITS)}… (cut: 500000 characters)`);
  });

  it("never cuts a line between the two halves of a character", async () => {
    const { runtime, logs } = guestApp();
    // The cut falls inside the emoji: its first half alone would be a lone surrogate in the log.
    const message = `${"x".repeat(LOG_LINE_UNITS - 1)}😀${"y".repeat(10)}`;
    await runtime.request("os", "log.write", json({ level: 2, message }), { caller: "test" });
    expect(logs[0]!.msg).toBe(`${"x".repeat(LOG_LINE_UNITS - 1)}… (cut: ${message.length} characters)`);
    expect(logs[0]!.msg.isWellFormed()).toBe(true);
  });
});
