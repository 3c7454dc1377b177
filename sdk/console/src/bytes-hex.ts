import type { Schema } from "./schema-form.js";
import { pretty } from "./show.js";

/** How many bytes values a reply lists as hex: a long list of them says no more than its first. */
const SHOWN = 20;

/**
 * Each bytes value of a reply where its type declares bytes, named by its path and written in hex
 * as the form takes bytes: the reply itself shows them as the runtime writes them, arrays of
 * numbers, which a person cannot set beside the hex they typed.
 */
export function bytesAsHex(value: unknown, schema: Schema | undefined): string[] {
  const lines: string[] = [];
  walk(value, schema, "reply", lines);
  return lines.length > SHOWN ? [...lines.slice(0, SHOWN), `… and ${lines.length - SHOWN} more`] : lines;
}

function walk(value: unknown, schema: Schema | null | undefined, path: string, lines: string[]): void {
  if (!schema || value === null || typeof value !== "object") return;
  if (schema === "bytes") {
    if (value instanceof Uint8Array || Array.isArray(value)) lines.push(`${path}: ${pretty(Uint8Array.from(value as ArrayLike<number>))}`);
    return;
  }
  if (typeof schema === "string") return;
  if ("option" in schema) return walk(value, schema.option, path, lines);
  if (Array.isArray(value)) {
    if ("seq" in schema) value.forEach((v, i) => walk(v, schema.seq, `${path}[${i}]`, lines));
    if ("tuple" in schema) schema.tuple.forEach((s, i) => walk(value[i], s, `${path}[${i}]`, lines));
    return;
  }
  const members = value as Record<string, unknown>;
  if ("map" in schema) for (const k of Object.keys(members)) walk(members[k], schema.map[1], `${path}[${JSON.stringify(k)}]`, lines);
  const named = "struct" in schema ? schema.struct : "enum" in schema ? schema.enum : {};
  for (const k of Object.keys(named)) if (Object.hasOwn(members, k)) walk(members[k], named[k], `${path}.${k}`, lines);
}
