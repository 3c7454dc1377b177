import { BusError } from "../../client/src/index.js";
import { parseJson, stringifyJson } from "../../client/src/json.js";
import { h } from "./dom.js";

/** The schema language of module.json (src/codec/schema.ts), as GET /modules returns it. */
export type Schema =
  | string
  | { option: Schema }
  | { seq: Schema }
  | { tuple: Schema[] }
  | { map: [Schema, Schema] }
  | { struct: Record<string, Schema> }
  | { enum: Record<string, Schema | null> };

/** An input for a value of one schema: its element, and the value it holds now. */
export interface Field {
  element: HTMLElement;
  /** The value; throws a BadRequest naming the field where the input cannot be one. */
  value(): unknown;
}

/** What the edge would answer for the same request: BadRequest, the field named first. */
const invalid = (path: string, why: string) => BusError.of("BadRequest", `${path}: ${why}`);

/** The scalar key types besides the integers: serde_json reads a bool key from "true" or "false", a float's from its digits. */
const KEY_SCALARS = new Set(["string", "bool", "f32", "f64"]);

const INTS: Record<string, [bigint, bigint]> = {
  u8: [0n, 255n], u16: [0n, 65535n], u32: [0n, 4294967295n], u64: [0n, 2n ** 64n - 1n], u128: [0n, 2n ** 128n - 1n],
  i8: [-128n, 127n], i16: [-32768n, 32767n], i32: [-(2n ** 31n), 2n ** 31n - 1n], i64: [-(2n ** 63n), 2n ** 63n - 1n], i128: [-(2n ** 127n), 2n ** 127n - 1n],
};

/**
 * A form for `schema` (undefined: the topic declares no type, so a JSON text area). `path`
 * names the field in errors and in data-field attributes (tests and labels use them).
 */
export function fieldFor(schema: Schema | undefined, path = "request"): Field {
  if (schema === undefined) return jsonField(path, {});
  if (typeof schema === "string") return scalarField(schema, path);
  if ("option" in schema) return optionField(schema.option, path);
  if ("seq" in schema) return listField(() => fieldFor(schema.seq, `${path}[]`), path, (items) => items);
  if ("tuple" in schema) {
    const fields = schema.tuple.map((s, i) => fieldFor(s, `${path}[${i}]`));
    return { element: h("div", { class: "tuple" }, ...fields.map((f) => f.element)), value: () => fields.map((f) => f.value()) };
  }
  if ("map" in schema) {
    const [keySchema, valueSchema] = schema.map;
    const keyOf = keyField(keySchema, `${path} key`);
    if (!keyOf) {
      // No add button: an entry could not be sent, and an empty map can.
      const why = `empty: the bus takes a map's keys as strings, integers, floats, bools or unit variants' names, never ${JSON.stringify(keySchema)}`;
      return { element: h("p", { class: "unkeyed", "data-field": path }, why), value: () => ({}) };
    }
    return listField(
      () => {
        const key = keyOf();
        const value = fieldFor(valueSchema, `${path} value`);
        return { element: h("div", { class: "map-entry" }, key.element, h("span", {}, "→"), value.element), value: () => [key.value(), value.value()] };
      },
      path,
      (entries) => {
        const map = new Map<string, unknown>();
        for (const [k, v] of entries as [unknown, unknown][]) {
          // Keys as their type reads them ("00" is the u64 0): an object keeps one value a key, and would drop the other without a word.
          // String makes a float key's -0 "0", which serde_json reads as 0.0
          const key = Object.is(k, -0) ? "-0" : String(k);
          if (map.has(key)) throw invalid(path, `the key ${JSON.stringify(key)} is given twice`);
          map.set(key, v);
        }
        return Object.fromEntries(map);
      },
    );
  }
  if ("struct" in schema) return structField(schema.struct, path);
  return enumField(schema.enum, path);
}

/**
 * A maker of a map key's input, or undefined where no key of the type can be sent. JSON's keys are
 * strings, and the runtime reads a msgpack map's as strings too (src/codec/msgpack-keys.ts); it
 * takes one as serde_json reads it, a string, an integer's or float's digits, true or false, a unit
 * variant's name, or an option's as its inner type's (src/codec/map-keys.ts), and refuses it at any
 * other type: a struct or a tuple key typed as text was refused, and two of them could be one text.
 */
function keyField(schema: Schema, path: string): (() => Field) | undefined {
  if (typeof schema === "string") return KEY_SCALARS.has(schema) || Object.hasOwn(INTS, schema) ? () => scalarField(schema, path) : undefined;
  if ("option" in schema) return keyField(schema.option, path);
  if (!("enum" in schema)) return undefined;
  const units = Object.keys(schema.enum).filter((name) => schema.enum[name] === null || schema.enum[name] === "unit");
  if (!units.length) return undefined;
  return () => {
    const choice = h("select", { "data-field": path, "aria-label": path }, ...units.map((n) => h("option", { value: n }, n)));
    return { element: choice, value: () => choice.value };
  };
}

/**
 * A field's name and type beside its input. Only a lone input sits in a <label>: a label labels
 * its first control, which in a list or an optional value is not the one it names (a click on
 * the name of an empty list would add an item).
 */
function label(name: string, type: string, input: HTMLElement): HTMLElement {
  const lone = input.matches("input, select, textarea");
  return h(lone ? "label" : "div", { class: "field" }, h("span", { class: "name" }, name), h("span", { class: "type" }, type), input);
}

function scalarField(type: string, path: string): Field {
  // Every input is named by its path, as errors name it: an item of a list or a set optional has no label of its own.
  const attrs = { "data-field": path, name: path, "aria-label": path };
  switch (type) {
    case "unit":
      return { element: h("span", { class: "unit" }, "null"), value: () => null };
    case "bool": {
      const input = h("input", { type: "checkbox", ...attrs });
      return { element: input, value: () => input.checked };
    }
    case "string": {
      const input = h("input", { type: "text", ...attrs });
      return { element: input, value: () => input.value };
    }
    case "f32":
    case "f64": {
      const input = h("input", { type: "number", step: "any", ...attrs });
      return {
        element: input,
        value: () => {
          const n = Number(input.value);
          if (input.value.trim() === "" || Number.isNaN(n)) throw invalid(path, "a number, please");
          return n;
        },
      };
    }
    case "bytes": {
      // Hex, as the console shows bytes (show.ts, pretty): text sent as its UTF-8 could not hold every byte (no UTF-8 has 0xff).
      const input = h("input", { type: "text", spellcheck: "false", placeholder: "hex, two digits a byte: 00 7f ff", ...attrs });
      return {
        element: input,
        value: () => {
          // Space between bytes, not within one: "1 2 3 4" is no two bytes 0x12 0x34.
          const groups = input.value.trim().split(/\s+/).filter(Boolean);
          if (!groups.every((g) => /^(?:[0-9a-f]{2})+$/i.test(g))) throw invalid(path, "hex, two digits a byte (00 to ff), please");
          return Uint8Array.from(groups.join("").match(/../g) ?? [], (byte) => parseInt(byte, 16));
        },
      };
    }
    default: {
      const range = INTS[type];
      if (!range) return jsonField(path, null);
      // Text, not type=number: a 64-bit integer needs every digit. A phone's numeric keypad has no minus: a signed type's gets the keyboard.
      const input = h("input", { type: "text", inputmode: range[0] < 0n ? undefined : "numeric", placeholder: type, ...attrs });
      return {
        element: input,
        value: () => {
          const text = input.value.trim();
          if (!/^-?\d+$/.test(text)) throw invalid(path, `an integer (${type}), please`);
          const n = BigInt(text);
          if (n < range[0] || n > range[1]) throw invalid(path, `${text} is out of range for ${type}`);
          return Number.isSafeInteger(Number(n)) ? Number(n) : n;
        },
      };
    }
  }
}

function typeName(schema: Schema): string {
  // How bytes are typed, where the field is named: the placeholder is gone once something is.
  if (schema === "bytes") return "bytes, hex";
  if (typeof schema === "string") return schema;
  const [kind] = Object.keys(schema);
  if (kind === "option") return `${typeName((schema as { option: Schema }).option)}?`;
  if (kind === "seq") return `${typeName((schema as { seq: Schema }).seq)}[]`;
  return kind ?? "value";
}

function structField(fields: Record<string, Schema>, path: string): Field {
  const entries = Object.entries(fields).map(([name, schema]) => {
    const field = fieldFor(schema, `${path}.${name}`);
    return { name, optional: typeof schema === "object" && "option" in schema, field, element: label(name, typeName(schema), field.element) };
  });
  return {
    element: h("fieldset", { class: "struct", "data-field": path }, ...(entries.length ? entries.map((e) => e.element) : [h("span", { class: "unit" }, "{}")])),
    value: () => {
      const out: Record<string, unknown> = {};
      for (const { name, optional, field } of entries) {
        const value = field.value();
        // An unset option is left out, as serde reads a missing Option field.
        if (!(optional && value === undefined)) out[name] = value;
      }
      return out;
    },
  };
}

function optionField(inner: Schema, path: string): Field {
  // One choice of three: a switch and a checkbox side by side read as two bools, neither saying which is the value.
  if (inner === "bool") {
    const choice = h("select", { "data-field": path, "aria-label": path }, h("option", { value: "" }, "unset"), h("option", { value: "false" }, "false"), h("option", { value: "true" }, "true"));
    return { element: choice, value: () => (choice.value === "" ? undefined : choice.value === "true") };
  }
  const field = fieldFor(inner, path);
  const set = h("input", { type: "checkbox", class: "option-set", title: "set this optional value", "aria-label": `set ${path}`, "data-field": `${path}?` });
  const wrap = h("span", { class: "option off" }, set, field.element);
  const show = () => wrap.classList.toggle("off", !set.checked);
  set.addEventListener("change", show);
  // Typing in it sets it: what is typed would otherwise be left out without a word.
  field.element.addEventListener("input", () => {
    set.checked = true;
    show();
  });
  return { element: wrap, value: () => (set.checked ? field.value() : undefined) };
}

function listField(make: () => Field, path: string, finish: (items: unknown[]) => unknown): Field {
  const items: { field: Field; row: HTMLElement }[] = [];
  const list = h("div", { class: "list-items" });
  const add = () => {
    const field = make();
    const row = h("div", { class: "list-item" }, field.element);
    const entry = { field, row };
    row.append(h("button", { type: "button", class: "small", title: "remove", "aria-label": `remove from ${path}`, onclick: () => (items.splice(items.indexOf(entry), 1), row.remove()) }, "×"));
    items.push(entry);
    list.append(row);
  };
  return {
    element: h("div", { class: "list", "data-field": path }, list, h("button", { type: "button", class: "small", "aria-label": `add to ${path}`, onclick: add }, "+ add")),
    value: () => finish(items.map((i) => i.field.value())),
  };
}

function enumField(variants: Record<string, Schema | null>, path: string): Field {
  const names = Object.keys(variants);
  const choice = h("select", { "data-field": path, "aria-label": path }, ...names.map((n) => h("option", { value: n }, n)));
  const slot = h("span", { class: "variant" });
  // Each variant's form, made when first picked and kept: picking another and back finds what was
  // typed there, as a tab does. Out of the page while another is picked, not hidden in it: the
  // first input, and the form's controls, are those of the variant shown.
  const built = new Map<string, Field | undefined>();
  let inner: Field | undefined;
  const pick = () => {
    const name = choice.value;
    const schema = variants[name];
    if (!built.has(name)) built.set(name, schema === null || schema === undefined || schema === "unit" ? undefined : fieldFor(schema, `${path}.${name}`));
    inner = built.get(name);
    slot.replaceChildren(...(inner ? [inner.element] : []));
  };
  choice.addEventListener("change", pick);
  pick();
  return { element: h("span", { class: "enum" }, choice, slot), value: () => (inner ? { [choice.value]: inner.value() } : choice.value) };
}

/** A JSON text area: for topics without a declared type, and for values the form cannot build. */
export function jsonField(path: string, initial: unknown): Field {
  // The client's JSON: 64-bit integers keep their digits both ways.
  const area = h("textarea", { class: "json", rows: 4, spellcheck: "false", "data-field": path, "aria-label": `${path} as JSON` }, stringifyJson(initial));
  return {
    element: area,
    value: () => {
      try {
        return parseJson(area.value);
      } catch (err) {
        throw invalid(path, `not JSON (${(err as Error).message})`);
      }
    },
  };
}

/**
 * A request editor: the schema's form, and a switch to edit the request as JSON instead
 * (started from what the form holds).
 */
export function requestEditor(schema: Schema | undefined): Field {
  const form = fieldFor(schema);
  if (schema === undefined) return form;
  let json: Field | undefined;
  const box = h("div", { class: "request-editor" }, form.element);
  const toggle = h("input", { type: "checkbox", "data-testid": "as-json" });
  toggle.addEventListener("change", () => {
    if (toggle.checked) {
      let start: unknown = {};
      try {
        start = form.value();
      } catch {
        // an incomplete form starts the JSON empty
      }
      json = jsonField("request", start);
      box.replaceChildren(json.element);
    } else {
      json = undefined;
      box.replaceChildren(form.element);
    }
  });
  return {
    element: h("div", {}, h("label", { class: "as-json" }, toggle, " edit as JSON"), box),
    value: () => (json ? json.value() : form.value()),
  };
}
