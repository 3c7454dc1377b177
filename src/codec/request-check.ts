import { Format } from "../abi.js";
import { jsonDuplicates, jsonMayRepeat, msgpackDuplicates, msgpackMayRepeat, namesKeyed, refuseDuplicates } from "./duplicates.js";
import { decode } from "./index.js";
import { mapPairs } from "./msgpack-scan.js";
import type { TopicSpec } from "./schema.js";
import { validate } from "./validate.js";
import { refuseWholeFloats } from "./whole-floats.js";

/**
 * Refuses a caller's request before any guest runs: malformed for its format
 * (DeserializationFailed), or not of the topic's declared request type (BadRequest, naming the
 * field; a struct's field given twice, and a whole float at an integer, too, as serde refuses them). Every caller from outside is
 * held to it, an HTTP body and a WebSocket client's call frame alike, so a module sees the same
 * requests whichever way they came. Raw bytes pass as they are; bincode is read only against a
 * declared type, which it needs.
 */
export function checkRequest(spec: TopicSpec, format: number, data: Uint8Array, limit: number): void {
  if (format === Format.Json || format === Format.Msgpack) {
    const value = decode(format, data, spec.request, limit);
    if (!spec.request) return;
    // A struct's field twice: JSON.parse and msgpackr kept the last, serde refuses it (./duplicates.ts).
    if (namesKeyed(spec.request) && data.length) {
      const twice =
        format === Format.Json ? jsonMayRepeat(data, value) && jsonDuplicates(data)
        : msgpackMayRepeat(mapPairs, value) && msgpackDuplicates(data);
      if (twice) refuseDuplicates(twice, spec.request, "request");
    }
    validate(value, spec.request, "request");
    // 1.0 where an integer is declared: read as 1, serde refuses it (./whole-floats.ts).
    refuseWholeFloats(format, data, spec.request, "request");
  } else if (format === Format.Bincode && spec.request) {
    decode(format, data, spec.request, limit);
  }
}
