import { setOwn } from "./own.js";
import { holds, memberType, type Schema, type SchemaQuery } from "./schema.js";

/**
 * The members of an array or a plain object through `f`, each with its type in `schema` (a member
 * the schema gives no type passes as it is): the container itself where no member changed, else a
 * copy, as the value may be the caller's. The walks that rewrite a value by its types
 * (./msgpack-wide.ts, and mapsRebuilt's: ./msgpack-keys.ts, ./json-float-keys.ts) share it.
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

/**
 * The value with each map the schema's `query` finds (and only where the schema holds one) made
 * again by `rebuild` from its entries, whose keys and values are walked first: a map's keys
 * rewritten by their type (./msgpack-keys.ts for msgpack, ./json-float-keys.ts for JSON).
 * Everything else is the value's own, copied only on the way to a map that changed, as mapMembers
 * copies.
 */
export function mapsRebuilt(
  value: unknown,
  schema: Schema | undefined,
  query: SchemaQuery,
  rebuild: (entries: [unknown, unknown][], key: Schema) => unknown,
): unknown {
  const walk = (v: unknown, s: Schema): unknown => {
    if (typeof s === "string" || v === null || typeof v !== "object" || v instanceof Uint8Array) return v;
    if ("option" in s) return walk(v, s.option);
    if (!holds(s, query)) return v;
    if ("map" in s) {
      const [key, of] = s.map;
      // a Map's key may be a value holding such a map itself (a struct's, a map's: ./map-keys.ts)
      return rebuild((v instanceof Map ? [...v] : Object.entries(v)).map(([k, x]) => [walk(k, key), walk(x, of)]), key);
    }
    if (v instanceof Map) return v;
    return mapMembers(v, s, walk);
  };
  return schema === undefined || !holds(schema, query) ? value : walk(value, schema);
}
