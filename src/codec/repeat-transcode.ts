import type { FormatValue } from "../abi.js";
import { type Payload, transcode } from "./index.js";
import type { Schema } from "./schema.js";

/**
 * `transcode` that remembers its last result: a module that sends one callback to many callers
 * (a chat post to each member) sends each the same bytes, and every caller wanting another
 * format than the module's had them decoded and encoded anew, a cost per byte per member. One
 * result is kept, of a payload of at most REMEMBERED_BYTES, so it holds little; a miss costs a
 * length check, or a compare up to the first byte that differs.
 */
const REMEMBERED_BYTES = 64 << 10;

let last: { from: Payload; to: FormatValue; schema?: Schema; limit?: number; out: Payload } | undefined;

export function transcodeRepeated(payload: Payload, to: FormatValue, schema?: Schema, limit?: number): Payload {
  const m = last;
  if (m && m.to === to && m.schema === schema && m.limit === limit && m.from.format === payload.format && sameBytes(m.from.data, payload.data)) return m.out;
  const out = transcode(payload, to, schema, limit);
  // Its own bytes, not a view another may write into (a guest's memory): the next caller gets them too.
  if (payload.data.length <= REMEMBERED_BYTES) last = { from: { format: payload.format, data: payload.data.slice() }, to, schema, limit, out };
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let i = 0;
  // Four bytes a step where both are aligned for it (a copy made by slice() is).
  if (a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const n = a.length >>> 2;
    const a4 = new Uint32Array(a.buffer, a.byteOffset, n);
    const b4 = new Uint32Array(b.buffer, b.byteOffset, n);
    for (; i < n; i++) if (a4[i] !== b4[i]) return false;
    i = n << 2;
  }
  for (; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
