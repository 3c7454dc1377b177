import type { Service } from "../service.js";
import { FORMAT_NAMES } from "../../abi.js";

/** Hands the request back untouched, in whatever format it came: the bus round trip, measured alone. */
export const echo: Service = {
  topics: {
    "echo.echo": { format: "raw", accepts: [...FORMAT_NAMES], description: "Replies with the request bytes, in the request's format." },
  },
  // The reply is the request: bytes a call_now lent go back to the caller as they are, and its
  // sink copies them straight into the caller's result buffer (or, if it keeps them, copies them).
  borrows: true,
  serve(call) {
    call.reply(call.request, call.lent);
  },
};
