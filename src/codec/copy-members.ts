import { setOwn } from "./own.js";
import { memberType, type Schema } from "./schema.js";

/**
 * The members of an array or a plain object through `f`, each with its type in `schema` (a member
 * the schema gives no type passes as it is): the container itself where no member changed, else a
 * copy, as the value may be the caller's. The walks that rewrite a value for msgpack by its types
 * (./msgpack-wide.ts, ./msgpack-keys.ts) share it.
 */
export function mapMembers(value: object, schema: Exclude<Schema, string>, f: (member: unknown, type: Schema) => unknown): unknown {
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const t = memberType(schema, i);
      const v = t ? f(value[i], t) : value[i];
      if (v !== value[i]) (out ??= [...value])[i] = v;
    }
    return out ?? value;
  }
  const o = value as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  for (const k of Object.keys(o)) {
    const t = memberType(schema, k);
    const v = t ? f(o[k], t) : o[k];
    if (v === o[k]) continue;
    if (!out) {
      out = {};
      for (const j of Object.keys(o)) setOwn(out, j, o[j]);
    }
    setOwn(out, k, v);
  }
  return out ?? o;
}
