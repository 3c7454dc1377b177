// Timing and statistics. Every comparison is paired: subject and baseline run
// back to back in each sample (order alternating), and the ratio is the median
// of the per-sample ratios, so drift of a noisy machine hits both sides alike.
//
// Garbage: a batch leaves garbage that the next batch may pay to collect (a
// fresh Wasm instance leaves its memory). So each recorded batch follows an
// unrecorded one of the same kind: what it inherits is its own kind's debt,
// the steady state, never another row's. Forcing a GC between batches instead
// (gc()) was tried and rejected: V8 then shrinks the young generation and the
// next batch runs up to 2x slower.

export const now = () => process.hrtime.bigint();

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Nanoseconds per operation of one batch: `batch(k)` runs k operations (sync or async). */
export async function timeBatch(batch, k) {
  const t0 = now();
  const r = batch(k);
  if (r && typeof r.then === "function") await r;
  return Number(now() - t0) / k;
}

/** Picks k so that one batch takes about `targetMs`. */
export async function calibrate(batch, targetMs, maxK = 1 << 20) {
  let k = 1;
  for (;;) {
    const ns = (await timeBatch(batch, k)) * k;
    if (ns >= targetMs * 1e6 || k >= maxK) {
      return Math.max(1, Math.min(maxK, Math.round((k * targetMs * 1e6) / Math.max(ns, 1))));
    }
    k = Math.min(maxK, k * (ns < targetMs * 1e4 ? 16 : 2));
  }
}

/**
 * Measures named batches in the same samples. Returns per-name median ns/op and
 * every sample, for ratios against any of them.
 */
export async function measure(batches, { samples, targetMs, warmupMs = Math.max(targetMs * 3, 250), maxK }) {
  // A batch is a function of k, or { fn, maxK } when k must stay under a limit of its own.
  const limits = Object.fromEntries(Object.entries(batches).map(([n, b]) => [n, (typeof b === "function" ? undefined : b.maxK) ?? maxK]));
  batches = Object.fromEntries(Object.entries(batches).map(([n, b]) => [n, typeof b === "function" ? b : b.fn]));
  const names = Object.keys(batches);
  const ks = {};
  for (const name of names) {
    ks[name] = await calibrate(batches[name], targetMs, limits[name]);
    // warm up: let the JIT settle before anything counts
    const until = Date.now() + warmupMs;
    while (Date.now() < until) await timeBatch(batches[name], ks[name]);
  }
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  for (let s = 0; s < samples; s++) {
    const order = s % 2 ? [...names].reverse() : names;
    for (const name of order) {
      await timeBatch(batches[name], ks[name]); // settle: inherit this kind's garbage, not another's
      runs[name].push(await timeBatch(batches[name], ks[name]));
    }
  }
  const result = {};
  for (const name of names) result[name] = { ns: median(runs[name]), k: ks[name], samples: runs[name] };
  return result;
}

/** Median of the per-sample ratios a/b. */
export function ratio(a, b) {
  return median(a.samples.map((x, i) => x / b.samples[i]));
}
