import { describe, expect, it } from "vitest";
import { Format } from "../src/abi.js";
import { LOG_LINE_UNITS } from "../src/log.js";
import { guestApp } from "./helpers.js";

const json = (v: unknown) => ({ format: Format.Json, data: new TextEncoder().encode(JSON.stringify(v)) });
/** test/guests/log-relay's limits.logBytes. */
const BUDGET = 4096;

describe("os log.write", () => {
  it("holds a guest's bus calls to its own limits.logBytes, as its log import is, one entry at a time", async () => {
    const { runtime, logs } = guestApp();
    const write = async (message: string) => {
      const reply = await runtime.request("log-relay", "write", json({ level: 2, message }));
      expect(new DataView(reply.data.buffer, reply.data.byteOffset).getUint32(0, true), "call_now's status").toBe(0);
    };
    // One instance (log-relay is shared) takes every call: each is an entry of its own, with the
    // whole budget, so 20 lines of 1,000 bytes all reach the logs, where the budget of the
    // instance's life ran out after four.
    for (let i = 0; i < 20; i++) await write(`line ${i} ${"L".repeat(1000)}`);
    const mine = () => logs.filter((l) => l.module === "log-relay").map((l) => l.msg);
    expect(mine().map((m) => m.slice(0, m.lastIndexOf(" ")))).toEqual(Array.from({ length: 20 }, (_, i) => `line ${i}`));
    // A line past the budget is the notice that it is spent instead; the next entry logs again.
    await write("B".repeat(BUDGET + 1));
    await write("after");
    expect(mine().slice(20)).toEqual([`log limit of ${BUDGET} bytes reached; further lines from this instance are dropped until its next entry (a call, a callback, a wake)`, "after"]);
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
