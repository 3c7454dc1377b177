import { describe, expect, it } from "vitest";
import { Format } from "../../src/abi.js";
import { BusError } from "../../src/errors.js";
import { Runtime } from "../../src/runtime.js";
import { fuel } from "./wat.js";

const enc = new TextEncoder();

/** os time.sleep on the runtime's own clock (timers), for `duration_ms`: whether it ended within `waitMs`, and how. */
async function sleepFor(duration_ms: number, waitMs: number): Promise<string> {
  const runtime = new Runtime({}, { fuel: fuel(), log: () => {} });
  const drop = new AbortController();
  let outcome = "still asleep";
  const done = runtime.request("os", "time.sleep", { format: Format.Json, data: enc.encode(JSON.stringify({ duration_ms })) }, { signal: drop.signal }).then(
    () => (outcome = "woke"),
    (err: BusError) => (outcome = err.codeName),
  );
  await new Promise((resolve) => setTimeout(resolve, waitMs));
  const seen = outcome;
  drop.abort("the test is over");
  await done;
  return seen;
}

describe("time.sleep on timers", () => {
  it("sleeps a duration past setTimeout's 32-bit delay (2^31 ms and more) and does not wake at once", async () => {
    for (const ms of [2 ** 31, 2 ** 32 + 5, 1e15]) expect(await sleepFor(ms, 40), `${ms} ms`).toBe("still asleep");
  });

  it("still wakes a short sleep, and a dropped long one ends Aborted", async () => {
    expect(await sleepFor(1, 40)).toBe("woke");
    const runtime = new Runtime({}, { fuel: fuel(), log: () => {} });
    const drop = new AbortController();
    const call = runtime.request("os", "time.sleep", { format: Format.Json, data: enc.encode('{"duration_ms":4294967296}') }, { signal: drop.signal });
    drop.abort("dropped");
    await expect(call).rejects.toMatchObject({ codeName: "Aborted" });
  });
});
