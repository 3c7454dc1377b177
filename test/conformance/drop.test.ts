import { describe, expect, it } from "vitest";
import { Format } from "../../src/abi.js";
import { BusCall } from "../../src/call.js";
import { type Clock, timerClock } from "../../src/clock.js";
import { BusError } from "../../src/errors.js";
import { guestApp } from "../helpers.js";

/**
 * Cancellation by drop, in both guest languages: a caller drops a fetch while
 * the module sleeps; the module must drop the sleep it made for that call.
 * The clock records every sleep and whether it was cut short.
 */
for (const module of ["fetcher", "fetcher-rs"]) {
  describe(`${module}: dropping a call drops the calls it made`, () => {
    it("cancels the pending sleep when the caller drops the fetch", async () => {
      const sleeps: { ms: number; aborted: boolean }[] = [];
      const clock: Clock = {
        // A clock that stands still, so a sleep's duration reads back exactly.
        now: () => 1_000_000,
        sleepUntil(until, signal) {
          const record = { ms: until - 1_000_000, aborted: false };
          sleeps.push(record);
          signal.addEventListener("abort", () => (record.aborted = true));
          return timerClock.sleepUntil(Date.now() + record.ms, signal);
        },
      };
      const { runtime } = guestApp({ clock });
      let outcome: string | undefined;
      const request = new TextEncoder().encode(JSON.stringify({ url: "http://127.0.0.1:1/", delayMs: 60_000 }));
      const call = new BusCall(module, "fetch", { format: Format.Json, data: request }, {
        finish: () => (outcome = "finished"),
        fail: (err: BusError) => (outcome = `failed ${err.code}`),
        callback: () => 0,
      });
      runtime.dispatch(call);
      await until(() => sleeps.length === 1);
      expect(sleeps[0]).toEqual({ ms: 60_000, aborted: false });
      call.drop("the test dropped it");
      await until(() => sleeps[0]!.aborted);
      expect(sleeps[0]!.aborted).toBe(true);
      expect(outcome).toBe("failed 7"); // Aborted, to the dropping caller
    });
  });
}

async function until(done: () => boolean, ms = 2000) {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
}
