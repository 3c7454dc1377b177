/**
 * A float map key's text as serde_json (1.0.154) writes it. Its formatter (zmij) spells the
 * shortest digits that read back as the same f32 or f64: plainly where the power of ten of the
 * first digit is in -5..=15 (f64) or -6..=12 (f32), a whole number with ".0" ("1.0", "-0.0",
 * "1000000000000000.0"), else with an exponent ("1e+20", "1.5e-6"). A value's number only has to
 * be the same number, but a key is a string, which its reader may compare as text: String(1) is
 * "1", String(-0) "0", String(1e20) 21 digits, and an f32's 0.1 read into a number
 * "0.10000000149011612". Checked against serde_json on the host for each form.
 */
import { type Schema, unwrapOption } from "./schema.js";

const FIXED = { f32: [-6, 12], f64: [-5, 15] } as const;

/** The float type a map's key is (an option of one too: a key is never None), if it is one. */
export function floatKeyType(key: Schema): "f32" | "f64" | undefined {
  const type = unwrapOption(key);
  return type === "f32" || type === "f64" ? type : undefined;
}

/** `x` as a key of `type` (an f32's is `x` rounded to one, as serde_json reads it). */
export function floatKeyText(x: number, type: "f32" | "f64"): string {
  // serde_json writes no key for NaN or an infinity; a bincode module's NaN key, or a key past
  // f32's range, is left as JavaScript spells it ("NaN", "1e+39": read as an f32, infinite)
  if (!Number.isFinite(type === "f32" ? Math.fround(x) : x)) return String(x);
  if (type === "f32") x = Math.fround(x);
  if (x === 0) return 1 / x < 0 ? "-0.0" : "0.0";
  const [digits, exp] = type === "f32" ? shortestF32(Math.abs(x)) : shortestF64(Math.abs(x));
  const sign = x < 0 ? "-" : "";
  const [low, high] = FIXED[type];
  const last = digits.length - 1;
  if (exp < low || exp > high) return `${sign}${digits[0]}${last ? `.${digits.slice(1)}` : ""}e${exp < 0 ? "-" : "+"}${Math.abs(exp)}`;
  if (exp >= last) return `${sign}${digits}${"0".repeat(exp - last)}.0`;
  if (exp >= 0) return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
}

/** The significant digits (no trailing zeros) and the power of ten of the first, of the shortest text of `x` (> 0) as an f64: JavaScript's own. */
function shortestF64(x: number): [string, number] {
  const [mantissa, exp] = x.toExponential().split("e") as [string, string];
  return [mantissa.replace(".", ""), Number(exp)];
}

/**
 * The same for an f32 (`x` one exactly): the fewest digits whose number reads back as it, the
 * closest of those (the even one of two as close). At each length the nearest decimal is tried with its neighbours: at a power of
 * two the f32 below is nearer than the one above, so the nearest may miss where the next one up
 * reads back.
 */
function shortestF32(x: number): [string, number] {
  const [sig, pow2] = f32Parts(x);
  for (let p = 1; ; p++) {
    const [mantissa, e] = x.toExponential(p - 1).split("e") as [string, string];
    const m = Number(mantissa.replace(".", ""));
    const scale = Number(e) - (p - 1);
    // x * 10^-scale as num / den, exactly: distances in floats could not tell a tie
    const num = sig * 2n ** BigInt(Math.max(pow2, 0)) * 10n ** BigInt(Math.max(-scale, 0));
    const den = 2n ** BigInt(Math.max(-pow2, 0)) * 10n ** BigInt(Math.max(scale, 0));
    let best: number | undefined;
    let off = -1n;
    for (const c of [m - 1, m, m + 1]) {
      if (Math.fround(Number(`${c}e${scale}`)) !== x) continue;
      const o = BigInt(c) * den - num;
      const abs = o < 0n ? -o : o;
      // halfway between two, the even one, as serde_json's formatter picks
      if (off < 0n || abs < off || (abs === off && c % 2 === 0)) [best, off] = [c, abs];
    }
    if (best === undefined) continue;
    const text = String(best);
    return [text.replace(/0+$/, ""), scale + text.length - 1];
  }
}

/** x (an f32's value) as sig * 2^pow2. */
function f32Parts(x: number): [bigint, number] {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, x);
  const bits = view.getUint32(0);
  const biased = (bits >>> 23) & 0xff;
  const fraction = bits & 0x7f_ffff;
  return biased ? [BigInt(fraction | 0x80_0000), biased - 150] : [BigInt(fraction), -149];
}
