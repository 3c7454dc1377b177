import { BusError } from "../../errors.js";
import { builtin } from "../service.js";

/** Sleeps and clocks. In a plain call a sleep is a timer; processes map it to alarms. */
export const time = builtin({
  "time.sleep": {
    description: "Sleeps for duration_ms milliseconds; dropping the call wakes it early with Aborted.",
    request: { struct: { duration_ms: "u128" } },
    response: "unit",
    async run(req: { duration_ms: number | bigint }, call, ctx) {
      const ms = Number(req.duration_ms);
      if (!Number.isFinite(ms) || ms < 0) throw BusError.of("BadRequest", "time.sleep: duration_ms must be a non-negative integer");
      await ctx.clock.sleep(ms, call.signal);
      return null;
    },
  },
  "time.now": {
    description: "Milliseconds since the Unix epoch.",
    request: { struct: {} },
    response: "u128",
    run: () => Date.now(),
  },
});
