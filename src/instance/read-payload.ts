import { formatName } from "../abi.js";
import type { Payload } from "../codec/index.js";
import { BusError } from "../errors.js";
import type { InstanceContext } from "./context.js";

// Shared by every import that takes a payload from the guest (call, call_now, reply,
// reply_callback), so the format and size checks are the same for all of them.

/** A payload leaving the guest: its format known, its size within `limit`, its bytes copied out. */
export function read(cx: InstanceContext, format: number, ptr: number, len: number, limit: number, what: string, lend = false): Payload {
  cx.checkMemory();
  if (formatName(format) === undefined) throw BusError.of("BadRequest", `${what}: unknown format ${format}`);
  if (len >>> 0 > limit) throw BusError.of("LimitExceeded", `${what} of ${len >>> 0} bytes is over the limit of ${limit}`);
  return { format: format as Payload["format"], data: lend ? cx.memory.peek(ptr, len, what) : cx.memory.read(ptr, len, what) };
}
