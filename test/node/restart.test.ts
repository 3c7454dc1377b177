/// <reference types="node" />
// A process outlives the whole runtime (issue 9's restart proof). wrangler dev (unstable_startWorker)
// with its state persisted in a temporary directory runs `countdown 5` with 5-second sleeps; once
// it has printed 5 and 4 (4 from an alarm, so the last snapshot was taken after a wake) the runtime
// is stopped mid-sleep (worker.dispose(): workerd exits, nothing in memory survives) and started
// again on the same directory (a new port). Nothing is asked of the process until it should have
// finished: the persisted alarm alone must bring its object back, which restores the instance
// from its snapshot and goes on. It ends exited 0 with 5 4 3 2 1, each once, in order. Before
// snapshots the object that came back marked the process failed ("evicted ... Wasm memory does
// not survive eviction"). And a runtime back only after a sleep was due: the overdue alarm fires
// as it starts, and the process goes on.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LogLine } from "../../src/log.js";
import type { ProcessInfo } from "../../src/process.js";
import { type StartedWorker, startWorker, withTimeout } from "./start-worker.js";

/** Each sleep of the countdown: long enough that the stop and the start again land inside one. */
const SLEEP_MS = 5000;
/** After the last line is due: time for the alarm, the restore and the exit. */
const GRACE_MS = 3000;

let dir = "";
let worker: StartedWorker | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "wasm-bus-restart-"));
});

afterEach(async () => {
  await withTimeout(worker?.dispose() ?? Promise.resolve(), 20_000, "the Worker to stop").catch((err) => console.warn(String(err)));
  worker = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
}, 30_000);

async function start(): Promise<string> {
  const started = await startWorker({ persist: dir, logLevel: "warn" });
  worker = started.worker;
  return started.url.origin;
}

async function stop(): Promise<void> {
  const w = worker;
  worker = undefined;
  await withTimeout(w!.dispose(), 20_000, "the Worker to stop");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

async function status(origin: string, id: string): Promise<ProcessInfo> {
  const res = await fetch(`${origin}/processes/${id}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as ProcessInfo;
}

async function logs(origin: string, id: string): Promise<LogLine[]> {
  const res = await fetch(`${origin}/processes/${id}/logs`);
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { lines: LogLine[] }).lines;
}

const stdout = (lines: LogLine[]) => lines.filter((l) => l.stream === "stdout").map((l) => l.msg);

describe("a process survives a restart of the whole runtime (persisted state)", () => {
  it("countdown 5 with 5 s sleeps, stopped mid-sleep and started again, finishes by itself: exited 0, 5 4 3 2 1", { timeout: 60_000 }, async () => {
    const t0 = Date.now();
    const at = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
    const timeline: string[] = [];
    const mark = (what: string) => timeline.push(`${at()} ${what}`);

    let origin = await start();
    mark(`started on ${origin}`);
    const res = await fetch(`${origin}/processes`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ module: "countdown", args: ["5", String(SLEEP_MS)] }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const { id } = (await res.json()) as ProcessInfo;
    const spawnedAt = Date.now();
    mark(`spawned ${id}`);

    // 5 at once, 4 after the first sleep (an alarm of this runtime).
    let printed: string[] = [];
    const deadline = spawnedAt + SLEEP_MS + GRACE_MS;
    while ((printed = stdout(await logs(origin, id))).length < 2 && Date.now() < deadline) await sleep(100);
    mark(`printed ${printed.join(" ")}`);
    expect(printed).toEqual(["5", "4"]);
    expect(await status(origin, id)).toMatchObject({ status: "running" });

    // Stop the whole runtime inside the second sleep: 3 is due SLEEP_MS after 4.
    await stop();
    mark("stopped");
    expect(Date.now() - spawnedAt, "the stop landed after 3 was due: make SLEEP_MS longer").toBeLessThan(2 * SLEEP_MS);
    await expect(fetch(`${origin}/processes/${id}`), "the first runtime still answers").rejects.toThrow();

    origin = await start();
    mark(`started again on ${origin}`);
    const restartedBeforeDue = Date.now() < spawnedAt + 2 * SLEEP_MS;

    // No request until the last line is due, and a little more: only the persisted alarm can
    // bring the process's object back (a request would restore it too, and hide a lost alarm).
    await sleep(spawnedAt + 4 * SLEEP_MS + GRACE_MS - Date.now());
    const info = await status(origin, id);
    mark(`status ${JSON.stringify({ status: info.status, code: info.code, reason: info.reason })}`);
    if (info.status === "running") {
      // Diagnose: the request above woke the object; does it finish now?
      const late = Date.now() + 4 * SLEEP_MS;
      let after = info;
      while ((after = await status(origin, id)).status === "running" && Date.now() < late) await sleep(200);
      mark(`after a request woke it: ${JSON.stringify(after)}; stdout ${stdout(await logs(origin, id)).join(" ")}`);
    }
    const lines = await logs(origin, id);
    console.log(
      `restart test (sleeps ${SLEEP_MS} ms; the runtime was back ${restartedBeforeDue ? "before" : "after"} 3 was due; ended ${info.endedAt ? `${((info.endedAt - spawnedAt) / 1000).toFixed(1)} s` : "-"} after the spawn, ${4 * SLEEP_MS / 1000} s expected):\n  ${timeline.join("\n  ")}`,
    );
    expect(info, "the process did not finish by itself after the restart (its alarm did not bring it back?)").toMatchObject({ status: "exited", code: 0 });
    expect(stdout(lines)).toEqual(["5", "4", "3", "2", "1"]);
    expect(lines.filter((l) => l.stream === "stderr")).toEqual([]);
    expect(lines.filter((l) => /fired after its sleeper was lost/.test(l.msg))).toEqual([]);
    // No earlier than its sleeps allow: each was slept out, not cut short by the restart.
    expect(info.endedAt! - info.startedAt).toBeGreaterThanOrEqual(4 * SLEEP_MS - 100);
  });

  it("countdown 3 with 2 s sleeps, stopped, and started again after 2 was due: the overdue alarm goes on at once", { timeout: 40_000 }, async () => {
    const SHORT_MS = 2000;
    let origin = await start();
    const res = await fetch(`${origin}/processes`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ module: "countdown", args: ["3", String(SHORT_MS)] }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const { id } = (await res.json()) as ProcessInfo;
    const spawnedAt = Date.now();
    // 3 is printed before the spawn answers; the first rest (its snapshot) comes with it.
    expect(stdout(await logs(origin, id))).toEqual(["3"]);
    await stop();
    expect(Date.now() - spawnedAt, "the stop landed after 2 was due: make SHORT_MS longer").toBeLessThan(SHORT_MS);
    // Down until well past the time 2 was due.
    await sleep(spawnedAt + SHORT_MS + 1500 - Date.now());
    origin = await start();
    const restartedAt = Date.now();
    // Again no request: 2 comes from the overdue alarm, 1 a sleep later.
    await sleep(restartedAt + SHORT_MS + GRACE_MS - Date.now());
    const info = await status(origin, id);
    const lines = await logs(origin, id);
    console.log(
      `overdue restart: back ${((restartedAt - spawnedAt) / 1000).toFixed(1)} s after the spawn (2 was due at ${SHORT_MS / 1000} s); ended ${info.endedAt ? `${((info.endedAt - restartedAt) / 1000).toFixed(1)} s after the start again` : "-"} (${SHORT_MS / 1000} s expected): ${JSON.stringify({ status: info.status, code: info.code, reason: info.reason })}`,
    );
    expect(info, "the process did not finish by itself after the restart (its overdue alarm did not bring it back?)").toMatchObject({ status: "exited", code: 0 });
    expect(stdout(lines)).toEqual(["3", "2", "1"]);
    expect(lines.filter((l) => l.stream === "stderr")).toEqual([]);
    expect(lines.filter((l) => /fired after its sleeper was lost/.test(l.msg))).toEqual([]);
  });
});
