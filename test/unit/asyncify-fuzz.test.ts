/// <reference types="node" />
import { describe, expect, it } from "vitest";
import { runAsyncifyFuzz } from "../fuzz/asyncify-fuzzer.js";

/**
 * The asyncify fuzzer (test/fuzz/asyncify-fuzzer.ts) in CI: a fixed seed, WASI calls from a real
 * asyncified guest, suspended and rewound, the host feeding, firing, growing, snapshotting and
 * killing between. Other seeds: `npm run fuzz -- --asyncify --seed N --runs K [--actions M]`,
 * which sets ASYNCIFY_FUZZ_SEED, ASYNCIFY_FUZZ_RUNS and ASYNCIFY_FUZZ_COUNT (and
 * ASYNCIFY_FUZZ_TRACE with --trace: every call and every host action printed).
 */
const SEED = Number(process.env.ASYNCIFY_FUZZ_SEED ?? 20261201);
const RUNS = Number(process.env.ASYNCIFY_FUZZ_RUNS ?? 1);
const ACTIONS = Number(process.env.ASYNCIFY_FUZZ_COUNT ?? 1000);

describe("the asyncify fuzzer", () => {
  it(`holds for seeds ${SEED}..${SEED + RUNS - 1}, ${ACTIONS} actions each: answers and memory as the direct call's, locals kept across rewinds, nothing written outside the buffers given, a stack too deep for the buffer a clear GuestTrapped`, { timeout: 60_000 * RUNS }, async () => {
    const counts: Record<string, number> = {};
    for (let seed = SEED; seed < SEED + RUNS; seed++) {
      const report = await runAsyncifyFuzz({ seed, actions: ACTIONS, trace: process.env.ASYNCIFY_FUZZ_TRACE ? (line) => console.log(line) : undefined });
      if (RUNS > 1) console.log(`asyncify seed ${seed}: ${report.actions} actions, ${report.processes} processes, ${report.ms} ms`);
      expect(report.actions).toBe(ACTIONS);
      for (const [k, n] of Object.entries(report.counts)) counts[k] = (counts[k] ?? 0) + n;
    }
    // It reached what it is meant to: each import suspended and answered, a restored instance's
    // import run again, memory grown, runs that returned; over more actions, a kill and a stack too deep.
    const reached = ["fd_read:0:suspended", "fd_write:0:suspended", "poll_oneoff:0:suspended", "fd_read:21", "restored:rerun", "between:grow", "between:backpressure", "end:returned"];
    if (ACTIONS * RUNS >= 1000) for (const key of reached) expect(counts[key] ?? 0, key).toBeGreaterThan(0);
    if (ACTIONS * RUNS >= 3000) for (const key of ["end:killed", "end:too-deep"]) expect(counts[key] ?? 0, key).toBeGreaterThan(0);
  });
});
