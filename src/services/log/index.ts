import { cutLine, levelName } from "../../log.js";
import { builtin } from "../service.js";

/** The `log` service, for guests that prefer a bus call to the `log` import. */
export const logService = builtin({
  "log.write": {
    description: "Writes one line to the Worker's logs, tagged with the calling module and call; within the caller's limits.logBytes, as the log import is, and cut at 65,536 UTF-16 units.",
    request: { struct: { level: "u8", message: "string" } },
    response: "unit",
    run(req: { level: number; message: string }, call, ctx) {
      const msg = String(req.message);
      // A guest's line goes through its instance, which cuts it and holds it to the instance's log budget.
      if (call.from) call.from.log(req.level, msg);
      else ctx.log({ module: ctx.caller?.name ?? call.caller, level: levelName(req.level), msg: cutLine(msg), call: call.parent?.id ?? call.id });
      return null;
    },
  },
});
