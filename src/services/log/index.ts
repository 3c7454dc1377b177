import { levelName } from "../../log.js";
import { builtin } from "../service.js";

/** The `log` service, for guests that prefer a bus call to the `log` import. */
export const logService = builtin({
  "log.write": {
    description: "Writes one line to the Worker's logs, tagged with the calling module and call.",
    request: { struct: { level: "u8", message: "string" } },
    response: "unit",
    run(req: { level: number; message: string }, call, ctx) {
      ctx.log({ module: ctx.caller?.name ?? call.caller, level: levelName(req.level), msg: String(req.message), call: call.parent?.id ?? call.id });
      return null;
    },
  },
});
