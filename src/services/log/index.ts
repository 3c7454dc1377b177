import { levelName } from "../../log.js";
import { cutNoted } from "../../text.js";
import { builtin } from "../service.js";

/**
 * Longest line log.write passes on, in UTF-16 units, as the log budget counts (a process's output
 * comes in pieces of the same size).
 */
export const LOG_LINE_UNITS = 64 << 10;

/** The `log` service, for guests that prefer a bus call to the `log` import. */
export const logService = builtin({
  "log.write": {
    description: "Writes one line to the Worker's logs, tagged with the calling module and call; within the caller's limits.logBytes, as the log import is, and cut at 65,536 UTF-16 units.",
    request: { struct: { level: "u8", message: "string" } },
    response: "unit",
    run(req: { level: number; message: string }, call, ctx) {
      const msg = cut(String(req.message));
      // A guest's line goes through its instance, which holds it to the instance's log budget.
      if (call.from) call.from.log(req.level, msg);
      else ctx.log({ module: ctx.caller?.name ?? call.caller, level: levelName(req.level), msg, call: call.parent?.id ?? call.id });
      return null;
    },
  },
});

/** A line cut to LOG_LINE_UNITS, saying so. */
const cut = (msg: string) => cutNoted(msg, LOG_LINE_UNITS);
