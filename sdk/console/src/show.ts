import { BusError } from "../../client/src/index.js";
import { stringifyJson } from "../../client/src/json.js";
import { h } from "./dom.js";

/**
 * A value as readable JSON (indented, or on one line for a log) as the runtime writes it: a
 * 64-bit integer as its digits, not a string, and bytes as arrays.
 */
export function pretty(value: unknown, compact = false): string {
  if (value instanceof Uint8Array) return `bytes(${value.length}) ${Array.from(value.slice(0, 64), (b) => b.toString(16).padStart(2, "0")).join(" ")}${value.length > 64 ? " …" : ""}`;
  return stringifyJson(value, compact ? undefined : 2) ?? String(value);
}

/** An error as the console shows it: code name and number first, then the runtime's words and the module's. */
export function errorView(err: unknown): HTMLElement {
  const bus = err instanceof BusError ? err : BusError.of("InternalFailure", String((err as Error)?.message ?? err));
  const message = bus.detail && bus.message.endsWith(`: ${bus.detail}`) ? bus.message.slice(0, -bus.detail.length - 2) : bus.message;
  return h(
    "div",
    { class: "error", "data-testid": "error", "data-code-name": bus.codeName },
    h("strong", { class: "code-name" }, `${bus.codeName} (${bus.code})`),
    bus.status ? h("span", { class: "status" }, ` HTTP ${bus.status}`) : null,
    h("div", { class: "message" }, message),
    bus.detail ? h("div", { class: "detail" }, h("span", { class: "label" }, "module says: "), bus.detail) : null,
  );
}

export const time = () => new Date().toLocaleTimeString(undefined, { hour12: false });
