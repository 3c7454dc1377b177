import type { Service } from "../service.js";
import { FORMAT_NAMES } from "../../abi.js";

/** Hands the request back untouched, in whatever format it came: the bus round trip, measured alone. */
export const echo: Service = {
  topics: {
    "echo.echo": { format: "raw", accepts: [...FORMAT_NAMES], description: "Replies with the request bytes, in the request's format." },
  },
  serve(call) {
    call.reply(call.request);
  },
};
