/// <reference types="node" />
import { describe, expect, it } from "vitest";
import { runWasiFuzz } from "../fuzz/wasi-fuzzer.js";

/**
 * The WASI fuzzer (test/fuzz/wasi-fuzzer.ts) in CI: a fixed seed, 5,000 calls of the
 * wasi_snapshot_preview1 imports with hostile arguments. Other seeds: `npm run fuzz -- --wasi
 * --seed N --runs K [--actions M]`, which sets WASI_FUZZ_SEED, WASI_FUZZ_RUNS and WASI_FUZZ_COUNT.
 */
const SEED = Number(process.env.WASI_FUZZ_SEED ?? 20261130);
const RUNS = Number(process.env.WASI_FUZZ_RUNS ?? 1);
const CALLS = Number(process.env.WASI_FUZZ_COUNT ?? 5000);

describe("the WASI fuzzer", () => {
  it(`holds for seeds ${SEED}..${SEED + RUNS - 1}, ${CALLS} calls each: no import throws, errnos only, no stray writes, EFAULT touches nothing, a path past memory EFAULT, output whole`, { timeout: 60_000 * RUNS }, async () => {
    const counts: Record<string, number> = {};
    for (let seed = SEED; seed < SEED + RUNS; seed++) {
      const report = await runWasiFuzz({ seed, calls: CALLS });
      if (RUNS > 1) console.log(`wasi seed ${seed}: ${report.calls} calls, ${report.processes} processes, ${report.ms} ms, memory +${report.memory.peakGrowthMiB} MiB at most${report.memory.gc ? "" : " (no gc)"}`);
      expect(report.calls).toBe(CALLS);
      for (const [k, n] of Object.entries(report.counts)) counts[k] = (counts[k] ?? 0) + n;
    }
    // It reached what it is meant to reach: successes, faults, waits answered each way, snapshots.
    if (CALLS * RUNS >= 5000) {
      for (const key of ["fd_write:0", "fd_write:21", "fd_read:0", "poll_oneoff:0", "poll_oneoff:21", "poll_oneoff:28", "args_get:21", "random_get:0", "path:past-memory", "path:in-memory", "path_open:21", "path_open:54", "fd_renumber:0", "between:snapshot", "wait:feed", "wait:stop"]) {
        expect(counts[key] ?? 0, key).toBeGreaterThan(0);
      }
    }
  });
});
