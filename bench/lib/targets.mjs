// Targets: met or missed, and by how much (the margin: the limit over the value, so above 1 is
// room to spare and below 1 is how far over). Printed by run.mjs, kept in latest.json's rows.

/** Issue 9's snapshot targets (bench/sections/snapshot.mjs): restoring a 1 MiB instance, and what a rest that changed one page writes. */
export const SNAPSHOT_TARGETS = { restore1MiBMs: 5, onePagePages: 2 };

/** A target "value <= limit" (a ratio or a time). */
export function atMost(value, limit, text) {
  return { text, met: value <= limit, margin: limit / value };
}

/** A target "value < limit". */
export function below(value, limit, text) {
  return { text, met: value < limit, margin: limit / value };
}

/** A target "value >= limit" (a count). */
export function atLeast(value, limit, text) {
  return { text, met: value >= limit, margin: value / limit };
}

/** How run.mjs shows a target: "MET: <= 0.8x waPC (1.42x to spare)". */
export function describe(target) {
  const verdict = target.met === true ? "MET" : target.met === false ? "MISSED" : "n/a";
  const m = target.margin;
  const margin = typeof m === "number" && Number.isFinite(m) && m > 0 ? ` (${m >= 1 ? `${m.toFixed(2)}x to spare` : `${(1 / m).toFixed(2)}x over`})` : "";
  return `${verdict}: ${target.text}${margin}`;
}
