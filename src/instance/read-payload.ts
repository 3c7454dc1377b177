import { FORMAT_NAMES, formatName } from "../abi.js";
import type { Payload } from "../codec/index.js";
import { BusError } from "../errors.js";
import type { InstanceContext } from "./context.js";

// Shared by every import that takes a payload from the guest (call, call_now, reply,
// reply_callback), so the format and size checks are the same for all of them.

/**
 * How a payload's bytes leave the guest:
 * - `copy`: bytes of their own;
 * - `view`: a view of guest memory, valid until the guest runs again (call_now's request, lent
 *   while the call is dispatched);
 * - `reply`: valid only until `BusCall.reply` returns, which copies them before any guest code runs.
 *   A short reply is copied into a scratch buffer instead of viewed: a view is an allocation per
 *   reply, and a module answering at once inside its caller's call_now replies this often.
 */
export type Take = "copy" | "view" | "reply";

/** Up to this many bytes, a reply is taken into scratch. */
const SHORT_REPLY = 64;
const scratch = new Uint8Array(SHORT_REPLY);
/** A payload over `scratch` per format and length, made once: a short reply needs no allocation at all. */
const scratchPayloads: Payload[][] = FORMAT_NAMES.map((_, format) =>
  Array.from({ length: SHORT_REPLY + 1 }, (_, n) => Object.freeze({ format: format as Payload["format"], data: scratch.subarray(0, n) })),
);

/** A payload leaving the guest: its format known, its size within `limit`, its bytes taken as `take` says. */
export function read(cx: InstanceContext, format: number, ptr: number, len: number, limit: number, what: string, take: Take = "copy"): Payload {
  cx.checkMemory();
  if (formatName(format) === undefined || len >>> 0 > limit) throw refusal(format, len, limit, what);
  if (take === "reply" && len >>> 0 <= SHORT_REPLY) {
    const payload = scratchPayloads[format]![len >>> 0]!;
    cx.memory.copyOut(ptr, payload.data, what);
    return payload;
  }
  return { format: format as Payload["format"], data: take === "copy" ? cx.memory.read(ptr, len, what) : cx.memory.peek(ptr, len, what) };
}

/** Why `read` refuses: out of line, as GuestMemory's refusals are (see `outside` in ../memory.ts). */
function refusal(format: number, len: number, limit: number, what: string): BusError {
  if (formatName(format) === undefined) return BusError.of("BadRequest", `${what}: unknown format ${format}`);
  return BusError.of("LimitExceeded", `${what} of ${len >>> 0} bytes is over the limit of ${limit}`);
}
