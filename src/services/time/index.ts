import { BusError } from "../../errors.js";
import type { BusCall } from "../../call.js";
import { builtin, type ServeContext } from "../service.js";

/**
 * Sleeps until `until` (ms since the epoch). The call can go on in an instance restored from a
 * snapshot: as a sleep until the same time (time.sleep_until), so a process evicted mid-sleep
 * wakes when it would have.
 */
async function sleepUntil(until: number, call: BusCall, ctx: ServeContext): Promise<null> {
  call.resume = { topic: "time.sleep_until", request: { until_ms: until } };
  await ctx.clock.sleepUntil(until, call.signal);
  return null;
}

/** A non-negative integer of milliseconds, or BadRequest naming the field. */
function millis(value: number | bigint, what: string): number {
  const ms = Number(value);
  if (!Number.isFinite(ms) || ms < 0) throw BusError.of("BadRequest", `${what} must be a non-negative integer`);
  return ms;
}

/** Sleeps and clocks. In a plain call a sleep is a timer; processes map it to alarms. */
export const time = builtin({
  "time.sleep": {
    description: "Sleeps for duration_ms milliseconds; dropping the call wakes it early with Aborted.",
    request: { struct: { duration_ms: "u128" } },
    response: "unit",
    run: (req: { duration_ms: number | bigint }, call, ctx) => sleepUntil(ctx.clock.now() + millis(req.duration_ms, "time.sleep: duration_ms"), call, ctx),
  },
  "time.sleep_until": {
    description: "Sleeps until until_ms (milliseconds since the Unix epoch; at once if it has passed); dropping the call wakes it early with Aborted.",
    request: { struct: { until_ms: "u128" } },
    response: "unit",
    run: (req: { until_ms: number | bigint }, call, ctx) => sleepUntil(millis(req.until_ms, "time.sleep_until: until_ms"), call, ctx),
  },
  "time.now": {
    description: "Milliseconds since the Unix epoch.",
    request: { struct: {} },
    response: "u128",
    run: () => Date.now(),
  },
});
