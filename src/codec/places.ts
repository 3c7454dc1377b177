/**
 * Where in a payload a value is, for the scans that read a payload's bytes beside its value
 * (./token-walk.ts): duplicates.ts and whole-floats.ts find something in the bytes that the
 * value read from them has lost (a key given twice, `1.0` read as 1), then ask the topic's types
 * what is declared there.
 */
import { memberType, type Schema, unwrapOption } from "./schema.js";

/**
 * Where a value is: the container holding it and its key or index there (none for the root),
 * made once per container, so every value found in one object shares it: a path array per
 * repeated key cost 700 MB for a 1 MiB request repeating one key 170,000 times 500 levels down.
 */
export interface Place {
  up: Place | undefined;
  seg: string | number | undefined;
  /** typeAt's memo: the type there, options unwrapped (null: none). */
  type?: Schema | null;
}

export const ROOT = (): Place => ({ up: undefined, seg: undefined });

/** The keys and indexes from the root to a place. */
export function pathOf(place: Place): (string | number)[] {
  const path: (string | number)[] = [];
  for (let p: Place | undefined = place; p?.up; p = p.up) path.push(p.seg!);
  return path.reverse();
}

/** A place as a refusal names it: `request.items[1].z`. */
export function showPlace(root: string, place: Place): string {
  return root + pathOf(place).map((seg) => (typeof seg === "number" ? `[${seg}]` : `.${seg}`)).join("");
}

/** The type at a place, options unwrapped; worked out once a place. */
export function typeAt(place: Place, schema: Schema): Schema | undefined {
  if (place.type === undefined) place.type = (place.up ? unwrapOption(inner(typeAt(place.up, schema), place.seg!)) : unwrapOption(schema)) ?? null;
  return place.type ?? undefined;
}

/** The type of a container's member (memberType), through the options around the container. */
function inner(s: Schema | null | undefined, seg: string | number): Schema | undefined {
  s = unwrapOption(s);
  // bytes given as an array: serde reads each element as a u8
  if (s === "bytes") return typeof seg === "number" ? "u8" : undefined;
  return s === undefined || typeof s === "string" ? undefined : (memberType(s, seg) ?? undefined);
}
