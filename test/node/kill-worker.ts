/// <reference types="node" />
// A crash of the runtime, not a stop: SIGKILL to the workerd processes this test process started
// (wrangler's unstable_startWorker, as our children), so nothing gets to flush, close or say goodbye.
// Only our own child is touched: other tests (and other people) run workerd on the same machine.
import { readdirSync, readFileSync } from "node:fs";
import type { StartedWorker } from "./start-worker.js";
import { withTimeout } from "./start-worker.js";

/** The pids of the workerd processes that are children of this process. */
export function ownWorkerd(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // stat: "pid (comm) state ppid ...": comm may hold spaces, so read after its last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid && readFileSync(`/proc/${entry}/cmdline`, "utf8").includes("workerd")) pids.push(Number(entry));
    } catch {
      // it exited while we looked
    }
  }
  return pids;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * SIGKILLs our workerd processes at once, now, synchronously (so a test can kill at an exact
 * point, inside the handler that saw it): wrangler runs two, its proxy in front and the Worker
 * with its Durable Objects behind it, and the whole runtime dies, as the machine's would.
 */
export function sigkill(): number[] {
  const pids = ownWorkerd();
  if (!pids.length) throw new Error("no workerd child of this process to kill");
  for (const pid of pids) process.kill(pid, "SIGKILL");
  return pids;
}

/**
 * After `sigkill`: waits until they are gone, lets wrangler clean up after them (it starts a
 * runtime again after a crash: dispose stops that one), and waits until no workerd of ours is left
 * on the state directory before the test starts another on it.
 */
export async function reap(worker: StartedWorker, pids: number[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (pids.some(alive)) {
    if (Date.now() > deadline) throw new Error(`workerd ${pids.filter(alive).join(", ")} still runs 10 s after SIGKILL`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await withTimeout(worker.dispose(), 20_000, "wrangler to let go of the killed runtime").catch((err) => console.warn(`dispose after the kill: ${String(err)}`));
  while (ownWorkerd().length) {
    if (Date.now() > deadline + 20_000) throw new Error(`workerd ${ownWorkerd().join(", ")} of ours still runs after the kill and the dispose`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
