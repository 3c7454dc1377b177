/**
 * `out[k] = v`, where k may be "__proto__": a key like any other in the bus's data. Assigned, it
 * would set the object's prototype, and the key would vanish (and the object inherit its value's
 * fields). Every codec that builds objects from a payload's keys sets them through this.
 */
export function setOwn(out: Record<string, unknown>, k: string, v: unknown): void {
  if (k === "__proto__") Object.defineProperty(out, k, { value: v, writable: true, enumerable: true, configurable: true });
  else out[k] = v;
}
